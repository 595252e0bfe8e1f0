package childproc

import (
	"os/exec"
	"runtime"
	"sync"
)

type startReq struct {
	cmd  *exec.Cmd
	done chan<- error
}

var (
	spawnerOnce sync.Once
	starts      chan startReq
)

// Start starts cmd, like cmd.Start, from a thread that lives as long as the
// process, so a parent-death signal set in cmd.SysProcAttr is sent only
// when the process ends. It is safe for concurrent use.
func Start(cmd *exec.Cmd) error {
	spawnerOnce.Do(func() {
		starts = make(chan startReq)
		go spawner()
	})
	done := make(chan error, 1)
	starts <- startReq{cmd: cmd, done: done}
	return <-done
}

// spawner owns the forking thread. It never returns and never unlocks, so
// its thread is never handed to another goroutine or destroyed.
func spawner() {
	runtime.LockOSThread()
	for r := range starts {
		r.done <- r.cmd.Start()
	}
}
