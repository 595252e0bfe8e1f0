package athena_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestEveryPackageHasADocComment fails for any package of this module
// without a package comment (STYLE rule 15).
func TestEveryPackageHasADocComment(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-json=ImportPath,Doc,Name", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct{ ImportPath, Doc, Name string }
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no package comment (add a doc.go)", p.ImportPath)
		}
	}
}
