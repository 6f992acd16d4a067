package release

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/terraform"
)

// Workspace is one environment of one repository, ready to plan.
type Workspace struct {
	Config *config.Config
	Env    *config.Environment
	TF     *terraform.Runner
	Out    io.Writer
	// StateDir holds plan files and other local artifacts (.deploykit/ENV).
	StateDir string
	// OnClose stops what was started for this workspace (the sandbox double).
	OnClose func()
}

// Close runs OnClose once.
func (w *Workspace) Close() {
	if w.OnClose != nil {
		w.OnClose()
		w.OnClose = nil
	}
}

// Open finds the terraform binary and the environment's root.
func Open(ctx context.Context, cfg *config.Config, env *config.Environment, out io.Writer, getenv func(string) string) (*Workspace, error) {
	configured := ""
	if cfg.Terraform != nil {
		configured = cfg.Terraform.Binary
	}
	bin, err := terraform.Finder{Configured: configured, Getenv: getenv, RepoDir: cfg.Dir, Out: out}.Find(ctx)
	if err != nil {
		return nil, err
	}
	root := cfg.Path(env.Terraform.Root)
	if info, err := os.Stat(root); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("environment %s: terraform root %s is not a directory (terraform.root in %s)", env.Name, root, cfg.File)
	}
	stateDir := cfg.LocalDir(env.Name)
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", stateDir, err)
	}
	return &Workspace{
		Config:   cfg,
		Env:      env,
		Out:      out,
		StateDir: stateDir,
		TF:       &terraform.Runner{Bin: bin, Dir: root, Stdout: out, Stderr: out},
	}, nil
}

// TfvarsPath is the absolute path of the environment's tfvars file.
func (w *Workspace) TfvarsPath() string { return w.Config.Path(w.Env.Terraform.Tfvars) }

// varFiles returns -var-file arguments for a tfvars file terraform would
// not load by itself.
func (w *Workspace) varFiles() []string {
	path := w.TfvarsPath()
	base := filepath.Base(path)
	autoLoaded := filepath.Dir(path) == filepath.Clean(w.TF.Dir) &&
		(base == "terraform.tfvars" || base == "terraform.tfvars.json" ||
			strings.HasSuffix(base, ".auto.tfvars") || strings.HasSuffix(base, ".auto.tfvars.json"))
	if autoLoaded {
		return nil
	}
	return []string{path}
}

// Plan is a saved plan and what it does.
type Plan struct {
	File    string
	Changes bool
	Summary terraform.Summary
}

// PlanOptions say which image tags this run deploys and whether the image
// guard may be overridden.
type PlanOptions struct {
	Deploying []string
	Force     bool
	// DeployRole: the plan is a release's (deploy, rollback, promote),
	// applied with the CI deploy role's rights: refuse, before any apply,
	// a change that role may not make (tf:apply is the way for those).
	DeployRole bool
}

// Plan runs init and plan, reads the plan back and applies the image
// guard. The plan file stays in StateDir for Apply.
func (w *Workspace) Plan(ctx context.Context, opts PlanOptions) (*Plan, error) {
	fmt.Fprintf(w.Out, "==> terraform init (%s, %s)\n", w.Env.Name, w.Env.Terraform.Root)
	init := w.TF.Init
	if _, local := w.Env.Terraform.Backend["path"]; local {
		// A local state file: re-point to the configured path without
		// asking to migrate (nothing is shared, nothing to lose).
		init = w.TF.InitReconfigure
	}
	if err := init(ctx, w.Env.Terraform.Backend); err != nil {
		return nil, fmt.Errorf("init %s: %w", w.Env.Terraform.Root, err)
	}
	w.removePlans()
	file := filepath.Join(w.StateDir, time.Now().UTC().Format("20060102T150405Z")+".tfplan")
	fmt.Fprintf(w.Out, "==> terraform plan -out=%s\n", file)
	changes, err := w.TF.Plan(ctx, file, w.varFiles())
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", w.Env.Name, err)
	}
	tfplan, err := w.TF.Show(ctx, file)
	if err != nil {
		return nil, fmt.Errorf("read plan %s: %w", file, err)
	}
	p := &Plan{File: file, Changes: changes, Summary: terraform.Summarize(tfplan)}
	fmt.Fprintln(w.Out, "==> summary")
	p.Summary.Write(w.Out)
	if err := terraform.GuardImages(p.Summary, opts.Deploying); err != nil {
		if !opts.Force {
			return p, err
		}
		fmt.Fprintf(w.Out, "WARNING (-force): %v\n", err)
	}
	if opts.DeployRole {
		if err := terraform.GuardDeployRole(w.Env.Name, terraform.DeployRoleChanges(tfplan)); err != nil {
			if !opts.Force {
				return p, err
			}
			fmt.Fprintf(w.Out, "WARNING (-force): %v\n", err)
		}
	}
	return p, nil
}

// FailedPlan is where the plan of the last failed run is kept.
const FailedPlan = "last-failed.tfplan"

// removePlans deletes saved plans of earlier runs (the last failed one
// stays for inspection): a day's use must not pile them up.
func (w *Workspace) removePlans() {
	old, _ := filepath.Glob(filepath.Join(w.StateDir, "*.tfplan"))
	for _, f := range old {
		if filepath.Base(f) != FailedPlan {
			_ = os.Remove(f)
		}
	}
}

// KeepFailedPlan keeps p as the last failed plan, replacing the one
// before, so the failure can be inspected with terraform show.
func (w *Workspace) KeepFailedPlan(p *Plan) string {
	if p == nil || p.File == "" {
		return ""
	}
	kept := filepath.Join(w.StateDir, FailedPlan)
	if err := os.Rename(p.File, kept); err != nil {
		return ""
	}
	return kept
}

// Apply applies exactly the saved plan, then removes the plan file.
func (w *Workspace) Apply(ctx context.Context, p *Plan) error {
	fmt.Fprintf(w.Out, "==> terraform apply %s\n", p.File)
	if err := w.TF.Apply(ctx, p.File); err != nil {
		return fmt.Errorf("apply %s: %w", w.Env.Name, err)
	}
	_ = os.Remove(p.File)
	return nil
}
