package main

import (
	"time"

	"github.com/athena-go/athena/core"
)

// applyLimitDefaults fills the reply and time bounds of DESIGN.md §8a.
func (c *Config) applyLimitDefaults() {
	if c.API.WriteTimeout == 0 {
		c.API.WriteTimeout = Duration(30 * time.Second)
	}
	if c.API.BodyReadTimeout == 0 {
		c.API.BodyReadTimeout = Duration(30 * time.Second)
	}
	if c.Gateway.MaxStatementTimeout == 0 {
		c.Gateway.MaxStatementTimeout = Duration(core.DefaultMaxStatementTimeout)
	}
	if c.Gateway.MaxReplyBytes == 0 {
		c.Gateway.MaxReplyBytes = core.DefaultMaxReplyBytes
	}
}

// validateLimits checks the reply and time bounds, each by its key.
func (c *Config) validateLimits(bad func(key, format string, args ...any)) {
	checkDuration(bad, "api.write_timeout", c.API.WriteTimeout)
	checkDuration(bad, "api.body_read_timeout", c.API.BodyReadTimeout)
	checkDuration(bad, "gateway.max_statement_timeout", c.Gateway.MaxStatementTimeout)
	if c.Gateway.MaxStatementTimeout != badDuration && c.Gateway.StatementTimeout != badDuration &&
		c.Gateway.MaxStatementTimeout < c.Gateway.StatementTimeout {
		bad("gateway.max_statement_timeout", "must not be below gateway.statement_timeout (%s), got %s",
			time.Duration(c.Gateway.StatementTimeout), time.Duration(c.Gateway.MaxStatementTimeout))
	}
	if c.Gateway.MaxReplyBytes < 1024 {
		bad("gateway.max_reply_bytes", "must be at least 1024, got %d", c.Gateway.MaxReplyBytes)
	}
	check := func(key string, v int) {
		if v != 0 && v < 1024 {
			bad(key+".max_reply_bytes", "must be at least 1024 (or absent for gateway.max_reply_bytes), got %d", v)
		}
	}
	for name, pc := range c.PostgresClients {
		check("postgres_clients."+name, pc.MaxReplyBytes)
	}
	for name, sc := range c.SQLiteClients {
		check("sqlite_clients."+name, sc.MaxReplyBytes)
	}
	for name, sc := range c.ScyllaClients {
		check("scylla_clients."+name, sc.MaxReplyBytes)
	}
}
