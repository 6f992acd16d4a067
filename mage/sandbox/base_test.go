package sandbox

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// The base images live in builder storage and, with a registry, in the
// registry too (keyed like storage), so BuildKit and fresh buildah
// storage can start from them; a second run changes nothing.
func TestBaseImagesAreKeptInTheRegistryToo(t *testing.T) {
	for _, bin := range []string{"buildah", "mmdebstrap"} {
		testtools.Need(t, bin)
	}
	ctx := context.Background()
	host := testtools.Registry(t)
	var out testtools.Buffer
	bb := DefaultBaseBuilder(&out)
	bb.Registry = host
	if err := bb.Ensure(ctx, Bases); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	reg := image.Registry{Host: host}
	for _, b := range Bases {
		labels, err := reg.Labels(ctx, InRegistry(host, b.Name), "linux/"+runtime.GOARCH)
		if err != nil {
			t.Fatalf("%s is not in the registry: %v\n%s", b.Name, err, out.String())
		}
		if labels[KeyLabel] != b.Key(Bases) {
			t.Errorf("%s in the registry has key %q, want %q", b.Name, labels[KeyLabel], b.Key(Bases))
		}
	}
	out.Reset()
	if err := bb.Ensure(ctx, Bases); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out.String(), ": in the registry (key "); got != len(Bases) || strings.Contains(out.String(), "pushed") {
		t.Errorf("a second run pushed again:\n%s", out.String())
	}
}
