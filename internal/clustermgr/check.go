package clustermgr

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/rcli-dev/rcli/internal/resp"
)

// invalidHostArg is redis-cli's message for a bad node address argument.
const invalidHostArg = "[ERR] Invalid arguments: you need to pass either a valid address (ie. 120.0.0.1:7000) or space separated IP and port (ie. 120.0.0.1 7000)\n"

// loadFromArgs loads the cluster from the node named by "<host:port>" or "<host>
// <port>".
func (m *Manager) loadFromArgs(ctx context.Context, args []string) bool {
	host, port, ok := hostFromArgs(args)
	if !ok {
		m.errorf("%s", invalidHostArg)
		return false
	}
	return m.loadCluster(ctx, host, port)
}

// info prints one line per master (keys, slots, replicas) and the totals.
func (m *Manager) info(ctx context.Context, args []string) bool {
	if !m.loadFromArgs(ctx, args) {
		return false
	}
	m.showClusterInfo(ctx)
	return true
}

// check prints the cluster's info, then checks that the nodes agree about the slots,
// that no slot is open and that every slot is covered.
func (m *Manager) check(ctx context.Context, args []string) bool {
	if !m.loadFromArgs(ctx, args) {
		return false
	}
	m.showClusterInfo(ctx)
	return m.checkCluster(ctx, false, false)
}

// fix is check that also repairs what it finds: open slots, uncovered slots and (with
// --cluster-search-multiple-owners) slots with several owners.
func (m *Manager) fix(ctx context.Context, args []string) bool {
	if !m.loadFromArgs(ctx, args) {
		return false
	}
	m.showClusterInfo(ctx)
	return m.checkCluster(ctx, false, true)
}

// showClusterInfo prints "h:p (id...) -> N keys | N slots | N slaves." for every
// master, then the totals.
func (m *Manager) showClusterInfo(ctx context.Context) {
	type size struct {
		n   int64
		err string
	}
	masters := m.masters()
	sizes := make([]size, len(masters))
	var wg sync.WaitGroup
	for i, n := range masters {
		if n.ID == "" {
			continue
		}
		wg.Go(func() {
			v, err := m.do(ctx, n, "DBSIZE")
			switch {
			case err != nil:
				sizes[i] = size{n: -1}
			case v.Kind == resp.Integer:
				sizes[i] = size{n: v.Int}
			case v.Kind == resp.Error:
				sizes[i] = size{n: -1, err: string(v.Str)}
			default:
				sizes[i] = size{n: -1}
			}
		})
	}
	wg.Wait()
	keys, count := int64(0), 0
	for i, n := range masters {
		if n.ID == "" {
			continue
		}
		if sizes[i].n < 0 {
			m.replyError(n, sizes[i].err)
			return
		}
		replicas := 0
		for _, r := range m.nodes {
			if r != n && r.IsReplica() && r.Replicate == n.ID {
				replicas++
			}
		}
		m.printf("%s (%s...) -> %d keys | %d slots | %d slaves.\n", n.Name(), shortID(n.ID), sizes[i].n, n.SlotsCount, replicas)
		count++
		keys += sizes[i].n
	}
	m.logf(lvlOK, "[OK] %d keys in %d masters.\n", keys, count)
	m.printf("%.2f keys per slot on average.\n", float32(keys)/float32(SlotCount))
}

// shortID returns the first 8 characters of a node ID.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// showNodes prints every loaded node as Node.Info renders it.
func (m *Manager) showNodes() {
	for _, n := range m.nodes {
		m.printf("%s\n", n.Info(0))
	}
}

// checkCluster checks the loaded cluster as redis-cli's clusterManagerCheckCluster
// does, and with fix repairs it. quiet leaves out the node list. It reports whether
// the cluster is (or was made) healthy.
func (m *Manager) checkCluster(ctx context.Context, quiet, fix bool) bool {
	if len(m.nodes) == 0 {
		return false
	}
	m.logf(lvlInfo, ">>> Performing Cluster Check (using node %s)\n", m.nodes[0].Name())
	m.fixing = fix
	result := true
	if !quiet {
		m.showNodes()
	}
	if !m.consistent(ctx) {
		m.onError("[ERR] Nodes don't agree about configuration!")
		result = false
	} else {
		m.logf(lvlOK, "[OK] All nodes agree about slots configuration.\n")
	}

	m.logf(lvlInfo, ">>> Check for open slots...\n")
	open := map[int]bool{}
	for _, n := range m.nodes {
		for _, state := range []struct {
			name  string
			slots []OpenSlot
		}{{"migrating", n.Migrating}, {"importing", n.Importing}} {
			if len(state.slots) == 0 {
				continue
			}
			list := make([]string, len(state.slots))
			for i, o := range state.slots {
				open[o.Slot] = true
				list[i] = strconv.Itoa(o.Slot)
			}
			m.onError(fmt.Sprintf("[WARNING] Node %s has slots in %s state %s.", n.Name(), state.name, strings.Join(list, ",")))
		}
	}
	if len(open) > 0 {
		result = false
		slots := sortedSlots(open)
		list := make([]string, len(slots))
		for i, s := range slots {
			list[i] = strconv.Itoa(s)
		}
		m.logf(lvlErr, "[WARNING] The following slots are open: %s.\n", strings.Join(list, ","))
		if fix {
			for _, s := range slots {
				if result = m.fixOpenSlot(ctx, s); !result {
					break
				}
			}
		}
	}

	m.logf(lvlInfo, ">>> Check slots coverage...\n")
	covered := make([]bool, SlotCount)
	coverage := 0
	for _, n := range m.nodes {
		for s, owned := range n.Slots {
			if owned && !covered[s] {
				covered[s] = true
				coverage++
			}
		}
	}
	if coverage == SlotCount {
		m.logf(lvlOK, "[OK] All %d slots covered.\n", SlotCount)
	} else {
		m.onError(fmt.Sprintf("[ERR] Not all %d slots are covered by nodes.\n", SlotCount))
		result = false
		if fix {
			fixed := m.fixSlotsCoverage(ctx, covered)
			if fixed < 0 && m.exitNow {
				return false
			}
			if fixed > 0 {
				result = true
			}
		}
	}

	if m.opts.SearchMultipleOwners {
		if !m.checkMultipleOwners(ctx, fix) {
			result = false
		}
	}
	return result
}

// sortedSlots returns the keys of a slot set in ascending order.
func sortedSlots(set map[int]bool) []int {
	out := make([]int, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Ints(out)
	return out
}

// countKeysInSlot returns CLUSTER COUNTKEYSINSLOT on n, or -1 after printing why not.
func (m *Manager) countKeysInSlot(ctx context.Context, n *Node, slot int) int {
	v, err := m.do(ctx, n, "CLUSTER", "COUNTKEYSINSLOT", itoa(slot))
	if err != nil {
		m.connError(n, err)
		return -1
	}
	if v.Kind == resp.Error {
		m.replyError(n, string(v.Str))
		return -1
	}
	return int(v.Int)
}

// setSlot sends CLUSTER SETSLOT slot state peer-ID to n (state: importing, migrating,
// node).
func (m *Manager) setSlot(ctx context.Context, n, peer *Node, slot int, state string) bool {
	return m.doOK(ctx, n, "CLUSTER", "SETSLOT", itoa(slot), state, peer.ID)
}

// clearSlotStatus sends CLUSTER SETSLOT slot STABLE to n.
func (m *Manager) clearSlotStatus(ctx context.Context, n *Node, slot int) bool {
	return m.doOK(ctx, n, "CLUSTER", "SETSLOT", itoa(slot), "STABLE")
}

// delSlot sends CLUSTER DELSLOTS slot to n; with ignoreUnassigned an error for a slot
// that n sees unassigned is not a failure.
func (m *Manager) delSlot(ctx context.Context, n *Node, slot int, ignoreUnassigned bool) bool {
	v, err := m.do(ctx, n, "CLUSTER", "DELSLOTS", itoa(slot))
	if err != nil {
		m.connError(n, err)
		return false
	}
	if v.Kind != resp.Error {
		return true
	}
	if ignoreUnassigned {
		owner, ownerErr := m.slotOwner(ctx, n, slot)
		if owner == "" && ownerErr == "" {
			return true
		}
		if ownerErr != "" {
			m.replyError(n, ownerErr)
		}
	}
	m.replyError(n, string(v.Str))
	return false
}

// slotOwner returns the ID (or address) of the node that serves slot as n's CLUSTER
// SLOTS says, "" when none; errMsg reports a failure to ask.
func (m *Manager) slotOwner(ctx context.Context, n *Node, slot int) (owner, errMsg string) {
	v, err := m.do(ctx, n, "CLUSTER", "SLOTS")
	if err != nil {
		return "", err.Error()
	}
	if v.Kind == resp.Error {
		return "", string(v.Str)
	}
	for _, r := range v.Elems {
		if len(r.Elems) < 3 || slot < int(r.Elems[0].Int) || slot > int(r.Elems[1].Int) {
			continue
		}
		master := r.Elems[2]
		if len(master.Elems) >= 3 {
			return master.Elems[2].Text(), ""
		}
		if len(master.Elems) >= 2 {
			return master.Elems[0].Text() + ":" + master.Elems[1].Text(), ""
		}
	}
	return "", ""
}

// setSlotOwner makes owner the owner of slot in one transaction: DELSLOTS (its error
// ignored), ADDSLOTS, optionally SETSLOT STABLE, BUMPEPOCH. Only an ADDSLOTS failure
// counts.
func (m *Manager) setSlotOwner(ctx context.Context, owner *Node, slot int, clear bool) bool {
	s := itoa(slot)
	cmds := []resp.Command{
		resp.NewCommand("MULTI"),
		resp.NewCommand("CLUSTER", "DELSLOTS", s),
		resp.NewCommand("CLUSTER", "ADDSLOTS", s),
	}
	if clear {
		cmds = append(cmds, resp.NewCommand("CLUSTER", "SETSLOT", s, "STABLE"))
	}
	cmds = append(cmds, resp.NewCommand("CLUSTER", "BUMPEPOCH"), resp.NewCommand("EXEC"))
	br := m.c.ExecBatch(ctx, owner.Addr(), cmds, nil)
	if br.Err != nil {
		m.connError(owner, br.Err)
		return false
	}
	if v := br.Values[0]; v.Kind == resp.Error {
		m.replyError(owner, string(v.Str))
		return false
	}
	exec := br.Values[len(br.Values)-1]
	if exec.Kind == resp.Error {
		m.replyError(owner, string(exec.Str))
		return false
	}
	if exec.Kind != resp.Array {
		return false
	}
	if len(exec.Elems) > 1 && exec.Elems[1].Kind == resp.Error {
		m.replyError(owner, string(exec.Elems[1].Str))
		return false
	}
	return true
}

// bumpEpoch sends CLUSTER BUMPEPOCH to n.
func (m *Manager) bumpEpoch(ctx context.Context, n *Node) bool {
	return m.doOK(ctx, n, "CLUSTER", "BUMPEPOCH")
}

// nodeWithMostKeysInSlot returns the master among nodes holding the most keys of slot
// (the first on a tie), or nil after an error.
func (m *Manager) nodeWithMostKeysInSlot(ctx context.Context, nodes []*Node, slot int) *Node {
	var best *Node
	most := 0
	for _, n := range nodes {
		if n.IsReplica() {
			continue
		}
		count := m.countKeysInSlot(ctx, n, slot)
		if count < 0 {
			return nil
		}
		if count > most || best == nil {
			most, best = count, n
		}
	}
	return best
}

// removeNode returns list without n.
func removeNode(list []*Node, n *Node) []*Node {
	out := list[:0:0]
	for _, x := range list {
		if x != n {
			out = append(out, x)
		}
	}
	return out
}

// names joins the nodes' host:port with sep.
func names(nodes []*Node, sep string) string {
	parts := make([]string, len(nodes))
	for i, n := range nodes {
		parts[i] = n.Name()
	}
	return strings.Join(parts, sep)
}

// fixOpenSlot closes a slot left in migrating or importing state, moving its keys where
// it seems most sensible, as redis-cli's clusterManagerFixOpenSlot does.
func (m *Manager) fixOpenSlot(ctx context.Context, slot int) bool {
	if m.unreachableMasters > 0 && !m.opts.FixWithUnreachableMasters {
		m.logf(lvlWarn, "*** Fixing open slots with %d unreachable masters is dangerous: rcli will assume that slots about masters that are not reachable are not covered, and will try to reassign them to the reachable nodes. This can cause data loss and is rarely what you want to do. If you really want to proceed use the --cluster-fix-with-unreachable-masters option.\n", m.unreachableMasters)
		m.exitNow = true
		return false
	}
	m.logf(lvlInfo, ">>> Fixing open slot %d\n", slot)
	var owners, migrating, importing []*Node
	for _, n := range m.nodes {
		if n.IsReplica() {
			continue
		}
		if n.Slots[slot] {
			owners = append(owners, n)
			continue
		}
		count := m.countKeysInSlot(ctx, n, slot)
		if count < 0 {
			return false
		}
		if count > 0 {
			m.logf(lvlWarn, "*** Found keys about slot %d in non-owner node %s!\n", slot, n.Name())
			owners = append(owners, n)
		}
	}
	var owner *Node
	if len(owners) == 1 {
		owner = owners[0]
	}
	for _, n := range m.nodes {
		if n.IsReplica() {
			continue
		}
		_, isMigrating := n.migratingTo(slot)
		isImporting := !isMigrating && n.importingFrom(slot)
		switch {
		case isMigrating:
			migrating = append(migrating, n)
		case isImporting:
			importing = append(importing, n)
		case n != owner:
			count := m.countKeysInSlot(ctx, n, slot)
			if count < 0 {
				return false
			}
			if count > 0 {
				m.logf(lvlWarn, "*** Found keys about slot %d in node %s!\n", slot, n.Name())
				importing = append(importing, n)
			}
		}
	}
	if len(migrating) > 0 {
		m.printf("Set as migrating in: %s\n", names(migrating, ","))
	}
	if len(importing) > 0 {
		m.printf("Set as importing in: %s\n", names(importing, ","))
	}

	if owner == nil {
		m.logf(lvlInfo, ">>> No single clear owner for the slot, selecting an owner by # of keys...\n")
		owner = m.nodeWithMostKeysInSlot(ctx, m.nodes, slot)
		if owner == nil {
			m.logf(lvlErr, "[ERR] Can't select a slot owner. Impossible to fix.\n")
			return false
		}
		m.logf(lvlWarn, "*** Configuring %s as the slot owner\n", owner.Name())
		if !m.clearSlotStatus(ctx, owner, slot) || !m.setSlotOwner(ctx, owner, slot, false) {
			return false
		}
		owner.SetSlot(slot, true)
		if !m.bumpEpoch(ctx, owner) {
			return false
		}
		migrating = removeNode(migrating, owner)
		importing = removeNode(importing, owner)
	}

	// Several owners: keep one and put the others in importing state, so that one of
	// the cases below applies.
	if len(owners) > 1 {
		for _, n := range owners {
			if n == owner {
				continue
			}
			if !m.delSlot(ctx, n, slot, true) {
				return false
			}
			n.SetSlot(slot, false)
			if !m.setSlot(ctx, n, owner, slot, "node") || !m.setSlot(ctx, n, owner, slot, "importing") {
				return false
			}
			importing = append(removeNode(importing, n), n)
			migrating = removeNode(migrating, n)
		}
	}

	switch {
	case len(migrating) == 1 && len(importing) == 1:
		// Case 1: migrating in one node and importing in one: finish the move.
		src, dst := migrating[0], importing[0]
		m.logf(lvlInfo, ">>> Case 1: Moving slot %d from %s to %s\n", slot, src.Name(), dst.Name())
		return m.moveSlot(ctx, src, dst, slot, moveVerbose|moveUpdate)

	case len(migrating) == 0 && len(importing) > 0:
		// Case 2: several nodes import it (keys arrived after a restart, say): move all the
		// keys to the owner.
		m.logf(lvlInfo, ">>> Case 2: Moving all the %d slot keys to its owner %s\n", slot, owner.Name())
		for _, n := range importing {
			if n == owner {
				continue
			}
			if !m.moveSlot(ctx, n, owner, slot, moveVerbose|moveCold) {
				return false
			}
			m.logf(lvlInfo, ">>> Setting %d as STABLE in %s\n", slot, n.Name())
			if !m.clearSlotStatus(ctx, n, slot) {
				return false
			}
		}
		for _, n := range m.nodes {
			if n == owner || n.IsReplica() {
				continue
			}
			if !m.setSlot(ctx, n, owner, slot, "NODE") {
				return false
			}
		}
		return true

	case len(migrating) == 1 && len(importing) > 1:
		// Case 3: migrating in one node, importing (without keys) in several: finish the
		// move to the intended target, or close the slot everywhere.
		src := migrating[0]
		target, _ := src.migratingTo(slot)
		var dst *Node
		for _, n := range importing {
			if m.countKeysInSlot(ctx, n, slot) > 0 {
				return m.cannotFix(slot, migrating, importing, owner)
			}
			if n.ID == target {
				dst = n
			}
		}
		if dst != nil {
			m.logf(lvlInfo, ">>> Case 3: Moving slot %d from %s to %s and closing it on all the other importing nodes.\n", slot, src.Name(), dst.Name())
			if !m.moveSlot(ctx, src, dst, slot, moveVerbose) {
				return false
			}
			for _, n := range importing {
				if n != dst && !m.clearSlotStatus(ctx, n, slot) {
					return false
				}
			}
			return true
		}
		m.logf(lvlInfo, ">>> Case 3: Closing slot %d on both migrating and importing nodes.\n", slot)
		if !m.clearSlotStatus(ctx, src, slot) {
			return false
		}
		for _, n := range importing {
			if !m.clearSlotStatus(ctx, n, slot) {
				return false
			}
		}
		return true
	}

	// Case 4: nothing imports it and the migrating node has no key left in it or owns it:
	// a reshard interrupted in the middle; close the slot.
	closable := len(importing) == 0 && len(migrating) == 1
	if closable && owner != migrating[0] {
		n := migrating[0]
		v, err := m.do(ctx, n, "CLUSTER", "GETKEYSINSLOT", itoa(slot), "10")
		if err != nil {
			m.connError(n, err)
			return false
		}
		if v.Kind == resp.Error {
			m.replyError(n, string(v.Str))
			return false
		}
		closable = len(v.Elems) == 0
	}
	if closable {
		n := migrating[0]
		m.logf(lvlInfo, ">>> Case 4: Closing slot %d on %s\n", slot, n.Name())
		return m.clearSlotStatus(ctx, n, slot)
	}
	return m.cannotFix(slot, migrating, importing, owner)
}

// cannotFix prints redis-cli's message for an open slot it has no recipe for.
func (m *Manager) cannotFix(slot int, migrating, importing []*Node, owner *Node) bool {
	m.logf(lvlErr, "[ERR] Sorry, rcli can't fix this slot yet (work in progress). Slot is set as migrating in %s, as importing in %s, owner is %s\n",
		names(migrating, ","), names(importing, ","), owner.Name())
	return false
}

// fixSlotsCoverage assigns every slot no node serves: to a random master when no node
// has keys in it, to the node that has when one does, and to the node with the most
// keys (moving the others' keys to it) when several do. Each group is confirmed first,
// even with --cluster-yes. It returns how many slots it fixed, or -1 on failure.
func (m *Manager) fixSlotsCoverage(ctx context.Context, covered []bool) int {
	if m.unreachableMasters > 0 && !m.opts.FixWithUnreachableMasters {
		m.logf(lvlWarn, "*** Fixing slots coverage with %d unreachable masters is dangerous: rcli will assume that slots about masters that are not reachable are not covered, and will try to reassign them to the reachable nodes. This can cause data loss and is rarely what you want to do. If you really want to proceed use the --cluster-fix-with-unreachable-masters option.\n", m.unreachableMasters)
		m.exitNow = true
		return -1
	}
	m.logf(lvlInfo, ">>> Fixing slots coverage...\n")
	var uncovered []int
	for s, c := range covered {
		if !c {
			uncovered = append(uncovered, s)
		}
	}
	// Which masters hold keys of each uncovered slot: one pipelined batch per master.
	holders := make(map[int][]*Node, len(uncovered))
	for _, n := range m.masters() {
		cmds := make([]resp.Command, len(uncovered))
		for i, s := range uncovered {
			cmds[i] = resp.NewCommand("CLUSTER", "GETKEYSINSLOT", itoa(s), "1")
		}
		br := m.c.ExecBatch(ctx, n.Addr(), cmds, nil)
		if br.Err != nil {
			m.connError(n, br.Err)
			return -1
		}
		for i, v := range br.Values {
			if v.Kind == resp.Error {
				m.replyError(n, string(v.Str))
				return -1
			}
			if len(v.Elems) > 0 {
				holders[uncovered[i]] = append(holders[uncovered[i]], n)
			}
		}
	}
	var none, single, multi []int
	for _, s := range uncovered {
		switch len(holders[s]) {
		case 0:
			none = append(none, s)
		case 1:
			single = append(single, s)
		default:
			multi = append(multi, s)
		}
	}
	fixed := 0
	slotList := func(slots []int) string {
		set := make([]bool, SlotCount)
		for _, s := range slots {
			set[s] = true
		}
		return slotsString(set)
	}
	if len(none) > 0 {
		m.printf("The following uncovered slots have no keys across the cluster:\n%s\n", slotList(none))
		if m.confirm("Fix these slots by covering with a random node?", true) {
			for _, s := range none {
				n := m.randomMaster()
				m.logf(lvlInfo, ">>> Covering slot %d with %s\n", s, n.Name())
				if !m.setSlotOwner(ctx, n, s, false) {
					return -1
				}
				n.SetSlot(s, true)
				fixed++
			}
		}
	}
	if len(single) > 0 {
		m.printf("The following uncovered slots have keys in just one node:\n%s\n", slotList(single))
		if m.confirm("Fix these slots by covering with those nodes?", true) {
			for _, s := range single {
				n := holders[s][0]
				m.logf(lvlInfo, ">>> Covering slot %d with %s\n", s, n.Name())
				if !m.setSlotOwner(ctx, n, s, false) {
					return -1
				}
				n.SetSlot(s, true)
				fixed++
			}
		}
	}
	if len(multi) > 0 {
		m.printf("The following uncovered slots have keys in multiple nodes:\n%s\n", slotList(multi))
		if m.confirm("Fix these slots by moving keys into a single node?", true) {
			for _, s := range multi {
				target := m.nodeWithMostKeysInSlot(ctx, holders[s], s)
				if target == nil {
					return -1
				}
				m.logf(lvlInfo, ">>> Covering slot %d moving keys to %s\n", s, target.Name())
				if !m.setSlotOwner(ctx, target, s, true) {
					return -1
				}
				target.SetSlot(s, true)
				for _, src := range holders[s] {
					if src == target {
						continue
					}
					// The source imports the slot (though its keys leave) so that MIGRATE
					// is not redirected.
					if !m.setSlot(ctx, src, target, s, "NODE") || !m.setSlot(ctx, src, target, s, "IMPORTING") ||
						!m.moveSlot(ctx, src, target, s, moveVerbose|moveCold) || !m.clearSlotStatus(ctx, src, s) {
						return -1
					}
				}
				fixed++
			}
		}
	}
	return fixed
}

// checkMultipleOwners looks for slots that several masters claim or hold keys of, and
// with fix gives each such slot a single owner.
func (m *Manager) checkMultipleOwners(ctx context.Context, fix bool) bool {
	m.logf(lvlInfo, ">>> Check for multiple slot owners...\n")
	masters := m.masters()
	// Keys per slot on every master that does not own it: one batch per master.
	holds := make(map[*Node][]bool, len(masters))
	for _, n := range masters {
		var cmds []resp.Command
		var slots []int
		for s := 0; s < SlotCount; s++ {
			if !n.Slots[s] {
				cmds = append(cmds, resp.NewCommand("CLUSTER", "COUNTKEYSINSLOT", itoa(s)))
				slots = append(slots, s)
			}
		}
		h := make([]bool, SlotCount)
		if len(cmds) > 0 {
			br := m.c.ExecBatch(ctx, n.Addr(), cmds, nil)
			if br.Err != nil {
				m.connError(n, br.Err)
				return false
			}
			for i, v := range br.Values {
				h[slots[i]] = v.Kind == resp.Integer && v.Int > 0
			}
		}
		holds[n] = h
	}
	result := true
	withMultiple := 0
	for s := 0; s < SlotCount; s++ {
		var owners []*Node
		for _, n := range masters {
			if n.Slots[s] || holds[n][s] {
				owners = append(owners, n)
			}
		}
		if len(owners) <= 1 {
			continue
		}
		result = false
		m.logf(lvlErr, "[WARNING] Slot %d has %d owners:\n", s, len(owners))
		for _, n := range owners {
			m.logf(lvlErr, "    %s\n", n.Name())
		}
		withMultiple++
		if fix {
			if result = m.fixMultipleSlotOwners(ctx, s, owners); !result {
				m.logf(lvlErr, "Failed to fix multiple owners for slot %d\n", s)
				break
			}
			withMultiple--
		}
	}
	if withMultiple == 0 {
		m.logf(lvlOK, "[OK] No multiple owners found.\n")
	}
	return result
}

// fixMultipleSlotOwners gives slot to the owner with the most keys and moves the other
// owners' keys to it.
func (m *Manager) fixMultipleSlotOwners(ctx context.Context, slot int, owners []*Node) bool {
	m.logf(lvlInfo, ">>> Fixing multiple owners for slot %d...\n", slot)
	owner := m.nodeWithMostKeysInSlot(ctx, owners, slot)
	if owner == nil {
		owner = owners[0]
	}
	m.logf(lvlInfo, ">>> Setting slot %d owner: %s\n", slot, owner.Name())
	if !m.setSlotOwner(ctx, owner, slot, false) {
		return false
	}
	success := false
	for _, n := range m.nodes {
		if n == owner || n.IsReplica() {
			continue
		}
		count := m.countKeysInSlot(ctx, n, slot)
		if success = count >= 0; !success {
			break
		}
		m.delSlot(ctx, n, slot, true)
		if !m.setSlot(ctx, n, owner, slot, "node") {
			return false
		}
		if count > 0 {
			if success = m.moveSlot(ctx, n, owner, slot, moveVerbose|moveCold); !success {
				break
			}
		}
	}
	return success
}
