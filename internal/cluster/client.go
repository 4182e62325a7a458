package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/resp"
	"github.com/rcli-dev/rcli/internal/topology"
)

// ReadFrom says which nodes serve commands the server flags read-only.
type ReadFrom int

// The read policies.
const (
	ReadMaster        ReadFrom = iota // every command goes to the slot's master
	ReadReplica                       // reads go to a replica; to the master only when none is up
	ReadPreferReplica                 // reads go to a replica when there is one, else to the master
)

// ParseReadFrom parses "master", "replica" or "prefer-replica".
func ParseReadFrom(s string) (ReadFrom, error) {
	switch strings.ToLower(s) {
	case "master", "":
		return ReadMaster, nil
	case "replica":
		return ReadReplica, nil
	case "prefer-replica":
		return ReadPreferReplica, nil
	}
	return 0, fmt.Errorf("cluster: unknown read policy %q (want master, replica or prefer-replica)", s)
}

// Defaults of Options.
const (
	DefaultMaxRedirects  = 16
	DefaultRetryBudget   = 10 * time.Second
	DefaultMinRefreshGap = 200 * time.Millisecond
)

// ErrTooManyRedirects is wrapped by the error of a command that was redirected more than
// Options.MaxRedirects times.
var ErrTooManyRedirects = errors.New("too many redirects")

// ErrClosed is returned by a Client after Close.
var ErrClosed = errors.New("cluster: client closed")

// Options configures a Client.
type Options struct {
	// Seeds are the addresses (host:port, or a socket path with Pool.Network "unix")
	// the client starts from. Keyless commands go to the first.
	Seeds []string
	// Pool is the template for every node's connection pool; Addr is set per node.
	Pool pool.Options
	// Cluster says the servers form a Redis Cluster. When false, the first seed is a
	// standalone server that owns every slot and nothing is ever redirected.
	Cluster bool
	// ReadFrom says where read-only commands go.
	ReadFrom ReadFrom
	// MaxRedirects bounds MOVED and ASK redirects per command (default 16).
	MaxRedirects int
	// RetryBudget bounds how long a command that provably did not run is retried while
	// the cluster heals: TRYAGAIN, CLUSTERDOWN, a master that cannot be reached
	// (default 10s).
	RetryBudget time.Duration
	// RefreshInterval turns on automatic topology refresh: periodically (with jitter),
	// and in the background after MOVED, CLUSTERDOWN or a lost node. Zero, for one-shot
	// use, runs no timer and no background refresh: a MOVED only patches its slot.
	RefreshInterval time.Duration
	// MinRefreshGap is the least time between two topology loads (default 200ms):
	// triggers that arrive sooner share the next load.
	MinRefreshGap time.Duration
	// NATMap rewrites announced node addresses ("10.0.0.5:6379" → "127.0.0.1:7001"),
	// for clusters behind NAT or in containers.
	NATMap map[string]string
	// Commands holds command metadata for routing; nil makes a table that fetches it
	// from the servers and keeps it in memory only.
	Commands *CommandTable
	// OnRedirect, when set, is told of every MOVED and ASK the client follows.
	OnRedirect func(r Redirect)
	// SlotCacheDir, for one-shot use (no RefreshInterval), keeps the slot map on disk
	// between runs so that commands go straight to the right node: before it is used,
	// the seed must still have the node ID it had (one CLUSTER MYID), and a MOVED makes
	// Close rewrite it. "" turns the cache off.
	SlotCacheDir string
}

func (o Options) withDefaults() Options {
	if o.MaxRedirects == 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	if o.RetryBudget == 0 {
		o.RetryBudget = DefaultRetryBudget
	}
	if o.MinRefreshGap == 0 {
		o.MinRefreshGap = DefaultMinRefreshGap
	}
	if o.Commands == nil {
		o.Commands = NewCommandTable("")
	}
	return o
}

// Client is rcli's one Redis client: it routes each command to the node that owns its
// keys, follows redirects, refreshes the topology, pools connections per node, and
// splits or fans out commands that span nodes. A standalone server is a one-node
// topology that owns every slot. A Client is safe for concurrent use.
type Client struct {
	opts Options
	seed *node

	mu     sync.Mutex
	nodes  map[string]*node
	closed bool

	table atomic.Pointer[table]

	refresh   refresher
	slotCache *slotCache // nil unless a one-shot cluster client caches its slot map
	done      chan struct{}
	wg        sync.WaitGroup

	stats clientStats
}

type clientStats struct {
	moved, ask, tryAgain, clusterDown, refreshes, batches atomic.Uint64
}

// table maps each slot to the nodes that serve it.
type table struct {
	topo  *topology.Topology // nil until loaded, and for a standalone server
	slots [SlotCount]atomic.Pointer[shardNodes]
}

type shardNodes struct {
	master   *node
	replicas []*node
}

// New returns a client. It does no network I/O: connections are made when needed.
func New(opts Options) (*Client, error) {
	if len(opts.Seeds) == 0 {
		return nil, errors.New("cluster: no seed address")
	}
	c := &Client{opts: opts.withDefaults(), nodes: map[string]*node{}, done: make(chan struct{})}
	c.refresh.c = c
	c.seed = c.node(c.opts.Seeds[0])
	t := &table{}
	all := &shardNodes{master: c.seed}
	for i := range t.slots {
		t.slots[i].Store(all)
	}
	c.table.Store(t)
	if c.opts.Cluster && c.opts.RefreshInterval <= 0 {
		c.slotCache = newSlotCache(c.opts.SlotCacheDir, c.opts.Seeds[0])
	}
	if c.opts.Cluster && c.opts.RefreshInterval > 0 {
		c.wg.Add(1)
		go c.refreshLoop()
	}
	return c, nil
}

// Close stops background work and closes every pool.
func (c *Client) Close() error {
	if !c.isClosed() {
		c.saveSlotCache()
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	nodes := c.nodes
	c.nodes = map[string]*node{}
	c.mu.Unlock()
	close(c.done)
	c.wg.Wait()
	for _, n := range nodes {
		n.pool.Close()
	}
	return nil
}

// Options returns the options the client runs with, defaults applied.
func (c *Client) Options() Options { return c.opts }

// node returns the node for an address, creating its pool the first time. Announced
// addresses go through the NAT map.
func (c *Client) node(addr string) *node {
	if mapped, ok := c.opts.NATMap[addr]; ok {
		addr = mapped
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.nodes[addr]; ok {
		return n
	}
	po := c.opts.Pool
	po.Addr = addr
	if c.opts.ReadFrom != ReadMaster {
		po.ReadOnly = true
	}
	if po.TLS != nil && po.TLS.ServerName == "" {
		// Nodes announced by IP are verified against the seed's name, never skipped.
		tc := po.TLS.Clone()
		if host, _, err := net.SplitHostPort(c.opts.Seeds[0]); err == nil {
			tc.ServerName = host
		}
		po.TLS = tc
	}
	n := &node{addr: addr, pool: pool.New(po)}
	if c.closed {
		n.pool.Close()
		return n
	}
	c.nodes[addr] = n
	return n
}

// Pools returns each node's address and pool statistics, sorted by address.
func (c *Client) Pools() []NodePool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]NodePool, 0, len(c.nodes))
	for addr, n := range c.nodes {
		out = append(out, NodePool{Addr: addr, Stats: n.pool.Stats()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out
}

// NodePool is one node's pool statistics.
type NodePool struct {
	Addr  string
	Stats pool.Stats
}

// Result is the outcome of one command: its reply, or the error that kept it from
// getting one, and the node that served it.
type Result struct {
	Value resp.Value
	Err   error
	Addr  string // the node that sent the reply
	Slot  int    // the slot the command was routed by, or -1
}

// Do runs one command and returns its reply. A server error reply is a Value of kind
// Error, not an error; err reports commands that got no reply.
func (c *Client) Do(ctx context.Context, cmd resp.Command) (resp.Value, error) {
	r := c.Exec(ctx, cmd)
	return r.Value, r.Err
}

// Exec runs one command like Do and also says where it ran.
func (c *Client) Exec(ctx context.Context, cmd resp.Command) Result {
	if len(cmd.Args) == 0 {
		return Result{Err: errors.New("cluster: empty command"), Slot: -1}
	}
	if c.isClosed() {
		return Result{Err: ErrClosed, Slot: -1}
	}
	if !c.opts.Cluster {
		v, _, err := c.seed.do(ctx, cmd, false)
		if err != nil {
			err = &NodeError{Addr: c.seed.addr, Written: true, Err: err}
		}
		return Result{Value: v, Err: err, Addr: c.seed.addr, Slot: -1}
	}
	c.useSlotCache(ctx)
	p, err := c.plan(ctx, cmd)
	if err != nil {
		return Result{Err: err, Slot: -1}
	}
	switch p.kind {
	case planFanout:
		return c.fanout(ctx, cmd, p)
	case planSplit:
		return c.split(ctx, cmd, p)
	case planSeed:
		r := c.execOn(ctx, cmd, -1, c.seed, p.readOnly)
		if p.anyNode {
			r = c.elsewhere(ctx, cmd, r)
		}
		return r
	}
	return c.execOn(ctx, cmd, p.slot, nil, p.readOnly)
}

// elsewhere retries on the other masters a command that any node may serve and that
// could not reach the seed.
func (c *Client) elsewhere(ctx context.Context, cmd resp.Command, r Result) Result {
	var ne *NodeError
	if !errors.As(r.Err, &ne) || ne.Written {
		return r
	}
	if c.Topology() == nil {
		if err := c.refresh.now(ctx); err != nil {
			return r
		}
	}
	for _, s := range c.Topology().Shards {
		addr := c.mapAddr(s.Master.Addr)
		if addr == "" || addr == c.seed.addr {
			continue
		}
		next := c.execOn(ctx, cmd, -1, c.node(addr), false)
		if !errors.As(next.Err, &ne) || ne.Written {
			return next
		}
	}
	return r
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// pick returns the node that should serve a slot: its master, or for a read under a
// replica policy a random replica that is not in avoid (replicas that failed this
// command), falling back to the master.
func (c *Client) pick(slot int, readOnly bool, avoid ...*node) *node {
	sn := c.table.Load().slots[slot].Load()
	if sn == nil {
		return nil
	}
	if readOnly && c.opts.ReadFrom != ReadMaster && len(sn.replicas) > 0 {
		start := rand.IntN(len(sn.replicas))
		for i := range sn.replicas {
			if r := sn.replicas[(start+i)%len(sn.replicas)]; !slices.Contains(avoid, r) {
				return r
			}
		}
	}
	return sn.master
}

// execOn runs a command on the owner of slot (or on target when it is set, for keyless
// commands), following redirects and riding out failovers within the retry budget.
func (c *Client) execOn(ctx context.Context, cmd resp.Command, slot int, target *node, readOnly bool) Result {
	pinned := target != nil
	deadline := time.Now().Add(c.opts.RetryBudget)
	redirects, attempt := 0, 0
	asking := false
	var avoid []*node // replicas that failed this command
	for {
		if target == nil {
			target = c.pick(slot, readOnly, avoid...)
			if target == nil {
				if err := c.waitRetry(ctx, deadline, &attempt, true); err != nil {
					return Result{Err: fmt.Errorf("cluster: slot %d has no owner: %w", slot, err), Slot: slot}
				}
				continue
			}
		}
		v, written, err := target.do(ctx, cmd, asking)
		asking = false
		if err != nil {
			if ctx.Err() != nil {
				return Result{Err: &NodeError{Addr: target.addr, Written: written, Err: err}, Addr: target.addr, Slot: slot}
			}
			c.nodeFailed()
			avoid = append(avoid, target)
			retriable := !written || readOnly && !isBlocking(cmd)
			if !retriable || pinned && slot < 0 {
				return Result{Err: &NodeError{Addr: target.addr, Written: written, Err: err}, Addr: target.addr, Slot: slot}
			}
			if werr := c.waitRetry(ctx, deadline, &attempt, true); werr != nil {
				return Result{Err: &NodeError{Addr: target.addr, Written: written, Err: err}, Addr: target.addr, Slot: slot}
			}
			if slot >= 0 {
				target = nil
			}
			continue
		}
		if v.Kind != resp.Error {
			return Result{Value: v, Addr: target.addr, Slot: slot}
		}
		msg := string(v.Str)
		if rd, ok, perr := ParseRedirect(msg, target.addr); ok {
			if perr != nil {
				return Result{Err: perr, Addr: target.addr, Slot: slot}
			}
			redirects++
			if redirects > c.opts.MaxRedirects {
				return Result{Err: fmt.Errorf("cluster: %s redirected %d times, last by %s (%q): %w",
					cmd.Name(), redirects-1, target.addr, msg, ErrTooManyRedirects), Addr: target.addr, Slot: slot}
			}
			if c.opts.OnRedirect != nil {
				c.opts.OnRedirect(rd)
			}
			if rd.Addr == "" {
				// The server does not know the endpoint: learn it from a refresh.
				c.refresh.now(ctx)
				target = nil
				slot = rd.Slot
				continue
			}
			n := c.node(rd.Addr)
			if rd.Ask {
				c.stats.ask.Add(1)
				asking = true
			} else {
				c.stats.moved.Add(1)
				c.patchSlot(rd.Slot, n)
				c.refresh.trigger()
			}
			target, slot = n, rd.Slot
			continue
		}
		code, _, _ := strings.Cut(msg, " ")
		switch code {
		case "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "LOADING":
			// The command did not run. Wait for the cluster to settle, within budget.
			switch code {
			case "TRYAGAIN":
				c.stats.tryAgain.Add(1)
			case "LOADING":
				avoid = append(avoid, target) // another replica, or the master, may serve it now
			default:
				c.stats.clusterDown.Add(1)
			}
			if err := c.waitRetry(ctx, deadline, &attempt, code != "TRYAGAIN"); err != nil {
				return Result{Value: v, Addr: target.addr, Slot: slot}
			}
			if code != "TRYAGAIN" && slot >= 0 {
				target = nil
			}
			continue
		}
		return Result{Value: v, Addr: target.addr, Slot: slot}
	}
}

// waitRetry sleeps before another attempt, with a growing, jittered backoff, and
// refreshes the topology first when asked. It fails when the budget or ctx runs out.
func (c *Client) waitRetry(ctx context.Context, deadline time.Time, attempt *int, refresh bool) error {
	if refresh {
		c.refresh.now(ctx)
	}
	d := min(10*time.Millisecond<<min(*attempt, 5), 250*time.Millisecond)
	d = d/2 + rand.N(d/2+1)
	*attempt++
	if time.Now().Add(d).After(deadline) {
		return fmt.Errorf("retry budget of %s spent", c.opts.RetryBudget)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return ErrClosed
	case <-t.C:
		return nil
	}
}

// patchSlot points one slot at a new master after a MOVED.
func (c *Client) patchSlot(slot int, n *node) {
	c.table.Load().slots[slot].Store(&shardNodes{master: n})
}

// nodeFailed reacts to a node that could not be reached or broke a connection: the
// topology may have changed (a failover), so it is refreshed in the background.
func (c *Client) nodeFailed() {
	if c.opts.Cluster {
		c.refresh.trigger()
	}
}

func isBlocking(cmd resp.Command) bool {
	_, blocks := pool.BlockingTimeout(cmd)
	return blocks
}
