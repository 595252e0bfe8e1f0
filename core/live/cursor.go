package live

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// cursor is a position in one live query's event sequence: the hub's epoch
// (random per process), the live query's incarnation (this hub's counter)
// and the sequence number of the last event applied (0: none yet).
type cursor struct {
	epoch uint64
	inc   uint64
	seq   uint64
}

const cursorVersion = 1

// maxCursorLen bounds what decodeCursor reads: a version byte, 8 bytes of
// epoch and two varints of at most 10 bytes, base64url-encoded.
const maxCursorLen = 48

// String encodes c as unpadded base64url: version byte, big-endian epoch,
// then incarnation and sequence as uvarints.
func (c cursor) String() string {
	var b [1 + 8 + 2*binary.MaxVarintLen64]byte
	b[0] = cursorVersion
	binary.BigEndian.PutUint64(b[1:9], c.epoch)
	n := 9
	n += binary.PutUvarint(b[n:], c.inc)
	n += binary.PutUvarint(b[n:], c.seq)
	return base64.RawURLEncoding.EncodeToString(b[:n])
}

var errBadCursor = errors.New("not a live-query cursor")

// decodeCursor reads a cursor a client sent back. Anything that is not
// exactly what String produces is an error.
func decodeCursor(s string) (cursor, error) {
	if len(s) > maxCursorLen {
		return cursor{}, errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 11 || b[0] != cursorVersion {
		return cursor{}, errBadCursor
	}
	c := cursor{epoch: binary.BigEndian.Uint64(b[1:9])}
	rest := b[9:]
	var n int
	if c.inc, n = binary.Uvarint(rest); n <= 0 {
		return cursor{}, errBadCursor
	}
	rest = rest[n:]
	if c.seq, n = binary.Uvarint(rest); n <= 0 || n != len(rest) {
		return cursor{}, errBadCursor
	}
	if c.String() != s {
		return cursor{}, errBadCursor // a non-minimal varint: not ours
	}
	return c, nil
}
