package schema

// SQLiteDSN is the database/sql DSN (driver "sqlite") of a SQLite
// control-plane file at path: a 30 s busy timeout (a writer waits for the
// one write lock rather than failing a deferral with 503 while the workers,
// log writers and admin calls hold it in turn on a loaded machine), WAL, and
// transactions
// that take SQLite's write lock when they begin (_txlock=immediate) — a
// transaction that read first and then wrote would fail at once with
// "database is locked" beside the log writers, since the busy timeout
// cannot help a lock upgrade.
func SQLiteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_txlock=immediate"
}
