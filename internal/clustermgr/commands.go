package clustermgr

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rcli-dev/rcli/internal/resp"
)

// joinQuietWait bounds how long add-node waits, silently, for a new master to agree
// with the cluster and see it healthy before returning.
const joinQuietWait = 10 * time.Second

// create makes a cluster of empty nodes: it plans slots and replicas, asks, assigns
// slots, gives every node its own config epoch, sends CLUSTER MEET, waits for the nodes
// to agree, makes the replicas replicate and checks the result.
func (m *Manager) create(ctx context.Context, args []string) bool {
	var nodes []*Node
	for _, addr := range args {
		host, port, bus, ok := ParseHostPort(addr)
		if !ok {
			m.errorf("Invalid address format: %s\n", addr)
			return false
		}
		n := NewNode(host, port)
		n.BusPort = bus
		isCluster, errMsg, err := m.isCluster(ctx, n)
		if err != nil {
			m.connError(n, err)
			return false
		}
		if !isCluster {
			m.notClusterError(n, errMsg)
			return false
		}
		if _, errMsg, err := m.loadNode(ctx, n, false); err != nil || errMsg != "" {
			if err != nil {
				m.connError(n, err)
			} else {
				m.replyError(n, errMsg)
			}
			return false
		}
		empty, errMsg, err := m.isEmpty(ctx, n)
		if err != nil {
			m.connError(n, err)
			return false
		}
		if !empty {
			if errMsg == "" {
				errMsg = "is not empty. Either the node already knows other nodes (check with CLUSTER NODES) or contains some key in database 0."
			}
			m.logf(lvlErr, "[ERR] Node %s %s\n", n.Name(), errMsg)
			return false
		}
		nodes = append(nodes, n)
	}
	m.nodes = nodes
	replicas := max(m.opts.Replicas, 0)
	if len(nodes)/(replicas+1) < 3 {
		m.logf(lvlErr, "*** ERROR: Invalid configuration for cluster creation.\n"+
			"*** Redis Cluster requires at least 3 master nodes.\n"+
			"*** This is not possible with %d nodes and %d replicas per node.", len(nodes), replicas)
		m.logf(lvlErr, "\n*** At least %d nodes are required.\n", 3*(replicas+1))
		return false
	}
	m.logf(lvlInfo, ">>> Performing hash slots allocation on %d nodes...\n", len(nodes))
	lines, err := PlanCreate(nodes, replicas)
	if err != nil {
		m.logf(lvlErr, "%v\n", err)
		return false
	}
	for _, l := range lines {
		m.printf("%s\n", l)
	}
	if before, after := OptimizeAntiAffinity(nodes, m.opts.Rand); before != 0 {
		m.logf(lvlInfo, ">>> Trying to optimize slaves allocation for anti-affinity\n")
		msg, perfect := AntiAffinityMessage(after)
		if perfect {
			m.logf(lvlOK, "%s\n", msg)
		} else {
			m.logf(lvlWarn, "%s\n", msg)
		}
	}
	m.showNodes()
	if !m.confirm("Can I set the above configuration?", false) {
		return true // as redis-cli: declining is not a failure
	}
	// Masters get their slots now; replicas cannot replicate a master they do not know
	// yet, so they stay dirty until the nodes have met.
	for _, n := range nodes {
		if !n.Dirty || n.Replicate != "" {
			continue
		}
		if !m.addSlots(ctx, n) {
			return false
		}
		n.Dirty = false
	}
	m.logf(lvlInfo, ">>> Nodes configuration updated\n")
	m.logf(lvlInfo, ">>> Assign a different config epoch to each node\n")
	for i, n := range nodes {
		_, _ = m.do(ctx, n, "CLUSTER", "SET-CONFIG-EPOCH", itoa(i+1))
	}
	m.logf(lvlInfo, ">>> Sending CLUSTER MEET messages to join the cluster\n")
	first := nodes[0]
	for _, n := range nodes[1:] {
		if !m.meet(ctx, n, first) {
			return false
		}
	}
	if !m.waitForJoin(ctx) {
		return false
	}
	for _, n := range nodes {
		if !n.Dirty || n.Replicate == "" {
			continue
		}
		if !m.doOK(ctx, n, "CLUSTER", "REPLICATE", n.Replicate) {
			return false
		}
		n.Dirty = false
	}
	m.nodes = nil
	if !m.loadCluster(ctx, first.Host, first.Port) {
		return false
	}
	m.checkCluster(ctx, false, false)
	return true
}

// addSlots sends CLUSTER ADDSLOTS with every slot of n.
func (m *Manager) addSlots(ctx context.Context, n *Node) bool {
	args := []string{"CLUSTER", "ADDSLOTS"}
	for s, owned := range n.Slots {
		if owned {
			args = append(args, itoa(s))
		}
	}
	if len(args) == 2 {
		return false
	}
	return m.doOK(ctx, n, args...)
}

// meet sends CLUSTER MEET to n with first's address, and its bus port when known, so
// that nodes with a cluster-port other than port+10000 can join.
func (m *Manager) meet(ctx context.Context, n, first *Node) bool {
	args := []string{"CLUSTER", "MEET", first.Host, itoa(first.Port)}
	if first.BusPort > 0 {
		args = append(args, itoa(first.BusPort))
	}
	v, err := m.do(ctx, n, args...)
	if err != nil {
		m.connError(n, err)
		m.errorf("Failed to send CLUSTER MEET command.\n")
		return false
	}
	if v.Kind == resp.Error {
		m.replyError(n, string(v.Str))
		return false
	}
	return true
}

// addNode adds an empty node to the cluster, as a master or (with --cluster-slave) as a
// replica of --cluster-master-id or of the master with the fewest replicas.
func (m *Manager) addNode(ctx context.Context, args []string) bool {
	refHost, refPort, ok1 := hostFromArgs(args[1:])
	host, port, ok2 := hostFromArgs(args[:1])
	if !ok1 || !ok2 {
		m.errorf("%s", invalidHostArg)
		return false
	}
	m.logf(lvlInfo, ">>> Adding node %s:%d to cluster %s:%d\n", host, port, refHost, refPort)
	if !m.loadCluster(ctx, refHost, refPort) || !m.checkCluster(ctx, false, false) {
		return false
	}
	var master *Node
	if m.opts.Slave {
		if m.opts.MasterID != "" {
			if master = m.nodeByID(m.opts.MasterID); master == nil {
				m.logf(lvlErr, "[ERR] No such master ID %s\n", m.opts.MasterID)
				return false
			}
		} else {
			master = m.masterWithLeastReplicas()
			m.printf("Automatically selected master %s\n", master.Name())
		}
	}
	n := NewNode(host, port)
	isCluster, errMsg, err := m.isCluster(ctx, n)
	if err != nil {
		m.connError(n, err)
		m.logf(lvlErr, "[ERR] Sorry, can't connect to node %s:%d\n", host, port)
		return false
	}
	if !isCluster {
		m.notClusterError(n, errMsg)
		return false
	}
	if _, errMsg, err := m.loadNode(ctx, n, false); err != nil || errMsg != "" {
		if err != nil {
			m.connError(n, err)
		} else {
			m.replyError(n, errMsg)
		}
		return false
	}
	empty, errMsg, err := m.isEmpty(ctx, n)
	if err != nil || !empty {
		if errMsg == "" {
			errMsg = "is not empty. Either the node already knows other nodes (check with CLUSTER NODES) or contains some key in database 0."
		}
		m.logf(lvlErr, "[ERR] Node %s %s\n", n.Name(), errMsg)
		return false
	}
	first := m.nodes[0]
	m.nodes = append(m.nodes, n)
	m.logf(lvlInfo, ">>> Send CLUSTER MEET to node %s:%d to make it join the cluster.\n", host, port)
	if !m.meet(ctx, n, first) {
		return false
	}
	if master != nil {
		if !m.waitForJoin(ctx) {
			return false
		}
		m.logf(lvlInfo, ">>> Configure node as replica of %s.\n", master.Name())
		if !m.doOK(ctx, n, "CLUSTER", "REPLICATE", master.ID) {
			return false
		}
	} else {
		// redis-cli returns at once; waiting (quietly, briefly) until the new node agrees
		// with the others lets a script rebalance right after.
		deadline := time.Now().Add(joinQuietWait)
		for !(m.consistent(ctx) && m.stateOK(ctx, n)) && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(joinPoll)
		}
	}
	m.logf(lvlOK, "[OK] New node added correctly.\n")
	return true
}

// stateOK reports whether n says cluster_state:ok.
func (m *Manager) stateOK(ctx context.Context, n *Node) bool {
	v, err := m.do(ctx, n, "CLUSTER", "INFO")
	return err == nil && v.Kind != resp.Error && infoField(v.Text(), "cluster_state") == "ok"
}

// delNode removes an empty node: its replicas move to another master, every other node
// forgets it, and it is reset.
func (m *Manager) delNode(ctx context.Context, args []string) bool {
	host, port, ok := hostFromArgs(args[:1])
	if !ok {
		m.errorf("%s", invalidHostArg)
		return false
	}
	id := args[1]
	m.logf(lvlInfo, ">>> Removing node %s from cluster %s:%d\n", id, host, port)
	if !m.loadCluster(ctx, host, port) {
		return false
	}
	node := m.nodeByID(id)
	if node == nil {
		m.logf(lvlErr, "[ERR] No such node ID %s\n", id)
		return false
	}
	if node.SlotsCount != 0 {
		m.logf(lvlErr, "[ERR] Node %s is not empty! Reshard data away and try again.\n", node.Name())
		return false
	}
	m.logf(lvlInfo, ">>> Sending CLUSTER FORGET messages to the cluster...\n")
	for _, n := range m.nodes {
		if n == node {
			continue
		}
		if strings.EqualFold(n.Replicate, node.ID) {
			var master *Node
			for _, c := range m.nodes {
				if c != node && !c.IsReplica() && (master == nil || c.ReplicasCount < master.ReplicasCount) {
					master = c
				}
			}
			if master == nil {
				m.logf(lvlErr, "[ERR] No master left for replica %s\n", n.Name())
				return false
			}
			m.logf(lvlInfo, ">>> %s as replica of %s\n", n.Name(), master.Name())
			if !m.doOK(ctx, n, "CLUSTER", "REPLICATE", master.ID) {
				return false
			}
			master.ReplicasCount++
		}
		if !m.doOK(ctx, n, "CLUSTER", "FORGET", node.ID) {
			return false
		}
	}
	m.logf(lvlInfo, ">>> Sending CLUSTER RESET SOFT to the deleted node.\n")
	return m.doOK(ctx, node, "CLUSTER", "RESET", "SOFT")
}

// call runs a command on every node (or only masters or replicas) and prints each
// node's reply, or with --json one JSON array of {"node", "id", "role", "reply"}.
func (m *Manager) call(ctx context.Context, args []string) bool {
	host, port, ok := hostFromArgs(args[:1])
	if !ok {
		m.errorf("%s", invalidHostArg)
		return false
	}
	if !m.loadCluster(ctx, host, port) {
		return false
	}
	cmd := resp.NewCommand(args[1:]...)
	if !m.opts.JSON {
		m.logf(lvlInfo, ">>> Calling")
		m.printf(" %s\n", strings.Join(args[1:], " "))
	}
	var targets []*Node
	for _, n := range m.nodes {
		if (m.opts.OnlyMasters && n.IsReplica()) || (m.opts.OnlyReplicas && !n.IsReplica()) {
			continue
		}
		targets = append(targets, n)
	}
	type result struct {
		v   resp.Value
		err error
	}
	results := make([]result, len(targets))
	var wg sync.WaitGroup
	for i, n := range targets {
		wg.Go(func() {
			v, err := m.doCmd(ctx, n, cmd)
			results[i] = result{v, err}
		})
	}
	wg.Wait()
	if m.opts.JSON {
		var b strings.Builder
		b.WriteByte('[')
		for i, n := range targets {
			if i > 0 {
				b.WriteByte(',')
			}
			role := "master"
			if n.IsReplica() {
				role = "replica"
			}
			fmt.Fprintf(&b, "{\"node\":%s,\"id\":%s,\"role\":%q,", jsonString(n.Name()), jsonString(n.ID), role)
			if results[i].err != nil {
				fmt.Fprintf(&b, "\"error\":%s}", jsonString(results[i].err.Error()))
				continue
			}
			fmt.Fprintf(&b, "\"reply\":%s}", strings.TrimRight(m.opts.FormatJSON(results[i].v), "\n"))
		}
		b.WriteString("]\n")
		m.printf("%s", b.String())
		return true
	}
	for i, n := range targets {
		if results[i].err != nil {
			m.printf("%s: Failed!\n", n.Name())
			continue
		}
		m.printf("%s: %s\n", n.Name(), m.opts.FormatRaw(results[i].v))
	}
	return true
}

// jsonString quotes s as a JSON string.
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// setTimeout sets cluster-node-timeout on every node and rewrites each configuration.
func (m *Manager) setTimeout(ctx context.Context, args []string) bool {
	host, port, ok := hostFromArgs(args[:1])
	if !ok {
		m.errorf("%s", invalidHostArg)
		return false
	}
	timeout := atoi(args[1])
	if timeout < 100 {
		m.errorf("Setting a node timeout of less than 100 milliseconds is a bad idea.\n")
		return false
	}
	if !m.loadCluster(ctx, host, port) {
		return false
	}
	okCount, errCount := 0, 0
	m.logf(lvlInfo, ">>> Reconfiguring node timeout in every cluster node...\n")
	for _, n := range m.nodes {
		errMsg := ""
		for _, cmd := range [][]string{{"CONFIG", "SET", "cluster-node-timeout", itoa(timeout)}, {"CONFIG", "REWRITE"}} {
			v, err := m.do(ctx, n, cmd...)
			switch {
			case err != nil:
				errMsg = err.Error()
			case v.Kind == resp.Error:
				errMsg = string(v.Str)
			}
			if errMsg != "" {
				break
			}
		}
		if errMsg != "" {
			m.logf(lvlErr, "ERR setting node-timeot for %s: %s\n", n.Name(), errMsg)
			errCount++
			continue
		}
		m.logf(lvlWarn, "*** New timeout set for %s\n", n.Name())
		okCount++
	}
	m.logf(lvlInfo, ">>> New node timeout set. %d OK, %d ERR.\n", okCount, errCount)
	return true
}

// help prints the list of subcommands and their options, as redis-cli does (on
// stdout), and fails, as redis-cli's does.
func (m *Manager) help(context.Context, []string) bool {
	var b strings.Builder
	b.WriteString("Cluster Manager Commands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-15s%s\n", c.name, c.args)
		for _, o := range c.opts {
			fmt.Fprintf(&b, "%15s  --cluster-%s\n", "", o)
		}
	}
	b.WriteString("\nFor check, fix, reshard, del-node, set-timeout, info, rebalance, call, import, backup you can specify the host and port of any working node in the cluster.\n")
	b.WriteString("\nCluster Manager Options:\n")
	fmt.Fprintf(&b, "  %-15s%s\n", "--cluster-yes", "Automatic yes to cluster commands prompts")
	b.WriteString("\n")
	m.printf("%s", b.String())
	return false
}
