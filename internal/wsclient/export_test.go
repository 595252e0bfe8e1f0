package wsclient

// SetTestHookSent makes Do call fn once a request's frame is written; nil
// removes the hook. Not safe while requests are in flight.
func SetTestHookSent(fn func(requestID string)) { testHookSent = fn }

// SetTestHookFrame makes every Conn hand each frame it sends ("send") and
// receives ("recv") to fn; nil removes the hook. Set it before dialing.
func SetTestHookFrame(fn func(dir string, b []byte)) { testHookFrame = fn }
