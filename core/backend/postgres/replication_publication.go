package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ControlPlaneLogTables are the control plane's tables written on every
// request (request, operation and API-key logs, the statistics upserts,
// admission events). When a client's database also holds the control
// plane, the managed publication leaves them out: published, each request
// would stream its log rows through every reader's WAL sender to the
// gateway, which decodes and discards them (issue 19: a third of
// PostgreSQL's control-plane CPU per point fetch). Live queries on them
// see only the gateway's own structured writes, like a table without a
// replica identity; an administrator who wants them followed creates
// athena_live FOR ALL TABLES (or FOR TABLE a list), which is left as it is.
var ControlPlaneLogTables = []string{
	"api_key_auth_log", "client_statistics", "client_table_statistics",
	"gateway_admission_events", "gateway_operation_log", "gateway_request_log",
}

// unpublishedTables lists the tables in the search_path's schemas that the
// publication lacks and could take: plain or partitioned tables with a
// replica identity (a primary key, or REPLICA IDENTITY FULL or USING
// INDEX) that the role owns, except ControlPlaneLogTables ($2). Tables
// without a replica identity are left out on purpose: a publication that
// publishes updates makes PostgreSQL refuse every UPDATE and DELETE on a
// member table that has no replica identity, for every application, which
// FOR ALL TABLES would do.
const unpublishedTables = `
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), c.relname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname = ANY (pg_catalog.current_schemas(false))
  AND pg_catalog.pg_has_role(c.relowner, 'USAGE')
  AND c.relname <> ALL ($2::text[])
  AND (c.relreplident IN ('f', 'i')
       OR (c.relreplident = 'd' AND EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)))
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel pr
                  JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid
                  WHERE p.pubname = $1 AND pr.prrelid = c.oid)
ORDER BY 1`

// publishedLogTables lists the ControlPlaneLogTables ($2) of the search
// path's schemas that the publication ($1) holds: a publication managed
// before they were left out has them, and they are dropped from it.
const publishedLogTables = `
SELECT pg_catalog.format('%I.%I', schemaname, tablename)
FROM pg_catalog.pg_publication_tables
WHERE pubname = $1 AND tablename = ANY ($2::text[])
  AND schemaname = ANY (pg_catalog.current_schemas(false))
ORDER BY 1`

// refreshPublication creates the publication when it is missing and adds
// the tables it lacks (see unpublishedTables), and drops the
// ControlPlaneLogTables an older version added. Each table joins in a
// transaction that also emits a logical decoding message naming it, so the
// readers report the table as changed at that point of the stream: a live
// query on it re-reads what was written before its changes were published.
// A publication created FOR ALL TABLES (by an administrator) is left as it
// is. Several nodes may refresh at once; the loser's duplicate is ignored.
func (b *Backend) refreshPublication(ctx context.Context) error {
	var all bool
	err := b.pool.QueryRow(ctx, "SELECT puballtables FROM pg_catalog.pg_publication WHERE pubname = $1", Publication).Scan(&all)
	if errors.Is(err, pgx.ErrNoRows) {
		_, err = b.pool.Exec(ctx, "CREATE PUBLICATION "+Publication+" WITH (publish_via_partition_root = true)")
		if pgCode(err) == "42710" { // another node created it meanwhile
			err = nil
		}
	}
	if err != nil {
		return mapError(ctx, fmt.Errorf("postgres: publication %s: %w", Publication, err))
	}
	if all {
		return nil
	}
	dropErr := b.dropLogTables(ctx)
	rows, err := b.pool.Query(ctx, unpublishedTables, Publication, ControlPlaneLogTables)
	if err != nil {
		return mapError(ctx, fmt.Errorf("postgres: publication %s: list tables: %w", Publication, err))
	}
	type table struct{ qualified, name string }
	var missing []table
	for rows.Next() {
		var t table
		if err := rows.Scan(&t.qualified, &t.name); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: publication %s: scan: %w", Publication, err)
		}
		missing = append(missing, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return mapError(ctx, fmt.Errorf("postgres: publication %s: list tables: %w", Publication, err))
	}
	var errs []error
	if dropErr != nil {
		errs = append(errs, dropErr)
	}
	for _, t := range missing {
		err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "ALTER PUBLICATION "+Publication+" ADD TABLE "+t.qualified); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "SELECT pg_catalog.pg_logical_emit_message(true, $1, $2)", messagePrefix, t.name)
			return err
		})
		if err != nil && pgCode(err) != "42710" { // 42710: another node added it
			errs = append(errs, fmt.Errorf("add %s: %w", t.name, err))
		}
	}
	if len(errs) > 0 {
		return mapError(ctx, fmt.Errorf("postgres: publication %s: %w", Publication, errors.Join(errs...)))
	}
	return nil
}

// dropLogTables drops the ControlPlaneLogTables from the publication,
// when it holds any (see publishedLogTables).
func (b *Backend) dropLogTables(ctx context.Context) error {
	rows, err := b.pool.Query(ctx, publishedLogTables, Publication, ControlPlaneLogTables)
	if err != nil {
		return fmt.Errorf("list log tables: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list log tables: %w", err)
	}
	for _, n := range names {
		// 42704: another node dropped it meanwhile.
		if _, err := b.pool.Exec(ctx, "ALTER PUBLICATION "+Publication+" DROP TABLE "+n); err != nil && pgCode(err) != "42704" {
			return fmt.Errorf("drop %s: %w", n, err)
		}
	}
	return nil
}

// CheckReplication reports whether the database can feed live queries
// through logical replication: wal_level is logical and the role may
// replicate. When it cannot, reason says why in words fit for a log line.
func (b *Backend) CheckReplication(ctx context.Context) (ok bool, reason string, err error) {
	var level string
	var canReplicate bool
	err = b.pool.QueryRow(ctx, `SELECT pg_catalog.current_setting('wal_level'),
		(SELECT rolreplication OR rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)`).Scan(&level, &canReplicate)
	if err != nil {
		return false, "", mapError(ctx, fmt.Errorf("postgres: check replication: %w", err))
	}
	if level != "logical" {
		return false, "wal_level is " + level + ", not logical", nil
	}
	if !canReplicate {
		return false, "the role has neither REPLICATION nor SUPERUSER", nil
	}
	return true, "", nil
}

// pgCode is the SQLSTATE of a server error in err's chain, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// randomSuffix makes slot names unique across readers and nodes (slot names
// allow lowercase letters, digits and underscores, 63 bytes at most).
func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
