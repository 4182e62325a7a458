package keystats

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/resp"
)

func TestSipHash12(t *testing.T) {
	// Values of SipHash-1-2 with a zero key from an independent implementation, which
	// also replays the summary orders below.
	assert.Equal(t, uint64(0x3204eeb59b3cccdd), sipHash12(nil))
	assert.Equal(t, uint64(0xc391c348a44be472), sipHash12([]byte("string")))
	assert.Equal(t, uint64(0x635e1cf25059b2ab), sipHash12([]byte("abcdefghij")))
}

func TestTypeOrderReplaysRedisCli(t *testing.T) {
	// The summary orders redis-cli 7.0.15 printed after looking up 0, 1, 3 and 8 keys.
	for finds, want := range map[int][]string{
		0: {"hash", "list", "string", "stream", "set", "zset"},
		1: {"string", "list", "hash", "stream", "set", "zset"},
		3: {"list", "hash", "string", "stream", "set", "zset"},
		8: {"list", "hash", "string", "stream", "set", "zset"},
	} {
		d := newTypeOrder()
		for _, ty := range knownTypes() {
			d.add(ty.name)
		}
		for range finds {
			d.find()
		}
		assert.Equal(t, want, d.order(), "after %d lookups", finds)
	}
}

// fakeSource serves pages of keys from two nodes and answers TYPE, sizes and OBJECT
// FREQ from a table.
type fakeSource struct {
	pages map[string][][]string // node -> pages
	types map[string]string
	sizes map[string]int64
}

func (f *fakeSource) ScanPages(_ context.Context, _ cluster.ScanOptions, fn func(string, [][]byte) error) error {
	for _, node := range []string{"n1:1", "n2:2"} {
		for _, page := range f.pages[node] {
			keys := make([][]byte, len(page))
			for i, k := range page {
				keys[i] = []byte(k)
			}
			if err := fn(node, keys); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *fakeSource) ExecBatch(_ context.Context, addr string, cmds []resp.Command, _ []bool) cluster.BatchResult {
	br := cluster.BatchResult{Read: len(cmds), Written: true}
	for _, c := range cmds {
		key := c.Arg(1)
		switch c.Name() {
		case "DBSIZE":
			n := 0
			for _, p := range f.pages[addr] {
				n += len(p)
			}
			br.Values = append(br.Values, resp.IntValue(int64(n)))
		case "TYPE":
			br.Values = append(br.Values, resp.StatusValue(f.types[key]))
		case "OBJECT":
			key = c.Arg(2)
			if key == "moved" {
				br.Values = append(br.Values, resp.ErrorValue("MOVED 1 x:1"))
				continue
			}
			br.Values = append(br.Values, resp.IntValue(f.sizes[key]))
		case "MEMORY":
			br.Values = append(br.Values, resp.IntValue(f.sizes[c.Arg(2)]*10))
		default:
			if key == "vanished" {
				br.Values = append(br.Values, resp.ErrorValue("WRONGTYPE Operation against a key holding the wrong kind of value"))
				continue
			}
			br.Values = append(br.Values, resp.IntValue(f.sizes[key]))
		}
	}
	return br
}

func testSource() *fakeSource {
	return &fakeSource{
		pages: map[string][][]string{
			"n1:1": {{"l1", "s1"}, {"gone", "h1"}},
			"n2:2": {{"l2", "s2", "vanished"}},
		},
		types: map[string]string{"l1": "list", "s1": "string", "gone": "none", "h1": "hash", "l2": "list", "s2": "string", "vanished": "set"},
		sizes: map[string]int64{"l1": 3, "s1": 10, "h1": 2, "l2": 7, "s2": 4},
	}
}

func TestBigKeysMergesNodes(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Run(context.Background(), testSource(), Options{Mode: BigKeys, Nodes: []string{"n1:1", "n2:2"}, Out: &out, Err: &errOut})
	require.NoError(t, err)
	text := out.String()
	assert.Contains(t, text, "[00.00%] Biggest list   found so far '\"l1\"' with 3 items\n")
	assert.Contains(t, text, "[42.86%] Biggest list   found so far '\"l2\"' with 7 items\n")
	assert.Contains(t, text, "Sampled 6 keys in the keyspace!\nTotal key length in bytes is 18 (avg len 3.00)\n")
	assert.Contains(t, text, "Biggest   list found '\"l2\"' has 7 items\n")
	assert.Contains(t, text, "Biggest string found '\"s1\"' has 10 bytes\n")
	assert.Contains(t, text, "2 lists with 10 items (33.33% of keys, avg size 5.00)\n")
	assert.Contains(t, text, "1 sets with 0 members (16.67% of keys, avg size 0.00)\n")
	assert.Equal(t, "Warning:  SCARD on 'vanished' failed (may have changed type)\n", errOut.String())
}

func TestMemKeysJSON(t *testing.T) {
	var out bytes.Buffer
	err := Run(context.Background(), testSource(), Options{Mode: MemKeys, Samples: 5, Nodes: []string{"n1:1", "n2:2"}, Out: &out, JSON: true})
	require.NoError(t, err)
	var r jsonReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &r), out.String())
	assert.Equal(t, "memkeys", r.Mode)
	assert.EqualValues(t, 6, r.Sampled)
	for _, ty := range r.Types {
		if ty.Type == "list" {
			require.NotNil(t, ty.Biggest)
			assert.Equal(t, jsonBiggest{Key: "l2", Size: 70, Node: "n2:2"}, *ty.Biggest)
			assert.Equal(t, "bytes", ty.Unit)
		}
	}
	assert.Equal(t, 1, strings.Count(out.String(), "\n"), "one line of JSON")
}

func TestHotKeys(t *testing.T) {
	src := &fakeSource{pages: map[string][][]string{"n1:1": {}, "n2:2": {}}, sizes: map[string]int64{}}
	var page []string
	for i := 0; i < 40; i++ {
		k := "k" + strconv.Itoa(i)
		page = append(page, k)
		src.sizes[k] = int64(i % 20)
	}
	page = append(page, "moved")
	src.pages["n1:1"] = [][]string{page}
	var out bytes.Buffer
	require.NoError(t, Run(context.Background(), src, Options{Mode: HotKeys, Out: &out}))
	text := out.String()
	assert.Contains(t, text, "Sampled 41 keys in the keyspace!\n")
	assert.Contains(t, text, "hot key found with counter: 19\tkeyname: \"k19\"\n")
	assert.Equal(t, 16, strings.Count(text, "hot key found with counter: "), "the 16 hottest")
	assert.NotContains(t, text, "counter: 3\t")
}
