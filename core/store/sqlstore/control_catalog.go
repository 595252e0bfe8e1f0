package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/athena-go/athena/core"
)

const clientColumns = `client_name, kind, COALESCE(uri_env, ''), COALESCE(uri, ''), COALESCE(path, ''), COALESCE(hosts, ''), COALESCE(keyspace, ''), max_conns, COALESCE(description, ''), source, is_active, is_frozen, created_at, updated_at`

func scanClient(sc interface{ Scan(...any) error }) (core.ClientRecord, error) {
	var c core.ClientRecord
	var hosts string
	var cr, up Time
	err := sc.Scan(&c.Name, &c.Kind, &c.URIEnv, &c.URI, &c.Path, &hosts, &c.Keyspace, &c.MaxConns, &c.Description, &c.Source, &c.IsActive, &c.IsFrozen, &cr, &up)
	if hosts != "" {
		c.Hosts = strings.Split(hosts, ",")
	}
	c.CreatedAt, c.UpdatedAt = cr.Time, up.Time
	return c, err
}

// Clients lists the catalog by name.
func (s *Control) Clients(ctx context.Context) ([]core.ClientRecord, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+clientColumns+` FROM athena_clients ORDER BY client_name`)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	defer rows.Close()
	out := []core.ClientRecord{}
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("scan client: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Client reads one catalog row.
func (s *Control) Client(ctx context.Context, name string) (core.ClientRecord, error) {
	c, err := scanClient(s.DB.QueryRowContext(ctx, s.q(`SELECT `+clientColumns+` FROM athena_clients WHERE client_name = $1`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return c, core.ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("read client: %w", err)
	}
	return c, nil
}

func (s *Control) insertClient(ctx context.Context, tx *sql.Tx, c core.ClientRecord, onConflict string) (sql.Result, error) {
	return tx.ExecContext(ctx, s.q(`INSERT INTO athena_clients (client_name, kind, uri_env, uri, path, hosts, keyspace, max_conns, description, source, is_active, is_frozen, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`+onConflict),
		c.Name, c.Kind, nullString(c.URIEnv), nullString(c.URI), nullString(c.Path), nullString(strings.Join(c.Hosts, ",")),
		nullString(c.Keyspace), c.MaxConns, nullString(c.Description), c.Source, c.IsActive, c.IsFrozen, s.ts(c.CreatedAt))
}

// CreateClient inserts a catalog row; core.ErrConflict when the name is taken.
func (s *Control) CreateClient(ctx context.Context, c core.ClientRecord) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.insertClient(ctx, tx, c, ""); err != nil {
			if isDuplicate(err) {
				return fmt.Errorf("%w: %w", core.ErrConflict, err)
			}
			return fmt.Errorf("insert client: %w", err)
		}
		return nil
	})
}

// SeedClients inserts the rows whose names are not in the catalog yet and
// leaves existing rows alone, so every node can seed its config clients on
// boot without duplicates. It returns how many rows it inserted.
func (s *Control) SeedClients(ctx context.Context, cs []core.ClientRecord) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, c := range cs {
			res, err := s.insertClient(ctx, tx, c, ` ON CONFLICT (client_name) DO NOTHING`)
			if err != nil {
				return fmt.Errorf("seed client: %w", err)
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	return n, err
}

// PatchClient applies p and returns the row.
func (s *Control) PatchClient(ctx context.Context, name string, p core.ClientPatch, now time.Time) (core.ClientRecord, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE athena_clients SET updated_at = $2 WHERE client_name = $1`), name, s.ts(now))
		if err != nil {
			return fmt.Errorf("update client: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return core.ErrNotFound
		}
		var sets []struct {
			col string
			v   any
		}
		add := func(col string, v any) {
			sets = append(sets, struct {
				col string
				v   any
			}{col, v})
		}
		if p.Description != nil {
			add("description", nullString(*p.Description))
		}
		if p.URIEnv != nil {
			add("uri_env", nullString(*p.URIEnv))
		}
		if p.URI != nil {
			add("uri", nullString(*p.URI))
		}
		if p.Path != nil {
			add("path", nullString(*p.Path))
		}
		if p.Keyspace != nil {
			add("keyspace", nullString(*p.Keyspace))
		}
		if p.Hosts != nil {
			add("hosts", nullString(strings.Join(*p.Hosts, ",")))
		}
		if p.MaxConns != nil {
			add("max_conns", *p.MaxConns)
		}
		if p.IsActive != nil {
			add("is_active", *p.IsActive)
		}
		for _, st := range sets {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE athena_clients SET `+st.col+` = $2 WHERE client_name = $1`), name, st.v); err != nil {
				return fmt.Errorf("update client %s: %w", st.col, err)
			}
		}
		return nil
	})
	if err != nil {
		return core.ClientRecord{}, err
	}
	return s.Client(ctx, name)
}

// FreezeClient sets is_frozen.
func (s *Control) FreezeClient(ctx context.Context, name string, frozen bool, now time.Time) (core.ClientRecord, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE athena_clients SET is_frozen = $2, updated_at = $3 WHERE client_name = $1`), name, frozen, s.ts(now))
		if err != nil {
			return fmt.Errorf("freeze client: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return core.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return core.ClientRecord{}, err
	}
	return s.Client(ctx, name)
}

// DeleteClient removes a catalog row.
func (s *Control) DeleteClient(ctx context.Context, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM athena_clients WHERE client_name = $1`), name)
		if err != nil {
			return fmt.Errorf("delete client: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return core.ErrNotFound
		}
		return nil
	})
}
