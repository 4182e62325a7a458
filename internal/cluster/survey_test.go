package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSurveySeesEveryNode(t *testing.T) {
	c := sharedCluster(t)
	cl := newClient(t, c, nil)
	ctx := testCtx(t, 20*time.Second)
	topo, err := cl.Survey(ctx)
	require.NoError(t, err)
	assert.Len(t, topo.Nodes, len(c.Nodes))
	assert.Len(t, topo.Shards, 3)
	assert.True(t, topo.Covered())
	assert.Empty(t, topo.Issues)
	for _, n := range topo.Nodes {
		// Redis 7.0 reports a replica that has not received data yet as "loading".
		if n.IsMaster() {
			assert.Equal(t, "online", n.Health, "node %s", n.Addr)
		} else {
			assert.Contains(t, []string{"online", "loading"}, n.Health, "node %s", n.Addr)
		}
		assert.False(t, n.Myself())
	}
	for _, s := range topo.Shards {
		assert.Len(t, s.Replicas, 1)
	}
	before := cl.Topology()
	cl.Apply(topo)
	assert.Equal(t, []string{"loaded 6 nodes, 3 shards"}, Diff(before, topo))
	assert.Empty(t, Diff(topo, topo))
}

func TestDiff(t *testing.T) {
	a, err := ParseNodes(`a 127.0.0.1:1@11 master - 0 0 1 connected 0-16383
b 127.0.0.1:2@12 slave a 0 0 1 connected`, "127.0.0.1:1")
	require.NoError(t, err)
	b, err := ParseNodes(`a 127.0.0.1:1@11 master - 0 0 1 connected 0-99
b 127.0.0.1:2@12 master - 0 0 2 connected 100-16383
c 127.0.0.1:3@13 slave b 0 0 2 connected`, "127.0.0.1:1")
	require.NoError(t, err)
	d := Diff(BuildTopology(a, ""), BuildTopology(b, ""))
	assert.Equal(t, []string{
		"node b (127.0.0.1:2) is now master, was replica",
		"node c (127.0.0.1:3) joined as replica",
		"slots 100-16383 moved from a to b",
	}, d)
}
