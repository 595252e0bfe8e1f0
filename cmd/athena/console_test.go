package main

import (
	"io/fs"
	"strings"
	"testing"
)

// TestConsoleEnabled checks console.enabled's default: on with no config
// file on the loopback default (`make run`), off with a config file unless
// set, and an explicit value always wins.
func TestConsoleEnabled(t *testing.T) {
	t.Parallel()
	defaults, err := loadConfig("", envOf(map[string]string{"HOME": t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	if !defaults.consoleEnabled() || defaults.consoleFiles() == nil {
		t.Error("no config on loopback: the console must be on")
	}
	if _, err := fs.Stat(defaults.consoleFiles(), "index.html"); err != nil {
		t.Errorf("the embedded console has no index.html: %v", err)
	}
	for _, tt := range []struct {
		name, body string
		want       bool
	}{
		{"config file, key unset", "api:\n  port: 4100\n", false},
		{"config file, enabled", "console:\n  enabled: true\n", true},
		{"config file, disabled", "console:\n  enabled: false\n", false},
		{"beyond loopback, enabled", "api:\n  host: 0.0.0.0\nconsole:\n  enabled: true\n", true},
		{"beyond loopback, unset", "api:\n  host: 0.0.0.0\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(writeConfig(t, tt.body), envOf(nil))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.consoleEnabled(); got != tt.want {
				t.Errorf("consoleEnabled() = %v, want %v", got, tt.want)
			}
			if got := cfg.consoleFiles() != nil; got != tt.want {
				t.Errorf("consoleFiles() != nil is %v, want %v", got, tt.want)
			}
		})
	}
	// A config with no file but a non-loopback host cannot happen (no
	// file means the defaults), but the rule holds anyway.
	c := &Config{}
	c.applyDefaults()
	c.API.Host = "0.0.0.0"
	if c.consoleEnabled() {
		t.Error("no config file but a public host: the console must stay off")
	}
}

// TestConsoleConfigErrors checks bad console values are errors naming the
// key.
func TestConsoleConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ body, want string }{
		{"console:\n  enabled: maybe\n", "enabled"},
		{"console:\n  enabled: [true]\n", "enabled"},
		{"console:\n  enable: true\n", "enable"},
		{"console:\n  path: /ui\n", "path"},
		{"console: true\n", "console"},
	} {
		_, err := loadConfig(writeConfig(t, tt.body), envOf(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want one naming %q", tt.body, err, tt.want)
		}
	}
}
