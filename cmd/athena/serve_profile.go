package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
)

// startCPUProfile starts the runtime's CPU profiler (100 samples a second
// of CPU time) writing to path, for `athena serve --cpu-profile`. The
// returned stop ends profiling and closes the file; serve calls it as it
// exits, so the profile covers startup, the whole run and the drain. A
// process killed with SIGKILL leaves an incomplete file.
func startCPUProfile(path string, log *slog.Logger) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	log.Info("cpu profile started", "path", path)
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			log.Warn("cpu profile not written", "path", path, "error", err)
			return
		}
		log.Info("cpu profile written", "path", path)
	}, nil
}
