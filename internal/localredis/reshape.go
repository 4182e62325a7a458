package localredis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rcli-dev/rcli/internal/topology"
)

const (
	migrateBatch   = 100  // keys per MIGRATE in MoveSlot
	migrateTimeout = 5000 // MIGRATE's own I/O timeout between the nodes, in milliseconds
)

// AddNodeOption changes what AddNode does with the node it adds.
type AddNodeOption func(*addNodeConfig)

// addNodeConfig collects the AddNodeOptions.
type addNodeConfig struct {
	master *Server // the master to follow, nil for a master
}

// ReplicaOf makes AddNode turn the new node into a replica of master (CLUSTER
// REPLICATE) and wait until its replication link is up.
func ReplicaOf(master *Server) AddNodeOption {
	return func(cfg *addNodeConfig) { cfg.master = master }
}

// AddNode starts one more cluster-enabled node with the options the cluster was started
// with (node timeout, TLS, password, Args), its own ports and its own subdirectory of
// Dir, and joins it to the cluster with CLUSTER MEET. Without options it stays an empty
// master (no slots; see MoveSlot); with ReplicaOf it follows the given master. AddNode
// returns once the cluster is healthy as WaitHealthy defines it, so every live node
// knows the new one and, for a replica, its link to its master is up. The node is
// appended to Nodes (but not to Masters or Replicas) and stopped by Stop. ctx bounds
// all of it (60 seconds when it has no deadline); on failure the new node is stopped
// and Nodes is left as it was.
//
// AddNode, like the other methods that change the cluster, must not run concurrently
// with other calls on c.
func (c *Cluster) AddNode(ctx context.Context, opts ...AddNodeOption) (*Server, error) {
	var cfg addNodeConfig
	for _, o := range opts {
		o(&cfg)
	}
	var masterID string
	if cfg.master != nil {
		if masterID = c.ID(cfg.master); masterID == "" {
			return nil, fmt.Errorf("localredis: add node: %s is not a node of this cluster", cfg.master.Addr)
		}
	}
	ctx, cancel := withDefaultTimeout(ctx, defaultClusterTimeout)
	defer cancel()
	s, err := c.startNode(ctx)
	if err != nil {
		return nil, fmt.Errorf("localredis: add node: %w", err)
	}
	prevNodes, prevIDs := c.Nodes, c.ids
	c.Nodes = append(c.Nodes[:len(c.Nodes):len(c.Nodes)], s)
	c.ids = append(c.ids[:len(c.ids):len(c.ids)], "")
	ok := false
	defer func() {
		if !ok {
			_ = s.Stop()
			c.Nodes, c.ids = prevNodes, prevIDs
		}
	}()

	conns := newConnCache()
	defer conns.closeAll()
	if err := c.join(ctx, conns, s, masterID); err != nil {
		return nil, fmt.Errorf("localredis: add node %s: %w\n--- %s (%s) ---\n%s", s.Addr, err, s.Addr, s.LogPath, s.logTail(failureLogBytes))
	}
	ok = true
	return s, nil
}

// join introduces the new node s, the last of c.Nodes, to every live node, makes it
// follow masterID unless that is empty, and waits for a healthy cluster.
func (c *Cluster) join(ctx context.Context, conns *connCache, s *Server, masterID string) error {
	id, err := conns.do(ctx, s, "CLUSTER", "MYID")
	if err != nil {
		return err
	}
	c.ids[len(c.ids)-1] = id.Text()
	for _, other := range c.Nodes[:len(c.Nodes)-1] {
		if !other.Live() {
			continue
		}
		if _, err := conns.do(ctx, s, "CLUSTER", "MEET", loopbackHost, strconv.Itoa(other.Port), strconv.Itoa(other.BusPort)); err != nil {
			return err
		}
	}
	if masterID != "" {
		// REPLICATE needs the master to be known, as a master, to the new node.
		err := poll(ctx, func() error {
			view, err := c.view(ctx, conns, s)
			if err != nil {
				return err
			}
			if m, ok := findNode(view, masterID); !ok || !m.IsMaster() || m.HasFlag("handshake") {
				return fmt.Errorf("node %s does not know master %s yet", s.Addr, masterID)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if _, err := conns.do(ctx, s, "CLUSTER", "REPLICATE", masterID); err != nil {
			return err
		}
	}
	if err := c.wait(ctx, conns, false); err != nil {
		return fmt.Errorf("wait for a healthy cluster: %w", err)
	}
	return nil
}

// MoveSlot moves slot, with its keys, from the master that serves it to the master to,
// the way redis-cli --cluster reshard does: CLUSTER SETSLOT IMPORTING on to and
// MIGRATING on the owner, MIGRATE of the keys in batches (the KEYS form, over TLS when
// the cluster uses TLS), then CLUSTER SETSLOT NODE on to, on the old owner and on every
// other live master. It returns once every live node agrees that to serves slot, and
// at once when to already does. It is a fixture helper: a failure may leave the slot
// importing or migrating. ctx bounds all of it (60 seconds when it has no deadline).
func (c *Cluster) MoveSlot(ctx context.Context, slot int, to *Server) error {
	if slot < 0 || slot >= topology.SlotCount {
		return fmt.Errorf("localredis: move slot %d: out of range", slot)
	}
	toID := c.ID(to)
	if toID == "" {
		return fmt.Errorf("localredis: move slot %d: %s is not a node of this cluster", slot, to.Addr)
	}
	ctx, cancel := withDefaultTimeout(ctx, defaultClusterTimeout)
	defer cancel()
	conns := newConnCache()
	defer conns.closeAll()
	if d, ok := ctx.Deadline(); ok {
		conns.timeout = time.Until(d) // MIGRATE may take a while on a busy machine
	}
	if err := c.moveSlot(ctx, conns, slot, to, toID); err != nil {
		return fmt.Errorf("localredis: move slot %d to %s: %w", slot, to.Addr, err)
	}
	return nil
}

// moveSlot does the work of MoveSlot.
func (c *Cluster) moveSlot(ctx context.Context, conns *connCache, slot int, to *Server, toID string) error {
	view, err := c.view(ctx, conns, to)
	if err != nil {
		return err
	}
	if self, ok := findNode(view, toID); !ok || !self.IsMaster() {
		return errors.New("the target is not a master")
	}
	var from *Server
	for _, n := range view {
		if n.IsMaster() && n.Owns(slot) {
			if n.ID == toID {
				return nil
			}
			if from = c.NodeByID(n.ID); from == nil || !from.Live() {
				return fmt.Errorf("the owner %s is not a live node of this cluster", n.ID)
			}
		}
	}
	if from == nil {
		return errors.New("the slot has no owner")
	}
	fromID := c.ID(from)
	s := strconv.Itoa(slot)
	if _, err := conns.do(ctx, to, "CLUSTER", "SETSLOT", s, "IMPORTING", fromID); err != nil {
		return err
	}
	if _, err := conns.do(ctx, from, "CLUSTER", "SETSLOT", s, "MIGRATING", toID); err != nil {
		return err
	}
	if err := c.migrateKeys(ctx, conns, slot, from, to); err != nil {
		return err
	}
	// The new owner first, so that it never redirects back; then the old one.
	targets := []*Server{to, from}
	for _, n := range view {
		if m := c.NodeByID(n.ID); m != nil && m != to && m != from && m.Live() && n.IsMaster() {
			targets = append(targets, m)
		}
	}
	for _, m := range targets {
		if _, err := conns.do(ctx, m, "CLUSTER", "SETSLOT", s, "NODE", toID); err != nil {
			return err
		}
	}
	err = poll(ctx, func() error {
		for _, n := range c.Nodes {
			if !n.Live() {
				continue
			}
			view, err := c.view(ctx, conns, n)
			if err != nil {
				return err
			}
			owner, ok := findNode(view, toID)
			if !ok || !owner.Owns(slot) {
				return fmt.Errorf("node %s does not see the slot served by %s yet", n.Addr, to.Addr)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("wait for the nodes to agree: %w", err)
	}
	return nil
}

// migrateKeys moves every key of slot from from to to, migrateBatch keys at a time.
func (c *Cluster) migrateKeys(ctx context.Context, conns *connCache, slot int, from, to *Server) error {
	var auth []string
	switch {
	case c.opts.Password != "" && c.opts.User != "":
		auth = []string{"AUTH2", c.opts.User, c.opts.Password}
	case c.opts.Password != "":
		auth = []string{"AUTH", c.opts.Password}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := conns.do(ctx, from, "CLUSTER", "GETKEYSINSLOT", strconv.Itoa(slot), strconv.Itoa(migrateBatch))
		if err != nil {
			return err
		}
		if len(v.Elems) == 0 {
			return nil
		}
		args := []string{"MIGRATE", loopbackHost, strconv.Itoa(to.Port), "", "0", strconv.Itoa(migrateTimeout)}
		args = append(args, auth...)
		args = append(args, "KEYS")
		for _, k := range v.Elems {
			args = append(args, k.Text())
		}
		if _, err := conns.do(ctx, from, args...); err != nil {
			return err
		}
	}
}
