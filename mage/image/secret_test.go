package image

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// A build secret is there for the RUN step that mounts it (it writes the
// secret's hash), and nowhere else: not in argv, not in the build log, not
// in any layer or the config of the pushed image.
func TestBuildSecretsNeverReachTheImage(t *testing.T) {
	for _, rb := range realBuilders {
		t.Run(rb.name, func(t *testing.T) { secretScenario(t, rb) })
	}
}

func secretScenario(t *testing.T, rb realBuilder) {
	ctx := context.Background()
	host := testtools.Registry(t)
	dir := t.TempDir()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skip("busybox-static is not installed")
	}
	os.WriteFile(filepath.Join(dir, "busybox"), bb, 0o755)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(`FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN --mount=type=secret,id=GEM_TOKEN sha256sum /run/secrets/GEM_TOKEN | cut -c1-64 > /gem-token.sha256 && echo "installing gems with token $(cat /run/secrets/GEM_TOKEN)"
`), 0o644)
	const token = "ghp_s3cr3t-T0ken-for-private-gems"
	ref := host + "/shop/secret:c0ffee000003"
	spec := Spec{Name: "app", Dockerfile: filepath.Join(dir, "Dockerfile"), Context: dir, Refs: []string{ref}, Push: true,
		Platforms: []string{"linux/amd64"}, Secrets: map[string]string{"GEM_TOKEN": token}}
	b := rb.fresh(t, host)
	for _, args := range b.Commands(spec) {
		if strings.Contains(strings.Join(args, " "), token) {
			t.Fatalf("the secret is in argv: %v", args)
		}
	}
	if args := (Buildx{}).BuildArgs(spec); strings.Contains(strings.Join(args, " "), token) || !strings.Contains(strings.Join(args, " "), "--secret id=GEM_TOKEN,env=") {
		t.Errorf("buildx argv: %v", args)
	}
	var out testtools.Buffer
	p := Pipeline{Builder: b, Registry: &Registry{Host: host}, Out: Redacting(&out, spec.Secrets)}
	if _, err := p.Ensure(ctx, []Spec{spec}); err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), token) || !strings.Contains(out.String(), "installing gems with token <redacted>") {
		t.Errorf("the build log shows the secret, or the step did not run:\n%s", out.String())
	}

	// Scan what was pushed: every manifest of an index (BuildKit adds
	// attestations), each config and every layer, byte by byte.
	r, _ := name.ParseReference(ref, name.Insecure)
	desc, err := remote.Get(r, remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	var images []v1.Image
	if desc.MediaType.IsIndex() {
		idx, _ := desc.ImageIndex()
		m, _ := idx.IndexManifest()
		for _, d := range m.Manifests {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			images = append(images, img)
		}
	} else {
		img, err := desc.Image()
		if err != nil {
			t.Fatal(err)
		}
		images = append(images, img)
	}
	sum := sha256.Sum256([]byte(token))
	wantHash, foundHash := hex.EncodeToString(sum[:]), false
	for _, img := range images {
		rawCfg, _ := img.RawConfigFile()
		if strings.Contains(string(rawCfg), token) {
			t.Error("the secret is in an image config")
		}
		layers, _ := img.Layers()
		for _, l := range layers {
			rc, err := l.Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(rc)
			rc.Close()
			if strings.Contains(string(raw), token) {
				t.Error("the secret is in a layer")
			}
			tr := tar.NewReader(strings.NewReader(string(raw)))
			for {
				hdr, err := tr.Next()
				if err != nil {
					break // not a tar (an attestation's JSON) or the end
				}
				data, _ := io.ReadAll(tr)
				if strings.Contains(hdr.Name, "GEM_TOKEN") {
					t.Errorf("the secret is in layer file %s", hdr.Name)
				}
				if strings.TrimPrefix(hdr.Name, "./") == "gem-token.sha256" && strings.TrimSpace(string(data)) == wantHash {
					foundHash = true
				}
			}
		}
	}
	if !foundHash {
		t.Error("the RUN step did not see the secret (no matching /gem-token.sha256 in the image)")
	}
}
