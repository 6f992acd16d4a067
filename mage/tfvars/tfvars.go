package tfvars

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/railsecs/deploykit/mage/atomicfile"
	"github.com/railsecs/deploykit/mage/internal/hclerr"
)

// Path names a value in a tfvars file: a top-level attribute, or a key
// inside a top-level object literal.
type Path struct {
	Name string
	Key  string // empty for a top-level attribute
}

func (p Path) String() string {
	if p.Key == "" {
		return p.Name
	}
	if hclsyntax.ValidIdentifier(p.Key) {
		return p.Name + "." + p.Key
	}
	return p.Name + "." + fmt.Sprintf("%q", p.Key)
}

// ParsePath reads "name", "name.key" or `name."key"`.
func ParsePath(s string) (Path, error) {
	name, rest, dotted := strings.Cut(s, ".")
	if !hclsyntax.ValidIdentifier(name) {
		return Path{}, fmt.Errorf("tfvars path %q: %q is not a valid attribute name", s, name)
	}
	if !dotted {
		return Path{Name: name}, nil
	}
	key := rest
	if strings.HasPrefix(rest, `"`) {
		if len(rest) < 2 || !strings.HasSuffix(rest, `"`) {
			return Path{}, fmt.Errorf("tfvars path %q: unterminated quoted key", s)
		}
		key = rest[1 : len(rest)-1]
		if strings.ContainsAny(key, `"\`) {
			return Path{}, fmt.Errorf("tfvars path %q: quoted keys may not contain quotes or backslashes", s)
		}
	} else if !hclsyntax.ValidIdentifier(key) {
		return Path{}, fmt.Errorf("tfvars path %q: key %q must be an identifier or quoted", s, key)
	}
	if key == "" {
		return Path{}, fmt.Errorf("tfvars path %q: empty key", s)
	}
	return Path{Name: name, Key: key}, nil
}

// Change describes what Set did.
type Change struct {
	Path    Path
	Old     string // previous value when it was a plain string literal
	OldText string // previous expression exactly as written; empty when added
	New     string
	Added   bool
	Line    int // line of the value in the new file
}

// Changed reports whether the file content differs after the edit.
func (c Change) Changed() bool { return c.Added || c.OldText != quote(c.New) }

func (c Change) String() string {
	switch {
	case c.Added:
		return fmt.Sprintf("%s: added %q", c.Path, c.New)
	case !c.Changed():
		return fmt.Sprintf("%s: already %q", c.Path, c.New)
	case c.Old != "" || c.OldText == `""`:
		return fmt.Sprintf("%s: %q -> %q", c.Path, c.Old, c.New)
	default:
		return fmt.Sprintf("%s: %s -> %q", c.Path, c.OldText, c.New)
	}
}

// Set returns src with the value at path set to the string value. Nothing
// outside the replaced expression changes; a missing attribute or key is
// added. src that does not parse is refused with the HCL diagnostics.
func Set(src []byte, filename string, path Path, value string) ([]byte, Change, error) {
	if strings.HasSuffix(filename, ".json") {
		return nil, Change{}, fmt.Errorf("%s: JSON tfvars are not supported: keep the image tags in an HCL file (e.g. images.auto.tfvars)", filename)
	}
	if !utf8.ValidString(value) || !utf8.ValidString(path.Key) {
		return nil, Change{}, fmt.Errorf("set %s in %s: value and key must be valid UTF-8", path, filename)
	}
	body, err := parse(src, filename)
	if err != nil {
		return nil, Change{}, err
	}
	change := Change{Path: path, New: value}
	lit := quote(value)

	attr, ok := body.Attributes[path.Name]
	if !ok {
		var insert string
		if path.Key == "" {
			insert = path.Name + " = " + lit + "\n"
		} else {
			insert = path.Name + " = {\n  " + keyText(path.Key) + " = " + lit + "\n}\n"
		}
		out, at := appendAtEnd(src, insert)
		change.Added = true
		change.Line = lineAt(out, at) + boolInt(path.Key != "")
		return out, change, nil
	}

	if path.Key == "" {
		return replace(src, attr.Expr.Range(), lit, change)
	}

	obj, ok := attr.Expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil, Change{}, fmt.Errorf("%s: %s is not an object literal, so %s cannot be set in it",
			hclerr.Pos(attr.Expr.Range()), path.Name, path)
	}
	var found *hclsyntax.ObjectConsItem
	for i := range obj.Items {
		item := &obj.Items[i]
		key, ok := itemKey(item)
		if !ok || key != path.Key {
			continue
		}
		if found != nil {
			return nil, Change{}, fmt.Errorf("%s: key %q appears twice in %s (also at %s)",
				hclerr.Pos(item.KeyExpr.Range()), path.Key, path.Name, hclerr.Pos(found.KeyExpr.Range()))
		}
		found = item
	}
	if found != nil {
		return replace(src, found.ValueExpr.Range(), lit, change)
	}
	out, at := insertKey(src, obj, path.Key, lit)
	change.Added = true
	change.Line = lineAt(out, at)
	return out, change, nil
}

// Get returns the string value at path. ok is false when the attribute or
// key is absent; a value that is not a plain string is an error.
func Get(src []byte, filename string, path Path) (value string, ok bool, err error) {
	body, err := parse(src, filename)
	if err != nil {
		return "", false, err
	}
	attr, found := body.Attributes[path.Name]
	if !found {
		return "", false, nil
	}
	expr := attr.Expr
	if path.Key != "" {
		obj, isObj := attr.Expr.(*hclsyntax.ObjectConsExpr)
		if !isObj {
			return "", false, fmt.Errorf("%s: %s is not an object literal", hclerr.Pos(attr.Expr.Range()), path.Name)
		}
		expr = nil
		for i := range obj.Items {
			if key, keyOK := itemKey(&obj.Items[i]); keyOK && key == path.Key {
				expr = obj.Items[i].ValueExpr
			}
		}
		if expr == nil {
			return "", false, nil
		}
	}
	s, isString := literalString(expr)
	if !isString {
		return "", false, fmt.Errorf("%s: %s is not a string literal", hclerr.Pos(expr.Range()), path)
	}
	return s, true, nil
}

// SetFile edits the file at filename in place, atomically, keeping its mode.
// On any error the file is left as it was.
func SetFile(filename string, path Path, value string) (Change, error) {
	src, err := os.ReadFile(filename)
	if err != nil {
		return Change{}, fmt.Errorf("read tfvars: %w", err)
	}
	out, change, err := Set(src, filename, path, value)
	if err != nil {
		return Change{}, err
	}
	if !change.Changed() {
		return change, nil
	}
	if err := atomicfile.Write(filename, out, 0o644); err != nil {
		return Change{}, err
	}
	return change, nil
}

// GetFile reads the string value at path from a file.
func GetFile(filename string, path Path) (string, bool, error) {
	src, err := os.ReadFile(filename)
	if err != nil {
		return "", false, fmt.Errorf("read tfvars: %w", err)
	}
	return Get(src, filename, path)
}

func parse(src []byte, filename string) (*hclsyntax.Body, error) {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if err := hclerr.Error(diags); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filename, err)
	}
	body, ok := file.Body.(*hclsyntax.Body)
	if !ok {
		return nil, errors.New("parse " + filename + ": unexpected body type")
	}
	if len(body.Blocks) > 0 {
		b := body.Blocks[0]
		return nil, fmt.Errorf("%s: a tfvars file holds only attributes, found block %q", hclerr.Pos(b.TypeRange), b.Type)
	}
	return body, nil
}

func replace(src []byte, r hcl.Range, lit string, change Change) ([]byte, Change, error) {
	old := src[r.Start.Byte:r.End.Byte]
	change.OldText = string(old)
	if s, ok := literalStringBytes(old, r.Filename); ok {
		change.Old = s
	}
	out := make([]byte, 0, len(src)-len(old)+len(lit))
	out = append(out, src[:r.Start.Byte]...)
	out = append(out, lit...)
	out = append(out, src[r.End.Byte:]...)
	change.Line = r.Start.Line
	return out, change, nil
}

// insertKey adds `key = lit` as the last item of obj, following the
// object's own layout: one item per line, or all on one line.
func insertKey(src []byte, obj *hclsyntax.ObjectConsExpr, key, lit string) ([]byte, int) {
	closeAt := obj.SrcRange.End.Byte - 1 // the "}"
	openAt := obj.OpenRange.Start.Byte
	item := keyText(key) + " = " + lit
	multiLine := strings.Contains(string(src[openAt:closeAt]), "\n")

	if !multiLine {
		inner := strings.TrimSpace(string(src[openAt+1 : closeAt]))
		var ins string
		switch {
		case inner == "":
			return splice(src, openAt+1, closeAt, " "+item+" "), openAt + 1
		case strings.HasSuffix(inner, ","):
			ins = " " + item + ","
		default:
			ins = ", " + item
		}
		at := lastItemEnd(src, obj)
		if strings.HasSuffix(inner, ",") {
			at += strings.IndexByte(string(src[at:closeAt]), ',') + 1
		}
		return splice(src, at, at, ins), at
	}

	lineStart := strings.LastIndexByte(string(src[:closeAt]), '\n') + 1
	closeIndent := string(src[lineStart:closeAt])
	indent := closeIndent + "  "
	if n := len(obj.Items); n > 0 {
		last := obj.Items[n-1].KeyExpr.Range()
		indent = lineIndent(src, last.Start.Byte)
		item = alignEquals(src, obj.Items[n-1], indent, keyText(key)) + " = " + lit
	}
	if strings.TrimSpace(closeIndent) == "" {
		ins := indent + item + "\n"
		return splice(src, lineStart, lineStart, ins), lineStart
	}
	// The closing brace shares a line with the last item.
	at := lastItemEnd(src, obj)
	return splice(src, at, at, "\n"+indent+item), at + 1
}

// alignEquals pads key so its "=" lines up with the previous item's, as
// terraform fmt would, when that item sits at the same indentation.
func alignEquals(src []byte, prev hclsyntax.ObjectConsItem, indent, key string) string {
	prevKey := prev.KeyExpr.Range()
	lineStart := strings.LastIndexByte(string(src[:prevKey.Start.Byte]), '\n') + 1
	rest := string(src[prevKey.Start.Byte:prev.ValueExpr.Range().Start.Byte])
	eq := strings.IndexByte(rest, '=')
	if eq < 0 {
		return key
	}
	col := prevKey.Start.Byte - lineStart + len(strings.TrimRight(rest[:eq], " \t"))
	width := col - len(indent)
	if len(key) < width && strings.HasSuffix(rest[:eq], " ") {
		return key + strings.Repeat(" ", width-len(key))
	}
	return key
}

func lastItemEnd(src []byte, obj *hclsyntax.ObjectConsExpr) int {
	if len(obj.Items) == 0 {
		return obj.OpenRange.End.Byte
	}
	return obj.Items[len(obj.Items)-1].ValueExpr.Range().End.Byte
}

func lineIndent(src []byte, at int) string {
	lineStart := strings.LastIndexByte(string(src[:at]), '\n') + 1
	prefix := string(src[lineStart:at])
	return prefix[:len(prefix)-len(strings.TrimLeft(prefix, " \t"))]
}

func appendAtEnd(src []byte, insert string) ([]byte, int) {
	out := append([]byte{}, src...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	at := len(out)
	return append(out, insert...), at
}

func splice(src []byte, from, to int, ins string) []byte {
	out := make([]byte, 0, len(src)+len(ins))
	out = append(out, src[:from]...)
	out = append(out, ins...)
	return append(out, src[to:]...)
}

func itemKey(item *hclsyntax.ObjectConsItem) (string, bool) {
	expr := item.KeyExpr
	if k, ok := expr.(*hclsyntax.ObjectConsKeyExpr); ok {
		if !k.ForceNonLiteral {
			if kw := hcl.ExprAsKeyword(k.Wrapped); kw != "" {
				return kw, true
			}
		}
		expr = k.Wrapped
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

func literalString(expr hclsyntax.Expression) (string, bool) {
	if _, ok := expr.(*hclsyntax.TemplateExpr); !ok {
		return "", false
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

func literalStringBytes(text []byte, filename string) (string, bool) {
	expr, diags := hclsyntax.ParseExpression(text, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return "", false
	}
	return literalString(expr)
}

func quote(s string) string {
	return string(hclwrite.TokensForValue(cty.StringVal(s)).Bytes())
}

func keyText(key string) string {
	if hclsyntax.ValidIdentifier(key) {
		return key
	}
	return quote(key)
}

func lineAt(src []byte, at int) int {
	return strings.Count(string(src[:at]), "\n") + 1
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
