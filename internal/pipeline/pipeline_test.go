package pipeline

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/redistest"
	"github.com/rcli-dev/rcli/internal/resp"
)

func TestPipelineStandalone(t *testing.T) {
	s := redistest.StartServer(t)
	cl := standaloneClient(t, s)
	ctx := testCtx(t, 20*time.Second)

	t.Run("results-in-order", func(t *testing.T) {
		p := New(cl, Options{})
		p.Queue(cmd("SET", "a", "1"), cmd("INCR", "a"), cmd("LPUSH", "a", "x"), cmd("GET", "a"), cmd("PING"))
		assert.Equal(t, 5, p.Len())
		res := p.Exec(ctx)
		require.Len(t, res, 5)
		assert.Equal(t, "OK", res[0].Value.Text())
		assert.Equal(t, int64(2), res[1].Value.Int)
		assert.Equal(t, resp.Error, res[2].Value.Kind, "one failed command is one failed result")
		assert.Contains(t, res[2].Value.Text(), "WRONGTYPE")
		assert.Equal(t, "2", res[3].Value.Text())
		assert.Equal(t, "PONG", res[4].Value.Text())
		for _, r := range res {
			assert.NoError(t, r.Err)
		}
		assert.Zero(t, p.Len(), "Exec empties the queue")
	})
	t.Run("empty", func(t *testing.T) {
		assert.Empty(t, New(cl, Options{}).Exec(ctx))
	})
	t.Run("many", func(t *testing.T) {
		p := New(cl, Options{})
		for i := range 5000 {
			p.Queue(cmd("SET", "many:"+strconv.Itoa(i), strconv.Itoa(i)))
		}
		for i := range 5000 {
			p.Queue(cmd("GET", "many:"+strconv.Itoa(i)))
		}
		res := p.Exec(ctx)
		for i := range 5000 {
			require.Equal(t, strconv.Itoa(i), res[5000+i].Value.Text())
		}
	})
}

func TestPipelineCluster(t *testing.T) {
	c := sharedCluster(t)
	cl := clusterClient(t, c, nil)
	ctx := testCtx(t, 30*time.Second)

	t.Run("every-node-one-round", func(t *testing.T) {
		keys := keysInSlots(t.Name()+":", 2000)
		p := New(cl, Options{})
		for i, k := range keys {
			p.Queue(cmd("SET", k, strconv.Itoa(i)))
		}
		for _, k := range keys {
			p.Queue(cmd("INCR", k))
		}
		before := cl.Stats().Batches
		res := p.Exec(ctx)
		for i := range keys {
			require.NoError(t, res[i].Err)
			require.Equal(t, int64(i+1), res[len(keys)+i].Value.Int, "key %s", keys[i])
		}
		assert.LessOrEqual(t, cl.Stats().Batches-before, uint64(3), "one batch per master")
	})
	t.Run("fanout-and-split-keep-their-place", func(t *testing.T) {
		p := New(cl, Options{})
		p.Queue(cmd("SET", "fs:a", "1"), cmd("SET", "fs:b", "2"),
			cmd("MGET", "fs:a", "fs:b"), cmd("DEL", "fs:a", "fs:b"), cmd("MGET", "fs:a", "fs:b"))
		res := p.Exec(ctx)
		require.Len(t, res, 5)
		assert.Equal(t, "1", res[2].Value.Elems[0].Text())
		assert.Equal(t, "2", res[2].Value.Elems[1].Text())
		assert.Equal(t, int64(2), res[3].Value.Int)
		assert.True(t, res[4].Value.Elems[0].IsNull())
	})
	t.Run("crossslot-local", func(t *testing.T) {
		p := New(cl, Options{})
		p.Queue(cmd("RENAME", "cs:a", "cs:zz"), cmd("PING"))
		res := p.Exec(ctx)
		var cse *cluster.CrossSlotError
		require.ErrorAs(t, res[0].Err, &cse)
		assert.Equal(t, "PONG", res[1].Value.Text())
	})
	t.Run("moved-only-redirected-resent", func(t *testing.T) {
		// A stale slot map: every slot points at one master. Commands for the
		// other masters' slots come back MOVED and are resent alone.
		stale, err := cluster.New(cluster.Options{Seeds: []string{c.Masters()[0].Addr}, Cluster: true,
			Pool: pool.Options{MaxActive: 8, ReadTimeout: 3 * time.Second}})
		require.NoError(t, err)
		t.Cleanup(func() { stale.Close() })
		keys := keysInSlots(t.Name()+":", 300)
		p := New(stale, Options{})
		for i, k := range keys {
			p.Queue(cmd("INCRBY", k, strconv.Itoa(i+1)))
		}
		res := p.Exec(ctx)
		for i, r := range res {
			require.NoError(t, r.Err)
			require.Equal(t, int64(i+1), r.Value.Int, "INCRBY ran exactly once: %s", keys[i])
		}
		assert.Positive(t, stale.Stats().Moved)
	})
}

// flakyProxy forwards TCP to a server and can cut every connection at once.
type flakyProxy struct {
	ln    net.Listener
	to    string
	mu    sync.Mutex
	conns []net.Conn
}

func newFlakyProxy(t *testing.T, to string) *flakyProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &flakyProxy{ln: ln, to: to}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { copyAndClose(s, c) }()
			go func() { copyAndClose(c, s) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func copyAndClose(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
}

func (p *flakyProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *flakyProxy) addr() string { return p.ln.Addr().String() }

func TestPipelineBrokenConnection(t *testing.T) {
	s := redistest.StartServer(t)
	ctx := testCtx(t, 20*time.Second)
	proxy := newFlakyProxy(t, s.Addr)
	newCl := func() *cluster.Client {
		cl, err := cluster.New(cluster.Options{Seeds: []string{proxy.addr()},
			Pool: pool.Options{MaxActive: 4, ReadTimeout: 3 * time.Second}})
		require.NoError(t, err)
		t.Cleanup(func() { cl.Close() })
		return cl
	}

	run := func(t *testing.T, o Options) []Result {
		cl := newCl()
		_, err := cl.Do(ctx, cmd("SET", "slow", "x")) // warm the pool and the metadata
		require.NoError(t, err)
		_, err = cl.Do(ctx, cmd("COMMAND", "INFO", "GET", "INCR", "DEBUG"))
		require.NoError(t, err)
		p := New(cl, o)
		p.Queue(cmd("INCR", "bc:counter"), cmd("DEBUG", "SLEEP", "0.5"), cmd("INCR", "bc:counter"), cmd("GET", "slow"))
		go func() {
			time.Sleep(200 * time.Millisecond)
			proxy.cut()
		}()
		return p.Exec(ctx)
	}
	t.Run("written-is-unknown", func(t *testing.T) {
		res := run(t, Options{})
		require.Len(t, res, 4)
		// The server writes no reply while DEBUG SLEEP runs: all four are in flight.
		for _, r := range res {
			var ue *UnknownOutcomeError
			require.ErrorAs(t, r.Err, &ue)
			assert.Equal(t, proxy.addr(), ue.Addr)
		}
	})
	t.Run("resend-readonly", func(t *testing.T) {
		res := run(t, Options{ResendReadOnly: true})
		var ue *UnknownOutcomeError
		assert.ErrorAs(t, res[2].Err, &ue, "INCR is never resent")
		require.NoError(t, res[3].Err, "GET is readonly: resent")
		assert.Equal(t, "x", res[3].Value.Text())
	})
	t.Run("cancelled", func(t *testing.T) {
		cl := newCl()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		p := New(cl, Options{})
		p.Queue(cmd("PING"))
		res := p.Exec(cctx)
		require.Error(t, res[0].Err)
		assert.True(t, errors.Is(res[0].Err, context.Canceled), "%v", res[0].Err)
	})
}
