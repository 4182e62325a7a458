//go:build unix

package localredis

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rcli-dev/rcli/internal/resp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireBinary skips the test when redis-server is missing, unless
// RCLI_REQUIRE_REDIS=1 makes that a failure.
func requireBinary(t *testing.T) {
	t.Helper()
	if _, err := FindBinary(); err != nil {
		if os.Getenv("RCLI_REQUIRE_REDIS") == "1" {
			t.Fatalf("RCLI_REQUIRE_REDIS=1: %v", err)
		}
		t.Skip(err)
	}
}

// testContext returns a context bounded for one start or wait.
func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// startTest starts a server in a temporary directory and stops it after the test.
func startTest(t *testing.T, opts Options) *Server {
	t.Helper()
	requireBinary(t)
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	s, err := Start(testContext(t, 15*time.Second), opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log of %s:\n%s", s.Addr, s.Log())
		}
		assert.NoError(t, s.Stop())
	})
	return s
}

// processGone reports whether no process has the given pid.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func ping(t *testing.T, s *Server) {
	t.Helper()
	v, err := s.Do(testContext(t, 5*time.Second), "PING")
	require.NoError(t, err)
	assert.Equal(t, "PONG", v.Text())
}

func TestStartStop(t *testing.T) {
	s := startTest(t, Options{})
	assert.Equal(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)), s.Addr)
	assert.True(t, s.Running())
	assert.False(t, processGone(s.PID))
	ping(t, s)

	v, err := s.Do(testContext(t, 5*time.Second), "CONFIG", "GET", "save")
	require.NoError(t, err)
	require.Len(t, v.Elems, 2)
	assert.Equal(t, "", v.Elems[1].Text(), "persistence is off")
	assert.Contains(t, s.Log(), "Ready to accept connections")

	require.NoError(t, s.Stop())
	assert.False(t, s.Running())
	assert.True(t, processGone(s.PID))
	assert.NoError(t, s.Stop(), "stopping twice is harmless")
}

func TestStartRetriesTakenPort(t *testing.T) {
	requireBinary(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port
	go func() { // hang up on probes, as a server that is not Redis might
		for {
			c, err := taken.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	picks := 0
	pick := func() (int, error) {
		picks++
		if picks == 1 {
			return takenPort, nil
		}
		return freePort()
	}
	s, err := start(testContext(t, 15*time.Second), Options{Dir: t.TempDir()}, pick, nil)
	require.NoError(t, err)
	defer s.Stop()
	assert.NotEqual(t, takenPort, s.Port)
	assert.Equal(t, 2, picks)
	assert.Contains(t, s.Log(), "Address already in use", "the first attempt's failure is in the log")
	ping(t, s)
}

func TestStartFailureCarriesLog(t *testing.T) {
	requireBinary(t)
	_, err := Start(testContext(t, 15*time.Second), Options{Dir: t.TempDir(), Args: []string{"--no-such-directive", "1"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "localredis: start redis-server on port")
	assert.Contains(t, err.Error(), "no-such-directive", "the log tail explains the failure")
}

func TestStartOptionErrors(t *testing.T) {
	ctx := testContext(t, 5*time.Second)
	_, err := Start(ctx, Options{})
	assert.ErrorContains(t, err, "Dir is required")

	_, err = Start(ctx, Options{Dir: t.TempDir(), TLSPort: true})
	assert.ErrorContains(t, err, "TLSConfig")

	t.Setenv(EnvBinary, "/nonexistent/redis-server")
	_, err = FindBinary()
	assert.ErrorIs(t, err, ErrNoBinary)
	_, err = Start(ctx, Options{Dir: t.TempDir()})
	assert.ErrorIs(t, err, ErrNoBinary)
	_, err = StartCluster(ctx, ClusterOptions{Options: Options{Dir: t.TempDir()}, Masters: 1})
	assert.ErrorIs(t, err, ErrNoBinary)
}

func TestKillRestart(t *testing.T) {
	s := startTest(t, Options{})
	port, pid := s.Port, s.PID

	require.NoError(t, s.Kill())
	assert.False(t, s.Running())
	assert.True(t, processGone(pid))
	_, err := s.Do(testContext(t, 2*time.Second), "PING")
	assert.Error(t, err)

	require.NoError(t, s.Restart(testContext(t, 15*time.Second)))
	assert.Equal(t, port, s.Port)
	assert.NotEqual(t, pid, s.PID)
	ping(t, s)
}

func TestPauseResume(t *testing.T) {
	s := startTest(t, Options{})
	require.NoError(t, s.Pause())
	assert.True(t, s.Paused())
	assert.False(t, s.Live())

	c, err := s.Dial(testContext(t, 2*time.Second))
	require.NoError(t, err, "a paused server still accepts connections in its backlog")
	defer c.Close()
	c.Timeout = 100 * time.Millisecond
	_, err = c.Do("PING")
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())

	require.NoError(t, s.Resume())
	assert.True(t, s.Live())
	ping(t, s)

	require.NoError(t, s.Pause())
	start := time.Now()
	require.NoError(t, s.Stop())
	assert.Less(t, time.Since(start), stopGrace, "a paused server stops on SIGTERM")
	assert.True(t, processGone(s.PID))
}

func TestUnixSocket(t *testing.T) {
	s := startTest(t, Options{UnixSocket: true})
	require.NotEmpty(t, s.Socket)
	c, err := Dial(testContext(t, 2*time.Second), s.Socket, nil)
	require.NoError(t, err)
	defer c.Close()
	v, err := c.Do("PING")
	require.NoError(t, err)
	assert.Equal(t, "PONG", v.Text())
}

func TestPassword(t *testing.T) {
	s := startTest(t, Options{Args: []string{"--requirepass", "secret"}, Password: "secret"})
	ping(t, s)

	c, err := Dial(testContext(t, 2*time.Second), s.Addr, nil)
	require.NoError(t, err)
	defer c.Close()
	v, err := c.Do("PING")
	var se *resp.ServerError
	require.ErrorAs(t, err, &se, "a raw connection is not authenticated")
	assert.Equal(t, "NOAUTH", se.Code)
	assert.Equal(t, resp.Error, v.Kind)
}

func TestStartRetriesTakenBusPort(t *testing.T) {
	requireBinary(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port

	picks := 0
	pick := func() (int, error) {
		picks++
		if picks == 2 { // the first attempt's bus port
			return takenPort, nil
		}
		return freePort()
	}
	busArgs := func(s *Server, pick portPicker) ([]string, error) {
		bus, err := pick()
		if err != nil {
			return nil, err
		}
		s.BusPort = bus
		return []string{"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus)}, nil
	}
	s, err := start(testContext(t, 15*time.Second), Options{Dir: t.TempDir()}, pick, busArgs)
	require.NoError(t, err)
	defer s.Stop()
	assert.Equal(t, 4, picks)
	assert.NotEqual(t, takenPort, s.BusPort)
	assert.Contains(t, s.Log(), "(cluster), aborting")
	ping(t, s)
}

func TestStartNotFooledByPortThief(t *testing.T) {
	thief := startTest(t, Options{})
	picks := 0
	pick := func() (int, error) {
		picks++
		if picks == 1 {
			return thief.Port, nil // as if another server took the port first
		}
		return freePort()
	}
	s, err := start(testContext(t, 15*time.Second), Options{Dir: t.TempDir()}, pick, nil)
	require.NoError(t, err)
	defer s.Stop()
	assert.NotEqual(t, thief.Port, s.Port)
	v, err := s.Do(testContext(t, 5*time.Second), "INFO", "server")
	require.NoError(t, err)
	assert.Contains(t, v.Text(), "process_id:"+strconv.Itoa(s.PID))
}

func TestPlainPortNeedsTLS(t *testing.T) {
	_, err := Start(testContext(t, 5*time.Second), Options{Dir: t.TempDir(), PlainPort: true})
	assert.ErrorContains(t, err, "PlainPort needs Options.TLSPort")
}
