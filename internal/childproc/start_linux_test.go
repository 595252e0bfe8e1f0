package childproc

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStartOutlivesCallerThread forks two children that ask for SIGTERM when
// their parent dies, each from a goroutine that ends locked to its thread
// (so the runtime destroys that thread): one with cmd.Start, the control,
// which the kernel must signal, and one with Start, which it must not.
func TestStartOutlivesCallerThread(t *testing.T) {
	direct := startFromDyingThread(t, (*exec.Cmd).Start)
	if !signalled(t, direct) {
		t.Fatal("control: a child forked by a thread that exited got no parent-death signal, so this test cannot tell Start from cmd.Start")
	}
	via := startFromDyingThread(t, Start)
	if signalled(t, via) {
		t.Fatal("a child started by Start got its parent-death signal when the caller's thread exited")
	}
}

// startFromDyingThread starts `sleep` with a parent-death signal through
// start, from a goroutine that ends locked to its thread, and returns once
// that thread is gone. Every signal its exit sends is queued by then: the
// kernel sends them before it unhashes the thread from /proc.
func startFromDyingThread(t *testing.T, start func(*exec.Cmd) error) *exec.Cmd {
	t.Helper()
	for {
		cmd := exec.Command("sleep", "600")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		type started struct {
			tid int
			err error
		}
		done := make(chan started, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			err := start(cmd)
			done <- started{syscall.Gettid(), err}
		}()
		s := <-done
		if s.err != nil {
			t.Fatal(s.err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		if s.tid == os.Getpid() {
			// The main thread is never destroyed (the runtime parks it), so
			// it proves nothing; try again on another thread.
			continue
		}
		task := fmt.Sprintf("/proc/self/task/%d", s.tid)
		deadline := time.Now().Add(time.Minute)
		for {
			if _, err := os.Stat(task); os.IsNotExist(err) {
				return cmd
			}
			if time.Now().After(deadline) {
				t.Fatalf("thread %d did not exit after its locked goroutine ended", s.tid)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// signalled reports whether cmd's process is gone, a zombie, or has a
// signal pending (a fatal signal shows as a pending SIGKILL).
func signalled(t *testing.T, cmd *exec.Cmd) bool {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return true
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "State":
			if strings.HasPrefix(val, "Z") || strings.HasPrefix(val, "X") {
				return true
			}
		case "SigPnd", "ShdPnd":
			mask, err := strconv.ParseUint(val, 16, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", key, val, err)
			}
			if mask != 0 {
				return true
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return false
}
