package redistest

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/rcli-dev/rcli/internal/localredis"
)

// StartCluster starts a cluster of masters masters, each with replicas replicas, and
// stops it when the test ends, logging every node's log if the test failed. It returns
// once every node reports cluster_state:ok, all agree on the slots and every replica's
// link is up. args add to or override each node's configuration. Cluster tests are
// slow, so StartCluster skips the test under -short.
func StartCluster(t testing.TB, masters, replicas int, args ...string) *localredis.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("redistest: cluster test skipped in -short mode")
	}
	RequireRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	c, err := localredis.StartCluster(ctx, localredis.ClusterOptions{
		Options:           localredis.Options{Dir: t.TempDir(), Args: args},
		Masters:           masters,
		ReplicasPerMaster: replicas,
	})
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range c.Nodes {
				t.Logf("redistest: log of cluster node %s (pid %d):\n%s", s.Addr, s.PID, s.Log())
			}
		}
		if err := c.Stop(); err != nil {
			t.Errorf("redistest: %v", err)
		}
	})
	return c
}

// StartClusterMain starts a cluster for TestMain, where there is no testing.TB: its
// nodes live in a new temporary directory, and the returned function stops them and
// removes it. When redis-server is missing the error wraps localredis.ErrNoBinary;
// check RedisAvailable first.
func StartClusterMain(masters, replicas int) (*localredis.Cluster, func(), error) {
	dir, err := os.MkdirTemp("", "redistest-cluster-")
	if err != nil {
		return nil, nil, fmt.Errorf("redistest: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	c, err := localredis.StartCluster(ctx, localredis.ClusterOptions{
		Options:           localredis.Options{Dir: dir},
		Masters:           masters,
		ReplicasPerMaster: replicas,
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("redistest: %w", err)
	}
	stop := func() {
		_ = c.Stop()
		_ = os.RemoveAll(dir)
	}
	return c, stop, nil
}
