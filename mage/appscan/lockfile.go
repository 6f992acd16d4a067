package appscan

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Lockfile is what a Gemfile.lock resolved.
type Lockfile struct {
	// Gems: every source's top-level specs by name, with their versions
	// (a platform variant such as "1.16.0-x86_64-linux" reads as 1.16.0).
	Gems map[string]string
	Ruby string // RUBY VERSION, "" when not recorded
	// PathRemotes are the `remote:` lines of PATH sections (`path:` gems
	// and `gemspec`, whose remote is "."), with their line numbers.
	PathRemotes []PathRemote
}

// PathRemote is one PATH section's remote.
type PathRemote struct {
	Path string
	Line int
}

var (
	lockSpec = regexp.MustCompile(`^    ([A-Za-z0-9_.-]+) \(([^)]+)\)$`)
	lockRuby = regexp.MustCompile(`^   ruby (\d+\.\d+\.\d+)`)
)

// ReadLockfile parses the Gemfile.lock at path. Its error wraps the
// os.Open error, so errors.Is(err, fs.ErrNotExist) tells a missing file.
func ReadLockfile(path string) (Lockfile, error) {
	lock := Lockfile{Gems: map[string]string{}}
	f, err := os.Open(path)
	if err != nil {
		return lock, fmt.Errorf("read the app's gems: %w", err)
	}
	defer f.Close()
	var section string
	sc := bufio.NewScanner(f)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := sc.Text()
		if line != "" && !strings.HasPrefix(line, " ") {
			section = strings.TrimSpace(line)
			continue
		}
		if m := lockSpec.FindStringSubmatch(line); m != nil && slices.Contains([]string{"GEM", "PATH", "GIT"}, section) {
			lock.Gems[m[1]], _, _ = strings.Cut(m[2], "-")
		}
		if m := lockRuby.FindStringSubmatch(line); m != nil && section == "RUBY VERSION" {
			lock.Ruby = m[1]
		}
		if remote, ok := strings.CutPrefix(line, "  remote: "); ok && section == "PATH" {
			lock.PathRemotes = append(lock.PathRemotes, PathRemote{Path: strings.TrimSpace(remote), Line: lineNo})
		}
	}
	if err := sc.Err(); err != nil {
		return lock, fmt.Errorf("%s: %w", path, err)
	}
	return lock, nil
}
