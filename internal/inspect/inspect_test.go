package inspect

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/topology"
)

func TestPoolStats(t *testing.T) {
	rows := []PoolRow{{
		Addr: "127.0.0.1:7000", Role: "master",
		Stats:  pool.Stats{Total: 4, Idle: 3, InUse: 1, Hits: 10, Misses: 4, Waits: 2, WaitTime: 3 * time.Millisecond, MaxWait: 2 * time.Millisecond},
		Probes: 10, P50: 150 * time.Microsecond, P99: 2500 * time.Microsecond,
	}}
	var text bytes.Buffer
	require.NoError(t, PoolStats(&text, rows, false))
	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	require.Len(t, lines, 2)
	assert.Equal(t, []string{"NODE", "ROLE", "TOTAL", "IDLE", "IN", "USE", "HITS", "MISSES", "WAITS", "MEAN", "WAIT", "MAX", "WAIT", "TIMEOUTS", "DIAL", "ERR", "CLOSED", "P50", "P99"}, strings.Fields(lines[0]))
	assert.Equal(t, []string{"127.0.0.1:7000", "master", "4", "3", "1", "10", "4", "2", "1.50ms", "2.00ms", "0", "0", "0", "150µs", "2.50ms"}, strings.Fields(lines[1]))

	var js bytes.Buffer
	require.NoError(t, PoolStats(&js, rows, true))
	var out []map[string]any
	require.NoError(t, json.Unmarshal(js.Bytes(), &out))
	assert.Equal(t, 1.5, out[0]["wait_mean_ms"])
	assert.Equal(t, map[string]any{"count": 10.0, "errors": 0.0, "p50_ms": 0.15, "p99_ms": 2.5}, out[0]["probe"])
}

func TestPercentiles(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	p50, p99 := Percentiles(d)
	assert.Equal(t, 51*time.Millisecond, p50)
	assert.Equal(t, 100*time.Millisecond, p99)
	p50, p99 = Percentiles(nil)
	assert.Zero(t, p50+p99)
}

func TestTopologyAndRoute(t *testing.T) {
	nodes, err := topology.ParseNodes(`a1 127.0.0.1:1@11 myself,master - 0 0 1 connected 0-8191 [5->-b2]
b2 127.0.0.1:2@12 master - 0 0 2 connected 8192-16383
c3 127.0.0.1:3@13 slave a1 0 0 1 connected`, "127.0.0.1:1")
	require.NoError(t, err)
	topo := topology.Build(nodes, "test")
	var text bytes.Buffer
	require.NoError(t, Topology(&text, topo, false))
	assert.Contains(t, text.String(), "3 nodes, 2 shards, 16384 of 16384 slots covered\n")
	assert.Contains(t, text.String(), "  replica  c3")

	var js bytes.Buffer
	require.NoError(t, Topology(&js, topo, true))
	var parsed topologyJSON
	require.NoError(t, json.Unmarshal(js.Bytes(), &parsed))
	assert.Equal(t, map[int]string{5: "b2"}, parsed.Nodes[0].Migrating)
	assert.Equal(t, []string{"127.0.0.1:3"}, parsed.Shards[0].Replicas)

	var route bytes.Buffer
	require.NoError(t, Route(&route, cluster.Route{Key: "{u}x", Slot: 7, HashTag: "u", Master: "127.0.0.1:1", ReadAddr: "127.0.0.1:1"}, false))
	assert.Equal(t, "key:      \"{u}x\"\nslot:     7\nhash tag: \"u\"\nmaster:   127.0.0.1:1\nreplicas: (none)\nreads:    127.0.0.1:1\n", route.String())
}
