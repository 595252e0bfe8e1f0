package core

import (
	"time"
)

// The control-plane records of issue 5, as core's stores (ControlPlane)
// read and write them. core/store/sqlstore implements the stores.

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

// ClientPatch changes the fields that are set.
type ClientPatch struct {
	Description, URIEnv, URI, Path, Keyspace *string
	Hosts                                    *[]string
	MaxConns                                 *int32
	IsActive                                 *bool
}
