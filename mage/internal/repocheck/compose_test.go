package repocheck

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// `docker compose up --build` passes every named build context the
// Dockerfile reads (the stages it builds need them: COPY --from= and RUN
// --mount from= naming no stage), each a path that exists; the compose copy
// of bridge-assets is the toolkit's.
func TestComposeBuildsPassTheDockerfilesNamedContexts(t *testing.T) {
	root := testtools.RepoRoot(t)
	dockerfile, err := os.ReadFile(filepath.Join(root, "docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?im)^FROM\s+\S+\s+AS\s+(\S+)`).FindAllStringSubmatch(string(dockerfile), -1) {
		stages[m[1]] = true
	}
	var named []string
	for _, m := range regexp.MustCompile(`from=([a-z0-9][a-z0-9_.-]*)`).FindAllStringSubmatch(string(dockerfile), -1) {
		if !stages[m[1]] && !slices.Contains(named, m[1]) {
			named = append(named, m[1])
		}
	}
	if len(named) < 3 {
		t.Fatalf("found only the named contexts %v in docker/Dockerfile: the check proves nothing", named)
	}
	data, err := os.ReadFile(filepath.Join(root, "docker", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Build *struct {
				Context            string            `json:"context"`
				AdditionalContexts map[string]string `json:"additional_contexts"`
			} `json:"build"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatal(err)
	}
	builds := 0
	for name, svc := range compose.Services {
		if svc.Build == nil {
			continue
		}
		builds++
		for _, ctx := range named {
			path, ok := svc.Build.AdditionalContexts[ctx]
			if !ok {
				t.Errorf("compose service %s builds docker/Dockerfile without the named context %q", name, ctx)
				continue
			}
			if _, err := os.Stat(filepath.Join(root, "docker", path)); err != nil {
				t.Errorf("compose service %s: context %s=%s: %v", name, ctx, path, err)
			}
		}
	}
	if builds == 0 {
		t.Fatal("no compose service builds")
	}
	copy, err := os.ReadFile(filepath.Join(root, "docker", "compose", "deploykit", "bridge-assets"))
	if err != nil {
		t.Fatal(err)
	}
	canonical, err := os.ReadFile(filepath.Join(root, "mage", "image", "bridge-assets.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(copy, canonical) {
		t.Error("docker/compose/deploykit/bridge-assets differs from mage/image/bridge-assets.sh: copy it again")
	}
	if _, err := os.Stat(filepath.Join(root, "docker", "compose", "no-previous-assets", "usr", "share", "nginx", "html", "assets")); err != nil {
		t.Errorf("previous-assets for compose lacks the assets directory the Dockerfile mounts: %v", err)
	}
}

// RAILS_SERVE_STATIC_FILES is never set to a value meant as "off": Rails'
// generated production.rb (config.public_file_server.enabled =
// ENV["RAILS_SERVE_STATIC_FILES"].present?) turns static serving on for
// "0" and "false" too, and nginx is what serves /assets.
func TestStaticFileServingIsNotTurnedOnByAnOff(t *testing.T) {
	root := testtools.RepoRoot(t)
	files, _ := filepath.Glob(filepath.Join(root, "terraform", "envs", "*", "*.tf"))
	files = append(files, filepath.Join(root, "docker", "compose.yaml"))
	off := regexp.MustCompile(`RAILS_SERVE_STATIC_FILES\s*[:=]\s*"?(0|false|no|off|)"?\s*($|#)`)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range bytes.Split(data, []byte("\n")) {
			if off.Match(bytes.TrimSpace(line)) {
				t.Errorf("%s:%d sets RAILS_SERVE_STATIC_FILES to an off value, which production.rb reads as on: leave it unset", f, i+1)
			}
		}
	}
}
