package wss

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzOriginPolicy feeds arbitrary Origin headers to the upgrade's origin
// check: it never panics, admits the server's own origin and loopback
// pages only as configured, and every refusal names the config key that
// would allow it.
func FuzzOriginPolicy(f *testing.F) {
	for _, s := range []string{"", "null", "http://localhost:5173", "http://127.0.0.1", "http://[::1]:3000", "https://app.example.com",
		"http://localhost.evil.test", "http://[::1", "%zz", "http://user@localhost:1/x?y#z", "file://", "http://LOCALHOST:9", "ws://h:1"} {
		f.Add(s)
	}
	p, err := newOriginPolicy([]string{"https://*.example.com", "localhost:*"}, false, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	lp, err := newOriginPolicy(nil, true, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, origin string) {
		r := httptest.NewRequest("GET", "http://gw.test:4052/wss/gateway", nil)
		r.Header.Set("Origin", origin)
		for _, pol := range []*originPolicy{p, lp} {
			err := pol.allow(r)
			if origin == "" && err != nil {
				t.Fatalf("no Origin refused: %v", err)
			}
			if err != nil && !strings.Contains(err.Error(), "wss.allowed_origins") {
				t.Fatalf("refusal does not name the key: %v", err)
			}
		}
		if err := lp.allow(r); err == nil && origin != "" && origin != "http://gw.test:4052" {
			host := strings.ToLower(origin)
			if !strings.Contains(host, "localhost") && !strings.Contains(host, "127.0.0.1") && !strings.Contains(host, "::1") && !strings.Contains(host, "gw.test:4052") {
				t.Fatalf("loopback policy admitted %q", origin)
			}
		}
	})
}
