package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/localredis"
	"github.com/rcli-dev/rcli/internal/redistest"
)

type poolRowJSON struct {
	Addr   string `json:"addr"`
	Role   string `json:"role"`
	Total  int    `json:"total"`
	Idle   int    `json:"idle"`
	InUse  int    `json:"in_use"`
	Hits   uint64 `json:"hits"`
	Misses uint64 `json:"misses"`
	Probe  *struct {
		Count  int `json:"count"`
		Errors int `json:"errors"`
	} `json:"probe"`
}

func infoField(t *testing.T, s *localredis.Server, section, field string) int {
	t.Helper()
	v, err := s.Do(testContext(t), "INFO", section)
	require.NoError(t, err)
	for _, line := range strings.Split(v.Text(), "\r\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.Atoi(rest)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("no %s in INFO %s", field, section)
	return 0
}

func TestPoolStatsSingleNode(t *testing.T) {
	bin := requireTools(t)
	s := redistest.StartServer(t)
	port := strconv.Itoa(s.Port)

	before := infoField(t, s, "stats", "total_connections_received")
	r := runBinary(t, bin, invocation{args: []string{"-p", port, "pool-stats", "--probe", "500", "--concurrency", "8", "--json"}})
	require.Equal(t, 0, r.Code, r.Stderr)
	after := infoField(t, s, "stats", "total_connections_received")

	var rows []poolRowJSON
	require.NoError(t, json.Unmarshal([]byte(r.Stdout), &rows), r.Stdout)
	require.Len(t, rows, 1)
	row := rows[0]
	assert.Equal(t, s.Addr, row.Addr)
	assert.Equal(t, "standalone", row.Role)
	assert.Equal(t, 8, row.Total, "warmed to the concurrency")
	assert.Equal(t, 8, row.Idle)
	assert.Zero(t, row.InUse)
	// The second INFO came in on a connection of its own, which the server counted too.
	assert.Equal(t, uint64(after-before-1), row.Misses, "every dial the pool counted, the server saw")
	assert.GreaterOrEqual(t, row.Hits, uint64(500))
	require.NotNil(t, row.Probe)
	assert.Equal(t, 500, row.Probe.Count)
	assert.Zero(t, row.Probe.Errors)
	assert.Equal(t, 1, infoField(t, s, "clients", "connected_clients"), "rcli closed every connection on exit")

	r = runBinary(t, bin, invocation{args: []string{"-p", port, "pool-stats", "--probe", "10"}})
	require.Equal(t, 0, r.Code, r.Stderr)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], "NODE")
	assert.Contains(t, lines[0], "P99")
	assert.Contains(t, lines[1], s.Addr)
	assert.Contains(t, lines[1], "standalone")
}

func TestInspectCluster(t *testing.T) {
	bin := requireTools(t)
	c := shared.Get(t)
	port := strconv.Itoa(c.Masters()[0].Port)
	env := map[string]string{"XDG_CACHE_HOME": t.TempDir()}
	rcli := func(args ...string) result {
		r := runBinary(t, bin, invocation{args: append([]string{"-p", port}, args...), env: env})
		require.Equal(t, 0, r.Code, r.Stderr)
		return r
	}

	t.Run("pool-stats on every node", func(t *testing.T) {
		var rows []poolRowJSON
		require.NoError(t, json.Unmarshal([]byte(rcli("-c", "pool-stats", "--probe", "20", "--json").Stdout), &rows))
		require.Len(t, rows, 6)
		roles := map[string]int{}
		for _, row := range rows {
			roles[row.Role]++
			assert.Equal(t, 20, row.Probe.Count, row.Addr)
		}
		assert.Equal(t, map[string]int{"master": 3, "replica": 3}, roles)
	})

	t.Run("topology show", func(t *testing.T) {
		var topo struct {
			Nodes  []struct{ Addr, Role string } `json:"nodes"`
			Shards []struct {
				Master   string   `json:"master"`
				Replicas []string `json:"replicas"`
				Slots    []string `json:"slots"`
			} `json:"shards"`
			Covered bool     `json:"all_slots_covered"`
			Issues  []string `json:"issues"`
		}
		require.NoError(t, json.Unmarshal([]byte(rcli("topology", "show", "--json").Stdout), &topo))
		assert.Len(t, topo.Nodes, 6)
		require.Len(t, topo.Shards, 3)
		assert.True(t, topo.Covered)
		assert.Empty(t, topo.Issues)
		assert.Equal(t, []string{"0-5460"}, topo.Shards[0].Slots)
		text := rcli("topology", "show").Stdout
		assert.Contains(t, text, "6 nodes, 3 shards, 16384 of 16384 slots covered")
	})

	t.Run("topology refresh reports changes", func(t *testing.T) {
		first := rcli("topology", "refresh").Stdout
		assert.Contains(t, first, "cached 6 nodes, 3 shards")
		assert.Equal(t, "no change\n", rcli("topology", "refresh").Stdout)
	})

	t.Run("route", func(t *testing.T) {
		owner, err := c.SlotOwner(testContext(t), cluster.SlotString("foo"))
		require.NoError(t, err)
		out := rcli("-c", "route", "foo").Stdout
		assert.Contains(t, out, "slot:     12182\n")
		assert.Contains(t, out, "master:   "+owner.Addr+"\n")
		var r struct {
			Slot    int    `json:"slot"`
			HashTag string `json:"hash_tag"`
		}
		require.NoError(t, json.Unmarshal([]byte(rcli("-c", "route", "--json", "{user}.name").Stdout), &r))
		assert.Equal(t, cluster.SlotString("user"), r.Slot)
		assert.Equal(t, "user", r.HashTag)
	})
}
