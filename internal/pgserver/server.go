package pgserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/athena-go/athena/internal/childproc"
)

// Config configures Start. The zero value of every field means its default.
type Config struct {
	// BinDir holds initdb and postgres. Default: pg_config --bindir, then
	// initdb on PATH, then the highest /usr/lib/postgresql/*/bin.
	BinDir string
	// Root is the directory the server's temp dir is made in. Default
	// /dev/shm when writable (a tmpfs: startup in well under a second),
	// else os.TempDir().
	Root string
	// DirPrefix starts the temp dir's name, followed by the pid of this
	// process; dirs with this prefix whose process is gone are removed.
	// Default "athena-pg-".
	DirPrefix string
	// MaxConnections is the server's max_connections. Default 200.
	MaxConnections int
	// StartTimeout bounds waiting for the server to accept connections.
	// Default 60s.
	StartTimeout time.Duration
}

// Server is a postgres process this process started. Stop is safe to call
// more than once and from several goroutines.
type Server struct {
	uri  string
	dir  string // temp dir holding data/, the socket and log
	cmd  *exec.Cmd
	once sync.Once
}

// URI returns the admin DSN: database postgres, user postgres, no password.
func (s *Server) URI() string { return s.uri }

// Start runs initdb and postgres and waits until the server accepts
// connections.
func Start(cfg Config) (_ *Server, err error) {
	if cfg.DirPrefix == "" {
		cfg.DirPrefix = "athena-pg-"
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = 200
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	bindir := cfg.BinDir
	if bindir == "" {
		if bindir, err = findBindir(); err != nil {
			return nil, err
		}
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	root := cfg.Root
	if root == "" {
		root = tempRoot()
	}
	removeStale(root, cfg.DirPrefix)
	dir, err := os.MkdirTemp(root, fmt.Sprintf("%s%d-", cfg.DirPrefix, os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("chown temp dir: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bindir, "initdb"), "--no-sync", "--no-locale", "-E", "UTF8",
		"-A", "trust", "-U", "postgres", "-D", data)
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	// The free port may be taken between probing and binding: retry.
	for attempt := 0; ; attempt++ {
		s, err := launch(cfg, bindir, dir, data, cred)
		if err == nil {
			return s, nil
		}
		if attempt == 2 || !strings.Contains(err.Error(), "could not") {
			return nil, err
		}
	}
}

// CreateDatabase creates an empty database and returns its DSN. name must
// be a plain lowercase identifier.
func (s *Server) CreateDatabase(ctx context.Context, name string) (string, error) {
	return CreateDatabase(ctx, s.uri, name)
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// CreateDatabase creates an empty database named name on the server whose
// admin DSN is admin, and returns the new database's DSN.
func CreateDatabase(ctx context.Context, admin, name string) (string, error) {
	if !identRE.MatchString(name) {
		return "", fmt.Errorf("database name %q: not a plain lowercase identifier", name)
	}
	if err := Exec(ctx, admin, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", fmt.Errorf("parse server URI: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// Exec runs one statement on a short-lived connection.
func Exec(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	return nil
}

// Stop asks for a fast shutdown (SIGINT: clients disconnected, no wait for
// them), kills the server if it takes longer than 10 s, waits for it to
// exit and removes its directory.
func (s *Server) Stop() {
	s.once.Do(func() {
		if s.cmd.Process != nil {
			_ = s.cmd.Process.Signal(syscall.SIGINT)
			kill := time.AfterFunc(10*time.Second, func() { _ = s.cmd.Process.Kill() })
			_ = s.cmd.Wait() // ends once the postmaster has stopped its children
			kill.Stop()
		}
		_ = os.RemoveAll(s.dir)
	})
}

func findBindir() (string, error) {
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
	return "", errors.New("initdb not found (pg_config, PATH, /usr/lib/postgresql/*/bin): install postgresql")
}

// version is the major version in /usr/lib/postgresql/<v>/bin/initdb.
func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// tempRoot prefers a memory-backed directory: a disk-backed temp dir makes
// every statement that touches files slow.
func tempRoot() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", "pgserver-probe"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return os.TempDir()
}

// removeStale deletes temp dirs of processes that are gone. Their servers
// died with them (parent-death signal); only the files remain.
func removeStale(root, prefix string) {
	dirs, _ := filepath.Glob(filepath.Join(root, prefix+"*"))
	for _, d := range dirs {
		rest := strings.TrimPrefix(filepath.Base(d), prefix)
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

// launch starts postgres on a free port and waits until it accepts
// connections.
func launch(cfg Config, bindir, dir, data string, cred *syscall.Credential) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open server log: %w", err)
	}
	defer logf.Close() // the child holds its own descriptor
	cmd := exec.Command(filepath.Join(bindir, "postgres"), "-D", data,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(port),
		"-c", "unix_socket_directories="+dir, "-c", "max_connections="+strconv.Itoa(cfg.MaxConnections),
		// Live queries read changes through logical replication (one
		// temporary slot and one WAL sender per reader; tests run many).
		// A WAL sender sends only flushed WAL: with synchronous_commit off,
		// the WAL writer's delay (200ms by default) would add up to that
		// much to every change's way to a live query.
		"-c", "wal_level=logical", "-c", "max_replication_slots=100", "-c", "max_wal_senders=100",
		"-c", "wal_writer_delay=10ms")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr(cred)
	if err := childproc.Start(cmd); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	s := &Server{dir: dir, cmd: cmd}
	s.uri = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	ctx, cancel := context.WithTimeout(context.Background(), cfg.StartTimeout)
	defer cancel()
	for {
		err := Exec(ctx, s.uri, "SELECT 1")
		if err == nil {
			return s, nil
		}
		if exited(cmd) {
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("postgres exited: %s", log)
		}
		if ctx.Err() != nil {
			s.stopProcess()
			return nil, fmt.Errorf("postgres did not accept connections: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stopProcess stops the server but leaves its dir (launch retries in it).
func (s *Server) stopProcess() {
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	kill := time.AfterFunc(10*time.Second, func() { _ = s.cmd.Process.Kill() })
	_ = s.cmd.Wait()
	kill.Stop()
}

// exited reports, without blocking, whether the process has ended (and
// reaps it if so).
func exited(cmd *exec.Cmd) bool {
	var ws syscall.WaitStatus
	pid, err := syscall.Wait4(cmd.Process.Pid, &ws, syscall.WNOHANG, nil)
	return pid == cmd.Process.Pid || errors.Is(err, syscall.ECHILD)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
