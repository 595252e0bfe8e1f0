package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/athena-go/athena/core"
	msqlite "modernc.org/sqlite"
)

// The policy every data connection runs under (DESIGN.md §8a): raw SQL may
// not reach another file, change the connection's or the file's settings, or
// load code. Three layers enforce it, each on its own:
//
//   - SQLite's defensive mode (SQLITE_DBCONFIG_DEFENSIVE, the _defensive DSN
//     parameter): no writable_schema, no writes to shadow tables or
//     sqlite_dbpage, nothing that can corrupt the file on purpose;
//   - sqlite3_limit(SQLITE_LIMIT_ATTACHED, 0) on the connection before raw
//     SQL runs: SQLite itself cannot attach a database, so ATTACH and VACUUM
//     (which attaches its output) fail inside the engine whatever the text;
//   - an authorizer (sqlite3_set_authorizer) on every connection, which sees
//     each action as SQLite compiles it, whatever the spelling: it denies
//     ATTACH, DETACH, VACUUM, load_extension and every PRAGMA outside a
//     read-only list, and while a raw query classified as read runs, every
//     write. It also reports what it denied, so the refusal names it.
//
// The classifier (script.go) refuses the same statements before anything
// runs, with a precise message; the engine-level layers are what make the
// rule hold when the classifier is wrong.

// objectPragmas read something about a named table or index; their
// argument is that name, not a setting.
var objectPragmas = map[string]bool{
	"table_info": true, "table_xinfo": true, "index_list": true, "index_info": true,
	"index_xinfo": true, "foreign_key_list": true, "foreign_key_check": true,
	"integrity_check": true, "quick_check": true, "table_list": true,
}

// readPragmas report a fact and have no setter, so they are allowed bare
// only. Pragmas that can be set are refused even bare: the authorizer sees
// an empty-string value ("PRAGMA foreign_keys = ”") exactly as no value,
// and such an assignment changes the setting. Pragmas that act even bare
// (optimize, wal_checkpoint, shrink_memory, incremental_vacuum) and those
// that reveal the server's file layout (database_list) are not here.
var readPragmas = map[string]bool{
	"collation_list": true, "compile_options": true, "data_version": true,
	"freelist_count": true, "function_list": true, "module_list": true,
	"page_count": true, "pragma_list": true,
}

// pragmaAllowed reports whether PRAGMA name (with an argument when hasArg)
// leaves the connection and the file as they were.
func pragmaAllowed(name string, hasArg bool) bool {
	name = strings.ToLower(name)
	return objectPragmas[name] || !hasArg && readPragmas[name]
}

// deniedFunctions may not be called from raw SQL: load_extension loads
// native code (SQLite refuses it unless enabled; this is the second lock),
// fts3_tokenizer with two arguments installs a tokenizer by pointer.
var deniedFunctions = map[string]bool{"load_extension": true, "fts3_tokenizer": true}

// decide is the baseline policy: whether SQLite may compile action, and if
// not, what to call it in the refusal.
func decide(action msqlite.AuthorizerActionCode, arg1, arg2 string) (ok bool, what string) {
	switch action {
	case msqlite.AuthAttach:
		if arg1 == "" {
			return false, "VACUUM"
		}
		return false, "ATTACH (or VACUUM INTO)"
	case msqlite.AuthDetach:
		return false, "DETACH"
	case msqlite.AuthPragma:
		if pragmaAllowed(arg1, arg2 != "") {
			return true, ""
		}
		return false, "PRAGMA " + strings.ToLower(arg1)
	case msqlite.AuthFunction:
		if deniedFunctions[strings.ToLower(arg2)] {
			return false, "function " + strings.ToLower(arg2)
		}
	}
	return true, ""
}

// baseline is the authorizer every connection gets when it opens, and gets
// back after a raw query.
func baseline(action msqlite.AuthorizerActionCode, arg1, arg2, _, _ string) msqlite.AuthorizerReturnCode {
	if ok, _ := decide(action, arg1, arg2); ok {
		return msqlite.AuthorizerOK
	}
	return msqlite.AuthorizerDeny
}

// writeActions change the database; a raw query classified as read may
// compile none of them.
var writeActions = map[msqlite.AuthorizerActionCode]string{
	msqlite.AuthInsert: "INSERT", msqlite.AuthUpdate: "UPDATE", msqlite.AuthDelete: "DELETE",
	msqlite.AuthCreateIndex: "CREATE INDEX", msqlite.AuthCreateTable: "CREATE TABLE",
	msqlite.AuthCreateTrigger: "CREATE TRIGGER", msqlite.AuthCreateView: "CREATE VIEW",
	msqlite.AuthCreateTempIndex: "CREATE INDEX", msqlite.AuthCreateTempTable: "CREATE TABLE",
	msqlite.AuthCreateTempTrigger: "CREATE TRIGGER", msqlite.AuthCreateTempView: "CREATE VIEW",
	msqlite.AuthDropIndex: "DROP INDEX", msqlite.AuthDropTable: "DROP TABLE",
	msqlite.AuthDropTrigger: "DROP TRIGGER", msqlite.AuthDropView: "DROP VIEW",
	msqlite.AuthDropTempIndex: "DROP INDEX", msqlite.AuthDropTempTable: "DROP TABLE",
	msqlite.AuthDropTempTrigger: "DROP TRIGGER", msqlite.AuthDropTempView: "DROP VIEW",
	msqlite.AuthAlterTable: "ALTER TABLE", msqlite.AuthReindex: "REINDEX", msqlite.AuthAnalyze: "ANALYZE",
	msqlite.AuthCreateVTable: "CREATE VIRTUAL TABLE", msqlite.AuthDropVTable: "DROP VIRTUAL TABLE",
	msqlite.AuthTransaction: "a transaction statement", msqlite.AuthSavepoint: "SAVEPOINT",
}

// tempActions create objects in the connection's temp schema, which would
// outlive the query on a pooled connection.
var tempActions = map[msqlite.AuthorizerActionCode]bool{
	msqlite.AuthCreateTempIndex: true, msqlite.AuthCreateTempTable: true,
	msqlite.AuthCreateTempTrigger: true, msqlite.AuthCreateTempView: true,
}

// guard is the authorizer of one raw query: the baseline policy, plus no
// writes when the query runs as a read, and a record of what it saw. It is
// safe for concurrent use.
type guard struct {
	readOnly bool

	// mu guards the fields below.
	mu     sync.Mutex
	denied string // what was refused first; "" when nothing was
	txn    bool   // a transaction statement was compiled
	temp   bool   // a temp object was created
}

func (g *guard) authorize(action msqlite.AuthorizerActionCode, arg1, arg2, dbName, _ string) msqlite.AuthorizerReturnCode {
	ok, what := decide(action, arg1, arg2)
	g.mu.Lock()
	defer g.mu.Unlock()
	if ok && g.readOnly {
		if w, write := writeActions[action]; write {
			if arg1 == "sqlite_master" || arg1 == "sqlite_temp_master" {
				w = "a schema change"
			}
			ok, what = false, w+" in a statement run as a read"
		}
	}
	if !ok {
		if g.denied == "" {
			g.denied = what
		}
		return msqlite.AuthorizerDeny
	}
	switch {
	case action == msqlite.AuthTransaction || action == msqlite.AuthSavepoint:
		g.txn = true
	case tempActions[action]:
		g.temp = true
	case dbName == "temp" && writeActions[action] != "":
		// CREATE TABLE temp.x is a CREATE TABLE in the temp schema.
		g.temp = true
	}
	return msqlite.AuthorizerOK
}

// refusal is the error for what the guard denied, or nil.
func (g *guard) refusal() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.denied == "" {
		return nil
	}
	return refused(g.denied)
}

func (g *guard) state() (txn, temp bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.txn, g.temp
}

// refused is the 400 for a statement the policy does not allow on a data
// client; what names it.
func refused(what string) error {
	return core.Errorf(core.CodeForbiddenStatement,
		"raw SQL refused: %s is not allowed on a data client (no ATTACH, DETACH, VACUUM, load_extension or PRAGMA that changes settings)", what)
}

// setAuthorizer installs fn on the driver connection dc.
func setAuthorizer(dc any, fn msqlite.AuthorizerFn) error {
	ar, ok := dc.(msqlite.AuthorizerRegisterer)
	if !ok {
		return fmt.Errorf("sqlite: driver connection %T has no authorizer", dc)
	}
	return ar.RegisterAuthorizer(fn)
}

// connector opens connections with the baseline authorizer installed, so
// no connection of the pool ever runs without it.
type connector struct{ driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := setAuthorizer(conn, baseline); err != nil {
		return nil, errors.Join(err, conn.Close())
	}
	return conn, nil
}
