package release

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/iam"
	"github.com/railsecs/deploykit/mage/internal/iamsim"
	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// handOff is a session plugin that only records that it was handed a
// session: the hand-off itself is tested against the aws CLI in mage/ecs.
type handOff struct{ sessions *[]ecs.Session }

func (h handOff) Start(_ context.Context, s ecs.Session) error {
	*h.sessions = append(*h.sessions, s)
	return nil
}

// The operator policy (iam:policy -role=operator) allows exactly what
// status, logs, exec and console call, judged by the IAM simulator on the
// authorizations the double recorded while they ran; it does not allow a
// deploy, and without its ExecIntoTasks statement exec is denied.
func TestOperatorPolicyAllowsLogsAndExec(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	if _, err := s.d.Deploy(ctx, Options{Timeout: time.Minute}); err != nil {
		t.Fatalf("deploy: %v\n%s", err, s.out)
	}
	before := len(s.fake.Authorizations())
	if _, err := ecs.ServiceStates(ctx, s.ecs, "shop-sandbox", s.d.Env.ServiceNames()); err != nil {
		t.Fatal(err)
	}
	logs := s.d.Logs.(ecs.FilterLogsAPI)
	if err := ecs.ServiceLogs(ctx, s.ecs, logs, s.out, ecs.ServiceLogsOptions{Cluster: "shop-sandbox", Service: "web-app", Since: time.Hour}); err != nil {
		t.Fatal(err)
	}
	target, err := ecs.PickExecTarget(ctx, s.ecs, "shop-sandbox", "web-app", "", s.d.Env.AppContainers("web-app"))
	if err != nil {
		t.Fatal(err)
	}
	var sessions []ecs.Session
	if err := ecs.Exec(ctx, s.ecs, target, "bin/rails console", ecs.Session{Region: "us-east-1"}, handOff{&sessions}); err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 1 || sessions[0].Container != "unicorn" || sessions[0].Response == nil {
		t.Fatalf("sessions = %+v", sessions)
	}

	policies, err := iam.Render(ctx, testtools.Tofu(t), testtools.RepoRoot(t), iam.InputsFor(s.d.Config, s.d.Env))
	if err != nil {
		t.Fatal(err)
	}
	principal := "arn:aws:iam::" + s.d.Env.Account + ":user/operator"
	var reqs []iamsim.Request
	for _, a := range s.fake.Authorizations()[before:] {
		reqs = append(reqs, iamsim.Request{Principal: principal, Action: a.Action, Resource: a.Resource, Account: s.d.Env.Account, Context: a.Context, Why: a.Operation})
	}
	reqs = iamsim.Dedup(reqs)
	actions := map[string]bool{}
	for _, r := range reqs {
		actions[r.Action] = true
	}
	for _, want := range []string{"ecs:DescribeServices", "ecs:ListTasks", "ecs:DescribeTasks", "ecs:ExecuteCommand", "logs:FilterLogEvents"} {
		if !actions[want] {
			t.Errorf("the operator targets made no %s call: %v", want, actions)
		}
	}
	operator := []iamsim.Policy{{Name: "operator", Policy: policies["operator"]}}
	if denied := iamsim.Denied(t, operator, reqs); len(denied) > 0 {
		t.Errorf("the operator policy denies:\n  %s", strings.Join(denied, "\n  "))
	}
	noExec := []iamsim.Policy{{Name: "operator", Policy: iamsim.WithoutStatement(t, policies["operator"], "ExecIntoTasks")}}
	if denied := iamsim.Denied(t, noExec, reqs); !strings.Contains(strings.Join(denied, "\n"), "ecs:ExecuteCommand") {
		t.Errorf("without ExecIntoTasks nothing was denied: the check cannot fail (%v)", denied)
	}
	deploy := iamsim.Request{Principal: principal, Action: "ecs:UpdateService", Account: s.d.Env.Account,
		Resource: "arn:aws:ecs:us-east-1:" + s.d.Env.Account + ":service/shop-sandbox/web-app", Why: "a deploy"}
	if denied := iamsim.Denied(t, operator, []iamsim.Request{deploy}); len(denied) != 1 {
		t.Errorf("the operator policy allows a deploy (UpdateService)")
	}
}
