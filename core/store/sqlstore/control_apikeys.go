package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/auth"
	"github.com/athena-go/athena/core/usage"
)

// CreateAPIKey inserts k and links its rights.
func (s *Control) CreateAPIKey(ctx context.Context, k auth.APIKeyRecord) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO api_keys (public_id, name, description, client_name, salt, hash, expires_at, is_active, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`),
			k.PublicID, k.Name, k.Description, nullString(k.ClientName), k.Salt, k.Hash, s.ts(k.ExpiresAt), k.IsActive, s.ts(k.CreatedAt))
		if err != nil {
			if isDuplicate(err) {
				return fmt.Errorf("%w: %w", core.ErrConflict, err)
			}
			return fmt.Errorf("insert api key: %w", err)
		}
		return s.linkRights(ctx, tx, k.PublicID, k.Rights)
	})
}

func (s *Control) linkRights(ctx context.Context, tx *sql.Tx, id string, rights []string) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM api_key_right_links WHERE api_key_id = $1`), id); err != nil {
		return fmt.Errorf("unlink rights: %w", err)
	}
	for _, name := range rights {
		var rid int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM api_key_rights WHERE name = $1`), name).Scan(&rid)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s", auth.ErrUnknownRight, name)
		}
		if err != nil {
			return fmt.Errorf("find right: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO api_key_right_links (api_key_id, right_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`), id, rid); err != nil {
			return fmt.Errorf("link right: %w", err)
		}
	}
	return nil
}

const keyColumns = `public_id, name, description, COALESCE(client_name, ''), salt, hash, expires_at, is_active, archived_at, created_at, updated_at`

func scanKey(sc interface{ Scan(...any) error }) (auth.APIKeyRecord, error) {
	var k auth.APIKeyRecord
	var exp, arch, cr, up Time
	err := sc.Scan(&k.PublicID, &k.Name, &k.Description, &k.ClientName, &k.Salt, &k.Hash, &exp, &k.IsActive, &arch, &cr, &up)
	k.ExpiresAt, k.ArchivedAt, k.CreatedAt, k.UpdatedAt = exp.Time, arch.Time, cr.Time, up.Time
	return k, err
}

// APIKeys lists the keys, newest first, with their rights. Archived keys
// are included only when archived is true.
func (s *Control) APIKeys(ctx context.Context, archived bool) ([]auth.APIKeyRecord, error) {
	stmt := `SELECT ` + keyColumns + ` FROM api_keys`
	if !archived {
		stmt += ` WHERE archived_at IS NULL`
	}
	rows, err := s.DB.QueryContext(ctx, stmt+` ORDER BY created_at DESC, public_id`)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	var out []auth.APIKeyRecord
	idx := map[string]int{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("scan api key: %w", err)
		}
		k.Rights = []string{}
		idx[k.PublicID] = len(out)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	rows.Close()
	lr, err := s.DB.QueryContext(ctx, `SELECT l.api_key_id, r.name FROM api_key_right_links l JOIN api_key_rights r ON r.id = l.right_id`)
	if err != nil {
		return nil, fmt.Errorf("list key rights: %w", err)
	}
	defer lr.Close()
	for lr.Next() {
		var id, name string
		if err := lr.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("scan key right: %w", err)
		}
		if i, ok := idx[id]; ok {
			out[i].Rights = append(out[i].Rights, name)
		}
	}
	for i := range out {
		sort.Strings(out[i].Rights)
	}
	return out, lr.Err()
}

// auth.APIKeyRecord returns one key (archived or not) with its rights.
func (s *Control) APIKey(ctx context.Context, id string) (auth.APIKeyRecord, error) {
	k, err := scanKey(s.DB.QueryRowContext(ctx, s.q(`SELECT `+keyColumns+` FROM api_keys WHERE public_id = $1`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return k, core.ErrNotFound
	}
	if err != nil {
		return k, fmt.Errorf("read api key: %w", err)
	}
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT r.name FROM api_key_right_links l JOIN api_key_rights r ON r.id = l.right_id WHERE l.api_key_id = $1 ORDER BY r.name`), id)
	if err != nil {
		return k, fmt.Errorf("read key rights: %w", err)
	}
	defer rows.Close()
	k.Rights = []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return k, err
		}
		k.Rights = append(k.Rights, n)
	}
	return k, rows.Err()
}

// PatchAPIKey applies p to the key and returns it.
func (s *Control) PatchAPIKey(ctx context.Context, id string, p auth.APIKeyPatch, now time.Time) (auth.APIKeyRecord, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE api_keys SET updated_at = $2 WHERE public_id = $1`), id, s.ts(now))
		if err != nil {
			return fmt.Errorf("update api key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return core.ErrNotFound
		}
		set := func(col string, v any) error {
			_, err := tx.ExecContext(ctx, s.q(`UPDATE api_keys SET `+col+` = $2 WHERE public_id = $1`), id, v)
			if err != nil {
				return fmt.Errorf("update api key %s: %w", col, err)
			}
			return nil
		}
		if p.Name != nil {
			if err := set("name", *p.Name); err != nil {
				return err
			}
		}
		if p.Description != nil {
			if err := set("description", *p.Description); err != nil {
				return err
			}
		}
		if p.ClientName != nil {
			if err := set("client_name", nullString(*p.ClientName)); err != nil {
				return err
			}
		}
		if p.ExpiresAt != nil {
			if err := set("expires_at", s.ts(*p.ExpiresAt)); err != nil {
				return err
			}
		}
		if p.IsActive != nil {
			if err := set("is_active", *p.IsActive); err != nil {
				return err
			}
		}
		if p.Rights != nil {
			return s.linkRights(ctx, tx, id, *p.Rights)
		}
		return nil
	})
	if err != nil {
		return auth.APIKeyRecord{}, err
	}
	return s.APIKey(ctx, id)
}

// ArchiveAPIKey deactivates the key and marks it archived; the row stays
// for the auth log.
func (s *Control) ArchiveAPIKey(ctx context.Context, id string, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE api_keys SET is_active = $2, archived_at = $3, updated_at = $3 WHERE public_id = $1 AND archived_at IS NULL`), id, false, s.ts(now))
		if err != nil {
			return fmt.Errorf("archive api key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return core.ErrNotFound
		}
		return nil
	})
}

const rightColumns = `id, name, description, built_in, created_at, updated_at`

func scanRight(sc interface{ Scan(...any) error }) (auth.RightRecord, error) {
	var r auth.RightRecord
	var cr, up Time
	err := sc.Scan(&r.ID, &r.Name, &r.Description, &r.BuiltIn, &cr, &up)
	r.CreatedAt, r.UpdatedAt = cr.Time, up.Time
	return r, err
}

// Rights lists every right by id.
func (s *Control) Rights(ctx context.Context) ([]auth.RightRecord, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+rightColumns+` FROM api_key_rights ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list rights: %w", err)
	}
	defer rows.Close()
	out := []auth.RightRecord{}
	for rows.Next() {
		r, err := scanRight(rows)
		if err != nil {
			return nil, fmt.Errorf("scan right: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateRight inserts a right.
func (s *Control) CreateRight(ctx context.Context, name, description string, now time.Time) (auth.RightRecord, error) {
	var r auth.RightRecord
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = scanRight(tx.QueryRowContext(ctx, s.q(`INSERT INTO api_key_rights (name, description, built_in, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING `+rightColumns),
			name, description, false, s.ts(now)))
		if isDuplicate(err) {
			return fmt.Errorf("%w: %w", core.ErrConflict, err)
		}
		if err != nil {
			return fmt.Errorf("insert right: %w", err)
		}
		return nil
	})
	return r, err
}

// PatchRight renames or re-describes a right that is not built in.
func (s *Control) PatchRight(ctx context.Context, id int64, name, description *string, now time.Time) (auth.RightRecord, error) {
	var r auth.RightRecord
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if r, err = scanRight(tx.QueryRowContext(ctx, s.q(`SELECT `+rightColumns+` FROM api_key_rights WHERE id = $1`), id)); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return core.ErrNotFound
			}
			return fmt.Errorf("read right: %w", err)
		}
		if r.BuiltIn {
			return auth.ErrBuiltInRight
		}
		if name != nil {
			r.Name = *name
		}
		if description != nil {
			r.Description = *description
		}
		r.UpdatedAt = now.UTC()
		_, err = tx.ExecContext(ctx, s.q(`UPDATE api_key_rights SET name = $2, description = $3, updated_at = $4 WHERE id = $1`), id, r.Name, r.Description, s.ts(now))
		if isDuplicate(err) {
			return fmt.Errorf("%w: %w", core.ErrConflict, err)
		}
		if err != nil {
			return fmt.Errorf("update right: %w", err)
		}
		return nil
	})
	return r, err
}

// DeleteRight deletes a right that is not built in, and its links.
func (s *Control) DeleteRight(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var builtIn bool
		err := tx.QueryRowContext(ctx, s.q(`SELECT built_in FROM api_key_rights WHERE id = $1`), id).Scan(&builtIn)
		if errors.Is(err, sql.ErrNoRows) {
			return core.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read right: %w", err)
		}
		if builtIn {
			return auth.ErrBuiltInRight
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM api_key_right_links WHERE right_id = $1`), id); err != nil {
			return fmt.Errorf("unlink right: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM api_key_rights WHERE id = $1`), id); err != nil {
			return fmt.Errorf("delete right: %w", err)
		}
		return nil
	})
}

// auth.AuthConfigRecord reads the enforcement switch and the per-client overrides.
func (s *Control) AuthConfig(ctx context.Context) (auth.AuthConfigRecord, error) {
	c := auth.AuthConfigRecord{Clients: map[string]auth.ClientEnforcementRecord{}}
	if err := s.DB.QueryRowContext(ctx, `SELECT enforce_api_keys FROM api_key_config WHERE id = 1`).Scan(&c.Enforce); err != nil {
		return c, fmt.Errorf("read api key config: %w", err)
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT client_name, enforce_api_keys, updated_at FROM api_key_client`)
	if err != nil {
		return c, fmt.Errorf("read api key clients: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var ce auth.ClientEnforcementRecord
		var up Time
		if err := rows.Scan(&name, &ce.Enforce, &up); err != nil {
			return c, fmt.Errorf("scan api key client: %w", err)
		}
		ce.UpdatedAt = up.Time
		c.Clients[name] = ce
	}
	return c, rows.Err()
}

// SetEnforce sets the global enforcement switch.
func (s *Control) SetEnforce(ctx context.Context, enforce bool, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`UPDATE api_key_config SET enforce_api_keys = $1, updated_at = $2 WHERE id = 1`), enforce, s.ts(now))
		if err != nil {
			return fmt.Errorf("set enforcement: %w", err)
		}
		return nil
	})
}

// SetClientEnforce sets one client's override.
func (s *Control) SetClientEnforce(ctx context.Context, client string, enforce bool, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO api_key_client (client_name, enforce_api_keys, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (client_name) DO UPDATE SET enforce_api_keys = excluded.enforce_api_keys, updated_at = excluded.updated_at`), client, enforce, s.ts(now))
		if err != nil {
			return fmt.Errorf("set client enforcement: %w", err)
		}
		return nil
	})
}

// DeleteClientEnforce removes one client's override.
func (s *Control) DeleteClientEnforce(ctx context.Context, client string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM api_key_client WHERE client_name = $1`), client)
		if err != nil {
			return fmt.Errorf("delete client enforcement: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return core.ErrNotFound
		}
		return nil
	})
}

// InsertAuthAttempts appends rows to api_key_auth_log in one statement per
// chunk.
func (s *Control) InsertAuthAttempts(ctx context.Context, as []usage.AuthAttempt) error {
	return insertRows(ctx, s, s.DB, `INSERT INTO api_key_auth_log (created_at, api_key_id, client_name, right_name, outcome, reason)`,
		[]string{"timestamptz", "text", "text", "text", "text", "text"}, len(as), func(i int, w *rowWriter) {
			a := &as[i]
			w.Time(a.At)
			w.NullStr(a.APIKeyID)
			w.NullStr(a.ClientName)
			w.NullStr(a.Right)
			w.Str(a.Outcome)
			w.Str(a.Reason)
		}, "")
}
