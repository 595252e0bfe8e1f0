package core

import (
	"errors"
	"time"
)

// The control-plane records of issue 5, as core's stores (ControlPlane)
// read and write them. core/store/sqlstore implements the stores.

// ErrUnknownRight means a key named a right that does not exist.
var ErrUnknownRight = errors.New("unknown right")

// ErrBuiltInRight means a built-in right cannot be changed or deleted.
var ErrBuiltInRight = errors.New("built-in right")

// APIKeyPatch changes the request.Fields that are set. A set ExpiresAt that is zero
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

// AuthAttempt is a row of api_key_auth_log.
type AuthAttempt struct {
	At         time.Time
	APIKeyID   string
	ClientName string
	Right      string
	Outcome    string // granted, unauthorized or forbidden
	Reason     string
}

// ClientRecord is a row of athena_clients.
type ClientRecord struct {
	Name        string
	Kind        string // postgresql, sqlite or scylla
	URIEnv      string // env var holding the PostgreSQL URI
	URI         string // inline PostgreSQL URI; never returned by the API
	Path        string // SQLite file
	Hosts       []string
	Keyspace    string
	MaxConns    int32
	Description string
	Source      string // config or admin
	IsActive    bool
	IsFrozen    bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ClientPatch changes the request.Fields that are set.
type ClientPatch struct {
	Description, URIEnv, URI, Path, Keyspace *string
	Hosts                                    *[]string
	MaxConns                                 *int32
	IsActive                                 *bool
}

// RequestLog is a row of gateway_request_log: one gateway request.
type RequestLog struct {
	At         time.Time
	ClientName string
	Operation  string
	StatusCode int
	ErrorCode  string
	DurationUS int64
	APIKeyID   string
}

// OperationLog is a row of gateway_operation_log: one operation on a table
// ("" for raw SQL).
type OperationLog struct {
	ID         int64
	At         time.Time
	ClientName string
	TableName  string
	Operation  string
	Status     string // success or error
	ErrorCode  string
	DurationUS int64
}

// ClientStat is a row of client_statistics, or a delta to add to one.
type ClientStat struct {
	ClientName string
	Total      int64
	Success    int64
	Errors     int64
	DurationUS int64
	LastAt     time.Time
	UpdatedAt  time.Time
}

// TableStat is a row of client_table_statistics, or a delta to add to one.
type TableStat struct {
	ClientName string
	TableName  string
	Operation  string
	Total      int64
	Success    int64
	Errors     int64
	DurationUS int64
	LastAt     time.Time
}

// DrilldownFilter filters a client's operation log. Empty request.Fields match anything.
type DrilldownFilter struct {
	ClientName, TableName, Operation, Status string
	Limit, Offset                            int
}
