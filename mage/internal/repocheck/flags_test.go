package repocheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/railsecs/deploykit/mage/internal/testtools"
	"github.com/railsecs/deploykit/mage/targets"
)

// The argument check's flags that take no value (targets.BoolFlags) are
// exactly the *bool parameters of each target in mage/deploykit/deploykit.go: a flag
// added to a signature and not to the table would be taken for a stray
// word's value, and one left in the table after its flag went would be
// accepted as a flag the target does not have.
func TestBoolFlagsMatchTheMagefile(t *testing.T) {
	root := testtools.RepoRoot(t)
	file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, "mage/deploykit/deploykit.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	fromSignatures := map[string][]string{}
	for _, decl := range file.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || !fn.Name.IsExported() {
			continue
		}
		name := strings.ToLower(fn.Name.Name)
		if fn.Recv != nil && len(fn.Recv.List) == 1 {
			if ns, ok := fn.Recv.List[0].Type.(*ast.Ident); ok {
				name = strings.ToLower(ns.Name) + ":" + name
			}
		}
		for _, field := range fn.Type.Params.List {
			star, ok := field.Type.(*ast.StarExpr)
			if !ok {
				continue
			}
			if id, ok := star.X.(*ast.Ident); ok && id.Name == "bool" {
				for _, n := range field.Names {
					fromSignatures[name] = append(fromSignatures[name], strings.ToLower(n.Name))
				}
			}
		}
	}
	if len(fromSignatures) < 10 {
		t.Fatalf("found bool flags in only %d targets of mage/deploykit/deploykit.go: the parse proves nothing", len(fromSignatures))
	}
	for target, flags := range fromSignatures {
		if got := slices.Sorted(slices.Values(targets.BoolFlags[target])); !slices.Equal(got, slices.Sorted(slices.Values(flags))) {
			t.Errorf("%s: mage/deploykit/deploykit.go has bool flags %v, targets.BoolFlags has %v", target, flags, targets.BoolFlags[target])
		}
	}
	for target, flags := range targets.BoolFlags {
		if _, ok := fromSignatures[target]; !ok {
			t.Errorf("targets.BoolFlags names %s with %v, which mage/deploykit/deploykit.go has no bool flags for", target, flags)
		}
	}
}
