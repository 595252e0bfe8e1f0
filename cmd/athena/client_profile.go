package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// profile is what "athena login" saves: where the client commands connect
// and with which key, so no command needs them spelled out. The file is
// JSON, mode 0600, in the user's config dir (profileDir).
type profile struct {
	URL      string `json:"url"`
	APIKey   string `json:"api_key,omitempty"`
	Client   string `json:"client,omitempty"`
	AdminKey string `json:"admin_key,omitempty"`
}

// profileDir is the directory holding the profile and the shell history:
// $XDG_CONFIG_HOME/athena, else $HOME/.config/athena.
func profileDir(getenv func(string) string) (string, error) {
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "athena"), nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "athena"), nil
	}
	return "", errors.New("neither XDG_CONFIG_HOME nor HOME is set: no config dir for the profile")
}

// profilePath is the profile file.
func profilePath(getenv func(string) string) (string, error) {
	dir, err := profileDir(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "profile.json"), nil
}

// loadProfile reads the profile at path; a missing file is an empty
// profile and found is false.
func loadProfile(path string) (p profile, found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return profile{}, false, nil
	}
	if err != nil {
		return profile{}, false, fmt.Errorf("read profile: %w", err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return profile{}, false, fmt.Errorf("profile %s is not valid JSON (run \"athena login\" again): %w", path, err)
	}
	return p, true, nil
}

// saveProfile writes p to path with mode 0600 (its directory 0700): it
// holds keys. The file is written beside and renamed, so a reader never
// sees half of it and a file of wider mode is never left behind.
func saveProfile(path string, p profile) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create config dir: %w", err)
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encode profile: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".profile-*.json")
	if err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write profile: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write profile: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	return nil
}
