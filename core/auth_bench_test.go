package core_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL control plane of the batcher benchmark

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/admin"
	"github.com/athena-go/athena/core/backend/sqlite"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/core/usage"
	"github.com/athena-go/athena/internal/controltest"
	"github.com/athena-go/athena/internal/testutil"
	"github.com/athena-go/athena/schema"
)

// keyGateway is a gateway with a SQLite control plane, API keys enforced,
// and one key holding every gateway right.
func keyGateway(tb testing.TB) (*core.Gateway, string) {
	return keyGatewayWith(tb, func(c *sqlstore.Control) core.ControlPlane { return c })
}

// discardLogs is a control plane whose log and statistics writes vanish,
// so a benchmark of the request path does not share the CPU with the
// SQLite writer that would run beside it.
type discardLogs struct{ *sqlstore.Control }

func (discardLogs) InsertAuthAttempts(context.Context, []usage.AuthAttempt) error   { return nil }
func (discardLogs) InsertRequestLogs(context.Context, []usage.RequestLog) error     { return nil }
func (discardLogs) InsertOperationLogs(context.Context, []usage.OperationLog) error { return nil }
func (discardLogs) AddStatistics(context.Context, []usage.ClientStat, []usage.TableStat, time.Time) error {
	return nil
}

func keyGatewayWith(tb testing.TB, wrap func(*sqlstore.Control) core.ControlPlane) (*core.Gateway, string) {
	tb.Helper()
	db := controltest.Open(tb, schema.SQLite)
	gw, err := core.New(tb.Context(), core.Config{
		Clients: []core.ClientSpec{{Name: "local", Kind: "sqlite", Path: filepath.Join(tb.TempDir(), "d.db")}},
		Open: func(ctx context.Context, s core.ClientSpec) (core.Backend, error) {
			return sqlite.New(ctx, sqlite.Config{Path: s.Path})
		},
		Control: wrap(sqlstore.NewControl(db, schema.SQLite)),
	})
	testutil.NoError(tb, err)
	tb.Cleanup(func() { _ = gw.Close() })
	k, err := createKey(tb, gw, `{"name":"bench","rights":["gateway.*"]}`)
	testutil.NoError(tb, err)
	err = enforceKeys(tb, gw)
	testutil.NoError(tb, err)
	return gw, k.APIKey
}

func TestKeyChecks(t *testing.T) {
	t.Parallel()
	gw, key := keyGateway(t)
	tests := []struct {
		name string
		key  string
		ok   bool
	}{
		{"right", key, true},
		{"wrong secret", key[:len(key)-1] + "x", false},
		{"unknown id", "ath_ffffffffffffffff" + key[len("ath_ffffffffffffffff"):], false},
		{"malformed", "nope", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "verified", gw.VerifyKey(tt.key), tt.ok)
			err := gw.Admit(t.Context(), core.Call{Op: core.OpFetch, Client: "local", APIKey: tt.key})
			if tt.ok {
				testutil.NoError(t, err)
			} else {
				testutil.Equal(t, "code", core.CodeOf(err), core.CodeUnauthorized)
			}
		})
	}
}

// BenchmarkVerifyKey: a right and a wrong secret (and an unknown public
// id) cost the same: one HMAC-SHA256 and a constant-time compare.
func BenchmarkVerifyKey(b *testing.B) {
	gw, key := keyGateway(b)
	for _, c := range []struct{ name, key string }{
		{"right", key},
		{"wrong_secret", key[:len(key)-1] + "x"},
		{"unknown_id", "ath_ffffffffffffffff" + key[len("ath_ffffffffffffffff"):]},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				gw.VerifyKey(c.key)
			}
		})
	}
}

// BenchmarkAdmit is what API keys and the catalog add to every call: key
// verification, the right check, the registry lookup, the frozen flag and
// queueing the auth, request and operation log rows and the statistics
// delta. The target is under 5 µs. The writers discard what they get
// (they run on their own goroutines, off the request path).
func BenchmarkAdmit(b *testing.B) {
	gw, key := keyGatewayWith(b, func(c *sqlstore.Control) core.ControlPlane { return discardLogs{c} })
	call := core.Call{Op: core.OpFetch, Client: "local", APIKey: key}
	b.ReportAllocs()
	for b.Loop() {
		if err := gw.Admit(context.Background(), call); err != nil {
			b.Fatal(err)
		}
	}
}

// createKey creates an API key through the admin API from a JSON body.
func createKey(tb testing.TB, gw *core.Gateway, body string) (*admin.CreatedAPIKey, error) {
	tb.Helper()
	req, err := admin.ParseKeyCreate([]byte(body))
	if err != nil {
		return nil, err
	}
	return admin.New(gw).CreateAPIKey(tb.Context(), req)
}

// enforceKeys turns API-key enforcement on through the admin API.
func enforceKeys(tb testing.TB, gw *core.Gateway) error {
	tb.Helper()
	_, err := admin.New(gw).SetAuthConfig(tb.Context(), admin.Enforcement{EnforceAPIKeys: true})
	return err
}
