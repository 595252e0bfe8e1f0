// Package testutil holds the few assertion and measuring helpers the tests share. It has no
// dependencies beyond the standard library.
package testutil

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Equal fails the test when got and want are not deeply equal.
func Equal[T any](tb testing.TB, name string, got, want T) {
	tb.Helper()
	if !reflect.DeepEqual(got, want) {
		tb.Fatalf("%s: got %#v, want %#v", name, got, want)
	}
}

// NoError fails the test when err is not nil.
func NoError(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("unexpected error: %v", err)
	}
}

// ErrorIs fails the test when err does not match target.
func ErrorIs(tb testing.TB, err, target error) {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Fatalf("error %v does not match %v", err, target)
	}
}

// Contains fails the test when s does not contain sub.
func Contains(tb testing.TB, name, s, sub string) {
	tb.Helper()
	if !strings.Contains(s, sub) {
		tb.Fatalf("%s: %q does not contain %q", name, s, sub)
	}
}

// WaitFor polls cond every few milliseconds until it holds, and fails the
// test when it has not held within the deadline: a condition, not a
// duration, so a deadline generous for a loaded machine only makes a
// failing test slower.
func WaitFor(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
