package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/inspect"
	"github.com/rcli-dev/rcli/internal/resp"
	"github.com/rcli-dev/rcli/internal/topology"
)

// poolStatsOptions are the flags of `rcli pool-stats`.
type poolStatsOptions struct {
	probe       int    // commands per node
	concurrency int    // goroutines per node
	command     string // the probe command, split with redis-cli's quoting
	json        bool
}

func newCmdPoolStats(a *app) *cobra.Command {
	o := poolStatsOptions{concurrency: 4, command: "PING"}
	cmd := &cobra.Command{
		Use:   "pool-stats",
		Short: "warm the connection pools, optionally probe them, and print their statistics per node",
		Long: `pool-stats connects with the usual flags (every node of the cluster with -c), warms
each node's pool to --concurrency connections, optionally sends --probe commands to
each node over --concurrency goroutines, and prints one row per node: connections
(total, idle, in use), checkouts served from idle (hits) and by dialing (misses),
waits, timeouts, dial errors, closed connections, and the probe's p50/p99 latency.
A keyed --command is routed by its key instead of being sent to every node.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runPoolStats(c.Context(), a, o) },
	}
	f := cmd.Flags()
	f.IntVar(&o.probe, "probe", 0, "commands to send to each node (0: none)")
	f.IntVar(&o.concurrency, "concurrency", o.concurrency, "goroutines (and warm connections) per node")
	f.StringVar(&o.command, "command", o.command, "the probe command")
	f.BoolVar(&o.json, "json", false, "print JSON")
	return cmd
}

func runPoolStats(ctx context.Context, a *app, o poolStatsOptions) error {
	if o.concurrency < 1 {
		return &usageError{msg: "rcli pool-stats: --concurrency must be at least 1"}
	}
	args, err := resp.SplitArgs(o.command)
	if err != nil || len(args) == 0 {
		return &usageError{msg: fmt.Sprintf("rcli pool-stats: bad --command %q", o.command)}
	}
	probeCmd := resp.Command{Args: args}
	if err := a.connect(ctx); err != nil {
		return err
	}
	a.sess.release() // the probe takes its connections from the pools like any user
	cl := a.sess.cl
	roles, err := nodeRoles(ctx, cl)
	if err != nil {
		return err
	}
	addrs := make([]string, 0, len(roles))
	for addr := range roles {
		addrs = append(addrs, addr)
	}
	sort.Strings(addrs)
	for _, addr := range addrs {
		if err := warm(ctx, cl, addr, o.concurrency); err != nil {
			return err
		}
	}
	lat := map[string][]time.Duration{}
	errs := map[string]int{}
	if o.probe > 0 {
		routed := false
		if cl.IsCluster() {
			loc, err := cl.Locate(ctx, probeCmd)
			routed = err == nil && loc.Kind == cluster.RouteSlot
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, addr := range addrs {
			for g := 0; g < o.concurrency; g++ {
				n := o.probe / o.concurrency
				if g < o.probe%o.concurrency {
					n++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < n && ctx.Err() == nil; i++ {
						start := time.Now()
						target, err := probeOnce(ctx, cl, addr, probeCmd, routed)
						d := time.Since(start)
						mu.Lock()
						if err != nil {
							errs[target]++
						} else {
							lat[target] = append(lat[target], d)
						}
						mu.Unlock()
					}
				}()
			}
		}
		wg.Wait()
	}
	var rows []inspect.PoolRow
	for _, p := range cl.Pools() {
		role, ok := roles[p.Addr]
		if !ok {
			continue
		}
		row := inspect.PoolRow{Addr: p.Addr, Role: role, Stats: p.Stats, Errors: errs[p.Addr]}
		row.Probes = len(lat[p.Addr]) + row.Errors
		row.P50, row.P99 = inspect.Percentiles(lat[p.Addr])
		rows = append(rows, row)
	}
	return inspect.PoolStats(a.io.Out, rows, o.json)
}

// probeOnce sends the probe command once: through routing when it has a key, else
// straight to addr through that node's pool. It returns the node that served it.
func probeOnce(ctx context.Context, cl *cluster.Client, addr string, cmd resp.Command, routed bool) (string, error) {
	if routed {
		r := cl.Exec(ctx, cmd)
		return r.Addr, r.Err
	}
	c, err := cl.Acquire(ctx, addr)
	if err != nil {
		return addr, err
	}
	_, err = c.Do(ctx, cmd)
	cl.Release(addr, c)
	return addr, err
}

// warm opens n connections to addr at once, then returns them to the pool idle.
func warm(ctx context.Context, cl *cluster.Client, addr string, n int) error {
	var conns []func()
	defer func() {
		for _, release := range conns {
			release()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := cl.Acquire(ctx, addr)
		if err != nil {
			return err
		}
		conns = append(conns, func() { cl.Release(addr, c) })
	}
	return nil
}

// nodeRoles lists the nodes to report on with their role: the one server, or every
// node of the cluster.
func nodeRoles(ctx context.Context, cl *cluster.Client) (map[string]string, error) {
	if !cl.IsCluster() {
		return map[string]string{cl.SeedAddr(): "standalone"}, nil
	}
	if err := cl.Refresh(ctx); err != nil {
		return nil, err
	}
	roles := map[string]string{}
	for _, s := range cl.Topology().Shards {
		roles[s.Master.Addr] = "master"
		for _, r := range s.Replicas {
			if r.Addr != "" && !r.Failing() {
				roles[r.Addr] = "replica"
			}
		}
	}
	return roles, nil
}

func newCmdTopology(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "topology",
		Short: "show or refresh the cluster's topology (nodes, roles, slots, health, open slots)",
		Args:  cobra.NoArgs,
	}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "ask every node for its view and print the merged topology, warning where nodes disagree",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cl, err := clusterClient(c.Context(), a)
			if err != nil {
				return err
			}
			t, err := cl.Survey(c.Context())
			if err != nil {
				return err
			}
			return inspect.Topology(a.io.Out, t, asJSON)
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "refresh",
		Short: "reload the topology from every node, update the cached slot map, and print what changed",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cl, err := clusterClient(c.Context(), a)
			if err != nil {
				return err
			}
			before := cl.CachedTopology()
			t, err := cl.Survey(c.Context())
			if err != nil {
				return err
			}
			cl.Apply(t)
			cl.SaveSlotCache()
			var changes []string
			if before == nil {
				changes = []string{fmt.Sprintf("no cached map; cached %d nodes, %d shards", len(t.Nodes), len(t.Shards))}
			} else {
				changes = topology.Diff(before, t)
			}
			if err := inspect.Changes(a.io.Out, changes, asJSON); err != nil {
				return err
			}
			if !asJSON {
				for _, issue := range t.Issues {
					fmt.Fprintf(a.io.Out, "warning: %s\n", issue)
				}
			}
			return nil
		},
	})
	return cmd
}

func newCmdRoute(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "route KEY...",
		Short: "explain where keys go: slot, hash tag, owner, replicas, and where a read would go",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, keys []string) error {
			if err := a.connect(c.Context()); err != nil {
				return err
			}
			cl := a.sess.cl
			if cl.IsCluster() {
				if err := cl.Refresh(c.Context()); err != nil {
					return err
				}
			}
			for i, k := range keys {
				if i > 0 && !asJSON {
					fmt.Fprintln(a.io.Out)
				}
				if err := inspect.Route(a.io.Out, cl.RouteKey(k), asJSON); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// clusterClient connects in cluster mode, -c or not: the topology commands only make
// sense there.
func clusterClient(ctx context.Context, a *app) (*cluster.Client, error) {
	a.opts.cluster = true
	if err := a.connect(ctx); err != nil {
		return nil, err
	}
	return a.sess.cl, nil
}
