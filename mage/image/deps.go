package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/railsecs/deploykit/mage/appscan"
)

// DepsContext holds what the dependency installs read besides Gemfile
// and Gemfile.lock (DependencyInputs), so the gems stage sees a Gemfile's
// `ruby file:`, `gemspec` and `path:` gems, and a jsbundling or
// cssbundling app's package.json and lock file, without the whole app,
// whose every change would otherwise rerun bundle and package installs.
const DepsContext = "deps-src"

// packageFiles are the root's files the installs read, when present.
var packageFiles = []string{".ruby-version", ".tool-versions", "package.json", "package-lock.json", "yarn.lock", "pnpm-lock.yaml",
	"bun.lockb", "bun.lock", ".nvmrc", ".node-version"}

// DependencyInputs are the paths, relative to the Rails root ctxDir, that
// the gems stage's installs read besides Gemfile and Gemfile.lock:
// .ruby-version and .tool-versions (`ruby file:`), the gemspecs in the root
// (`gemspec`, a PATH remote of "."), every other PATH remote Gemfile.lock
// names (`path:` gems, whole), and the JavaScript package manifest, lock
// files and package-manager settings. A remote outside the root is
// refused, naming its line in Gemfile.lock: the build context cannot
// carry it. .npmrc and .yarnrc.yml are left out: they often hold registry
// tokens, which would land in a cached layer.
func DependencyInputs(ctxDir string) ([]string, error) {
	var extras []string
	for _, f := range packageFiles {
		if _, err := os.Stat(filepath.Join(ctxDir, f)); err == nil {
			extras = append(extras, f)
		}
	}
	lockPath := filepath.Join(ctxDir, "Gemfile.lock")
	lock, err := appscan.ReadLockfile(lockPath)
	if errors.Is(err, fs.ErrNotExist) {
		return extras, nil // the Dockerfile's COPY of it names the problem
	}
	if err != nil {
		return nil, err
	}
	for _, remote := range lock.PathRemotes {
		clean := path.Clean(filepath.ToSlash(remote.Path))
		if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return nil, fmt.Errorf("%s:%d: path gem %q is outside the Rails root %s: a build context cannot carry it (vendor it under the root)", lockPath, remote.Line, remote.Path, ctxDir)
		}
		if clean != "." {
			extras = append(extras, clean)
			continue
		}
		specs, err := filepath.Glob(filepath.Join(ctxDir, "*.gemspec"))
		if err != nil {
			return nil, err
		}
		for _, s := range specs {
			extras = append(extras, filepath.Base(s))
		}
	}
	sort.Strings(extras)
	return extras, nil
}
