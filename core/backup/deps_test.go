package backup_test

import (
	"testing"

	"github.com/athena-go/athena/internal/deptest"
)

// TestImports keeps the service free of drivers and transports: S3, SQLite
// and PostgreSQL live in its adapter packages, which cmd wires.
func TestImports(t *testing.T) {
	t.Parallel()
	deptest.CheckDirect(t, "github.com/athena-go/athena/core/backup", map[string]string{
		"net/http": "core/backup serves no HTTP; the admin routes live in rest",
	})
	deptest.Check(t, "github.com/athena-go/athena/core/backup", map[string]string{
		"github.com/minio/minio-go":                "S3 types stay in core/backup/s3store; the service sees ObjectStore",
		"github.com/jackc/pgx":                     "PostgreSQL stays in core/backup/pgdump",
		"modernc.org/sqlite":                       "SQLite stays in core/backup/sqlitesnap",
		"github.com/athena-go/athena/rest":         "transports import core, never the reverse",
		"github.com/athena-go/athena/wss":          "transports import core, never the reverse",
		"github.com/athena-go/athena/cmd":          "cmd wires core/backup, never the reverse",
		"github.com/athena-go/athena/core/backend": "backups reach clients through drivers and the Pause hook",
	})
	for _, pkg := range []string{"s3store", "sqlitesnap", "pgdump"} {
		deptest.Check(t, "github.com/athena-go/athena/core/backup/"+pkg, map[string]string{
			"github.com/athena-go/athena/rest":         "transports import core, never the reverse",
			"github.com/athena-go/athena/wss":          "transports import core, never the reverse",
			"github.com/athena-go/athena/core/backend": "backup drivers open files and databases on their own connections",
		})
	}
}
