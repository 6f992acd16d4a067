package targets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/railsecs/deploykit/mage/iam"
	"github.com/railsecs/deploykit/mage/terraform"
)

// IamPolicy prints one IAM policy of an environment, rendered from
// terraform/modules/rails-app-iam with the environment's names.
func IamPolicy(ctx context.Context, env, role *string) error {
	return osConsole().iamPolicy(ctx, envName(env), stringFlag(role, "deploy"))
}

func (c console) iamPolicy(ctx context.Context, envName, role string) error {
	if _, ok := iam.Roles[role]; !ok {
		return fmt.Errorf("-role=%s: want one of %s", role, strings.Join(iam.RoleNames(), ", "))
	}
	cfg, env, err := c.loadEnv(envName)
	if err != nil {
		return err
	}
	configured := ""
	if cfg.Terraform != nil {
		configured = cfg.Terraform.Binary
	}
	bin, err := terraform.Finder{Configured: configured, Getenv: c.getenv, RepoDir: cfg.Dir, Out: c.out}.Find(ctx)
	if err != nil {
		return err
	}
	policies, err := iam.Render(ctx, bin, cfg.Dir, iam.InputsFor(cfg, env))
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, policies[role], "", "  "); err != nil {
		return fmt.Errorf("policy %s: %w", role, err)
	}
	pretty.WriteByte('\n')
	_, err = c.out.Write(pretty.Bytes())
	return err
}

func stringFlag(s *string, def string) string {
	if s == nil || *s == "" {
		return def
	}
	return *s
}
