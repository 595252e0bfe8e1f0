//go:build !linux

package bench_test

import "time"

func procCPU(int) (time.Duration, bool) { return 0, false }
func selfCPU() (time.Duration, bool)    { return 0, false }
