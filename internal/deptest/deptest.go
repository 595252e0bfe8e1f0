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

// CheckDirect fails tb when pkg itself imports a banned import path (or a
// package below it). Unlike Check it ignores what dependencies import: use
// it for a rule about pkg's own code, such as "no HTTP handlers in core",
// where a dependency (client_golang's exposition code) legitimately pulls
// the package in.
func CheckDirect(tb testing.TB, pkg string, banned map[string]string) {
	tb.Helper()
	out, err := exec.Command("go", "list", "-f", "{{join .Imports \"\\n\"}}", pkg).Output()
	if err != nil {
		tb.Fatalf("go list %s: %v", pkg, err)
	}
	for _, imp := range strings.Fields(string(out)) {
		for prefix, why := range banned {
			if imp == prefix || strings.HasPrefix(imp, prefix+"/") {
				tb.Errorf("%s imports %s: %s", pkg, imp, why)
			}
		}
	}
}

// Module is the import path of this repository's module.
const Module = "github.com/athena-go/athena"

// CheckOurs fails tb when pkg depends, directly or transitively, on a
// package of this module other than itself and the ones allowed lists
// (import paths, each with the reason it is allowed). It states a layer's
// rule positively: "core/jobs may use core/vocab and nothing else of ours".
func CheckOurs(tb testing.TB, pkg string, allowed map[string]string) {
	tb.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).Output()
	if err != nil {
		tb.Fatalf("go list -deps %s: %v", pkg, err)
	}
	self, err := exec.Command("go", "list", "-f", "{{.ImportPath}}", pkg).Output()
	if err != nil {
		tb.Fatalf("go list %s: %v", pkg, err)
	}
	me := strings.TrimSpace(string(self))
	for _, imp := range strings.Fields(string(out)) {
		if imp == me || (imp != Module && !strings.HasPrefix(imp, Module+"/")) {
			continue
		}
		if _, ok := allowed[imp]; !ok {
			tb.Errorf("%s imports %s: only %s of this module are allowed here", me, imp, keys(allowed))
		}
	}
}

func keys(m map[string]string) string {
	out := make([]string, 0, len(m))
	for k, why := range m {
		out = append(out, strings.TrimPrefix(k, Module+"/")+" ("+why+")")
	}
	return strings.Join(out, ", ")
}

// CheckImporters fails tb when a package of this module other than those
// allowed lists (import paths or prefixes, each with the reason) imports
// pkg directly. Test files are not counted: tests may reach any layer.
func CheckImporters(tb testing.TB, pkg string, allowed map[string]string) {
	tb.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}:{{join .Imports \",\"}}", Module+"/...").Output()
	if err != nil {
		tb.Fatalf("go list %s/...: %v", Module, err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		importer, imports, _ := strings.Cut(line, ":")
		if importer == pkg || !containsWord(imports, pkg) {
			continue
		}
		ok := false
		for prefix := range allowed {
			if importer == prefix || strings.HasPrefix(importer, prefix+"/") {
				ok = true
			}
		}
		if !ok {
			tb.Errorf("%s imports %s: only %s may", importer, pkg, keys(allowed))
		}
	}
}

func containsWord(list, w string) bool {
	for _, s := range strings.Split(list, ",") {
		if s == w {
			return true
		}
	}
	return false
}
