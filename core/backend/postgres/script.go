package postgres

import (
	"strings"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/sqlq"
)

// classify reads a raw script statement by statement (sqlq.Split: strings,
// E” escapes, dollar quotes, quoted identifiers, nested comments and BEGIN
// ATOMIC bodies respected) and refuses, before anything runs, a script that
// leaves a transaction open and PREPARE TRANSACTION, whose prepared
// transaction would outlive the session and keep its locks. The session's
// transaction status after the query is checked too (Query); this refuses
// the common case before anything runs.
func classify(script string) error {
	stmts, err := sqlq.Split(script, sqlq.SyntaxPostgres)
	if err != nil {
		return err
	}
	open := false
	for _, st := range stmts {
		var toks []sqlq.Token
		for t := range sqlq.Tokens(st, sqlq.SyntaxPostgres) {
			if t.Kind == sqlq.TokPunct && t.Text == "(" && len(toks) == 0 {
				continue
			}
			toks = append(toks, t)
			if len(toks) == 4 {
				break
			}
		}
		if len(toks) == 0 {
			continue
		}
		switch strings.ToUpper(toks[0].Name()) {
		case "BEGIN", "START":
			open = true
		case "COMMIT", "END", "ABORT":
			// COMMIT AND CHAIN starts the next transaction at once.
			open = chained(st)
		case "ROLLBACK":
			if len(toks) < 2 || !toks[1].Is("TO") && !(len(toks) > 2 && toks[2].Is("TO")) {
				open = chained(st)
			}
		case "PREPARE":
			if len(toks) > 1 && toks[1].Is("TRANSACTION") {
				return core.Errorf(core.CodeForbiddenStatement,
					"raw SQL refused: PREPARE TRANSACTION is not allowed on a data client (a prepared transaction outlives the session and keeps its locks)")
			}
		}
	}
	if open {
		return leftOpen()
	}
	return nil
}

// chained reports whether a COMMIT or ROLLBACK statement ends with AND
// CHAIN (not AND NO CHAIN).
func chained(st string) bool {
	var prev sqlq.Token
	for t := range sqlq.Tokens(st, sqlq.SyntaxPostgres) {
		if t.Is("CHAIN") && !prev.Is("NO") {
			return true
		}
		prev = t
	}
	return false
}

// leftOpen is the refusal of a script that would end inside a
// transaction, before anything runs.
func leftOpen() error {
	return core.Errorf(core.CodeForbiddenStatement,
		"raw SQL refused: it leaves a transaction open (BEGIN without COMMIT or ROLLBACK); nothing was run")
}

// leftOpenRolledBack is the refusal of a script that ended inside a
// transaction: what it did in the transaction was rolled back.
func leftOpenRolledBack() error {
	return core.Errorf(core.CodeForbiddenStatement,
		"raw SQL refused: it left a transaction open (BEGIN without COMMIT or ROLLBACK); the transaction was rolled back")
}
