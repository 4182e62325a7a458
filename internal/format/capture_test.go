package format_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/resp"
)

// TestCapture re-creates the reference data, only when run with -capture:
//
//  1. it starts a throwaway redis-server on a unix socket, runs each case's setup
//     commands and command on a raw connection and saves the reply bytes the server
//     sent, push messages included, as testdata/replies/<case>.resp (synthetic cases
//     save their wire bytes);
//  2. it serves each capture from a replay server that answers any command with those
//     bytes, runs the real redis-cli against it in every variant, and saves redis-cli's
//     stdout as testdata/format/<case>.<variant>.golden. Where redis-cli exits
//     non-zero it saves nothing: such a variant must be a listed deviation.
//
// Replaying makes redis-cli see exactly the bytes that TestGolden formats.
func TestCapture(t *testing.T) {
	if !*capture {
		t.Skip("run with -capture to re-capture replies and redis-cli's output")
	}
	serverBin, err := exec.LookPath("redis-server")
	require.NoError(t, err)
	cliBin, err := exec.LookPath("redis-cli")
	require.NoError(t, err)

	// A short directory: unix socket paths are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "rcli-format-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })

	serverSock := startRedis(t, serverBin, dir)
	for _, c := range goldenCases {
		data := []byte(c.wire)
		if c.wire == "" {
			data = captureReply(t, serverSock, c)
		}
		require.NoError(t, os.WriteFile(filepath.Join(repliesDir, c.name+".resp"), data, 0o644))
	}

	replay := startReplay(t, filepath.Join(dir, "replay.sock"))
	for _, c := range goldenCases {
		data, err := os.ReadFile(filepath.Join(repliesDir, c.name+".resp"))
		require.NoError(t, err)
		replay.set(data)
		for _, v := range cliVariants {
			path := filepath.Join(goldenDir, goldenName(c, v.name, false))
			args := append([]string{"-s", replay.path, c.protoFlag(), "--show-pushes", "y"}, v.cliArgs...)
			args = append(args, c.cmd...)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			cmd := exec.CommandContext(ctx, cliBin, args...)
			cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			cancel()
			if err != nil {
				t.Logf("%s %s: redis-cli failed (%v): %s", c.name, v.name, err, bytes.TrimSpace(stderr.Bytes()))
				if rmErr := os.Remove(path); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
					require.NoError(t, rmErr)
				}
				continue
			}
			require.NoError(t, os.WriteFile(path, stdout.Bytes(), 0o644))
		}
	}
}

// startRedis starts redis-server on a unix socket in dir and returns the socket's path.
// The server is killed, by its own PID, when the test ends.
func startRedis(t *testing.T, bin, dir string) string {
	t.Helper()
	sock := filepath.Join(dir, "redis.sock")
	cmd := exec.Command(bin, "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no",
		"--enable-debug-command", "yes", "--daemonize", "no", "--dir", dir)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("redis-server log:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("unix", sock)
		if err == nil {
			v, err := roundTrip(conn, resp.NewReader(conn, resp.ReaderOptions{}), "PING")
			conn.Close()
			if err == nil && string(v.Str) == "PONG" {
				return sock
			}
		}
		require.True(t, time.Now().Before(deadline), "redis-server did not answer PING: %v", err)
		time.Sleep(20 * time.Millisecond)
	}
}

func roundTrip(w io.Writer, r *resp.Reader, args ...string) (resp.Value, error) {
	if _, err := w.Write(resp.AppendArgs(nil, args...)); err != nil {
		return resp.Value{}, err
	}
	return r.ReadValue()
}

// recorder keeps every byte read through it.
type recorder struct {
	r   io.Reader
	buf []byte
}

func (rec *recorder) Read(p []byte) (int, error) {
	n, err := rec.r.Read(p)
	rec.buf = append(rec.buf, p[:n]...)
	return n, err
}

// captureReply runs c on a fresh connection to an emptied server and returns the
// bytes the server sent for c.cmd: any push messages, then the reply.
func captureReply(t *testing.T, sock string, c goldenCase) []byte {
	t.Helper()
	conn, err := net.Dial("unix", sock)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	rec := &recorder{r: conn}
	r := resp.NewReader(rec, resp.ReaderOptions{})

	prep := [][]string{{"HELLO", "2"}, {"FLUSHALL"}}
	if c.proto == 3 {
		prep[0] = []string{"HELLO", "3"}
	}
	for _, cmd := range append(prep, c.setup...) {
		v, err := roundTrip(conn, r, cmd...)
		require.NoError(t, err)
		require.NoError(t, v.Err(), "%s: setup %q", c.name, cmd)
	}
	require.Zero(t, r.Buffered())
	start := len(rec.buf)
	v, err := roundTrip(conn, r, c.cmd...)
	for err == nil && v.Kind == resp.Push {
		v, err = r.ReadValue()
	}
	require.NoError(t, err)
	require.Zero(t, r.Buffered(), "%s: bytes after the reply", c.name)
	return bytes.Clone(rec.buf[start:])
}

// replayServer answers HELLO like a RESP3 server and any other command with the
// current capture's bytes.
type replayServer struct {
	path string
	mu   sync.Mutex
	data []byte
}

func (s *replayServer) set(data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data = data
}

func (s *replayServer) reply() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

func startReplay(t *testing.T, path string) *replayServer {
	t.Helper()
	ln, err := net.Listen("unix", path)
	require.NoError(t, err)
	s := &replayServer{path: path}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serve(conn)
			}()
		}
	}()
	return s
}

func (s *replayServer) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := resp.NewReader(conn, resp.ReaderOptions{})
	for {
		cmd, err := r.ReadValue()
		if err != nil {
			return
		}
		out := s.reply()
		if len(cmd.Elems) > 0 && bytes.EqualFold(cmd.Elems[0].Str, []byte("HELLO")) {
			out = []byte("%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n")
		}
		if _, err := conn.Write(out); err != nil {
			return
		}
	}
}
