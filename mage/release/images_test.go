package release

import (
	"testing"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/git"
)

func TestWritesCache(t *testing.T) {
	cases := []struct {
		branches []string
		branch   string
		want     bool
	}{
		{[]string{"main"}, "main", true},
		{[]string{"main"}, "feature", false},
		{[]string{"main"}, "", false},
		{[]string{"*"}, "", true},
		{nil, "main", false},
	}
	for _, c := range cases {
		if got := writesCache(c.branches, c.branch); got != c.want {
			t.Errorf("writesCache(%v, %q) = %v", c.branches, c.branch, got)
		}
	}
}

func TestBuildSpecs(t *testing.T) {
	src := `app = "shop"
build {
  cache_repository = "shop/cache"
}
image "app" {
  dockerfile = "docker/Dockerfile"
  target     = "app"
  repository = "shop/app"
}
environment "staging" {
  account  = "123456789012"
  region   = "ap-northeast-1"
  cluster  = "shop-staging"
  registry = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"
  service "web" {
    containers = { unicorn = "app" }
  }
  terraform {
    root       = "terraform/envs/staging"
    tfvars     = "terraform/envs/staging/images.auto.tfvars"
    image_tags = { app = "image_tags.app" }
  }
}
`
	cfg, err := config.Parse([]byte(src), "/repo/deploy.hcl", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	env, _ := cfg.Env("staging")
	commit := git.Commit{SHA: "0123456789abcdef0123456789abcdef01234567", Tag: "0123456789ab"}
	specs := buildSpecs(cfg, env, commit, false)
	if len(specs) != 1 {
		t.Fatalf("specs = %+v", specs)
	}
	s := specs[0]
	if s.Refs[0] != "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/shop/app:0123456789ab" || !s.Push ||
		s.CacheFrom != "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/shop/cache" || s.CacheTo != "" ||
		s.Labels["org.opencontainers.image.revision"] != commit.SHA || s.Target != "app" {
		t.Errorf("staging spec = %+v", s)
	}
	if got := buildSpecs(cfg, env, commit, true)[0].CacheTo; got != s.CacheFrom {
		t.Errorf("cache writer exports to %q", got)
	}
	local := buildSpecs(cfg, nil, commit, true)[0]
	if local.Refs[0] != "localhost/shop/app:0123456789ab" || local.Push || local.CacheFrom != "" {
		t.Errorf("local spec = %+v", local)
	}
}
