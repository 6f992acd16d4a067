package terraform

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestArgBuilders(t *testing.T) {
	got := InitArgs(map[string]string{"region": "ap-northeast-1", "bucket": "state", "use_lockfile": "true"})
	want := []string{"init", "-input=false", "-no-color", "-backend-config=bucket=state", "-backend-config=region=ap-northeast-1", "-backend-config=use_lockfile=true"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("InitArgs = %q", got)
	}
	got = PlanArgs("/tmp/p.tfplan", []string{"extra.tfvars"})
	want = []string{"plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=/tmp/p.tfplan", "-var-file=extra.tfvars"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PlanArgs = %q", got)
	}
	for _, a := range ApplyArgs("/tmp/p.tfplan") {
		if strings.HasPrefix(a, "-var") {
			t.Errorf("ApplyArgs passes %q with a saved plan", a)
		}
	}
	if got := ApplyArgs("/tmp/p.tfplan"); got[len(got)-1] != "/tmp/p.tfplan" {
		t.Errorf("ApplyArgs does not end with the plan file: %q", got)
	}
	if got := ShowArgs("p"); !reflect.DeepEqual(got, []string{"show", "-json", "-no-color", "p"}) {
		t.Errorf("ShowArgs = %q", got)
	}
}

func TestCommandIsInterruptible(t *testing.T) {
	r := &Runner{Bin: "/bin/terraform", Dir: "/x", Env: []string{"TF_CLI_CONFIG_FILE=/dev/null"}}
	cmd := r.Command(context.Background(), "plan")
	if cmd.Cancel == nil || cmd.WaitDelay != DefaultWaitDelay {
		t.Errorf("cancel = %v, wait delay = %v", cmd.Cancel != nil, cmd.WaitDelay)
	}
	if cmd.SysProcAttr == nil || !cmd.SysProcAttr.Setpgid {
		t.Error("terraform must run in its own process group so one Ctrl-C reaches it once")
	}
	if cmd.Dir != "/x" || !contains(cmd.Env, "TF_IN_AUTOMATION=1") || !contains(cmd.Env, "TF_CLI_CONFIG_FILE=/dev/null") {
		t.Errorf("dir %q env %q", cmd.Dir, cmd.Env)
	}
}

func TestFinderOrder(t *testing.T) {
	repo := t.TempDir()
	onPath := map[string]string{"terraform": "/usr/bin/terraform", "tofu": "/usr/bin/tofu"}
	lookPath := func(name string) (string, error) {
		if p, ok := onPath[name]; ok {
			return p, nil
		}
		return "", os.ErrNotExist
	}
	env := map[string]string{}
	f := Finder{Getenv: func(k string) string { return env[k] }, LookPath: lookPath, RepoDir: repo}
	ctx := context.Background()

	if p, _ := f.Find(ctx); p != "/usr/bin/terraform" {
		t.Errorf("automatic choice = %q, want terraform first", p)
	}
	f.Configured = "tofu"
	if p, _ := f.Find(ctx); p != "/usr/bin/tofu" {
		t.Errorf("configured tofu = %q", p)
	}
	env[BinaryEnv] = "terraform"
	if p, _ := f.Find(ctx); p != "/usr/bin/terraform" {
		t.Errorf("%s=terraform gave %q", BinaryEnv, p)
	}
	env[BinaryEnv] = "/nonexistent/terraform"
	if _, err := f.Find(ctx); err == nil || !strings.Contains(err.Error(), BinaryEnv) {
		t.Errorf("missing path error = %v, want it to name %s", err, BinaryEnv)
	}
	delete(env, BinaryEnv)

	onPath = map[string]string{}
	f.Configured = ""
	if _, err := f.Find(ctx); err == nil || !strings.Contains(err.Error(), "tools/go.mod") {
		t.Errorf("nothing installed, no tools module: %v", err)
	}
	bin := TofuPath(repo)
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if p, err := f.Find(ctx); err != nil || p != bin {
		t.Errorf("built tofu = %q, %v; want %q", p, err, bin)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
