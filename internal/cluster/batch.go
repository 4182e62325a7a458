package cluster

import (
	"context"
	"errors"
	"strings"

	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/resp"
)

// RouteKind says how a command is routed.
type RouteKind int

// The ways a command can be routed.
const (
	RouteSlot   RouteKind = iota // its keys share one slot: the slot's owner serves it
	RouteSeed                    // it has no key: the node the user named serves it
	RouteFanout                  // it is about the whole data set: every master or node (use Exec)
	RouteSplit                   // its keys span slots and it can be split per key (use Exec)
)

// Location is where a command would be sent now.
type Location struct {
	Kind     RouteKind
	Addr     string // the node for RouteSlot and RouteSeed
	Slot     int    // the slot for RouteSlot, else -1
	ReadOnly bool   // the server flags the command readonly
	Blocking bool   // the command may block (BLPOP, XREAD BLOCK, WAIT, ...)
}

// Locate says where a command goes, from the server's key specs and the slot map, without
// sending it. A command whose keys span slots and cannot be split gets a *CrossSlotError.
func (c *Client) Locate(ctx context.Context, cmd resp.Command) (Location, error) {
	if len(cmd.Args) == 0 {
		return Location{}, errors.New("cluster: empty command")
	}
	loc := Location{Kind: RouteSeed, Addr: c.seed.addr, Slot: -1, Blocking: isBlocking(cmd)}
	if !c.opts.Cluster {
		if spec, err := c.Spec(ctx, string(cmd.Args[0])); err == nil && spec != nil {
			loc.ReadOnly = spec.resolve(cmd.Args).ReadOnly()
		}
		return loc, nil
	}
	p, err := c.plan(ctx, cmd)
	if err != nil {
		return Location{}, err
	}
	loc.ReadOnly = p.readOnly
	switch p.kind {
	case planFanout:
		loc.Kind, loc.Addr = RouteFanout, ""
	case planSplit:
		loc.Kind, loc.Addr = RouteSplit, ""
	case planSlot:
		loc.Kind, loc.Slot = RouteSlot, p.slot
		n := c.pick(p.slot, p.readOnly)
		if n == nil {
			if err := c.refresh.now(ctx); err != nil {
				return Location{}, err
			}
			if n = c.pick(p.slot, p.readOnly); n == nil {
				return Location{}, errors.New("cluster: slot has no owner")
			}
		}
		loc.Addr = n.addr
	}
	return loc, nil
}

// SlotAddr returns the node that serves a slot now: its master, or under a replica read
// policy and readOnly, one of its replicas. It returns "" when the slot has no owner.
func (c *Client) SlotAddr(slot int, readOnly bool) string {
	if n := c.pick(slot, readOnly); n != nil {
		return n.addr
	}
	return ""
}

// BatchResult is what one per-node batch produced.
type BatchResult struct {
	Values  []resp.Value // a reply for each of the first Read commands
	Read    int          // how many replies were read; commands past it got none
	Written bool         // whether any of the batch may have reached the server
	Err     error        // why the batch stopped early; nil when every reply was read
}

// ExecBatch writes every command on one connection to the node at addr, then reads every
// reply: one round trip. asking[i] sends ASKING before command i (asking may be nil).
// A server error reply is a value; Err reports the failure that stopped the batch, after
// which the outcome of every command past Read is unknown when Written is true.
func (c *Client) ExecBatch(ctx context.Context, addr string, cmds []resp.Command, asking []bool) BatchResult {
	n := c.node(addr)
	c.stats.batches.Add(1)
	br := n.doBatch(ctx, cmds, asking)
	if br.Err != nil {
		c.nodeFailed()
	}
	return BatchResult(br)
}

// Acquire takes a connection to the node at addr out of its pool, for streaming or for a
// connection pinned across commands (WATCH, MULTI). Give it back with Release.
func (c *Client) Acquire(ctx context.Context, addr string) (*pool.Conn, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	return c.node(addr).pool.Get(ctx)
}

// Release returns a connection taken with Acquire. A connection that broke, or that
// still owes replies, is closed rather than reused.
func (c *Client) Release(addr string, conn *pool.Conn) {
	n := c.node(addr)
	if conn.Broken() != nil {
		c.nodeFailed()
	}
	n.pool.Put(conn)
}

// NoteRedirect applies a MOVED seen outside the client's own commands (in a pipeline):
// the slot is pointed at its new owner and a refresh is scheduled. An ASK changes
// nothing, and a redirect to an unknown endpoint refreshes at once.
func (c *Client) NoteRedirect(ctx context.Context, r Redirect) {
	switch {
	case r.Addr == "":
		c.refresh.now(ctx)
	case r.Ask:
		c.stats.ask.Add(1)
	default:
		c.stats.moved.Add(1)
		c.patchSlot(r.Slot, c.node(r.Addr))
		c.refresh.trigger()
	}
}

// NoteClusterDown reacts to CLUSTERDOWN or a lost node seen outside the client's own
// commands: the topology is refreshed now (sharing a load under way).
func (c *Client) NoteClusterDown(ctx context.Context) error {
	return c.Refresh(ctx)
}

// RetryableReply reports whether an error reply proves that its command did not run and
// may be sent again: MOVED, ASK, TRYAGAIN, CLUSTERDOWN, MASTERDOWN, LOADING.
func RetryableReply(v resp.Value) bool {
	if v.Kind != resp.Error {
		return false
	}
	code, _, _ := strings.Cut(string(v.Str), " ")
	switch code {
	case "MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "LOADING":
		return true
	}
	return false
}

// Stats counts what the client has done since it was made.
type Stats struct {
	Moved, Ask, TryAgain, ClusterDown, Refreshes, Batches uint64
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		Moved: c.stats.moved.Load(), Ask: c.stats.ask.Load(), TryAgain: c.stats.tryAgain.Load(),
		ClusterDown: c.stats.clusterDown.Load(), Refreshes: c.stats.refreshes.Load(), Batches: c.stats.batches.Load(),
	}
}

// IsCluster reports whether the client talks to a Redis Cluster.
func (c *Client) IsCluster() bool { return c.opts.Cluster }

// SeedAddr returns the address of the node the user named.
func (c *Client) SeedAddr() string { return c.seed.addr }
