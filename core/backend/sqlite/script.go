package sqlite

import (
	"strings"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/sqlq"
)

// classify reads a raw script statement by statement (sqlq.Split: strings,
// quoted identifiers, comments and trigger bodies respected) and reports
// whether any statement may write, so the script takes the write token; a
// script is a read only when every statement is. It refuses, before
// anything runs, a statement the policy forbids (guard.go) and a script
// that leaves a transaction open.
func classify(script string) (write bool, err error) {
	stmts, err := sqlq.Split(script, sqlq.SyntaxSQLite)
	if err != nil {
		return false, err
	}
	var tx txState
	for _, st := range stmts {
		w, err := classifyStmt(st, &tx)
		if err != nil {
			return false, err
		}
		write = write || w
	}
	if tx.open() {
		return false, leftOpen()
	}
	return write, nil
}

// leftOpen is the refusal of a script that would end inside a
// transaction, before anything runs.
func leftOpen() error {
	return core.Errorf(core.CodeForbiddenStatement,
		"raw SQL refused: it leaves a transaction open (BEGIN or SAVEPOINT without COMMIT, RELEASE or ROLLBACK); nothing was run")
}

// leftOpenRolledBack is the refusal of a script that ended inside a
// transaction: what it did in the transaction was rolled back.
func leftOpenRolledBack() error {
	return core.Errorf(core.CodeForbiddenStatement,
		"raw SQL refused: it left a transaction open (BEGIN or SAVEPOINT without COMMIT, RELEASE or ROLLBACK); the transaction was rolled back")
}

// classifyStmt classifies one statement and follows its effect on tx.
func classifyStmt(st string, tx *txState) (write bool, err error) {
	toks := make([]sqlq.Token, 0, 8)
	var prev sqlq.Token
	depth, dml := 0, false
	for t := range sqlq.Tokens(st, sqlq.SyntaxSQLite) {
		if len(toks) < 8 {
			toks = append(toks, t)
		}
		switch {
		case t.Kind == sqlq.TokPunct && t.Text == "(":
			if deniedFunctions[strings.ToLower(prev.Name())] {
				return false, refused("function " + strings.ToLower(prev.Name()))
			}
			depth++
		case t.Kind == sqlq.TokPunct && t.Text == ")":
			depth--
		case depth == 0 && (t.Is("INSERT") || t.Is("UPDATE") || t.Is("DELETE") || t.Is("REPLACE")):
			dml = true
		}
		prev = t
	}
	// A parenthesised select: ((SELECT 1)).
	for len(toks) > 0 && toks[0].Kind == sqlq.TokPunct && toks[0].Text == "(" {
		toks = toks[1:]
	}
	if len(toks) == 0 {
		return false, nil
	}
	// EXPLAIN compiles its statement without running it: the statement
	// decides (taking the token for an explained write is harmless), and
	// the authorizer still sees what it would do.
	explain := toks[0].Is("EXPLAIN")
	if explain {
		toks = toks[1:]
		if len(toks) >= 2 && toks[0].Is("QUERY") && toks[1].Is("PLAN") {
			toks = toks[2:]
		}
		if len(toks) == 0 {
			return false, nil
		}
	}
	first := strings.ToUpper(toks[0].Name())
	switch first {
	case "SELECT", "VALUES":
		return false, nil
	case "WITH":
		// The statement after the common table expressions decides; their
		// bodies are selects, inside parentheses.
		return dml, nil
	}
	if err := forbidden(first, toks); err != nil {
		return false, err
	}
	if first == "PRAGMA" {
		return false, nil // forbidden let only the read-only ones through
	}
	if !explain {
		tx.see(first, toks)
	}
	return true, nil
}

// forbidden refuses the statements the policy forbids by their first word.
func forbidden(first string, toks []sqlq.Token) error {
	switch first {
	case "ATTACH", "DETACH":
		return refused(first)
	case "VACUUM":
		for _, t := range toks {
			if t.Is("INTO") {
				return refused("VACUUM INTO")
			}
		}
		return refused("VACUUM")
	case "PRAGMA":
		name, hasArg := pragmaOf(toks[1:])
		if !pragmaAllowed(name, hasArg) {
			return refused("PRAGMA " + strings.ToLower(name))
		}
	}
	return nil
}

// pragmaOf reads "[schema.]name [= value | (value)]".
func pragmaOf(toks []sqlq.Token) (name string, hasArg bool) {
	if len(toks) >= 3 && toks[1].Kind == sqlq.TokPunct && toks[1].Text == "." {
		toks = toks[2:]
	}
	if len(toks) == 0 {
		return "", false
	}
	return toks[0].Name(), len(toks) > 1
}

// txState follows explicit transactions through a script: BEGIN opens one,
// COMMIT, END and ROLLBACK (without TO) close it, SAVEPOINT outside a
// transaction opens one that RELEASE of its outermost savepoint closes.
// The engine's state after the query is checked too (sqlite.go); this
// refuses the common case before anything runs.
type txState struct {
	begun      bool
	savepoints []string
}

func (s *txState) open() bool { return s.begun || len(s.savepoints) > 0 }

func (s *txState) see(first string, toks []sqlq.Token) {
	switch first {
	case "BEGIN":
		s.begun = true
	case "COMMIT", "END":
		s.begun, s.savepoints = false, nil
	case "ROLLBACK":
		for _, t := range toks[1:] {
			if t.Is("TO") {
				return // ROLLBACK TO keeps the transaction
			}
		}
		s.begun, s.savepoints = false, nil
	case "SAVEPOINT":
		if len(toks) > 1 {
			s.savepoints = append(s.savepoints, strings.ToLower(toks[1].Name()))
		}
	case "RELEASE":
		name := ""
		for _, t := range toks[1:] {
			if !t.Is("SAVEPOINT") {
				name = strings.ToLower(t.Name())
				break
			}
		}
		for i := len(s.savepoints) - 1; i >= 0; i-- {
			if s.savepoints[i] == name {
				s.savepoints = s.savepoints[:i]
				break
			}
		}
	}
}
