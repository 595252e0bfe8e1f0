// Package cache is the gateway's read cache for fetches: an in-process tier
// bounded by the bytes of the cached replies, an optional shared tier (KV,
// Redis in production) written through on every miss, per-client and
// per-table generations so a write on one node invalidates cached reads on
// all of them, and single-flight so concurrent misses of one key run once.
//
// core decides what is cacheable and computes a reply's key; Cache.Fetch
// serves it or runs the function it is given. cache never imports core and
// never touches a database.
package cache
