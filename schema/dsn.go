package schema

// SQLiteDSN is the database/sql DSN (driver "sqlite") of a SQLite
// control-plane file at path: a 5 s busy timeout, WAL, and transactions
// that take SQLite's write lock when they begin (_txlock=immediate) — a
// transaction that read first and then wrote would fail at once with
// "database is locked" beside the log writers, since the busy timeout
// cannot help a lock upgrade.
func SQLiteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate"
}
