package localredis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rcli-dev/rcli/internal/resp"
	"github.com/rcli-dev/rcli/internal/topology"
)

const (
	// DefaultNodeTimeout is the --cluster-node-timeout StartCluster uses unless told.
	DefaultNodeTimeout = 2000 * time.Millisecond

	defaultClusterTimeout = 60 * time.Second      // bounds StartCluster and WaitHealthy without a deadline
	clusterPollInterval   = 25 * time.Millisecond // between cluster health checks
	clusterCmdTimeout     = time.Second           // one fixture command during the waits
	failureLogBytes       = 1500                  // per node, in a failed cluster start's error
)

// ClusterOptions says how to start a cluster. Options applies to every node, except
// that each node gets its own subdirectory of Dir (node-0, node-1, ...).
//
// With Options.TLSPort every node listens only for TLS (--tls-port P --port 0) and also
// runs its cluster bus and replication over TLS (--tls-cluster yes --tls-replication
// yes); the certificate arguments (--tls-cert-file, --tls-key-file, --tls-ca-cert-file)
// go in Options.Args, the server certificate must also be valid for client
// authentication (nodes present it to each other), and Options.TLSConfig is what the
// fixture uses to reach the nodes. Options.PlainPort adds a plain TCP port to each node
// (Server.PlainPort); the cluster still announces and uses the TLS ports, but answers
// CLUSTER NODES, CLUSTER SLOTS and redirects asked over plain TCP with the plain ports,
// as Redis does.
type ClusterOptions struct {
	Options
	// Masters is how many masters share the 16384 slots; at least 1.
	Masters int
	// ReplicasPerMaster is how many replicas each master gets.
	ReplicasPerMaster int
	// NodeTimeout is --cluster-node-timeout; zero means DefaultNodeTimeout.
	NodeTimeout time.Duration
}

// Cluster is a running cluster started by StartCluster.
type Cluster struct {
	// Nodes holds every node: first the masters, then the replicas, replica j of master
	// i at index Masters + i*ReplicasPerMaster + j. Roles may change after failovers;
	// SlotOwner and MasterOf tell the current ones.
	//
	// Nodes added by AddNode follow those StartCluster started.
	Nodes []*Server

	opts     ClusterOptions // with Binary and NodeTimeout filled in, for AddNode
	masters  int
	replicas int
	ids      []string // node id of Nodes[i]
	started  int      // nodes ever started, which numbers their directories
}

// StartCluster starts a cluster of Masters*(1+ReplicasPerMaster) nodes and returns once
// it is healthy: every node runs with --cluster-enabled yes, its own --cluster-port and
// nodes.conf; the masters get even shares of the slots (CLUSTER ADDSLOTSRANGE, as
// redis-cli assigns them), all nodes meet, replicas follow their masters (CLUSTER
// REPLICATE), and then StartCluster waits until every node reports cluster_state:ok,
// every node's CLUSTER NODES agrees on roles and slot owners, and every replica's link
// to its master is up. ctx bounds all of it (60 seconds when it has no deadline); on
// failure every node started is stopped.
func StartCluster(ctx context.Context, opts ClusterOptions) (*Cluster, error) {
	opts, err := opts.check("start cluster")
	if err != nil {
		return nil, err
	}
	ctx, cancel := withDefaultTimeout(ctx, defaultClusterTimeout)
	defer cancel()

	n := opts.Masters * (1 + opts.ReplicasPerMaster)
	c := &Cluster{opts: opts, masters: opts.Masters, replicas: opts.ReplicasPerMaster, ids: make([]string, n)}
	ok := false
	defer func() {
		if !ok {
			_ = c.Stop()
		}
	}()
	for range n {
		s, err := c.startNode(ctx)
		if err != nil {
			return nil, err
		}
		c.Nodes = append(c.Nodes, s)
	}
	conns := newConnCache()
	defer conns.closeAll()
	if err := c.build(ctx, conns); err != nil {
		return nil, c.withLogs(err)
	}
	if err := c.wait(ctx, conns, true); err != nil {
		return nil, c.withLogs(fmt.Errorf("localredis: start cluster: %w", err))
	}
	ok = true
	return c, nil
}

// startNode starts one more cluster-enabled server, in Dir/node-<n> where n counts the
// nodes this cluster has started, so a node never reuses another's nodes.conf.
func (c *Cluster) startNode(ctx context.Context) (*Server, error) {
	i := c.started
	c.started++
	timeout := strconv.FormatInt(c.opts.NodeTimeout.Milliseconds(), 10)
	tlsCluster := c.opts.TLSPort
	clusterArgs := func(s *Server, pick portPicker) ([]string, error) {
		bus, err := pick()
		if err != nil {
			return nil, err
		}
		s.BusPort = bus
		args := []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", timeout,
			"--cluster-port", strconv.Itoa(bus),
		}
		if tlsCluster {
			args = append(args, "--tls-cluster", "yes", "--tls-replication", "yes")
		}
		return args, nil
	}
	nodeOpts := c.opts.Options
	nodeOpts.Dir = filepath.Join(c.opts.Dir, "node-"+strconv.Itoa(i))
	if err := os.MkdirAll(nodeOpts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("localredis: start cluster node %d: %w", i, err)
	}
	s, err := start(ctx, nodeOpts, freePort, clusterArgs)
	if err != nil {
		return nil, fmt.Errorf("localredis: start cluster node %d: %w", i, err)
	}
	return s, nil
}

// build turns the started nodes into one cluster: ids, epochs, slots, MEET, REPLICATE.
func (c *Cluster) build(ctx context.Context, conns *connCache) error {
	do := func(s *Server, args ...string) (string, error) {
		v, err := conns.do(ctx, s, args...)
		if err != nil {
			return "", fmt.Errorf("localredis: start cluster: %w", err)
		}
		return v.Text(), nil
	}
	for i, s := range c.Nodes {
		id, err := do(s, "CLUSTER", "MYID")
		if err != nil {
			return err
		}
		c.ids[i] = id
		// Distinct epochs spare the nodes the collision-resolution dance, as in redis-cli.
		if _, err := do(s, "CLUSTER", "SET-CONFIG-EPOCH", strconv.Itoa(i+1)); err != nil {
			return err
		}
	}
	for i, r := range topology.EvenRanges(c.masters) {
		if _, err := do(c.Nodes[i], "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(r.Start), strconv.Itoa(r.End)); err != nil {
			return err
		}
	}
	for i, a := range c.Nodes {
		for _, b := range c.Nodes[i+1:] {
			if _, err := do(a, "CLUSTER", "MEET", loopbackHost, strconv.Itoa(b.Port), strconv.Itoa(b.BusPort)); err != nil {
				return err
			}
		}
	}
	if err := poll(ctx, func() error { return c.allMet(ctx, conns) }); err != nil {
		return fmt.Errorf("localredis: start cluster: nodes did not meet: %w", err)
	}
	for i := c.masters; i < len(c.Nodes); i++ {
		master := (i - c.masters) / max(c.replicas, 1)
		if _, err := do(c.Nodes[i], "CLUSTER", "REPLICATE", c.ids[master]); err != nil {
			return err
		}
	}
	return nil
}

// allMet reports nil once every node knows every other one by id, connected.
func (c *Cluster) allMet(ctx context.Context, conns *connCache) error {
	for _, s := range c.Nodes {
		view, err := c.view(ctx, conns, s)
		if err != nil {
			return err
		}
		if len(view) != len(c.Nodes) {
			return fmt.Errorf("node %s knows %d nodes, want %d", s.Addr, len(view), len(c.Nodes))
		}
		for _, id := range c.ids {
			n, ok := findNode(view, id)
			if !ok || n.LinkState != "connected" || n.HasFlag("handshake") || n.HasFlag("noaddr") {
				return fmt.Errorf("node %s does not see node %s connected yet", s.Addr, id)
			}
		}
	}
	return nil
}

// WaitHealthy waits until the live nodes (running and not paused) form a healthy
// cluster: each reports cluster_state:ok; each one's CLUSTER NODES lists every live node
// without fail flags, and all agree on every live node's role and on which master owns
// each slot; all 16384 slots belong to live masters; and every live replica's link to its
// master is up. Use it after a fault test (kill, pause, failover) before the next
// step. ctx bounds the wait (60 seconds when it has no deadline).
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	ctx, cancel := withDefaultTimeout(ctx, defaultClusterTimeout)
	defer cancel()
	conns := newConnCache()
	defer conns.closeAll()
	if err := c.wait(ctx, conns, false); err != nil {
		return fmt.Errorf("localredis: wait for a healthy cluster: %w", err)
	}
	return nil
}

// wait polls check until it passes or ctx ends.
func (c *Cluster) wait(ctx context.Context, conns *connCache, asBuilt bool) error {
	return poll(ctx, func() error { return c.check(ctx, conns, asBuilt) })
}

// check reports nil when the cluster is healthy, or what is not yet. With asBuilt,
// roles and slot owners must also be those StartCluster assigned.
func (c *Cluster) check(ctx context.Context, conns *connCache, asBuilt bool) error {
	var (
		refRoles  map[string]string
		refOwners []string
		refAddr   string
	)
	live := 0
	for _, s := range c.Nodes {
		if !s.Live() {
			continue
		}
		live++
		conn, err := conns.get(ctx, s)
		if err != nil {
			return err
		}
		info, err := conn.Do("CLUSTER", "INFO")
		if err != nil {
			conns.drop(s)
			return err
		}
		if state, _ := parseInfoField(info.Text(), "cluster_state"); state != "ok" {
			return fmt.Errorf("node %s: cluster_state:%s", s.Addr, state)
		}
		view, err := c.view(ctx, conns, s)
		if err != nil {
			return err
		}
		roles := make(map[string]string) // live node id -> master id, "" for a master
		for _, other := range c.Nodes {
			if !other.Live() {
				continue
			}
			id := c.ID(other)
			n, ok := findNode(view, id)
			switch {
			case !ok:
				return fmt.Errorf("node %s does not know node %s (%s)", s.Addr, other.Addr, id)
			case n.HasFlag("fail") || n.HasFlag("fail?") || n.HasFlag("handshake") || n.HasFlag("noaddr"):
				return fmt.Errorf("node %s sees node %s as %s", s.Addr, other.Addr, strings.Join(n.Flags, ","))
			case !n.Myself() && n.LinkState != "connected":
				return fmt.Errorf("node %s has no link to node %s", s.Addr, other.Addr)
			}
			roles[id] = n.MasterID
		}
		owners := make([]string, topology.SlotCount)
		for _, n := range view {
			if !n.IsMaster() {
				continue
			}
			for _, r := range n.Slots {
				for slot := r.Start; slot <= r.End; slot++ {
					owners[slot] = n.ID
				}
			}
		}
		checked := make(map[string]bool) // owner ids found to be live masters
		for slot, id := range owners {
			if checked[id] {
				continue
			}
			if owner := c.NodeByID(id); owner == nil || !owner.Live() || roles[id] != "" {
				return fmt.Errorf("node %s: slot %d is not served by a live master (owner %q)", s.Addr, slot, id)
			}
			checked[id] = true
		}
		if refRoles == nil {
			refRoles, refOwners, refAddr = roles, owners, s.Addr
		} else {
			for id, master := range roles {
				if refRoles[id] != master {
					return fmt.Errorf("nodes %s and %s disagree on the role of node %s", refAddr, s.Addr, id)
				}
			}
			for slot := range owners {
				if owners[slot] != refOwners[slot] {
					return fmt.Errorf("nodes %s and %s disagree on the owner of slot %d", refAddr, s.Addr, slot)
				}
			}
		}
		if self, ok := findNode(view, c.ID(s)); ok && !self.IsMaster() {
			repl, err := conn.Do("INFO", "replication")
			if err != nil {
				conns.drop(s)
				return err
			}
			if status, _ := parseInfoField(repl.Text(), "master_link_status"); status != "up" {
				return fmt.Errorf("replica %s: master_link_status:%s", s.Addr, status)
			}
		}
	}
	if live == 0 {
		return errors.New("no live node")
	}
	if asBuilt {
		return c.checkAsBuilt(refRoles, refOwners)
	}
	return nil
}

// checkAsBuilt compares an agreed view with the layout StartCluster assigned.
func (c *Cluster) checkAsBuilt(roles map[string]string, owners []string) error {
	for i, s := range c.Nodes[:c.masters*(1+c.replicas)] { // not those AddNode added
		want := ""
		if i >= c.masters {
			want = c.ids[(i-c.masters)/max(c.replicas, 1)]
		}
		if got, ok := roles[c.ids[i]]; !ok || got != want {
			return fmt.Errorf("node %s follows %q, want %q", s.Addr, got, want)
		}
	}
	for i, r := range topology.EvenRanges(c.masters) {
		for slot := r.Start; slot <= r.End; slot++ {
			if owners[slot] != c.ids[i] {
				return fmt.Errorf("slot %d is owned by %q, want %q", slot, owners[slot], c.ids[i])
			}
		}
	}
	return nil
}

// view returns s's CLUSTER NODES through the cache.
func (c *Cluster) view(ctx context.Context, conns *connCache, s *Server) ([]topology.NodeInfo, error) {
	conn, err := conns.get(ctx, s)
	if err != nil {
		return nil, err
	}
	v, err := conn.Do("CLUSTER", "NODES")
	if err != nil {
		conns.drop(s)
		return nil, err
	}
	return topology.ParseNodes(v.Text(), s.Addr)
}

// View returns the cluster as node s sees it (its CLUSTER NODES reply).
func (c *Cluster) View(ctx context.Context, s *Server) ([]topology.NodeInfo, error) {
	conns := newConnCache()
	defer conns.closeAll()
	return c.view(ctx, conns, s)
}

// liveView returns the view of the first live node that answers.
func (c *Cluster) liveView(ctx context.Context) ([]topology.NodeInfo, error) {
	conns := newConnCache()
	defer conns.closeAll()
	var errs []error
	for _, s := range c.Nodes {
		if !s.Live() {
			continue
		}
		view, err := c.view(ctx, conns, s)
		if err == nil {
			return view, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, errors.New("localredis: no live cluster node")
	}
	return nil, errors.Join(errs...)
}

// SlotOwner returns the master that serves slot, as the first live node that answers
// sees it. Call WaitHealthy first when the topology may be changing.
func (c *Cluster) SlotOwner(ctx context.Context, slot int) (*Server, error) {
	if slot < 0 || slot >= topology.SlotCount {
		return nil, fmt.Errorf("localredis: slot %d out of range", slot)
	}
	view, err := c.liveView(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range view {
		if n.IsMaster() && n.Owns(slot) {
			if s := c.NodeByID(n.ID); s != nil {
				return s, nil
			}
			return nil, fmt.Errorf("localredis: slot %d is owned by unknown node %s", slot, n.ID)
		}
	}
	return nil, fmt.Errorf("localredis: slot %d has no owner", slot)
}

// MasterOf returns the master that replica follows, as the first live node that
// answers sees it.
func (c *Cluster) MasterOf(ctx context.Context, replica *Server) (*Server, error) {
	id := c.ID(replica)
	if id == "" {
		return nil, fmt.Errorf("localredis: %s is not a node of this cluster", replica.Addr)
	}
	view, err := c.liveView(ctx)
	if err != nil {
		return nil, err
	}
	n, ok := findNode(view, id)
	switch {
	case !ok:
		return nil, fmt.Errorf("localredis: node %s is unknown to the cluster", replica.Addr)
	case n.MasterID == "":
		return nil, fmt.Errorf("localredis: node %s is a master", replica.Addr)
	}
	if m := c.NodeByID(n.MasterID); m != nil {
		return m, nil
	}
	return nil, fmt.Errorf("localredis: node %s follows unknown node %s", replica.Addr, n.MasterID)
}

// Masters returns the nodes StartCluster made masters (not those AddNode added).
func (c *Cluster) Masters() []*Server {
	return c.Nodes[:c.masters:c.masters]
}

// Replicas returns the nodes StartCluster made replicas (not those AddNode added).
func (c *Cluster) Replicas() []*Server {
	end := c.masters * (1 + c.replicas)
	return c.Nodes[c.masters:end:end]
}

// Addrs returns the "ip:port" addresses of all nodes, in the order of Nodes.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		addrs[i] = s.Addr
	}
	return addrs
}

// ID returns the cluster node id of s, or "" when s is not a node of c.
func (c *Cluster) ID(s *Server) string {
	for i, n := range c.Nodes {
		if n == s {
			return c.ids[i]
		}
	}
	return ""
}

// NodeByID returns the node with the given cluster node id, or nil.
func (c *Cluster) NodeByID(id string) *Server {
	for i, n := range c.Nodes {
		if c.ids[i] == id && id != "" {
			return n
		}
	}
	return nil
}

// NodeByAddr returns the node listening on addr ("ip:port"), or nil.
func (c *Cluster) NodeByAddr(addr string) *Server {
	for _, n := range c.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	return nil
}

// Stop stops every node at once (see Server.Stop) and waits for all of them.
func (c *Cluster) Stop() error {
	errs := make([]error, len(c.Nodes))
	var wg sync.WaitGroup
	for i, s := range c.Nodes {
		wg.Go(func() { errs[i] = s.Stop() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// withLogs appends the tail of every node's log to a start failure.
func (c *Cluster) withLogs(err error) error {
	var b strings.Builder
	for _, s := range c.Nodes {
		fmt.Fprintf(&b, "\n--- %s (%s) ---\n%s", s.Addr, s.LogPath, s.logTail(failureLogBytes))
	}
	return fmt.Errorf("%w%s", err, b.String())
}

// findNode returns the entry for id in view.
func findNode(view []topology.NodeInfo, id string) (topology.NodeInfo, bool) {
	for _, n := range view {
		if n.ID == id {
			return n, true
		}
	}
	return topology.NodeInfo{}, false
}

// poll calls check every clusterPollInterval until it returns nil or ctx ends, and
// then reports ctx's error with the last thing check complained about.
func poll(ctx context.Context, check func() error) error {
	ticker := time.NewTicker(clusterPollInterval)
	defer ticker.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last check: %v", ctx.Err(), err)
		case <-ticker.C:
		}
	}
}

// connCache keeps one fixture connection per node across polls.
type connCache struct {
	conns   map[*Server]*RawConn
	timeout time.Duration // RawConn.Timeout of new connections
}

// newConnCache returns an empty cache whose connections time out after
// clusterCmdTimeout; closeAll releases it.
func newConnCache() *connCache {
	return &connCache{conns: make(map[*Server]*RawConn), timeout: clusterCmdTimeout}
}

// get returns the open connection to s, dialing one if needed.
func (cc *connCache) get(ctx context.Context, s *Server) (*RawConn, error) {
	if c, ok := cc.conns[s]; ok {
		return c, nil
	}
	ctx, cancel := context.WithTimeout(ctx, clusterCmdTimeout)
	defer cancel()
	c, err := s.Dial(ctx)
	if err != nil {
		return nil, err
	}
	c.Timeout = cc.timeout
	cc.conns[s] = c
	return c, nil
}

// do sends one command to s over the cached connection. After an error that is not a
// server's error reply the connection is dropped, since its state is unknown.
func (cc *connCache) do(ctx context.Context, s *Server, args ...string) (resp.Value, error) {
	conn, err := cc.get(ctx, s)
	if err != nil {
		return resp.Value{}, err
	}
	v, err := conn.Do(args...)
	if err != nil {
		var se *resp.ServerError
		if !errors.As(err, &se) {
			cc.drop(s)
		}
		return v, err
	}
	return v, nil
}

// drop closes and forgets the connection to s, after an error.
func (cc *connCache) drop(s *Server) {
	if c, ok := cc.conns[s]; ok {
		c.Close()
		delete(cc.conns, s)
	}
}

// closeAll closes every connection.
func (cc *connCache) closeAll() {
	for s := range cc.conns {
		cc.drop(s)
	}
}

// check validates the options and fills in the node timeout and the binary; op names
// the operation in errors.
func (opts ClusterOptions) check(op string) (ClusterOptions, error) {
	if opts.Masters < 1 || opts.Masters > topology.SlotCount {
		return opts, fmt.Errorf("localredis: %s: %d masters, want 1 to %d", op, opts.Masters, topology.SlotCount)
	}
	if opts.ReplicasPerMaster < 0 {
		return opts, fmt.Errorf("localredis: %s: %d replicas per master", op, opts.ReplicasPerMaster)
	}
	if opts.Dir == "" {
		return opts, fmt.Errorf("localredis: %s: Options.Dir is required", op)
	}
	if opts.NodeTimeout <= 0 {
		opts.NodeTimeout = DefaultNodeTimeout
	}
	if opts.Binary == "" {
		bin, err := FindBinary()
		if err != nil {
			return opts, err
		}
		opts.Binary = bin
	}
	return opts, nil
}
