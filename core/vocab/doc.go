// Package vocab is the gateway's shared vocabulary: the closed set of error
// codes and the Error type every transport maps, the operation names, the
// Call a transport hands to core, the Result and Envelope it gets back, the
// deferred Job as clients see it, Secret, and the one JSON value appender
// that replies, streams and cached entries are written with.
//
// It is the leaf beneath core and every core subsystem (request, jobs, cache,
// admission, auth, usage, admin): it imports nothing of ours, so a subsystem
// can speak the gateway's types without importing core. It holds values and
// pure functions only: no goroutines, no I/O, no drivers, no transports.
package vocab
