package localredis

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEvenSlotRanges(t *testing.T) {
	assert.Equal(t, []SlotRange{{0, 16383}}, evenSlotRanges(1))
	assert.Equal(t, []SlotRange{{0, 8191}, {8192, 16383}}, evenSlotRanges(2))
	assert.Equal(t, []SlotRange{{0, 5460}, {5461, 10922}, {10923, 16383}}, evenSlotRanges(3))
	for _, masters := range []int{4, 5, 7, 10, 100} {
		ranges := evenSlotRanges(masters)
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

func TestParseClusterNodes(t *testing.T) {
	text := "" +
		"07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host-4 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected\n" +
		"67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922 [77->-e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca]\n" +
		"e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 16383\n" +
		"6ec23923021cf3ffec47632106199cb7f496ce01 :0@0 master,fail?,noaddr - 1426238316232 0 5 disconnected\n"
	nodes, err := ParseClusterNodes(text)
	require.NoError(t, err)
	require.Len(t, nodes, 4)

	replica := nodes[0]
	assert.Equal(t, "127.0.0.1:30004", replica.Addr)
	assert.Equal(t, 31004, replica.BusPort)
	assert.Equal(t, "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca", replica.MasterID)
	assert.False(t, replica.IsMaster())
	assert.True(t, replica.Connected)
	assert.EqualValues(t, 4, replica.ConfigEpoch)

	assert.Equal(t, []SlotRange{{5461, 10922}}, nodes[1].Slots, "a migrating slot is left out")

	self := nodes[2]
	assert.True(t, self.IsMyself())
	assert.True(t, self.IsMaster())
	assert.Equal(t, "", self.MasterID)
	assert.Equal(t, []SlotRange{{0, 5460}, {16383, 16383}}, self.Slots)
	assert.True(t, self.Owns(0))
	assert.True(t, self.Owns(16383))
	assert.False(t, self.Owns(5461))

	failing := nodes[3]
	assert.True(t, failing.HasFlag("fail?"))
	assert.True(t, failing.HasFlag("noaddr"))
	assert.False(t, failing.Connected)

	for _, bad := range []string{
		"abc 127.0.0.1:1@2 master -",
		"abc nohostport master - 0 0 1 connected",
		"abc 127.0.0.1:1@2 master - 0 0 1 connected 16384",
		"abc 127.0.0.1:1@2 master - 0 0 1 connected 10-5",
		"abc 127.0.0.1:1@2 master - 0 0 x connected",
	} {
		_, err := ParseClusterNodes(bad)
		assert.Error(t, err, bad)
	}
}

func TestParseInfoField(t *testing.T) {
	text := "# Replication\r\nrole:slave\r\nmaster_link_status:up\r\n"
	v, ok := parseInfoField(text, "master_link_status")
	assert.True(t, ok)
	assert.Equal(t, "up", v)
	_, ok = parseInfoField(text, "cluster_state")
	assert.False(t, ok)
}
