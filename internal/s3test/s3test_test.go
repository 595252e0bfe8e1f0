package s3test_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/athena-go/athena/internal/s3test"
)

func TestMain(m *testing.M) { s3test.Run(m) }

// TestBucketRoundTrip stores and reads an object in a bucket of the shared
// server, and checks the bucket is gone after the subtest's cleanup.
func TestBucketRoundTrip(t *testing.T) {
	endpoint := s3test.Endpoint(t)
	c := s3test.Client(t, endpoint)
	var name string
	t.Run("use", func(t *testing.T) {
		name = s3test.Bucket(t, endpoint)
		body := []byte("hello")
		if _, err := c.PutObject(t.Context(), name, "a/b", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		o, err := c.GetObject(t.Context(), name, "a/b", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(o)
		if err != nil || string(got) != "hello" {
			t.Fatalf("read %q, %v", got, err)
		}
	})
	ok, err := c.BucketExists(t.Context(), name)
	if err != nil || ok {
		t.Fatalf("bucket %s still exists after cleanup (%v, %v)", name, ok, err)
	}
}

// TestPrivateServerStops starts a private server, stops it, and checks
// that it no longer answers.
func TestPrivateServerStops(t *testing.T) {
	s := s3test.StartServer(t)
	c := s3test.Client(t, s.Endpoint)
	if _, err := c.ListBuckets(t.Context()); err != nil {
		t.Fatalf("fresh server: %v", err)
	}
	s.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := c.ListBuckets(ctx); err == nil {
		t.Fatal("stopped server still answers")
	}
}
