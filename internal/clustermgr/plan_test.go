package clustermgr

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/topology"
)

// testNodes returns nodes host:port with IDs "id<port>", empty.
func testNodes(addrs ...string) []*Node {
	var out []*Node
	for _, a := range addrs {
		h, p, _, ok := ParseHostPort(a)
		if !ok {
			panic(a)
		}
		n := NewNode(h, p)
		n.ID = "id" + strconv.Itoa(p)
		if h != "127.0.0.1" && h != "h" {
			n.ID = "id-" + h + "-" + strconv.Itoa(p)
		}
		out = append(out, n)
	}
	return out
}

func TestPlanCreateOneHost(t *testing.T) {
	nodes := testNodes("127.0.0.1:30001", "127.0.0.1:30002", "127.0.0.1:30003", "127.0.0.1:30004", "127.0.0.1:30005", "127.0.0.1:30006")
	lines, err := PlanCreate(nodes, 1)
	require.NoError(t, err)
	// What redis-cli 7.0.15 printed for the same command line.
	assert.Equal(t, []string{
		"Master[0] -> Slots 0 - 5460",
		"Master[1] -> Slots 5461 - 10922",
		"Master[2] -> Slots 10923 - 16383",
		"Adding replica 127.0.0.1:30005 to 127.0.0.1:30001",
		"Adding replica 127.0.0.1:30006 to 127.0.0.1:30002",
		"Adding replica 127.0.0.1:30004 to 127.0.0.1:30003",
	}, lines)
	assert.Equal(t, 5461, nodes[0].SlotsCount)
	assert.Equal(t, 5462, nodes[1].SlotsCount)
	assert.True(t, nodes[2].Slots[16383])
	assert.Equal(t, "id30001", nodes[4].Replicate)
	assert.True(t, nodes[3].Dirty)

	score, offenders := AntiAffinityScore(nodes)
	assert.Equal(t, 30000, score, "every replica shares its master's host")
	assert.Len(t, offenders, 3)
	before, after := OptimizeAntiAffinity(nodes, rand.New(rand.NewPCG(1, 2)))
	assert.Equal(t, 30000, before)
	assert.Equal(t, 30000, after, "one host cannot do better")
	msg, ok := AntiAffinityMessage(after)
	assert.False(t, ok)
	assert.Equal(t, "[WARNING] Some slaves are in the same host as their master", msg)
	// Each master still has exactly one replica.
	perMaster := map[string]int{}
	for _, n := range nodes[3:] {
		perMaster[n.Replicate]++
	}
	assert.Equal(t, map[string]int{"id30001": 1, "id30002": 1, "id30003": 1}, perMaster)
}

func TestPlanCreateSpreadsOverHosts(t *testing.T) {
	nodes := testNodes("10.0.0.1:7000", "10.0.0.1:7001", "10.0.0.2:7000", "10.0.0.2:7001", "10.0.0.3:7000", "10.0.0.3:7001")
	lines, err := PlanCreate(nodes, 1)
	require.NoError(t, err)
	// Masters alternate between hosts; replicas land on another host than their master.
	assert.Equal(t, "Master[0] -> Slots 0 - 5460", lines[0])
	for _, n := range nodes {
		if n.Replicate == "" {
			continue
		}
		for _, m := range nodes {
			if m.ID == n.Replicate {
				assert.NotEqual(t, m.Host, n.Host, "%s replicates %s", n.Name(), m.Name())
			}
		}
	}
	score, _ := AntiAffinityScore(nodes)
	assert.Equal(t, 0, score)
	msg, ok := AntiAffinityMessage(score)
	assert.True(t, ok)
	assert.Equal(t, "[OK] Perfect anti-affinity obtained!", msg)
}

func TestPlanCreateExtraReplicasAndErrors(t *testing.T) {
	nodes := testNodes("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4", "127.0.0.1:5")
	lines, err := PlanCreate(nodes, 0)
	require.NoError(t, err)
	assert.Len(t, lines, 5, "five masters, no replicas")

	nodes = testNodes("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4", "127.0.0.1:5")
	_, err = PlanCreate(nodes, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "5 nodes with 1 replicas per master make 2 masters, need at least 3 (at least 6 nodes)")

	nodes = testNodes("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4", "127.0.0.1:5", "127.0.0.1:6", "127.0.0.1:7")
	lines, err = PlanCreate(nodes, 1)
	require.NoError(t, err)
	assert.Contains(t, lines, "Adding extra replicas...")
	replicas := 0
	for _, n := range nodes {
		if n.Replicate != "" {
			replicas++
		}
	}
	assert.Equal(t, 4, replicas, "three masters, four replicas after the extra pass")
}

func TestReshardTable(t *testing.T) {
	a, b := NewNode("h", 1), NewNode("h", 2)
	a.ID, b.ID = "a", "b"
	a.SetSlots(topology.SlotRange{Start: 0, End: 5999})    // 6000
	b.SetSlots(topology.SlotRange{Start: 6000, End: 8999}) // 3000
	table := ReshardTable([]*Node{b, a}, 100)
	require.Len(t, table, 100)
	// The bigger source first, rounded up: 67 from a (0..66), then 33 from b.
	assert.Equal(t, ReshardItem{Source: a, Slot: 0}, table[0])
	assert.Equal(t, ReshardItem{Source: a, Slot: 66}, table[66])
	assert.Equal(t, ReshardItem{Source: b, Slot: 6000}, table[67])
	assert.Equal(t, ReshardItem{Source: b, Slot: 6032}, table[99])

	assert.Len(t, ReshardTable([]*Node{a}, 10000), 6000, "never more than the sources have")
	assert.Empty(t, ReshardTable(nil, 10))
}

func TestRebalancePlan(t *testing.T) {
	nodes := testNodes("h:1", "h:2", "h:3", "h:4")
	nodes[0].SetSlots(topology.SlotRange{Start: 0, End: 5460})
	nodes[1].SetSlots(topology.SlotRange{Start: 5461, End: 10922})
	nodes[2].SetSlots(topology.SlotRange{Start: 10923, End: 16383})

	_, _, needed, _ := RebalancePlan(nodes, false, 2)
	assert.False(t, needed, "the empty master takes no part without --cluster-use-empty-masters")

	for _, n := range nodes {
		n.Weight = 1
	}
	sorted, weight, needed, moves := RebalancePlan(nodes, true, 2)
	require.True(t, needed)
	assert.Equal(t, float32(4), weight)
	assert.Equal(t, nodes[3], sorted[0])
	assert.Equal(t, -4096, nodes[3].Balance)
	assert.Equal(t, []RebalanceMove{
		{Src: nodes[1], Dst: nodes[3], Slots: 1366},
		{Src: nodes[2], Dst: nodes[3], Slots: 1365},
		{Src: nodes[0], Dst: nodes[3], Slots: 1365},
	}, moves)

	// Weights: the second node should hold twice as much as each other.
	for _, n := range nodes {
		n.Weight = 1
	}
	nodes[1].Weight = 2
	nodes[3].Weight = 0
	_, _, needed, moves = RebalancePlan(nodes, false, 2)
	require.True(t, needed)
	total := 0
	for _, mv := range moves {
		assert.Equal(t, nodes[1], mv.Dst)
		total += mv.Slots
	}
	assert.Equal(t, 8192-5462, total)
}

func TestConfigSignature(t *testing.T) {
	view := func(text string) []topology.NodeInfo {
		nodes, err := topology.ParseNodes(text, "127.0.0.1:1")
		require.NoError(t, err)
		return nodes
	}
	a := view("aaa 127.0.0.1:1@2 myself,master - 0 0 1 connected 0-100 200\n" +
		"bbb 127.0.0.1:3@4 master - 0 0 2 connected 101-199 [150->-aaa]\n" +
		"ccc 127.0.0.1:5@6 slave aaa 0 0 1 connected\n")
	b := view("bbb 127.0.0.1:3@4 myself,master - 0 0 2 connected 101-199\n" +
		"aaa 127.0.0.1:1@2 master - 0 0 1 connected 200 0-100\n")
	assert.Equal(t, "aaa:0-100,200|bbb:101-199", ConfigSignature(a))
	assert.Equal(t, ConfigSignature(a), ConfigSignature(b), "order and open slots do not matter")
	assert.Empty(t, ConfigSignature(view("ccc 127.0.0.1:5@6 myself,master - 0 0 0 connected\n")))
}

func TestNodeInfoAndParsing(t *testing.T) {
	n := NewNode("127.0.0.1", 30001)
	n.ID = "a2a8fe7b3587f9d122694d5913b2b796a7fe34a0"
	n.Flags = []string{"myself", "master"}
	n.SetSlots(topology.SlotRange{Start: 0, End: 5460})
	n.SetSlot(10923, true)
	n.ReplicasCount = 1
	assert.Equal(t, "M: a2a8fe7b3587f9d122694d5913b2b796a7fe34a0 127.0.0.1:30001\n"+
		"   slots:[0-5460],[10923] (5462 slots) master\n"+
		"   1 additional replica(s)", n.Info(0))
	r := NewNode("127.0.0.1", 30004)
	r.ID, r.Flags, r.replica, r.Replicate = "r", []string{"slave"}, true, n.ID
	assert.Equal(t, "    S: r 127.0.0.1:30004\n       slots: (0 slots) slave\n       replicates "+n.ID, r.Info(4))
	r.Dirty = true
	assert.Equal(t, "S: r 127.0.0.1:30004\n   replicates "+n.ID, r.Info(0))

	host, port, bus, ok := ParseHostPort("127.0.0.1:7000@17000")
	assert.True(t, ok)
	assert.Equal(t, "127.0.0.1", host)
	assert.Equal(t, 7000, port)
	assert.Equal(t, 17000, bus)
	_, _, _, ok = ParseHostPort("nocolon")
	assert.False(t, ok)
	host, port, ok = hostFromArgs([]string{"::1", "7000"})
	assert.True(t, ok)
	assert.Equal(t, "::1", host)
	assert.Equal(t, 7000, port)
	assert.Equal(t, "[::1]:7000", (&Node{Host: host, Port: port}).Addr())
	assert.Equal(t, 12, atoi("12abc"))
	assert.Equal(t, 2.5, atof("2.5x"))
}
