package pipeline

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/localredis"
	"github.com/rcli-dev/rcli/internal/redistest"
	"github.com/rcli-dev/rcli/internal/resp"
)

func TestMulti(t *testing.T) {
	c := sharedCluster(t)
	cl := clusterClient(t, c, nil)
	ctx := testCtx(t, 30*time.Second)

	t.Run("one-round-trip", func(t *testing.T) {
		before := cl.Stats().Batches
		res, err := Multi(ctx, cl, Options{}, cmd("SET", "{m1}a", "1"), cmd("INCR", "{m1}a"), cmd("LPUSH", "{m1}a", "x"), cmd("GET", "{m1}a"))
		require.NoError(t, err)
		require.Len(t, res, 4)
		assert.Equal(t, "OK", res[0].Value.Text())
		assert.Equal(t, int64(2), res[1].Value.Int)
		assert.Equal(t, resp.Error, res[2].Value.Kind, "a runtime error is a value: Redis does not roll back")
		assert.Equal(t, "2", res[3].Value.Text())
		assert.Equal(t, uint64(1), cl.Stats().Batches-before)
	})
	t.Run("crossslot-before-sending", func(t *testing.T) {
		before := cl.Stats().Batches
		_, err := Multi(ctx, cl, Options{}, cmd("SET", "a", "1"), cmd("SET", "b", "2"))
		var cse *cluster.CrossSlotError
		require.ErrorAs(t, err, &cse)
		assert.Len(t, cse.Slots, 2)
		_, err = Multi(ctx, cl, Options{}, cmd("MSET", "a", "1", "b", "2"))
		require.ErrorAs(t, err, &cse)
		assert.Equal(t, before, cl.Stats().Batches, "nothing sent")
	})
	t.Run("queue-error-is-execabort", func(t *testing.T) {
		_, err := Multi(ctx, cl, Options{}, cmd("SET", "{m2}a", "1"), cmd("INCR"), cmd("SET", "{m2}b", "1"))
		var ea *ExecAbortError
		require.ErrorAs(t, err, &ea)
		assert.Equal(t, 1, ea.Index)
		assert.Equal(t, "INCR", ea.Command)
		assert.Contains(t, ea.Error(), "wrong number of arguments")
		assert.Contains(t, ea.Exec.Text(), "EXECABORT")
		v, err := cl.Do(ctx, cmd("EXISTS", "{m2}a"))
		require.NoError(t, err)
		assert.Equal(t, int64(0), v.Int, "nothing of the transaction ran")
	})
	t.Run("keyless", func(t *testing.T) {
		res, err := Multi(ctx, cl, Options{}, cmd("PING"), cmd("ECHO", "x"))
		require.NoError(t, err)
		assert.Equal(t, "x", res[1].Value.Text())
	})
	t.Run("nested-multi-refused", func(t *testing.T) {
		_, err := Multi(ctx, cl, Options{}, cmd("MULTI"))
		require.Error(t, err)
	})
}

// migrate puts slot in MIGRATING on its owner and IMPORTING on another master, and
// returns both with a function that makes the slot stable again on its owner, after
// deleting keys on the importing side.
func migrate(t *testing.T, c *localredis.Cluster, slot int, leftovers ...string) (src, dst *localredis.Server) {
	t.Helper()
	ctx := testCtx(t, 10*time.Second)
	src, err := c.SlotOwner(ctx, slot)
	require.NoError(t, err)
	dst = otherMaster(c, src)
	s := strconv.Itoa(slot)
	_, err = dst.Do(ctx, "CLUSTER", "SETSLOT", s, "IMPORTING", c.ID(src))
	require.NoError(t, err)
	_, err = src.Do(ctx, "CLUSTER", "SETSLOT", s, "MIGRATING", c.ID(dst))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rc, err := dst.Dial(ctx)
		if err == nil {
			for _, k := range leftovers {
				_, _ = rc.Do("ASKING")
				_, _ = rc.Do("DEL", k)
			}
			rc.Close()
		}
		_, _ = src.Do(ctx, "CLUSTER", "SETSLOT", s, "STABLE")
		_, _ = dst.Do(ctx, "CLUSTER", "SETSLOT", s, "STABLE")
	})
	return src, dst
}

func TestMultiAsk(t *testing.T) {
	c := sharedCluster(t)
	cl := clusterClient(t, c, nil)
	ctx := testCtx(t, 30*time.Second)
	const tag = "{txask}"
	_, dst := migrate(t, c, cluster.SlotString(tag), tag+"a", tag+"n")

	res, err := Multi(ctx, cl, Options{}, cmd("SET", tag+"a", "1"), cmd("INCR", tag+"a"))
	require.NoError(t, err)
	assert.Equal(t, "OK", res[0].Value.Text())
	assert.Equal(t, int64(2), res[1].Value.Int)
	assert.Positive(t, cl.Stats().Ask, "the queue-time ASK was followed")

	// Two keys that are on neither side yet: the importing node answers TRYAGAIN until
	// the migration ends; the transaction gives up within its budget without running.
	start := time.Now()
	_, err = Multi(ctx, cl, Options{RetryBudget: 500 * time.Millisecond, MaxRedirects: 100},
		cmd("SET", tag+"a", "2"), cmd("SET", tag+"n", "1"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "retry budget")
	assert.Less(t, time.Since(start), 3*time.Second)

	rc, err := dst.Dial(ctx)
	require.NoError(t, err)
	defer rc.Close()
	_, err = rc.Do("ASKING")
	require.NoError(t, err)
	v, err := rc.Do("GET", tag+"a")
	require.NoError(t, err)
	assert.Equal(t, "2", v.Text(), "the transaction ran on the importing node")
}

func TestWatch(t *testing.T) {
	c := sharedCluster(t)
	cl := clusterClient(t, c, nil)
	other := clusterClient(t, c, nil)
	ctx := testCtx(t, 30*time.Second)

	t.Run("retries-when-watch-fails", func(t *testing.T) {
		key := "{w1}balance"
		_, err := cl.Do(ctx, cmd("SET", key, "10"))
		require.NoError(t, err)
		calls := 0
		res, err := Watch(ctx, cl, Options{}, []string{key}, func(ctx context.Context, tx *Tx) error {
			calls++
			v, err := tx.Do(ctx, cmd("GET", key))
			if err != nil {
				return err
			}
			n, _ := strconv.Atoi(v.Text())
			if calls == 1 {
				// Someone else changes the key between our read and our EXEC.
				_, err := other.Do(ctx, cmd("INCRBY", key, "5"))
				require.NoError(t, err)
			}
			return tx.Queue(ctx, cmd("SET", key, strconv.Itoa(n*2)))
		})
		require.NoError(t, err)
		assert.Equal(t, 2, calls, "the first EXEC was aborted, the second ran")
		require.Len(t, res, 1)
		v, err := cl.Do(ctx, cmd("GET", key))
		require.NoError(t, err)
		assert.Equal(t, "30", v.Text())
	})
	t.Run("gives-up", func(t *testing.T) {
		key := "{w2}k"
		calls := 0
		_, err := Watch(ctx, cl, Options{WatchAttempts: 3}, []string{key}, func(ctx context.Context, tx *Tx) error {
			calls++
			_, err := other.Do(ctx, cmd("INCR", key))
			require.NoError(t, err)
			return tx.Queue(ctx, cmd("SET", key, "mine"))
		})
		assert.ErrorIs(t, err, ErrWatchRetries)
		assert.ErrorIs(t, err, ErrTxAborted)
		assert.Equal(t, 3, calls)
	})
	t.Run("fn-error-stops", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := Watch(ctx, cl, Options{}, []string{"{w3}k"}, func(ctx context.Context, tx *Tx) error { return boom })
		assert.ErrorIs(t, err, boom)
	})
	t.Run("other-slot-refused", func(t *testing.T) {
		_, err := Watch(ctx, cl, Options{}, []string{"{w4}k"}, func(ctx context.Context, tx *Tx) error {
			return tx.Queue(ctx, cmd("SET", "{w5}k", "1"))
		})
		var cse *cluster.CrossSlotError
		assert.ErrorAs(t, err, &cse)
	})
	t.Run("nothing-queued", func(t *testing.T) {
		res, err := Watch(ctx, cl, Options{}, []string{"{w6}k"}, func(ctx context.Context, tx *Tx) error {
			_, err := tx.Do(ctx, cmd("GET", "{w6}k"))
			return err
		})
		require.NoError(t, err)
		assert.Nil(t, res)
	})
}

func TestWatchStandalone(t *testing.T) {
	s := redistest.StartServer(t)
	cl := standaloneClient(t, s)
	ctx := testCtx(t, 10*time.Second)
	res, err := Watch(ctx, cl, Options{}, []string{"a", "b"}, func(ctx context.Context, tx *Tx) error {
		return tx.Queue(ctx, cmd("SET", "a", "1"), cmd("SET", "b", "2"))
	})
	require.NoError(t, err)
	require.Len(t, res, 2)
	v, err := cl.Do(ctx, cmd("MGET", "a", "b"))
	require.NoError(t, err)
	assert.Equal(t, "2", v.Elems[1].Text())
}
