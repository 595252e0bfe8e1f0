package console_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/athena-go/athena/console"
)

// TestClientCopyIsCurrent fails when web/client is not a byte-for-byte copy
// of clients/js/dist/*.js (run `make console`): the console must run the
// client the repository ships.
func TestClientCopyIsCurrent(t *testing.T) {
	dist, err := filepath.Glob(filepath.Join("..", "clients", "js", "dist", "*.js"))
	if err != nil || len(dist) == 0 {
		t.Fatalf("no clients/js/dist/*.js (%v)", err)
	}
	files := console.Files()
	want := map[string]bool{}
	for _, p := range dist {
		name := filepath.Base(p)
		want[name] = true
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fs.ReadFile(files, "client/"+name)
		if err != nil || !bytes.Equal(src, got) {
			t.Errorf("console/web/client/%s is stale or missing (%v): run make console", name, err)
		}
	}
	copied, err := fs.ReadDir(files, "client")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range copied {
		if !want[e.Name()] {
			t.Errorf("console/web/client/%s is not in clients/js/dist: run make console", e.Name())
		}
	}
}

var (
	// importRe finds the module specifiers of static imports and exports.
	importRe = regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]`)
	// refRe finds src= and href= values in HTML.
	refRe = regexp.MustCompile(`(?:src|href)="([^"]*)"`)
	// foreignRe finds absolute URLs and protocol-relative ones.
	foreignRe = regexp.MustCompile(`(?i)(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
)

// TestSelfContained checks the console loads nothing from another origin:
// every import resolves to an embedded file, index.html references only
// embedded files (or a data: URL), and no file names a foreign URL, an
// inline script or an inline style.
func TestSelfContained(t *testing.T) {
	files := console.Files()
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		text := string(b)
		if m := foreignRe.FindString(text); m != "" && !strings.HasPrefix(p, "client/") {
			t.Errorf("%s names a foreign URL %q", p, m)
		}
		switch filepath.Ext(p) {
		case ".js":
			for _, m := range importRe.FindAllStringSubmatch(text, -1) {
				spec := m[1] + m[2]
				if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
					t.Errorf("%s imports %q: only relative imports of embedded files", p, spec)
					continue
				}
				target := filepath.ToSlash(filepath.Join(filepath.Dir(p), spec))
				if _, err := fs.Stat(files, target); err != nil {
					t.Errorf("%s imports %q, which is not embedded", p, spec)
				}
			}
		case ".html":
			if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(text) || strings.Contains(text, "<style") || strings.Contains(text, " style=") {
				t.Errorf("%s has an inline script or style (the CSP forbids them)", p)
			}
			for _, m := range refRe.FindAllStringSubmatch(text, -1) {
				ref := m[1]
				switch {
				case strings.HasPrefix(ref, "data:"), strings.HasPrefix(ref, "#"):
				case strings.HasPrefix(ref, "/console/"):
					if _, err := fs.Stat(files, strings.TrimPrefix(ref, "/console/")); err != nil {
						t.Errorf("%s references %q, which is not embedded", p, ref)
					}
				default:
					t.Errorf("%s references %q: only /console/ files", p, ref)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
