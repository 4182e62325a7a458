package cluster

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rcli-dev/rcli/internal/localredis"
	"github.com/rcli-dev/rcli/internal/redistest"
)

// shared is the cluster of this package's tests that only read and write; tests that
// kill, fail over or reshard start their own.
var shared redistest.SharedCluster

func TestMain(m *testing.M) {
	os.Exit(redistest.MainWithCluster(m, 3, 1, &shared))
}

// sharedCluster returns the package's shared cluster, or skips (or fails in CI) when
// redis-server is not installed.
func sharedCluster(t *testing.T) *localredis.Cluster {
	t.Helper()
	return shared.Get(t)
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
