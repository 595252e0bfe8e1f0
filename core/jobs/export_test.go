package jobs

// CheckIdempotencyKey exposes the key check to its fuzz test.
var CheckIdempotencyKey = checkIdempotencyKey
