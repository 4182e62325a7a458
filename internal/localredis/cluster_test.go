//go:build unix

package localredis

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/topology"
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
		NodeTimeout:       time.Second, // a quicker failover
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

// keysInSlot writes n keys that hash to one slot (the slot of "{move}") through the
// node that serves it and returns the slot.
func keysInSlot(t *testing.T, c *Cluster, n int) (int, *Server) {
	t.Helper()
	ctx := testContext(t, 20*time.Second)
	v, err := c.Nodes[0].Do(ctx, "CLUSTER", "KEYSLOT", "{move}")
	require.NoError(t, err)
	slot := int(v.Int)
	owner, err := c.SlotOwner(ctx, slot)
	require.NoError(t, err)
	conn, err := owner.Dial(ctx)
	require.NoError(t, err)
	defer conn.Close()
	for i := range n {
		_, err := conn.Do("SET", "{move}"+strconv.Itoa(i), "v"+strconv.Itoa(i))
		require.NoError(t, err)
	}
	return slot, owner
}

func TestClusterAddNodeMoveSlot(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test skipped in -short mode")
	}
	requireBinary(t)
	c, err := StartCluster(testContext(t, 30*time.Second), ClusterOptions{
		Options: Options{Dir: t.TempDir()},
		Masters: 2,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range c.Nodes {
				t.Logf("log of %s:\n%s", s.Addr, s.Log())
			}
		}
		assert.NoError(t, c.Stop())
	})
	ctx := testContext(t, 40*time.Second)
	const keys = 2*migrateBatch + 50 // three MIGRATE batches
	slot, from := keysInSlot(t, c, keys)

	_, err = c.AddNode(ctx, ReplicaOf(&Server{Addr: "127.0.0.1:1"}))
	assert.ErrorContains(t, err, "not a node of this cluster")
	require.Len(t, c.Nodes, 2)

	began := time.Now()
	added, err := c.AddNode(ctx)
	require.NoError(t, err)
	t.Logf("master added in %v", time.Since(began))
	require.Len(t, c.Nodes, 3)
	assert.Same(t, added, c.Nodes[2])
	assert.Len(t, c.Masters(), 2, "Masters lists only the nodes StartCluster made")
	assert.Empty(t, c.Replicas())
	assert.Same(t, added, c.NodeByID(c.ID(added)))
	assert.NotEqual(t, c.Nodes[0].Dir, added.Dir)
	v, err := added.Do(ctx, "CONFIG", "GET", "cluster-node-timeout")
	require.NoError(t, err)
	assert.Equal(t, strconv.FormatInt(DefaultNodeTimeout.Milliseconds(), 10), v.Elems[1].Text())
	for _, s := range c.Nodes {
		view, err := c.View(ctx, s)
		require.NoError(t, err)
		n, ok := findNode(view, c.ID(added))
		require.True(t, ok, "%s knows the new node", s.Addr)
		assert.True(t, n.IsMaster())
		assert.Empty(t, n.Slots)
	}

	require.ErrorContains(t, c.MoveSlot(ctx, topology.SlotCount, added), "out of range")
	began = time.Now()
	require.NoError(t, c.MoveSlot(ctx, slot, added))
	t.Logf("slot with %d keys moved in %v", keys, time.Since(began))
	owner, err := c.SlotOwner(ctx, slot)
	require.NoError(t, err)
	assert.Same(t, added, owner)
	v, err = added.Do(ctx, "CLUSTER", "COUNTKEYSINSLOT", strconv.Itoa(slot))
	require.NoError(t, err)
	assert.EqualValues(t, keys, v.Int)
	v, err = from.Do(ctx, "CLUSTER", "COUNTKEYSINSLOT", strconv.Itoa(slot))
	require.NoError(t, err)
	assert.EqualValues(t, 0, v.Int)
	v, err = added.Do(ctx, "GET", "{move}7")
	require.NoError(t, err)
	assert.Equal(t, "v7", v.Text())
	v, err = from.Do(ctx, "GET", "{move}7")
	require.Error(t, err)
	assert.Equal(t, "MOVED "+strconv.Itoa(slot)+" "+added.Addr, v.Text())
	for _, s := range c.Nodes {
		view, err := c.View(ctx, s)
		require.NoError(t, err)
		n, ok := findNode(view, c.ID(added))
		require.True(t, ok)
		assert.Equal(t, []topology.SlotRange{{Start: slot, End: slot}}, n.Slots, "as %s sees it", s.Addr)
	}
	require.NoError(t, c.MoveSlot(ctx, slot, added), "moving a slot to its owner does nothing")

	began = time.Now()
	replica, err := c.AddNode(ctx, ReplicaOf(added))
	require.NoError(t, err)
	t.Logf("replica added in %v", time.Since(began))
	require.Len(t, c.Nodes, 4)
	master, err := c.MasterOf(ctx, replica)
	require.NoError(t, err)
	assert.Same(t, added, master)
	v, err = replica.Do(ctx, "INFO", "replication")
	require.NoError(t, err)
	assert.Contains(t, v.Text(), "master_link_status:up")
	assert.Contains(t, v.Text(), "master_port:"+strconv.Itoa(added.Port))
	assert.ErrorContains(t, c.MoveSlot(ctx, 0, replica), "not a master")
	require.NoError(t, c.WaitHealthy(ctx))

	pids := make([]int, len(c.Nodes))
	for i, s := range c.Nodes {
		pids[i] = s.PID
	}
	require.NoError(t, c.Stop())
	for _, pid := range pids {
		assert.True(t, processGone(pid), "pid %d still runs", pid)
	}
}
