package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/cluster"
)

// keyPerSlot returns one key for each of n slots spread over the whole range.
func keyPerSlot(prefix string, n int) []string {
	want := map[int]bool{}
	for i := 0; i < n; i++ {
		want[i*cluster.SlotCount/n] = true
	}
	var keys []string
	for i := 0; len(keys) < n; i++ {
		k := prefix + strconv.Itoa(i)
		if s := cluster.SlotString(k); want[s] {
			delete(want, s)
			keys = append(keys, k)
		}
	}
	return keys
}

func TestClusterMode(t *testing.T) {
	bin := requireTools(t)
	c := shared.Get(t)
	port := strconv.Itoa(c.Masters()[0].Port)
	env := map[string]string{"XDG_CACHE_HOME": t.TempDir()}
	rcli := func(stdin string, args ...string) result {
		return runBinary(t, bin, invocation{args: append([]string{"-p", port, "-c"}, args...), env: env, stdin: []byte(stdin)})
	}

	t.Run("one-shot commands on keys of every shard", func(t *testing.T) {
		for i, k := range keyPerSlot("oneshot:", 60) {
			r := rcli("", "SET", k, strconv.Itoa(i))
			require.Equal(t, 0, r.Code, r.Stderr)
			require.Equal(t, "OK\n", r.Stdout)
			r = rcli("", "GET", k)
			require.Equal(t, strconv.Itoa(i)+"\n", r.Stdout, "GET %s", k)
			assert.Empty(t, r.Stderr, "no redirect line for one-shot commands, as redis-cli")
		}
	})

	t.Run("every slot through stdin lines", func(t *testing.T) {
		keys := keyPerSlot("lines:", cluster.SlotCount)
		var in strings.Builder
		for i, k := range keys {
			fmt.Fprintf(&in, "SET %s %d\n", k, i)
		}
		for _, k := range keys {
			fmt.Fprintf(&in, "GET %s\n", k)
		}
		r := rcli(in.String())
		require.Equal(t, 0, r.Code, r.Stderr)
		var values []string
		oks := 0
		for _, line := range strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n") {
			switch {
			case strings.HasPrefix(line, "-> Redirected to slot ["):
			case line == "OK":
				oks++
			default:
				values = append(values, line)
			}
		}
		assert.Equal(t, cluster.SlotCount, oks)
		require.Len(t, values, cluster.SlotCount)
		for i, v := range values {
			assert.Equal(t, strconv.Itoa(i), v)
		}
		r = rcli("", "DBSIZE")
		n, err := strconv.Atoi(strings.TrimSpace(r.Stdout))
		require.NoError(t, err)
		assert.GreaterOrEqual(t, n, cluster.SlotCount, "DBSIZE sums every master")
	})

	t.Run("redirect line follows the node", func(t *testing.T) {
		var other string
		for _, k := range keyPerSlot("redir:", 16) {
			if owner, err := c.SlotOwner(testContext(t), cluster.SlotString(k)); err == nil && owner.Port != c.Masters()[0].Port {
				other = k
				break
			}
		}
		require.NotEmpty(t, other)
		owner, err := c.SlotOwner(testContext(t), cluster.SlotString(other))
		require.NoError(t, err)
		r := rcli("GET " + other + "\nGET " + other + "\n")
		assert.Equal(t, fmt.Sprintf("-> Redirected to slot [%d] located at %s\n\n\n", cluster.SlotString(other), owner.Addr), r.Stdout)
	})

	t.Run("multi-key commands across slots", func(t *testing.T) {
		keys := keyPerSlot("multi:", 50)
		mset := []string{"MSET"}
		for i, k := range keys {
			mset = append(mset, k, "v"+strconv.Itoa(i))
		}
		r := rcli("", mset...)
		require.Equal(t, "OK\n", r.Stdout, r.Stderr)
		r = rcli("", append([]string{"--no-raw", "MGET"}, keys[:3]...)...)
		assert.Equal(t, "1) \"v0\"\n2) \"v1\"\n3) \"v2\"\n", r.Stdout)
		r = rcli("", append([]string{"EXISTS"}, keys...)...)
		assert.Equal(t, "50\n", r.Stdout)
		r = rcli("", "--no-raw", "SUNIONSTORE", keys[0], keys[1])
		assert.True(t, strings.HasPrefix(r.Stdout, "(error) CROSSSLOT Keys in request don't hash to the same slot ("), r.Stdout)
		assert.Equal(t, 0, r.Code, "an error reply, as the server's own")
	})

	t.Run("cluster-wide scan", func(t *testing.T) {
		keys := keyPerSlot("scan:", 300)
		var in strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&in, "SET %s x\n", k)
		}
		require.Equal(t, 0, rcli(in.String()).Code)
		r := rcli("", "--scan", "--pattern", "scan:*", "--count", "50")
		require.Equal(t, 0, r.Code, r.Stderr)
		got := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		sort.Strings(got)
		want := append([]string(nil), keys...)
		sort.Strings(want)
		assert.Equal(t, want, got)
		single := runBinary(t, bin, invocation{args: []string{"-p", port, "--scan", "--pattern", "scan:*"}, env: env})
		assert.Less(t, len(strings.Fields(single.Stdout)), len(keys), "without -c only one node is scanned, as redis-cli")
	})
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
