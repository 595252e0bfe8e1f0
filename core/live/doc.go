// Package live runs live queries (DESIGN.md §4b): a subscriber gives a
// fetch body and receives its current rows, then every change to them,
// pushed, in commit order, resumable after a reconnect.
//
// Evaluation model: a live query is re-run and diffed, not patched. When a
// change source reports that a table changed (Hub.Changed), every live
// query reading that table is evaluated again through the Evaluator the
// hub was given (a fetch, run by core), and the new result is compared
// with the previous one by key: a key that appeared is an insert, one that
// vanished a delete, one whose row differs an update. This is correct for
// any fetch the gateway can run (conditions, or/not, sort+limit windows,
// offsets, aggregates) without the source carrying row images; a row that
// leaves a window is a delete, one that enters it an insert. A query whose
// rows have no usable key (a table or view without a primary key, or a
// column list without the whole key) is served in resync mode: every
// change that alters its result sends the whole result (live.resync).
//
// Cost: identical subscriptions (same client, same normalized body) share
// one live query and one evaluation; a change re-evaluates only the live
// queries reading the tables it names, and a table nobody watches costs
// one map lookup under a read lock. Evaluations of one live query never
// overlap and coalesce: at most one runs and one is pending.
//
// Resume: each live query numbers its events (a sequence from 1) and keeps
// the most recent ones in a bounded ring. A cursor names the hub's epoch
// (one per process), the live query's incarnation and a sequence number; a
// subscription resuming from a cursor gets the events after it replayed
// when this hub still has them all, otherwise the full rows. A live query
// outlives its last subscriber for Config.Linger, so a reconnecting client
// finds its missed events.
//
// Entry points: New builds a Hub; Hub.Bind gives it the Evaluator (core
// does, when it is handed the hub); change sources call Hub.Changed from
// any goroutine; transports call Hub.Subscribe, then Subscription.Start
// once the snapshot reply is written, and Subscription.Stop; Hub.Recheck
// re-authorizes every subscriber after a control-plane change; Hub.Close
// ends everything.
//
// Between nodes, a Relay (relay.go) carries the changes a node observes
// (Config.Publish) over a Broker (Redis pub/sub) to the other nodes' hubs,
// with sequence numbers so a lost message resyncs instead of leaving a gap.
//
// The package never imports core: core implements Evaluator (a small
// adapter) and wires the hub. It holds no pointer to the gateway, speaks
// no transport, and opens no database connection of its own.
package live
