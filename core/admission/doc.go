// Package admission is fixed-window admission control (DESIGN.md §6):
// request counters per window, global and per client, kept in memory or in a
// Counter that several nodes share (Redis), with a fallback to memory while
// the shared one fails. A Limiter checks a call, says whether it may be
// deferred instead of refused, builds the rate_limited refusal with its
// Retry-After, and records every decision that is not a plain admit.
//
// core asks the Limiter before running a call; admission never imports core
// and never runs or defers a call itself.
package admission
