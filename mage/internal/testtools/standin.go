package testtools

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// StandInSandbox lays out, in repo, the sandbox as the toolkit's own
// deploy tests use it: the stand-in app (busybox, a bin/rails script,
// the same stages as docker/Dockerfile, built in seconds from nothing)
// at examples/sandbox-app, and the repository's deploy.hcl with the
// sandbox environment building it instead of the real Rails app. The
// real app's build is tested on its own (mage/sandbox); the deploy
// lifecycle tests need many builds and no base image.
func StandInSandbox(t testing.TB, repo string) {
	t.Helper()
	root := RepoRoot(t)
	app := filepath.Join(repo, "examples", "sandbox-app")
	CopyTree(t, filepath.Join(root, "mage", "internal", "testtools", "standin-app"), app)
	// The real app's schedule and the crontab generated from it: the
	// cron settings in deploy.hcl name them, whichever app is built.
	for _, f := range []string{"schedule.rb", "crontab.supercronic"} {
		data, err := os.ReadFile(filepath.Join(root, "examples", "sandbox-app", "config", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(app, "config", f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src, err := os.ReadFile(filepath.Join(root, "deploy.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclwrite.ParseConfig(src, "deploy.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	found := false
	for _, env := range f.Body().Blocks() {
		if env.Type() == "environment" && len(env.Labels()) == 1 && env.Labels()[0] == "sandbox-production" {
			env.Body().RemoveAttribute("local_database")
			env.Body().RemoveAttribute("local_redis")
			removeBlocks(env.Body(), "local_load_balancer")
		}
		if env.Type() != "environment" || len(env.Labels()) != 1 || env.Labels()[0] != "sandbox" {
			continue
		}
		found = true
		// The stand-in's migrations are a script: no database to start;
		// it serves nothing, so its tasks stay the double's model.
		env.Body().RemoveAttribute("local_database")
		env.Body().RemoveAttribute("local_redis")
		removeBlocks(env.Body(), "local_load_balancer")
		env.Body().SetAttributeValue("prepare", cty.ListVal([]cty.Value{cty.StringVal("cp"), cty.StringVal("/bin/busybox"), cty.StringVal("examples/sandbox-app/busybox")}))
		for _, img := range env.Body().Blocks() {
			if img.Type() != "image" {
				continue
			}
			img.Body().SetAttributeValue("dockerfile", cty.StringVal("examples/sandbox-app/Dockerfile"))
			img.Body().RemoveAttribute("build_args")
		}
	}
	if !found {
		t.Fatal("deploy.hcl has no environment \"sandbox\"")
	}
	if err := os.WriteFile(filepath.Join(repo, "deploy.hcl"), f.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// CopyTree copies the files under src to dst, keeping their modes, as a
// test repository wants them: without what local runs leave behind
// (.terraform directories, terraform state, the busybox a stand-in's
// prepare step copied in). Symbolic links are copied as the files they
// point to.
func CopyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			if info.Name() == ".terraform" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if strings.Contains(info.Name(), ".tfstate") || info.Name() == "busybox" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func removeBlocks(body *hclwrite.Body, typ string) {
	for _, b := range body.Blocks() {
		if b.Type() == typ {
			body.RemoveBlock(b)
		}
	}
}

// WriteFiles writes each file (path relative to root: content), making
// the directories it needs.
func WriteFiles(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
