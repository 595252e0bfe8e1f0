package main

import (
	"io/fs"
	"net"

	"github.com/athena-go/athena/console"
)

// ConsoleConfig is config.yaml's console section: the browser console
// served at /console (DESIGN.md §4c).
type ConsoleConfig struct {
	// Enabled serves the console. Default: on when the server runs with no
	// config file on its loopback default (`make run`), off otherwise.
	Enabled *bool `yaml:"enabled"`
}

// consoleEnabled applies console.enabled's default: set, it wins; unset,
// the console is on only with no config file and a loopback listen address.
func (c *Config) consoleEnabled() bool {
	if c.Console.Enabled != nil {
		return *c.Console.Enabled
	}
	if c.path != "" {
		return false
	}
	ip := net.ParseIP(c.API.Host)
	return c.API.Host == "localhost" || (ip != nil && ip.IsLoopback())
}

// consoleFiles returns the console's files when it is enabled, else nil
// (rest answers 404 on /console).
func (c *Config) consoleFiles() fs.FS {
	if !c.consoleEnabled() {
		return nil
	}
	return console.Files()
}
