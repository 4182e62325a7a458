package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/localredis"
	"github.com/rcli-dev/rcli/internal/redistest"
	"github.com/rcli-dev/rcli/internal/resp"
)

// loadStats counts what a background load saw, split by whether the key's slot
// belonged to the master under test.
type loadStats struct {
	ok, failedVictim, failedOther atomic.Int64
	unknownVictim                 atomic.Int64
	firstVictimOKAfter            atomic.Int64 // unix nanos of the first success on a victim slot after mark
	mark                          atomic.Int64 // unix nanos; 0 until set
	lastErr                       atomic.Value
}

// runLoad runs SET then GET on keys over every slot from several goroutines until
// ctx ends. victim reports whether a slot belongs to the node under test.
func runLoad(ctx context.Context, cl *Client, prefix string, victim func(slot int) bool, st *loadStats) *sync.WaitGroup {
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				key := fmt.Sprintf("%s:%d:%d", prefix, g, i%4096)
				slot := SlotString(key)
				opCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				v, err := cl.Do(opCtx, resp.NewCommand("SET", key, strconv.Itoa(i)))
				if err == nil && v.Kind == resp.Error {
					err = v.Err()
				}
				if err == nil {
					v, err = cl.Do(opCtx, resp.NewCommand("GET", key))
					if err == nil && v.Text() != strconv.Itoa(i) {
						err = fmt.Errorf("GET %s = %s, want %d", key, v, i)
					}
				}
				cancel()
				var ne *NodeError
				switch {
				case err == nil:
					st.ok.Add(1)
					if m := st.mark.Load(); m != 0 && victim(slot) {
						st.firstVictimOKAfter.CompareAndSwap(0, time.Now().UnixNano())
					}
				case victim(slot) && errors.As(err, &ne) && ne.Written:
					// In flight on the killed master: the outcome is unknown, and said so.
					st.unknownVictim.Add(1)
				case victim(slot):
					st.failedVictim.Add(1)
					st.lastErr.Store(err.Error())
				default:
					st.failedOther.Add(1)
					st.lastErr.Store(err.Error())
				}
			}
		}()
	}
	return &wg
}

func slotsOf(t *testing.T, c *localredis.Cluster, s *localredis.Server) map[int]bool {
	t.Helper()
	ctx := testCtx(t, 5*time.Second)
	view, err := c.View(ctx, s)
	require.NoError(t, err)
	owned := map[int]bool{}
	for _, n := range view {
		if n.ID != c.ID(s) {
			continue
		}
		for _, r := range n.Slots {
			for slot := r.Start; slot <= r.End; slot++ {
				owned[slot] = true
			}
		}
	}
	require.NotEmpty(t, owned)
	return owned
}

func TestFailoverMasterKilled(t *testing.T) {
	// A short node timeout makes the failover, and the test, quicker.
	c := redistest.StartCluster(t, 3, 1, "--cluster-node-timeout", "1000")
	cl := newClient(t, c, func(o *Options) {
		o.RefreshInterval = 30 * time.Second
		o.RetryBudget = 20 * time.Second
		o.Seeds = c.Addrs()
	})
	ctx := testCtx(t, 60*time.Second)
	require.NoError(t, cl.Refresh(ctx))

	victim := c.Masters()[0]
	replica := c.Replicas()[0]
	master, err := c.MasterOf(ctx, replica)
	require.NoError(t, err)
	require.Equal(t, victim.Addr, master.Addr)
	owned := slotsOf(t, c, victim)

	var st loadStats
	loadCtx, stopLoad := context.WithCancel(ctx)
	wg := runLoad(loadCtx, cl, t.Name(), func(s int) bool { return owned[s] }, &st)
	time.Sleep(300 * time.Millisecond)

	killed := time.Now()
	require.NoError(t, victim.Kill())
	// Wait for the replica to be promoted (polled; the client is not involved).
	var promoted time.Time
	for promoted.IsZero() {
		require.NoError(t, ctx.Err(), "replica never promoted")
		v, err := replica.Do(ctx, "ROLE")
		if err == nil && len(v.Elems) > 0 && v.Elems[0].Text() == "master" {
			promoted = time.Now()
			st.mark.Store(promoted.UnixNano())
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	deadline := time.Now().Add(10 * time.Second)
	for st.firstVictimOKAfter.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	stopLoad()
	wg.Wait()

	first := st.firstVictimOKAfter.Load()
	require.NotZero(t, first, "no command on the dead master's slots succeeded after promotion")
	recovery := time.Duration(first - promoted.UnixNano())
	t.Logf("kill→promotion %v, promotion→first success %v; %d ok, %d unknown outcome, last error: %v",
		promoted.Sub(killed).Round(time.Millisecond), recovery.Round(time.Millisecond),
		st.ok.Load(), st.unknownVictim.Load(), st.lastErr.Load())
	assert.Zero(t, st.failedOther.Load(), "commands on other masters' slots never fail")
	assert.Zero(t, st.failedVictim.Load(), "commands on the dead master's slots are retried until the failover")

	// The dead master was the seed: a command any node may serve goes elsewhere.
	require.Equal(t, victim.Addr, cl.SeedAddr())
	v, err := cl.Do(ctx, cmd("PUBLISH", "news", "hello"))
	require.NoError(t, err)
	assert.Equal(t, resp.Integer, v.Kind)
	assert.Less(t, recovery, 3*time.Second, "generous bound; the target is 0.5 s")
}

func TestFailoverManualUnderLoad(t *testing.T) {
	c := redistest.StartCluster(t, 3, 1)
	cl := newClient(t, c, func(o *Options) {
		o.RefreshInterval = 30 * time.Second
		o.Seeds = c.Addrs()
	})
	ctx := testCtx(t, 60*time.Second)
	require.NoError(t, cl.Refresh(ctx))

	replica := c.Replicas()[1]
	var st loadStats
	loadCtx, stopLoad := context.WithCancel(ctx)
	wg := runLoad(loadCtx, cl, t.Name(), func(int) bool { return false }, &st)
	time.Sleep(300 * time.Millisecond)
	v, err := replica.Do(ctx, "CLUSTER", "FAILOVER")
	require.NoError(t, err)
	require.Equal(t, "OK", v.Text())
	for {
		require.NoError(t, ctx.Err(), "manual failover never completed")
		v, err := replica.Do(ctx, "ROLE")
		if err == nil && v.Elems[0].Text() == "master" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	stopLoad()
	wg.Wait()
	t.Logf("manual failover under load: %d ok, %d failed (last error %v), %d MOVED followed",
		st.ok.Load(), st.failedOther.Load(), st.lastErr.Load(), cl.stats.moved.Load())
	assert.Zero(t, st.failedOther.Load(), "a manual failover fails no command")
	assert.Positive(t, st.ok.Load())
}

func TestSlotMigrationAskAndMoved(t *testing.T) {
	c := redistest.StartCluster(t, 3, 0)
	cl := newClient(t, c, func(o *Options) { o.Seeds = c.Addrs() })
	ctx := testCtx(t, 60*time.Second)
	require.NoError(t, cl.Refresh(ctx))

	const tag = "{migrating}"
	slot := SlotString(tag)
	src, err := c.SlotOwner(ctx, slot)
	require.NoError(t, err)
	var dst *localredis.Server
	for _, m := range c.Masters() {
		if m != src {
			dst = m
			break
		}
	}
	const nkeys = 200
	for i := 0; i < nkeys; i++ {
		_, err := cl.Do(ctx, cmd("SET", tag+strconv.Itoa(i), "0"))
		require.NoError(t, err)
	}

	// Increment every key in a loop while the slot moves; count what we did.
	var incrs [nkeys]atomic.Int64
	var failures atomic.Int64
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; loadCtx.Err() == nil; i += 4 {
				k := i % nkeys
				v, err := cl.Do(ctx, cmd("INCR", tag+strconv.Itoa(k)))
				if err != nil || v.Kind == resp.Error {
					failures.Add(1)
					t.Logf("INCR failed: %v %v", err, v)
					continue
				}
				incrs[k].Add(1)
			}
		}()
	}

	srcID, dstID := c.ID(src), c.ID(dst)
	_, err = dst.Do(ctx, "CLUSTER", "SETSLOT", strconv.Itoa(slot), "IMPORTING", srcID)
	require.NoError(t, err)
	_, err = src.Do(ctx, "CLUSTER", "SETSLOT", strconv.Itoa(slot), "MIGRATING", dstID)
	require.NoError(t, err)
	for {
		keys, err := src.Do(ctx, "CLUSTER", "GETKEYSINSLOT", strconv.Itoa(slot), "10")
		require.NoError(t, err)
		if len(keys.Elems) == 0 {
			break
		}
		args := []string{"MIGRATE", "127.0.0.1", strconv.Itoa(dst.Port), "", "0", "5000", "KEYS"}
		for _, k := range keys.Elems {
			args = append(args, k.Text())
		}
		v, err := src.Do(ctx, args...)
		require.NoError(t, err)
		require.NotEqual(t, resp.Error, v.Kind, "MIGRATE: %s", v)
		time.Sleep(20 * time.Millisecond) // let the load hit ASK while keys are split
	}
	for _, m := range c.Masters() {
		_, err := m.Do(ctx, "CLUSTER", "SETSLOT", strconv.Itoa(slot), "NODE", dstID)
		require.NoError(t, err)
	}
	time.Sleep(300 * time.Millisecond)
	stopLoad()
	wg.Wait()

	assert.Zero(t, failures.Load())
	assert.Positive(t, cl.stats.ask.Load(), "ASK was followed during the migration")
	assert.Positive(t, cl.stats.moved.Load(), "MOVED was followed after it")
	for k := 0; k < nkeys; k++ {
		v, err := dst.Do(ctx, "GET", tag+strconv.Itoa(k))
		require.NoError(t, err)
		assert.Equal(t, strconv.FormatInt(incrs[k].Load(), 10), v.Text(), "key %d", k)
	}
	t.Logf("migration: %d ASK and %d MOVED followed", cl.stats.ask.Load(), cl.stats.moved.Load())
}
