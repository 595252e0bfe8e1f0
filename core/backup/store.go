package backup

import (
	"context"
	"io"
	"time"
)

// ObjectStore is the S3-compatible storage snapshots go to, as the service
// needs it. core/backup/s3store implements it with minio-go. Methods are
// safe for concurrent use.
type ObjectStore interface {
	// Put stores r under key, streaming it (the size is not known in
	// advance: a multipart upload of bounded parts). Nothing is visible
	// under key unless Put returns nil.
	Put(ctx context.Context, key string, r io.Reader, contentType string) (int64, error)
	// Get opens key for reading; core.ErrNotFound when absent.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns the objects whose key starts with prefix, in key order.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key          string
	Size         int64
	LastModified time.Time
}
