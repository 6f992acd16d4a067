package terraform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BinaryEnv overrides the configured binary: "terraform", "tofu" or a path.
const BinaryEnv = "DEPLOYKIT_TERRAFORM"

// tofuPackage is what the project's tools module builds when neither
// terraform nor tofu is installed.
const tofuPackage = "github.com/opentofu/opentofu/cmd/tofu"

// Finder picks the binary: BinaryEnv, then the configured choice, then
// terraform or tofu on PATH, then tools/bin/tofu, built from tools/go.mod
// if needed.
type Finder struct {
	Configured string              // from deploy.hcl; "" for automatic
	Getenv     func(string) string // reads BinaryEnv
	LookPath   func(string) (string, error)
	RepoDir    string    // holds tools/go.mod
	Out        io.Writer // progress of a tofu build
}

// Find returns the path of the binary to run.
func (f Finder) Find(ctx context.Context) (string, error) {
	lookPath := f.LookPath
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	choice, source := f.Configured, "deploy.hcl"
	if f.Getenv != nil {
		if v := f.Getenv(BinaryEnv); v != "" {
			choice, source = v, BinaryEnv
		}
	}
	if choice != "" {
		if strings.ContainsRune(choice, os.PathSeparator) {
			if _, err := os.Stat(choice); err != nil {
				return "", fmt.Errorf("terraform binary %s (from %s): %w", choice, source, err)
			}
			return choice, nil
		}
		if p, err := lookPath(choice); err == nil {
			return p, nil
		}
		if choice == "tofu" {
			return f.buildTofu(ctx)
		}
		return "", fmt.Errorf("terraform binary %q (from %s) is not on PATH", choice, source)
	}
	for _, name := range []string{"terraform", "tofu"} {
		if p, err := lookPath(name); err == nil {
			return p, nil
		}
	}
	return f.buildTofu(ctx)
}

// TofuPath is where the tools module puts the tofu it builds.
func TofuPath(repoDir string) string { return filepath.Join(repoDir, "tools", "bin", "tofu") }

func (f Finder) buildTofu(ctx context.Context) (string, error) {
	bin := TofuPath(f.RepoDir)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	tools := filepath.Join(f.RepoDir, "tools")
	if _, err := os.Stat(filepath.Join(tools, "go.mod")); err != nil {
		return "", errors.New("neither terraform nor tofu is on PATH, and there is no tools/go.mod to build OpenTofu from: install one of them")
	}
	out := orDiscard(f.Out)
	fmt.Fprintf(out, "neither terraform nor tofu is on PATH: building OpenTofu from tools/go.mod into %s (a few minutes the first time)\n", bin)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join("bin", "tofu"), tofuPackage)
	cmd.Dir = tools
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build OpenTofu in %s: %w", tools, err)
	}
	return bin, nil
}
