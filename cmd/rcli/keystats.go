package main

import (
	"context"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/format"
	"github.com/rcli-dev/rcli/internal/keystats"
)

// keyStatsMode runs --bigkeys, --memkeys or --hotkeys (in redis-cli's order of
// precedence). Without -c it walks the server named; with -c it walks every master (or
// every replica the read policy reads from) and prints one merged report.
func (a *app) keyStatsMode(ctx context.Context) error {
	if err := a.connect(ctx); err != nil {
		return err
	}
	cl := a.sess.cl
	nodes, err := walkNodes(ctx, cl)
	if err != nil {
		return err
	}
	t := &a.opts.tools
	mode := keystats.HotKeys
	switch {
	case t.bigkeys:
		mode = keystats.BigKeys
	case t.memkeys:
		mode = keystats.MemKeys
	}
	return keystats.Run(ctx, cl, keystats.Options{
		Mode:     mode,
		Samples:  t.memkeysSamples,
		Pattern:  a.opts.pattern,
		Interval: a.opts.interval,
		Nodes:    nodes,
		Out:      a.io.Out,
		Err:      a.io.Err,
		Progress: a.progressOut(),
		JSON:     a.out.Mode == format.JSON || a.out.Mode == format.QuotedJSON,
	})
}

// walkNodes returns the nodes a whole-keyspace walk covers: the server named, or in a
// cluster every master, or the replica the read policy picks for each shard.
func walkNodes(ctx context.Context, cl *cluster.Client) ([]string, error) {
	masters, err := cl.Masters(ctx)
	if err != nil || !cl.IsCluster() || cl.Options().ReadFrom == cluster.ReadMaster {
		return masters, err
	}
	var nodes []string
	for _, sh := range cl.Topology().Shards {
		if addr := cl.SlotAddr(sh.Master.Slots[0].Start, true); addr != "" {
			nodes = append(nodes, addr)
		}
	}
	return nodes, nil
}
