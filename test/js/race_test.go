//go:build race

package js_test

// raceEnabled makes sdk_test.go build the server with -race too when the
// tests themselves run under the race detector.
const raceEnabled = true
