// Package testutil holds the few assertion helpers the tests share. It has no
// dependencies beyond the standard library.
package testutil

import (
	"errors"
	"reflect"
	"strings"
	"testing"
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
