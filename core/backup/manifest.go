package backup

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/athena-go/athena/core"
)

// Manifest describes one stored snapshot. It is stored as JSON beside the
// snapshot's data object, and written only after the data upload
// succeeded.
type Manifest struct {
	// ID orders snapshots: a UTC timestamp plus a random suffix.
	ID        string    `json:"id"`
	Client    string    `json:"client"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
	// Key is the data object's key.
	Key string `json:"key"`
	// Size and SHA256 are those of the stored object (compressed when
	// Compression is set); a restore refuses an object that differs.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Compression is "zstd" or "none".
	Compression string `json:"compression"`
	// ContentSize and ContentSHA256 are those of the raw snapshot.
	ContentSize   int64  `json:"content_size"`
	ContentSHA256 string `json:"content_sha256"`
	// Format is "sqlite" or "pg_dump-custom"; Tool what made it, with its
	// version.
	Format string `json:"format"`
	Tool   string `json:"tool"`
}

const (
	manifestExt      = ".json"
	compressionZstd  = "zstd"
	compressionNone  = "none"
	idTimeFormat     = "20060102T150405.000Z"
	contentTypeJSON  = "application/json"
	contentTypeBytes = "application/octet-stream"
)

// newID returns a snapshot id: sortable by time, unique by its suffix.
func newID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return strings.Replace(now.UTC().Format(idTimeFormat), ".", "", 1) + "-" + hex.EncodeToString(b)
}

// validID accepts what newID produces (and nothing that could walk out of
// a client's prefix).
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '-') {
			return false
		}
	}
	return true
}

// hashingReader counts and hashes what is read through it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func newHashingReader(r io.Reader) *hashingReader {
	return &hashingReader{r: r, h: sha256.New()}
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.n += int64(n)
	h.h.Write(p[:n])
	return n, err
}

func (h *hashingReader) sum() string { return hex.EncodeToString(h.h.Sum(nil)) }

// ErrChecksum marks a stored object whose bytes do not match its manifest.
var ErrChecksum = errors.New("checksum mismatch")

// verifyingReader passes r through and, at its end, fails with ErrChecksum
// unless the bytes read have the expected size and SHA-256. A reader that
// stops early never sees the verdict, so consumers read to io.EOF before
// they commit anything.
type verifyingReader struct {
	h        *hashingReader
	size     int64
	sha, key string
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.h.Read(p)
	if err == io.EOF {
		if v.h.n != v.size || v.h.sum() != v.sha {
			return n, checksumError(v.key)
		}
	}
	return n, err
}

func checksumError(key string) error {
	return core.Wrap(core.CodeConflict,
		fmt.Sprintf("snapshot object %s does not match the checksum in its manifest: refused", key),
		ErrChecksum)
}
