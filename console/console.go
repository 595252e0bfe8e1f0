// Package console embeds the browser console that the gateway serves at
// /console (DESIGN.md §4c): a single-page app written as plain ES modules,
// so nothing is built on the serving side and `make run` serves it with no
// Node installed. Its data layer is the public TypeScript client
// (clients/js): web/client/ is a byte-for-byte copy of clients/js/dist/*.js,
// refreshed with `make console` and checked by `make check`.
package console

import (
	"embed"
	"io/fs"
)

//go:embed web
var web embed.FS

// Files returns the console's files: index.html at the root, beside the
// stylesheet, the application modules and client/ (the copy of the
// TypeScript client's built ESM).
func Files() fs.FS {
	sub, err := fs.Sub(web, "web")
	if err != nil {
		panic(err) // "web" is embedded above: cannot happen
	}
	return sub
}
