package clustermgr

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/rcli-dev/rcli/internal/topology"
)

// This file holds the manager's pure decisions: they read and change Node values and
// return what to print, and never talk to a server.

// PlanCreate plans a new cluster over nodes, as redis-cli --cluster create does:
// nodes are interleaved by host so that masters spread over hosts, the first
// len(nodes)/(replicas+1) become masters with even slot ranges, and each master gets
// replicas replicas, preferring nodes on another host (then extra replicas while nodes
// remain). It marks the planned nodes Dirty, sets the masters' Slots and the replicas'
// Replicate (the master's ID), and returns the lines redis-cli prints while planning
// ("Master[0] -> Slots 0 - 5460", "Adding replica a to b", "Adding extra
// replicas..."). It returns an error when fewer than 3 masters would result (create
// prints redis-cli's own message for that before planning).
func PlanCreate(nodes []*Node, replicas int) ([]string, error) {
	if replicas < 0 {
		replicas = 0
	}
	mastersCount := len(nodes) / (replicas + 1)
	if mastersCount < 3 {
		return nil, fmt.Errorf("clustermgr: %d nodes with %d replicas per master make %d masters, need at least 3 (at least %d nodes)",
			len(nodes), replicas, mastersCount, 3*(replicas+1))
	}
	// Interleave the nodes by host: one from each host in turn.
	var hosts []string
	byHost := map[string][]*Node{}
	for _, n := range nodes {
		if _, ok := byHost[n.Host]; !ok {
			hosts = append(hosts, n.Host)
		}
		byHost[n.Host] = append(byHost[n.Host], n)
	}
	interleaved := make([]*Node, 0, len(nodes))
	for len(interleaved) < len(nodes) {
		for _, h := range hosts {
			if q := byHost[h]; len(q) > 0 {
				interleaved = append(interleaved, q[0])
				byHost[h] = q[1:]
			}
		}
	}
	masters := interleaved[:mastersCount]
	rest := append([]*Node(nil), interleaved[mastersCount:]...)

	var lines []string
	for i, r := range topology.EvenRanges(mastersCount) {
		m := masters[i]
		lines = append(lines, fmt.Sprintf("Master[%d] -> Slots %d - %d", i, r.Start, r.End))
		m.Slots = make([]bool, SlotCount)
		m.SlotsCount = 0
		m.SetSlots(r)
		m.Dirty = true
	}
	// Rotating the rest sometimes gives a better start to the anti-affinity optimizer.
	if len(rest) > 1 {
		rest = append(rest[1:], rest[0])
	}
	available := len(rest)
	take := func(master *Node) *Node {
		first := -1
		for j, n := range rest {
			if n == nil {
				continue
			}
			if n.Host != master.Host {
				rest[j] = nil
				return n
			}
			if first < 0 {
				first = j
			}
		}
		if first < 0 {
			return nil
		}
		n := rest[first]
		rest[first] = nil
		return n
	}
	assignUnused := false
	for {
		for _, m := range masters {
			for assigned := 0; assigned < replicas; assigned++ {
				if available == 0 {
					break
				}
				r := take(m)
				if r == nil {
					break
				}
				available--
				r.Replicate = m.ID
				r.Dirty = true
				lines = append(lines, fmt.Sprintf("Adding replica %s to %s", r.Name(), m.Name()))
				if assignUnused {
					break
				}
			}
		}
		if assignUnused || available == 0 {
			break
		}
		assignUnused = true
		lines = append(lines, "Adding extra replicas...")
	}
	return lines, nil
}

// AntiAffinityScore measures how badly replicas are placed, as redis-cli does: 10000
// for each replica on the same host as its master, 1 for each replica sharing a host
// with another replica of the same master (counted per group). 0 is perfect. It also
// returns, for each offending group, the first replica (in nodes order) to blame.
func AntiAffinityScore(nodes []*Node) (int, []*Node) {
	score := 0
	var offenders []*Node
	var hosts []string
	byHost := map[string][]*Node{}
	for _, n := range nodes {
		if _, ok := byHost[n.Host]; !ok {
			hosts = append(hosts, n.Host)
		}
		byHost[n.Host] = append(byHost[n.Host], n)
	}
	for _, h := range hosts {
		var keys []string
		types := map[string]string{} // master ID -> "m" first, then one "s" per replica
		for _, n := range byHost[h] {
			key := n.ID
			if n.Replicate != "" {
				key = n.Replicate
			}
			t, ok := types[key]
			if !ok {
				keys = append(keys, key)
			}
			if n.Replicate != "" {
				t += "s"
			} else {
				t = "m" + t
			}
			types[key] = t
		}
		for _, key := range keys {
			t := types[key]
			if len(t) < 2 {
				continue
			}
			if t[0] == 'm' {
				score += 10000 * (len(t) - 1)
			} else {
				score += len(t)
			}
			for _, n := range nodes {
				if n.Replicate == key && n.Host == h {
					offenders = append(offenders, n)
					break
				}
			}
		}
	}
	return score, offenders
}

// OptimizeAntiAffinity swaps the masters of random pairs of replicas, keeping every
// swap that does not make AntiAffinityScore worse, for up to 500 rounds per node, as
// redis-cli does. It returns the score before and after; when the first is 0 nothing
// was tried.
func OptimizeAntiAffinity(nodes []*Node, rng *rand.Rand) (before, after int) {
	before, _ = AntiAffinityScore(nodes)
	if before == 0 {
		return 0, 0
	}
	for iter := 500 * len(nodes); iter > 0; iter-- {
		score, offenders := AntiAffinityScore(nodes)
		if score == 0 || len(offenders) == 0 {
			break
		}
		first := offenders[rng.IntN(len(offenders))]
		var others []*Node
		for _, n := range nodes {
			if n != first && n.Replicate != "" {
				others = append(others, n)
			}
		}
		if len(others) == 0 {
			break
		}
		second := others[rng.IntN(len(others))]
		first.Replicate, second.Replicate = second.Replicate, first.Replicate
		first.Dirty, second.Dirty = true, true
		if s, _ := AntiAffinityScore(nodes); s > score {
			first.Replicate, second.Replicate = second.Replicate, first.Replicate
		}
	}
	after, _ = AntiAffinityScore(nodes)
	return before, after
}

// AntiAffinityMessage is what redis-cli says about a final anti-affinity score.
func AntiAffinityMessage(score int) (msg string, ok bool) {
	switch {
	case score == 0:
		return "[OK] Perfect anti-affinity obtained!", true
	case score >= 10000:
		return "[WARNING] Some slaves are in the same host as their master", false
	default:
		return "[WARNING] Some slaves of the same master are in the same host", false
	}
}

// ReshardItem is one slot to move and the node it leaves.
type ReshardItem struct {
	Source *Node // the node the slot leaves
	Slot   int   // the slot
}

// ReshardTable picks numSlots slots to take from sources, as redis-cli does: each
// source gives a share proportional to its slots (the biggest rounded up, the others
// down), lowest slots first.
func ReshardTable(sources []*Node, numSlots int) []ReshardItem {
	total := 0
	sorted := append([]*Node(nil), sources...)
	for _, n := range sorted {
		total += n.SlotsCount
	}
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].SlotsCount > sorted[j].SlotsCount })
	var moved []ReshardItem
	if total == 0 {
		return nil
	}
	for i, n := range sorted {
		share := float32(numSlots) / float32(total) * float32(n.SlotsCount) // C float arithmetic
		var max int
		if i == 0 {
			max = int(math.Ceil(float64(share)))
		} else {
			max = int(math.Floor(float64(share)))
		}
		count := 0
		for slot := 0; slot < SlotCount; slot++ {
			if !n.Slots[slot] {
				continue
			}
			if count >= max || len(moved) >= numSlots {
				break
			}
			moved = append(moved, ReshardItem{Source: n, Slot: slot})
			count++
		}
	}
	return moved
}

// RebalanceMove is one step of a rebalance: Slots slots from Src to Dst.
type RebalanceMove struct {
	Src, Dst *Node // from and to
	Slots    int   // how many slots
}

// RebalancePlan decides how to even out slots among masters, as redis-cli does. Each
// master's Weight says its share (masters without slots get weight 0 and take no part
// unless useEmpty). It sets each involved node's Balance (slots to give, negative to
// take) and returns the involved nodes sorted by balance, whether any node is off its
// expected share by more than threshold percent (when not, nothing needs to move), and
// the moves, each pairing the node that most needs slots with the one that most has
// to give them.
func RebalancePlan(nodes []*Node, useEmpty bool, threshold float64) (involved []*Node, totalWeight float32, needed bool, moves []RebalanceMove) {
	for _, n := range nodes {
		if n.IsReplica() {
			continue
		}
		if !useEmpty && n.SlotsCount == 0 {
			n.Weight = 0
			continue
		}
		totalWeight += float32(n.Weight)
		involved = append(involved, n)
	}
	totalBalance := 0
	for _, n := range involved {
		expected := int(float32(SlotCount) / totalWeight * float32(n.Weight))
		n.Balance = n.SlotsCount - expected
		totalBalance += n.Balance
		if threshold > 0 {
			if n.SlotsCount > 0 {
				errPerc := math.Abs(100 - (100.0 * float64(expected) / float64(n.SlotsCount)))
				if errPerc > float64(float32(threshold)) {
					needed = true
				}
			} else if expected > 1 {
				needed = true
			}
		}
	}
	if !needed {
		return involved, totalWeight, false, nil
	}
	// Rounding may leave the balances summing above 0: make sure every slot given has a
	// taker.
	for totalBalance > 0 {
		for _, n := range involved {
			if n.Balance <= 0 && totalBalance > 0 {
				n.Balance--
				totalBalance--
			}
		}
	}
	sorted := append([]*Node(nil), involved...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Balance < sorted[j].Balance })
	balance := make(map[*Node]int, len(sorted))
	for _, n := range sorted {
		balance[n] = n.Balance
	}
	dst, src := 0, len(sorted)-1
	for dst < src {
		d, s := sorted[dst], sorted[src]
		num := min(abs(balance[d]), abs(balance[s]))
		if num > 0 {
			moves = append(moves, RebalanceMove{Src: s, Dst: d, Slots: num})
		}
		balance[d] += num
		balance[s] -= num
		if balance[d] == 0 {
			dst++
		}
		if balance[s] == 0 {
			src--
		}
	}
	return sorted, totalWeight, true, moves
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// ConfigSignature summarises the slot ownership a CLUSTER NODES reply describes: for
// every node that serves slots, its ID and its slot ranges, sorted. Two nodes agree
// about the slots configuration when their signatures are equal. It returns "" when
// the reply lists no node with slots (a node that knows no slots agrees with no one).
func ConfigSignature(nodes []topology.NodeInfo) string {
	var entries []string
	for _, n := range nodes {
		if len(n.Slots) == 0 {
			continue
		}
		ranges := make([]string, len(n.Slots))
		for i, r := range n.Slots {
			ranges[i] = r.String()
		}
		sort.Strings(ranges)
		entries = append(entries, n.ID+":"+strings.Join(ranges, ","))
	}
	sort.Strings(entries)
	return strings.Join(entries, "|")
}
