package pubsub

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rcli-dev/rcli/internal/resp"
)

const (
	// burstWait lets the drops of one event (a slot's sunsubscribes, the links of a
	// dead node) arrive before they are restored together.
	burstWait = 10 * time.Millisecond
	// retryReportGap is the least time between two Retrying events.
	retryReportGap = 2 * time.Second
	// refreshTimeout bounds one topology refresh of the restorer.
	refreshTimeout = 5 * time.Second
)

var pingCmd = resp.NewCommand("PING")

// restoreLoop restores queued subscriptions: it refreshes the topology, regroups them
// by node and opens links, again and again with a backoff until every one is in
// force or the Subscriber closes.
func (s *Subscriber) restoreLoop() {
	defer s.wg.Done()
	var lastReport time.Time
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		}
		if s.pauseFor(burstWait) != nil {
			return
		}
		for attempt := 0; ; attempt++ {
			batch := s.takeQueue()
			if len(batch) == 0 {
				break
			}
			if s.cl.IsCluster() {
				ctx, cancel := context.WithTimeout(s.ctx, refreshTimeout)
				_ = s.cl.Refresh(ctx) // a failed refresh shows in the round
				cancel()
			}
			res := s.round(s.ctx, batch)
			now := time.Now()
			for _, st := range res.started {
				s.emit(Event{Kind: Restored, Addr: st.link.addr, Subs: st.subs, Gap: now.Sub(st.since), Time: now})
			}
			if res.fatal != nil {
				s.forget(res.refused)
				s.emit(Event{Kind: Dropped, Subs: res.refused, Err: res.fatal, Time: now})
			}
			if len(res.retry) == 0 {
				continue // anything queued meanwhile
			}
			if now.Sub(lastReport) >= retryReportGap {
				s.emit(Event{Kind: Retrying, Subs: res.retry, Err: res.err, Time: now})
				lastReport = now
			}
			if s.pause(s.ctx, attempt) != nil {
				return
			}
		}
	}
}

// takeQueue returns the queued subscriptions still wanted and not in force, and
// reports the ones the server dropped since the last look, one Moved event per node.
func (s *Subscriber) takeQueue() []Subscription {
	s.mu.Lock()
	var batch []Subscription
	moved := map[string][]Subscription{}
	for sub, q := range s.queue {
		if l, ok := s.want[sub]; !ok || l != nil {
			delete(s.queue, sub)
			continue
		}
		batch = append(batch, sub)
		if q.moved {
			moved[q.from] = append(moved[q.from], sub)
			q.moved = false // reported
			s.queue[sub] = q
		}
	}
	s.mu.Unlock()
	for addr, subs := range moved {
		s.emit(Event{Kind: Moved, Addr: addr, Subs: subs})
	}
	return batch
}

// pauseFor waits d, or fails when the Subscriber closes.
func (s *Subscriber) pauseFor(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-s.ctx.Done():
		return ErrClosed
	}
}

// probeLoop sends a PING, on a pooled connection, to every node that serves
// subscriptions, every HealthInterval. A node that does not answer within
// HealthTimeout has its subscription connections closed, so that they are restored
// elsewhere: a hung node never closes them itself.
func (s *Subscriber) probeLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		byAddr := map[string][]*link{}
		for l := range s.links {
			if !l.retired {
				byAddr[l.addr] = append(byAddr[l.addr], l)
			}
		}
		s.mu.Unlock()
		var wg sync.WaitGroup
		for addr, links := range byAddr {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.probe(addr, links)
			}()
		}
		wg.Wait()
	}
}

// probe checks one node and closes its links when it does not answer.
func (s *Subscriber) probe(addr string, links []*link) {
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.HealthTimeout)
	defer cancel()
	br := s.cl.ExecBatch(ctx, addr, []resp.Command{pingCmd}, nil)
	if br.Err == nil || s.ctx.Err() != nil {
		return
	}
	cause := fmt.Errorf("no reply to PING within %s: %w", s.opts.HealthTimeout, br.Err)
	s.mu.Lock()
	for _, l := range links {
		if l.cause == nil {
			l.cause = cause
		}
	}
	s.mu.Unlock()
	for _, l := range links {
		l.conn.Close()
	}
}
