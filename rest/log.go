package rest

// Log attribute keys, in one place so every line spells them alike.
const (
	attrComponent = "component"
	attrRequestID = "request_id"
	attrRoute     = "route"
	attrMethod    = "method"
	attrStatus    = "status"
	attrCode      = "code"
	attrDuration  = "duration"
	attrBytes     = "bytes"
	attrError     = "error"
	attrStack     = "stack"
	attrPanic     = "panic"
)
