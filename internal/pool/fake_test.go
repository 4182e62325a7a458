package pool

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/resp"
)

// fakeServer is a loopback listener whose connections a test scripts byte by byte,
// or answers with a handler.
type fakeServer struct {
	t     testing.TB
	ln    net.Listener
	conns chan *fakeConn

	mu       sync.Mutex
	accepted []*fakeConn
	total    int // connections accepted, closed ones included
}

// fakeConn is the server side of one accepted connection.
type fakeConn struct {
	t  testing.TB
	nc net.Conn
	r  *resp.Reader
	bw *bufio.Writer
}

// startFake listens on a free loopback port. With a handler, every connection is
// served by it: the handler gets each command's arguments and returns the raw reply
// ("" sends nothing). Without one, connections arrive on conns for the test to script.
func startFake(t testing.TB, handler func(args []string) string) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return serveFake(t, ln, handler)
}

func serveFake(t testing.TB, ln net.Listener, handler func(args []string) string) *fakeServer {
	s := &fakeServer{t: t, ln: ln, conns: make(chan *fakeConn, 64)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			fc := &fakeConn{t: t, nc: nc, r: resp.NewReader(nc, resp.ReaderOptions{}), bw: bufio.NewWriter(nc)}
			s.mu.Lock()
			s.accepted = append(s.accepted, fc)
			s.total++
			s.mu.Unlock()
			if handler == nil {
				s.conns <- fc
				continue
			}
			go fc.serve(handler)
		}
	}()
	t.Cleanup(func() {
		s.close()
		<-done
	})
	return s
}

// close stops listening and closes every accepted connection.
func (s *fakeServer) close() {
	_ = s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fc := range s.accepted {
		_ = fc.nc.Close()
	}
}

// closeConns closes the accepted connections but keeps listening.
func (s *fakeServer) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fc := range s.accepted {
		_ = fc.nc.Close()
	}
	s.accepted = nil
}

// waitAccepted waits until the server has accepted n connections in all.
func (s *fakeServer) waitAccepted(n int) {
	s.t.Helper()
	require.Eventually(s.t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.total >= n
	}, 5*time.Second, time.Millisecond)
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

// next returns the next accepted connection of a scripted server.
func (s *fakeServer) next() *fakeConn {
	s.t.Helper()
	select {
	case fc := <-s.conns:
		return fc
	case <-time.After(5 * time.Second):
		s.t.Fatal("fake server: no connection within 5s")
		return nil
	}
}

func (fc *fakeConn) serve(handler func(args []string) string) {
	for {
		args, err := fc.readCommand()
		if err != nil {
			_ = fc.nc.Close()
			return
		}
		if out := handler(args); out != "" {
			if _, err := fc.nc.Write([]byte(out)); err != nil {
				return
			}
		}
	}
}

// readCommand reads one command sent by the client.
func (fc *fakeConn) readCommand() ([]string, error) {
	_ = fc.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	v, err := fc.r.ReadValue()
	if err != nil {
		return nil, err
	}
	args := make([]string, len(v.Elems))
	for i, e := range v.Elems {
		args[i] = string(e.Str)
	}
	return args, nil
}

// expect reads the next command and checks it, without replying.
func (fc *fakeConn) expect(want ...string) {
	fc.t.Helper()
	args, err := fc.readCommand()
	require.NoError(fc.t, err, "fake server: waiting for %q", want)
	require.Equal(fc.t, want, args)
}

// send writes raw bytes to the client.
func (fc *fakeConn) send(raw string) {
	fc.t.Helper()
	_, err := fc.nc.Write([]byte(raw))
	require.NoError(fc.t, err)
}

// miniRedis is a handler that knows a few commands, enough for pool tests.
func miniRedis(args []string) string {
	if len(args) == 0 {
		return "-ERR empty\r\n"
	}
	switch strings.ToUpper(args[0]) {
	case "PING":
		return "+PONG\r\n"
	case "ECHO":
		return bulk(args[1])
	case "HELLO":
		return "%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:3\r\n"
	case "AUTH", "SELECT", "READONLY", "MULTI", "WATCH", "UNWATCH":
		return "+OK\r\n"
	case "CLIENT":
		return "+OK\r\n"
	case "SUBSCRIBE":
		return "*3\r\n$9\r\nsubscribe\r\n" + bulk(args[1]) + ":1\r\n"
	case "QUIET":
		return ""
	case "SLOWECHO":
		time.Sleep(100 * time.Millisecond)
		return bulk(args[1])
	}
	return "-ERR unknown command '" + args[0] + "'\r\n"
}

func bulk(s string) string {
	return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n"
}

// cmd builds a command from strings.
func cmd(args ...string) resp.Command { return resp.NewCommand(args...) }
