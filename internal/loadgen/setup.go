package loadgen

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Table names and sizes of the benchmark data.
const (
	// ItemsTable holds ItemRows rows: id 1..ItemRows, grp (id-1)/100, name
	// "item <id>", price id*1.25.
	ItemsTable = "athena_bench_items"
	// WritesTable receives the insert scenario's rows; Setup empties it.
	WritesTable = "athena_bench_writes"
	// ItemRows is the size of ItemsTable: the streamed fetch reads all.
	ItemRows = 100000
	// GroupRows is the number of rows sharing a grp.
	GroupRows = 100
)

// Setup creates the benchmark tables in the database at dsn (the one the
// gateway's client points at) when they are missing, fills ItemsTable when
// it does not hold ItemRows rows, and empties WritesTable. It touches no
// other table.
func Setup(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect to the direct database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ` + ItemsTable + ` (id bigint PRIMARY KEY, grp int NOT NULL, name text NOT NULL, price numeric(10,2) NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS ` + ItemsTable + `_grp ON ` + ItemsTable + ` (grp)`,
		`CREATE TABLE IF NOT EXISTS ` + WritesTable + ` (id bigint PRIMARY KEY, name text NOT NULL)`,
		`TRUNCATE ` + WritesTable,
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("set up benchmark tables: %w", err)
		}
	}
	var n, sum int64
	if err := conn.QueryRow(ctx, `SELECT count(*), coalesce(sum(id), 0) FROM `+ItemsTable).Scan(&n, &sum); err != nil {
		return fmt.Errorf("count benchmark rows: %w", err)
	}
	if n == ItemRows && sum == ItemRows*(ItemRows+1)/2 {
		return nil
	}
	fill := `TRUNCATE ` + ItemsTable + `; INSERT INTO ` + ItemsTable + ` SELECT g, (g - 1) / ` + fmt.Sprint(GroupRows) +
		`, 'item ' || g, g * 1.25 FROM generate_series(1, ` + fmt.Sprint(ItemRows) + `) g; ANALYZE ` + ItemsTable
	if _, err := conn.Exec(ctx, fill); err != nil {
		return fmt.Errorf("fill %s: %w", ItemsTable, err)
	}
	return nil
}
