// Package admin is the admin API as a service (DESIGN.md §7): API keys and
// their rights, API-key enforcement (global and per client), the client
// catalog, and the client statistics built from the request logs.
//
// Every call takes a typed request, decoded from a body by this package's
// Parse functions (pure, so transports decode once and hand the value in),
// and returns what the admin routes show; secrets are shown once, at a
// key's creation. Service works on the control plane and the running
// gateway through the small Engine interface that *core.Gateway
// implements. It sits above core: only cmd and rest import it, and core
// never does. It serves no HTTP itself.
package admin
