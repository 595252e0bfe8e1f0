package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// historyMax bounds the lines kept in memory and read back from the file.
const historyMax = 1000

// fileHistory is the shell's line history (golang.org/x/term's History),
// appended to a file in the user's config dir (mode 0600: statements may
// hold data) so the next session can recall it. A line typed before
// Ctrl-C is not kept (skip reports it).
type fileHistory struct {
	path    string
	entries []string // oldest first
	skip    func() bool
}

// loadHistory reads the last historyMax lines of path; a missing or
// unreadable file starts an empty history.
func loadHistory(path string, skip func() bool) *fileHistory {
	h := &fileHistory{path: path, skip: skip}
	f, err := os.Open(path)
	if err != nil {
		return h
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		h.entries = append(h.entries, sc.Text())
		if len(h.entries) > 2*historyMax {
			h.entries = append(h.entries[:0], h.entries[len(h.entries)-historyMax:]...)
		}
	}
	if len(h.entries) > historyMax {
		h.entries = h.entries[len(h.entries)-historyMax:]
	}
	return h
}

// Add keeps a typed line, unless it is blank, repeats the last one, or
// was cut off by Ctrl-C. Failing to write the file loses only history.
func (h *fileHistory) Add(entry string) {
	if strings.TrimSpace(entry) == "" || (h.skip != nil && h.skip()) {
		return
	}
	if n := len(h.entries); n > 0 && h.entries[n-1] == entry {
		return
	}
	h.entries = append(h.entries, entry)
	if len(h.entries) > historyMax {
		h.entries = h.entries[1:]
	}
	if h.path == "" {
		return
	}
	if err := os.MkdirAll(filepath.Dir(h.path), 0o700); err != nil {
		return
	}
	f, err := os.OpenFile(h.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	_, _ = f.WriteString(strings.ReplaceAll(entry, "\n", " ") + "\n")
	_ = f.Close()
}

// Len is the number of lines kept.
func (h *fileHistory) Len() int { return len(h.entries) }

// At returns a line; 0 is the most recent.
func (h *fileHistory) At(idx int) string { return h.entries[len(h.entries)-1-idx] }
