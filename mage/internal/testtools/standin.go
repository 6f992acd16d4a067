package testtools

import (
	"os"
	"path/filepath"
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
	os.Remove(filepath.Join(app, "busybox")) // a copy an earlier prepare left; prepare makes its own
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
		}
		if env.Type() != "environment" || len(env.Labels()) != 1 || env.Labels()[0] != "sandbox" {
			continue
		}
		found = true
		// The stand-in's migrations are a script: no database to start.
		env.Body().RemoveAttribute("local_database")
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

// CopyTree copies the files under src to dst, keeping their modes.
func CopyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
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
