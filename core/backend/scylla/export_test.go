package scylla

import (
	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/athena-go/athena/core"
)

// PagesForTest is the number of pages an iterRows cursor has received.
func PagesForTest(r core.Rows) int { return r.(*iterRows).pages }

// ObserveForTest makes the backend's session, when it is created, dial
// with d and report the headers of the frames it receives to o.
func ObserveForTest(b *Backend, d gocql.Dialer, o gocql.FrameHeaderObserver) {
	b.cluster.Dialer = d
	b.cluster.FrameHeaderObserver = o
}
