package auth

import (
	"errors"
	"time"
)

// The API-key records of the control plane, as its stores read and write
// them (core/store/sqlstore implements the stores).

// ErrUnknownRight means a key named a right that does not exist.
var ErrUnknownRight = errors.New("unknown right")

// ErrBuiltInRight means a built-in right cannot be changed or deleted.
var ErrBuiltInRight = errors.New("built-in right")

// APIKeyPatch changes the fields that are set. A set ExpiresAt that is zero
// clears the expiry; a set ClientName that is "" unbinds the key.
type APIKeyPatch struct {
	Name, Description, ClientName *string
	ExpiresAt                     *time.Time
	IsActive                      *bool
	Rights                        *[]string
}

// APIKeyRecord is a row of api_keys with the names of its rights. Salt and Hash
// are HMAC-SHA256 material; the secret is never stored.
type APIKeyRecord struct {
	PublicID    string
	Name        string
	Description string
	ClientName  string // "" means any client
	Salt, Hash  []byte
	ExpiresAt   time.Time // zero means never
	IsActive    bool
	ArchivedAt  time.Time // zero means not archived
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Rights      []string
}

// RightRecord is a row of api_key_rights.
type RightRecord struct {
	ID          int64
	Name        string
	Description string
	BuiltIn     bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// AuthConfigRecord is the enforcement switch and its per-client overrides.
type AuthConfigRecord struct {
	Enforce bool
	Clients map[string]ClientEnforcementRecord
}

// ClientEnforcementRecord is a row of api_key_client.
type ClientEnforcementRecord struct {
	Enforce   bool
	UpdatedAt time.Time
}
