package admission

import "github.com/prometheus/client_golang/prometheus"

// NewAdmitter builds the limiter of cfg with its metrics on reg.
func NewAdmitter(cfg Config, reg prometheus.Registerer) (*Limiter, error) { return New(cfg, reg, nil) }

// MemoryKeys is how many keys the in-memory counter holds.
func (a *Limiter) MemoryKeys() int { return a.mem.len() }

// NewMemCounter returns the in-process Counter.
func NewMemCounter() Counter { return newMemCounter() }
