package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/redistest"
)

func TestReadFromReplicas(t *testing.T) {
	c := redistest.StartCluster(t, 3, 1)
	cl := newClient(t, c, func(o *Options) {
		o.Seeds = c.Addrs()
		o.ReadFrom = ReadReplica
	})
	ctx := testCtx(t, 30*time.Second)
	require.NoError(t, cl.Refresh(ctx))
	replicaAddrs := map[string]bool{}
	for _, r := range c.Replicas() {
		replicaAddrs[r.Addr] = true
	}

	keys := keysForAllSlots("ro:")[:64]
	for _, k := range keys {
		r := cl.Exec(ctx, cmd("SET", k, "v"))
		require.NoError(t, r.Err)
		assert.False(t, replicaAddrs[r.Addr], "a write goes to a master")
	}
	for _, m := range c.Masters() {
		_, err := m.Do(ctx, "WAIT", "1", "2000")
		require.NoError(t, err)
	}
	for _, k := range keys {
		r := cl.Exec(ctx, cmd("GET", k))
		require.NoError(t, r.Err)
		assert.Equal(t, "v", r.Value.Text())
		assert.True(t, replicaAddrs[r.Addr], "GET %s went to %s, not a replica", k, r.Addr)
	}

	// A dead replica: its reads fall back to the master.
	dead := c.Replicas()[0]
	require.NoError(t, dead.Kill())
	for _, k := range keys {
		r := cl.Exec(ctx, cmd("GET", k))
		require.NoError(t, r.Err, "GET %s", k)
		assert.Equal(t, "v", r.Value.Text())
		assert.NotEqual(t, dead.Addr, r.Addr)
	}
}
