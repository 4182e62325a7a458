package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/rcli-dev/rcli/internal/resp"
)

// ensureTopology loads the topology once when none is known yet: fan-out and split
// commands need to know every master.
func (c *Client) ensureTopology(ctx context.Context) error {
	if c.Topology() != nil {
		return nil
	}
	return c.refresh.now(ctx)
}

// Masters returns the address of every master that serves slots.
func (c *Client) Masters(ctx context.Context) ([]string, error) {
	if !c.opts.Cluster {
		return []string{c.seed.addr}, nil
	}
	if err := c.ensureTopology(ctx); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range c.Topology().Shards {
		if s.Master.Addr != "" {
			out = append(out, c.mapAddr(s.Master.Addr))
		}
	}
	return out, nil
}

func (c *Client) fanTargets(ctx context.Context, target fanTarget) ([]*node, error) {
	if err := c.ensureTopology(ctx); err != nil {
		return nil, err
	}
	var out []*node
	for _, s := range c.Topology().Shards {
		if s.Master.Addr == "" {
			continue
		}
		out = append(out, c.node(s.Master.Addr))
		if target == fanAllNodes {
			for _, r := range s.Replicas {
				if r.Addr != "" && !r.Failing() {
					out = append(out, c.node(r.Addr))
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("cluster: the topology lists no master")
	}
	return out, nil
}

// fanout sends a keyless command to every master (or node) in parallel and combines
// the replies.
func (c *Client) fanout(ctx context.Context, cmd resp.Command, p plan) Result {
	targets, err := c.fanTargets(ctx, p.fan.target)
	if err != nil {
		return Result{Err: err, Slot: -1}
	}
	if p.fan.combine == combineAnyNonNil {
		rand.Shuffle(len(targets), func(i, j int) { targets[i], targets[j] = targets[j], targets[i] })
	}
	results := make([]Result, len(targets))
	var wg sync.WaitGroup
	for i, n := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.execOn(ctx, cmd, -1, n, false)
		}()
	}
	wg.Wait()
	return combine(cmd, p.fan.combine, results)
}

func combine(cmd resp.Command, how fanCombine, results []Result) Result {
	for _, r := range results {
		if r.Err != nil {
			return Result{Err: fmt.Errorf("cluster: %s on %s: %w", cmd.Name(), r.Addr, r.Err), Addr: r.Addr, Slot: -1}
		}
		if r.Value.Kind == resp.Error {
			v := r.Value
			v.Str = []byte(fmt.Sprintf("%s (from %s)", v.Str, r.Addr))
			return Result{Value: v, Addr: r.Addr, Slot: -1}
		}
	}
	out := Result{Value: results[0].Value, Addr: results[0].Addr, Slot: -1}
	switch how {
	case combineConcat:
		v := resp.Value{Kind: resp.Array}
		for _, r := range results {
			v.Elems = append(v.Elems, r.Value.Elems...)
		}
		out.Value = v
	case combineSum:
		var sum int64
		for _, r := range results {
			sum += r.Value.Int
		}
		out.Value = resp.IntValue(sum)
	case combineAnyNonNil:
		for _, r := range results {
			if !r.Value.IsNull() {
				return Result{Value: r.Value, Addr: r.Addr, Slot: -1}
			}
		}
	case combineAnd:
		v := resp.Value{Kind: resp.Array, Elems: make([]resp.Value, len(results[0].Value.Elems))}
		for i := range v.Elems {
			all := int64(1)
			for _, r := range results {
				if i >= len(r.Value.Elems) || r.Value.Elems[i].Int == 0 {
					all = 0
				}
			}
			v.Elems[i] = resp.IntValue(all)
		}
		out.Value = v
	}
	return out
}

// PartialError reports a multi-key command split across nodes of which some parts
// failed: the keys listed were not done (or their outcome is unknown); all others were.
type PartialError struct {
	Command string
	Keys    []string // the keys whose part failed, in the order of the command
	Err     error    // the first failure
}

// Error names the command, how many keys failed, and why.
func (e *PartialError) Error() string {
	shown := e.Keys
	if len(shown) > 5 {
		shown = shown[:5]
	}
	more := ""
	if len(e.Keys) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(e.Keys)-len(shown))
	}
	return fmt.Sprintf("cluster: %s not done for %d keys (%s%s): %v",
		e.Command, len(e.Keys), strings.Join(shown, ", "), more, e.Err)
}

// Unwrap returns the first failure.
func (e *PartialError) Unwrap() error { return e.Err }

// splitPart is the sub-command for one slot of a split command.
type splitPart struct {
	slot  int
	cmd   resp.Command
	items []int // indexes of the command's key items that this part carries
	res   Result
}

// split runs a multi-key command whose keys span slots: one sub-command per slot, the
// sub-commands of each node pipelined in one round trip, nodes in parallel, replies
// joined in the caller's key order.
func (c *Client) split(ctx context.Context, cmd resp.Command, p plan) Result {
	if err := c.ensureTopology(ctx); err != nil {
		return Result{Err: err, Slot: -1}
	}
	name := strings.ToLower(string(cmd.Args[0]))
	width := 1
	if name == "mset" {
		width = 2
	}
	// Two passes, so that every part's arguments and items are carved from one
	// allocation each: first find each key's part, then fill the parts.
	partOf := make([]int, len(p.keys))
	index := make(map[int]int, len(p.keys)) // slot → part
	var sizes []int
	for item, pos := range p.keys {
		slot := Slot(cmd.Args[pos])
		pi, ok := index[slot]
		if !ok {
			pi = len(sizes)
			index[slot] = pi
			sizes = append(sizes, 0)
		}
		partOf[item] = pi
		sizes[pi]++
	}
	store := make([]splitPart, len(sizes))
	parts := make([]*splitPart, len(sizes))
	args := make([][]byte, len(sizes)+len(p.keys)*width)
	items := make([]int, len(p.keys))
	argAt, itemAt := 0, 0
	for pi, n := range sizes {
		part := &store[pi]
		part.cmd.Args = append(args[argAt:argAt:argAt+1+n*width], cmd.Args[0])
		part.items = items[itemAt : itemAt : itemAt+n]
		argAt, itemAt = argAt+1+n*width, itemAt+n
		parts[pi] = part
	}
	for item, pos := range p.keys {
		part := parts[partOf[item]]
		if len(part.items) == 0 {
			part.slot = Slot(cmd.Args[pos])
		}
		end := min(pos+width, len(cmd.Args))
		part.cmd.Args = append(part.cmd.Args, cmd.Args[pos:end]...)
		part.items = append(part.items, item)
	}
	c.runParts(ctx, parts, p.readOnly)
	return joinParts(cmd, name, p, parts)
}

// runParts sends every part to the node that owns its slot, one pipelined batch per
// node, then retries alone each part whose reply proves it did not run (a redirect,
// TRYAGAIN, CLUSTERDOWN) or that could not be sent.
func (c *Client) runParts(ctx context.Context, parts []*splitPart, readOnly bool) {
	byNode := map[*node][]*splitPart{}
	var order []*node
	for _, part := range parts {
		n := c.pick(part.slot, readOnly)
		if n == nil {
			part.res = Result{Err: fmt.Errorf("cluster: slot %d has no owner", part.slot), Slot: part.slot}
			continue
		}
		if _, ok := byNode[n]; !ok {
			order = append(order, n)
		}
		byNode[n] = append(byNode[n], part)
	}
	var wg sync.WaitGroup
	for _, n := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			group := byNode[n]
			cmds := make([]resp.Command, len(group))
			for i, part := range group {
				cmds[i] = part.cmd
			}
			c.stats.batches.Add(1)
			br := n.doBatch(ctx, cmds, nil)
			for i, part := range group {
				if i < br.Read {
					part.res = Result{Value: br.Values[i], Addr: n.addr, Slot: part.slot}
				} else {
					part.res = Result{Err: &NodeError{Addr: n.addr, Written: br.Written, Err: br.Err}, Addr: n.addr, Slot: part.slot}
				}
			}
			if br.Err != nil {
				c.nodeFailed()
			}
		}()
	}
	wg.Wait()
	for _, part := range parts {
		if needsRetry(part.res, readOnly) {
			part.res = c.execOn(ctx, part.cmd, part.slot, nil, readOnly)
		}
	}
}

// needsRetry reports whether a part provably did not run (or is safe to run again).
func needsRetry(r Result, readOnly bool) bool {
	if r.Err != nil {
		var ne *NodeError
		return errors.As(r.Err, &ne) && (!ne.Written || readOnly)
	}
	return RetryableReply(r.Value)
}

func joinParts(cmd resp.Command, name string, p plan, parts []*splitPart) Result {
	var failed []string
	var firstErr error
	addr := ""
	for _, part := range parts {
		err := part.res.Err
		if err == nil && part.res.Value.Kind == resp.Error {
			err = part.res.Value.Err()
		}
		if err != nil {
			for _, item := range part.items {
				failed = append(failed, string(cmd.Args[p.keys[item]]))
			}
			if firstErr == nil {
				firstErr = err
			}
		} else if addr == "" {
			addr = part.res.Addr
		}
	}
	var v resp.Value
	switch name {
	case "mget":
		v = resp.Value{Kind: resp.Array, Elems: make([]resp.Value, len(p.keys))}
		for i := range v.Elems {
			v.Elems[i] = resp.NullValue()
		}
		for _, part := range parts {
			if part.res.Err == nil && part.res.Value.Kind == resp.Array {
				for j, item := range part.items {
					if j < len(part.res.Value.Elems) {
						v.Elems[item] = part.res.Value.Elems[j]
					}
				}
			}
		}
	case "mset":
		v = resp.StatusValue("OK")
	default:
		var sum int64
		for _, part := range parts {
			if part.res.Err == nil {
				sum += part.res.Value.Int
			}
		}
		v = resp.IntValue(sum)
	}
	r := Result{Value: v, Addr: addr, Slot: -1}
	if firstErr != nil {
		r.Err = &PartialError{Command: strings.ToUpper(name), Keys: failed, Err: firstErr}
	}
	return r
}
