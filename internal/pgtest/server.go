package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is a postgres process this binary started.
type server struct {
	dir string // temp dir holding data/, the socket and log
	cmd *exec.Cmd
}

const dirPrefix = "athena-pgtest-"

func findBindir() (string, error) {
	if d := os.Getenv("ATHENA_TEST_PG_BINDIR"); d != "" {
		return d, nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
	if len(matches) > 0 {
		return filepath.Dir(matches[0]), nil
	}
	return "", errors.New("initdb not found (ATHENA_TEST_PG_BINDIR, pg_config, PATH, /usr/lib/postgresql/*/bin)")
}

// version is the major version in /usr/lib/postgresql/<v>/bin/initdb.
func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// tempRoot prefers a memory-backed directory: /tmp is a slow disk on the
// build machines and makes every test slow.
func tempRoot() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", "pgtest-probe"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return os.TempDir()
}

// removeStale deletes temp dirs of test binaries that are gone. Their servers
// died with them (parent-death signal); only the files remain.
func removeStale(root string) {
	dirs, _ := filepath.Glob(filepath.Join(root, dirPrefix+"*"))
	for _, d := range dirs {
		rest := strings.TrimPrefix(filepath.Base(d), dirPrefix)
		pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

// credential is the user to run PostgreSQL as: nil for the current user,
// the postgres user when running as root.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root and no postgres user: %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("postgres user ids: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func startServer() (_ *server, _ string, err error) {
	bindir, err := findBindir()
	if err != nil {
		return nil, "", err
	}
	cred, err := credential()
	if err != nil {
		return nil, "", err
	}
	root := tempRoot()
	removeStale(root)
	dir, err := os.MkdirTemp(root, fmt.Sprintf("%s%d-", dirPrefix, os.Getpid()))
	if err != nil {
		return nil, "", fmt.Errorf("create temp dir: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, "", fmt.Errorf("chown temp dir: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bindir, "initdb"), "--no-sync", "--no-locale", "-E", "UTF8",
		"-A", "trust", "-U", "postgres", "-D", data)
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("initdb: %w: %s", err, out)
	}
	// The free port may be taken between probing and binding: retry.
	for attempt := 0; ; attempt++ {
		s, uri, err := launch(bindir, dir, data, cred)
		if err == nil {
			return s, uri, nil
		}
		if attempt == 2 || !strings.Contains(err.Error(), "could not") {
			return nil, "", err
		}
	}
}

// launch starts postgres on a free port and waits until it accepts
// connections.
func launch(bindir, dir, data string, cred *syscall.Credential) (*server, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	logPath := filepath.Join(dir, "log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, "", fmt.Errorf("open server log: %w", err)
	}
	defer logf.Close() // the child holds its own descriptor
	cmd := exec.Command(filepath.Join(bindir, "postgres"), "-D", data,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(port),
		"-c", "unix_socket_directories="+dir, "-c", "max_connections=200")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr(cred)
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start postgres: %w", err)
	}
	s := &server{dir: dir, cmd: cmd}
	uri := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		err := exec1(ctx, uri, "SELECT 1")
		if err == nil {
			return s, uri, nil
		}
		if exited(cmd) {
			log, _ := os.ReadFile(logPath)
			return nil, "", fmt.Errorf("postgres exited: %s", log)
		}
		if ctx.Err() != nil {
			s.stop()
			return nil, "", fmt.Errorf("postgres did not accept connections: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exited reports, without blocking, whether the process has ended (and
// reaps it if so).
func exited(cmd *exec.Cmd) bool {
	var ws syscall.WaitStatus
	pid, err := syscall.Wait4(cmd.Process.Pid, &ws, syscall.WNOHANG, nil)
	return pid == cmd.Process.Pid || errors.Is(err, syscall.ECHILD)
}

// stop asks for a fast shutdown (SIGINT: clients disconnected, no wait for
// them), kills the server if it takes longer than 10 s, waits for it to exit
// and removes its directory.
func (s *server) stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		kill := time.AfterFunc(10*time.Second, func() { _ = s.cmd.Process.Kill() })
		_ = s.cmd.Wait() // ends once the postmaster has stopped its children
		kill.Stop()
	}
	_ = os.RemoveAll(s.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
