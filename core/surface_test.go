package core_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestGatewaySurface: Gateway keeps at most 20 exported methods (the
// engine's surface; admin, jobs, live and the rest live in subsystems).
// Test-only helpers in *_test.go files do not count.
func TestGatewaySurface(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var methods []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || !fn.Name.IsExported() || len(fn.Recv.List) != 1 {
				continue
			}
			if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); ok {
				if id, ok := star.X.(*ast.Ident); ok && id.Name == "Gateway" {
					methods = append(methods, fn.Name.Name)
				}
			}
		}
	}
	sort.Strings(methods)
	if len(methods) > 20 {
		t.Fatalf("Gateway has %d exported methods, at most 20: %v", len(methods), methods)
	}
	t.Logf("Gateway's %d exported methods: %v", len(methods), methods)
}

// TestFileSize: no source file of core or its sub-packages passes 600
// lines, so a newcomer can read any one of them in a sitting.
func TestFileSize(t *testing.T) {
	t.Parallel()
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := strings.Count(string(src), "\n"); n > 600 {
			t.Errorf("%s has %d lines, at most 600: split it", path, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
