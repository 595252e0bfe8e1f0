package wsclient

// SetTestHookSent makes Do call fn once a request's frame is written; nil
// removes the hook. Not safe while requests are in flight.
func SetTestHookSent(fn func(requestID string)) { testHookSent = fn }
