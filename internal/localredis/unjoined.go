package localredis

import (
	"context"
	"fmt"
)

// StartNodes starts Masters*(1+ReplicasPerMaster) cluster-enabled nodes, as
// StartCluster does, but does not join them: each is an empty master that knows only
// itself, ready for a cluster manager (rcli --cluster create) to build the cluster. The
// returned Cluster knows every node's ID, so once the nodes are joined WaitHealthy,
// SlotOwner and MasterOf work as for a cluster StartCluster built; Masters and Replicas
// are only the first Masters nodes and the rest, whatever roles the manager gave them.
// ctx bounds the starts (60 seconds when it has no deadline); on failure every node
// started is stopped.
func StartNodes(ctx context.Context, opts ClusterOptions) (*Cluster, error) {
	opts, err := opts.check("start nodes")
	if err != nil {
		return nil, err
	}
	ctx, cancel := withDefaultTimeout(ctx, defaultClusterTimeout)
	defer cancel()
	c := &Cluster{opts: opts, masters: opts.Masters, replicas: opts.ReplicasPerMaster}
	ok := false
	defer func() {
		if !ok {
			_ = c.Stop()
		}
	}()
	for range opts.Masters * (1 + opts.ReplicasPerMaster) {
		if _, err := c.StartNode(ctx); err != nil {
			return nil, err
		}
	}
	ok = true
	return c, nil
}

// StartNode starts one more cluster-enabled node with the options the cluster was
// started with (its own ports and subdirectory of Dir) and does not join it: it is an
// empty master that knows only itself, for a test of rcli --cluster add-node. It is
// appended to Nodes (but not to Masters or Replicas), its ID is known, and Stop stops
// it. Until it joins, WaitHealthy waits for it like for any live node.
//
// StartNode, like the other methods that change the cluster, must not run concurrently
// with other calls on c.
func (c *Cluster) StartNode(ctx context.Context) (*Server, error) {
	ctx, cancel := withDefaultTimeout(ctx, defaultClusterTimeout)
	defer cancel()
	s, err := c.startNode(ctx)
	if err != nil {
		return nil, err
	}
	conns := newConnCache()
	defer conns.closeAll()
	id, err := conns.do(ctx, s, "CLUSTER", "MYID")
	if err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("localredis: start node %s: %w", s.Addr, err)
	}
	c.Nodes = append(c.Nodes, s)
	c.ids = append(c.ids, id.Text())
	return s, nil
}
