package wss

import (
	"encoding/json"
	"strings"

	"github.com/athena-go/athena/core"
)

// decodeTarget reads the body of request.cancel and the deferred.* actions:
// {"request_id": "..."}; what names the request it refers to.
func decodeTarget(body []byte, what string) (string, error) {
	var b struct {
		RequestID *string `json:"request_id"`
	}
	if len(body) == 0 || json.Unmarshal(body, &b) != nil {
		return "", core.Errorf(core.CodeBadRequest, `field body: must be an object {"request_id": "<id of %s>"}`, what)
	}
	if b.RequestID == nil || *b.RequestID == "" {
		return "", core.Errorf(core.CodeBadRequest, "field body.request_id: required (%s)", what)
	}
	return *b.RequestID, nil
}

// decodeAPIKey reads an auth frame's body: {"api_key": "..."}.
func decodeAPIKey(body []byte) (string, error) {
	var b struct {
		APIKey *string `json:"api_key"`
	}
	if len(body) == 0 || json.Unmarshal(body, &b) != nil {
		return "", core.Errorf(core.CodeBadRequest, `field body: must be an object {"api_key": "<key>"}`)
	}
	if b.APIKey == nil || strings.TrimSpace(*b.APIKey) == "" {
		return "", core.Errorf(core.CodeBadRequest, "field body.api_key: required")
	}
	return strings.TrimSpace(*b.APIKey), nil
}
