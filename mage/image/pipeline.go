package image

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/railsecs/deploykit/mage/imageref"
	"github.com/railsecs/deploykit/mage/internal/lineprefix"
)

// Result is one image after Ensure.
type Result struct {
	Name, Ref, Digest string
	Built             bool   // false when the registry already had it
	ReusedFrom        string // the image tagged as this one instead of a build
}

// Pinned is the reference with its digest, what a release records.
func (r Result) Pinned() string {
	ref, err := imageref.ParseRef(r.Ref)
	if err != nil || r.Digest == "" {
		return r.Ref
	}
	return ref.WithDigest(r.Digest).String()
}

// Pipeline builds the images of one commit and pushes them.
type Pipeline struct {
	Builder  Builder
	Registry *Registry // nil: no registry (local build)
	Out      io.Writer
	DryRun   bool
}

// Check validates specs before anything runs: the Dockerfile exists and
// declares the build target.
func Check(specs []Spec) error {
	for _, s := range specs {
		stages, err := stagesOf(s.Dockerfile)
		if err != nil {
			return fmt.Errorf("image %s: Dockerfile %s: %w (dockerfile in deploy.hcl)", s.Name, s.Dockerfile, err)
		}
		if s.Target != "" && !stages[strings.ToLower(s.Target)] {
			var names []string
			for n := range stages {
				names = append(names, n)
			}
			return fmt.Errorf("image %s: build target %q is not a stage of %s (stages: %s)", s.Name, s.Target, s.Dockerfile, strings.Join(names, ", "))
		}
		for _, ref := range s.Refs {
			r, err := imageref.ParseRef(ref)
			if err != nil {
				return fmt.Errorf("image %s: %w", s.Name, err)
			}
			if err := imageref.ValidateTag(r.Tag); err != nil {
				return fmt.Errorf("image %s: %w", s.Name, err)
			}
		}
	}
	return nil
}

var fromAs = regexp.MustCompile(`(?i)^\s*FROM\s+.*\s+AS\s+([A-Za-z0-9_.-]+)\s*$`)

func stagesOf(dockerfile string) (map[string]bool, error) {
	f, err := os.Open(dockerfile)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("not found")
		}
		return nil, err
	}
	defer f.Close()
	stages := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := fromAs.FindStringSubmatch(sc.Text()); m != nil {
			stages[strings.ToLower(m[1])] = true
		}
	}
	return stages, sc.Err()
}

// Ensure makes every image exist: with a registry, images it already holds
// are not built again (a manifest HEAD, no pull); the rest are built
// concurrently and pushed, then their digests resolved. Without a
// registry it builds locally.
func (p Pipeline) Ensure(ctx context.Context, specs []Spec) ([]Result, error) {
	out := orDiscard(p.Out)
	if err := Check(specs); err != nil {
		return nil, err
	}
	results := make([]Result, len(specs))
	var todo []int
	for i, s := range specs {
		results[i] = Result{Name: s.Name, Ref: s.Refs[0]}
		if p.Registry != nil && s.Push {
			digest, err := p.Registry.Digest(ctx, s.Refs[0])
			if err != nil {
				return nil, err
			}
			if digest != "" {
				results[i].Digest = digest
				fmt.Fprintf(out, "%s: %s is already in the registry (%s): not building it\n", s.Name, s.Refs[0], digest)
				continue
			}
			reused, err := p.reuse(ctx, s, &results[i])
			if err != nil {
				return nil, err
			}
			if reused {
				continue
			}
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return results, p.checkPlatforms(ctx, specs)
	}
	if p.DryRun {
		for _, i := range todo {
			for _, args := range p.Builder.Commands(specs[i]) {
				fmt.Fprintf(out, "would run: %s\n", strings.Join(args, " "))
			}
		}
		return results, nil
	}
	// Every context is checked before any builder starts (after the
	// environment's prepare step, which dry runs skip).
	for _, i := range todo {
		if err := CheckContext(specs[i].Dockerfile, specs[i].Context); err != nil {
			return nil, fmt.Errorf("image %s: %w (context in deploy.hcl)", specs[i].Name, err)
		}
		if err := CheckNoRailsKeys(specs[i].Dockerfile, specs[i].Context); err != nil {
			return nil, fmt.Errorf("image %s: %w", specs[i].Name, err)
		}
	}
	specs = singleCacheWriter(specs, todo)
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	for _, group := range buildGroups(p.Builder, specs, todo) {
		g.Go(func() error {
			for _, i := range group {
				s := specs[i]
				pw := &lineprefix.Writer{W: out, Prefix: "[" + s.Name + "] ", Mu: &mu}
				b := withOutput(p.Builder, pw)
				if err := b.Build(gctx, s); err != nil {
					return err
				}
				pw.Flush()
				results[i].Built = true
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if p.Registry != nil {
		for _, i := range todo {
			if !specs[i].Push {
				continue
			}
			digest, err := p.Registry.Digest(ctx, specs[i].Refs[0])
			if err != nil {
				return nil, err
			}
			if digest == "" {
				return nil, fmt.Errorf("%s: pushed, but the registry does not show %s", specs[i].Name, specs[i].Refs[0])
			}
			results[i].Digest = digest
		}
	}
	if err := p.checkPlatforms(ctx, specs); err != nil {
		return nil, err
	}
	return results, nil
}

// buildGroups says which builds run one after another: with buildah,
// images from the same Dockerfile and context share stages (gems, assets)
// that each concurrent build would run again, assets:precompile included,
// CPU-bound on a 2-core CI machine; one after another, the later builds
// take those stages from the first one's local layers. BuildKit runs the
// builds concurrently and shares their common steps itself.
func buildGroups(b Builder, specs []Spec, todo []int) [][]int {
	if _, ok := b.(Buildah); !ok {
		var groups [][]int
		for _, i := range todo {
			groups = append(groups, []int{i})
		}
		return groups
	}
	var groups [][]int
	at := map[[2]string]int{}
	for _, i := range todo {
		key := [2]string{specs[i].Dockerfile, specs[i].Context}
		if g, ok := at[key]; ok {
			groups[g] = append(groups[g], i)
			continue
		}
		at[key] = len(groups)
		groups = append(groups, []int{i})
	}
	return groups
}

// reuse tags spec.Reuse.From as the spec's refs, registry-side: no
// builder runs.
func (p Pipeline) reuse(ctx context.Context, s Spec, r *Result) (bool, error) {
	if s.Reuse == nil || s.Reuse.From == "" {
		return false, nil
	}
	out := orDiscard(p.Out)
	r.ReusedFrom = s.Reuse.From
	if p.DryRun {
		fmt.Fprintf(out, "%s: would tag %s as %s in the registry (%s): no build\n", s.Name, s.Reuse.From, strings.Join(s.Refs, ", "), s.Reuse.Why)
		return true, nil
	}
	for _, ref := range s.Refs {
		digest, err := Copy(ctx, p.Registry, s.Reuse.From, p.Registry, ref)
		if err != nil {
			return false, fmt.Errorf("%s: tag %s as %s: %w", s.Name, s.Reuse.From, ref, err)
		}
		r.Digest = digest
	}
	fmt.Fprintf(out, "%s: %s: tagged it as %s in the registry (%s), not building\n", s.Name, s.Reuse.Why, s.Refs[0], r.Digest)
	return true, nil
}

// checkPlatforms refuses images in the registry that do not run on every
// platform the specs ask for: an image pushed from an Apple-silicon laptop
// is arm64, and Fargate (X86_64 unless the task definition says otherwise)
// would stop its tasks with "exec format error".
func (p Pipeline) checkPlatforms(ctx context.Context, specs []Spec) error {
	if p.Registry == nil || p.DryRun {
		return nil
	}
	for _, s := range specs {
		if !s.Push || len(s.Platforms) == 0 {
			continue
		}
		have, err := p.Registry.Platforms(ctx, s.Refs[0])
		if err != nil {
			return fmt.Errorf("image %s: %w", s.Name, err)
		}
		for _, want := range s.Platforms {
			if !slices.Contains(have, want) {
				return fmt.Errorf("image %s: %s runs on %s, not %s (build.platforms in deploy.hcl): it was built for another machine; delete the tag and build it again, or deploy another commit",
					s.Name, s.Refs[0], strings.Join(have, ", "), want)
			}
		}
	}
	return nil
}

// withOutput gives a builder its own writer so concurrent builds do not
// interleave mid-line.
func withOutput(b Builder, w io.Writer) Builder {
	switch v := b.(type) {
	case Buildah:
		v.Out = w
		return v
	case Buildx:
		v.Out = w
		return v
	}
	return b
}

// singleCacheWriter lets only the first of the images being built write a
// given cache repository. Concurrent builds writing the same cache keys
// race: each pushes its own image for a shared step, and a later build
// finds a parent chain that does not match and ignores the cache. The
// first image (app) builds every shared stage, so its cache serves both.
func singleCacheWriter(specs []Spec, todo []int) []Spec {
	out := append([]Spec(nil), specs...)
	writing := map[string]bool{}
	for _, i := range todo {
		if c := out[i].CacheTo; c != "" {
			if writing[c] {
				out[i].CacheTo = ""
			}
			writing[c] = true
		}
	}
	return out
}

// Redacting wraps w so that the values of secrets never pass through it;
// the pipeline writes whole lines, so a value is never split across writes.
func Redacting(w io.Writer, secrets map[string]string) io.Writer {
	var values []string
	for _, v := range secrets {
		if len(v) >= 4 { // shorter values would mask ordinary text
			values = append(values, v)
		}
	}
	if len(values) == 0 {
		return w
	}
	return redactor{w: w, values: values}
}

type redactor struct {
	w      io.Writer
	values []string
}

func (r redactor) Write(p []byte) (int, error) {
	s := string(p)
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, "<redacted>")
	}
	if _, err := io.WriteString(r.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}
