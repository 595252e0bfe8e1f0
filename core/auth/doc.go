// Package auth is API-key checking (DESIGN.md §7): a Snapshot of the key
// tables, loaded from the control plane and replaced whole on every change,
// answers on the hot path without locks whether a call needs a key and
// whether a key may make it (secret compared in constant time, active,
// unexpired, bound client, rights with wildcards). CheckAdmin guards the
// admin surface.
//
// auth holds no CRUD: creating, changing and revoking keys is the admin
// API's job (core/admin). It never imports core.
package auth
