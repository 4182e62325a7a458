package localredis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rcli-dev/rcli/internal/resp"
)

// EnvBinary names the environment variable that overrides where redis-server is found.
const EnvBinary = "RCLI_REDIS_SERVER"

// ErrNoBinary reports that no redis-server binary could be found. Errors returned by
// FindBinary, Start and StartCluster wrap it; test it with errors.Is.
var ErrNoBinary = errors.New("localredis: redis-server not found (install it or set " + EnvBinary + ")")

const (
	startAttempts       = 5                        // tries with fresh ports when a port is taken
	defaultStartTimeout = 15 * time.Second         // bounds Start when ctx has no deadline
	readyPollInterval   = 10 * time.Millisecond    // between readiness probes
	probeTimeout        = time.Second              // one readiness probe
	stopGrace           = 3 * time.Second          // SIGTERM to SIGKILL in Stop
	logTailBytes        = 8 << 10                  // how much of the log Log returns
	maxUnixSocketPath   = 104                      // sun_path on macOS; Linux allows 108
	logFileName         = "redis.log"              // in Options.Dir
	socketFileName      = "redis.sock"             // in Options.Dir
	loopbackHost        = "127.0.0.1"              // the only interface servers listen on
	bindFailureMarker   = "Address already in use" // in the log of a server that lost its port
)

// errPortInUse marks a start that failed because a port was taken before the server
// could bind it; start retries those with fresh ports.
var errPortInUse = errors.New("port already in use")

// Options says how to start one redis-server.
type Options struct {
	// Binary is the redis-server executable. Empty means $RCLI_REDIS_SERVER, else
	// redis-server found in $PATH.
	Binary string
	// Dir is the server's working directory, where it keeps its log, socket and any
	// files it writes. Required; it must exist.
	Dir string
	// Args are extra configuration arguments, such as "--maxmemory", "10mb". They come
	// after the ones Start sets, so they override them.
	Args []string
	// TLSPort makes the picked port the TLS one (--tls-port P --port 0): the server then
	// accepts only TLS. The certificate arguments go in Args, and TLSConfig is required.
	TLSPort bool
	// TLSConfig is the client configuration the readiness probe, Server.Dial and the
	// cluster fixture use to reach a TLS server.
	TLSConfig *tls.Config
	// PlainPort, with TLSPort, makes the server listen for plain TCP as well, on a second
	// free port (--tls-port P --port P2), recorded in Server.PlainPort and
	// Server.PlainAddr: a test can then prove that a client never uses the plain one.
	// Server.Dial, the readiness probe and the cluster fixture still use TLS.
	PlainPort bool
	// UnixSocket also listens on Dir/redis.sock (--unixsocket, --unixsocketperm 700).
	UnixSocket bool
	// User and Password, when Password is set, authenticate the connections made by
	// this package (readiness probes, Server.Dial, the cluster fixture). They are not
	// passed to the server: configure it through Args.
	User     string
	Password string
}

// Server is a running (or stopped) redis-server process started by Start. Its fields
// describe where it listens; do not change them. PID is updated by Restart, so do not
// read it concurrently with Restart.
type Server struct {
	Addr    string // "127.0.0.1:port", TLS-only when Options.TLSPort was set
	Port    int    // the TCP (or TLS) port
	PID     int    // the process id of the current process
	Dir     string // the absolute working directory
	Socket  string // the unix socket path, or "" without Options.UnixSocket
	LogPath string // the server's log file, which also receives its stdout and stderr
	BusPort int    // the cluster bus port of a cluster node, 0 for a standalone server
	// PlainPort and PlainAddr are the plain TCP port and address of a TLS server started
	// with Options.PlainPort, else 0 and "".
	PlainPort int
	PlainAddr string

	binary   string
	argv     []string
	tlsConf  *tls.Config
	user     string
	password string

	mu     sync.Mutex
	proc   *process
	paused bool
}

// process is one exec of redis-server; done is closed once it has been waited for.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the result of cmd.Wait, valid after done is closed
}

// portPicker returns a port that was free a moment ago.
type portPicker func() (int, error)

// extraArgs returns arguments that need ports of their own (the cluster bus port),
// picked afresh on each start attempt, and records those ports in s.
type extraArgs func(s *Server, pick portPicker) ([]string, error)

// FindBinary returns the redis-server to run: $RCLI_REDIS_SERVER when set, else
// redis-server from $PATH. When neither is usable the error wraps ErrNoBinary.
func FindBinary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%w: %s=%q: %v", ErrNoBinary, EnvBinary, p, err)
		}
		return path, nil
	}
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoBinary, err)
	}
	return path, nil
}

// Start launches redis-server on a free loopback port and returns once it answers PING.
// The server runs with --save "" --appendonly no --enable-debug-command yes
// --repl-diskless-sync-delay 0, logs to Dir/redis.log and does not daemonize; if the
// port is taken before the server binds it, Start retries with a fresh one. ctx bounds
// the whole start (15 seconds when it has no deadline) but not the server's life: stop
// it with Stop or Kill.
func Start(ctx context.Context, opts Options) (*Server, error) {
	return start(ctx, opts, freePort, nil)
}

func start(ctx context.Context, opts Options, pick portPicker, extra extraArgs) (*Server, error) {
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withDefaultTimeout(ctx, defaultStartTimeout)
	defer cancel()
	var lastErr error
	for attempt := 0; attempt < startAttempts; attempt++ {
		port, err := pick()
		if err != nil {
			return nil, err
		}
		var more []string
		if extra != nil {
			if more, err = extra(s, pick); err != nil {
				return nil, err
			}
		}
		s.Port = port
		s.Addr = net.JoinHostPort(loopbackHost, strconv.Itoa(port))
		if opts.PlainPort {
			if s.PlainPort, err = pick(); err != nil {
				return nil, err
			}
			s.PlainAddr = net.JoinHostPort(loopbackHost, strconv.Itoa(s.PlainPort))
		}
		s.argv = s.buildArgs(opts, more)
		lastErr = s.launch(ctx)
		if lastErr == nil {
			return s, nil
		}
		if !errors.Is(lastErr, errPortInUse) || ctx.Err() != nil {
			return nil, lastErr
		}
	}
	return nil, fmt.Errorf("localredis: gave up after %d attempts: %w", startAttempts, lastErr)
}

// newServer checks opts and fills in everything but the port.
func newServer(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("localredis: Options.Dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("localredis: resolve dir %q: %w", opts.Dir, err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("localredis: server dir: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("localredis: server dir %s is not a directory", dir)
	}
	if opts.TLSPort && opts.TLSConfig == nil {
		return nil, errors.New("localredis: Options.TLSPort needs Options.TLSConfig to probe the server")
	}
	if opts.PlainPort && !opts.TLSPort {
		return nil, errors.New("localredis: Options.PlainPort needs Options.TLSPort")
	}
	binary := opts.Binary
	if binary == "" {
		if binary, err = FindBinary(); err != nil {
			return nil, err
		}
	}
	s := &Server{
		Dir:      dir,
		LogPath:  filepath.Join(dir, logFileName),
		binary:   binary,
		tlsConf:  opts.TLSConfig,
		user:     opts.User,
		password: opts.Password,
	}
	if opts.UnixSocket {
		s.Socket = filepath.Join(dir, socketFileName)
		if len(s.Socket) >= maxUnixSocketPath {
			return nil, fmt.Errorf("localredis: unix socket path %s is longer than %d bytes", s.Socket, maxUnixSocketPath-1)
		}
	}
	return s, nil
}

// buildArgs returns the full command line for the current port.
func (s *Server) buildArgs(opts Options, more []string) []string {
	port := strconv.Itoa(s.Port)
	var args []string
	if opts.TLSPort {
		args = append(args, "--tls-port", port, "--port", strconv.Itoa(s.PlainPort))
	} else {
		args = append(args, "--port", port)
	}
	args = append(args,
		"--bind", loopbackHost,
		"--dir", s.Dir,
		"--save", "",
		"--appendonly", "no",
		"--enable-debug-command", "yes",
		"--repl-diskless-sync-delay", "0",
		"--logfile", s.LogPath,
		"--daemonize", "no",
	)
	if s.Socket != "" {
		args = append(args, "--unixsocket", s.Socket, "--unixsocketperm", "700")
	}
	args = append(args, more...)
	return append(args, opts.Args...)
}

// launch execs the server with s.argv and waits until it is ready. On failure the
// process is killed and the error carries the new part of the log.
func (s *Server) launch(ctx context.Context) error {
	logStart := fileSize(s.LogPath)
	logf, err := os.OpenFile(s.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("localredis: start redis-server on port %d: open log: %w", s.Port, err)
	}
	cmd := exec.Command(s.binary, s.argv...)
	cmd.Dir = s.Dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return fmt.Errorf("localredis: start redis-server on port %d: %w", s.Port, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	s.mu.Lock()
	s.proc = p
	s.PID = cmd.Process.Pid
	s.paused = false
	s.mu.Unlock()

	if err := s.waitReady(ctx, p); err != nil {
		p.kill()
		log := readFrom(s.LogPath, logStart)
		if strings.Contains(log, bindFailureMarker) {
			err = fmt.Errorf("%w: %w", errPortInUse, err)
		}
		return fmt.Errorf("localredis: start redis-server on port %d: %w\n--- %s ---\n%s", s.Port, err, s.LogPath, tail(log, logTailBytes))
	}
	return nil
}

// waitReady polls PING until the server answers, exits, or ctx ends.
func (s *Server) waitReady(ctx context.Context, p *process) error {
	ticker := time.NewTicker(readyPollInterval)
	defer ticker.Stop()
	pid := p.cmd.Process.Pid
	for {
		err := s.probe(ctx, pid)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited before it was ready: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last probe: %v)", ctx.Err(), err)
		case <-ticker.C:
		}
	}
}

// probe reports nil when the server with the given pid answers PING. Any error reply
// but LOADING counts as an answer: a server that demands a password is up. When INFO
// is allowed, its process_id must be pid, so that a process that took the port before
// the server could bind it is not mistaken for the server.
func (s *Server) probe(ctx context.Context, pid int) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	c, err := s.Dial(ctx)
	if err != nil {
		if answered(err) {
			return nil
		}
		return err
	}
	defer c.Close()
	c.Timeout = probeTimeout
	if _, err := c.Do("PING"); err != nil {
		if answered(err) {
			return nil
		}
		return err
	}
	info, err := c.Do("INFO", "server")
	if err != nil {
		if answered(err) {
			return nil
		}
		return err
	}
	if got, ok := parseInfoField(info.Text(), "process_id"); ok && got != strconv.Itoa(pid) {
		return fmt.Errorf("%s is served by another process (pid %s)", s.Addr, got)
	}
	return nil
}

// answered reports whether err is a server error reply other than LOADING.
func answered(err error) bool {
	var se *resp.ServerError
	return errors.As(err, &se) && se.Code != "LOADING"
}

// Dial opens a raw connection to the server, over TLS when it was started with
// Options.TLSPort, authenticated when Options.Password was set.
func (s *Server) Dial(ctx context.Context) (*RawConn, error) {
	c, err := Dial(ctx, s.Addr, s.tlsConf)
	if err != nil {
		return nil, err
	}
	if s.password == "" {
		return c, nil
	}
	args := []string{"AUTH", s.password}
	if s.user != "" {
		args = []string{"AUTH", s.user, s.password}
	}
	if _, err := c.Do(args...); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Do dials the server, sends one command and closes the connection. It is meant for
// occasional fixture commands; see RawConn.Do for how errors are returned.
func (s *Server) Do(ctx context.Context, args ...string) (resp.Value, error) {
	c, err := s.Dial(ctx)
	if err != nil {
		return resp.Value{}, err
	}
	defer c.Close()
	if d, ok := ctx.Deadline(); ok {
		c.Timeout = time.Until(d)
	}
	return c.Do(args...)
}

// current returns the latest process, or nil before the first launch.
func (s *Server) current() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// Running reports whether the server process is alive (paused counts as alive).
func (s *Server) Running() bool {
	p := s.current()
	return p != nil && !p.exited()
}

// Paused reports whether the server was paused by Pause and not resumed since.
func (s *Server) Paused() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paused
}

// Live reports whether the server is running and not paused, that is, whether it can
// be expected to answer.
func (s *Server) Live() bool {
	return s.Running() && !s.Paused()
}

// Stop ends the server: SIGTERM (and SIGCONT, in case it is paused), then SIGKILL if it
// has not exited within a few seconds. It signals only this server's PID and returns
// once the process has been waited for. Stopping a stopped server does nothing.
func (s *Server) Stop() error {
	p := s.current()
	if p == nil || p.exited() {
		return nil
	}
	if err := p.signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("localredis: stop redis-server %s (pid %d): %w", s.Addr, p.cmd.Process.Pid, err)
	}
	s.resumeSignal(p)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopGrace):
	}
	p.kill()
	return nil
}

// Kill ends the server at once with SIGKILL, as a crash would, and waits for it.
func (s *Server) Kill() error {
	p := s.current()
	if p == nil || p.exited() {
		return nil
	}
	p.kill()
	return nil
}

// Pause freezes the server with SIGSTOP: it keeps its sockets but answers nothing, as a
// hung server would, until Resume.
func (s *Server) Pause() error {
	p := s.current()
	if p == nil || p.exited() {
		return fmt.Errorf("localredis: pause redis-server %s: not running", s.Addr)
	}
	sig := pauseSignal()
	if sig == nil {
		return fmt.Errorf("localredis: pause redis-server %s: not supported on this system", s.Addr)
	}
	if err := p.signal(sig); err != nil {
		return fmt.Errorf("localredis: pause redis-server %s (pid %d): %w", s.Addr, p.cmd.Process.Pid, err)
	}
	s.mu.Lock()
	s.paused = true
	s.mu.Unlock()
	return nil
}

// Resume continues a server frozen by Pause (SIGCONT).
func (s *Server) Resume() error {
	p := s.current()
	if p == nil || p.exited() {
		return fmt.Errorf("localredis: resume redis-server %s: not running", s.Addr)
	}
	sig := resumeSignal()
	if sig == nil {
		return fmt.Errorf("localredis: resume redis-server %s: not supported on this system", s.Addr)
	}
	if err := p.signal(sig); err != nil {
		return fmt.Errorf("localredis: resume redis-server %s (pid %d): %w", s.Addr, p.cmd.Process.Pid, err)
	}
	s.mu.Lock()
	s.paused = false
	s.mu.Unlock()
	return nil
}

// resumeSignal sends SIGCONT where it exists, ignoring errors: it is only a courtesy
// that lets a paused server act on a pending SIGTERM.
func (s *Server) resumeSignal(p *process) {
	if sig := resumeSignal(); sig != nil {
		_ = p.signal(sig)
	}
}

// Restart starts the server again with the same command line, port and directory (a
// cluster node keeps its nodes.conf and so its identity), stopping it first if it is
// still running. ctx bounds the start as in Start.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Stop(); err != nil {
		return err
	}
	ctx, cancel := withDefaultTimeout(ctx, defaultStartTimeout)
	defer cancel()
	if err := s.launch(ctx); err != nil {
		return fmt.Errorf("localredis: restart: %w", err)
	}
	return nil
}

// Log returns the tail of the server's log file (a few kilobytes, from a line start),
// or a note saying why it could not be read.
func (s *Server) Log() string {
	return s.logTail(logTailBytes)
}

// logTail returns at most n bytes from the end of the log, from a line start.
func (s *Server) logTail(n int) string {
	fi, err := os.Stat(s.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return tail(readFrom(s.LogPath, max(0, fi.Size()-int64(2*n))), n)
}

// exited reports whether the process has been waited for.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the process; a process that is already gone is not an error.
func (p *process) signal(sig os.Signal) error {
	err := p.cmd.Process.Signal(sig)
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// kill sends SIGKILL and waits for the process.
func (p *process) kill() {
	_ = p.signal(os.Kill)
	<-p.done
}

// freePort asks the kernel for a free loopback port and releases it for the server.
func freePort() (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(loopbackHost, "0"))
	if err != nil {
		return 0, fmt.Errorf("localredis: pick a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("localredis: pick a free port: %w", err)
	}
	return port, nil
}

// withDefaultTimeout bounds ctx by d when it has no deadline of its own.
func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// fileSize returns the size of path, or 0 when it cannot be read.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// readFrom returns the content of path from offset on, or "" when it cannot be read.
func readFrom(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return ""
	}
	return string(b)
}

// tail returns at most n bytes from the end of s, starting at a line boundary when
// it had to cut.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
