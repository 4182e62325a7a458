package redistest

import (
	"context"
	"testing"

	"github.com/rcli-dev/rcli/internal/localredis"
)

// StartNodes starts masters*(1+replicas) cluster-enabled nodes that are not joined
// (see localredis.StartNodes), for tests of a cluster manager that builds the cluster
// itself, and stops them when the test ends, logging their logs if it failed. args add
// to or override each node's configuration. Like StartCluster it skips the test under
// -short.
func StartNodes(t testing.TB, masters, replicas int, args ...string) *localredis.Cluster {
	t.Helper()
	skipShort(t)
	RequireRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	c, err := localredis.StartNodes(ctx, localredis.ClusterOptions{
		Options:           localredis.Options{Args: args, Dir: t.TempDir()},
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
