package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/resp"
)

// Retry backoff: the first wait and the longest one; each wait is jittered to between
// half and all of its nominal length.
const (
	backoffMin = 10 * time.Millisecond
	backoffMax = 250 * time.Millisecond
)

// Options configures pipelines and transactions. The zero value takes the client's
// limits and resends nothing whose outcome is unknown.
type Options struct {
	// ResendReadOnly allows sending again, after its connection broke, a command whose
	// outcome is unknown when the server flags it readonly and it does not block.
	ResendReadOnly bool
	// MaxRedirects bounds the MOVED and ASK redirects each command follows (default:
	// the client's MaxRedirects).
	MaxRedirects int
	// RetryBudget bounds how long a command whose reply proves it did not run
	// (TRYAGAIN, CLUSTERDOWN, a connection that could not be made) is retried (default:
	// the client's RetryBudget).
	RetryBudget time.Duration
	// WatchAttempts bounds how many times Watch runs the caller's function when a
	// watched key keeps changing (default 10).
	WatchAttempts int
}

// DefaultWatchAttempts is how many times Watch tries when Options.WatchAttempts is 0.
const DefaultWatchAttempts = 10

func (o Options) withDefaults(c *cluster.Client) Options {
	co := c.Options()
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = co.MaxRedirects
	}
	if o.RetryBudget <= 0 {
		o.RetryBudget = co.RetryBudget
	}
	if o.WatchAttempts <= 0 {
		o.WatchAttempts = DefaultWatchAttempts
	}
	return o
}

// Result is the outcome of one command: its reply (a server error reply is a Value of
// kind Error, not an error), or Err when it got no reply. An Err of type
// *UnknownOutcomeError means the command may have run.
type Result struct {
	Value resp.Value
	Err   error
}

// Pipeline queues commands and runs them together: one write and one read pass per
// node, nodes in parallel. A Pipeline is not safe for concurrent use; the client it runs
// on is.
type Pipeline struct {
	c    *cluster.Client
	o    Options
	cmds []resp.Command
}

// New returns an empty pipeline that runs on c.
func New(c *cluster.Client, o Options) *Pipeline {
	return &Pipeline{c: c, o: o.withDefaults(c)}
}

// Queue adds commands to the pipeline. Their arguments must not change until Exec.
func (p *Pipeline) Queue(cmds ...resp.Command) {
	p.cmds = append(p.cmds, cmds...)
}

// Len returns how many commands are queued.
func (p *Pipeline) Len() int { return len(p.cmds) }

// Exec runs the queued commands and empties the queue. It returns one result per
// command, in the order they were queued.
//
// Commands go to the node that owns their slot; keyless ones to the node the client was
// pointed at. A command that must reach every master (KEYS, FLUSHALL, ...) or whose keys
// span slots and can be split (MGET, DEL, ...) runs alone through the client, in its
// place in the queue: the commands before it finish first, and the ones after it start
// afterwards. A command whose keys span slots and cannot be split gets a
// *cluster.CrossSlotError and is not sent.
func (p *Pipeline) Exec(ctx context.Context) []Result {
	cmds := p.cmds
	p.cmds = nil
	results := make([]Result, len(cmds))
	var seg []*pending
	for i, cmd := range cmds {
		if len(cmd.Args) == 0 {
			results[i].Err = errors.New("pipeline: empty command")
			continue
		}
		loc, err := p.c.Locate(ctx, cmd)
		if err != nil {
			results[i].Err = err
			continue
		}
		switch loc.Kind {
		case cluster.RouteFanout, cluster.RouteSplit:
			p.run(ctx, cmds, seg, results)
			seg = seg[:0]
			results[i] = p.execAlone(ctx, cmd)
			continue
		}
		it := &pending{i: i, slot: loc.Slot, readOnly: loc.ReadOnly, blocking: loc.Blocking}
		if loc.Kind != cluster.RouteSlot {
			it.addr = loc.Addr
		}
		seg = append(seg, it)
	}
	p.run(ctx, cmds, seg, results)
	return results
}

// execAlone runs one command through the client's own routing (fan-out, split).
func (p *Pipeline) execAlone(ctx context.Context, cmd resp.Command) Result {
	r := p.c.Exec(ctx, cmd)
	var ne *cluster.NodeError
	if r.Err != nil && errors.As(r.Err, &ne) && ne.Written {
		return Result{Err: &UnknownOutcomeError{Command: cmd.Name(), Addr: ne.Addr, Err: r.Err}}
	}
	return Result{Value: r.Value, Err: r.Err}
}

// pending is a queued command on its way to a result.
type pending struct {
	i                  int    // position in the queue
	slot               int    // -1 for a keyless command
	addr               string // where to send it next; "" means the slot's owner
	asking             bool   // send ASKING first
	readOnly, blocking bool
	redirects          int
	attempts           int       // retries after TRYAGAIN, CLUSTERDOWN or a lost connection
	since              time.Time // when the first of those retries was decided
	notBefore          time.Time // not to be sent before this time
	done               bool      // the result is final
}

// batch is what goes to one node in one round.
type nodeBatch struct {
	addr   string
	items  []*pending
	cmds   []resp.Command
	asking []bool
	res    cluster.BatchResult
}

// run sends the commands of one segment in rounds until each has a result. In each
// round every command ready to go is sent, one batch per node, nodes in parallel; a
// command waiting for its backoff holds back the later commands of its slot.
func (p *Pipeline) run(ctx context.Context, cmds []resp.Command, queue []*pending, results []Result) {
	for len(queue) > 0 {
		now := time.Now()
		held := map[int]bool{}
		batches := map[string]*nodeBatch{}
		var order []*nodeBatch
		var wake time.Time
		refresh := false
		// Every command of a slot goes to the same node in a round, even if the slot
		// map changes meanwhile: a MOVED then comes back for all of them, in order.
		owners := map[int]string{}
		hold := func(it *pending) {
			held[it.slot] = true
			if wake.IsZero() || it.notBefore.Before(wake) {
				wake = it.notBefore
			}
		}
		for _, it := range queue {
			if held[it.slot] {
				continue
			}
			if it.notBefore.After(now) {
				hold(it)
				continue
			}
			addr := it.addr
			if addr == "" {
				var ok bool
				if addr, ok = owners[it.slot]; !ok {
					addr = p.c.SlotAddr(it.slot, it.readOnly)
					owners[it.slot] = addr
				}
			}
			if addr == "" {
				// The slot has no known owner: learn the topology again, then retry.
				refresh = true
				if !p.backoff(it, now) {
					results[it.i].Err = fmt.Errorf("pipeline: %s: slot %d has no owner after %s", cmds[it.i].Name(), it.slot, p.o.RetryBudget)
					it.done = true
					continue
				}
				hold(it)
				continue
			}
			b := batches[addr]
			if b == nil {
				b = &nodeBatch{addr: addr}
				batches[addr] = b
				order = append(order, b)
			}
			b.items = append(b.items, it)
			b.cmds = append(b.cmds, cmds[it.i])
			b.asking = append(b.asking, it.asking)
		}
		var wg sync.WaitGroup
		for _, b := range order {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b.res = p.c.ExecBatch(ctx, b.addr, b.cmds, b.asking)
			}()
		}
		wg.Wait()
		for _, b := range order {
			for j, it := range b.items {
				it.done = !p.settle(ctx, it, b, j, cmds[it.i], results)
			}
			if b.res.Err != nil {
				refresh = true
			}
		}
		if refresh {
			_ = p.c.NoteClusterDown(ctx) // a failure shows up in the retried commands
		}
		next := queue[:0]
		for _, it := range queue {
			if !it.done {
				next = append(next, it)
			}
		}
		queue = next
		if len(order) == 0 && len(queue) > 0 {
			if err := sleepUntil(ctx, wake); err != nil {
				for _, it := range queue {
					results[it.i].Err = fmt.Errorf("pipeline: %s not sent: %w", cmds[it.i].Name(), err)
				}
				return
			}
		}
	}
}

// settle decides what the reply (or its absence) of command j of batch b means: a final
// result, stored in results, or another attempt, for which it returns true.
func (p *Pipeline) settle(ctx context.Context, it *pending, b *nodeBatch, j int, cmd resp.Command, results []Result) bool {
	now := time.Now()
	it.asking = false
	if j >= b.res.Read {
		switch {
		case ctx.Err() != nil && !b.res.Written:
			results[it.i].Err = fmt.Errorf("pipeline: %s not sent: %w", cmd.Name(), ctx.Err())
			return false
		case ctx.Err() == nil && (!b.res.Written || p.o.ResendReadOnly && it.readOnly && !it.blocking):
			// Never written (or safe to run twice): send it again after a refresh.
			if p.backoff(it, now) {
				it.addr = ""
				if it.slot < 0 {
					it.addr = b.addr
				}
				return true
			}
			results[it.i].Err = fmt.Errorf("pipeline: %s on %s: retry budget of %s spent: %w", cmd.Name(), b.addr, p.o.RetryBudget, b.res.Err)
			return false
		}
		results[it.i].Err = &UnknownOutcomeError{Command: cmd.Name(), Addr: b.addr, Err: b.res.Err}
		return false
	}
	v := b.res.Values[j]
	results[it.i] = Result{Value: v}
	if v.Kind != resp.Error {
		return false
	}
	code := errorCode(v)
	if !p.c.IsCluster() {
		// A standalone server redirects nothing; it may still be loading or busy.
		if code == "LOADING" || code == "TRYAGAIN" || code == "MASTERDOWN" {
			return p.backoff(it, now)
		}
		return false
	}
	switch code {
	case "MOVED", "ASK":
		rd, _, err := cluster.ParseRedirect(string(v.Str), b.addr)
		if err != nil {
			results[it.i] = Result{Err: err}
			return false
		}
		it.redirects++
		if it.redirects > p.o.MaxRedirects {
			results[it.i] = Result{Err: fmt.Errorf("pipeline: %s redirected %d times, last by %s (%q): %w",
				cmd.Name(), it.redirects-1, b.addr, v.Str, cluster.ErrTooManyRedirects)}
			return false
		}
		p.c.NoteRedirect(ctx, rd)
		it.slot = rd.Slot
		it.addr = ""
		if rd.Ask && rd.Addr != "" {
			it.addr, it.asking = rd.Addr, true
		}
		return true
	case "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "LOADING":
		if p.backoff(it, now) {
			it.addr = ""
			if it.slot < 0 {
				it.addr = b.addr
			}
			return true
		}
	}
	return false
}

// backoff schedules another attempt after a growing, jittered wait, and reports false
// when the retry budget is spent.
func (p *Pipeline) backoff(it *pending, now time.Time) bool {
	if it.since.IsZero() {
		it.since = now
	}
	d := backoffDelay(it.attempts)
	it.attempts++
	if now.Add(d).Sub(it.since) > p.o.RetryBudget {
		return false
	}
	it.notBefore = now.Add(d)
	return true
}

// backoffDelay is the wait before retry number attempt (from 0).
func backoffDelay(attempt int) time.Duration {
	d := min(backoffMin<<min(attempt, 5), backoffMax)
	return d/2 + rand.N(d/2+1)
}

// sleepUntil waits until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// errorCode returns the first word of an error reply.
func errorCode(v resp.Value) string {
	code, _, _ := strings.Cut(string(v.Str), " ")
	return code
}
