package clustermgr

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rcli-dev/rcli/internal/resp"
)

// clusterDownWait bounds how long a MIGRATE refused with CLUSTERDOWN or TRYAGAIN is
// retried.
const clusterDownWait = 15 * time.Second

// moveOpts change what moveSlot does.
type moveOpts uint8

const (
	moveVerbose moveOpts = 1 << iota // print a dot for every key moved
	moveCold                         // move the keys only: no SETSLOT before or after
	moveUpdate                       // update the nodes' Slots
	moveQuiet                        // no "Moving slot" line
)

// moveSlot moves slot and its keys from src to dst as redis-cli's
// clusterManagerMoveSlot does: SETSLOT IMPORTING on dst and MIGRATING on src, the keys
// with MIGRATE, then SETSLOT NODE on every master (dst first, then src, then the
// others at once).
func (m *Manager) moveSlot(ctx context.Context, src, dst *Node, slot int, opts moveOpts) bool {
	if opts&moveQuiet == 0 {
		m.printf("Moving slot %d from %s to %s: ", slot, src.Name(), dst.Name())
	}
	if opts&moveCold == 0 {
		if !m.setSlot(ctx, dst, src, slot, "importing") || !m.setSlot(ctx, src, dst, slot, "migrating") {
			return false
		}
	}
	ok := m.migrateKeysInSlot(ctx, src, dst, slot, opts&moveVerbose != 0)
	if opts&moveQuiet == 0 {
		m.printf("\n")
	}
	if !ok {
		return false
	}
	if opts&moveCold == 0 {
		// The new owner and the bystanders first, at once; the old owner last, so that
		// it never redirects clients to a node that does not know it owns the slot yet.
		var first []*Node
		for _, n := range m.nodes {
			if n != src && !n.IsReplica() {
				first = append(first, n)
			}
		}
		if !m.findNode(dst, first) {
			first = append([]*Node{dst}, first...)
		}
		results := make([]bool, len(first))
		var wg sync.WaitGroup
		for i, n := range first {
			wg.Go(func() { results[i] = m.setSlot(ctx, n, dst, slot, "node") })
		}
		wg.Wait()
		for _, r := range results {
			if !r {
				return false
			}
		}
		if src != dst && !m.setSlot(ctx, src, dst, slot, "node") {
			return false
		}
	}
	if opts&moveUpdate != 0 {
		src.SetSlot(slot, false)
		dst.SetSlot(slot, true)
	}
	return true
}

// findNode reports whether n is in list.
func (m *Manager) findNode(n *Node, list []*Node) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

// migrateCommand returns MIGRATE host port "" 0 timeout [REPLACE] [AUTH ...] KEYS k...
func (m *Manager) migrateCommand(dst *Node, keys [][]byte, replace bool) resp.Command {
	args := [][]byte{[]byte("MIGRATE"), []byte(dst.Host), []byte(strconv.Itoa(dst.Port)), {}, []byte("0"), []byte(strconv.Itoa(m.opts.Timeout))}
	if replace {
		args = append(args, []byte("REPLACE"))
	}
	switch {
	case m.opts.Password != "" && m.opts.User != "":
		args = append(args, []byte("AUTH2"), []byte(m.opts.User), []byte(m.opts.Password))
	case m.opts.Password != "":
		args = append(args, []byte("AUTH"), []byte(m.opts.Password))
	}
	args = append(args, []byte("KEYS"))
	args = append(args, keys...)
	return resp.Command{Args: args}
}

// migrateKeysInSlot moves every key of slot from src to dst. Keys are fetched
// Pipeline*migrateBatches at a time and sent in pipelined MIGRATE commands of Pipeline
// keys each, one round trip per fetch. A MIGRATE refused because a key exists on dst
// is retried with REPLACE when --cluster-replace is given or the values are the same;
// with fix, a slot nobody serves is first given to dst.
func (m *Manager) migrateKeysInSlot(ctx context.Context, src, dst *Node, slot int, verbose bool) bool {
	getKeys := resp.NewCommand("CLUSTER", "GETKEYSINSLOT", strconv.Itoa(slot), strconv.Itoa(m.opts.Pipeline*migrateBatches))
	v, err := m.doCmd(ctx, src, getKeys)
	for {
		if err != nil {
			m.connError(src, err)
			return false
		}
		if v.Kind == resp.Error {
			m.replyError(src, string(v.Str))
			return false
		}
		if len(v.Elems) == 0 {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		// The MIGRATEs, then the next GETKEYSINSLOT, in one round trip: the server runs
		// them in order, so the last reply lists the keys still left.
		var chunks [][][]byte
		var cmds []resp.Command
		for i := 0; i < len(v.Elems); i += m.opts.Pipeline {
			var keys [][]byte
			for _, k := range v.Elems[i:min(i+m.opts.Pipeline, len(v.Elems))] {
				keys = append(keys, k.Str)
			}
			chunks = append(chunks, keys)
			cmds = append(cmds, m.migrateCommand(dst, keys, m.opts.Replace))
		}
		br := m.c.ExecBatch(ctx, src.Addr(), append(cmds, getKeys), nil)
		if br.Err != nil {
			m.connError(src, br.Err)
			return false
		}
		failed := false
		for i, reply := range br.Values[:len(cmds)] {
			if reply.Kind == resp.Error {
				if !m.migrateFailed(ctx, src, dst, slot, chunks[i], string(reply.Str)) {
					return false
				}
				failed = true
			}
			m.keysMoved += len(chunks[i])
			if verbose {
				m.printf("%s", strings.Repeat(".", len(chunks[i])))
			}
		}
		v = br.Values[len(cmds)]
		if failed {
			// The keys listed were read before the retries moved theirs: ask again.
			v, err = m.doCmd(ctx, src, getKeys)
		}
	}
}

// migrateFailed handles a MIGRATE error reply for keys as redis-cli does and reports
// whether the keys were moved after all.
func (m *Manager) migrateFailed(ctx context.Context, src, dst *Node, slot int, keys [][]byte, errMsg string) bool {
	// A node that just joined refuses writes until it sees the cluster healthy (for up
	// to the node timeout): wait for it rather than leave the slot half moved.
	for deadline := time.Now().Add(clusterDownWait); transient(errMsg) && time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(joinPoll)
		v, err := m.doCmd(ctx, src, m.migrateCommand(dst, keys, m.opts.Replace))
		if err != nil {
			m.connError(src, err)
			return false
		}
		if v.Kind != resp.Error {
			return true
		}
		errMsg = string(v.Str)
	}
	busy := strings.Contains(errMsg, "BUSYKEY")
	notServed := false
	if !busy {
		owner, ownerErr := m.slotOwner(ctx, src, slot)
		if ownerErr != "" {
			m.replyError(src, ownerErr)
		}
		notServed = owner == "" && ownerErr == ""
	}
	if !busy && !notServed {
		m.printf("\n")
		m.replyError(src, errMsg)
		return false
	}
	if m.fixing && notServed {
		m.logf(lvlWarn, "*** Slot was not served, setting owner to node %s.\n", dst.Name())
		m.setSlot(ctx, src, dst, slot, "node")
	}
	if busy {
		m.logf(lvlWarn, "\n*** Target key exists\n")
		if !m.opts.Replace {
			m.logf(lvlWarn, "*** Checking key values on both nodes...\n")
			diffs, ok := m.compareValues(ctx, src, dst, keys)
			if !ok {
				m.logf(lvlErr, "*** Value check failed!\n")
				return false
			}
			if len(diffs) > 0 {
				m.logf(lvlErr, "*** Found %d key(s) in both source node and target node having different values.\n"+
					"    Source node: %s\n    Target node: %s\n    Keys(s):\n", len(diffs), src.Name(), dst.Name())
				for _, k := range diffs {
					m.logf(lvlErr, "    - %s\n", k)
				}
				m.logf(lvlErr, "Please fix the above key(s) manually and try again or relaunch the command \n"+
					"with --cluster-replace option to force key overriding.\n")
				return false
			}
		}
		m.logf(lvlWarn, "*** Replacing target keys...\n")
	}
	v, err := m.doCmd(ctx, src, m.migrateCommand(dst, keys, busy))
	if err != nil {
		m.connError(src, err)
		return false
	}
	if v.Kind == resp.Error {
		m.printf("\n")
		m.replyError(src, string(v.Str))
		return false
	}
	return true
}

// transient reports whether a MIGRATE error says the target is not ready yet.
func transient(errMsg string) bool {
	return strings.Contains(errMsg, "CLUSTERDOWN") || strings.Contains(errMsg, "TRYAGAIN")
}

// compareValues returns the keys whose values differ between a and b (DEBUG
// DIGEST-VALUE; keys missing on either side are ignored). ok is false when either node
// refused.
func (m *Manager) compareValues(ctx context.Context, a, b *Node, keys [][]byte) (diffs []string, ok bool) {
	args := append([][]byte{[]byte("DEBUG"), []byte("DIGEST-VALUE")}, keys...)
	cmd := resp.Command{Args: args}
	va, errA := m.doCmd(ctx, a, cmd)
	vb, errB := m.doCmd(ctx, b, cmd)
	if errA != nil || errB != nil {
		return nil, false
	}
	ok = true
	if va.Kind == resp.Error {
		m.replyError(a, string(va.Str))
		ok = false
	}
	if vb.Kind == resp.Error {
		m.replyError(b, string(vb.Str))
		ok = false
	}
	if !ok || len(va.Elems) != len(keys) || len(vb.Elems) != len(keys) {
		return nil, false
	}
	const zero = "0000000000000000000000000000000000000000"
	for i, k := range keys {
		ha, hb := va.Elems[i].Text(), vb.Elems[i].Text()
		if ha == zero || hb == zero {
			continue
		}
		if ha != hb {
			diffs = append(diffs, string(k))
		}
	}
	return diffs, true
}

// nodeForResharding returns the master with the given ID. An unknown ID or a replica
// prints an error and sets raise; the target named as a source prints an error only.
func (m *Manager) nodeForResharding(id string, target *Node) (n *Node, raise bool) {
	n = m.nodeByID(id)
	if n == nil || n.IsReplica() {
		m.logf(lvlErr, "*** The specified node (%s) is not known or not a master, please retry.\n", id)
		return nil, true
	}
	if target != nil && n.ID == target.ID {
		m.logf(lvlErr, "*** It is not possible to use the target node as source node.\n")
		return nil, false
	}
	return n, false
}

// reshard moves slots to one node from others, asking for what --cluster-slots,
// --cluster-to and --cluster-from do not say.
func (m *Manager) reshard(ctx context.Context, args []string) bool {
	if !m.loadFromArgs(ctx, args) {
		return false
	}
	m.checkCluster(ctx, false, false)
	if len(m.errs) > 0 {
		m.errorf("*** Please fix your cluster problems before resharding\n")
		return false
	}
	slots := m.opts.Slots
	for slots <= 0 || slots > SlotCount {
		m.printf("How many slots do you want to move (from 1 to %d)? ", SlotCount)
		line, ok := m.readLine()
		if !ok {
			m.printf("\n")
			return false
		}
		if len(line) > 5 {
			line = line[:5]
		}
		slots = atoi(line)
	}
	to := m.opts.To
	for to == "" {
		m.printf("What is the receiving node ID? ")
		line, ok := m.readLine()
		if !ok {
			m.printf("\n")
			return false
		}
		to = line
	}
	target, _ := m.nodeForResharding(to, nil)
	if target == nil {
		return false
	}
	var sources []*Node
	all := false
	addSource := func(id string) bool {
		src, raise := m.nodeForResharding(id, target)
		if src != nil {
			sources = append(sources, src)
		}
		return !raise
	}
	if m.opts.From == "" {
		m.printf("Please enter all the source node IDs.\n")
		m.printf("  Type 'all' to use all the nodes as source nodes for the hash slots.\n")
		m.printf("  Type 'done' once you entered all the source nodes IDs.\n")
		for {
			m.printf("Source node #%d: ", len(sources)+1)
			line, ok := m.readLine()
			if !ok {
				m.printf("\n")
				return false
			}
			if line == "done" {
				break
			}
			if line == "all" {
				all = true
				break
			}
			if !addSource(line) {
				return false
			}
		}
	} else {
		for _, id := range strings.Split(m.opts.From, ",") {
			if id == "all" {
				all = true
				break
			}
			if id != "" && !addSource(id) {
				return false
			}
		}
	}
	if all {
		sources = nil
		for _, n := range m.nodes {
			if !n.IsReplica() && n.ID != target.ID {
				sources = append(sources, n)
			}
		}
	}
	if len(sources) == 0 {
		m.errorf("*** No source nodes given, operation aborted.\n")
		return false
	}
	m.printf("\nReady to move %d slots.\n", slots)
	m.printf("  Source nodes:\n")
	for _, src := range sources {
		m.printf("%s\n", src.Info(4))
	}
	m.printf("  Destination node:\n")
	m.printf("%s\n", target.Info(4))
	table := ReshardTable(sources, slots)
	var plan strings.Builder
	plan.WriteString("  Resharding plan:\n")
	for _, item := range table {
		fmt.Fprintf(&plan, "    Moving slot %d from %s\n", item.Slot, item.Source.ID)
	}
	m.printf("%s", plan.String())
	if !m.opts.Yes {
		m.printf("Do you want to proceed with the proposed reshard plan (yes/no)? ")
		line, _ := m.readLine()
		if !strings.HasPrefix(line, "yes") {
			return false
		}
	}
	m.startProgress("reshard", "slots", len(table))
	for i, item := range table {
		if !m.moveSlot(ctx, item.Source, target, item.Slot, moveVerbose) {
			return false
		}
		m.progress(i+1, fmt.Sprintf("(%d keys)", m.keysMoved))
	}
	return true
}

// rebalance moves slots between masters until each has its share (by --cluster-weight,
// 1 by default), unless all are within --cluster-threshold percent of it.
func (m *Manager) rebalance(ctx context.Context, args []string) bool {
	if !m.loadFromArgs(ctx, args) {
		return false
	}
	for _, w := range m.opts.Weights {
		name, value, ok := strings.Cut(w, "=")
		if !ok {
			return false
		}
		n := m.nodeByIDPrefix(name)
		if n == nil {
			m.logf(lvlErr, "*** No such master node %s\n", name)
			return false
		}
		n.Weight = atof(value)
	}
	// Weights are final: RebalancePlan zeroes those of empty masters unless asked not to.
	m.checkCluster(ctx, true, false)
	if len(m.errs) > 0 {
		m.logf(lvlErr, "*** Please fix your cluster problems before rebalancing\n")
		return false
	}
	sorted, totalWeight, needed, moves := RebalancePlan(m.nodes, m.opts.UseEmptyMasters, m.opts.Threshold)
	if !needed {
		m.logf(lvlWarn, "*** No rebalancing needed! All nodes are within the %.2f%% threshold.\n", m.opts.Threshold)
		return true
	}
	m.logf(lvlInfo, ">>> Rebalancing across %d nodes. Total weight = %.2f\n", len(sorted), totalWeight)
	if m.opts.Verbose {
		for _, n := range sorted {
			m.printf("%s balance is %d slots\n", n.Name(), n.Balance)
		}
	}
	total := 0
	for _, mv := range moves {
		total += mv.Slots
	}
	if !m.opts.Simulate {
		m.startProgress("rebalance", "slots", total)
	}
	done := 0
	for _, mv := range moves {
		m.printf("Moving %d slots from %s to %s\n", mv.Slots, mv.Src.Name(), mv.Dst.Name())
		table := ReshardTable([]*Node{mv.Src}, mv.Slots)
		if len(table) != mv.Slots {
			m.logf(lvlErr, "*** Assertion failed: Reshard table != number of slots")
			return false
		}
		if m.opts.Simulate {
			m.printf("%s", strings.Repeat("#", len(table)))
		} else {
			for _, item := range table {
				if !m.moveSlot(ctx, item.Source, mv.Dst, item.Slot, moveQuiet|moveUpdate) {
					return false
				}
				m.printf("#")
				done++
				m.progress(done, fmt.Sprintf("(%d keys)", m.keysMoved))
			}
		}
		m.printf("\n")
		m.progress(done, fmt.Sprintf("(%d keys)", m.keysMoved))
	}
	return true
}
