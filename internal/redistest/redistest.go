package redistest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rcli-dev/rcli/internal/localredis"
)

// EnvRequireRedis names the environment variable that, set to "1", turns a missing
// redis-server from a skip into a failure.
const EnvRequireRedis = "RCLI_REQUIRE_REDIS"

const (
	serverStartTimeout  = 20 * time.Second // one server, on a busy machine
	clusterStartTimeout = 60 * time.Second // a whole cluster
)

// RedisAvailable reports whether a redis-server binary can be found
// ($RCLI_REDIS_SERVER, else $PATH). It is meant for TestMain.
func RedisAvailable() bool {
	_, err := localredis.FindBinary()
	return err == nil
}

// RedisRequired reports whether RCLI_REQUIRE_REDIS=1 demands a redis-server.
func RedisRequired() bool {
	return os.Getenv(EnvRequireRedis) == "1"
}

// RequireRedis skips the test, saying why, when redis-server cannot be found, or fails
// it when RCLI_REQUIRE_REDIS=1. Every Start function calls it.
func RequireRedis(t testing.TB) {
	t.Helper()
	if _, err := localredis.FindBinary(); err != nil {
		if RedisRequired() {
			t.Fatalf("redistest: %s=1 but: %v", EnvRequireRedis, err)
			return
		}
		t.Skipf("redistest: skipping: %v", err)
	}
}

// StartServer starts a redis-server on a free loopback port with extra configuration
// args (such as "--maxmemory", "10mb", which override the defaults) and stops it when
// the test ends.
func StartServer(t testing.TB, args ...string) *localredis.Server {
	t.Helper()
	return startServer(t, localredis.Options{Args: args})
}

// StartUnixServer is StartServer with a unix socket as well, at Server.Socket.
func StartUnixServer(t testing.TB, args ...string) *localredis.Server {
	t.Helper()
	return startServer(t, localredis.Options{Args: args, UnixSocket: true})
}

// startServer starts one server in a fresh short directory and registers its cleanup.
func startServer(t testing.TB, opts localredis.Options) *localredis.Server {
	t.Helper()
	RequireRedis(t)
	opts.Dir = shortTempDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), serverStartTimeout)
	defer cancel()
	s, err := localredis.Start(ctx, opts)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("redistest: log of redis-server %s (pid %d):\n%s", s.Addr, s.PID, s.Log())
		}
		if err := s.Stop(); err != nil {
			t.Errorf("redistest: %v", err)
		}
	})
	return s
}

// shortTempDir returns a new temporary directory removed after the test. Unlike
// t.TempDir its path does not grow with the test's name, so a unix socket in it stays
// within the 104 bytes a socket path may have.
func shortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("redistest: remove %s: %v", dir, err)
		}
	})
	return dir
}
