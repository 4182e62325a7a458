package redistest

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/rcli-dev/rcli/internal/localredis"
)

// SharedCluster is the one cluster a package's tests share when they only read and
// write; tests that kill, fail over or reshard start their own with StartCluster. Its
// zero value is ready for MainWithCluster.
type SharedCluster struct {
	c       *localredis.Cluster
	started bool
}

// MainWithCluster is a whole TestMain body: it starts a cluster of masters masters with
// replicas replicas each (unless -short, or redis-server is missing), runs the tests,
// stops the cluster and returns the exit code for os.Exit.
func MainWithCluster(m *testing.M, masters, replicas int, shared *SharedCluster) int {
	flag.Parse()
	if !testing.Short() && RedisAvailable() {
		c, stop, err := StartClusterMain(masters, replicas)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer stop()
		shared.c, shared.started = c, true
	}
	return m.Run()
}

// Get returns the shared cluster. It skips the test under -short, and when
// redis-server is missing (failing instead with RCLI_REQUIRE_REDIS=1).
func (s *SharedCluster) Get(t testing.TB) *localredis.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("redistest: cluster test skipped in -short mode")
	}
	RequireRedis(t)
	if !s.started {
		t.Fatal("redistest: the shared cluster did not start (is TestMain calling MainWithCluster?)")
	}
	return s.c
}
