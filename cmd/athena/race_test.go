//go:build race

package main

// raceEnabled builds the binary the CLI tests run with -race too, so a race
// in a client command or the server it talks to fails them.
const raceEnabled = true
