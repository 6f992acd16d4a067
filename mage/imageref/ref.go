package imageref

import (
	"fmt"
	"regexp"
	"strings"
)

// Ref is an image reference: [registry/]repository[:tag][@digest]. It is
// the one place references are taken apart and put together, so tags and
// digests are read the same way by builds, rollbacks, waits and status.
type Ref struct {
	Registry   string // host[:port]; "" when the reference names none
	Repository string // path inside the registry, e.g. "shop/app"
	Tag        string
	Digest     string // "sha256:<hex>"
}

var digestRE = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)

// ParseRef reads a reference. The first path component is the registry
// when it looks like a host (has a '.' or ':', or is "localhost"), as
// Docker decides it.
func ParseRef(s string) (Ref, error) {
	var r Ref
	rest := s
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		r.Digest, rest = rest[i+1:], rest[:i]
		if !digestRE.MatchString(r.Digest) {
			return Ref{}, fmt.Errorf("image reference %q: digest %q is not algorithm:hex", s, r.Digest)
		}
	}
	if i := strings.LastIndexByte(rest, ':'); i > strings.LastIndexByte(rest, '/') {
		r.Tag, rest = rest[i+1:], rest[:i]
		if !tagRE.MatchString(r.Tag) {
			return Ref{}, fmt.Errorf("image reference %q: tag %q is not a valid tag", s, r.Tag)
		}
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		if first := rest[:i]; strings.ContainsAny(first, ".:") || first == "localhost" {
			r.Registry, rest = first, rest[i+1:]
		}
	}
	if rest == "" {
		return Ref{}, fmt.Errorf("image reference %q names no repository", s)
	}
	r.Repository = rest
	return r, nil
}

// String formats the reference back: registry/repository:tag@digest, each
// part only when set.
func (r Ref) String() string {
	var b strings.Builder
	if r.Registry != "" {
		b.WriteString(r.Registry)
		b.WriteByte('/')
	}
	b.WriteString(r.Repository)
	if r.Tag != "" {
		b.WriteByte(':')
		b.WriteString(r.Tag)
	}
	if r.Digest != "" {
		b.WriteByte('@')
		b.WriteString(r.Digest)
	}
	return b.String()
}

// WithDigest is the same reference pinned to a digest.
func (r Ref) WithDigest(digest string) Ref {
	r.Digest = digest
	return r
}

// Short is what a person reads in a table: the tag, or the start of the
// digest when there is no tag.
func (r Ref) Short() string {
	switch {
	case r.Tag != "":
		return r.Tag
	case r.Digest != "":
		d := r.Digest
		if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
			d = d[:i+13]
		}
		return "@" + d
	default:
		return "(no tag)"
	}
}

// TagOf is the tag of a reference, "" when it has none or cannot be read.
func TagOf(ref string) string {
	r, err := ParseRef(ref)
	if err != nil {
		return ""
	}
	return r.Tag
}

// Pin is what a release pins an image to in the tfvars and its one-off
// tasks: a tag and, once resolved, the digest it had ("tag@sha256:..."),
// so that a moved or re-pushed tag can never change what runs.
type Pin struct {
	Tag    string
	Digest string // "" until the registry resolved the tag
}

// ParsePin reads "tag" or "tag@algorithm:hex".
func ParsePin(s string) (Pin, error) {
	tag, digest, _ := strings.Cut(s, "@")
	if !tagRE.MatchString(tag) {
		return Pin{}, fmt.Errorf("image pin %q: tag %q is not a valid tag", s, tag)
	}
	if digest != "" && !digestRE.MatchString(digest) {
		return Pin{}, fmt.Errorf("image pin %q: digest %q is not algorithm:hex", s, digest)
	}
	return Pin{Tag: tag, Digest: digest}, nil
}

// String is "tag@digest", or the tag alone before it is resolved.
func (p Pin) String() string {
	if p.Digest == "" {
		return p.Tag
	}
	return p.Tag + "@" + p.Digest
}

// Pin is the reference's tag and digest.
func (r Ref) Pin() Pin { return Pin{Tag: r.Tag, Digest: r.Digest} }

// At is the reference with the pin's tag and digest.
func (r Ref) At(p Pin) Ref {
	r.Tag, r.Digest = p.Tag, p.Digest
	return r
}
