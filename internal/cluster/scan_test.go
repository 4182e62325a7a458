package cluster

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/redistest"
)

func TestScanWholeCluster(t *testing.T) {
	c := sharedCluster(t)
	cl := newClient(t, c, nil)
	ctx := testCtx(t, 30*time.Second)
	prefix := t.Name() + ":"
	want := map[string]bool{}
	for i := 0; i < 2000; i++ {
		k := prefix + strconv.Itoa(i)
		want[k] = true
		_, err := cl.Do(ctx, cmd("SET", k, "x"))
		require.NoError(t, err)
	}
	_, err := cl.Do(ctx, cmd("RPUSH", prefix+"list", "x"))
	require.NoError(t, err)

	got := map[string]int{}
	err = cl.Scan(ctx, ScanOptions{Match: prefix + "*", Count: 100, Type: "string"}, func(k []byte) error {
		got[string(k)]++
		return nil
	})
	require.NoError(t, err)
	assert.Len(t, got, len(want))
	for k, n := range got {
		assert.True(t, want[k], "unexpected key %q", k)
		assert.Equal(t, 1, n, "key %q reported once", k)
	}
}

func TestScanSurvivesFailover(t *testing.T) {
	c := redistest.StartCluster(t, 3, 1, "--cluster-node-timeout", "1000")
	cl := newClient(t, c, func(o *Options) {
		o.Seeds = c.Addrs()
		o.RetryBudget = 20 * time.Second
	})
	ctx := testCtx(t, 60*time.Second)
	want := map[string]bool{}
	for i := 0; i < 3000; i++ {
		k := "scan:" + strconv.Itoa(i)
		want[k] = true
		_, err := cl.Do(ctx, cmd("SET", k, "x"))
		require.NoError(t, err)
	}
	for _, m := range c.Masters() {
		v, err := m.Do(ctx, "WAIT", "1", "2000")
		require.NoError(t, err)
		require.Equal(t, int64(1), v.Int, "replica of %s in sync", m.Addr)
	}
	require.NoError(t, cl.Refresh(ctx))
	victim := c.Masters()[1]
	owned := slotsOf(t, c, victim)

	got := map[string]int{}
	seenOnVictim, killed := 0, false
	err := cl.Scan(ctx, ScanOptions{Count: 20}, func(k []byte) error {
		got[string(k)]++
		if owned[Slot(k)] {
			seenOnVictim++
			if seenOnVictim == 100 && !killed {
				killed = true
				require.NoError(t, victim.Kill())
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.True(t, killed, "the scan reached the victim's shard")
	assert.Len(t, got, len(want), "every key that exists, once")
	for k, n := range got {
		assert.True(t, want[k], "unexpected key %q", k)
		assert.Equal(t, 1, n, "key %q reported once", k)
	}
}
