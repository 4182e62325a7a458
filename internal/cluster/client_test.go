package cluster

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/localredis"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/resp"
)

func newClient(t *testing.T, c *localredis.Cluster, mod func(*Options)) *Client {
	t.Helper()
	o := Options{
		Seeds:   []string{c.Masters()[0].Addr},
		Cluster: true,
		Pool:    pool.Options{MaxActive: 16, ReadTimeout: 2 * time.Second},
	}
	if mod != nil {
		mod(&o)
	}
	cl, err := New(o)
	require.NoError(t, err)
	t.Cleanup(func() { cl.Close() })
	return cl
}

func cmd(args ...string) resp.Command { return resp.NewCommand(args...) }

// keysForAllSlots returns one key per slot, prefixed for the test.
func keysForAllSlots(prefix string) []string {
	keys := make([]string, SlotCount)
	found := 0
	for i := 0; found < SlotCount; i++ {
		k := prefix + strconv.Itoa(i)
		if s := SlotString(k); keys[s] == "" {
			keys[s] = k
			found++
		}
	}
	return keys
}

func TestClientEverySlot(t *testing.T) {
	c := sharedCluster(t)
	cl := newClient(t, c, nil)
	ctx := testCtx(t, 60*time.Second)
	keys := keysForAllSlots(t.Name() + ":")
	for i, k := range keys {
		v, err := cl.Do(ctx, cmd("SET", k, strconv.Itoa(i)))
		require.NoError(t, err)
		require.Equal(t, "OK", v.Text(), "SET %s: %s", k, v)
	}
	for i, k := range keys {
		v, err := cl.Do(ctx, cmd("GET", k))
		require.NoError(t, err)
		require.Equal(t, strconv.Itoa(i), v.Text(), "GET %s", k)
	}
	// Every key landed on the node that owns its slot (checked by the server itself).
	for _, m := range c.Masters() {
		v, err := m.Do(ctx, "DBSIZE")
		require.NoError(t, err)
		assert.Greater(t, v.Int, int64(5000), "master %s holds its share", m.Addr)
	}
}

func TestClientMGETAcrossSlotsOneRoundTripPerNode(t *testing.T) {
	c := sharedCluster(t)
	cl := newClient(t, c, nil)
	ctx := testCtx(t, 30*time.Second)
	require.NoError(t, cl.Refresh(ctx))
	keys := make([]string, 1000)
	mset := []string{"MSET"}
	for i := range keys {
		keys[i] = fmt.Sprintf("%s:%d", t.Name(), i)
		mset = append(mset, keys[i], "v"+strconv.Itoa(i))
	}
	v, err := cl.Do(ctx, cmd(mset...))
	require.NoError(t, err)
	require.Equal(t, "OK", v.Text())

	before := cl.stats.batches.Load()
	v, err = cl.Do(ctx, cmd(append([]string{"MGET"}, append(keys, t.Name()+":missing")...)...))
	require.NoError(t, err)
	assert.Equal(t, uint64(3), cl.stats.batches.Load()-before, "one pipelined batch per master")
	require.Len(t, v.Elems, 1001)
	for i := range keys {
		assert.Equal(t, "v"+strconv.Itoa(i), v.Elems[i].Text())
	}
	assert.True(t, v.Elems[1000].IsNull())

	v, err = cl.Do(ctx, cmd(append([]string{"EXISTS"}, keys...)...))
	require.NoError(t, err)
	assert.Equal(t, int64(1000), v.Int)
	v, err = cl.Do(ctx, cmd(append([]string{"DEL"}, keys...)...))
	require.NoError(t, err)
	assert.Equal(t, int64(1000), v.Int)
}

func TestClientCrossSlotIsLocal(t *testing.T) {
	c := sharedCluster(t)
	cl := newClient(t, c, nil)
	ctx := testCtx(t, 10*time.Second)
	_, err := cl.Do(ctx, cmd("SUNIONSTORE", "a", "b", "c"))
	var cs *CrossSlotError
	require.ErrorAs(t, err, &cs)
	assert.Len(t, cs.Slots, 3)
	// Keys that share a hash tag are fine.
	v, err := cl.Do(ctx, cmd("SUNIONSTORE", "{x}a", "{x}b", "{x}c"))
	require.NoError(t, err)
	assert.Equal(t, resp.Integer, v.Kind)
}

func TestClientFanout(t *testing.T) {
	c := sharedCluster(t)
	cl := newClient(t, c, nil)
	ctx := testCtx(t, 10*time.Second)
	prefix := t.Name() + ":"
	for i := 0; i < 30; i++ {
		_, err := cl.Do(ctx, cmd("SET", prefix+strconv.Itoa(i), "x"))
		require.NoError(t, err)
	}
	v, err := cl.Do(ctx, cmd("KEYS", prefix+"*"))
	require.NoError(t, err)
	assert.Len(t, v.Elems, 30, "KEYS merges every master")

	var total int64
	for _, m := range c.Masters() {
		n, err := m.Do(ctx, "DBSIZE")
		require.NoError(t, err)
		total += n.Int
	}
	v, err = cl.Do(ctx, cmd("DBSIZE"))
	require.NoError(t, err)
	assert.Equal(t, total, v.Int, "DBSIZE sums every master")

	v, err = cl.Do(ctx, cmd("SCRIPT", "LOAD", "return 'fanout'"))
	require.NoError(t, err)
	sha := v.Text()
	for _, n := range c.Nodes {
		e, err := n.Do(ctx, "SCRIPT", "EXISTS", sha)
		require.NoError(t, err)
		assert.Equal(t, int64(1), e.Elems[0].Int, "script loaded on %s", n.Addr)
	}
	v, err = cl.Do(ctx, cmd("SCRIPT", "EXISTS", sha, strings.Repeat("0", 40)))
	require.NoError(t, err)
	assert.Equal(t, []int64{1, 0}, []int64{v.Elems[0].Int, v.Elems[1].Int})

	// Keyless commands outside the fan-out list go to the node the user named.
	r := cl.Exec(ctx, cmd("PING"))
	require.NoError(t, r.Err)
	assert.Equal(t, c.Masters()[0].Addr, r.Addr)
}

func TestClientMovedStormSharesRefreshes(t *testing.T) {
	c := sharedCluster(t)
	cl := newClient(t, c, func(o *Options) { o.RefreshInterval = time.Hour })
	ctx := testCtx(t, 30*time.Second)
	require.NoError(t, cl.Refresh(ctx))
	// Point one slot at the wrong master, then let 1,000 callers hit MOVED at once.
	key := t.Name()
	slot := SlotString(key)
	owner := cl.pick(slot, false)
	var wrong *node
	for _, m := range c.Masters() {
		if m.Addr != owner.addr {
			wrong = cl.node(m.Addr)
			break
		}
	}
	topoCalls := func() int64 {
		var total int64
		for _, n := range c.Nodes {
			v, err := n.Do(ctx, "INFO", "commandstats")
			require.NoError(t, err)
			for _, line := range strings.Split(v.Text(), "\n") {
				if strings.HasPrefix(line, "cmdstat_cluster|nodes:") || strings.HasPrefix(line, "cmdstat_cluster|slots:") {
					calls := strings.TrimPrefix(strings.Split(strings.SplitN(line, ":", 2)[1], ",")[0], "calls=")
					n, _ := strconv.ParseInt(calls, 10, 64)
					total += n
				}
			}
		}
		return total
	}
	// Let the background loop's first load finish, so that it cannot undo the stale
	// slot planted below, and let its gap pass.
	for {
		cl.refresh.mu.Lock()
		idle := cl.refresh.running == nil && time.Since(cl.refresh.last) > DefaultMinRefreshGap
		cl.refresh.mu.Unlock()
		if idle {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := topoCalls()
	cl.patchSlot(slot, wrong)
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := cl.Do(ctx, cmd("GET", key))
			if err == nil && v.Kind == resp.Error {
				err = v.Err()
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("GET failed: %v", err)
	}
	time.Sleep(3 * DefaultMinRefreshGap)
	calls := topoCalls() - before
	t.Logf("1000 callers that hit MOVED caused %d topology loads", calls)
	assert.LessOrEqual(t, calls, int64(3))
	assert.GreaterOrEqual(t, calls, int64(1), "MOVED schedules a refresh")
}
