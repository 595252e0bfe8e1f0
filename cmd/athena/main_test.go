package main

import (
	"testing"

	"github.com/athena-go/athena/internal/pgtest"
)

// TestMain stops the throwaway PostgreSQL the CLI tests start.
func TestMain(m *testing.M) { pgtest.Run(m) }
