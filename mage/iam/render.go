// Package iam renders the IAM policies of the reference infrastructure for
// one environment of deploy.hcl, by applying terraform/modules/rails-app-iam
// (a module with no provider) in a scratch directory. The JSON it prints is
// byte for byte what the rails-app module attaches to the roles.
package iam

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/terraform"
	"github.com/railsecs/deploykit/terraform/modules"
)

// copyModule puts the policy module's files in work: the repository's own
// copy when it has one (the toolkit's checkout), else the one built into
// this binary (an app's, of the toolkit version its go.mod requires).
func copyModule(repoDir, work string) error {
	var src fs.FS = modules.IAM
	dir := "rails-app-iam"
	if _, err := os.Stat(filepath.Join(repoDir, ModuleDir)); err == nil {
		src, dir = os.DirFS(filepath.Join(repoDir, ModuleDir)), "."
	}
	files, err := fs.Glob(src, path.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("policy module %s has no .tf files", filepath.Join(repoDir, ModuleDir))
	}
	for _, f := range files {
		data, err := fs.ReadFile(src, f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(work, path.Base(f)), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ModuleDir is the policy module, relative to the repository root.
const ModuleDir = "terraform/modules/rails-app-iam"

// Roles are the policies the module renders, by the name -role takes.
var Roles = map[string]string{
	"deploy":   "deploy_policy_json",
	"operator": "operator_policy_json",
	"infra":    "infra_policy_json",
	// Resource policies, not roles: what the environments promoted from
	// this one need on its state bucket and repositories.
	"promotion-bucket":     "promotion_bucket_policy_json",
	"promotion-repository": "promotion_repository_policy_json",
	"scheduler":            "scheduler_policy_json",
	"execution":            "execution_policy_json",
	"task":                 "task_policy_json",
}

// RoleNames lists Roles' keys in order.
func RoleNames() []string {
	names := make([]string, 0, len(Roles))
	for n := range Roles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Inputs are the module's variables for one environment.
type Inputs struct {
	App          string   `json:"app"`
	Env          string   `json:"env"`
	AccountID    string   `json:"account_id"`
	Region       string   `json:"region"`
	ClusterName  string   `json:"cluster_name"`
	Services     []string `json:"services"`
	Repositories []string `json:"repositories"`
	LogGroups    []string `json:"log_groups"`
	StateBucket  string   `json:"state_bucket"`
	SecretARNs   []string `json:"secret_arns"`
	// PromoteFrom is the source of this environment's promotions; nil none.
	PromoteFrom *PromotionSource `json:"promote_from"`
	// PromotedBy are the deploy roles of the environments promoted from
	// this one.
	PromotedBy []string `json:"promoted_by"`
}

// PromotionSource is where a promotion reads releases and pulls images.
type PromotionSource struct {
	AccountID    string   `json:"account_id"`
	Region       string   `json:"region"`
	Env          string   `json:"env"`
	StateBucket  string   `json:"state_bucket"`
	Repositories []string `json:"repositories"`
}

// DeployRoleARN is the role that deploys env in CI: ci_role in deploy.hcl,
// else the one the rails-app module's ci_oidc creates (APP-ENV-ci-deploy).
func DeployRoleARN(cfg *config.Config, env *config.Environment) string {
	if env.CIRole != "" {
		return env.CIRole
	}
	return "arn:aws:iam::" + env.Account + ":role/" + cfg.App + "-" + env.Name + "-ci-deploy"
}

// InputsFor derives the module's variables from deploy.hcl, with the
// rails-app module's naming: log groups /ecs/APP-ENV/SERVICE, the cron
// service when frequent jobs run in one.
func InputsFor(cfg *config.Config, env *config.Environment) Inputs {
	in := Inputs{
		App: cfg.App, Env: env.Name, AccountID: env.Account, Region: env.Region, ClusterName: env.Cluster,
		Services: env.ServiceNames(), SecretARNs: []string{},
	}
	if cfg.Cron != nil && cfg.Cron.FrequentJobs != "scheduler" && !contains(in.Services, "cron") {
		in.Services = append(in.Services, "cron")
	}
	for _, img := range cfg.Images {
		in.Repositories = append(in.Repositories, img.Repository)
	}
	if cache := cfg.BuildOrDefault().CacheRepository; cache != "" {
		in.Repositories = append(in.Repositories, cache)
	}
	// The module's log groups: one per service (web-app and the worker,
	// sidekiq unless deploy.hcl names another), the migrate task and cron.
	var streams []string
	for _, svc := range env.ServiceNames() {
		if svc != "cron" {
			streams = append(streams, svc)
		}
	}
	for _, svc := range append(streams, "migrate", "cron") {
		in.LogGroups = append(in.LogGroups, "/ecs/"+cfg.App+"-"+env.Name+"/"+svc)
	}
	if env.Terraform != nil {
		in.StateBucket = env.Terraform.Backend["bucket"]
	}
	in.PromotedBy = []string{}
	for _, other := range cfg.Environments {
		if other.PromoteFrom == env.Name && !other.Local {
			in.PromotedBy = append(in.PromotedBy, DeployRoleARN(cfg, other))
		}
	}
	if src, err := cfg.Env(env.PromoteFrom); env.PromoteFrom != "" && err == nil && !src.Local {
		in.PromoteFrom = &PromotionSource{AccountID: src.Account, Region: src.Region, Env: src.Name}
		if src.Terraform != nil {
			in.PromoteFrom.StateBucket = src.Terraform.Backend["bucket"]
		}
		for _, img := range cfg.Images {
			in.PromoteFrom.Repositories = append(in.PromoteFrom.Repositories, img.Repository)
		}
	}
	return in
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Policies are the rendered documents by role.
type Policies map[string]json.RawMessage

// Render applies the policy module with in and returns every policy.
// tfBin is terraform or tofu; the module needs no provider, so this runs
// offline and leaves nothing in the repository.
func Render(ctx context.Context, tfBin, repoDir string, in Inputs) (Policies, error) {
	work, err := os.MkdirTemp("", "deploykit-iam-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	if err := copyModule(repoDir, work); err != nil {
		return nil, err
	}
	vars, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(work, "terraform.tfvars.json"), vars, 0o644); err != nil {
		return nil, err
	}
	var log strings.Builder
	r := &terraform.Runner{Bin: tfBin, Dir: work, Stdout: &log, Stderr: &log, Env: []string{"TF_IN_AUTOMATION=1"}}
	if err := r.Init(ctx, nil); err != nil {
		return nil, fmt.Errorf("render the IAM policies of %s: %w", in.Env, err)
	}
	if _, err := r.Run(ctx, "apply", "-auto-approve", "-input=false", "-no-color"); err != nil {
		return nil, fmt.Errorf("render the IAM policies of %s: %w\n%s", in.Env, err, log.String())
	}
	outputs, err := r.Outputs(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the rendered IAM policies of %s: %w", in.Env, err)
	}
	policies := Policies{}
	for role, output := range Roles {
		raw, ok := outputs[output]
		if !ok {
			return nil, fmt.Errorf("policy module %s has no output %s", ModuleDir, output)
		}
		var doc string // the outputs are JSON strings holding the document
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("output %s: %w", output, err)
		}
		policies[role] = json.RawMessage(doc)
	}
	return policies, nil
}
