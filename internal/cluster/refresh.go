package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rcli-dev/rcli/internal/resp"
	"github.com/rcli-dev/rcli/internal/topology"
)

// refresher makes sure topology loads never overlap and never come closer together than
// Options.MinRefreshGap, however many callers ask: they all share the next load.
type refresher struct {
	c *Client

	mu      sync.Mutex
	running *refreshCall
	pending bool // a trigger arrived while a load was running: load once more after it
	last    time.Time
}

type refreshCall struct {
	done chan struct{}
	err  error
}

// now loads the topology, or joins the load under way, and waits for it (or for ctx).
func (r *refresher) now(ctx context.Context) error {
	r.mu.Lock()
	call := r.running
	if call == nil {
		call = r.startLocked()
	}
	r.mu.Unlock()
	if call == nil {
		return ErrClosed
	}
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// trigger asks for a load in the background. It does nothing for a one-shot client
// (no RefreshInterval): such a client refreshes only when a command cannot go on.
func (r *refresher) trigger() {
	if r.c.opts.RefreshInterval <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running != nil {
		r.pending = true
		return
	}
	r.startLocked()
}

// startLocked starts a load that begins once the gap since the last one has passed.
func (r *refresher) startLocked() *refreshCall {
	c := r.c
	select {
	case <-c.done:
		return nil
	default:
	}
	call := &refreshCall{done: make(chan struct{})}
	r.running = call
	wait := time.Until(r.last.Add(c.opts.MinRefreshGap))
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-c.done:
				t.Stop()
			}
		}
		select {
		case <-c.done:
			call.err = ErrClosed
		default:
			ctx, cancel := context.WithTimeout(context.Background(), max(c.opts.RetryBudget, 5*time.Second))
			call.err = c.load(ctx)
			cancel()
		}
		r.mu.Lock()
		r.running = nil
		r.last = time.Now()
		again := r.pending && call.err == nil
		r.pending = false
		if again {
			r.startLocked()
		}
		r.mu.Unlock()
		close(call.done)
	}()
	return call
}

func (c *Client) refreshLoop() {
	defer c.wg.Done()
	c.refresh.trigger() // learn the topology at once
	for {
		// ±10% jitter, so that many clients do not refresh in step.
		d := c.opts.RefreshInterval
		d = d - d/10 + rand.N(d/5+1)
		t := time.NewTimer(d)
		select {
		case <-c.done:
			t.Stop()
			return
		case <-t.C:
			c.refresh.trigger()
		}
	}
}

// Refresh loads the topology now (sharing a load already under way) and returns the
// error of that load.
func (c *Client) Refresh(ctx context.Context) error {
	if !c.opts.Cluster {
		return nil
	}
	return c.refresh.now(ctx)
}

// Topology returns the topology last loaded, or nil before the first load and for a
// standalone server.
func (c *Client) Topology() *topology.Topology {
	return c.table.Load().topo
}

var (
	clusterNodesCmd = resp.NewCommand("CLUSTER", "NODES")
	clusterSlotsCmd = resp.NewCommand("CLUSTER", "SLOTS")
)

// load asks the seeds, then every node ever seen, for the topology, and applies the
// first answer.
func (c *Client) load(ctx context.Context) error {
	c.stats.refreshes.Add(1)
	var errs []error
	for _, addr := range c.candidates() {
		topo, err := c.loadFrom(ctx, addr)
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		c.apply(topo)
		return nil
	}
	return fmt.Errorf("cluster: refresh topology: no node answered: %w", errors.Join(errs...))
}

// candidates lists the seeds first, then the other known nodes in random order.
func (c *Client) candidates() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range c.opts.Seeds {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	c.mu.Lock()
	var others []string
	for addr := range c.nodes {
		if !seen[addr] {
			seen[addr] = true
			others = append(others, addr)
		}
	}
	c.mu.Unlock()
	if t := c.Topology(); t != nil {
		for _, n := range t.Nodes {
			if n.Addr != "" && !seen[n.Addr] {
				seen[n.Addr] = true
				others = append(others, n.Addr)
			}
		}
	}
	rand.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	return append(out, others...)
}

// loadFrom reads one node's view: CLUSTER NODES, or CLUSTER SLOTS when that is refused.
func (c *Client) loadFrom(ctx context.Context, addr string) (*topology.Topology, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	n := c.node(addr)
	v, _, err := n.do(ctx, clusterNodesCmd, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	if v.Kind == resp.Error {
		sv, _, serr := n.do(ctx, clusterSlotsCmd, false)
		if serr != nil || sv.Kind == resp.Error {
			return nil, fmt.Errorf("%s: CLUSTER NODES: %s", addr, v.Str)
		}
		nodes, perr := topology.ParseSlots(sv, addr)
		if perr != nil {
			return nil, fmt.Errorf("%s: %w", addr, perr)
		}
		return topology.Build(nodes, addr), nil
	}
	nodes, err := topology.ParseNodes(v.Text(), addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	return topology.Build(nodes, addr), nil
}

// apply installs a topology: a fresh slot table, pools for new nodes, and closed pools
// for nodes that left.
func (c *Client) apply(topo *topology.Topology) {
	t := &table{topo: topo}
	keep := map[string]bool{}
	for _, s := range c.opts.Seeds {
		keep[s] = true
	}
	shards := make([]*shardNodes, len(topo.Shards))
	for i, s := range topo.Shards {
		if s.Master.Addr == "" {
			continue
		}
		sn := &shardNodes{master: c.node(s.Master.Addr)}
		keep[sn.master.addr] = true
		for _, r := range s.Replicas {
			if r.Addr == "" || r.Failing() || r.LinkState != "connected" && !r.Myself() {
				continue
			}
			rn := c.node(r.Addr)
			keep[rn.addr] = true
			sn.replicas = append(sn.replicas, rn)
		}
		shards[i] = sn
	}
	for slot, owner := range topo.Owner {
		if owner >= 0 && shards[owner] != nil {
			t.slots[slot].Store(shards[owner])
		}
	}
	for _, n := range topo.Nodes {
		if n.Addr != "" {
			keep[c.mapAddr(n.Addr)] = true
		}
	}
	c.table.Store(t)

	c.mu.Lock()
	var gone []*node
	for addr, n := range c.nodes {
		if !keep[addr] {
			gone = append(gone, n)
			delete(c.nodes, addr)
		}
	}
	c.mu.Unlock()
	for _, n := range gone {
		n.pool.Close()
	}
}

func (c *Client) mapAddr(addr string) string {
	if mapped, ok := c.opts.NATMap[addr]; ok {
		return mapped
	}
	return addr
}
