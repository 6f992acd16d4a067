package release

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/railsecs/deploykit/mage/ecs"
	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/imageref"
	"github.com/railsecs/deploykit/mage/ledger"
)

// Three releases, prune keeping one: the first release's images and task
// definition revisions go; the live one and the rollback target stay, and
// a rollback still works afterwards.
func TestPruneKeepsWhatRollbackNeeds(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	var recs []ledger.Record
	for i := range 3 {
		if i > 0 {
			// An asset change, so each release has an nginx image of its
			// own (a code-only change reuses the live one's digest).
			s.commit(t, "examples/sandbox-app/app/assets/application.css", "body { margin: "+strings.Repeat("1", i)+"px; }\n")
		}
		rec, err := s.d.Deploy(ctx, Options{Timeout: time.Minute})
		if err != nil {
			t.Fatalf("deploy %d: %v\n%s", i, err, s.out)
		}
		recs = append(recs, rec)
	}
	first, second, third := recs[0].Tag, recs[1].Tag, recs[2].Tag
	reg := image.Registry{Host: s.env["SANDBOX_REGISTRY"]}
	appRepo := s.env["SANDBOX_REGISTRY"] + "/" + s.d.Config.Images[0].Repository
	// A tag no deploy made (pushed by hand) is never ours to delete.
	if _, err := image.Copy(ctx, &reg, appRepo+":"+second, &reg, appRepo+":hotfix-by-hand"); err != nil {
		t.Fatal(err)
	}
	firstRevision := func() string {
		out, err := s.ecs.ListTaskDefinitions(ctx, &awsecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("shop-sandbox-web-app"), Sort: "ASC"})
		if err != nil || len(out.TaskDefinitionArns) == 0 {
			t.Fatalf("list task definitions: %v", err)
		}
		return out.TaskDefinitionArns[0]
	}
	oldest := firstRevision()

	s.out.Reset()
	dry, err := s.d.Prune(ctx, s.ecs, PruneOptions{Keep: 1, DryRun: true})
	if err != nil {
		t.Fatalf("prune -dryrun: %v\n%s", err, s.out)
	}
	if len(dry.Deregistered) == 0 || len(dry.DeletedImages) == 0 || !strings.Contains(s.out.String(), "would delete") {
		t.Fatalf("dry run found nothing to prune:\n%s", s.out)
	}
	if d, _ := reg.Digest(ctx, appRepo+":"+first); d == "" {
		t.Fatal("dry run deleted an image")
	}
	if firstRevision() != oldest {
		t.Fatal("dry run deregistered a revision")
	}

	s.out.Reset()
	beforePrune := len(s.fake.Authorizations())
	rep, err := s.d.Prune(ctx, s.ecs, PruneOptions{Keep: 1})
	if err != nil {
		t.Fatalf("prune: %v\n%s", err, s.out)
	}
	t.Logf("prune:\n%s", s.out)
	// Prune is a person's (the operator role), not CI's: the deploy
	// policy may not deregister revisions, the operator's may.
	pruned := s.fake.Authorizations()[beforePrune:]
	if denied := policyDenials(t, s.d.Config, s.d.Env, "operator", pruned, ""); len(denied) > 0 {
		t.Errorf("the operator policy denies what prune called:\n  %s", strings.Join(denied, "\n  "))
	}
	if denied := policyDenials(t, s.d.Config, s.d.Env, "deploy", pruned, ""); !strings.Contains(strings.Join(denied, "\n"), "ecs:DeregisterTaskDefinition") {
		t.Errorf("the CI deploy policy still allows prune's DeregisterTaskDefinition (denied: %v)", denied)
	}
	deploysOnly := s.fake.Authorizations()[:beforePrune]
	if len(rep.Deregistered) != len(dry.Deregistered) || len(rep.DeletedImages) != len(dry.DeletedImages) {
		t.Errorf("the dry run announced %d/%d, prune did %d/%d", len(dry.Deregistered), len(dry.DeletedImages), len(rep.Deregistered), len(rep.DeletedImages))
	}
	if rep.KeptTags[third] != "live release" || rep.KeptTags[second] != "rollback target" {
		t.Errorf("kept tags %v: want %s live and %s the rollback target", rep.KeptTags, third, second)
	}
	for _, img := range s.d.Config.Images {
		repo := s.env["SANDBOX_REGISTRY"] + "/" + img.Repository
		if d, _ := reg.Digest(ctx, repo+":"+first); d != "" {
			t.Errorf("%s:%s survived the prune", repo, first)
		}
		for _, kept := range []string{second, third} {
			if d, _ := reg.Digest(ctx, repo+":"+kept); d == "" {
				t.Errorf("%s:%s was deleted", repo, kept)
			}
		}
	}
	// The hand-pushed tag shares the second release's digest: it stays.
	if d, _ := reg.Digest(ctx, appRepo+":hotfix-by-hand"); d == "" {
		t.Error("prune deleted a tag no release made")
	}
	if firstRevision() == oldest {
		t.Errorf("%s is still ACTIVE", oldest)
	}
	if _, err := s.ecs.RunTask(ctx, &awsecs.RunTaskInput{Cluster: aws.String("shop-sandbox"), TaskDefinition: aws.String(oldest)}); err == nil || !strings.Contains(err.Error(), "inactive") {
		t.Errorf("RunTask on a deregistered revision = %v, want refused", err)
	}

	// Rollback to the kept previous release still works.
	s.out.Reset()
	if _, err := s.d.Rollback(ctx, Options{Timeout: time.Minute}); err != nil {
		t.Fatalf("rollback after prune: %v\n%s", err, s.out)
	}
	if got := s.serviceTag(t, "web-app"); got != second {
		t.Errorf("after rollback web-app runs %q, want %q", got, second)
	}
	if _, err := s.d.Prune(ctx, s.ecs, PruneOptions{Keep: 0}); err == nil {
		t.Error("-keep=0 accepted")
	}
	// Every call the deploys made is one the deploy role may make.
	if denied := deployPolicyDenials(t, s.d.Config, s.d.Env, deploysOnly, ""); len(denied) > 0 {
		t.Errorf("the deploy policy denies what the deploys called:\n  %s", strings.Join(denied, "\n  "))
	}
}

// A one-off task on another image registers a new revision of the migrate
// family; schedules name the revision the release applied (the module's
// schedules.tf uses aws_ecs_task_definition.migrate.arn, checked by
// repocheck), so that revision must stay ACTIVE on the release's image,
// terraform must see nothing to change, and prune must keep it.
func TestOneOffLeavesTheReleasedRevisionAlone(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	rec, err := s.d.Deploy(ctx, Options{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, s.out)
	}
	reg := image.Registry{Host: s.env["SANDBOX_REGISTRY"]}
	appRepo := s.env["SANDBOX_REGISTRY"] + "/" + s.d.Config.Images[0].Repository
	const other = "0123456789ab" // another commit's image
	if _, err := image.Copy(ctx, &reg, appRepo+":"+rec.Tag, &reg, appRepo+":"+other); err != nil {
		t.Fatal(err)
	}
	migrateImage := func(arn string) string {
		out, err := s.ecs.DescribeTaskDefinition(ctx, &awsecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.TaskDefinition.ContainerDefinitions[0].Image)
	}
	before, err := ecs.ActiveRevisions(ctx, s.ecs, "shop-sandbox-migrate")
	if err != nil {
		t.Fatal(err)
	}
	released := before[len(before)-1]
	if imageref.TagOf(migrateImage(released)) != rec.Tag {
		t.Fatalf("%s runs %s, not the release %s", released, migrateImage(released), rec.Tag)
	}

	runner := &ecs.Runner{ECS: s.ecs, Logs: s.d.Logs, Out: s.out, PollStart: 100 * time.Millisecond}
	if _, err := RunOneOff(ctx, runner, s.d.Config, s.d.Env, OneOff{Command: []string{"bin/rails", "runner", "puts 1"}, Marker: "test", Tag: imageref.Pin{Tag: other}}, ecs.RunOptions{}); err != nil {
		t.Fatalf("one-off on %s: %v\n%s", other, err, s.out)
	}
	after, err := ecs.ActiveRevisions(ctx, s.ecs, "shop-sandbox-migrate")
	if err != nil {
		t.Fatal(err)
	}
	// The hazard is real: the family's latest revision now runs the other
	// image, and anything naming the family would follow it.
	if latest := after[len(after)-1]; latest == released || imageref.TagOf(migrateImage(latest)) != other {
		t.Fatalf("the one-off did not register a new revision on %s: %v", other, after)
	}
	if imageref.TagOf(migrateImage(released)) != rec.Tag {
		t.Errorf("the released revision %s changed image", released)
	}
	plan, err := s.d.WS.Plan(ctx, PlanOptions{})
	if err != nil {
		t.Fatalf("plan after the one-off: %v\n%s", err, s.out)
	}
	if plan.Changes {
		t.Errorf("terraform sees changes after a one-off task:\n%s", s.out)
	}
	s.out.Reset()
	rep, err := s.d.Prune(ctx, s.ecs, PruneOptions{Keep: 1})
	if err != nil {
		t.Fatalf("prune: %v\n%s", err, s.out)
	}
	if why := rep.KeptRevisions[released]; !strings.Contains(why, rec.Tag) {
		t.Errorf("prune keeps the released revision %s for %q, want: it runs the live release\n%s", released, why, s.out)
	}
}
