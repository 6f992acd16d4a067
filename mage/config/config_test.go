package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func noEnv(string) string { return "" }

func TestShippedExampleLoads(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", DefaultFile), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.App != "shop" {
		t.Errorf("app = %q", cfg.App)
	}
	for _, name := range []string{"sandbox", "staging", "production"} {
		env, err := cfg.Env(name)
		if err != nil {
			t.Fatal(err)
		}
		paths, err := env.TagPaths()
		if err != nil {
			t.Fatal(err)
		}
		if len(paths) != 2 || paths[0].Image != "app" || paths[0].Path.String() != "image_tags.app" {
			t.Errorf("%s tag paths = %+v", name, paths)
		}
		if env.Migrate == nil || env.Migrate.NetworkFrom != "web-app" {
			t.Errorf("%s migrate = %+v", name, env.Migrate)
		}
		if _, err := os.Stat(cfg.Path(env.Terraform.Root)); err != nil {
			t.Errorf("%s terraform root: %v", name, err)
		}
		if _, err := os.Stat(cfg.Path(env.Terraform.Tfvars)); err != nil {
			t.Errorf("%s tfvars: %v", name, err)
		}
	}
	sandbox, _ := cfg.Env("sandbox")
	if sandbox.Registry != "127.0.0.1:5000" {
		t.Errorf("sandbox registry default = %q", sandbox.Registry)
	}
	web := sandbox.Services[0]
	if web.Name != "web-app" || web.Containers["nginx"] != "nginx" || web.Containers["unicorn"] != "app" {
		t.Errorf("web-app service = %+v", web)
	}
	if _, err := cfg.Env("prod"); err == nil || !strings.Contains(err.Error(), "sandbox, sandbox-production, staging, production") {
		t.Errorf("unknown env error = %v", err)
	}
}

const minimal = `app = "shop"

image "app" {
  dockerfile = "docker/Dockerfile"
  repository = "shop/app"
}

environment "staging" {
  account  = "123456789012"
  region   = "ap-northeast-1"
  cluster  = "shop-staging"
  registry = env("REGISTRY")

  service "web-app" {
    containers = { unicorn = "app" }
  }

  terraform {
    root       = "terraform/envs/staging"
    tfvars     = "terraform/envs/staging/images.auto.tfvars"
    image_tags = { app = "image_tags.app" }
  }
}
`

func TestEnvIsReadOnlyWhereAsked(t *testing.T) {
	var asked []string
	getenv := func(k string) string {
		asked = append(asked, k)
		return "registry.example:5000"
	}
	cfg, err := Parse([]byte(minimal), "deploy.hcl", getenv)
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || asked[0] != "REGISTRY" {
		t.Errorf("getenv asked for %v, want only REGISTRY", asked)
	}
	if cfg.Environments[0].Registry != "registry.example:5000" {
		t.Errorf("registry = %q", cfg.Environments[0].Registry)
	}
}

func TestErrorsNameFileLineAndColumn(t *testing.T) {
	getenv := func(k string) string {
		if k == "REGISTRY" {
			return "r:5000"
		}
		return ""
	}
	tests := []struct {
		name, edit, with, want string
	}{
		{"unknown key", `  cluster  = "shop-staging"`, `  cluster  = "shop-staging"` + "\n  clustr = \"x\"",
			`deploy.hcl:12:3: Unsupported argument: An argument named "clustr" is not expected here`},
		{"missing required", `  region   = "ap-northeast-1"` + "\n", "",
			`deploy.hcl:8:23: Missing required argument: The argument "region" is required`},
		{"wrong type", `  account  = "123456789012"`, `  account  = ["123456789012"]`,
			`deploy.hcl:9:14: Unsuitable value type: Unsuitable value: string required`},
		{"unset env var", `env("REGISTRY")`, `env("SHOP_REGISTRY")`,
			`deploy.hcl:12:14: Error in function call: Call to function "env" failed: environment variable SHOP_REGISTRY is not set`},
		{"bad account", `"123456789012"`, `"1234"`,
			`deploy.hcl:9:14: Invalid deploy configuration: account "1234" must be a 12-digit AWS account ID`},
		{"unknown image in service", `unicorn = "app"`, `unicorn = "ap"`,
			`deploy.hcl:15:18: Invalid deploy configuration: container "unicorn" runs image "ap", which no image block declares`},
		{"image without tag path", `image_tags = { app = "image_tags.app" }`, `image_tags = { }`,
			`deploy.hcl:21:18: Invalid deploy configuration: image_tags has no entry for image "app"`},
		{"bad tag path", `"image_tags.app"`, `"image tags"`,
			`tfvars path "image tags": "image tags" is not a valid attribute name`},
		{"syntax error", `app = "shop"`, `app = = "shop"`,
			`deploy.hcl:1:7: Invalid expression`},
		{"empty registry", `env("REGISTRY")`, `""`,
			`deploy.hcl:12:14: Invalid deploy configuration: registry "" must be a registry host`},
		{"JSON tfvars", `"terraform/envs/staging/images.auto.tfvars"`, `"terraform/envs/staging/images.auto.tfvars.json"`,
			`JSON tfvars are not supported`},
		{"unknown builder", `  cluster  = "shop-staging"`, `  cluster  = "shop-staging"` + "\n  builder = \"docker\"",
			`builder "docker" must be "auto", "buildx" or "buildah"`},
		{"tfvars outside repo", `tfvars     = "terraform/envs/staging/images.auto.tfvars"`, `tfvars = "../x.tfvars"`,
			`must be a path inside the repository`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(minimal, tc.edit, tc.with, 1)
			if src == minimal {
				t.Fatalf("edit %q not found in the fixture", tc.edit)
			}
			_, err := Parse([]byte(src), "deploy.hcl", getenv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDuplicateEnvironment(t *testing.T) {
	src := minimal + "\nenvironment" + strings.SplitN(minimal, "environment", 2)[1]
	_, err := Parse([]byte(src), "deploy.hcl", func(string) string { return "r" })
	if err == nil || !strings.Contains(err.Error(), `environment "staging" is declared twice`) {
		t.Fatalf("error = %v", err)
	}
}
