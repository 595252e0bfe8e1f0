package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Publication is the publication the change feed reads: the database's
// tables that have a replica identity, kept up to date by every reader
// (publication.go).
const Publication = "athena_live"

// slotPrefix starts the name of every reader's temporary slot.
const slotPrefix = "athena_live_"

// Commit is one committed transaction, as the change feed reports it.
type Commit struct {
	// Tables are the unqualified names of the tables the transaction
	// inserted into, updated, deleted from or truncated, sorted, without
	// duplicates.
	Tables []string
	// LSN is the end of the transaction in the WAL ("16/B374D848"); it
	// grows with the commit order.
	LSN string
	// Resync is set on the first report of a new slot: changes committed
	// before it may not have been reported (the feed started or
	// reconnected), so whatever depends on them must be re-read. Tables is
	// empty then.
	Resync bool
	// At is the commit time (the server's clock); zero on a Resync.
	At time.Time
}

// FeedConfig configures Feed. The zero value of every field but OnCommit
// means its default.
type FeedConfig struct {
	// OnCommit receives every commit that changed a published table, in
	// commit order, from Feed's goroutine. It should not block for long:
	// the server waits for the reader. Required.
	OnCommit func(Commit)
	// OnLag receives the replication lag in bytes (how far the server's WAL
	// is ahead of what OnCommit has been given) after each message; nil
	// ignores it.
	OnLag func(bytes int64)
	// StatusInterval is how often the reader confirms its position to the
	// server (standby status update). Default 1s.
	StatusInterval time.Duration
	// RefreshInterval is how often tables created since are added to the
	// publication. Default 5s.
	RefreshInterval time.Duration
	// MaxBackoff caps the wait between reconnections. Default 5s.
	MaxBackoff time.Duration
}

// StartChangeFeed implements core.ChangeFeed: it runs Feed on a goroutine
// the backend owns, until Close (a no-op after Close). Each call starts
// one more reader.
func (b *Backend) StartChangeFeed(onCommit func(core.FeedCommit), onLag func(bytes int64)) {
	b.feedMu.Lock()
	defer b.feedMu.Unlock()
	if b.feedClosed {
		return
	}
	if b.feedStop == nil {
		var ctx context.Context
		ctx, b.feedStop = context.WithCancel(context.Background())
		b.feedCtx = ctx
	}
	ctx := b.feedCtx
	b.feeds.Go(func() {
		_ = b.Feed(ctx, FeedConfig{
			OnCommit: func(c Commit) {
				onCommit(core.FeedCommit{Tables: c.Tables, Position: c.LSN, Resync: c.Resync, At: c.At})
			},
			OnLag: onLag,
		}) // returns only when Close cancels ctx
	})
}

// CheckChangeFeed implements core.ChangeFeed with CheckReplication.
func (b *Backend) CheckChangeFeed(ctx context.Context) (ok bool, reason string, err error) {
	return b.CheckReplication(ctx)
}

// Feed reads the changes committed to the database through logical
// replication (pgoutput) and reports each commit to cfg.OnCommit, until ctx
// ends; it then returns ctx's error. Writes by any application count, not
// only the gateway's.
//
// Each connection creates a TEMPORARY slot: PostgreSQL drops it when the
// connection ends, whatever ends it (Feed returning, the process killed, the
// network cut once wal_sender_timeout passes), so no slot retains WAL after
// its reader is gone. The price is that a new connection cannot resume
// where the last one stopped: its first report has Resync set. Feed
// reconnects on its own, with back-off, after any error.
//
// Feed blocks; call it from a goroutine the caller owns. It needs
// wal_level=logical and a role with REPLICATION (see CheckReplication).
func (b *Backend) Feed(ctx context.Context, cfg FeedConfig) error {
	if cfg.OnCommit == nil {
		return errors.New("postgres: feed: OnCommit is required")
	}
	if cfg.StatusInterval <= 0 {
		cfg.StatusInterval = time.Second
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = 5 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	backoff := 100 * time.Millisecond
	for {
		started, err := b.feedOnce(ctx, cfg)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if started {
			backoff = 100 * time.Millisecond
		}
		b.log.Warn("live change feed interrupted; reconnecting (live queries of this client resync)",
			"error", err, "retry_in", backoff.String())
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, cfg.MaxBackoff)
	}
}

// feedOnce runs one replication connection until it fails or ctx ends.
// started reports whether the stream began (the back-off then restarts).
func (b *Backend) feedOnce(ctx context.Context, cfg FeedConfig) (started bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("postgres: feed panic: %v\n%s", r, debug.Stack())
		}
	}()
	if err := b.refreshPublication(ctx); err != nil {
		if ctx.Err() != nil {
			return false, err
		}
		// Not fatal: the publication may exist already (made by an
		// administrator) with tables this role cannot add. If it does
		// not, the stream fails below and says so.
		b.log.Warn("live change feed: cannot create or complete the publication", "publication", Publication, "error", err)
	}
	conn, err := pgconn.ConnectConfig(ctx, b.replConfig)
	if err != nil {
		return false, mapError(ctx, fmt.Errorf("postgres: feed: connect: %w", err))
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_ = conn.Close(cctx) // the server drops the temporary slot with the session
	}()
	slot := slotPrefix + randomSuffix()
	res, err := pglogrepl.CreateReplicationSlot(ctx, conn, slot, "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Temporary: true, Mode: pglogrepl.LogicalReplication, SnapshotAction: "NOEXPORT_SNAPSHOT"})
	if err != nil {
		return false, fmt.Errorf("postgres: feed: create temporary slot: %w", err)
	}
	start, err := pglogrepl.ParseLSN(res.ConsistentPoint)
	if err != nil {
		return false, fmt.Errorf("postgres: feed: slot position: %w", err)
	}
	err = pglogrepl.StartReplication(ctx, conn, slot, start, pglogrepl.StartReplicationOptions{
		Mode: pglogrepl.LogicalReplication,
		PluginArgs: []string{"proto_version '1'", "publication_names '" + Publication + "'",
			"messages 'true'"},
	})
	if err != nil {
		return false, fmt.Errorf("postgres: feed: start replication: %w", err)
	}
	b.log.Info("live change feed started", "slot", slot, "lsn", start.String())
	// Everything committed from here on is reported; anything before may
	// have been missed by whoever relied on an earlier slot.
	cfg.OnCommit(Commit{LSN: start.String(), Resync: true})
	r := &reader{conn: conn, cfg: cfg, tx: newTxDecoder(), confirmed: start, log: b.log}
	return true, r.run(ctx, b)
}

// reader is one replication stream.
type reader struct {
	conn      *pgconn.PgConn
	cfg       FeedConfig
	tx        *txDecoder
	confirmed pglogrepl.LSN // what the server may forget: all before it is reported
	received  pglogrepl.LSN // the furthest WAL position the stream has reached
	log       *slog.Logger
}

func (r *reader) run(ctx context.Context, b *Backend) error {
	nextStatus := time.Now().Add(r.cfg.StatusInterval)
	nextRefresh := time.Now().Add(r.cfg.RefreshInterval)
	for {
		now := time.Now()
		if !now.Before(nextStatus) {
			if err := r.status(ctx); err != nil {
				return err
			}
			r.lag(ctx, b)
			nextStatus = now.Add(r.cfg.StatusInterval)
		}
		if !now.Before(nextRefresh) {
			// Tables created since are added, each with a message in the
			// same transaction, so their live queries re-read them.
			if err := b.refreshPublication(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("live change feed: cannot add new tables to the publication", "error", err)
			}
			nextRefresh = time.Now().Add(r.cfg.RefreshInterval)
		}
		wake := nextStatus
		if nextRefresh.Before(wake) {
			wake = nextRefresh
		}
		rctx, cancel := context.WithDeadline(ctx, wake)
		msg, err := r.conn.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if pgconn.Timeout(err) && !r.conn.IsClosed() {
				continue
			}
			return fmt.Errorf("postgres: feed: receive: %w", err)
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			if err := r.copyData(ctx, m.Data); err != nil {
				return err
			}
		case *pgproto3.ErrorResponse:
			return fmt.Errorf("postgres: feed: %w", pgconn.ErrorResponseToPgError(m))
		}
	}
}

func (r *reader) copyData(ctx context.Context, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return fmt.Errorf("postgres: feed: keepalive: %w", err)
		}
		// The server has sent everything before ServerWALEnd, and it all
		// arrived before this message.
		r.received = max(r.received, ka.ServerWALEnd)
		if r.tx.idle() {
			r.confirmed = max(r.confirmed, ka.ServerWALEnd)
		}
		if ka.ReplyRequested {
			return r.status(ctx)
		}
	case pglogrepl.XLogDataByteID:
		xld, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return fmt.Errorf("postgres: feed: xlog data: %w", err)
		}
		r.received = max(r.received, xld.WALStart)
		c, end, err := r.tx.decode(xld.WALData)
		if err != nil {
			return fmt.Errorf("postgres: feed: %w", err)
		}
		if c != nil {
			r.cfg.OnCommit(*c)
		}
		if end != 0 {
			r.received = max(r.received, end)
			r.confirmed = max(r.confirmed, end)
		}
	}
	return nil
}

// status confirms the position of the last reported commit, so the server
// can recycle the WAL before it.
func (r *reader) status(ctx context.Context) error {
	err := pglogrepl.SendStandbyStatusUpdate(ctx, r.conn, pglogrepl.StandbyStatusUpdate{WALWritePosition: r.confirmed})
	if err != nil {
		return fmt.Errorf("postgres: feed: standby status: %w", err)
	}
	return nil
}

// lag reports how many bytes of WAL the server has written that the stream
// has not reached yet.
func (r *reader) lag(ctx context.Context, b *Backend) {
	if r.cfg.OnLag == nil {
		return
	}
	qctx, cancel := context.WithTimeout(ctx, r.cfg.StatusInterval)
	defer cancel()
	var text string
	if err := b.pool.QueryRow(qctx, "SELECT pg_catalog.pg_current_wal_lsn()::text").Scan(&text); err != nil {
		return // the stream's own errors are the ones to report
	}
	cur, err := pglogrepl.ParseLSN(text)
	if err != nil {
		return
	}
	var lag int64
	if cur > r.received {
		lag = int64(cur - r.received)
	}
	r.cfg.OnLag(lag)
}
