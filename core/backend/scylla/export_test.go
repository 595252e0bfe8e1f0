package scylla

import "github.com/athena-go/athena/core"

// PagesForTest is the number of pages an iterRows cursor has received.
func PagesForTest(r core.Rows) int { return r.(*iterRows).pages }
