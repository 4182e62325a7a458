package pubsub

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/resp"
)

// failMemory is how long a node whose connection failed is avoided for channels and
// patterns, which any node can serve.
const failMemory = 5 * time.Second

// link is one subscription connection. Its goroutine alone reads conn; other
// goroutines may only Close it (to make that goroutine stop). The subscriptions are
// fixed when it opens and only shrink afterwards: new ones get a link of their own.
type link struct {
	s     *Subscriber
	addr  string
	conn  *pool.Conn
	early []Message // messages read while opening, delivered first

	// Guarded by s.mu.
	subs    map[Subscription]bool // subscribed on the server through conn
	retired bool                  // closed on purpose: its end is no loss
	cause   error                 // why the probe closed it
}

// subCmd is one subscription command of a link: one kind, and for shard channels in
// a cluster, one slot.
type subCmd struct {
	kind Kind
	subs []Subscription
}

// openResult is what opening one link produced.
type openResult struct {
	link    *link          // nil when nothing was subscribed
	retry   []Subscription // to try again: redirected, cluster not ready, connection lost
	err     error          // the last failure behind retry
	fatal   error          // the first refusal (a *ReplyError)
	refused []Subscription // what the server refused
}

// roundResult is what one attempt over several nodes produced.
type roundResult struct {
	started []started
	retry   []Subscription
	err     error
	fatal   error
	refused []Subscription
}

// started is a link now delivering subs, of which the oldest had been waiting since
// since (zero for fresh subscriptions).
type started struct {
	link  *link
	subs  []Subscription
	since time.Time
}

// round groups subscriptions by the node that should serve them, opens one link per
// node in parallel and starts those that subscribed something.
func (s *Subscriber) round(ctx context.Context, subs []Subscription) roundResult {
	groups := s.group(ctx, subs)
	results := make([]openResult, len(groups))
	var wg sync.WaitGroup
	i := 0
	for addr, g := range groups {
		wg.Add(1)
		go func(i int, addr string, g []Subscription) {
			defer wg.Done()
			results[i] = s.open(ctx, addr, g)
		}(i, addr, g)
		i++
	}
	wg.Wait()
	var res roundResult
	for _, r := range results {
		res.retry = append(res.retry, r.retry...)
		if r.err != nil {
			res.err = r.err
		}
		if r.fatal != nil {
			if res.fatal == nil {
				res.fatal = r.fatal
			}
			res.refused = append(res.refused, r.refused...)
		}
		if r.link != nil {
			if st, ok := s.start(r.link); ok {
				res.started = append(res.started, st)
			}
		}
	}
	return res
}

// group assigns each subscription to a node: shard channels in a cluster to their
// slot's master, everything else to the node the user named (or, when it failed
// lately, to another master).
func (s *Subscriber) group(ctx context.Context, subs []Subscription) map[string][]Subscription {
	groups := map[string][]Subscription{}
	plain := ""
	for _, sub := range subs {
		var addr string
		if sub.Kind == Shard && s.cl.IsCluster() {
			if s.cl.Topology() == nil {
				_ = s.cl.Refresh(ctx) // without one, the seed answers MOVED
			}
			addr = s.cl.SlotAddr(cluster.SlotString(sub.Name), false)
			if addr == "" {
				addr = s.cl.SeedAddr()
			}
		} else {
			if plain == "" {
				plain = s.plainAddr(ctx)
			}
			addr = plain
		}
		groups[addr] = append(groups[addr], sub)
	}
	return groups
}

// plainAddr picks the node for channels and patterns: the seed, unless a connection
// to it failed lately; then a master that has not failed, or the one that failed
// longest ago.
func (s *Subscriber) plainAddr(ctx context.Context) string {
	seed := s.cl.SeedAddr()
	s.mu.Lock()
	t, bad := s.failed[seed]
	s.mu.Unlock()
	if !bad || time.Since(t) > failMemory || !s.cl.IsCluster() {
		return seed
	}
	masters, _ := s.cl.Masters(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	best, bestAt := seed, s.failed[seed]
	for _, m := range masters {
		at, bad := s.failed[m]
		if !bad || time.Since(at) > failMemory {
			return m
		}
		if at.Before(bestAt) {
			best, bestAt = m, at
		}
	}
	return best
}

// commands splits a node's subscriptions into commands: one per kind, and in a
// cluster one SSUBSCRIBE per slot, since the server refuses shard channels of several
// slots in one command.
func (s *Subscriber) commands(subs []Subscription) []subCmd {
	var cmds []subCmd
	index := map[[2]int]int{} // (kind, slot or -1) → position in cmds
	for _, sub := range subs {
		k := [2]int{int(sub.Kind), -1}
		if sub.Kind == Shard && s.cl.IsCluster() {
			k[1] = cluster.SlotString(sub.Name)
		}
		i, ok := index[k]
		if !ok {
			i = len(cmds)
			index[k] = i
			cmds = append(cmds, subCmd{kind: sub.Kind})
		}
		cmds[i].subs = append(cmds[i].subs, sub)
	}
	return cmds
}

// open connects to addr and subscribes there, reading every confirmation. Messages
// that arrive meanwhile are kept for the link's goroutine to deliver first.
func (s *Subscriber) open(ctx context.Context, addr string, subs []Subscription) openResult {
	octx, cancel := context.WithTimeout(ctx, s.opts.OpenTimeout)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()
	conn, err := s.cl.Acquire(octx, addr)
	if err != nil {
		s.noteFailed(addr)
		return openResult{retry: subs, err: fmt.Errorf("connect to %s: %w", addr, err)}
	}
	cmds := s.commands(subs)
	for _, c := range cmds {
		args := make([][]byte, 0, len(c.subs)+1)
		args = append(args, []byte(c.kind.command()))
		for _, sub := range c.subs {
			args = append(args, []byte(sub.Name))
		}
		conn.Write(resp.Command{Args: args})
	}
	l := &link{s: s, addr: addr, conn: conn, subs: map[Subscription]bool{}}
	var res openResult
	broken := func(err error) openResult {
		s.cl.Release(addr, conn)
		s.noteFailed(addr)
		return openResult{retry: without(subs, res.refused), err: fmt.Errorf("subscribe at %s: %w", addr, err),
			fatal: res.fatal, refused: res.refused}
	}
	if err := conn.Flush(octx); err != nil {
		return broken(err)
	}
	for i, got := 0, 0; i < len(cmds); {
		v, err := conn.ReadValue(octx)
		if err != nil {
			return broken(err)
		}
		if v.Kind == resp.Error {
			// The whole command failed: one error instead of its confirmations.
			c := cmds[i]
			i, got = i+1, 0
			msg := string(v.Str)
			rd, isRedirect, _ := cluster.ParseRedirect(msg, addr)
			switch {
			case isRedirect || cluster.RetryableReply(v):
				if isRedirect && !rd.Ask {
					s.cl.NoteRedirect(ctx, rd)
				}
				res.retry = append(res.retry, c.subs...)
				res.err = fmt.Errorf("%s at %s: %s", c.kind.command(), addr, msg)
			default:
				res.refused = append(res.refused, c.subs...)
				if res.fatal == nil {
					res.fatal = &ReplyError{Addr: addr, Value: v}
				}
			}
			continue
		}
		m, ok := parse(v)
		if !ok {
			continue
		}
		m.Addr = addr
		switch {
		case m.Type == cmds[i].kind.confirmation():
			l.subs[m.Subscription()] = true
			if got++; got == len(cmds[i].subs) {
				i, got = i+1, 0
			}
		case m.Type == "message" || m.Type == "pmessage" || m.Type == "smessage":
			l.early = append(l.early, m)
		case m.Type == "sunsubscribe":
			// The slot moved while we subscribed: try again where it went.
			if sub := m.Subscription(); l.subs[sub] {
				delete(l.subs, sub)
				res.retry = append(res.retry, sub)
			}
		}
	}
	s.mu.Lock()
	s.proto = conn.Protocol()
	delete(s.failed, addr)
	s.mu.Unlock()
	if len(l.subs) == 0 {
		s.cl.Release(addr, conn)
		return res
	}
	res.link = l
	return res
}

// without returns subs minus drop.
func without(subs, drop []Subscription) []Subscription {
	if len(drop) == 0 {
		return subs
	}
	skip := make(map[Subscription]bool, len(drop))
	for _, d := range drop {
		skip[d] = true
	}
	var out []Subscription
	for _, sub := range subs {
		if !skip[sub] {
			out = append(out, sub)
		}
	}
	return out
}

// start makes an opened link the deliverer of the subscriptions it holds that are
// still wanted and waiting, and starts its goroutine. A link with nothing to deliver
// (everything unsubscribed meanwhile) is closed instead.
func (s *Subscriber) start(l *link) (started, bool) {
	s.mu.Lock()
	st := started{link: l}
	if !s.closed {
		for sub := range l.subs {
			if cur, ok := s.want[sub]; ok && cur == nil {
				s.want[sub] = l
				st.subs = append(st.subs, sub)
				if q, ok := s.queue[sub]; ok {
					if st.since.IsZero() || q.since.Before(st.since) {
						st.since = q.since
					}
					delete(s.queue, sub)
				}
			}
		}
	}
	if len(st.subs) == 0 {
		s.mu.Unlock()
		s.cl.Release(l.addr, l.conn)
		return started{}, false
	}
	s.links[l] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go l.run()
	return st, true
}

// run reads the link's connection until it ends, delivering what is wanted.
func (l *link) run() {
	defer l.s.wg.Done()
	for _, m := range l.early {
		if !l.deliverIfWanted(m) {
			break
		}
	}
	l.early = nil
	for {
		v, err := l.conn.ReadValue(l.s.ctx)
		if err != nil {
			l.s.lost(l, err)
			return
		}
		m, ok := parse(v)
		if !ok {
			continue
		}
		m.Addr = l.addr
		switch m.Type {
		case "message", "pmessage", "smessage":
			if !l.deliverIfWanted(m) {
				// Closed: the next read fails and lost sees it.
				continue
			}
		case "sunsubscribe", "unsubscribe", "punsubscribe":
			// We never unsubscribe on the server: the server dropped it (a shard
			// channel whose slot moved).
			l.s.dropped(l, m.Subscription())
		}
	}
}

// deliverIfWanted delivers m when this link delivers its subscription; it reports
// false only when the Subscriber closed.
func (l *link) deliverIfWanted(m Message) bool {
	l.s.mu.Lock()
	mine := l.s.want[m.Subscription()] == l
	l.s.mu.Unlock()
	if !mine {
		return true
	}
	return l.s.deliver(m)
}

// dropped handles the server dropping one subscription of a link: it is queued for
// restoration at its new owner, and the link closed when that was its last.
func (s *Subscriber) dropped(l *link, sub Subscription) {
	s.mu.Lock()
	delete(l.subs, sub)
	requeue := s.want[sub] == l
	if requeue {
		s.want[sub] = nil
		s.queue[sub] = queued{since: time.Now(), from: l.addr, moved: true}
	}
	closeIt := false
	if !l.retired && !s.usedLocked(l) {
		l.retired, closeIt = true, true
	}
	s.mu.Unlock()
	if requeue {
		s.signal()
	}
	if closeIt {
		l.conn.Close()
	}
}

// usedLocked reports whether a link delivers anything wanted.
func (s *Subscriber) usedLocked(l *link) bool {
	for sub := range l.subs {
		if s.want[sub] == l {
			return true
		}
	}
	return false
}

// lost handles the end of a link's connection: unless it was closed on purpose, its
// subscriptions are queued for restoration and a Lost event opens the gap.
func (s *Subscriber) lost(l *link, err error) {
	s.cl.Release(l.addr, l.conn)
	now := time.Now()
	s.mu.Lock()
	delete(s.links, l)
	if s.closed || l.retired {
		s.mu.Unlock()
		return
	}
	if l.cause != nil {
		err = l.cause
	}
	var subs []Subscription
	for sub := range l.subs {
		if s.want[sub] == l {
			s.want[sub] = nil
			s.queue[sub] = queued{since: now, from: l.addr}
			subs = append(subs, sub)
		}
	}
	s.failed[l.addr] = now
	s.mu.Unlock()
	if len(subs) > 0 {
		s.emit(Event{Kind: Lost, Addr: l.addr, Subs: subs, Err: err, Time: now})
		s.signal()
	}
}

// noteFailed remembers that a connection to addr failed.
func (s *Subscriber) noteFailed(addr string) {
	s.mu.Lock()
	s.failed[addr] = time.Now()
	s.mu.Unlock()
}

// signal wakes the restorer.
func (s *Subscriber) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
