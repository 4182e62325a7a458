package cluster

import (
	"github.com/rcli-dev/rcli/internal/topology"
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
	assert.Equal(t, []string{"loaded 6 nodes, 3 shards"}, topology.Diff(before, topo))
	assert.Empty(t, topology.Diff(topo, topo))
}
