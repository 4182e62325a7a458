package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Backoff of the background probe that redials an address known to be down.
const (
	probeMinBackoff = 100 * time.Millisecond
	probeMaxBackoff = time.Second
)

// Pool keeps connections to one address. It bounds how many are open (MaxActive),
// reuses idle ones last-in first-out, makes callers wait first-in first-out when all
// are busy, and closes connections that are broken, expired or dead.
//
// A checkout costs no round trip: a connection idle for less than HealthCheckAfter is
// handed out as is, and an older one is first checked without a round trip (a
// non-blocking peek; TLS needs a PING). Dials happen outside any lock. After a dial
// fails with a *DialError the address is known to be down: Gets that would dial fail at
// once with that error while one background probe redials, with backoff, until the
// server answers.
//
// A Pool is safe for concurrent use.
type Pool struct {
	o      Options
	ctx    context.Context // cancelled by Close: ends background dials
	cancel context.CancelFunc
	stop   chan struct{}  // closed by Close: ends background goroutines
	wake   chan struct{}  // asks the warmer to top up MinIdle
	wg     sync.WaitGroup // background goroutines

	mu      sync.Mutex
	idle    []*Conn // LIFO: the most recently used at the end
	conns   map[*Conn]struct{}
	numOpen int // open connections plus dials in progress
	waiters []*waiter
	closed  bool
	down    *DialError // last dial error while the address is known down
	probing bool

	probeMin, probeMax time.Duration

	total, idleN                      atomic.Int64
	hits, misses, waits, timeouts     atomic.Uint64
	dialErrors, closedStale, closedBr atomic.Uint64
	waitTime, maxWait                 atomic.Int64
	// suspectSince is when (unix nanoseconds) a connection last broke or a dial last
	// failed: the server may have gone away, so idle connections older than that are
	// checked on checkout however briefly they were idle.
	suspectSince atomic.Int64
}

// Stats is a snapshot of a pool's counters.
type Stats struct {
	Total int // open connections
	Idle  int // of which idle
	InUse int // of which checked out

	Hits     uint64        // checkouts served by an idle connection
	Misses   uint64        // checkouts that dialed
	Waits    uint64        // checkouts that had to wait for a free connection
	WaitTime time.Duration // total time spent waiting
	MaxWait  time.Duration // longest single wait
	Timeouts uint64        // waits that ended after WaitTimeout

	DialErrors   uint64 // failed dials, background ones included
	ClosedStale  uint64 // closed idle: expired, dead, or past MaxIdle
	ClosedBroken uint64 // closed on Put: broken, unread replies, or state not reusable
}

// waiter is a Get waiting for a connection or for the right to dial one.
type waiter struct{ ch chan grant }

// grant is what a waiter receives: a connection, the right to dial (a reserved place),
// or an error.
type grant struct {
	c    *Conn
	dial bool
	err  error
}

// closeReason says which counter a closed connection goes to.
type closeReason int

const (
	closeQuiet closeReason = iota
	closeStale
	closeBroken
)

// New returns a pool for o.Addr. It never touches the network itself: when MinIdle is
// set, connections are dialed in the background.
func New(o Options) *Pool {
	o = o.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pool{
		o:        o,
		ctx:      ctx,
		cancel:   cancel,
		stop:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
		conns:    make(map[*Conn]struct{}),
		probeMin: probeMinBackoff,
		probeMax: probeMaxBackoff,
	}
	if o.MinIdle > 0 {
		p.wg.Add(1)
		go p.warm()
	}
	if o.IdleTimeout > 0 || o.MaxLifetime > 0 {
		p.wg.Add(1)
		go p.reap()
	}
	return p
}

// Addr returns the address the pool connects to.
func (p *Pool) Addr() string { return p.o.Addr }

// Get returns a connection, reusing the most recently returned idle one when there is
// one, else dialing when fewer than MaxActive are open, else waiting (first come,
// first served) up to WaitTimeout and never past ctx's deadline. Return it with Put.
//
// Errors: ErrClosed (wrapped) once the pool is closed; an error wrapping
// ErrPoolTimeout after WaitTimeout; ctx's error; a *DialError when dialing fails or
// while the address is known to be down; a handshake error.
func (p *Pool) Get(ctx context.Context) (*Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pool: get connection to %s: %w", p.o.Addr, err)
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, p.closedErr()
		}
		if n := len(p.idle); n > 0 {
			c := p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
			c.inIdle = false
			p.idleN.Store(int64(len(p.idle)))
			p.mu.Unlock()
			if p.healthy(ctx, c) {
				p.hits.Add(1)
				return c, nil
			}
			continue
		}
		if p.numOpen < p.o.MaxActive {
			if p.down != nil {
				err := p.down
				p.mu.Unlock()
				return nil, err
			}
			p.numOpen++
			p.mu.Unlock()
			p.misses.Add(1)
			return p.dialReserved(ctx)
		}
		w := &waiter{ch: make(chan grant, 1)}
		p.waiters = append(p.waiters, w)
		p.mu.Unlock()

		g, err := p.wait(ctx, w)
		switch {
		case err != nil:
			return nil, err
		case g.err != nil:
			return nil, g.err
		case g.c != nil:
			p.hits.Add(1)
			return g.c, nil
		}
		// A place was freed for us: dial, unless the address is known down.
		p.mu.Lock()
		if p.down != nil {
			err := p.down
			p.releaseLocked()
			p.mu.Unlock()
			return nil, err
		}
		p.mu.Unlock()
		p.misses.Add(1)
		return p.dialReserved(ctx)
	}
}

func (p *Pool) closedErr() error { return &closedError{addr: p.o.Addr} }

// healthy checks a connection just taken from the idle stack, closing it when it has
// expired or is dead.
func (p *Pool) healthy(ctx context.Context, c *Conn) bool {
	now := time.Now()
	if p.expired(c, now) {
		_ = p.discard(c, closeStale)
		return false
	}
	suspect := c.idleSince.UnixNano() < p.suspectSince.Load()
	if suspect || p.o.HealthCheckAfter > 0 && now.Sub(c.idleSince) >= p.o.HealthCheckAfter {
		if err := c.check(ctx); err != nil {
			_ = p.discard(c, closeStale)
			return false
		}
	}
	return true
}

func (p *Pool) expired(c *Conn, now time.Time) bool {
	return p.o.IdleTimeout > 0 && now.Sub(c.idleSince) >= p.o.IdleTimeout ||
		!c.expiresAt.IsZero() && !now.Before(c.expiresAt)
}

// wait blocks until w is granted something, ctx ends, or WaitTimeout passes.
func (p *Pool) wait(ctx context.Context, w *waiter) (grant, error) {
	p.waits.Add(1)
	start := time.Now()
	var timeout <-chan time.Time
	if p.o.WaitTimeout > 0 {
		t := time.NewTimer(p.o.WaitTimeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case g := <-w.ch:
		p.noteWait(start)
		return g, nil
	case <-ctx.Done():
		p.noteWait(start)
		if !p.dequeue(w) {
			p.giveBack(<-w.ch) // granted just now: pass it on
		}
		return grant{}, fmt.Errorf("pool: waiting for a connection to %s: %w", p.o.Addr, ctx.Err())
	case <-timeout:
		p.noteWait(start)
		if !p.dequeue(w) {
			return <-w.ch, nil // granted just now: use it
		}
		p.timeouts.Add(1)
		p.mu.Lock()
		inUse := p.numOpen - len(p.idle)
		p.mu.Unlock()
		return grant{}, &poolTimeoutError{addr: p.o.Addr, waited: p.o.WaitTimeout, inUse: inUse, active: p.o.MaxActive}
	}
}

func (p *Pool) noteWait(start time.Time) {
	d := int64(time.Since(start))
	p.waitTime.Add(d)
	for {
		m := p.maxWait.Load()
		if d <= m || p.maxWait.CompareAndSwap(m, d) {
			return
		}
	}
}

// dequeue removes w from the waiters; false means it was already granted something.
func (p *Pool) dequeue(w *waiter) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.waiters {
		if x == w {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			return true
		}
	}
	return false
}

// giveBack returns a grant its waiter no longer wants.
func (p *Pool) giveBack(g grant) {
	switch {
	case g.c != nil:
		p.Put(g.c)
	case g.dial:
		p.mu.Lock()
		p.releaseLocked()
		p.mu.Unlock()
	}
}

// releaseLocked frees one reserved place and passes it to the first waiter, if any.
func (p *Pool) releaseLocked() {
	p.numOpen--
	if len(p.waiters) > 0 && !p.closed {
		w := p.waiters[0]
		p.waiters[0] = nil
		p.waiters = p.waiters[1:]
		p.numOpen++
		w.ch <- grant{dial: true}
	}
}

// dialReserved dials into a place already counted in numOpen.
func (p *Pool) dialReserved(ctx context.Context) (*Conn, error) {
	c, err := dial(ctx, &p.o)
	if err != nil {
		p.dialFailed(err, ctx.Err() != nil)
		return nil, err
	}
	if !p.register(c) {
		return nil, p.closedErr()
	}
	return c, nil
}

// dialFailed gives back the reserved place and, after a *DialError not caused by
// the caller's context, marks the address down and starts the probe.
func (p *Pool) dialFailed(err error, byCaller bool) {
	p.dialErrors.Add(1)
	p.suspectSince.Store(time.Now().UnixNano())
	var de *DialError
	p.mu.Lock()
	if !byCaller && errors.As(err, &de) && !p.closed {
		p.down = de
		if !p.probing {
			p.probing = true
			p.wg.Add(1)
			go p.probe()
		}
	}
	p.releaseLocked()
	p.mu.Unlock()
}

// register adds a freshly dialed connection, whose place is reserved, to the pool; it
// closes it and reports false when the pool has been closed meanwhile.
func (p *Pool) register(c *Conn) bool {
	p.mu.Lock()
	if p.closed {
		p.numOpen--
		p.mu.Unlock()
		_ = c.closeNet()
		return false
	}
	c.pool = p
	p.conns[c] = struct{}{}
	p.total.Add(1)
	p.mu.Unlock()
	return true
}

// Put returns a connection taken with Get. A healthy connection with nothing unread
// goes to the first waiter or back on the idle stack; any other (broken, unread or
// unsent replies, inside MULTI or WATCH, or switched to a state the next user must
// not inherit, such as SUBSCRIBE or SELECT) is closed and counted as broken. The
// connection must not be used after Put.
func (p *Pool) Put(c *Conn) {
	if c == nil {
		return
	}
	if c.pool != p {
		_ = c.Close()
		return
	}
	if !c.reusable() {
		if c.Broken() != nil {
			p.suspectSince.Store(time.Now().UnixNano())
		}
		_ = p.discard(c, closeBroken)
		return
	}
	now := time.Now()
	if !c.expiresAt.IsZero() && !now.Before(c.expiresAt) {
		_ = p.discard(c, closeStale)
		return
	}
	c.idleSince = now
	p.mu.Lock()
	if c.inIdle {
		p.mu.Unlock()
		return // returned twice
	}
	if p.closed {
		p.mu.Unlock()
		_ = p.discard(c, closeQuiet)
		return
	}
	if len(p.waiters) > 0 {
		w := p.waiters[0]
		p.waiters[0] = nil
		p.waiters = p.waiters[1:]
		p.mu.Unlock()
		w.ch <- grant{c: c}
		return
	}
	if len(p.idle) >= p.o.MaxIdle {
		p.mu.Unlock()
		_ = p.discard(c, closeStale)
		return
	}
	c.inIdle = true
	p.idle = append(p.idle, c)
	p.idleN.Store(int64(len(p.idle)))
	p.mu.Unlock()
}

// discard closes c (once) and frees its place for a waiter.
func (p *Pool) discard(c *Conn, why closeReason) error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	err := c.nc.Close()
	switch why {
	case closeStale:
		p.closedStale.Add(1)
	case closeBroken:
		p.closedBr.Add(1)
	}
	p.mu.Lock()
	if _, ok := p.conns[c]; ok {
		delete(p.conns, c)
		p.total.Add(-1)
		p.releaseLocked()
	}
	if c.inIdle {
		c.inIdle = false
		for i, x := range p.idle {
			if x == c {
				p.idle = append(p.idle[:i], p.idle[i+1:]...)
				break
			}
		}
		p.idleN.Store(int64(len(p.idle)))
	}
	p.mu.Unlock()
	p.kickWarmer()
	return err
}

// kickWarmer asks the warmer, if any, to top up MinIdle.
func (p *Pool) kickWarmer() {
	if p.o.MinIdle > 0 {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// warm keeps MinIdle connections ready; it runs until Close.
func (p *Pool) warm() {
	defer p.wg.Done()
	for {
		p.fill()
		select {
		case <-p.stop:
			return
		case <-p.wake:
		}
	}
}

// fill dials until MinIdle connections are idle, MaxActive are open, or a dial fails.
func (p *Pool) fill() {
	for {
		p.mu.Lock()
		if p.closed || p.down != nil || len(p.idle) >= p.o.MinIdle || p.numOpen >= p.o.MaxActive {
			p.mu.Unlock()
			return
		}
		p.numOpen++
		p.mu.Unlock()
		c, err := dial(p.ctx, &p.o)
		if err != nil {
			p.dialFailed(err, p.ctx.Err() != nil)
			return
		}
		if !p.register(c) {
			return
		}
		p.Put(c)
	}
}

// probe redials an address known to be down, with backoff, until a dial succeeds or
// the pool closes; the connection it makes joins the pool.
func (p *Pool) probe() {
	defer p.wg.Done()
	backoff := p.probeMin
	t := time.NewTimer(backoff)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		c, err := dial(p.ctx, &p.o)
		if err != nil {
			p.dialErrors.Add(1)
			var de *DialError
			p.mu.Lock()
			if p.closed || !errors.As(err, &de) {
				// Closed, or the server answered (say, AUTH failed): not down.
				p.down, p.probing = nil, false
				p.mu.Unlock()
				return
			}
			p.down = de
			p.mu.Unlock()
			backoff = min(2*backoff, p.probeMax)
			t.Reset(backoff)
			continue
		}
		p.mu.Lock()
		p.down, p.probing = nil, false
		room := !p.closed && p.numOpen < p.o.MaxActive
		if room {
			p.numOpen++
		}
		p.mu.Unlock()
		if room && p.register(c) {
			p.Put(c)
		} else if !room {
			_ = c.closeNet()
		}
		p.kickWarmer()
		return
	}
}

// reap closes idle connections past IdleTimeout or MaxLifetime; it runs until Close.
func (p *Pool) reap() {
	defer p.wg.Done()
	every := p.o.IdleTimeout
	if every == 0 || (p.o.MaxLifetime > 0 && p.o.MaxLifetime < every) {
		every = p.o.MaxLifetime
	}
	every = min(max(every/2, 5*time.Millisecond), time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		now := time.Now()
		var expired []*Conn
		p.mu.Lock()
		kept := p.idle[:0]
		for _, c := range p.idle {
			if p.expired(c, now) {
				c.inIdle = false
				expired = append(expired, c)
			} else {
				kept = append(kept, c)
			}
		}
		clear(p.idle[len(kept):])
		p.idle = kept
		p.idleN.Store(int64(len(p.idle)))
		p.mu.Unlock()
		for _, c := range expired {
			_ = p.discard(c, closeStale)
		}
	}
}

// Stats returns the pool's counters. It takes no lock.
func (p *Pool) Stats() Stats {
	total, idle := int(p.total.Load()), int(p.idleN.Load())
	idle = min(idle, total)
	return Stats{
		Total:        total,
		Idle:         idle,
		InUse:        total - idle,
		Hits:         p.hits.Load(),
		Misses:       p.misses.Load(),
		Waits:        p.waits.Load(),
		WaitTime:     time.Duration(p.waitTime.Load()),
		MaxWait:      time.Duration(p.maxWait.Load()),
		Timeouts:     p.timeouts.Load(),
		DialErrors:   p.dialErrors.Load(),
		ClosedStale:  p.closedStale.Load(),
		ClosedBroken: p.closedBr.Load(),
	}
}

// Close closes every connection, idle or checked out (their users' next operation
// fails), wakes every waiting Get with ErrClosed, and stops the background
// goroutines, waiting for them to end. Later Gets fail with ErrClosed; later Puts close
// the connection. Closing twice is harmless.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	waiters := p.waiters
	p.waiters = nil
	conns := make([]*Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	for _, c := range p.idle {
		c.inIdle = false
	}
	p.idle = nil
	p.idleN.Store(0)
	p.mu.Unlock()

	for _, w := range waiters {
		w.ch <- grant{err: p.closedErr()}
	}
	p.cancel()
	close(p.stop)
	var first error
	for _, c := range conns {
		if err := p.discard(c, closeQuiet); err != nil && first == nil {
			first = err
		}
	}
	p.wg.Wait()
	if first != nil {
		return fmt.Errorf("pool: close connections to %s: %w", p.o.Addr, first)
	}
	return nil
}
