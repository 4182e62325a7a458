package clustermgr_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/clustermgr"
	"github.com/rcli-dev/rcli/internal/format"
	"github.com/rcli-dev/rcli/internal/localredis"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/redistest"
	"github.com/rcli-dev/rcli/internal/resp"
	"github.com/rcli-dev/rcli/internal/topology"
)

// testCtx returns a context that ends with the test, after at most a minute.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newClient returns a cluster client for the manager, closed when the test ends.
func newClient(t *testing.T, seed string) *cluster.Client {
	cl, err := cluster.New(cluster.Options{
		Seeds:   []string{seed},
		Cluster: true,
		Pool:    pool.Options{ReadTimeout: time.Minute},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// result is what one subcommand printed and its exit code.
type result struct {
	code     int
	out, err string
}

// runManager runs one subcommand with a fresh manager.
func runManager(t *testing.T, cl *cluster.Client, opts clustermgr.Options, stdin, name string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	opts.FormatRaw = func(v resp.Value) string {
		return string(format.Append(nil, v, format.Options{Mode: format.Raw, FieldSep: "\n"}))
	}
	opts.FormatJSON = func(v resp.Value) string {
		return strings.TrimSuffix(string(format.Append(nil, v, format.Options{Mode: format.JSON})), "\n")
	}
	if opts.Threshold == 0 {
		opts.Threshold = -1 // the default
	}
	m := clustermgr.New(cl, opts, clustermgr.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut})
	code, err := m.Run(testCtx(t), name, args)
	require.NoError(t, err)
	return result{code, out.String(), errOut.String()}
}

// do runs one command on a server and fails the test on an error reply.
func do(t *testing.T, s *localredis.Server, args ...string) resp.Value {
	t.Helper()
	v, err := s.Do(testCtx(t), args...)
	require.NoError(t, err, "%s %v", s.Addr, args)
	return v
}

// view returns the cluster as s sees it.
func view(t *testing.T, s *localredis.Server) *topology.Topology {
	t.Helper()
	nodes, err := topology.ParseNodes(do(t, s, "CLUSTER", "NODES").Text(), s.Addr)
	require.NoError(t, err)
	return topology.Build(nodes, s.Addr)
}

// eventually polls check every 50ms for up to 10 seconds.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCreate(t *testing.T) {
	c := redistest.StartNodes(t, 3, 1)
	cl := newClient(t, c.Addrs()[0])

	r := runManager(t, cl, clustermgr.Options{Replicas: 1}, "no\n", "create", c.Addrs()...)
	require.Equal(t, 0, r.code, "declining is not a failure: %s%s", r.out, r.err)
	assert.True(t, strings.HasSuffix(r.out, "Can I set the above configuration? (type 'yes' to accept): "), r.out)
	assert.Contains(t, do(t, c.Nodes[0], "CLUSTER", "INFO").Text(), "cluster_known_nodes:1", "nothing was changed")

	start := time.Now()
	r = runManager(t, cl, clustermgr.Options{Replicas: 1, Yes: true}, "", "create", c.Addrs()...)
	require.Equal(t, 0, r.code, r.out+r.err)
	t.Logf("create took %v", time.Since(start))
	for _, want := range []string{
		">>> Performing hash slots allocation on 6 nodes...\n",
		"Master[0] -> Slots 0 - 5460\nMaster[1] -> Slots 5461 - 10922\nMaster[2] -> Slots 10923 - 16383\n",
		">>> Trying to optimize slaves allocation for anti-affinity\n[WARNING] Some slaves are in the same host as their master\n",
		">>> Nodes configuration updated\n>>> Assign a different config epoch to each node\n>>> Sending CLUSTER MEET messages to join the cluster\nWaiting for the cluster to join\n",
		">>> Performing Cluster Check (using node " + c.Nodes[0].Addr + ")\n",
		"[OK] All nodes agree about slots configuration.\n>>> Check for open slots...\n>>> Check slots coverage...\n[OK] All 16384 slots covered.\n",
	} {
		assert.Contains(t, r.out, want)
	}
	assert.Empty(t, r.err)

	require.NoError(t, c.WaitHealthy(testCtx(t)))
	for _, s := range c.Nodes {
		assert.Contains(t, do(t, s, "CLUSTER", "INFO").Text(), "cluster_state:ok", s.Addr)
	}
	top := view(t, c.Nodes[0])
	require.Len(t, top.Shards, 3)
	for _, sh := range top.Shards {
		assert.Len(t, sh.Replicas, 1, "master %s", sh.Master.Addr)
	}
	assert.True(t, top.Covered())

	// The nodes are no longer empty: a second create refuses them.
	r = runManager(t, cl, clustermgr.Options{Replicas: 1, Yes: true}, "", "create", c.Addrs()...)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.out, "[ERR] Node "+c.Nodes[0].Addr+" is not empty. Either the node already knows other nodes (check with CLUSTER NODES) or contains some key in database 0.\n")
}

// tagPerSlot returns, for each slot below n, a hash tag whose keys hash to it.
func tagPerSlot(n int) []string {
	tags := make([]string, n)
	found := 0
	for i := 0; found < n; i++ {
		tag := strconv.Itoa(i)
		if s := cluster.SlotString(tag); s < n && tags[s] == "" {
			tags[s] = tag
			found++
		}
	}
	return tags
}

func dbsize(t *testing.T, s *localredis.Server) int64 {
	t.Helper()
	return do(t, s, "DBSIZE").Int
}

func TestReshardThenFixAnInterruptedMigration(t *testing.T) {
	c := redistest.StartCluster(t, 3, 0)
	ctx := testCtx(t)
	m0, m1, m2 := c.Masters()[0], c.Masters()[1], c.Masters()[2]
	cl := newClient(t, m0.Addr)

	// 100 keys in each of slots 0..999, all on the first master.
	const slots, perSlot = 1000, 100
	tags := tagPerSlot(slots)
	key := func(slot, i int) string { return fmt.Sprintf("{%s}:%d", tags[slot], i) }
	value := func(slot, i int) string { return fmt.Sprintf("value-%d-%d", slot, i) }
	var cmds []resp.Command
	for s := 0; s < slots; s++ {
		for i := 0; i < perSlot; i++ {
			cmds = append(cmds, resp.NewCommand("SET", key(s, i), value(s, i)))
		}
	}
	for len(cmds) > 0 {
		n := min(len(cmds), 10000)
		br := cl.ExecBatch(ctx, m0.Addr, cmds[:n], nil)
		require.NoError(t, br.Err)
		cmds = cmds[n:]
	}
	require.EqualValues(t, slots*perSlot, dbsize(t, m0))

	t.Run("reshard 1000 slots with 100000 keys", func(t *testing.T) {
		start := time.Now()
		r := runManager(t, cl, clustermgr.Options{From: c.ID(m0), To: c.ID(m1), Slots: slots, Yes: true}, "", "reshard", m0.Addr)
		elapsed := time.Since(start)
		require.Equal(t, 0, r.code, r.err)
		t.Logf("reshard of %d slots, %d keys: %v", slots, slots*perSlot, elapsed)
		assert.Contains(t, r.out, "\nReady to move 1000 slots.\n  Source nodes:\n    M: "+c.ID(m0)+" "+m0.Addr+"\n")
		assert.Contains(t, r.out, "  Resharding plan:\n    Moving slot 0 from "+c.ID(m0)+"\n")
		assert.Contains(t, r.out, "Moving slot 999 from "+m0.Addr+" to "+m1.Addr+": "+strings.Repeat(".", perSlot)+"\n")

		assert.EqualValues(t, slots*perSlot, dbsize(t, m0)+dbsize(t, m1)+dbsize(t, m2), "no key lost")
		assert.EqualValues(t, 0, dbsize(t, m0))
		assert.EqualValues(t, slots*perSlot, dbsize(t, m1))
		for s := 0; s < slots; s++ {
			args := []string{"MGET"}
			for i := 0; i < perSlot; i++ {
				args = append(args, key(s, i))
			}
			v := do(t, m1, args...)
			require.Len(t, v.Elems, perSlot)
			for i, e := range v.Elems {
				require.Equal(t, value(s, i), e.Text(), "key %s", key(s, i))
			}
		}
		owner, err := c.SlotOwner(ctx, 999)
		require.NoError(t, err)
		assert.Equal(t, m1, owner)
		r = runManager(t, cl, clustermgr.Options{}, "", "check", m2.Addr)
		assert.Equal(t, 0, r.code, r.out)
	})

	// openSlot leaves slot migrating from m1 to m2 with moved of its keys moved: a
	// reshard interrupted half-way.
	openSlot := func(t *testing.T, slot, moved int) {
		s := strconv.Itoa(slot)
		do(t, m2, "CLUSTER", "SETSLOT", s, "IMPORTING", c.ID(m1))
		do(t, m1, "CLUSTER", "SETSLOT", s, "MIGRATING", c.ID(m2))
		if moved == 0 {
			return
		}
		keys := do(t, m1, "CLUSTER", "GETKEYSINSLOT", s, strconv.Itoa(moved))
		migrate := []string{"MIGRATE", "127.0.0.1", strconv.Itoa(m2.Port), "", "0", "5000", "KEYS"}
		for _, k := range keys.Elems {
			migrate = append(migrate, k.Text())
		}
		do(t, m1, migrate...)
	}
	checkPasses := func(t *testing.T) {
		eventually(t, "check passes after fix", func() error {
			if r := runManager(t, cl, clustermgr.Options{}, "", "check", m0.Addr); r.code != 0 {
				return fmt.Errorf("%s", r.out)
			}
			return nil
		})
		assert.EqualValues(t, slots*perSlot, dbsize(t, m0)+dbsize(t, m1)+dbsize(t, m2), "no key lost")
	}

	t.Run("check reports an open slot and fix closes it", func(t *testing.T) {
		openSlot(t, 0, 30)
		r := runManager(t, cl, clustermgr.Options{}, "", "check", m0.Addr)
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.out, "[WARNING] Node "+m1.Addr+" has slots in migrating state 0.\n")
		assert.Contains(t, r.out, "[WARNING] Node "+m2.Addr+" has slots in importing state 0.\n")
		assert.Contains(t, r.out, "[WARNING] The following slots are open: 0.\n")

		// Both nodes hold keys of the slot: as redis-cli, fix gives it to the one with
		// the most (the source, 70 keys) and moves the others back there.
		r = runManager(t, cl, clustermgr.Options{}, "", "fix", m0.Addr)
		require.Equal(t, 0, r.code, r.out+r.err)
		assert.Contains(t, r.out, ">>> Fixing open slot 0\n*** Found keys about slot 0 in non-owner node "+m2.Addr+"!\n"+
			"Set as migrating in: "+m1.Addr+"\nSet as importing in: "+m2.Addr+"\n"+
			">>> No single clear owner for the slot, selecting an owner by # of keys...\n"+
			"*** Configuring "+m1.Addr+" as the slot owner\n"+
			">>> Case 2: Moving all the 0 slot keys to its owner "+m1.Addr+"\n"+
			"Moving slot 0 from "+m2.Addr+" to "+m1.Addr+": "+strings.Repeat(".", 30)+"\n"+
			">>> Setting 0 as STABLE in "+m2.Addr+"\n")
		checkPasses(t)
		assert.EqualValues(t, perSlot, do(t, m1, "CLUSTER", "COUNTKEYSINSLOT", "0").Int)
		assert.EqualValues(t, 0, do(t, m2, "CLUSTER", "COUNTKEYSINSLOT", "0").Int)
	})

	t.Run("fix finishes a move interrupted before its keys", func(t *testing.T) {
		openSlot(t, 1, 0)
		r := runManager(t, cl, clustermgr.Options{}, "", "fix", m0.Addr)
		require.Equal(t, 0, r.code, r.out+r.err)
		assert.Contains(t, r.out, ">>> Fixing open slot 1\nSet as migrating in: "+m1.Addr+"\nSet as importing in: "+m2.Addr+"\n"+
			">>> Case 1: Moving slot 1 from "+m1.Addr+" to "+m2.Addr+"\n"+
			"Moving slot 1 from "+m1.Addr+" to "+m2.Addr+": "+strings.Repeat(".", perSlot)+"\n")
		checkPasses(t)
		owner, err := c.SlotOwner(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, m2, owner)
		assert.EqualValues(t, perSlot, do(t, m2, "CLUSTER", "COUNTKEYSINSLOT", "1").Int)
	})
}

func TestAddNodeRebalanceDelNodeCall(t *testing.T) {
	c := redistest.StartCluster(t, 3, 0)
	ctx := testCtx(t)
	m0, m1 := c.Masters()[0], c.Masters()[1]
	cl := newClient(t, m0.Addr)
	// Some keys, so that slots move with their keys.
	var cmds []resp.Command
	for i := 0; i < 3000; i++ {
		cmds = append(cmds, resp.NewCommand("SET", "k:"+strconv.Itoa(i), strconv.Itoa(i)))
	}
	for _, m := range c.Masters() {
		var mine []resp.Command
		owner := map[int]bool{}
		for _, sh := range view(t, m).Shards {
			if sh.Master.Addr == m.Addr {
				for _, r := range sh.Master.Slots {
					for s := r.Start; s <= r.End; s++ {
						owner[s] = true
					}
				}
			}
		}
		for _, cmd := range cmds {
			if owner[cluster.Slot(cmd.Args[1])] {
				mine = append(mine, cmd)
			}
		}
		require.NoError(t, cl.ExecBatch(ctx, m.Addr, mine, nil).Err)
	}

	spare, err := c.StartNode(ctx)
	require.NoError(t, err)
	t.Run("add-node", func(t *testing.T) {
		r := runManager(t, cl, clustermgr.Options{}, "", "add-node", spare.Addr, m0.Addr)
		require.Equal(t, 0, r.code, r.out+r.err)
		assert.True(t, strings.HasPrefix(r.out, ">>> Adding node "+spare.Addr+" to cluster "+m0.Addr+"\n"), r.out)
		assert.True(t, strings.HasSuffix(r.out, ">>> Send CLUSTER MEET to node "+spare.Addr+" to make it join the cluster.\n[OK] New node added correctly.\n"), r.out)
		require.NoError(t, c.WaitHealthy(ctx))
	})

	t.Run("rebalance evens slots within the threshold", func(t *testing.T) {
		r := runManager(t, cl, clustermgr.Options{}, "", "rebalance", m0.Addr)
		require.Equal(t, 0, r.code, r.out+r.err)
		assert.Contains(t, r.out, "*** No rebalancing needed! All nodes are within the 2.00% threshold.\n", "the empty master takes no part by default")

		start := time.Now()
		r = runManager(t, cl, clustermgr.Options{UseEmptyMasters: true}, "", "rebalance", m0.Addr)
		require.Equal(t, 0, r.code, r.out+r.err)
		t.Logf("rebalance took %v", time.Since(start))
		assert.Contains(t, r.out, ">>> Rebalancing across 4 nodes. Total weight = 4.00\n")
		assert.Contains(t, r.out, " to "+spare.Addr+"\n#")
		top := view(t, m0)
		require.Len(t, top.Shards, 4)
		for _, sh := range top.Shards {
			count := sh.Master.SlotCount()
			errPerc := 100 - 100*4096/float64(count)
			assert.LessOrEqual(t, errPerc, 2.0, "%s has %d slots", sh.Master.Addr, count)
			assert.GreaterOrEqual(t, errPerc, -2.0, "%s has %d slots", sh.Master.Addr, count)
		}
		total := int64(0)
		for _, s := range append(c.Masters(), spare) {
			total += dbsize(t, s)
		}
		assert.EqualValues(t, 3000, total)
		assert.Positive(t, dbsize(t, spare))

		eventually(t, "balanced", func() error {
			r = runManager(t, cl, clustermgr.Options{UseEmptyMasters: true}, "", "rebalance", m0.Addr)
			if !strings.Contains(r.out, "*** No rebalancing needed!") {
				return fmt.Errorf("%s", r.out)
			}
			return nil
		})
	})

	t.Run("add-node as a replica", func(t *testing.T) {
		replica, err := c.StartNode(ctx)
		require.NoError(t, err)
		r := runManager(t, cl, clustermgr.Options{Slave: true, MasterID: c.ID(m1)}, "", "add-node", replica.Addr, m0.Addr)
		require.Equal(t, 0, r.code, r.out+r.err)
		assert.Contains(t, r.out, ">>> Configure node as replica of "+m1.Addr+".\n[OK] New node added correctly.\n")
		require.NoError(t, c.WaitHealthy(ctx))
		master, err := c.MasterOf(ctx, replica)
		require.NoError(t, err)
		assert.Equal(t, m1, master)
	})

	t.Run("del-node of an empty master", func(t *testing.T) {
		empty, err := c.StartNode(ctx)
		require.NoError(t, err)
		r := runManager(t, cl, clustermgr.Options{}, "", "add-node", empty.Addr, m0.Addr)
		require.Equal(t, 0, r.code, r.out+r.err)
		id := c.ID(empty)

		r = runManager(t, cl, clustermgr.Options{}, "", "del-node", m0.Addr, c.ID(m0))
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.out, "[ERR] Node "+m0.Addr+" is not empty! Reshard data away and try again.\n")

		r = runManager(t, cl, clustermgr.Options{}, "", "del-node", m0.Addr, id)
		require.Equal(t, 0, r.code, r.out+r.err)
		assert.Equal(t, ">>> Removing node "+id+" from cluster "+m0.Addr+"\n"+
			">>> Sending CLUSTER FORGET messages to the cluster...\n"+
			">>> Sending CLUSTER RESET SOFT to the deleted node.\n", r.out)
		for _, s := range c.Nodes {
			if s == empty {
				assert.Contains(t, do(t, s, "CLUSTER", "INFO").Text(), "cluster_known_nodes:1")
				continue
			}
			assert.NotContains(t, do(t, s, "CLUSTER", "NODES").Text(), id, "%s forgot it", s.Addr)
		}
		require.NoError(t, empty.Stop())
	})

	t.Run("call runs on every node", func(t *testing.T) {
		r := runManager(t, cl, clustermgr.Options{}, "", "call", m0.Addr, "CLUSTER", "MYID")
		require.Equal(t, 0, r.code, r.err)
		lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
		assert.Equal(t, ">>> Calling CLUSTER MYID", lines[0])
		live := 0
		for _, s := range c.Nodes {
			if s.Running() {
				live++
				assert.Contains(t, lines, s.Addr+": "+c.ID(s))
			}
		}
		assert.Len(t, lines, 1+live)

		r = runManager(t, cl, clustermgr.Options{JSON: true, OnlyMasters: true}, "", "call", m0.Addr, "DBSIZE")
		require.Equal(t, 0, r.code, r.err)
		var replies []struct {
			Node, ID, Role string
			Reply          int64
		}
		require.NoError(t, json.Unmarshal([]byte(r.out), &replies), r.out)
		assert.Len(t, replies, 4)
		sum := int64(0)
		for _, rep := range replies {
			assert.Equal(t, "master", rep.Role)
			sum += rep.Reply
		}
		assert.EqualValues(t, 3000, sum)
	})

	t.Run("set-timeout", func(t *testing.T) {
		r := runManager(t, cl, clustermgr.Options{}, "", "set-timeout", m0.Addr, "50")
		assert.Equal(t, 1, r.code)
		assert.Equal(t, "Setting a node timeout of less than 100 milliseconds is a bad idea.\n", r.err)
		// The test servers run without a config file, so CONFIG REWRITE fails after
		// CONFIG SET took effect; redis-cli reports it the same way and exits 0.
		r = runManager(t, cl, clustermgr.Options{}, "", "set-timeout", m0.Addr, "3000")
		require.Equal(t, 0, r.code, r.out)
		assert.Contains(t, r.out, "ERR setting node-timeot for "+m0.Addr+": ERR The server is running without a config file\n")
		assert.Contains(t, r.out, ">>> New node timeout set. 0 OK, ")
		assert.Equal(t, "3000", do(t, m1, "CONFIG", "GET", "cluster-node-timeout").Elems[1].Text())
	})
}
