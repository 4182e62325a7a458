package cluster

import (
	"crypto/tls"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/redistest"
)

func TestPeriodicRefreshFindsAddedNode(t *testing.T) {
	c := redistest.StartCluster(t, 3, 0)
	cl := newClient(t, c, func(o *Options) {
		o.Seeds = c.Addrs()
		o.RefreshInterval = 300 * time.Millisecond
	})
	ctx := testCtx(t, 60*time.Second)
	require.NoError(t, cl.Refresh(ctx))
	key := t.Name()
	slot := SlotString(key)
	_, err := cl.Do(ctx, cmd("SET", key, "before"))
	require.NoError(t, err)

	added, err := c.AddNode(ctx)
	require.NoError(t, err)
	require.NoError(t, c.MoveSlot(ctx, slot, added))

	// No command is sent: only the periodic refresh can tell the client.
	deadline := time.Now().Add(5 * time.Second)
	for cl.SlotAddr(slot, false) != added.Addr && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, added.Addr, cl.SlotAddr(slot, false), "the periodic refresh found the new owner")
	r := cl.Exec(ctx, cmd("GET", key))
	require.NoError(t, r.Err)
	assert.Equal(t, "before", r.Value.Text())
	assert.Equal(t, added.Addr, r.Addr)
	assert.Zero(t, cl.Stats().Moved, "no MOVED was needed")
}

func TestTLSClusterNeverPlaintext(t *testing.T) {
	c := redistest.StartTLSClusterWithPlain(t, 3, 1)
	ctx := testCtx(t, 60*time.Second)
	newTLS := func(conf *tls.Config) *Client {
		cl, err := New(Options{
			Seeds: []string{c.Masters()[0].Addr}, Cluster: true, ReadFrom: ReadPreferReplica,
			Pool: pool.Options{TLS: conf, ReadTimeout: 2 * time.Second},
		})
		require.NoError(t, err)
		t.Cleanup(func() { cl.Close() })
		return cl
	}
	cl := newTLS(c.ClientTLS())
	for i, k := range keysForAllSlots("tls:")[:300] {
		_, err := cl.Do(ctx, cmd("SET", k, strconv.Itoa(i)))
		require.NoError(t, err)
		v, err := cl.Do(ctx, cmd("GET", k))
		require.NoError(t, err)
		assert.Equal(t, strconv.Itoa(i), v.Text())
	}
	v, err := cl.Do(ctx, cmd("DBSIZE"))
	require.NoError(t, err)
	assert.Equal(t, int64(300), v.Int)
	// Every node was reached, and never on its plaintext port.
	for _, n := range c.Nodes {
		list, err := n.Do(ctx, "CLIENT", "LIST")
		require.NoError(t, err)
		plain := ":" + strconv.Itoa(n.PlainPort)
		for _, line := range strings.Split(strings.TrimSpace(list.Text()), "\n") {
			assert.NotContains(t, line, "laddr=127.0.0.1"+plain+" ", "a client came in on %s's plaintext port", n.Addr)
		}
	}
	for _, p := range cl.Pools() {
		assert.Contains(t, c.Addrs(), p.Addr, "pools only at announced TLS addresses")
	}

	// A client that does not trust the cluster's CA is refused, with no plaintext retry.
	bad := c.ClientTLS()
	bad.RootCAs = nil
	bad.InsecureSkipVerify = false
	other := newTLS(bad)
	_, err = other.Do(ctx, cmd("GET", "k"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")
}

func TestNATMap(t *testing.T) {
	c := sharedCluster(t)
	nat := map[string]string{}
	for _, a := range c.Addrs() {
		nat[a] = strings.Replace(a, "127.0.0.1", "localhost", 1)
	}
	cl := newClient(t, c, func(o *Options) {
		o.Seeds = []string{nat[c.Masters()[0].Addr]}
		o.NATMap = nat
	})
	ctx := testCtx(t, 20*time.Second)
	for _, k := range keysForAllSlots("nat:")[:100] {
		_, err := cl.Do(ctx, cmd("SET", k, "v"))
		require.NoError(t, err)
	}
	require.NoError(t, cl.Refresh(ctx))
	for _, p := range cl.Pools() {
		assert.True(t, strings.HasPrefix(p.Addr, "localhost:"), "pool at %s: announced addresses are rewritten", p.Addr)
	}
}
