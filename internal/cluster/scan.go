package cluster

import (
	"context"
	"fmt"
	"hash/maphash"
	"strconv"
	"time"

	"github.com/rcli-dev/rcli/internal/resp"
)

// ScanOptions narrows a SCAN.
type ScanOptions struct {
	Match string // MATCH pattern; "" for every key
	Count int    // COUNT hint; 0 leaves the server's default
	Type  string // TYPE filter; "" for every type
}

func (o ScanOptions) command(cursor string) resp.Command {
	args := []string{"SCAN", cursor}
	if o.Match != "" {
		args = append(args, "MATCH", o.Match)
	}
	if o.Count > 0 {
		args = append(args, "COUNT", strconv.Itoa(o.Count))
	}
	if o.Type != "" {
		args = append(args, "TYPE", o.Type)
	}
	return resp.NewCommand(args...)
}

// Scan walks the whole keyspace and calls fn once for every key, stopping at fn's
// first error. In a cluster it walks every master (every replica when reads go to
// replicas), one shard after another. When a shard's node fails or fails over in the
// middle, that shard is scanned again from cursor 0 at its new owner and keys already
// reported are skipped, so fn sees each key that exists exactly once (keys written or
// deleted during the scan follow SCAN's own guarantees).
func (c *Client) Scan(ctx context.Context, o ScanOptions, fn func(key []byte) error) error {
	return c.ScanPages(ctx, o, func(_ string, keys [][]byte) error {
		for _, k := range keys {
			if err := fn(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// ScanPages walks the keyspace as Scan does, but calls fn once per SCAN reply, with the
// address of the node that sent it and its keys (perhaps none), so that a caller can
// send per-key commands to that node in one batch. Keys reported before a shard is
// scanned again after a failover are left out of its later pages.
func (c *Client) ScanPages(ctx context.Context, o ScanOptions, fn func(addr string, keys [][]byte) error) error {
	if !c.opts.Cluster {
		return c.scanShard(ctx, o, -1, fn)
	}
	if err := c.ensureTopology(ctx); err != nil {
		return err
	}
	var firstSlots []int
	for _, s := range c.Topology().Shards {
		firstSlots = append(firstSlots, s.Master.Slots[0].Start)
	}
	for _, slot := range firstSlots {
		if err := c.scanShard(ctx, o, slot, fn); err != nil {
			return err
		}
	}
	return nil
}

// scanShard scans the node serving slot (the seed when slot is -1).
func (c *Client) scanShard(ctx context.Context, o ScanOptions, slot int, fn func(addr string, keys [][]byte) error) error {
	var (
		seed      = maphash.MakeSeed()
		seen      = map[uint64]struct{}{} // hashes of the keys reported, to skip them after a restart
		restarted bool
		deadline  = time.Now().Add(c.opts.RetryBudget)
		attempt   int
	)
	target := c.seed
	if slot >= 0 {
		target = c.pick(slot, true)
	}
	cursor := "0"
	for {
		if target == nil {
			return fmt.Errorf("cluster: scan: slot %d has no owner", slot)
		}
		r := c.execOn(ctx, o.command(cursor), -1, target, true)
		err := r.Err
		if err == nil && r.Value.Kind == resp.Error {
			err = r.Value.Err()
		}
		if err == nil {
			next, keys, perr := parseScanReply(r.Value)
			if perr != nil {
				return fmt.Errorf("cluster: scan %s: %w", target.addr, perr)
			}
			page := keys[:0]
			for _, k := range keys {
				h := maphash.Bytes(seed, k)
				if _, dup := seen[h]; dup && restarted {
					continue
				}
				seen[h] = struct{}{}
				page = append(page, k)
			}
			if err := fn(target.addr, page); err != nil {
				return err
			}
			if next == "0" {
				return nil
			}
			cursor = next
			continue
		}
		// The node failed: find the shard's owner now and start that shard over.
		if slot < 0 || ctx.Err() != nil {
			return fmt.Errorf("cluster: scan %s: %w", target.addr, err)
		}
		if werr := c.waitRetry(ctx, deadline, &attempt, true); werr != nil {
			return fmt.Errorf("cluster: scan %s: %w (%v)", target.addr, err, werr)
		}
		target = c.pick(slot, true)
		cursor = "0"
		restarted = true
	}
}

func parseScanReply(v resp.Value) (cursor string, keys [][]byte, err error) {
	if v.Kind != resp.Array || len(v.Elems) != 2 || v.Elems[1].Kind != resp.Array {
		return "", nil, fmt.Errorf("unexpected SCAN reply %s", v)
	}
	keys = make([][]byte, len(v.Elems[1].Elems))
	for i, e := range v.Elems[1].Elems {
		keys[i] = e.Str
	}
	return v.Elems[0].Text(), keys, nil
}
