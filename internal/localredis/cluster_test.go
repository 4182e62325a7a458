//go:build unix

package localredis

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test skipped in -short mode")
	}
	requireBinary(t)
	began := time.Now()
	c, err := StartCluster(testContext(t, 30*time.Second), ClusterOptions{
		Options:           Options{Dir: t.TempDir()},
		Masters:           3,
		ReplicasPerMaster: 1,
	})
	require.NoError(t, err)
	t.Logf("cluster started in %v", time.Since(began))
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range c.Nodes {
				t.Logf("log of %s:\n%s", s.Addr, s.Log())
			}
		}
		assert.NoError(t, c.Stop())
	})
	require.Len(t, c.Nodes, 6)
	require.Len(t, c.Masters(), 3)
	require.Len(t, c.Replicas(), 3)
	assert.Len(t, c.Addrs(), 6)

	ctx := testContext(t, 30*time.Second)
	m0, r0 := c.Masters()[0], c.Replicas()[0]
	owner, err := c.SlotOwner(ctx, 0)
	require.NoError(t, err)
	assert.Same(t, m0, owner)
	owner, err = c.SlotOwner(ctx, 16383)
	require.NoError(t, err)
	assert.Same(t, c.Masters()[2], owner)
	master, err := c.MasterOf(ctx, r0)
	require.NoError(t, err)
	assert.Same(t, m0, master)
	assert.Same(t, m0, c.NodeByID(c.ID(m0)))
	assert.Same(t, r0, c.NodeByAddr(r0.Addr))

	// A killed master is replaced by its replica.
	require.NoError(t, m0.Kill())
	began = time.Now()
	require.NoError(t, c.WaitHealthy(ctx))
	t.Logf("failover took %v", time.Since(began))
	owner, err = c.SlotOwner(ctx, 0)
	require.NoError(t, err)
	assert.Same(t, r0, owner)

	// Restarted, the old master keeps its identity and follows its replacement.
	began = time.Now()
	require.NoError(t, m0.Restart(ctx))
	require.NoError(t, c.WaitHealthy(ctx))
	t.Logf("rejoined in %v", time.Since(began))
	master, err = c.MasterOf(ctx, m0)
	require.NoError(t, err)
	assert.Same(t, r0, master)
}
