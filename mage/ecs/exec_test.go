package ecs

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// stubPlugin writes a session-manager-plugin on a fresh PATH directory
// that records each call's arguments (and the session it was handed
// through the environment) in dir, and returns dir.
func stubPlugin(t *testing.T) (bin, calls string) {
	t.Helper()
	bin, calls = t.TempDir(), t.TempDir()
	script := `#!/bin/sh
[ $# -eq 0 ] && { echo "The Session Manager plugin was installed successfully."; exit 0; }
f="` + calls + `/call-$(date +%s%N)"
for a in "$@"; do printf '%s\n' "$a"; done > "$f.args"
case "$1" in
AWS_SSM_START_SESSION_RESPONSE*) eval "printf '%s' \"\$$1\"" > "$f.session" ;;
*) printf '%s' "$1" > "$f.session" ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "session-manager-plugin"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, calls
}

type pluginCall struct {
	args    []string
	session map[string]any
}

func pluginCalls(t *testing.T, dir string) []pluginCall {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.args"))
	sort.Strings(files)
	var calls []pluginCall
	for _, f := range files {
		args, _ := os.ReadFile(f)
		raw, _ := os.ReadFile(strings.TrimSuffix(f, ".args") + ".session")
		var session map[string]any
		if err := json.Unmarshal(raw, &session); err != nil {
			t.Fatalf("the plugin was handed no session JSON: %q", raw)
		}
		calls = append(calls, pluginCall{args: strings.Split(strings.TrimSuffix(string(args), "\n"), "\n"), session: session})
	}
	return calls
}

// ECS Exec as an operator meets it: refused with the fix while the
// service or its tasks lack it; then ExecuteCommand with the right task,
// container and interactive flag, and the session handed to the plugin
// with the same arguments the real aws CLI hands it, except that the
// session (its token) travels in the environment, not argv.
func TestExecHandsTheSessionToThePluginAsTheAWSCLIDoes(t *testing.T) {
	fake, _, client, _ := setup(t)
	settled(t, client, "web-app")
	ctx := context.Background()
	_, err := PickExecTarget(ctx, client, "shop-sandbox", "web-app", "", nil)
	if err == nil || !strings.Contains(err.Error(), "does not have enableExecuteCommand") || !strings.Contains(err.Error(), "enable_execute_command = true") {
		t.Fatalf("a service without ECS Exec: %v", err)
	}
	// Turning it on changes nothing for tasks already running.
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("shop-sandbox"), Service: aws.String("web-app"), EnableExecuteCommand: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := PickExecTarget(ctx, client, "shop-sandbox", "web-app", "", nil); err == nil || !strings.Contains(err.Error(), "was started without ECS Exec") {
		t.Fatalf("a task started before ECS Exec was on: %v", err)
	}
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("shop-sandbox"), Service: aws.String("web-app"), ForceNewDeployment: true}); err != nil {
		t.Fatal(err)
	}
	var target ExecTarget
	deadline := time.Now().Add(5 * time.Second)
	for {
		target, err = PickExecTarget(ctx, client, "shop-sandbox", "web-app", "", nil)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || target.Container != "rails" {
		t.Fatalf("after the new deployment: %+v, %v", target, err)
	}
	if _, err := PickExecTarget(ctx, client, "shop-sandbox", "web-app", "nginx", nil); err == nil || !strings.Contains(err.Error(), `no container "nginx"`) {
		t.Errorf("a container the task lacks: %v", err)
	}

	bin, calls := stubPlugin(t)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	session := Session{Region: "us-east-1", Profile: "", Endpoint: "http://ecs.example"}
	plugin := ManagerPlugin{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if err := Exec(ctx, client, target, "bin/rails console", session, plugin); err != nil {
		t.Fatal(err)
	}
	execs := fake.ExecSessions()
	if len(execs) != 1 || execs[0].Cluster != "shop-sandbox" || execs[0].Task != ShortID(target.TaskArn) || execs[0].Container != "rails" ||
		!execs[0].Interactive || execs[0].Command != "bin/rails console" {
		t.Fatalf("ExecuteCommand calls = %+v", execs)
	}
	ours := pluginCalls(t, calls)
	if len(ours) != 1 {
		t.Fatalf("plugin calls = %+v", ours)
	}
	got := ours[0]
	if len(got.args) != 6 || !strings.HasPrefix(got.args[0], "AWS_SSM_START_SESSION_RESPONSE_") || got.args[2] != "StartSession" ||
		!strings.HasPrefix(got.args[4], `{"Target":"ecs:shop-sandbox_`+ShortID(target.TaskArn)+"_") {
		t.Errorf("plugin argv = %q", got.args)
	}
	token, _ := got.session["tokenValue"].(string)
	if token == "" || got.session["sessionId"] != execs[0].SessionID || strings.Contains(strings.Join(got.args, " "), token) {
		t.Errorf("the session (token) must reach the plugin through the environment only: argv %q, session %v", got.args, got.session)
	}

	// The same hand-off by the real aws CLI, against the same double.
	cli := testtools.Need(t, "aws")
	os.RemoveAll(calls)
	os.MkdirAll(calls, 0o755)
	srvURL := aws.ToString(client.Options().BaseEndpoint)
	cmd := exec.Command(cli, "--endpoint-url", srvURL, "--region", "us-east-1", "ecs", "execute-command", "--cluster", "shop-sandbox",
		"--task", target.TaskArn, "--container", "rails", "--command", "bin/rails console", "--interactive")
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret", "AWS_CONFIG_FILE="+filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"), "AWS_PAGER=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("aws ecs execute-command: %v\n%s", err, out)
	}
	theirs := pluginCalls(t, calls)
	if len(theirs) != 1 {
		t.Fatalf("the CLI's plugin calls = %+v", theirs)
	}
	cli6 := theirs[0].args
	// Ours told the plugin the endpoint we were given; the CLI its own.
	want := []string{"", "us-east-1", "StartSession", "", "", srvURL}
	if len(cli6) != 6 || cli6[1] != want[1] || cli6[2] != want[2] || cli6[3] != want[3] || cli6[5] != want[5] {
		t.Errorf("the CLI's plugin argv = %q", cli6)
	}
	var ourTarget, cliTarget map[string]string
	json.Unmarshal([]byte(got.args[4]), &ourTarget)
	json.Unmarshal([]byte(cli6[4]), &cliTarget)
	if ourTarget["Target"] == "" || ourTarget["Target"] != cliTarget["Target"] {
		t.Errorf("SSM target: ours %v, the CLI's %v", ourTarget, cliTarget)
	}
	for _, k := range []string{"sessionId", "streamUrl", "tokenValue"} {
		if _, ok := theirs[0].session[k]; !ok {
			t.Errorf("the CLI's session lacks %s: %v", k, theirs[0].session)
		}
		if _, ok := got.session[k]; !ok {
			t.Errorf("our session lacks %s: %v", k, got.session)
		}
	}
	if len(got.session) != len(theirs[0].session) {
		t.Errorf("session keys: ours %v, the CLI's %v", got.session, theirs[0].session)
	}
}

// Without the plugin the error says how to install it.
func TestExecWithoutThePluginSaysHowToInstallIt(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := ManagerPlugin{}.LookPlugin()
	if err != ErrNoPlugin || !strings.Contains(err.Error(), "session-manager-working-with-install-plugin") {
		t.Fatalf("err = %v", err)
	}
}

// ECS Exec's agent starts after its task is RUNNING: in that window
// ExecuteCommand fails ("... the execute command agent isn't running. Wait
// and try again", the API's own words). exec waits for the agent, and
// retries ExecuteCommand through the window, saying so once; bounded.
func TestExecWaitsForTheAgentToStart(t *testing.T) {
	fake, _, client, _ := setup(t)
	ctx := context.Background()
	fake.SetTiming(slowTiming(func(t *awsfake.Timing) { t.ExecAgentStart = 1500 * time.Millisecond }))
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("shop-sandbox"), Service: aws.String("web-app"), EnableExecuteCommand: aws.Bool(true), ForceNewDeployment: true}); err != nil {
		t.Fatal(err)
	}
	var pending *AgentNotRunningError
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, err := PickExecTarget(ctx, client, "shop-sandbox", "web-app", "", nil)
		if errors.As(err, &pending) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never saw a RUNNING task whose agent is starting: %v", err)
		}
	}
	if pending.Status != "PENDING" {
		t.Errorf("the agent's status while it starts = %q", pending.Status)
	}
	// A session asked for right now is refused by ECS, and exec retries it.
	target := ExecTarget{Cluster: "shop-sandbox", Service: "web-app", TaskArn: pending.Task, Container: pending.Container}
	if _, err := client.ExecuteCommand(ctx, &ecs.ExecuteCommandInput{Cluster: aws.String("shop-sandbox"), Task: aws.String(pending.Task), Container: aws.String(pending.Container), Command: aws.String("ls"), Interactive: true}); err == nil || !strings.Contains(err.Error(), "agent isn") {
		t.Fatalf("ExecuteCommand while the agent starts = %v", err)
	}
	var progress strings.Builder
	var sessions []Session
	if err := Exec(ctx, client, target, "ls", Session{Region: "us-east-1", AgentWait: 10 * time.Second, Progress: &progress}, recordPlugin{&sessions}); err != nil {
		t.Fatalf("exec through the agent's start: %v", err)
	}
	if len(sessions) != 1 || strings.Count(progress.String(), "not ready for a session yet") != 1 {
		t.Errorf("sessions %d; progress:\n%s", len(sessions), progress.String())
	}
	// The target wait, on a fresh deployment, says once that it waits.
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("shop-sandbox"), Service: aws.String("web-app"), ForceNewDeployment: true}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, err := PickExecTarget(ctx, client, "shop-sandbox", "web-app", "", nil)
		if errors.As(err, &pending) && pending.Task != target.TaskArn {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new deployment's task never showed a starting agent: %v", err)
		}
	}
	progress.Reset()
	got, err := WaitExecTarget(ctx, client, &progress, 10*time.Second, "shop-sandbox", "web-app", "", nil)
	if err != nil || !strings.Contains(progress.String(), "is PENDING (it starts after the task is RUNNING): waiting up to 10s") {
		t.Fatalf("WaitExecTarget = %+v, %v\n%s", got, err, progress.String())
	}
}

type recordPlugin struct{ sessions *[]Session }

func (p recordPlugin) Start(_ context.Context, s Session) error {
	*p.sessions = append(*p.sessions, s)
	return nil
}
