package postgres

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pglogrepl"
)

// messagePrefix marks the logical decoding messages the publication refresh
// emits (pg_logical_emit_message) when it adds tables: their live queries
// must re-read them, as changes before the table joined were not published.
const messagePrefix = "athena_live"

// txDecoder folds a pgoutput stream (protocol 1) into commits: which tables
// each transaction touched. Only the relation ids of row messages are read,
// never their tuples, so a busy table costs a few bytes of parsing per row.
// It is not safe for concurrent use.
type txDecoder struct {
	relations map[uint32]string // relation id → table name
	open      bool              // between Begin and Commit
	touched   map[string]struct{}
}

func newTxDecoder() *txDecoder {
	return &txDecoder{relations: map[uint32]string{}, touched: map[string]struct{}{}}
}

// idle reports whether no transaction is being read.
func (d *txDecoder) idle() bool { return !d.open }

var errShort = errors.New("short pgoutput message")

// decode reads one pgoutput message. On a Commit it returns the commit
// (nil when the transaction touched no table) and the transaction's end
// LSN; otherwise end is 0.
func (d *txDecoder) decode(msg []byte) (c *Commit, end pglogrepl.LSN, err error) {
	if len(msg) == 0 {
		return nil, 0, errShort
	}
	switch pglogrepl.MessageType(msg[0]) {
	case pglogrepl.MessageTypeBegin:
		d.open = true
		clear(d.touched)
	case pglogrepl.MessageTypeRelation:
		var m pglogrepl.RelationMessage
		if err := decodeSafely(&m, msg[1:]); err != nil {
			return nil, 0, fmt.Errorf("relation message: %w", err)
		}
		d.relations[m.RelationID] = m.RelationName
	case pglogrepl.MessageTypeInsert, pglogrepl.MessageTypeUpdate, pglogrepl.MessageTypeDelete:
		// Protocol 1: the type byte, then the relation id.
		if len(msg) < 5 {
			return nil, 0, errShort
		}
		if err := d.touch(binary.BigEndian.Uint32(msg[1:5])); err != nil {
			return nil, 0, err
		}
	case pglogrepl.MessageTypeTruncate:
		// The decoder allocates the announced count before reading: check
		// it against the bytes there are.
		if len(msg) < 6 || uint64(binary.BigEndian.Uint32(msg[1:5]))*4 > uint64(len(msg)-6) {
			return nil, 0, errShort
		}
		var m pglogrepl.TruncateMessage
		if err := decodeSafely(&m, msg[1:]); err != nil {
			return nil, 0, fmt.Errorf("truncate message: %w", err)
		}
		for _, id := range m.RelationIDs {
			if err := d.touch(id); err != nil {
				return nil, 0, err
			}
		}
	case pglogrepl.MessageTypeMessage:
		var m pglogrepl.LogicalDecodingMessage
		if err := decodeSafely(&m, msg[1:]); err != nil {
			return nil, 0, fmt.Errorf("logical message: %w", err)
		}
		if m.Prefix == messagePrefix && len(m.Content) > 0 {
			d.touched[string(m.Content)] = struct{}{}
		}
	case pglogrepl.MessageTypeCommit:
		var m pglogrepl.CommitMessage
		if err := decodeSafely(&m, msg[1:]); err != nil {
			return nil, 0, fmt.Errorf("commit message: %w", err)
		}
		d.open = false
		if len(d.touched) == 0 {
			return nil, m.TransactionEndLSN, nil
		}
		tables := make([]string, 0, len(d.touched))
		for t := range d.touched {
			tables = append(tables, t)
		}
		slices.Sort(tables)
		clear(d.touched)
		return &Commit{Tables: tables, LSN: m.TransactionEndLSN.String(), At: m.CommitTime}, m.TransactionEndLSN, nil
	}
	// Origin and Type messages, and types a later server may add, carry
	// nothing a live query needs.
	return nil, 0, nil
}

func (d *txDecoder) touch(id uint32) error {
	name, ok := d.relations[id]
	if !ok {
		// pgoutput sends a Relation before the first row of each relation
		// on a stream; a row without one means the stream is corrupt.
		return fmt.Errorf("row of unknown relation %d", id)
	}
	d.touched[name] = struct{}{}
	return nil
}

// decodeSafely runs a pglogrepl decoder, turning the panic some of them
// raise on a truncated message (they slice without checking) into an
// error.
func decodeSafely(m pglogrepl.MessageDecoder, src []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errShort, r)
		}
	}()
	return m.Decode(src)
}
