package pipeline

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/localredis"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/redistest"
	"github.com/rcli-dev/rcli/internal/resp"
)

// checkKeys reads every key of want through a fresh client and compares its value.
func checkKeys(t *testing.T, c *localredis.Cluster, want map[string]string) {
	t.Helper()
	cl := clusterClient(t, c, nil)
	ctx := testCtx(t, 60*time.Second)
	p := New(cl, Options{})
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
		p.Queue(cmd("GET", k))
	}
	res := p.Exec(ctx)
	bad := 0
	for i, r := range res {
		require.NoError(t, r.Err)
		if r.Value.Text() != want[keys[i]] {
			bad++
			if bad <= 5 {
				t.Errorf("GET %s = %s, want %q", keys[i], r.Value, want[keys[i]])
			}
		}
	}
	assert.Zero(t, bad, "keys with a wrong value, of %d", len(want))
}

func TestPipeCluster(t *testing.T) {
	c := sharedCluster(t)
	ctx := testCtx(t, 60*time.Second)

	t.Run("routes-by-key", func(t *testing.T) {
		cl := clusterClient(t, c, nil)
		for _, conns := range []int{1, 3} {
			prefix := fmt.Sprintf("rk%d", conns)
			r := runPipe(t, cl, strings.NewReader(inlineSets(prefix, 20000, "\n")), func(o *PipeOptions) { o.Conns = conns })
			require.NoError(t, r.err)
			assert.Equal(t, int64(20000), r.sum.OK, r.errOut)
			want := map[string]string{}
			for i := 0; i < 20000; i += 97 {
				want[fmt.Sprintf("%s:%d", prefix, i)] = strconv.Itoa(i)
			}
			checkKeys(t, c, want)
		}
	})
	t.Run("moved-followed-from-one-seed", func(t *testing.T) {
		// A client that knows one node and no slot map: every command for the other
		// masters comes back MOVED and goes to its owner.
		cl, err := cluster.New(cluster.Options{Seeds: []string{c.Masters()[1].Addr}, Cluster: true,
			Pool: pool.Options{MaxActive: 8, ReadTimeout: 3 * time.Second}})
		require.NoError(t, err)
		t.Cleanup(func() { cl.Close() })
		var b strings.Builder
		for i := range 3000 {
			fmt.Fprintf(&b, "RPUSH mv:%d a\nRPUSH mv:%d b\n", i%500, i%500)
		}
		r := runPipe(t, cl, strings.NewReader(b.String()), func(o *PipeOptions) { o.Conns = 2 })
		require.NoError(t, r.err)
		assert.Equal(t, int64(6000), r.sum.OK, r.errOut)
		assert.Positive(t, r.sum.Redirects)
		check := clusterClient(t, c, nil)
		for k := range 500 {
			v, err := check.Do(ctx, cmd("LRANGE", fmt.Sprintf("mv:%d", k), "0", "-1"))
			require.NoError(t, err)
			require.Len(t, v.Elems, 12)
			for i, e := range v.Elems {
				require.Equal(t, string("ab"[i%2]), e.Text(), "order of mv:%d", k)
			}
		}
	})
	t.Run("keyless-and-cluster-wide", func(t *testing.T) {
		cl := clusterClient(t, c, nil)
		input := "SET cw:a 1\nPING\nMSET cw:b 2 cw:c 3\nDBSIZE\nMGET cw:a cw:b cw:c\nRENAME cw:a cw:z\nSELECT 1\n"
		r := runPipe(t, cl, strings.NewReader(input), nil)
		assert.Equal(t, int64(7), r.sum.Commands)
		assert.Equal(t, int64(5), r.sum.OK, r.errOut)
		outcome := map[int64]string{}
		for _, l := range r.report {
			outcome[l.Line] = l.Outcome + ": " + l.Reply
		}
		assert.Contains(t, outcome[6], "rejected: CROSSSLOT")
		assert.Contains(t, outcome[7], "error: ERR SELECT is not allowed in cluster mode")
	})
}

func TestPipeClusterTransactionAsk(t *testing.T) {
	c := sharedCluster(t)
	cl := clusterClient(t, c, nil)
	ctx := testCtx(t, 30*time.Second)
	const tag = "{ptxask}"
	_, dst := migrate(t, c, cluster.SlotString(tag), tag+"a", tag+"b")
	input := "MULTI\nSET " + tag + "a 1\nINCR " + tag + "a\nEXEC\nSET " + tag + "b x\nMULTI\nSET " + tag + "a 5\nSET other 1\nEXEC\n"
	r := runPipe(t, cl, strings.NewReader(input), nil)
	assert.Equal(t, int64(9), r.sum.Commands)
	assert.Equal(t, int64(5), r.sum.OK, r.errOut)
	assert.Equal(t, int64(4), r.sum.Rejected, "the cross-slot transaction is rejected whole")
	assert.Positive(t, r.sum.Redirects)
	rc, err := dst.Dial(ctx)
	require.NoError(t, err)
	defer rc.Close()
	for k, want := range map[string]string{"a": "2", "b": "x"} {
		_, err = rc.Do("ASKING")
		require.NoError(t, err)
		v, err := rc.Do("GET", tag+k)
		require.NoError(t, err)
		assert.Equal(t, want, v.Text(), "the writes ran on the importing node, after ASK")
	}
}

// migrateSlots moves slots from src to dst the way redis-cli --cluster reshard does,
// pausing between batches of keys so that a load sees the slots half-moved.
func migrateSlots(ctx context.Context, c *localredis.Cluster, src, dst *localredis.Server, slots []int) error {
	srcID, dstID := c.ID(src), c.ID(dst)
	for _, slot := range slots {
		s := strconv.Itoa(slot)
		if _, err := dst.Do(ctx, "CLUSTER", "SETSLOT", s, "IMPORTING", srcID); err != nil {
			return err
		}
		if _, err := src.Do(ctx, "CLUSTER", "SETSLOT", s, "MIGRATING", dstID); err != nil {
			return err
		}
		for {
			keys, err := src.Do(ctx, "CLUSTER", "GETKEYSINSLOT", s, "20")
			if err != nil {
				return err
			}
			if len(keys.Elems) == 0 {
				break
			}
			args := []string{"MIGRATE", "127.0.0.1", strconv.Itoa(dst.Port), "", "0", "5000", "REPLACE", "KEYS"}
			for _, k := range keys.Elems {
				args = append(args, k.Text())
			}
			v, err := src.Do(ctx, args...)
			if err != nil {
				return err
			}
			if v.Kind == resp.Error {
				return fmt.Errorf("MIGRATE: %s", v.Str)
			}
			time.Sleep(time.Millisecond)
		}
		for _, m := range c.Masters() {
			if _, err := m.Do(ctx, "CLUSTER", "SETSLOT", s, "NODE", dstID); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadWriter writes SET commands to w until stop is closed and at least min have been
// written, at most max, a few at a time so that the load lasts. The value of a key is
// the number of the last command that set it.
func loadWriter(w *io.PipeWriter, keys, min, max int, stop <-chan struct{}, want map[string]string) int {
	n := 0
	var buf []byte
	defer w.Close()
	for n < max {
		select {
		case <-stop:
			if n >= min {
				return n
			}
		default:
		}
		buf = buf[:0]
		for range 200 {
			k := fmt.Sprintf("ld:%d", n%keys)
			v := strconv.Itoa(n)
			buf = resp.AppendArgs(buf, "SET", k, v)
			want[k] = v
			n++
		}
		if _, err := w.Write(buf); err != nil {
			return n
		}
		time.Sleep(2 * time.Millisecond)
	}
	return n
}

// TestPipeClusterReshard loads through pipe mode while a range of slots moves from one
// master to another: every key ends on its owner with the value of the last command that
// set it, so no key saw its commands reordered.
func TestPipeClusterReshard(t *testing.T) {
	c := redistest.StartCluster(t, 3, 0)
	cl := clusterClient(t, c, nil)
	ctx := testCtx(t, 90*time.Second)

	// Slots that the load's keys use, all owned by the first master.
	src := c.Masters()[0]
	dst := c.Masters()[1]
	var slots []int
	seen := map[int]bool{}
	owned := map[int]bool{}
	view, err := c.View(ctx, src)
	require.NoError(t, err)
	for _, n := range view {
		if n.Myself() {
			for s := range cluster.SlotCount {
				if n.Owns(s) {
					owned[s] = true
				}
			}
		}
	}
	for i := 0; len(slots) < 150; i++ {
		s := cluster.SlotString(fmt.Sprintf("ld:%d", i))
		if owned[s] && !seen[s] {
			seen[s] = true
			slots = append(slots, s)
		}
	}

	pr, pw := io.Pipe()
	want := map[string]string{}
	stop := make(chan struct{})
	var written int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		written = loadWriter(pw, 20000, 40000, 100000, stop, want)
	}()
	var migErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(stop)
		time.Sleep(50 * time.Millisecond)
		migErr = migrateSlots(ctx, c, src, dst, slots)
	}()
	r := runPipe(t, cl, pr, func(o *PipeOptions) { o.Conns = 2 })
	wg.Wait()
	require.NoError(t, migErr)
	require.NoError(t, r.err)
	assert.Equal(t, int64(written), r.sum.Commands)
	assert.Equal(t, int64(written), r.sum.OK, clipText(r.errOut))
	t.Logf("reshard of %d slots during a load of %d commands: %d redirects, %d retries", len(slots), written, r.sum.Redirects, r.sum.Retries)
	assert.Positive(t, r.sum.Redirects, "the load ran into the migration")
	checkKeys(t, c, want)
}

// TestPipeClusterMasterKilled kills a master in the middle of a pipe load with --wait 1:
// ok + error + rejected + unknown equals the commands read, and every write that ended
// ok and that WAIT confirmed can be read after the failover.
func TestPipeClusterMasterKilled(t *testing.T) {
	c := redistest.StartCluster(t, 3, 1, "--cluster-node-timeout", "1000")
	cl := clusterClient(t, c, func(o *cluster.Options) { o.Pool.DialTimeout = time.Second })
	ctx := testCtx(t, 90*time.Second)

	pr, pw := io.Pipe()
	want := map[string]string{}
	stop := make(chan struct{})
	var written int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		written = loadWriter(pw, 100000, 30000, 60000, stop, want)
	}()
	victim := c.Masters()[2]
	var killed atomic.Bool
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(stop)
		time.Sleep(150 * time.Millisecond)
		assert.NoError(t, victim.Kill())
		killed.Store(true)
		// Let the load run into the failover, then end it.
		hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		for hctx.Err() == nil {
			if v, err := c.Masters()[0].Do(hctx, "CLUSTER", "INFO"); err == nil && strings.Contains(v.Text(), "cluster_state:ok") {
				if owner, err := c.SlotOwner(hctx, slotOf(c, victim)); err == nil && owner != victim {
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
	}()
	r := runPipe(t, cl, pr, func(o *PipeOptions) {
		o.Wait, o.WaitTimeout, o.Window = 1, 200*time.Millisecond, 4096
	})
	wg.Wait()
	require.True(t, killed.Load())
	require.NoError(t, r.err)
	s := r.sum
	t.Logf("master killed mid-load: %d commands: ok %d (unconfirmed %d), error %d, rejected %d, unknown %d; %d redirects, %d retries",
		s.Commands, s.OK, s.Unconfirmed, s.Errors, s.Rejected, s.Unknown, s.Redirects, s.Retries)
	assert.Equal(t, int64(written), s.Commands)
	assert.LessOrEqual(t, s.Unknown, int64(4096), "no more unknown than one connection's window")
	assert.Zero(t, s.Errors, "the failover was ridden out within the retry budget: %s", clipText(r.errOut))

	// Every key whose last write ended ok and confirmed holds that write.
	notOK := map[int64]bool{}
	for _, l := range r.report {
		notOK[l.Command] = true
	}
	require.Len(t, notOK, int(s.Unknown+s.Unconfirmed), "the report lists every unknown and unconfirmed command")
	confirmed := map[string]string{}
	lastCmd := map[string]int64{}
	for k, v := range want {
		n, _ := strconv.ParseInt(v, 10, 64)
		lastCmd[k] = n + 1 // command numbers start at 1
	}
	for k, n := range lastCmd {
		if !notOK[n] {
			confirmed[k] = want[k]
		}
	}
	require.NoError(t, c.WaitHealthy(ctx))
	checkKeys(t, c, confirmed)
}

// slotOf returns one slot that s serves.
func slotOf(c *localredis.Cluster, s *localredis.Server) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	view, err := c.View(ctx, s)
	if err != nil {
		return 0
	}
	for _, n := range view {
		if n.Myself() {
			for slot := range cluster.SlotCount {
				if n.Owns(slot) {
					return slot
				}
			}
		}
	}
	return 0
}
