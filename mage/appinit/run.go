package appinit

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/railsecs/deploykit/mage/appscan"
)

// RunOptions are init's flags.
type RunOptions struct {
	Dir     string // the Rails root
	App     string // default: Dir's base name
	Force   bool
	Version string // default: the running toolkit's module version
	Replace string
}

// Run reads the app in opts.Dir and writes its files. wroteGoMod says
// magefiles/go.mod was created (go.sum must then be made there).
func Run(opts RunOptions, out io.Writer) (wroteGoMod bool, err error) {
	root, err := filepath.Abs(cmp.Or(opts.Dir, "."))
	if err != nil {
		return false, err
	}
	stack, err := appscan.Scan(root)
	if err != nil {
		return false, fmt.Errorf("read the Rails app in %s: %w", root, err)
	}
	name := cmp.Or(opts.App, DefaultAppName(filepath.Base(root)))
	files, warnings, err := Render(Options{App: name, Stack: stack, ToolkitVersion: cmp.Or(opts.Version, toolkitVersion()),
		ToolkitReplace: opts.Replace, HealthRoute: routesUp(root)})
	if err != nil {
		return false, err
	}
	fmt.Fprintf(out, "%s: Rails %s, %s\n", root, cmp.Or(stack.Rails, "?"), describe(stack))
	_, statErr := os.Stat(filepath.Join(root, "magefiles", "go.mod"))
	if err := Write(root, files, opts.Force, out); err != nil {
		return false, err
	}
	for _, w := range warnings {
		fmt.Fprintln(out, "note:", w)
	}
	return os.IsNotExist(statErr), nil
}

func describe(s appscan.Stack) string {
	parts := []string{cmp.Or(s.Web, "no web server")}
	if s.Thruster {
		parts = append(parts, "thruster")
	}
	for _, p := range []string{s.Worker, s.Schedule, s.Database, s.Assets} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

var notName = regexp.MustCompile(`[^a-z0-9]+`)

// DefaultAppName makes an app name from a directory's: lower case, runs
// of other characters as one dash.
func DefaultAppName(dir string) string {
	return strings.Trim(notName.ReplaceAllString(strings.ToLower(dir), "-"), "-")
}

// toolkitVersion is the deploykit version this binary was built from: the
// one `go run github.com/railsecs/deploykit/cmd/init@VERSION` names.
func toolkitVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Path == ToolkitModule && strings.HasPrefix(info.Main.Version, "v") {
			return info.Main.Version
		}
		for _, dep := range info.Deps {
			if dep.Path == ToolkitModule && strings.HasPrefix(dep.Version, "v") {
				return dep.Version
			}
		}
	}
	return "v0.0.0"
}

var upRoute = regexp.MustCompile(`(?m)^\s*get\s*\(?\s*["']/?up["']|rails/health`)

// routesUp says config/routes.rb routes /up.
func routesUp(root string) bool {
	data, err := os.ReadFile(filepath.Join(root, "config", "routes.rb"))
	return err == nil && upRoute.Match(data)
}
