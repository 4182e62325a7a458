package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/localredis"
	"github.com/rcli-dev/rcli/internal/redistest"
	"github.com/rcli-dev/rcli/internal/topology"
)

func TestClusterManagerMatchesRedisCli(t *testing.T) {
	bin := requireTools(t)
	c := shared.Get(t)
	for i := 0; i < 200; i++ {
		k := "key:" + strconv.Itoa(i)
		owner, err := c.SlotOwner(context.Background(), cluster.SlotString(k))
		require.NoError(t, err)
		do(t, owner, "SET", k, strconv.Itoa(i))
	}
	seed := c.Nodes[1].Addr
	host, port, _ := net.SplitHostPort(seed)
	for _, term := range []string{"dumb", "xterm-256color"} {
		env := map[string]string{"TERM": term, "XDG_CACHE_HOME": t.TempDir()}
		for _, args := range [][]string{
			{"--cluster", "info", seed},
			{"--cluster", "info", host, port},
			{"--cluster", "check", seed},
			{"--cluster", "call", seed, "DBSIZE"},
			{"--cluster", "call", seed, "GET", "key:1"},
			{"--cluster", "call", seed, "CLUSTER", "MYID", "--cluster-only-replicas"},
			{"--cluster", "call", seed, "--cluster-only-masters", "PING"},
			{"--cluster", "rebalance", seed, "--cluster-simulate"},
			{"--cluster", "help"},
			{"--cluster", "nope"},
			{"--cluster", "info"},
			{"--cluster", "info", "127.0.0.1:1"},
			{"--cluster", "info", "nocolon"},
			{"--cluster", "del-node", seed, "0000000000000000000000000000000000000000"},
			{"--cluster", "add-node", c.Nodes[0].Addr, seed},
			{"--cluster", "create", c.Nodes[0].Addr, c.Nodes[2].Addr, c.Nodes[3].Addr},
			{"--cluster", "reshard", seed, "--cluster-to", "nope", "--cluster-slots", "1", "--cluster-from", "all", "--cluster-yes"},
		} {
			compare(t, bin, invocation{args: args, env: env}, nil)
		}
	}
}

// keyOn returns a key named name whose hash tag puts it on the master that serves
// slot's shard.
func keyOn(t *testing.T, c *localredis.Cluster, owner *localredis.Server, name string) string {
	t.Helper()
	for i := 0; ; i++ {
		k := fmt.Sprintf("{%s%d}%s", name, i, name)
		s, err := c.SlotOwner(context.Background(), cluster.SlotString(k))
		require.NoError(t, err)
		if s == owner {
			return k
		}
	}
}

func TestBigKeysAcrossTheCluster(t *testing.T) {
	bin := requireTools(t)
	// LFU counters that count every access, for --hotkeys.
	c := redistest.StartCluster(t, 3, 1, "--maxmemory-policy", "allkeys-lfu", "--lfu-log-factor", "0")
	m := c.Masters()
	// The biggest key of each type lives on a different master; smaller ones elsewhere.
	bigList, bigString, bigHash := keyOn(t, c, m[2], "list"), keyOn(t, c, m[0], "string"), keyOn(t, c, m[1], "hash")
	bigSet, bigZset, bigStream := keyOn(t, c, m[0], "set"), keyOn(t, c, m[1], "zset"), keyOn(t, c, m[2], "stream")
	on := func(k string) *localredis.Server {
		s, err := c.SlotOwner(context.Background(), cluster.SlotString(k))
		require.NoError(t, err)
		return s
	}
	fill := func(cmd, k string, n int, pair bool) {
		args := []string{cmd, k}
		if cmd == "ZADD" {
			for i := 0; i < n; i++ {
				args = append(args, strconv.Itoa(i), "m"+strconv.Itoa(i))
			}
		} else {
			for i := 0; i < n; i++ {
				args = append(args, "m"+strconv.Itoa(i))
				if pair {
					args = append(args, "v")
				}
			}
		}
		do(t, on(k), args...)
	}
	fill("RPUSH", bigList, 500, false)
	do(t, on(bigString), "SET", bigString, strings.Repeat("x", 1000))
	fill("HSET", bigHash, 50, true)
	fill("SADD", bigSet, 20, false)
	fill("ZADD", bigZset, 7, false)
	for i := 0; i < 4; i++ {
		do(t, on(bigStream), "XADD", bigStream, "*", "f", "v")
	}
	total := 6
	for i := 0; i < 300; i++ { // smaller keys of every type, on every master
		k := "small:" + strconv.Itoa(i)
		switch i % 6 {
		case 0:
			do(t, on(k), "SET", k, "v")
		case 1:
			do(t, on(k), "RPUSH", k, "a", "b")
		case 2:
			do(t, on(k), "HSET", k, "f", "v")
		case 3:
			do(t, on(k), "SADD", k, "a")
		case 4:
			do(t, on(k), "ZADD", k, "1", "a")
		case 5:
			do(t, on(k), "XADD", k, "*", "f", "v")
		}
		total++
	}
	for _, s := range m {
		do(t, s, "WAIT", "1", "5000")
	}
	env := map[string]string{"XDG_CACHE_HOME": t.TempDir()}
	port := strconv.Itoa(m[0].Port)
	want := []string{
		fmt.Sprintf("Sampled %d keys in the keyspace!\n", total),
		fmt.Sprintf("Biggest   list found '\"%s\"' has 500 items\n", bigList),
		fmt.Sprintf("Biggest string found '\"%s\"' has 1000 bytes\n", bigString),
		fmt.Sprintf("Biggest   hash found '\"%s\"' has 50 fields\n", bigHash),
		fmt.Sprintf("Biggest    set found '\"%s\"' has 20 members\n", bigSet),
		fmt.Sprintf("Biggest   zset found '\"%s\"' has 7 members\n", bigZset),
		fmt.Sprintf("Biggest stream found '\"%s\"' has 4 entries\n", bigStream),
		"51 lists with 600 items (16.67% of keys, avg size 11.76)\n",
	}
	for _, readFrom := range []string{"master", "replica"} {
		t.Run("read from "+readFrom, func(t *testing.T) {
			r := runBinary(t, bin, invocation{args: []string{"-c", "-p", port, "--read-from", readFrom, "--bigkeys"}, env: env})
			require.Equal(t, 0, r.Code, r.Stderr)
			for _, w := range want {
				assert.Contains(t, r.Stdout, w)
			}
			assert.True(t, strings.HasPrefix(r.Stdout, "\n# Scanning the entire keyspace to find biggest keys as well as\n"), r.Stdout)
		})
	}

	t.Run("json", func(t *testing.T) {
		r := runBinary(t, bin, invocation{args: []string{"-c", "-p", port, "--bigkeys", "--json"}, env: env})
		require.Equal(t, 0, r.Code, r.Stderr)
		var report struct {
			Mode    string
			Sampled int
			Types   []struct {
				Type    string
				Keys    int
				Biggest *struct {
					Key  string
					Size int
					Node string
				}
			}
		}
		require.NoError(t, json.Unmarshal([]byte(r.Stdout), &report), r.Stdout)
		assert.Equal(t, "bigkeys", report.Mode)
		assert.Equal(t, total, report.Sampled)
		byType := map[string]string{}
		for _, ty := range report.Types {
			require.NotNil(t, ty.Biggest, ty.Type)
			byType[ty.Type] = ty.Biggest.Key + "@" + ty.Biggest.Node
		}
		assert.Equal(t, bigList+"@"+m[2].Addr, byType["list"])
		assert.Equal(t, bigString+"@"+m[0].Addr, byType["string"])
		assert.Equal(t, bigHash+"@"+m[1].Addr, byType["hash"])
	})

	t.Run("memkeys and hotkeys", func(t *testing.T) {
		r := runBinary(t, bin, invocation{args: []string{"-c", "-p", port, "--memkeys"}, env: env})
		require.Equal(t, 0, r.Code, r.Stderr)
		assert.Contains(t, r.Stdout, fmt.Sprintf("Biggest   list found '\"%s\"' has ", bigList))
		assert.Contains(t, r.Stdout, fmt.Sprintf("Sampled %d keys in the keyspace!\n", total))

		for i := 0; i < 20; i++ {
			do(t, on(bigHash), "HLEN", bigHash)
		}
		r = runBinary(t, bin, invocation{args: []string{"-c", "-p", port, "--hotkeys", "--json"}, env: env})
		require.Equal(t, 0, r.Code, r.Stderr)
		var hot struct {
			Sampled int
			Hotkeys []struct {
				Key     string
				Counter int
			}
		}
		require.NoError(t, json.Unmarshal([]byte(r.Stdout), &hot), r.Stdout)
		assert.Equal(t, total, hot.Sampled)
		require.NotEmpty(t, hot.Hotkeys)
		assert.Equal(t, bigHash, hot.Hotkeys[0].Key)
	})
}

func TestKeyAnalysisMatchesRedisCli(t *testing.T) {
	bin := requireTools(t)
	srv := redistest.StartServer(t)
	do(t, srv, "RPUSH", "l1", "a", "b", "c")
	do(t, srv, "RPUSH", "l 2", "a", "b", "c", "d", "e")
	do(t, srv, "SET", "s1", "hello")
	do(t, srv, "SET", "bin\x00\xff", "helloworld")
	do(t, srv, "HSET", "h1", "a", "1", "b", "2")
	do(t, srv, "SADD", "st", "a", "b", "c", "d")
	do(t, srv, "ZADD", "z", "1", "a")
	do(t, srv, "XADD", "x", "*", "a", "1")
	port := strconv.Itoa(srv.Port)
	modes := [][]string{{"--bigkeys"}, {"--memkeys"}, {"--memkeys-samples", "3"}, {"--bigkeys", "--pattern", "s*"}, {"--bigkeys", "--pattern", "nomatch"}, {"--hotkeys"}}
	for _, mode := range modes {
		compare(t, bin, invocation{args: append([]string{"-p", port}, mode...)}, nil)
	}
	// Enough keys for many SCAN pages, percentages and a summary order that depends on
	// how many keys were looked up.
	var pipe bytes.Buffer
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&pipe, "SET str:%d %s\r\nRPUSH list:%d %d\r\n", i, strings.Repeat("x", i%50+1), i%100, i)
	}
	conn, err := net.Dial("tcp", srv.Addr)
	require.NoError(t, err)
	_, err = conn.Write(pipe.Bytes())
	require.NoError(t, err)
	replies := bufio.NewReader(conn)
	for i := 0; i < 6000; i++ {
		_, err := replies.ReadString('\n')
		require.NoError(t, err)
	}
	conn.Close()
	do(t, srv, "CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
	for _, mode := range modes {
		compare(t, bin, invocation{args: append([]string{"-p", port}, mode...)}, nil)
	}
}

func TestLiveViews(t *testing.T) {
	bin := requireTools(t)
	srv := redistest.StartServer(t)
	port := strconv.Itoa(srv.Port)
	t.Run("latency takes one sample and exits when output is not a terminal", func(t *testing.T) {
		for _, tc := range []struct {
			flags []string
			re    string
		}{
			{nil, `^\d+ \d+ \d+\.\d\d \d+\n$`},
			{[]string{"--raw"}, `^\d+ \d+ \d+\.\d\d \d+\n$`},
			{[]string{"--csv"}, `^\d+,\d+,\d+\.\d\d,\d+\n$`},
			{[]string{"--json"}, `^\{"min": \d+, "max": \d+, "avg": \d+\.\d\d, "count": \d+\}\n$`},
			{[]string{"--quoted-json"}, `^\{"min": \d+, "max": \d+, "avg": \d+\.\d\d, "count": \d+\}\n$`},
		} {
			start := time.Now()
			r := runBinary(t, bin, invocation{args: append([]string{"-p", port, "--latency", "-i", "0.3"}, tc.flags...)})
			require.Equal(t, 0, r.Code, r.Stderr)
			assert.Regexp(t, tc.re, r.Stdout)
			assert.Less(t, time.Since(start), 3*time.Second)
			if strings.HasPrefix(r.Stdout, "{") {
				var v map[string]float64
				assert.NoError(t, json.Unmarshal([]byte(r.Stdout), &v))
			}
		}
	})
	t.Run("latency on a terminal rewrites its line until Ctrl-C", func(t *testing.T) {
		out, code := runUntilInterrupt(t, bin, 700*time.Millisecond, "-p", port, "--latency", "--no-raw")
		assert.Equal(t, exitInterrupted, code)
		assert.Regexp(t, `^(\x1b\[0G\x1b\[2Kmin: \d+, max: \d+, avg: \d+\.\d\d \(\d+ samples\))+\n$`, out)
	})
	t.Run("latency history", func(t *testing.T) {
		out, _ := runUntilInterrupt(t, bin, 800*time.Millisecond, "-p", port, "--latency-history", "-i", "0.3")
		assert.Regexp(t, `^(\d+ \d+ \d+\.\d\d \d+\n)+ -- 0\.\d\d seconds range\n`, out)
	})
	t.Run("stat", func(t *testing.T) {
		do(t, srv, "SET", "k", "v")
		out, code := runUntilInterrupt(t, bin, 1200*time.Millisecond, "-p", port, "--stat", "-i", "0.25")
		assert.Equal(t, exitInterrupted, code)
		lines := strings.Split(out, "\n")
		require.GreaterOrEqual(t, len(lines), 5, out)
		assert.Equal(t, "------- data ------ --------------------- load -------------------- - child -", lines[0])
		assert.Equal(t, "keys       mem      clients blocked requests            connections          ", lines[1])
		row := regexp.MustCompile(`^1          \d+(\.\d\d[KMG]|B) +\d+ +0 +\d+ \(\+\d+\) +\d+ +$`)
		assert.Regexp(t, row, lines[2])
		assert.Contains(t, lines[2], " (+0) ")
		assert.Regexp(t, row, lines[3])
	})
}

// runUntilInterrupt runs rcli for d, sends it SIGINT and returns its stdout and exit
// code.
func runUntilInterrupt(t *testing.T, bin string, d time.Duration, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = cleanEnv(nil)
	var out bytes.Buffer
	cmd.Stdout = &out
	require.NoError(t, cmd.Start())
	time.Sleep(d)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return out.String(), code
}

func TestDemoLeavesNothingBehind(t *testing.T) {
	bin := requireTools(t)
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	tmp := t.TempDir()
	start := func(stdin io.Reader) (*exec.Cmd, *bytes.Buffer, *syncBuffer) {
		cmd := exec.Command(bin, "demo")
		cmd.Env = cleanEnv(map[string]string{"TMPDIR": tmp, "XDG_CACHE_HOME": tmp, "TERM": "dumb"})
		cmd.Stdin = stdin
		var out bytes.Buffer
		errOut := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = &out, errOut
		require.NoError(t, cmd.Start())
		return cmd, &out, errOut
	}
	checkGone := func(t *testing.T, stderr string) { checkDemoGone(t, tmp, stderr) }

	t.Run("stdin lines", func(t *testing.T) {
		cmd, out, errOut := start(strings.NewReader("SET foo bar\nGET foo\nCLUSTER INFO\nDBSIZE\n"))
		require.NoError(t, cmd.Wait(), errOut.String())
		assert.Contains(t, out.String(), ">>> Performing hash slots allocation on 6 nodes...\n")
		assert.Contains(t, out.String(), "[OK] All 16384 slots covered.\n")
		assert.Contains(t, out.String(), "OK\nbar\n")
		assert.Contains(t, out.String(), "cluster_state:ok")
		assert.Contains(t, out.String(), "cluster_known_nodes:6")
		checkGone(t, errOut.String())
	})

	t.Run("Ctrl-C", func(t *testing.T) {
		pr, pw, err := os.Pipe() // stdin stays open: the session waits for input
		require.NoError(t, err)
		defer pw.Close()
		cmd, _, errOut := start(pr)
		pr.Close()
		deadline := time.Now().Add(time.Minute)
		for !strings.Contains(errOut.String(), "The cluster is ready") {
			require.True(t, time.Now().Before(deadline), errOut.String())
			time.Sleep(50 * time.Millisecond)
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		err = cmd.Wait()
		ee, ok := err.(*exec.ExitError)
		require.True(t, ok, "%v", err)
		assert.Equal(t, exitInterrupted, ee.ExitCode())
		checkGone(t, errOut.String())
	})
}

// checkDemoGone asserts that the demo whose stderr is given removed its directory
// (under tmp) and left no process running in it.
func checkDemoGone(t *testing.T, tmp, stderr string) {
	t.Helper()
	m := regexp.MustCompile(`Starting 6 redis-server processes in (\S+)\n`).FindStringSubmatch(stderr)
	require.NotNil(t, m, stderr)
	dir := m[1]
	assert.True(t, strings.HasPrefix(dir, tmp), dir)
	_, err := os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "%s still exists", dir)
	assert.Contains(t, stderr, "Stopped the demo cluster and removed "+dir+"\n")
	assert.Empty(t, processesIn(dir), "servers left running in %s", dir)
}

// processesIn returns the PIDs of processes whose working directory is under dir.
func processesIn(dir string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err == nil && strings.HasPrefix(cwd, dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// topologyOf returns the cluster as s sees it.
func topologyOf(t *testing.T, s *localredis.Server) *topology.Topology {
	t.Helper()
	nodes, err := topology.ParseNodes(do(t, s, "CLUSTER", "NODES").Text(), s.Addr)
	require.NoError(t, err)
	return topology.Build(nodes, s.Addr)
}

func TestReshardInterruptedIsRepairedByFix(t *testing.T) {
	bin := requireTools(t)
	c := redistest.StartCluster(t, 3, 0)
	m := c.Masters()
	env := map[string]string{"XDG_CACHE_HOME": t.TempDir(), "TERM": "dumb"}
	// 2000 keys in each of the slots that move first, moved one per MIGRATE, so that the
	// reshard is cut in the middle of a slot.
	var pipe bytes.Buffer
	n := 0
	for i := 0; n < 60000; i++ {
		k := "k" + strconv.Itoa(i)
		if cluster.SlotString(k) < 30 {
			fmt.Fprintf(&pipe, "SET %s %d\r\n", k, i)
			n++
		}
	}
	conn, err := net.Dial("tcp", m[0].Addr)
	require.NoError(t, err)
	_, err = conn.Write(pipe.Bytes())
	require.NoError(t, err)
	replies := bufio.NewReader(conn)
	for i := 0; i < n; i++ {
		_, err := replies.ReadString('\n')
		require.NoError(t, err)
	}
	conn.Close()

	cmd := exec.Command(bin, "--cluster", "reshard", m[0].Addr, "--cluster-from", c.ID(m[0]), "--cluster-to", c.ID(m[1]),
		"--cluster-slots", "30", "--cluster-yes", "--cluster-pipeline", "1")
	cmd.Env = cleanEnv(env)
	var out syncBuffer
	cmd.Stdout = &out
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(30 * time.Second)
	for !regexp.MustCompile(`Moving slot \d+ from \S+ to \S+: \.{10}`).MatchString(out.String()) {
		require.True(t, time.Now().Before(deadline), out.String())
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Kill()) // a crash in the middle of a slot
	_ = cmd.Wait()

	r := runBinary(t, bin, invocation{args: []string{"--cluster", "check", m[2].Addr}, env: env})
	assert.Equal(t, 1, r.Code)
	assert.Contains(t, r.Stdout, "[WARNING] The following slots are open: ")
	r = runBinary(t, bin, invocation{args: []string{"--cluster", "fix", m[2].Addr}, env: env})
	require.Equal(t, 0, r.Code, r.Stdout+r.Stderr)
	assert.Contains(t, r.Stdout, ">>> Fixing open slot ")
	deadline = time.Now().Add(10 * time.Second)
	for {
		r = runBinary(t, bin, invocation{args: []string{"--cluster", "check", m[2].Addr}, env: env})
		if r.Code == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, 0, r.Code, r.Stdout)
	total := int64(0)
	for _, s := range m {
		total += do(t, s, "DBSIZE").Int
	}
	assert.EqualValues(t, n, total, "no key lost")
	assert.Len(t, topologyOf(t, m[0]).Shards, 3)
}
