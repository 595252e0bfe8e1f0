// Package deptest enforces the one-way import graph of DESIGN.md §1: a
// package's test lists the imports it must never have, each with the reason,
// and Check fails when one appears among its transitive dependencies.
package deptest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// Check fails tb when pkg (an import path or ".") depends, directly or
// transitively, on a banned import path or any package below it. banned maps
// the import path prefix to the reason, which the failure message shows.
func Check(tb testing.TB, pkg string, banned map[string]string) {
	tb.Helper()
	out, err := exec.Command("go", "list", "-deps", "-json=ImportPath", pkg).Output()
	if err != nil {
		tb.Fatalf("go list -deps %s: %v", pkg, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct{ ImportPath string }
		if err := dec.Decode(&p); err != nil {
			tb.Fatalf("decode go list output: %v", err)
		}
		for prefix, why := range banned {
			if p.ImportPath == prefix || strings.HasPrefix(p.ImportPath, prefix+"/") {
				tb.Errorf("%s imports %s: %s", pkg, p.ImportPath, why)
			}
		}
	}
}
