package vocab

// Truncate shortens client input quoted in an error message to n bytes,
// marking the cut with an ellipsis, so a message never echoes a huge value.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Plural returns word, with an s unless n is 1 ("1 row", "2 rows").
func Plural(n int64, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
