package pubsub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/resp"
)

// Defaults of Options.
const (
	DefaultBuffer         = 1024
	DefaultHealthInterval = time.Second
	DefaultHealthTimeout  = 3 * time.Second
	DefaultOpenTimeout    = 5 * time.Second
)

// ErrClosed is returned by a Subscriber after Close.
var ErrClosed = errors.New("pubsub: subscriber closed")

// Options configures a Subscriber.
type Options struct {
	// OnEvent, when set, is told of every gap and restoration. It is called from the
	// Subscriber's goroutines and must not block for long.
	OnEvent func(Event)
	// Buffer is the capacity of the Messages channel (default 1024). When it is full
	// the connections are not read: the server buffers, up to its client output limit
	// for pub/sub, after which it closes the connection (a Lost event).
	Buffer int
	// HealthInterval is how often each node serving subscriptions is sent a PING on a
	// pooled connection (default 1s); a node that fails to answer within HealthTimeout
	// (default 3s) has its subscription connections closed and restored elsewhere, so
	// that a hung node is noticed. A negative interval turns the probe off.
	HealthInterval time.Duration
	HealthTimeout  time.Duration
	// OpenTimeout bounds the wait for the confirmations of one subscription connection
	// (default 5s).
	OpenTimeout time.Duration
	// RetryBudget bounds how long Subscribe keeps trying to subscribe while the
	// cluster heals (default: the cluster client's RetryBudget). Restoring lost
	// subscriptions has no bound: it goes on until Close.
	RetryBudget time.Duration
}

func (o Options) withDefaults(cl *cluster.Client) Options {
	if o.Buffer <= 0 {
		o.Buffer = DefaultBuffer
	}
	if o.HealthInterval == 0 {
		o.HealthInterval = DefaultHealthInterval
	}
	if o.HealthTimeout <= 0 {
		o.HealthTimeout = DefaultHealthTimeout
	}
	if o.OpenTimeout <= 0 {
		o.OpenTimeout = DefaultOpenTimeout
	}
	if o.RetryBudget <= 0 {
		o.RetryBudget = cl.Options().RetryBudget
	}
	return o
}

// Subscriber holds subscriptions to channels, patterns and shard channels, on one
// connection for channels and patterns and one per master for shard channels, and
// keeps them in force across connection losses, failovers and slot migrations. It is
// safe for concurrent use.
type Subscriber struct {
	cl   *cluster.Client
	opts Options
	msgs chan Message

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{} // tells the restorer that queue has work

	mu     sync.Mutex
	want   map[Subscription]*link // wanted; the link that delivers it, nil while it is being made
	links  map[*link]struct{}     // live links
	queue  map[Subscription]queued
	failed map[string]time.Time // node address → last time a connection to it failed
	proto  int                  // protocol of the subscription connections
	closed bool
}

// queued is a subscription waiting to be restored: since when, and why.
type queued struct {
	since time.Time
	from  string // the node it was lost at or moved from
	moved bool   // the server dropped it (sunsubscribe), rather than a connection loss
}

// New returns a Subscriber over the client's connections. It subscribes to nothing
// until told; Close it when done.
func New(cl *cluster.Client, opts Options) *Subscriber {
	opts = opts.withDefaults(cl)
	ctx, cancel := context.WithCancel(context.Background())
	proto := cl.Options().Pool.Protocol
	if proto != 3 {
		proto = 2
	}
	s := &Subscriber{
		cl:     cl,
		opts:   opts,
		msgs:   make(chan Message, opts.Buffer),
		ctx:    ctx,
		cancel: cancel,
		wake:   make(chan struct{}, 1),
		want:   map[Subscription]*link{},
		links:  map[*link]struct{}{},
		queue:  map[Subscription]queued{},
		failed: map[string]time.Time{},
		proto:  proto,
	}
	s.wg.Add(1)
	go s.restoreLoop()
	if opts.HealthInterval > 0 {
		s.wg.Add(1)
		go s.probeLoop()
	}
	return s
}

// Messages returns the channel on which published messages arrive ("message",
// "pmessage", "smessage"), each exactly once while its subscription is in force. It
// is closed by Close.
func (s *Subscriber) Messages() <-chan Message { return s.msgs }

// ReplyError is the server's error reply to a subscription command, such as an
// arity error, NOPERM, or CROSSSLOT from a server that is not a cluster.
type ReplyError struct {
	Addr  string
	Value resp.Value // the error reply
}

// Error returns the server's message, with the node that sent it.
func (e *ReplyError) Error() string {
	return fmt.Sprintf("pubsub: %s: %s", e.Addr, e.Value.Str)
}

// Unwrap returns the reply as a *resp.ServerError.
func (e *ReplyError) Unwrap() error { return e.Value.Err() }

// Subscribe subscribes to names of the given kind and returns once every one is in
// force, with one confirmation per name in order, counted as a single connection
// would count them. Names already subscribed are confirmed without asking the server.
// In a cluster, shard channels go to the masters of their slots, retrying through
// redirects and failovers for up to Options.RetryBudget.
//
// With no names, the command goes to the server as it is, and its error reply comes
// back as a *ReplyError. A server's refusal of any name is a *ReplyError too, after
// which none of names is subscribed.
func (s *Subscriber) Subscribe(ctx context.Context, kind Kind, names ...string) ([]Message, error) {
	if kind > Shard {
		return nil, fmt.Errorf("pubsub: subscribe: unknown kind %d", kind)
	}
	if len(names) == 0 {
		return nil, s.bare(ctx, kind)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	base := s.countLocked(kind)
	counts := make([]int64, len(names))
	var fresh []Subscription
	n := base
	for i, name := range names {
		sub := Subscription{Kind: kind, Name: name}
		if _, ok := s.want[sub]; !ok {
			n++
			if l := s.holderLocked(sub); l != nil {
				s.want[sub] = l // unsubscribed locally only: its link still has it
			} else {
				s.want[sub] = nil
				fresh = append(fresh, sub)
			}
		}
		counts[i] = int64(n)
	}
	proto := s.proto
	s.mu.Unlock()

	if len(fresh) > 0 {
		if err := s.establish(ctx, fresh); err != nil {
			s.forget(fresh)
			return nil, err
		}
		s.mu.Lock()
		proto = s.proto
		s.mu.Unlock()
	}
	out := make([]Message, len(names))
	for i, name := range names {
		out[i] = confirmation(proto, Subscription{Kind: kind, Name: name}, false, counts[i])
	}
	return out, nil
}

// Unsubscribe ends subscriptions of the given kind, all of them when names is empty,
// and returns one confirmation per name (one per subscription ended when names is
// empty, or a single one with no name when there were none), as a single connection
// would. Messages stop at once; a connection left with nothing to deliver is closed.
func (s *Subscriber) Unsubscribe(ctx context.Context, kind Kind, names ...string) ([]Message, error) {
	if kind > Shard {
		return nil, fmt.Errorf("pubsub: unsubscribe: unknown kind %d", kind)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if len(names) == 0 {
		for sub := range s.want {
			if sub.Kind == kind {
				names = append(names, sub.Name)
			}
		}
	}
	var out []Message
	for _, name := range names {
		sub := Subscription{Kind: kind, Name: name}
		delete(s.want, sub)
		delete(s.queue, sub)
		out = append(out, confirmation(s.proto, sub, true, int64(s.countLocked(kind))))
	}
	if len(out) == 0 {
		out = append(out, confirmation(s.proto, Subscription{Kind: kind}, true, int64(s.countLocked(kind))))
	}
	idle := s.idleLinksLocked()
	s.mu.Unlock()
	for _, l := range idle {
		l.conn.Close() // its goroutine sees the error and exits quietly
	}
	return out, ctx.Err()
}

// Subscriptions returns every subscription wanted, whether in force or being restored.
func (s *Subscriber) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Subscription, 0, len(s.want))
	for sub := range s.want {
		out = append(out, sub)
	}
	return out
}

// Pending returns the subscriptions wanted but not in force now: being made or
// restored.
func (s *Subscriber) Pending() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Subscription
	for sub, l := range s.want {
		if l == nil {
			out = append(out, sub)
		}
	}
	return out
}

// Close ends every subscription, waits for the Subscriber's goroutines and closes the
// Messages channel.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	close(s.msgs)
	return nil
}

// countLocked is the count the server would give in a confirmation for kind: channels
// and patterns together, or shard channels.
func (s *Subscriber) countLocked(kind Kind) int {
	n := 0
	for sub := range s.want {
		if (sub.Kind == Shard) == (kind == Shard) {
			n++
		}
	}
	return n
}

// holderLocked returns a live link that is subscribed to sub on the server, or nil.
func (s *Subscriber) holderLocked(sub Subscription) *link {
	for l := range s.links {
		if l.subs[sub] && !l.retired {
			return l
		}
	}
	return nil
}

// idleLinksLocked retires and returns the links that deliver nothing wanted.
func (s *Subscriber) idleLinksLocked() []*link {
	var idle []*link
	for l := range s.links {
		if l.retired {
			continue
		}
		used := false
		for sub := range l.subs {
			if s.want[sub] == l {
				used = true
				break
			}
		}
		if !used {
			l.retired = true
			idle = append(idle, l)
		}
	}
	return idle
}

// forget drops subscriptions that could not be made, and links left idle by that.
func (s *Subscriber) forget(subs []Subscription) {
	s.mu.Lock()
	for _, sub := range subs {
		delete(s.want, sub)
		delete(s.queue, sub)
	}
	idle := s.idleLinksLocked()
	s.mu.Unlock()
	for _, l := range idle {
		l.conn.Close()
	}
}

// bare sends a subscription command without arguments, for the server's own error.
func (s *Subscriber) bare(ctx context.Context, kind Kind) error {
	r := s.cl.Exec(ctx, resp.NewCommand(kind.command()))
	if r.Err != nil {
		return fmt.Errorf("pubsub: %s: %w", kind.command(), r.Err)
	}
	if r.Value.Kind == resp.Error {
		return &ReplyError{Addr: r.Addr, Value: r.Value}
	}
	return fmt.Errorf("pubsub: %s with no argument: unexpected reply %s", kind.command(), r.Value)
}

// establish makes fresh subscriptions for Subscribe, retrying what the cluster
// redirects or cannot serve yet, for up to the retry budget.
func (s *Subscriber) establish(ctx context.Context, subs []Subscription) error {
	deadline := time.Now().Add(s.opts.RetryBudget)
	pending := subs
	for attempt := 0; ; attempt++ {
		res := s.round(ctx, pending)
		if res.fatal != nil {
			return res.fatal
		}
		if len(res.retry) == 0 {
			return nil
		}
		pending = res.retry
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("pubsub: subscribe: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pubsub: subscribe to %s: retry budget of %s spent: %w",
				describe(pending), s.opts.RetryBudget, res.err)
		}
		if err := s.pause(ctx, attempt); err != nil {
			return fmt.Errorf("pubsub: subscribe: %w", err)
		}
		if s.cl.IsCluster() {
			_ = s.cl.Refresh(ctx) // a failed refresh shows in the next round
		}
	}
}

// pause waits before another attempt: a jitter-free backoff from 25ms to 250ms.
func (s *Subscriber) pause(ctx context.Context, attempt int) error {
	d := min(25*time.Millisecond<<min(attempt, 4), 250*time.Millisecond)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.ctx.Done():
		return ErrClosed
	}
}

// emit reports an event, if anyone listens.
func (s *Subscriber) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if s.opts.OnEvent != nil {
		s.opts.OnEvent(e)
	}
}

// deliver hands a message to the reader of Messages, waiting while the buffer is
// full; it reports false when the Subscriber closed meanwhile.
func (s *Subscriber) deliver(m Message) bool {
	select {
	case s.msgs <- m:
		return true
	case <-s.ctx.Done():
		return false
	}
}
