package pool

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestPool returns a pool on a mini-redis fake server, closed at cleanup.
func newTestPool(t *testing.T, o Options) (*Pool, *fakeServer) {
	t.Helper()
	s := startFake(t, miniRedis)
	o.Addr = s.addr()
	p := New(o)
	t.Cleanup(func() { _ = p.Close() })
	return p, s
}

func get(t *testing.T, p *Pool) *Conn {
	t.Helper()
	c, err := p.Get(context.Background())
	require.NoError(t, err)
	return c
}

// waitersQueued waits until n Gets are queued.
func waitersQueued(t *testing.T, p *Pool, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.waiters) == n
	}, 5*time.Second, time.Millisecond)
}

func TestPoolReuse(t *testing.T) {
	t.Run("LIFO", func(t *testing.T) {
		p, _ := newTestPool(t, Options{MaxActive: 3})
		c1, c2, c3 := get(t, p), get(t, p), get(t, p)
		p.Put(c1)
		p.Put(c2)
		p.Put(c3)
		assert.Same(t, c3, get(t, p), "the most recently returned comes first")
		assert.Same(t, c2, get(t, p))
		assert.Same(t, c1, get(t, p))
		st := p.Stats()
		assert.Equal(t, uint64(3), st.Hits)
		assert.Equal(t, uint64(3), st.Misses)
		assert.Equal(t, 3, st.Total)
		assert.Equal(t, 3, st.InUse)
	})
	t.Run("server error reply does not poison", func(t *testing.T) {
		p, _ := newTestPool(t, Options{})
		c := get(t, p)
		v, err := c.Do(context.Background(), cmd("NOSUCH"))
		require.NoError(t, err)
		require.Error(t, v.Err())
		p.Put(c)
		assert.Same(t, c, get(t, p))
		assert.Zero(t, p.Stats().ClosedBroken)
	})
	t.Run("unread reply poisons", func(t *testing.T) {
		p, _ := newTestPool(t, Options{})
		c := get(t, p)
		c.Write(cmd("PING"))
		require.NoError(t, c.Flush(context.Background()))
		p.Put(c)
		st := p.Stats()
		assert.Equal(t, uint64(1), st.ClosedBroken)
		assert.Equal(t, 0, st.Total)
		assert.NotSame(t, c, get(t, p))
	})
	t.Run("unsent command poisons", func(t *testing.T) {
		p, _ := newTestPool(t, Options{})
		c := get(t, p)
		c.Write(cmd("PING"))
		p.Put(c)
		assert.Equal(t, uint64(1), p.Stats().ClosedBroken)
	})
	t.Run("broken conn closed", func(t *testing.T) {
		p, _ := newTestPool(t, Options{ReadTimeout: 50 * time.Millisecond})
		c := get(t, p)
		_, err := c.Do(context.Background(), cmd("QUIET")) // never answered
		require.Error(t, err)
		p.Put(c)
		st := p.Stats()
		assert.Equal(t, uint64(1), st.ClosedBroken)
		assert.Equal(t, 0, st.Total)
	})
	t.Run("subscribed conn closed", func(t *testing.T) {
		p, _ := newTestPool(t, Options{})
		c := get(t, p)
		_, err := c.Do(context.Background(), cmd("SUBSCRIBE", "ch"))
		require.NoError(t, err)
		assert.Zero(t, c.Pending())
		p.Put(c)
		assert.Equal(t, uint64(1), p.Stats().ClosedBroken)
	})
	t.Run("Close on a pooled conn frees its place", func(t *testing.T) {
		p, _ := newTestPool(t, Options{MaxActive: 1})
		c := get(t, p)
		require.NoError(t, c.Close())
		require.NoError(t, c.Close())
		c2 := get(t, p)
		assert.NotSame(t, c, c2)
		p.Put(c) // a closed conn put back is ignored
		assert.Equal(t, 1, p.Stats().Total)
	})
	t.Run("MaxIdle", func(t *testing.T) {
		p, _ := newTestPool(t, Options{MaxActive: 3, MaxIdle: 1})
		c1, c2, c3 := get(t, p), get(t, p), get(t, p)
		p.Put(c1)
		p.Put(c2)
		p.Put(c3)
		st := p.Stats()
		assert.Equal(t, 1, st.Idle)
		assert.Equal(t, 1, st.Total)
		assert.Equal(t, uint64(2), st.ClosedStale)
	})
}

func TestPoolLateReply(t *testing.T) {
	p, _ := newTestPool(t, Options{MaxActive: 1, ReadTimeout: 30 * time.Millisecond})
	c := get(t, p)
	_, err := c.Do(context.Background(), cmd("SLOWECHO", "late"))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	p.Put(c)
	time.Sleep(150 * time.Millisecond) // the late reply has arrived on the old socket
	c2 := get(t, p)
	assert.NotSame(t, c, c2)
	v, err := c2.Do(context.Background(), cmd("ECHO", "mine"))
	require.NoError(t, err)
	assert.Equal(t, "mine", v.Text(), "a late reply reached another caller")
	assert.Equal(t, uint64(1), p.Stats().ClosedBroken)
}

func TestOptionsStringHidesPassword(t *testing.T) {
	o := Options{Addr: "h:1", Username: "alice", Password: "s3cr3t"}
	for _, s := range []string{o.String(), fmt.Sprintf("%v", o), fmt.Sprintf("%+v", o), fmt.Sprint(&o)} {
		assert.NotContains(t, s, "s3cr3t")
		assert.Contains(t, s, "alice")
	}
}

func TestPoolWaiting(t *testing.T) {
	t.Run("FIFO waiters", func(t *testing.T) {
		p, _ := newTestPool(t, Options{MaxActive: 1, WaitTimeout: 10 * time.Second})
		held := get(t, p)
		const n = 5
		order := make(chan int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := p.Get(context.Background())
				if !assert.NoError(t, err) {
					return
				}
				order <- i
				p.Put(c)
			}()
			waitersQueued(t, p, i+1) // queue them in a known order
		}
		p.Put(held)
		wg.Wait()
		close(order)
		var got []int
		for i := range order {
			got = append(got, i)
		}
		assert.Equal(t, []int{0, 1, 2, 3, 4}, got)
		st := p.Stats()
		assert.Equal(t, uint64(n), st.Waits)
		assert.Equal(t, 1, st.Total)
		assert.Positive(t, st.MaxWait)
		assert.GreaterOrEqual(t, st.WaitTime, st.MaxWait)
	})
	t.Run("wait timeout", func(t *testing.T) {
		p, s := newTestPool(t, Options{MaxActive: 1, WaitTimeout: 60 * time.Millisecond})
		held := get(t, p)
		start := time.Now()
		_, err := p.Get(context.Background())
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrPoolTimeout)
		assert.Equal(t, "pool: no free connection to "+s.addr()+" after 60ms (1 of 1 in use)", err.Error())
		assert.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond)
		assert.Equal(t, uint64(1), p.Stats().Timeouts)
		p.Put(held)
		assert.Same(t, held, get(t, p), "the pool still works after a timeout")
	})
	t.Run("ctx deadline shorter than WaitTimeout", func(t *testing.T) {
		p, _ := newTestPool(t, Options{MaxActive: 1, WaitTimeout: 10 * time.Second})
		get(t, p)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := p.Get(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 2*time.Second)
	})
	t.Run("ctx cancel while waiting", func(t *testing.T) {
		p, _ := newTestPool(t, Options{MaxActive: 1, WaitTimeout: 10 * time.Second})
		held := get(t, p)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := p.Get(ctx)
			errc <- err
		}()
		waitersQueued(t, p, 1)
		cancel()
		err := <-errc
		assert.ErrorIs(t, err, context.Canceled)
		waitersQueued(t, p, 0)
		p.Put(held)
		assert.Equal(t, 1, p.Stats().Idle, "the cancelled waiter took nothing")
	})
	t.Run("Close wakes waiters", func(t *testing.T) {
		p, _ := newTestPool(t, Options{MaxActive: 1, WaitTimeout: 10 * time.Second})
		held := get(t, p)
		const n = 3
		errc := make(chan error, n)
		for range n {
			go func() {
				_, err := p.Get(context.Background())
				errc <- err
			}()
		}
		waitersQueued(t, p, n)
		require.NoError(t, p.Close())
		for range n {
			select {
			case err := <-errc:
				assert.ErrorIs(t, err, ErrClosed)
			case <-time.After(5 * time.Second):
				t.Fatal("a waiter was not woken by Close")
			}
		}
		_, err := held.Do(context.Background(), cmd("PING"))
		assert.Error(t, err, "Close closes connections in use too")
		p.Put(held)
		_, err = p.Get(context.Background())
		assert.ErrorIs(t, err, ErrClosed)
		assert.Equal(t, 0, p.Stats().Total)
	})
	t.Run("a freed place goes to a waiter", func(t *testing.T) {
		p, _ := newTestPool(t, Options{MaxActive: 1, WaitTimeout: 10 * time.Second})
		held := get(t, p)
		got := make(chan *Conn, 1)
		go func() {
			c, err := p.Get(context.Background())
			assert.NoError(t, err)
			got <- c
		}()
		waitersQueued(t, p, 1)
		held.Write(cmd("PING")) // leave a reply unread: Put must close it
		p.Put(held)
		c := <-got
		require.NotNil(t, c)
		assert.NotSame(t, held, c)
		assert.Equal(t, 1, p.Stats().Total)
	})
}

func TestPoolFailFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	p := New(Options{Addr: addr})
	p.probeMin, p.probeMax = 50*time.Millisecond, 50*time.Millisecond
	defer p.Close()

	_, err = p.Get(context.Background())
	var de *DialError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "Could not connect to Redis at "+addr+": Connection refused", err.Error())

	start := time.Now()
	for range 100 {
		_, err2 := p.Get(context.Background())
		require.ErrorAs(t, err2, &de)
	}
	assert.Less(t, time.Since(start), 500*time.Millisecond, "Gets fail fast while the address is down")
	assert.Less(t, p.Stats().DialErrors, uint64(20), "only the probe dials")

	// The server comes back: the probe notices and Gets work again.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	serveFake(t, ln, miniRedis)
	require.Eventually(t, func() bool {
		c, err := p.Get(context.Background())
		if err != nil {
			return false
		}
		p.Put(c)
		return true
	}, 5*time.Second, 10*time.Millisecond)
}

func TestPoolHealth(t *testing.T) {
	t.Run("dead idle conn replaced before use", func(t *testing.T) {
		p, s := newTestPool(t, Options{HealthCheckAfter: time.Millisecond})
		c := get(t, p)
		p.Put(c)
		s.waitAccepted(1)
		s.closeConns()
		closedByPeer(t, []*Conn{c})
		time.Sleep(2 * time.Millisecond) // idle past HealthCheckAfter
		c2 := get(t, p)
		assert.NotSame(t, c, c2)
		v, err := c2.Do(context.Background(), cmd("PING"))
		require.NoError(t, err)
		assert.Equal(t, "PONG", v.Text())
		assert.Equal(t, uint64(1), p.Stats().ClosedStale)
	})
	t.Run("unexpected bytes on idle conn", func(t *testing.T) {
		p, s := newTestPool(t, Options{HealthCheckAfter: time.Millisecond})
		c := get(t, p)
		p.Put(c)
		s.waitAccepted(1)
		s.mu.Lock()
		_, err := s.accepted[0].nc.Write([]byte("+LATE\r\n"))
		s.mu.Unlock()
		require.NoError(t, err)
		closedByPeer(t, []*Conn{c})      // bytes waiting count as dead too
		time.Sleep(2 * time.Millisecond) // idle past HealthCheckAfter
		assert.NotSame(t, c, get(t, p))
		assert.Equal(t, uint64(1), p.Stats().ClosedStale)
	})
	t.Run("recent conn used without check", func(t *testing.T) {
		p, _ := newTestPool(t, Options{HealthCheckAfter: time.Hour})
		c := get(t, p)
		p.Put(c)
		allocs := testing.AllocsPerRun(100, func() {
			c, _ := p.Get(context.Background())
			p.Put(c)
		})
		assert.Zero(t, allocs, "the checkout path allocates nothing")
	})
}

func TestPoolBackground(t *testing.T) {
	t.Run("MinIdle warmed in the background", func(t *testing.T) {
		s := startFake(t, miniRedis)
		start := time.Now()
		p := New(Options{Addr: s.addr(), MinIdle: 3, MaxActive: 5})
		assert.Less(t, time.Since(start), 100*time.Millisecond)
		defer p.Close()
		require.Eventually(t, func() bool { return p.Stats().Idle == 3 }, 5*time.Second, 5*time.Millisecond)
		c := get(t, p)
		c.Write(cmd("PING")) // poison it
		p.Put(c)
		require.Eventually(t, func() bool { return p.Stats().Idle == 3 }, 5*time.Second, 5*time.Millisecond,
			"a closed connection is replaced")
		assert.Equal(t, 3, p.Stats().Total)
	})
	t.Run("New never blocks on the network", func(t *testing.T) {
		start := time.Now()
		p := New(Options{Addr: "10.255.255.1:6379", MinIdle: 2, DialTimeout: 200 * time.Millisecond})
		assert.Less(t, time.Since(start), 100*time.Millisecond)
		require.NoError(t, p.Close())
	})
	t.Run("reaper closes idle conns", func(t *testing.T) {
		p, _ := newTestPool(t, Options{IdleTimeout: 50 * time.Millisecond, MaxActive: 3})
		c1, c2 := get(t, p), get(t, p)
		p.Put(c1)
		p.Put(c2)
		require.Equal(t, 2, p.Stats().Idle)
		require.Eventually(t, func() bool { return p.Stats().Total == 0 }, 5*time.Second, 5*time.Millisecond)
		assert.Equal(t, uint64(2), p.Stats().ClosedStale)
	})
	t.Run("reaper closes old conns", func(t *testing.T) {
		p, _ := newTestPool(t, Options{MaxLifetime: 60 * time.Millisecond})
		before := time.Now()
		c := get(t, p)
		after := time.Now()
		assert.False(t, c.expiresAt.Before(before.Add(54*time.Millisecond)), "lifetime jitter is 10%")
		assert.False(t, c.expiresAt.After(after.Add(66*time.Millisecond)), "lifetime jitter is 10%")
		p.Put(c)
		require.Eventually(t, func() bool { return p.Stats().Total == 0 }, 5*time.Second, 5*time.Millisecond)
	})
	t.Run("expired conn not handed out", func(t *testing.T) {
		p, _ := newTestPool(t, Options{IdleTimeout: time.Hour})
		c := get(t, p)
		p.Put(c)
		c.idleSince = time.Now().Add(-2 * time.Hour)
		assert.NotSame(t, c, get(t, p))
		assert.Equal(t, uint64(1), p.Stats().ClosedStale)
	})
	t.Run("Close stops background goroutines", func(t *testing.T) {
		s := startFake(t, miniRedis)
		p := New(Options{Addr: s.addr(), MinIdle: 1, IdleTimeout: time.Minute})
		require.Eventually(t, func() bool { return p.Stats().Idle == 1 }, 5*time.Second, 5*time.Millisecond)
		require.NoError(t, p.Close())
		require.NoError(t, p.Close())
		assert.Equal(t, 0, p.Stats().Total)
		select {
		case <-p.stop:
		default:
			t.Fatal("stop channel not closed")
		}
	})
}

func TestPoolConcurrentFake(t *testing.T) {
	p, _ := newTestPool(t, Options{MaxActive: 4, WaitTimeout: 10 * time.Second})
	var wg sync.WaitGroup
	for g := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				c, err := p.Get(context.Background())
				if !assert.NoError(t, err) {
					return
				}
				tok := strconv.Itoa(g) + ":" + strconv.Itoa(i)
				v, err := c.Do(context.Background(), cmd("ECHO", tok))
				assert.NoError(t, err)
				assert.Equal(t, tok, v.Text())
				assert.LessOrEqual(t, p.Stats().Total, 4)
				p.Put(c)
			}
		}()
	}
	wg.Wait()
	st := p.Stats()
	assert.LessOrEqual(t, st.Total, 4)
	assert.Equal(t, st.Total, st.Idle)
	assert.Zero(t, st.Timeouts)
}
