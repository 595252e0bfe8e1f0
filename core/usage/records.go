package usage

import "time"

// AuthAttempt is a row of api_key_auth_log.
type AuthAttempt struct {
	At         time.Time
	APIKeyID   string
	ClientName string
	Right      string
	Outcome    string // granted, unauthorized or forbidden
	Reason     string
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

// DrilldownFilter filters a client's operation log. Empty fields match anything.
type DrilldownFilter struct {
	ClientName, TableName, Operation, Status string
	Limit, Offset                            int
}
