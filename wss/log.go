package wss

// Log attribute keys, in one place so every line spells them alike.
const (
	attrComponent = "component"
	attrConnID    = "conn_id"
	attrRemote    = "remote"
	attrClient    = "client"
	attrRequestID = "request_id"
	attrAction    = "action"
	attrReason    = "reason"
	attrError     = "error"
	attrStack     = "stack"
	attrPanic     = "panic"
)
