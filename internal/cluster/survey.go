package cluster

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/rcli-dev/rcli/internal/resp"
	"github.com/rcli-dev/rcli/internal/topology"
)

var clusterShardsCmd = resp.NewCommand("CLUSTER", "SHARDS")

// Survey asks every node it knows of (the seeds, and every node they list) for its own
// view of the cluster, merges the views (the highest config epoch wins each slot, and
// every disagreement and open slot is listed in Issues) and adds each node's health
// from CLUSTER SHARDS. It does not change the client's routing; Apply does.
func (c *Client) Survey(ctx context.Context) (*topology.Topology, error) {
	if !c.opts.Cluster {
		return nil, fmt.Errorf("cluster: not in cluster mode")
	}
	views := map[string][]topology.NodeInfo{}
	var errs []string
	var mu sync.Mutex
	asked := map[string]bool{}
	pending := c.candidates()
	for len(pending) > 0 {
		var wg sync.WaitGroup
		for _, addr := range pending {
			asked[addr] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				nodes, err := c.viewOf(ctx, addr)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err.Error())
					return
				}
				views[addr] = nodes
			}()
		}
		wg.Wait()
		pending = nil
		for _, nodes := range views {
			for _, n := range nodes {
				if a := c.mapAddr(n.Addr); a != "" && !asked[a] && !n.HasFlag("fail") {
					asked[a] = true
					pending = append(pending, a)
				}
			}
		}
	}
	if len(views) == 0 {
		return nil, fmt.Errorf("cluster: survey: no node answered: %v", errs)
	}
	t := topology.Merge(views)
	sort.Strings(errs)
	for _, e := range errs {
		t.Issues = append(t.Issues, "unreachable: "+e)
	}
	c.addHealth(ctx, t)
	return t, nil
}

func (c *Client) viewOf(ctx context.Context, addr string) ([]topology.NodeInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	v, _, err := c.node(addr).do(ctx, clusterNodesCmd, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	if v.Kind == resp.Error {
		return nil, fmt.Errorf("%s: CLUSTER NODES: %s", addr, v.Str)
	}
	return topology.ParseNodes(v.Text(), addr)
}

// addHealth fills each node's Health from the first node that answers CLUSTER SHARDS.
func (c *Client) addHealth(ctx context.Context, t *topology.Topology) {
	health := map[string]string{}
	for _, n := range t.Nodes {
		if n.Addr == "" || n.Failing() {
			continue
		}
		v, _, err := c.node(c.mapAddr(n.Addr)).do(ctx, clusterShardsCmd, false)
		if err != nil || v.Kind == resp.Error {
			continue
		}
		for _, shard := range v.Elems {
			for _, nv := range fields(shard)["nodes"].Elems {
				f := fields(nv)
				health[f["id"].Text()] = f["health"].Text()
			}
		}
		break
	}
	set := func(n *topology.NodeInfo) {
		if h, ok := health[n.ID]; ok {
			n.Health = h
		}
	}
	for i := range t.Nodes {
		set(&t.Nodes[i])
	}
	for i := range t.Shards {
		set(&t.Shards[i].Master)
		for j := range t.Shards[i].Replicas {
			set(&t.Shards[i].Replicas[j])
		}
	}
}

// Apply makes a topology (from Survey) the client's routing map.
func (c *Client) Apply(t *topology.Topology) { c.apply(t) }
