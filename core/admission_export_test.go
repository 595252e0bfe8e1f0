package core

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Admitter exposes the admission check to the window tests.
type Admitter struct{ a *admission }

// NewAdmitter builds the admission check of cfg with its metrics on reg.
func NewAdmitter(cfg AdmissionConfig, reg prometheus.Registerer) (*Admitter, error) {
	a, err := newAdmission(cfg, reg, nil)
	if err != nil {
		return nil, err
	}
	return &Admitter{a: a}, nil
}

// Verdict is one check's outcome.
type Verdict struct {
	Over        bool
	Limit       string
	Count       int64
	LimitValue  int64
	WindowStart time.Time
	RetryAfter  time.Duration
}

// Check counts one request of client.
func (ad *Admitter) Check(ctx context.Context, client string) Verdict {
	v := ad.a.check(ctx, client)
	return Verdict{Over: v.over, Limit: v.limitKind, Count: v.count, LimitValue: v.limit, WindowStart: v.windowStart, RetryAfter: v.retryAfter}
}

// MemoryKeys is how many keys the in-memory counter holds.
func (ad *Admitter) MemoryKeys() int { return ad.a.mem.len() }

// Close stops the admitter's writer.
func (ad *Admitter) Close() { ad.a.close() }

// NewMemCounter returns the in-process Counter.
func NewMemCounter() Counter { return newMemCounter() }
