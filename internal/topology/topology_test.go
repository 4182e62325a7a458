package topology

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const nodesText = `07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host-4 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master - 0 1426238318243 3 connected 10923-16383 [16383->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 [42-<-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f]
824fe116063bc5fcf9f4ffd895bc17aee7731ac3 :0@0 slave,fail,noaddr 292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 1426238317741 1426238317741 3 disconnected
`

func TestParseNodes(t *testing.T) {
	nodes, err := ParseNodes(nodesText, "127.0.0.1:30001")
	require.NoError(t, err)
	require.Len(t, nodes, 5)
	assert.Equal(t, "127.0.0.1:30004", nodes[0].Addr)
	assert.Equal(t, 31004, nodes[0].BusPort)
	assert.Equal(t, "host-4", nodes[0].Hostname)
	assert.True(t, nodes[0].IsReplica())
	assert.Equal(t, "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca", nodes[0].MasterID)
	assert.Equal(t, []SlotRange{{10923, 16383}}, nodes[2].Slots)
	assert.Equal(t, map[int]string{16383: "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1"}, nodes[2].Migrating)
	assert.Equal(t, map[int]string{42: "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f"}, nodes[3].Importing)
	assert.True(t, nodes[3].Myself())
	assert.Equal(t, int64(1), nodes[3].ConfigEpoch)
	assert.Equal(t, "", nodes[4].Addr, "a noaddr node has no address")
	assert.True(t, nodes[4].Failing())

	topo := Build(nodes, "127.0.0.1:30001")
	require.Len(t, topo.Shards, 3)
	assert.True(t, topo.Covered())
	assert.Equal(t, "127.0.0.1:30001", topo.Shards[0].Master.Addr)
	assert.Len(t, topo.Shards[0].Replicas, 1)
	assert.Equal(t, 0, topo.Owner[0])
	assert.Equal(t, 1, topo.Owner[5461])
	assert.Equal(t, 2, topo.Owner[16383])
}

func TestParseNodesRejectsGarbage(t *testing.T) {
	for name, text := range map[string]string{
		"empty":         "",
		"short line":    "abc 127.0.0.1:1@2 master",
		"bad slot":      "a 127.0.0.1:1@2 master - 0 0 1 connected 0-99999",
		"bad range":     "a 127.0.0.1:1@2 master - 0 0 1 connected 10-5",
		"bad open slot": "a 127.0.0.1:1@2 master - 0 0 1 connected [x->-b]",
		"bad epoch":     "a 127.0.0.1:1@2 master - 0 0 x connected",
		"bad address":   "a nowhere master - 0 0 1 connected",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseNodes(text, "127.0.0.1:1")
			assert.Error(t, err)
		})
	}
}

func TestMergeHighestEpochWins(t *testing.T) {
	stale := `a 127.0.0.1:1@11 myself,master - 0 0 1 connected 0-16383
b 127.0.0.1:2@12 master - 0 0 2 connected`
	fresh := `a 127.0.0.1:1@11 master - 0 0 1 connected 0-8191
b 127.0.0.1:2@12 myself,master - 0 0 5 connected 8192-16383`
	v1, err := ParseNodes(stale, "127.0.0.1:1")
	require.NoError(t, err)
	v2, err := ParseNodes(fresh, "127.0.0.1:2")
	require.NoError(t, err)
	topo := Merge(map[string][]NodeInfo{"127.0.0.1:1": v1, "127.0.0.1:2": v2})
	require.Len(t, topo.Shards, 2)
	assert.Equal(t, "127.0.0.1:2", topo.Shards[topo.Owner[9000]].Master.Addr)
	assert.Equal(t, "127.0.0.1:1", topo.Shards[topo.Owner[0]].Master.Addr)
	require.NotEmpty(t, topo.Issues, "the disagreement is reported")
	assert.Contains(t, topo.Issues[0], "8192 slots")
}

func TestDiff(t *testing.T) {
	a, err := ParseNodes(`a 127.0.0.1:1@11 master - 0 0 1 connected 0-16383
b 127.0.0.1:2@12 slave a 0 0 1 connected`, "127.0.0.1:1")
	require.NoError(t, err)
	b, err := ParseNodes(`a 127.0.0.1:1@11 master - 0 0 1 connected 0-99
b 127.0.0.1:2@12 master - 0 0 2 connected 100-16383
c 127.0.0.1:3@13 slave b 0 0 2 connected`, "127.0.0.1:1")
	require.NoError(t, err)
	d := Diff(Build(a, ""), Build(b, ""))
	assert.Equal(t, []string{
		"node b (127.0.0.1:2) is now master, was replica",
		"node c (127.0.0.1:3) joined as replica",
		"slots 100-16383 moved from a to b",
	}, d)
}

func TestEvenSlotRanges(t *testing.T) {
	assert.Equal(t, []SlotRange{{0, 16383}}, EvenRanges(1))
	assert.Equal(t, []SlotRange{{0, 8191}, {8192, 16383}}, EvenRanges(2))
	assert.Equal(t, []SlotRange{{0, 5460}, {5461, 10922}, {10923, 16383}}, EvenRanges(3))
	for _, masters := range []int{4, 5, 7, 10, 100} {
		ranges := EvenRanges(masters)
		require.Len(t, ranges, masters)
		next := 0
		for _, r := range ranges {
			assert.Equal(t, next, r.Start, "masters=%d", masters)
			assert.GreaterOrEqual(t, r.End, r.Start, "masters=%d", masters)
			next = r.End + 1
		}
		assert.Equal(t, SlotCount, next, "masters=%d", masters)
	}
}

func TestParseNodesMore(t *testing.T) {
	text := "" +
		"07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host-4 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected\n" +
		"67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922 [77->-e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca]\n" +
		"e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 16383\n" +
		"6ec23923021cf3ffec47632106199cb7f496ce01 :0@0 master,fail?,noaddr - 1426238316232 0 5 disconnected\n"
	nodes, err := ParseNodes(text, "")
	require.NoError(t, err)
	require.Len(t, nodes, 4)

	replica := nodes[0]
	assert.Equal(t, "127.0.0.1:30004", replica.Addr)
	assert.Equal(t, 31004, replica.BusPort)
	assert.Equal(t, "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca", replica.MasterID)
	assert.False(t, replica.IsMaster())
	assert.True(t, replica.LinkState == "connected")
	assert.EqualValues(t, 4, replica.ConfigEpoch)

	assert.Equal(t, []SlotRange{{5461, 10922}}, nodes[1].Slots, "a migrating slot is left out")

	self := nodes[2]
	assert.True(t, self.Myself())
	assert.True(t, self.IsMaster())
	assert.Equal(t, "", self.MasterID)
	assert.Equal(t, []SlotRange{{0, 5460}, {16383, 16383}}, self.Slots)
	assert.True(t, self.Owns(0))
	assert.True(t, self.Owns(16383))
	assert.False(t, self.Owns(5461))

	failing := nodes[3]
	assert.True(t, failing.HasFlag("fail?"))
	assert.True(t, failing.HasFlag("noaddr"))
	assert.False(t, failing.LinkState == "connected")

	for _, bad := range []string{
		"abc 127.0.0.1:1@2 master -",
		"abc nohostport master - 0 0 1 connected",
		"abc 127.0.0.1:1@2 master - 0 0 1 connected 16384",
		"abc 127.0.0.1:1@2 master - 0 0 1 connected 10-5",
		"abc 127.0.0.1:1@2 master - 0 0 x connected",
	} {
		_, err := ParseNodes(bad, "")
		assert.Error(t, err, bad)
	}
}
