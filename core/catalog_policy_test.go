package core_test

import (
	"path/filepath"
	"testing"

	"github.com/athena-go/athena/core"
)

func TestCatalogPolicyCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := core.CatalogPolicy{DataDir: dir, Protected: []string{filepath.Join(dir, "athena.db")},
		AllowedHosts: []string{"db.internal", "pg.example.com:6432", "*.tenants.example.com"}, URIEnvPrefixes: []string{"ATHENA_CLIENT_"}}
	tests := []struct {
		name string
		rec  core.ClientRecord
		ok   bool
	}{
		{"relative file", core.ClientRecord{Kind: "sqlite", Path: "a.db"}, true},
		{"nested file", core.ClientRecord{Kind: "sqlite", Path: "t/a.db"}, true},
		{"absolute inside", core.ClientRecord{Kind: "sqlite", Path: filepath.Join(dir, "b.db")}, true},
		{"dot dot", core.ClientRecord{Kind: "sqlite", Path: "t/../../x.db"}, false},
		{"absolute outside", core.ClientRecord{Kind: "sqlite", Path: "/tmp/x.db"}, false},
		{"data dir itself", core.ClientRecord{Kind: "sqlite", Path: "."}, false},
		{"control plane", core.ClientRecord{Kind: "sqlite", Path: "athena.db"}, false},
		{"control plane shm", core.ClientRecord{Kind: "sqlite", Path: "athena.db-shm"}, false},
		{"allowed host any port", core.ClientRecord{Kind: "postgresql", URI: "postgres://u:p@db.internal:5433/x"}, true},
		{"allowed host and port", core.ClientRecord{Kind: "postgresql", URI: "postgresql://u@pg.example.com:6432/x"}, true},
		{"wrong port", core.ClientRecord{Kind: "postgresql", URI: "postgresql://u@pg.example.com:5432/x"}, false},
		{"wildcard", core.ClientRecord{Kind: "postgresql", URI: "host=a.tenants.example.com dbname=x"}, true},
		{"wildcard is not the apex", core.ClientRecord{Kind: "postgresql", URI: "host=tenants.example.com dbname=x"}, false},
		{"one of several hosts", core.ClientRecord{Kind: "postgresql", URI: "postgres://u@db.internal,evil.com/x"}, false},
		{"host in query", core.ClientRecord{Kind: "postgresql", URI: "postgres:///x?host=evil.com"}, false},
		{"socket", core.ClientRecord{Kind: "postgresql", URI: "host=/tmp dbname=x"}, false},
		{"env prefix", core.ClientRecord{Kind: "postgresql", URIEnv: "ATHENA_CLIENT_A"}, true},
		{"env bare prefix", core.ClientRecord{Kind: "postgresql", URIEnv: "ATHENA_CLIENT_"}, false},
		{"env other", core.ClientRecord{Kind: "postgresql", URIEnv: "AWS_SECRET_ACCESS_KEY"}, false},
		{"scylla allowed", core.ClientRecord{Kind: "scylla", Hosts: []string{"db.internal:9042"}}, true},
		{"scylla other", core.ClientRecord{Kind: "scylla", Hosts: []string{"db.internal", "10.0.0.9"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := p.Check(tt.rec)
			if (err == nil) != tt.ok {
				t.Fatalf("Check(%+v) = %v, want ok=%v", tt.rec, err, tt.ok)
			}
			if err != nil && core.CodeOf(err) != core.CodeBadRequest {
				t.Fatalf("code %s, want bad_request", core.CodeOf(err))
			}
		})
	}
	if (core.CatalogPolicy{}).Check(core.ClientRecord{Kind: "sqlite", Path: "a.db"}) == nil {
		t.Fatal("the zero policy allows a SQLite file")
	}
}
