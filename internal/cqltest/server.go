package cqltest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/athena-go/athena/internal/childproc"
)

// server is a Cassandra JVM this binary started.
type server struct {
	dir     string // temp dir holding the config, data and log
	cmd     *exec.Cmd
	addr    string        // 127.0.0.1:<native port>
	startup time.Duration // from exec to the native port answering
}

const dirPrefix = "athena-cqltest-"

// startTimeout bounds the wait for the native port. Cassandra 5.0 opens it
// in about 5 s on an idle 2-core machine; a busy one (several test binaries
// at once) is slower.
const startTimeout = 3 * time.Minute

// jvmFlags are the options of Cassandra's conf/jvm17-server.options that it
// needs to run on Java 17 (module exports and opens, Netty's reflection),
// plus a heap small enough for a test machine.
var jvmFlags = []string{
	"-Xms256m", "-Xmx512m", "-Xss512k",
	"-XX:+UseG1GC", "-XX:+ParallelRefProcEnabled", "-XX:MaxTenuringThreshold=1", "-XX:G1HeapRegionSize=16m",
	"-XX:+ExitOnOutOfMemoryError", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
	"-Djdk.attach.allowAttachSelf=true",
	"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
	"--add-exports", "java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
	"--add-exports", "java.rmi/sun.rmi.registry=ALL-UNNAMED",
	"--add-exports", "java.rmi/sun.rmi.server=ALL-UNNAMED",
	"--add-exports", "java.sql/java.sql=ALL-UNNAMED",
	"--add-exports", "java.base/java.lang.ref=ALL-UNNAMED",
	"--add-exports", "jdk.unsupported/sun.misc=ALL-UNNAMED",
	"--add-exports", "jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
	"--add-exports", "jdk.attach/sun.tools.attach=ALL-UNNAMED",
	"--add-opens", "java.base/java.lang.module=ALL-UNNAMED",
	"--add-opens", "java.base/jdk.internal.loader=ALL-UNNAMED",
	"--add-opens", "java.base/jdk.internal.ref=ALL-UNNAMED",
	"--add-opens", "java.base/jdk.internal.reflect=ALL-UNNAMED",
	"--add-opens", "java.base/jdk.internal.math=ALL-UNNAMED",
	"--add-opens", "java.base/jdk.internal.module=ALL-UNNAMED",
	"--add-opens", "java.base/jdk.internal.util.jar=ALL-UNNAMED",
	"--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
	"--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
	"--add-opens", "java.base/java.io=ALL-UNNAMED",
	"--add-opens", "java.base/java.lang.reflect=ALL-UNNAMED",
	"--add-opens", "jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
	"--add-opens", "java.base/java.lang=ALL-UNNAMED",
	"--add-opens", "java.base/java.util=ALL-UNNAMED",
	"-Dio.netty.tryReflectionSetAccessible=true",
	"-Dio.netty.allocator.useCacheForAllThreads=true",
	"-Dio.netty.allocator.maxOrder=11",
	// A single node with nobody to gossip with: skip the waits meant for
	// joining a ring.
	"-Dcassandra-foreground=yes",
	"-Dcassandra.skip_wait_for_gossip_to_settle=0",
	"-Dcassandra.ring_delay_ms=0",
	"-Dcassandra.superuser_setup_delay_ms=0",
}

// yamlTemplate is the smallest cassandra.yaml that runs a single node for
// tests: loopback only, no snapshots on DROP, small commit log segments.
// %[1]s is the directory, %[2]d the storage port, %[3]d the native port.
const yamlTemplate = `cluster_name: athena-test
num_tokens: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:%[2]d"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: %[2]d
native_transport_port: %[3]d
start_native_transport: true
auto_bootstrap: false
auto_snapshot: false
commitlog_sync: periodic
commitlog_sync_period: 10000ms
commitlog_segment_size: 8MiB
commitlog_directory: %[1]s/commitlog
data_file_directories: [%[1]s/data]
saved_caches_directory: %[1]s/saved_caches
hints_directory: %[1]s/hints
cdc_raw_directory: %[1]s/cdc_raw
key_cache_size: 0MiB
counter_cache_size: 0MiB
concurrent_reads: 8
concurrent_writes: 8
concurrent_counter_writes: 8
user_defined_functions_enabled: false
`

const logbackTemplate = `<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>%s/system.log</file>
    <encoder><pattern>%%-5level [%%thread] %%date{ISO8601} %%F:%%L - %%msg%%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
`

// libDir finds the directory holding cassandra-all-*.jar: the env var, else
// test/cassandra/lib in the repository that contains the working directory.
func libDir() (string, error) {
	if d := os.Getenv("ATHENA_TEST_CASSANDRA_LIB"); d != "" {
		return d, checkLib(d)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "test", "cassandra", "pom.xml")); err == nil {
			d := filepath.Join(dir, "test", "cassandra", "lib")
			return d, checkLib(d)
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("test/cassandra/pom.xml not found above the working directory")
		}
	}
}

func checkLib(d string) error {
	m, _ := filepath.Glob(filepath.Join(d, "cassandra-all-*.jar"))
	if len(m) == 0 {
		return fmt.Errorf("no cassandra-all jar in %s (make deps fetches it)", d)
	}
	return nil
}

func findJava() (string, error) {
	if h := os.Getenv("JAVA_HOME"); h != "" {
		p := filepath.Join(h, "bin", "java")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", errors.New("java not found (JAVA_HOME or PATH); Cassandra 5.0 needs Java 11 or 17")
	}
	return p, nil
}

// tempRoot prefers a memory-backed directory: /tmp is a slow disk on the
// build machines.
func tempRoot() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", "cqltest-probe"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return os.TempDir()
}

// removeStale deletes temp dirs of test binaries that are gone. Their
// servers died with them (parent-death signal); only the files remain.
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

func startServer() (_ *server, err error) {
	lib, err := libDir()
	if err != nil {
		return nil, err
	}
	java, err := findJava()
	if err != nil {
		return nil, err
	}
	root := tempRoot()
	removeStale(root)
	// The free ports may be taken between probing and binding: retry.
	for attempt := 0; ; attempt++ {
		s, err := launch(java, lib, root)
		if err == nil {
			return s, nil
		}
		if attempt == 2 || !strings.Contains(err.Error(), "ddress already in use") {
			return nil, err
		}
	}
}

// launch starts Cassandra on free ports and waits until its native port
// accepts connections.
func launch(java, lib, root string) (_ *server, err error) {
	dir, err := os.MkdirTemp(root, fmt.Sprintf("%s%d-", dirPrefix, os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	storage, err := freePort()
	if err != nil {
		return nil, err
	}
	native, err := freePort()
	if err != nil {
		return nil, err
	}
	yaml := filepath.Join(dir, "cassandra.yaml")
	if err := os.WriteFile(yaml, fmt.Appendf(nil, yamlTemplate, dir, storage, native), 0o644); err != nil {
		return nil, err
	}
	logback := filepath.Join(dir, "logback.xml")
	if err := os.WriteFile(logback, fmt.Appendf(nil, logbackTemplate, dir), 0o644); err != nil {
		return nil, err
	}
	outPath := filepath.Join(dir, "out.log")
	out, err := os.Create(outPath)
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child holds its own descriptor
	args := append([]string{}, jvmFlags...)
	args = append(args,
		"-Dcassandra.config=file://"+yaml,
		"-Dcassandra.storagedir="+dir,
		"-Dcassandra.logdir="+dir,
		"-Dlogback.configurationFile="+logback,
		"-cp", filepath.Join(lib, "*"),
		"org.apache.cassandra.service.CassandraDaemon")
	cmd := exec.Command(java, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = procAttr()
	begin := time.Now()
	if err := childproc.Start(cmd); err != nil {
		return nil, fmt.Errorf("start java: %w", err)
	}
	s := &server{dir: dir, cmd: cmd, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(native))}
	deadline := begin.Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			s.startup = time.Since(begin)
			return s, nil
		}
		if exited(cmd) {
			return nil, fmt.Errorf("cassandra exited: %s", tail(filepath.Join(dir, "system.log"), outPath))
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("cassandra did not open its native port within %v: %s", startTimeout, tail(filepath.Join(dir, "system.log"), outPath))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tail returns the ERROR lines of the server log, or the end of its
// stdout when there are none.
func tail(logPath, outPath string) string {
	var errs []string
	if b, err := os.ReadFile(logPath); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "ERROR") || strings.Contains(l, "ddress already in use") {
				errs = append(errs, l)
			}
		}
	}
	if len(errs) > 0 {
		return strings.Join(errs, "\n")
	}
	b, _ := os.ReadFile(outPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// exited reports, without blocking, whether the process has ended (and
// reaps it if so).
func exited(cmd *exec.Cmd) bool {
	var ws syscall.WaitStatus
	pid, err := syscall.Wait4(cmd.Process.Pid, &ws, syscall.WNOHANG, nil)
	return pid == cmd.Process.Pid || errors.Is(err, syscall.ECHILD)
}

// stop asks the JVM to shut down (SIGTERM runs Cassandra's shutdown hook),
// kills it if it takes longer than 10 s, waits for it and removes the dir.
func (s *server) stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		kill := time.AfterFunc(10*time.Second, func() { _ = s.cmd.Process.Kill() })
		_ = s.cmd.Wait()
		kill.Stop()
	}
	_ = os.RemoveAll(s.dir)
}

// kill stops the JVM at once and waits for it; the caller removes the dir.
func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// rssKiB reads the JVM's resident set size from /proc (Linux); 0 elsewhere.
func (s *server) rssKiB() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}
