// Package s3store is core/backup's ObjectStore on S3-compatible storage
// (AWS S3, MinIO, SeaweedFS, moto, R2, ...) through minio-go. Only this
// package imports minio-go; core/backup sees the ObjectStore interface.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/backup"
)

// Config locates a bucket.
type Config struct {
	// Endpoint is host[:port] of the S3 API, without a scheme. Required.
	Endpoint string
	// Insecure uses plain HTTP instead of HTTPS. Default false.
	Insecure bool
	// Bucket holds the snapshots. Required; it must exist.
	Bucket string
	// Region is the bucket's region. Default: asked from the server.
	Region string
	// PathStyle addresses the bucket as endpoint/bucket instead of
	// bucket.endpoint (MinIO, SeaweedFS, moto need it). Default false.
	PathStyle bool
	// AccessKey and SecretKey authenticate; both empty means anonymous.
	AccessKey string
	SecretKey core.Secret
	// PartSize is the multipart part size in bytes: the memory one upload
	// buffers, and 10,000 parts bound an object's size. Default 16 MiB
	// (objects up to about 156 GiB); minimum 5 MiB.
	PartSize uint64
	// MaxRetries bounds minio-go's retries of one request. Default 3.
	MaxRetries int
}

// Store is a bucket. It is safe for concurrent use.
type Store struct {
	c        *minio.Client
	bucket   string
	partSize uint64
}

var _ backup.ObjectStore = (*Store)(nil)

// New builds a Store; it does not contact the server.
func New(cfg Config) (*Store, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("s3store: endpoint and bucket are required")
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = 16 << 20
	}
	if cfg.PartSize < 5<<20 {
		return nil, errors.New("s3store: part size must be at least 5 MiB")
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 3
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	var creds *credentials.Credentials
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKey, string(cfg.SecretKey), "")
	} else {
		creds = credentials.New(&credentials.Static{})
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        creds,
		Secure:       !cfg.Insecure,
		Region:       cfg.Region,
		BucketLookup: lookup,
		MaxRetries:   cfg.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("s3store: %w", err)
	}
	return &Store{c: c, bucket: cfg.Bucket, partSize: cfg.PartSize}, nil
}

// Put streams r to key as a multipart upload of PartSize parts; one part
// is buffered at a time. A failed upload is aborted, leaving nothing.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, contentType string) (int64, error) {
	info, err := s.c.PutObject(ctx, s.bucket, key, r, -1, minio.PutObjectOptions{
		ContentType: contentType,
		PartSize:    s.partSize,
	})
	if err != nil {
		return 0, fmt.Errorf("s3store: put %s: %w", key, err)
	}
	return info.Size, nil
}

// Get opens key. The first read reports a missing key as core.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	o, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.mapErr("get", key, err)
	}
	// GetObject is lazy: Stat makes a missing key an error now.
	if _, err := o.Stat(); err != nil {
		o.Close()
		return nil, s.mapErr("get", key, err)
	}
	return o, nil
}

// List returns the objects under prefix.
func (s *Store) List(ctx context.Context, prefix string) ([]backup.ObjectInfo, error) {
	var out []backup.ObjectInfo
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, s.mapErr("list", prefix, o.Err)
		}
		out = append(out, backup.ObjectInfo{Key: o.Key, Size: o.Size, LastModified: o.LastModified})
	}
	return out, nil
}

// Delete removes key.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return s.mapErr("delete", key, err)
	}
	return nil
}

func (s *Store) mapErr(op, key string, err error) error {
	resp := minio.ToErrorResponse(err)
	if resp.StatusCode == http.StatusNotFound || strings.EqualFold(resp.Code, "NoSuchKey") {
		return fmt.Errorf("s3store: %s %s: %w: %w", op, key, core.ErrNotFound, err)
	}
	return fmt.Errorf("s3store: %s %s: %w", op, key, err)
}
