package tfvars

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// FuzzSet checks, for any input that parses, that the output parses, that
// the targeted value reads back as the new string, that every other
// attribute and object item is byte-for-byte what it was, and that the only
// bytes of the input that changed are those of the replaced expression.
//
//	go test ./mage/tfvars -run '^$' -fuzz FuzzSet -fuzztime 60s
func FuzzSet(f *testing.F) {
	seeds := []struct{ src, name, key, value string }{
		{"image_tags = {\n  # c\n  app   = \"a\" # x\n  nginx = \"n\"\n}\n", "image_tags", "app", "b"},
		{"image_tags = {\n  app = \"a\"\n}\n", "image_tags", "nginx", "n"},
		{"image_tags = { app = \"a\", }\n", "image_tags", "web", "w"},
		{"image_tags = {}\n", "image_tags", "app", "${x}"},
		{"a = 1\nb = [1, 2]\n", "c", "", "v"},
		{"a = 1\nb = {\n  \"x-y\" = 2 }", "b", "x-y", "v"},
		{"tag = <<EOT\nhello\nEOT\n", "tag", "", "v"},
		{"t = {\n  a = \"1\"\n  b = \"2\"\n}\n/* end */", "t", "b", "%{q}"},
		{"x = \"y\"", "x", "", "\n"},
	}
	for _, s := range seeds {
		f.Add(s.src, s.name, s.key, s.value)
	}
	f.Fuzz(func(t *testing.T, src, name, key, value string) {
		if !hclsyntax.ValidIdentifier(name) {
			return
		}
		p := Path{Name: name, Key: key}
		before, diags := hclsyntax.ParseConfig([]byte(src), "in.tfvars", hcl.InitialPos)
		out, change, err := Set([]byte(src), "in.tfvars", p, value)
		if diags.HasErrors() {
			if err == nil {
				t.Fatalf("input does not parse but Set succeeded")
			}
			return
		}
		if err != nil {
			return // refused (blocks, not an object, duplicate key): nothing written
		}
		after, diags := hclsyntax.ParseConfig(out, "out.tfvars", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("output does not parse: %v\n--- in\n%s\n--- out\n%s", diags, src, out)
		}
		got, ok, err := Get(out, "out.tfvars", p)
		if err != nil || !ok || got != value {
			t.Fatalf("targeted value reads back as %q, %v, %v; want %q\n--- out\n%s", got, ok, err, value, out)
		}

		inBody := before.Body.(*hclsyntax.Body)
		outBody := after.Body.(*hclsyntax.Body)
		for attrName, inAttr := range inBody.Attributes {
			outAttr, ok := outBody.Attributes[attrName]
			if !ok {
				t.Fatalf("attribute %s disappeared", attrName)
			}
			if attrName != name {
				assertSameText(t, []byte(src), inAttr.Expr, out, outAttr.Expr)
				continue
			}
			if key == "" {
				continue
			}
			inObj := inAttr.Expr.(*hclsyntax.ObjectConsExpr)
			outObj, ok := outAttr.Expr.(*hclsyntax.ObjectConsExpr)
			if !ok {
				t.Fatalf("object %s is no longer an object", name)
			}
			// Items keep their order; an added key can only come last.
			for i, inItem := range inObj.Items {
				if k, ok := itemKey(&inItem); ok && k == key {
					continue
				}
				if i >= len(outObj.Items) {
					t.Fatalf("item %d of %s disappeared\n--- out\n%s", i, name, out)
				}
				outItem := outObj.Items[i]
				if textOf([]byte(src), inItem.KeyExpr.Range()) != textOf(out, outItem.KeyExpr.Range()) {
					t.Fatalf("item %d of %s has a different key now\n--- out\n%s", i, name, out)
				}
				assertSameText(t, []byte(src), inItem.ValueExpr, out, outItem.ValueExpr)
			}
		}

		// Everything but the replaced expression is preserved byte for byte.
		removed := 0
		if !change.Added {
			removed = len(change.OldText)
		}
		prefix := commonPrefix([]byte(src), out)
		suffix := commonSuffix([]byte(src)[prefix:], out[prefix:])
		if prefix+suffix < len(src)-removed {
			t.Fatalf("bytes outside the edited value changed (kept %d+%d of %d, removed %d)\n--- in\n%q\n--- out\n%q",
				prefix, suffix, len(src), removed, src, out)
		}
	})
}

func assertSameText(t *testing.T, src []byte, in hclsyntax.Expression, out []byte, got hclsyntax.Expression) {
	t.Helper()
	a, b := textOf(src, in.Range()), textOf(out, got.Range())
	if a != b {
		t.Fatalf("untargeted value changed: %q -> %q", a, b)
	}
	va, da := in.Value(nil)
	vb, db := got.Value(nil)
	if !da.HasErrors() && !db.HasErrors() && va.IsWhollyKnown() && vb.IsWhollyKnown() && !va.Equals(vb).True() {
		t.Fatalf("untargeted value changed: %#v -> %#v", va, vb)
	}
}

func textOf(src []byte, r hcl.Range) string { return string(src[r.Start.Byte:r.End.Byte]) }

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func commonSuffix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	return n
}
