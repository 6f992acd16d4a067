package release

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// Which Sprockets cache a precompile is handed: the one the live release
// left for new asset inputs, the one the live release itself was handed
// for the same asset inputs (so the precompile step is a layer-cache
// hit), and an empty directory whenever the registry lacks the image.
func TestTheSprocketsCacheHandedToPrecompile(t *testing.T) {
	host := testtools.Registry(t)
	ctx := context.Background()
	push := func(ref string) string {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		r, err := name.ParseReference(ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, img); err != nil {
			t.Fatal(err)
		}
		digest, _ := img.Digest()
		return ref + "@" + digest.String()
	}
	repo := host + "/shop/build-cache"
	leftByLive := push(repo + ":" + image.SprocketsCacheTag("live1"))
	handedToLive := push(repo + ":" + image.SprocketsCacheTag("live0"))
	reg := &image.Registry{Host: host}

	for _, tc := range []struct {
		name       string
		repository string
		live       map[string]string
		hash       string
		want       string // "" for none
	}{
		{"first release", repo, nil, "new", ""},
		{"asset change", repo, map[string]string{image.AssetInputsLabel: "live1", image.SprocketsCacheLabel: handedToLive}, "new", leftByLive},
		{"code-only change", repo, map[string]string{image.AssetInputsLabel: "live1", image.SprocketsCacheLabel: handedToLive}, "live1", handedToLive},
		{"code-only change of a release handed none", repo, map[string]string{image.AssetInputsLabel: "live1", image.SprocketsCacheLabel: "none"}, "live1", ""},
		{"asset change, the live release's cache expired", repo, map[string]string{image.AssetInputsLabel: "gone"}, "new", ""},
		{"live images from before the cache (no labels)", repo, map[string]string{}, "new", ""},
		{"no cache repository", "", map[string]string{image.AssetInputsLabel: "live1"}, "new", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			caches := sprocketsCaches{registry: reg, repository: tc.repository, tmp: t.TempDir(), liveAssets: tc.live}
			got, err := caches.handed(ctx, tc.hash)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				info, err := os.Stat(got.context)
				if got.ref != "none" || err != nil || !info.IsDir() {
					t.Errorf("handed %+v, want none (an empty directory)", got)
				}
				return
			}
			if got.ref != tc.want || got.context != image.ImageContext(tc.want) || !strings.Contains(got.ref, "@sha256:") {
				t.Errorf("handed %+v, want %s", got, tc.want)
			}
		})
	}
}
