//go:build !linux

package loadgen

// kernelSocketBytes cannot be read without /proc.
func kernelSocketBytes() (int64, bool) { return 0, false }
