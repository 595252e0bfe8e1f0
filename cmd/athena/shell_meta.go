package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

const shellHelp = `Backslash commands:
  \d              list tables and views
  \d TABLE        describe a table: columns, types, nullability, defaults, keys
  \x [on|off]     toggle expanded rows (one "column | value" block per row)
  \c CLIENT       switch to another client of the gateway
  \timing [on|off] toggle showing how long each statement took
  \watch [N]      re-run the last statement every N seconds (default 2) until Ctrl-C
  \conninfo       show the gateway URL and client
  \q              quit (Ctrl-D too)
  \?              this help
Statements end at ';' and may span lines. Ctrl-C cancels a running statement,
or discards the statement being typed.
`

// meta runs a backslash command; quit reports \q.
func (sh *shell) meta(line string) (quit bool, err error) {
	fields := strings.Fields(line)
	cmd, args := fields[0], fields[1:]
	switch cmd {
	case `\q`, `\quit`:
		return true, nil
	case `\?`, `\h`, `\help`:
		fmt.Fprint(sh.out, shellHelp)
	case `\x`:
		sh.expanded, err = toggle(sh.expanded, args, "expanded display")
		if err == nil {
			fmt.Fprintf(sh.out, "Expanded display is %s.\n", onOff(sh.expanded))
		}
	case `\timing`:
		sh.timing, err = toggle(sh.timing, args, "timing")
		if err == nil {
			fmt.Fprintf(sh.out, "Timing is %s.\n", onOff(sh.timing))
		}
	case `\c`, `\connect`:
		if len(args) != 1 {
			return false, errors.New(`\c needs a client name: \c CLIENT`)
		}
		return false, sh.switchClient(args[0])
	case `\conninfo`:
		fmt.Fprintf(sh.out, "Connected to %s, client %q%s.\n", sh.s.URL, sh.client, sh.kindNote())
	case `\d`, `\dt`:
		if len(args) > 1 {
			return false, errors.New(`\d takes at most one table name`)
		}
		if len(args) == 0 {
			return false, sh.listTables()
		}
		return false, sh.describe(args[0])
	case `\watch`:
		every := 2 * time.Second
		if len(args) > 0 {
			secs, perr := strconv.ParseFloat(args[0], 64)
			if perr != nil || secs <= 0 {
				return false, fmt.Errorf(`\watch: interval %q is not a positive number of seconds`, args[0])
			}
			every = time.Duration(secs * float64(time.Second))
		}
		if sh.lastSQL == "" {
			return false, errors.New(`\watch: no statement to watch yet; run one first`)
		}
		return false, sh.watch(sh.lastSQL, every)
	default:
		return false, fmt.Errorf(`invalid command %s; \? lists the commands`, cmd)
	}
	return false, err
}

// toggle flips a setting, or sets it from "on"/"off".
func toggle(cur bool, args []string, what string) (bool, error) {
	if len(args) == 0 {
		return !cur, nil
	}
	switch strings.ToLower(args[0]) {
	case "on", "true", "1":
		return true, nil
	case "off", "false", "0":
		return false, nil
	}
	return cur, fmt.Errorf("%s: want on or off, got %q", what, args[0])
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// switchClient makes name the client of later statements, if the gateway
// has it.
func (sh *shell) switchClient(name string) error {
	h, err := fetchHealth(sh.ctx, sh.s.URL)
	if err != nil {
		return fmt.Errorf(`\c: could not list the gateway's clients: %w`, err)
	}
	kind := h.clientKind(name)
	if kind == "" {
		return fmt.Errorf(`\c: the gateway has no client %q (it has %s)`, name, clientNames(h))
	}
	sh.client, sh.kind, sh.lastSQL = name, kind, ""
	fmt.Fprintf(sh.out, "You are now on client %q%s.\n", name, sh.kindNote())
	return nil
}
