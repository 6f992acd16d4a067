package imageref

import "testing"

func TestParseRef(t *testing.T) {
	digest := "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	cases := []struct {
		in   string
		want Ref
	}{
		{"127.0.0.1:5000/shop/app:abc123", Ref{Registry: "127.0.0.1:5000", Repository: "shop/app", Tag: "abc123"}},
		{"123.dkr.ecr.ap-northeast-1.amazonaws.com/app:v1", Ref{Registry: "123.dkr.ecr.ap-northeast-1.amazonaws.com", Repository: "app", Tag: "v1"}},
		{"127.0.0.1:5000/shop/app", Ref{Registry: "127.0.0.1:5000", Repository: "shop/app"}},
		{"shop/app:abc@" + digest, Ref{Repository: "shop/app", Tag: "abc", Digest: digest}},
		{"registry:5000/app@" + digest, Ref{Registry: "registry:5000", Repository: "app", Digest: digest}},
		{"localhost/shop/nginx:1", Ref{Registry: "localhost", Repository: "shop/nginx", Tag: "1"}},
		{"nginx", Ref{Repository: "nginx"}},
	}
	for _, c := range cases {
		got, err := ParseRef(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			continue
		}
		if s := got.String(); s != c.in {
			t.Errorf("ParseRef(%q).String() = %q", c.in, s)
		}
	}
	for _, bad := range []string{"", ":tag", "app@nodigest", "app:-bad", "host.io/"} {
		if r, err := ParseRef(bad); err == nil {
			t.Errorf("ParseRef(%q) = %+v, want an error", bad, r)
		}
	}
}

func TestRefShortAndTagOf(t *testing.T) {
	digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if got := (Ref{Repository: "app", Digest: digest}).Short(); got != "@sha256:0123456789ab" {
		t.Errorf("Short of a digest-only ref = %q", got)
	}
	if got := (Ref{Repository: "app", Tag: "v1", Digest: digest}).Short(); got != "v1" {
		t.Errorf("Short of a tagged ref = %q", got)
	}
	cases := map[string]string{
		"127.0.0.1:5000/shop/app:abc123": "abc123",
		"127.0.0.1:5000/shop/app":        "",
		"shop/app:abc@sha256:0123":       "abc",
		"registry:5000/app@sha256:0123":  "",
		"not a reference at all:!":       "",
	}
	for ref, want := range cases {
		if got := TagOf(ref); got != want {
			t.Errorf("TagOf(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestPin(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for in, want := range map[string]Pin{"c0ffee000001": {Tag: "c0ffee000001"}, "c0ffee000001@" + digest: {"c0ffee000001", digest}} {
		got, err := ParsePin(in)
		if err != nil || got != want || got.String() != in {
			t.Errorf("ParsePin(%q) = %+v (%q), %v; want %+v", in, got, got.String(), err, want)
		}
	}
	for _, bad := range []string{"", "latest@nope", "-x", "c0ffee@sha256"} {
		if _, err := ParsePin(bad); err == nil {
			t.Errorf("ParsePin(%q) accepted", bad)
		}
	}
	ref, _ := ParseRef("127.0.0.1:5000/shop/app:old")
	if got := ref.At(Pin{"c0ffee000001", digest}).String(); got != "127.0.0.1:5000/shop/app:c0ffee000001@"+digest {
		t.Errorf("At = %s", got)
	}
	if p := (Ref{Repository: "shop/app", Tag: "t1", Digest: digest}).Pin(); p != (Pin{"t1", digest}) {
		t.Errorf("Pin = %+v", p)
	}
}
