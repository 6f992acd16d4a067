package cron

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// whenever runs the real whenever (Debian's ruby-whenever) on a schedule in
// root and returns its crontab without the two "## [message]" lines.
func whenever(t *testing.T, root, schedule string) (string, error) {
	t.Helper()
	bin := testtools.Need(t, "whenever")
	cmd := exec.Command(bin, "--load-file", schedule)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "TZ=UTC", "RAILS_ENV=production", "CRON_ENABLED=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), err
	}
	var kept []string
	for _, l := range strings.SplitAfter(string(out), "\n") {
		if !strings.HasPrefix(l, "## [message]") {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, ""), nil
}

// rails lays out a Rails root: a Gemfile and bin/rails make whenever
// add "bundle exec" and use "bin/rails runner".
func railsRoot(t *testing.T, gemfile, binRails bool) string {
	dir := t.TempDir()
	if gemfile {
		os.WriteFile(filepath.Join(dir, "Gemfile"), []byte("source 'https://rubygems.org'\n"), 0o644)
	}
	if binRails {
		os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
		os.WriteFile(filepath.Join(dir, "bin", "rails"), []byte("#!/bin/sh\n"), 0o755)
	}
	return dir
}

// TestFixturesMatchWhenever runs every fixture through our parser and the
// real whenever, in Rails roots with and without Gemfile and bin/rails.
func TestFixturesMatchWhenever(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "schedules", "*.rb"))
	if err != nil || len(files) < 20 {
		t.Fatalf("want at least 20 fixtures, found %d (%v)", len(files), err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, layout := range []struct {
			name              string
			gemfile, binRails bool
		}{{"rails", true, true}, {"plain", false, false}} {
			t.Run(filepath.Base(f)+"/"+layout.name, func(t *testing.T) {
				root := railsRoot(t, layout.gemfile, layout.binRails)
				sched := filepath.Join(root, "schedule.rb")
				os.WriteFile(sched, src, 0o644)
				want, werr := whenever(t, root, sched)
				s, perr := Parse(sched, string(src), ParseOptions{Root: root, Getenv: func(k string) string { return map[string]string{"RAILS_ENV": "production", "CRON_ENABLED": "1"}[k] }})
				if perr == nil {
					got, cerr := s.Crontab()
					if cerr != nil {
						perr = cerr
					} else {
						if werr != nil {
							t.Fatalf("whenever failed but we produced:\n%s\nwhenever: %s", got, want)
						}
						if got != want {
							t.Fatalf("crontab differs from whenever's\n--- ours\n%s\n--- whenever\n%s", got, want)
						}
						return
					}
				}
				if werr == nil && !strings.Contains(string(src), "# refused:") {
					t.Fatalf("we refused what whenever accepts: %v\nwhenever printed:\n%s", perr, want)
				}
			})
		}
	}
}
