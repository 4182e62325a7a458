package cluster

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/rcli-dev/rcli/internal/localredis"
	"github.com/rcli-dev/rcli/internal/redistest"
)

// shared is the one cluster of this package's tests that only read and write; tests
// that kill, fail over or reshard start their own.
var shared *localredis.Cluster

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	if !testing.Short() && redistest.RedisAvailable() {
		c, stop, err := redistest.StartClusterMain(3, 1)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer stop()
		shared = c
	}
	return m.Run()
}

// sharedCluster returns the package's shared cluster, or skips (or fails in CI) when
// redis-server is not installed.
func sharedCluster(t *testing.T) *localredis.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("cluster tests skipped in -short mode")
	}
	redistest.RequireRedis(t)
	if shared == nil {
		t.Fatal("shared cluster did not start")
	}
	return shared
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
