package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/localredis"
	"github.com/rcli-dev/rcli/internal/redistest"
)

// TestPubSubScriptsCluster runs rcli -c against one cluster with replicas: sharded
// subscriptions over every shard, scripts and functions where the command tips say,
// transactions typed on stdin, and last a slot migration under a subscription.
func TestPubSubScriptsCluster(t *testing.T) {
	bin := requireTools(t)
	c := redistest.StartCluster(t, 3, 1)
	seed := c.Masters()[0]
	env := map[string]string{"XDG_CACHE_HOME": t.TempDir()}
	base := []string{"-p", strconv.Itoa(seed.Port), "-c"}
	rcli := func(stdin string, args ...string) result {
		return runBinary(t, bin, invocation{args: append(append([]string{}, base...), args...), env: env, stdin: []byte(stdin)})
	}
	owner := func(key string) *localredis.Server {
		s, err := c.SlotOwner(testContext(t), cluster.SlotString(key))
		require.NoError(t, err)
		return s
	}
	resetStats := func() {
		for _, n := range c.Nodes {
			do(t, n, "CONFIG", "RESETSTAT")
		}
	}
	calls := func(cmd string) map[string]int {
		out := map[string]int{}
		for _, n := range c.Nodes {
			if k := infoCalls(t, n, cmd); k > 0 {
				out[n.Addr] = k
			}
		}
		return out
	}
	dir := t.TempDir()
	writeScript := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}

	t.Run("SSUBSCRIBE over every shard, valid JSON", func(t *testing.T) {
		names := keyPerSlot("css:", 30)
		p := startStream(t, bin, append(append([]string{}, base...), append([]string{"--json", "SSUBSCRIBE"}, names...)...)...)
		p.waitOutput(t, fmt.Sprintf(`["ssubscribe","%s",30]`, names[29]))
		masters := map[string]bool{}
		for i, n := range names {
			o := owner(n)
			masters[o.Addr] = true
			v := do(t, o, "SPUBLISH", n, "m"+strconv.Itoa(i))
			assert.Equal(t, int64(1), v.Int, "SPUBLISH %s at %s reached rcli", n, o.Addr)
		}
		assert.Len(t, masters, 3, "the channels span every master")
		p.waitOutput(t, fmt.Sprintf(`["smessage","%s","m29"]`, names[29]))
		p.stop(t)
		lines := strings.Split(strings.TrimSuffix(p.stdout.String(), "\n"), "\n")
		require.Len(t, lines, 60)
		for i, l := range lines {
			var v []any
			require.NoError(t, jsonUnmarshal(l, &v), "line %d: %q", i, l)
			if i < 30 {
				assert.Equal(t, []any{"ssubscribe", names[i], float64(i + 1)}, v, "confirmations in order, counted as one connection")
			}
		}
		assert.Empty(t, p.stderr.String())
	})

	t.Run("SUBSCRIBE sees PUBLISH on any node", func(t *testing.T) {
		p := startStream(t, bin, append(append([]string{}, base...), "SUBSCRIBE", "news")...)
		p.waitOutput(t, "subscribe\nnews\n1\n")
		do(t, c.Masters()[2], "PUBLISH", "news", "from master 3")
		do(t, c.Replicas()[1], "PUBLISH", "news", "from a replica")
		p.waitOutput(t, "message\nnews\nfrom a replica\n")
		p.waitOutput(t, "message\nnews\nfrom master 3\n") // two nodes: in either order
		p.stop(t)
		assert.Len(t, p.stdout.String(), len("subscribe\nnews\n1\nmessage\nnews\nfrom master 3\nmessage\nnews\nfrom a replica\n"))
	})

	script := writeScript("set.lua", "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])")
	t.Run("--eval: EVALSHA, then EVAL on NOSCRIPT, on the slot's master", func(t *testing.T) {
		require.Equal(t, "OK\n", rcli("", "SCRIPT", "FLUSH").Stdout)
		resetStats()
		key := "evalkey"
		r := rcli("", "--eval", script, key, ",", "v1")
		require.Equal(t, result{Stdout: "v1\n"}, r)
		o := owner(key)
		assert.Equal(t, map[string]int{o.Addr: 1}, calls("evalsha"))
		assert.Equal(t, map[string]int{o.Addr: 1}, calls("eval"), "the script went once, after NOSCRIPT")
		r = rcli("", "--eval", script, key, ",", "v2")
		require.Equal(t, result{Stdout: "v2\n"}, r)
		assert.Equal(t, map[string]int{o.Addr: 2}, calls("evalsha"))
		assert.Equal(t, map[string]int{o.Addr: 1}, calls("eval"), "cached by the first run")
	})

	t.Run("--eval: a cross-slot script is refused before sending", func(t *testing.T) {
		resetStats()
		keys := keyPerSlot("xs:", 2)
		r := rcli("", "--no-raw", "--eval", script, keys[0], keys[1], ",", "v")
		assert.Equal(t, 0, r.Code, "an error reply, as the server's own")
		assert.True(t, strings.HasPrefix(r.Stdout, "(error) CROSSSLOT Keys in request don't hash to the same slot (script touches slots "), r.Stdout)
		assert.Empty(t, calls("evalsha"))
		assert.Empty(t, calls("eval"))
		r = rcli("", "-e", "--eval", script, keys[0], keys[1], ",", "v")
		assert.Equal(t, 1, r.Code, "-e makes it fail the run")
	})

	t.Run("--eval of a no-writes script on a replica: EVALSHA_RO, then EVAL_RO", func(t *testing.T) {
		ro := writeScript("ro.lua", "#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])")
		key := "evalkey"
		resetStats()
		r := rcli("", "--read-from", "replica", "--eval", ro, key)
		require.Equal(t, result{Stdout: "v2\n"}, r)
		shaRO, evalRO := calls("evalsha_ro"), calls("eval_ro")
		require.Len(t, shaRO, 1)
		require.Equal(t, shaRO, evalRO, "NOSCRIPT on the replica, then EVAL_RO there")
		for addr := range shaRO {
			assert.NotEqual(t, owner(key).Addr, addr, "served by a replica")
		}
		resetStats()
		r = rcli("", "--eval", ro, key)
		require.Equal(t, result{Stdout: "v2\n"}, r)
		assert.Equal(t, map[string]int{owner(key).Addr: 1}, calls("evalsha"), "without --read-from: EVALSHA on the master")
	})

	t.Run("SCRIPT LOAD and FLUSH reach every node", func(t *testing.T) {
		r := rcli("", "SCRIPT", "LOAD", "return 'loaded'")
		require.Equal(t, 0, r.Code, r.Stderr)
		sha := strings.TrimSpace(r.Stdout)
		require.Len(t, sha, 40)
		for _, n := range c.Nodes {
			assert.Equal(t, int64(1), do(t, n, "SCRIPT", "EXISTS", sha).Elems[0].Int, "cached on %s", n.Addr)
		}
		assert.Equal(t, "1\n", rcli("", "SCRIPT", "EXISTS", sha).Stdout)
		assert.Equal(t, "OK\n", rcli("", "SCRIPT", "FLUSH").Stdout)
		for _, n := range c.Nodes {
			assert.Equal(t, int64(0), do(t, n, "SCRIPT", "EXISTS", sha).Elems[0].Int, "flushed on %s", n.Addr)
		}
	})

	t.Run("FUNCTION LOAD, DELETE and FLUSH reach every master; FCALL goes by key", func(t *testing.T) {
		lib := "#!lua name=rclilib\n" +
			"redis.register_function('rcliset', function(keys, args) return redis.call('SET', keys[1], args[1]) end)\n" +
			"redis.register_function{function_name='rcliget', callback=function(keys, args) return redis.call('GET', keys[1]) end, flags={'no-writes'}}"
		libraries := func(n *localredis.Server) int {
			return len(do(t, n, "FUNCTION", "LIST", "LIBRARYNAME", "rclilib").Elems)
		}
		r := rcli("", "FUNCTION", "LOAD", lib)
		require.Equal(t, result{Stdout: "rclilib\n"}, r)
		for _, m := range c.Masters() {
			assert.Equal(t, 1, libraries(m), "loaded on %s", m.Addr)
		}
		resetStats()
		key := "fnkey"
		assert.Equal(t, "OK\n", rcli("", "FCALL", "rcliset", "1", key, "fv").Stdout)
		assert.Equal(t, map[string]int{owner(key).Addr: 1}, calls("fcall"))
		assert.Equal(t, "fv\n", rcli("", "--read-from", "replica", "FCALL_RO", "rcliget", "1", key).Stdout)
		ro := calls("fcall_ro")
		require.Len(t, ro, 1)
		for addr := range ro {
			assert.NotEqual(t, owner(key).Addr, addr, "FCALL_RO served by a replica")
		}
		require.Equal(t, "OK\n", rcli("", "FUNCTION", "DELETE", "rclilib").Stdout)
		for _, m := range c.Masters() {
			assert.Zero(t, libraries(m), "deleted on %s", m.Addr)
		}
		require.Equal(t, "rclilib\n", rcli("", "FUNCTION", "LOAD", lib).Stdout)
		require.Equal(t, "OK\n", rcli("", "FUNCTION", "FLUSH").Stdout)
		for _, m := range c.Masters() {
			assert.Zero(t, libraries(m), "flushed on %s", m.Addr)
		}
	})

	t.Run("WATCH, MULTI and EXEC on stdin stay on one connection", func(t *testing.T) {
		key := "{wt}counter"
		o := owner(key)
		do(t, o, "SET", key, "1")
		run := func(interfere bool) string {
			cmd := exec.Command(bin, base...)
			cmd.Env = cleanEnv(env)
			stdin, err := cmd.StdinPipe()
			require.NoError(t, err)
			var stdout syncBuffer
			cmd.Stdout, cmd.Stderr = &stdout, &stdout
			require.NoError(t, cmd.Start())
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			w := bufio.NewWriter(stdin)
			fmt.Fprintf(w, "WATCH %s\nMULTI\nINCR %s\nSET elsewhere 1\nINCR %s\n", key, key, key)
			require.NoError(t, w.Flush())
			require.Eventually(t, func() bool { return strings.Count(stdout.String(), "QUEUED") == 2 }, 10*time.Second, 10*time.Millisecond, "%q", stdout.String())
			if interfere {
				do(t, o, "SET", key, "100") // another client touches the watched key
			}
			fmt.Fprintf(w, "EXEC\nGET %s\n", key)
			require.NoError(t, w.Flush())
			require.NoError(t, stdin.Close())
			require.NoError(t, cmd.Wait())
			var lines []string
			for _, l := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
				if !strings.HasPrefix(l, "-> Redirected to slot") {
					lines = append(lines, l)
				}
			}
			return strings.Join(lines, "\n")
		}
		got := run(false)
		slotErr := fmt.Sprintf("CROSSSLOT rcli: the keys of SET are in slot %d (served by %s), but this transaction is bound to slot %d on %s; "+
			"the keys of a transaction must share one slot (a hash tag such as {user1} does it); nothing was sent",
			cluster.SlotString("elsewhere"), owner("elsewhere").Addr, cluster.SlotString(key), o.Addr)
		// Raw mode prints an error reply with an empty line after it, as redis-cli does.
		assert.Equal(t, "OK\nOK\nQUEUED\n"+slotErr+"\n\nQUEUED\n2\n3\n3", got)
		got = run(true)
		assert.Equal(t, "OK\nOK\nQUEUED\n"+slotErr+"\n\nQUEUED\n\n100", got, "EXEC aborted: WATCH was on the same connection")
	})

	t.Run("SSUBSCRIBE follows a slot migration, reporting the gap", func(t *testing.T) {
		names := append(keyPerSlot("mig:", 6), "{mig}a")
		p := startStream(t, bin, append(append([]string{}, base...), append([]string{"SSUBSCRIBE"}, names...)...)...)
		p.waitOutput(t, "ssubscribe\n{mig}a\n7\n")
		slot := cluster.SlotString("{mig}a")
		from := owner("{mig}a")
		var to *localredis.Server
		for _, m := range c.Masters() {
			if m != from && m.Live() {
				to = m
				break
			}
		}
		require.NoError(t, c.MoveSlot(testContext(t), slot, to))
		require.Eventually(t, func() bool { return strings.Contains(p.stderr.String(), "pub/sub: restored") }, 10*time.Second, 10*time.Millisecond)
		v := do(t, to, "SPUBLISH", "{mig}a", "after the move")
		assert.Equal(t, int64(1), v.Int, "subscribed at the new owner")
		p.waitOutput(t, "smessage\n{mig}a\nafter the move\n")
		p.stop(t)
		assert.NotContains(t, p.stdout.String(), "sunsubscribe", "the server's sunsubscribe is handled, not printed")
		errLines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
		require.Len(t, errLines, 2, p.stderr.String())
		assert.Equal(t, "rcli: pub/sub: "+from.Addr+" dropped 1 shard channel ({mig}a) (their slot moved): subscribing at the new owner, messages published meanwhile are missed", errLines[0])
		assert.True(t, strings.HasPrefix(errLines[1], "rcli: pub/sub: restored 1 shard channel ({mig}a) at "+to.Addr+" after a gap of "), errLines[1])
	})

	t.Run("SSUBSCRIBE survives the death of a master", func(t *testing.T) {
		names := keyPerSlot("die:", 9)
		p := startStream(t, bin, append(append([]string{}, base...), append([]string{"SSUBSCRIBE"}, names...)...)...)
		p.waitOutput(t, "ssubscribe\n"+names[8]+"\n9\n")
		victim := c.Masters()[1]
		var lost []string
		for _, n := range names {
			if owner(n) == victim {
				lost = append(lost, n)
			}
		}
		require.NotEmpty(t, lost)
		require.NoError(t, victim.Kill())
		require.Eventually(t, func() bool { return strings.Contains(p.stderr.String(), "pub/sub: restored") }, 30*time.Second, 10*time.Millisecond,
			"stderr: %q", p.stderr.String())
		for _, n := range lost {
			v := do(t, owner(n), "SPUBLISH", n, "after the failover")
			assert.Equal(t, int64(1), v.Int, "resubscribed at the new master of %s", n)
			p.waitOutput(t, "smessage\n"+n+"\nafter the failover\n")
		}
		p.stop(t)
		assert.True(t, strings.HasPrefix(p.stderr.String(), "rcli: pub/sub: lost the connection to "+victim.Addr+" ("), p.stderr.String())
		t.Logf("stderr:\n%s", p.stderr.String())
	})
}
