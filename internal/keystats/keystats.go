package keystats

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/format"
	"github.com/rcli-dev/rcli/internal/progress"
	"github.com/rcli-dev/rcli/internal/resp"
)

// Mode says what the walk looks for.
type Mode int

// The analysis modes.
const (
	BigKeys Mode = iota // the longest key of each type (STRLEN, LLEN, SCARD, HLEN, ZCARD, XLEN)
	MemKeys             // the key of each type using the most memory (MEMORY USAGE)
	HotKeys             // the 16 most frequently used keys (OBJECT FREQ, LFU policies only)
)

// hotKeysKept is how many hot keys the report keeps, as redis-cli.
const hotKeysKept = 16

// millionKeys is how often redis-cli reports the number of keys sampled so far.
const millionKeys = 1_000_000

// Source is where the keys come from: the cluster client, which walks every shard and
// runs batches on one node.
type Source interface {
	ScanPages(ctx context.Context, o cluster.ScanOptions, fn func(addr string, keys [][]byte) error) error
	ExecBatch(ctx context.Context, addr string, cmds []resp.Command, asking []bool) cluster.BatchResult
}

// Options configure a walk.
type Options struct {
	Mode Mode // what to look for
	// Samples is --memkeys-samples: MEMORY USAGE's SAMPLES (0 leaves the server's
	// default).
	Samples int
	// Pattern is SCAN's MATCH (--pattern); "" for every key.
	Pattern string
	// Interval is slept after every 100 keys (-i).
	Interval time.Duration
	// Nodes are the nodes the walk covers (every master, or the replicas read from);
	// their DBSIZE sum is the total the percentages and the progress display use.
	Nodes []string
	// Out receives the report; Err the warnings. Progress, when not nil, receives a
	// progress display (give it stderr when it is a terminal).
	Out, Err, Progress io.Writer
	// JSON prints one JSON document instead of redis-cli's text.
	JSON bool
}

// Failure is an error that ends a walk, in the words redis-cli prints for it.
type Failure struct {
	Msg string // the message, printed as it is
}

// Error returns the message.
func (f *Failure) Error() string { return f.Msg }

// fail returns a *Failure with a formatted message.
func fail(format string, args ...any) error { return &Failure{Msg: fmt.Sprintf(format, args...)} }

// typeInfo is what the walk knows about one key type.
type typeInfo struct {
	name        string
	sizeCmd     string // "" for types whose length rcli cannot ask (module types)
	unit        string
	count       uint64
	total       uint64
	biggest     uint64
	biggestKey  []byte
	biggestNode string
	found       bool
}

// knownTypes returns the types redis-cli knows, in the order it adds them to its
// dict.
func knownTypes() []*typeInfo {
	return []*typeInfo{
		{name: "string", sizeCmd: "STRLEN", unit: "bytes"},
		{name: "list", sizeCmd: "LLEN", unit: "items"},
		{name: "set", sizeCmd: "SCARD", unit: "members"},
		{name: "hash", sizeCmd: "HLEN", unit: "fields"},
		{name: "zset", sizeCmd: "ZCARD", unit: "members"},
		{name: "stream", sizeCmd: "XLEN", unit: "entries"},
	}
}

// hotKey is one of the hottest keys found.
type hotKey struct {
	key     []byte
	node    string
	counter uint64
}

// walk is one run's state.
type walk struct {
	o       Options
	src     Source
	byName  map[string]*typeInfo
	order   *typeOrder // the order of redis-cli's summary
	sampled uint64
	keyLen  uint64
	total   uint64
	hot     [hotKeysKept]hotKey // ascending by counter, as redis-cli's eviction pool
	bar     *progress.Bar
}

// Run walks the keyspace and prints the report. An error that ends the walk is
// returned with the words redis-cli would print (such as "Error: ERR An LFU maxmemory
// policy is not selected...").
func Run(ctx context.Context, src Source, o Options) error {
	w := &walk{o: o, src: src, byName: map[string]*typeInfo{}, order: newTypeOrder()}
	for _, t := range knownTypes() {
		w.byName[t.name] = t
		w.order.add(t.name)
	}
	total, err := w.dbsize(ctx)
	if err != nil {
		return err
	}
	w.total = total
	if !o.JSON {
		what := "biggest keys"
		if o.Mode == HotKeys {
			what = "hot keys"
		}
		w.print("\n# Scanning the entire keyspace to find %s as well as\n"+
			"# average sizes per key type.  You can use -i 0.1 to sleep 0.1 sec\n"+
			"# per 100 SCAN commands (not usually needed).\n\n", what)
	}
	if o.Progress != nil {
		label := [...]string{BigKeys: "bigkeys", MemKeys: "memkeys", HotKeys: "hotkeys"}[o.Mode]
		w.bar = progress.New(o.Progress, label, "keys", int64(total))
		defer w.bar.Clear()
	}
	err = src.ScanPages(ctx, cluster.ScanOptions{Match: o.Pattern}, func(addr string, keys [][]byte) error {
		before := w.sampled
		pct := 0.0
		if w.total > 0 {
			pct = 100 * float64(w.sampled) / float64(w.total)
		}
		var err error
		if o.Mode == HotKeys {
			err = w.hotPage(ctx, addr, keys, pct)
		} else {
			err = w.sizePage(ctx, addr, keys, pct)
		}
		if err != nil {
			return err
		}
		if w.bar != nil {
			w.bar.Set(int64(w.sampled), "")
		}
		if o.Interval > 0 && w.sampled/100 > before/100 {
			t := time.NewTimer(o.Interval)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	if w.bar != nil {
		w.bar.Clear()
	}
	if err != nil {
		return err
	}
	if o.Mode == HotKeys {
		return w.hotReport()
	}
	return w.sizeReport()
}

// print writes text output, erasing the progress display first.
func (w *walk) print(format string, args ...any) {
	if w.bar != nil {
		w.bar.Clear()
	}
	fmt.Fprintf(w.o.Out, format, args...)
}

// warn writes a warning on Err.
func (w *walk) warn(format string, args ...any) {
	if w.bar != nil {
		w.bar.Clear()
	}
	if w.o.Err != nil {
		fmt.Fprintf(w.o.Err, format, args...)
	}
}

// dbsize returns the number of keys on the nodes walked.
func (w *walk) dbsize(ctx context.Context) (uint64, error) {
	var total uint64
	for _, addr := range w.o.Nodes {
		br := w.src.ExecBatch(ctx, addr, []resp.Command{resp.NewCommand("DBSIZE")}, nil)
		if br.Err != nil {
			return 0, br.Err
		}
		v := br.Values[0]
		switch v.Kind {
		case resp.Integer:
			total += uint64(max(v.Int, 0))
		case resp.Error:
			return 0, fail("Couldn't determine DBSIZE: %s", v.Str)
		default:
			return 0, fail("Non INTEGER response from DBSIZE!")
		}
	}
	return total, nil
}

// redirected reports whether an error reply says the key now lives elsewhere: it moved
// during the walk and its new owner's page reports it.
func redirected(v resp.Value) bool {
	return v.Kind == resp.Error && (strings.HasPrefix(string(v.Str), "MOVED ") || strings.HasPrefix(string(v.Str), "ASK "))
}

// sizePage asks the type and then the size of every key of a page, two pipelined
// batches to the node that sent it, and updates the statistics.
func (w *walk) sizePage(ctx context.Context, addr string, keys [][]byte, pct float64) error {
	if len(keys) == 0 {
		return nil
	}
	cmds := make([]resp.Command, len(keys))
	for i, k := range keys {
		cmds[i] = resp.Command{Args: [][]byte{[]byte("TYPE"), k}}
	}
	br := w.src.ExecBatch(ctx, addr, cmds, nil)
	if br.Err != nil {
		return fail("Error getting type for key '%s' (%v)", keys[br.Read], br.Err)
	}
	types := make([]*typeInfo, len(keys))
	for i, v := range br.Values {
		switch {
		case redirected(v):
			continue
		case v.Kind == resp.Error:
			return fail("TYPE returned an error: %s", v.Str)
		case v.Kind != resp.SimpleString:
			return fail("Invalid reply type (%s) for TYPE on key '%s'!", v.Kind, keys[i])
		}
		name := string(v.Str)
		w.order.find()
		if name == "none" {
			continue // deleted between SCAN and TYPE
		}
		t, ok := w.byName[name]
		if !ok {
			t = &typeInfo{name: name, unit: "?"}
			w.byName[name] = t
			w.order.add(name)
		}
		types[i] = t
	}

	cmds = cmds[:0]
	var asked []int
	for i, t := range types {
		if t == nil || (t.sizeCmd == "" && w.o.Mode != MemKeys) {
			continue
		}
		k := keys[i]
		switch {
		case w.o.Mode != MemKeys:
			cmds = append(cmds, resp.Command{Args: [][]byte{[]byte(t.sizeCmd), k}})
		case w.o.Samples == 0:
			cmds = append(cmds, resp.Command{Args: [][]byte{[]byte("MEMORY"), []byte("USAGE"), k}})
		default:
			cmds = append(cmds, resp.Command{Args: [][]byte{[]byte("MEMORY"), []byte("USAGE"), k, []byte("SAMPLES"), []byte(strconv.Itoa(w.o.Samples))}})
		}
		asked = append(asked, i)
	}
	sizes := make([]uint64, len(keys))
	if len(cmds) > 0 {
		br = w.src.ExecBatch(ctx, addr, cmds, nil)
		if br.Err != nil {
			return fail("Error getting size for key '%s' (%v)", keys[asked[br.Read]], br.Err)
		}
		for j, v := range br.Values {
			i := asked[j]
			if v.Kind != resp.Integer {
				cmd := types[i].sizeCmd
				if w.o.Mode == MemKeys {
					cmd = "MEMORY USAGE"
				}
				if !redirected(v) {
					w.warn("Warning:  %s on '%s' failed (may have changed type)\n", cmd, keys[i])
				}
				continue
			}
			sizes[i] = uint64(max(v.Int, 0))
		}
	}

	for i, t := range types {
		if t == nil {
			continue
		}
		t.total += sizes[i]
		t.count++
		w.keyLen += uint64(len(keys[i]))
		w.sampled++
		if t.biggest < sizes[i] {
			t.biggest = sizes[i]
			t.biggestKey = append(t.biggestKey[:0], keys[i]...)
			t.biggestNode = addr
			t.found = true
			if !w.o.JSON {
				w.print("[%05.2f%%] Biggest %-6s found so far '%s' with %d %s\n", pct, t.name, repr(keys[i]), sizes[i], w.unit(t))
			}
		}
		if w.sampled%millionKeys == 0 && !w.o.JSON {
			w.print("[%05.2f%%] Sampled %d keys so far\n", pct, w.sampled)
		}
	}
	return nil
}

// summaryTypes returns the types in the order redis-cli's summary lists them.
func (w *walk) summaryTypes() []*typeInfo {
	names := w.order.order()
	out := make([]*typeInfo, len(names))
	for i, n := range names {
		out[i] = w.byName[n]
	}
	return out
}

// unit returns the unit a type's sizes are in.
func (w *walk) unit(t *typeInfo) string {
	if w.o.Mode == MemKeys {
		return "bytes"
	}
	return t.unit
}

// repr quotes a key as redis-cli's sdscatrepr does.
func repr(key []byte) string { return string(format.AppendRepr(nil, key)) }

// sizeReport prints the summary of --bigkeys or --memkeys.
func (w *walk) sizeReport() error {
	if w.o.JSON {
		return w.sizeJSON()
	}
	var b strings.Builder
	b.WriteString("\n-------- summary -------\n\n")
	fmt.Fprintf(&b, "Sampled %d keys in the keyspace!\n", w.sampled)
	avg := 0.0
	if w.keyLen > 0 {
		avg = float64(w.keyLen) / float64(w.sampled)
	}
	fmt.Fprintf(&b, "Total key length in bytes is %d (avg len %.2f)\n\n", w.keyLen, avg)
	types := w.summaryTypes()
	for _, t := range types {
		if t.found {
			fmt.Fprintf(&b, "Biggest %6s found '%s' has %d %s\n", t.name, repr(t.biggestKey), t.biggest, w.unit(t))
		}
	}
	b.WriteString("\n")
	for _, t := range types {
		pct, avgSize := 0.0, 0.0
		if w.sampled > 0 {
			pct = 100 * float64(t.count) / float64(w.sampled)
		}
		if t.count > 0 {
			avgSize = float64(t.total) / float64(t.count)
		}
		fmt.Fprintf(&b, "%d %ss with %d %s (%05.2f%% of keys, avg size %.2f)\n", t.count, t.name, t.total, w.unit(t), pct, avgSize)
	}
	w.print("%s", b.String())
	return nil
}

// jsonReport is the --json form of the --bigkeys and --memkeys report.
type jsonReport struct {
	Mode         string     `json:"mode"`
	Sampled      uint64     `json:"sampled"`
	KeyLength    uint64     `json:"total_key_length"`
	AvgKeyLength float64    `json:"avg_key_length"`
	Types        []jsonType `json:"types"`
}

type jsonType struct {
	Type          string       `json:"type"`
	Keys          uint64       `json:"keys"`
	TotalSize     uint64       `json:"total_size"`
	Unit          string       `json:"unit"`
	PercentOfKeys float64      `json:"percent_of_keys"`
	AvgSize       float64      `json:"avg_size"`
	Biggest       *jsonBiggest `json:"biggest"`
}

type jsonBiggest struct {
	Key  string `json:"key"`
	Size uint64 `json:"size"`
	Node string `json:"node"`
}

func (w *walk) sizeJSON() error {
	r := jsonReport{Mode: "bigkeys", Sampled: w.sampled, KeyLength: w.keyLen, Types: []jsonType{}}
	if w.o.Mode == MemKeys {
		r.Mode = "memkeys"
	}
	if w.sampled > 0 {
		r.AvgKeyLength = round2(float64(w.keyLen) / float64(w.sampled))
	}
	for _, t := range w.summaryTypes() {
		jt := jsonType{Type: t.name, Keys: t.count, TotalSize: t.total, Unit: w.unit(t)}
		if w.sampled > 0 {
			jt.PercentOfKeys = round2(100 * float64(t.count) / float64(w.sampled))
		}
		if t.count > 0 {
			jt.AvgSize = round2(float64(t.total) / float64(t.count))
		}
		if t.found {
			jt.Biggest = &jsonBiggest{Key: string(t.biggestKey), Size: t.biggest, Node: t.biggestNode}
		}
		r.Types = append(r.Types, jt)
	}
	return w.writeJSON(r)
}

// writeJSON prints v as one line of JSON.
func (w *walk) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("keystats: encode report: %w", err)
	}
	w.print("%s\n", b)
	return nil
}

// round2 rounds to two decimals, as the text report prints.
func round2(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 2, 64), 64)
	return v
}

// hotPage asks OBJECT FREQ of every key of a page and keeps the hottest, as redis-cli's
// eviction pool does.
func (w *walk) hotPage(ctx context.Context, addr string, keys [][]byte, pct float64) error {
	if len(keys) == 0 {
		return nil
	}
	cmds := make([]resp.Command, len(keys))
	for i, k := range keys {
		cmds[i] = resp.Command{Args: [][]byte{[]byte("OBJECT"), []byte("FREQ"), k}}
	}
	br := w.src.ExecBatch(ctx, addr, cmds, nil)
	if br.Err != nil {
		return fail("Error getting freq for key '%s' (%v)", repr(keys[br.Read]), br.Err)
	}
	for i, v := range br.Values {
		var freq uint64
		switch {
		case v.Kind == resp.Integer:
			freq = uint64(max(v.Int, 0))
		case redirected(v):
		case v.Kind == resp.Error:
			return fail("Error: %s", v.Str)
		default:
			w.warn("Warning: OBJECT freq on '%s' failed (may have been deleted)\n", repr(keys[i]))
		}
		w.sampled++
		if w.sampled%millionKeys == 0 && !w.o.JSON {
			w.print("[%05.2f%%] Sampled %d keys so far\n", pct, w.sampled)
		}
		k := 0
		for k < hotKeysKept && freq > w.hot[k].counter {
			k++
		}
		if k == 0 {
			continue
		}
		k--
		if k > 0 && w.hot[k].counter != 0 {
			copy(w.hot[:k], w.hot[1:k+1])
		}
		w.hot[k] = hotKey{key: append([]byte(nil), keys[i]...), node: addr, counter: freq}
		if !w.o.JSON {
			w.print("[%05.2f%%] Hot key '%s' found so far with counter %d\n", pct, repr(keys[i]), freq)
		}
	}
	return nil
}

// hotReport prints the summary of --hotkeys.
func (w *walk) hotReport() error {
	if w.o.JSON {
		type jsonHot struct {
			Key     string `json:"key"`
			Counter uint64 `json:"counter"`
			Node    string `json:"node"`
		}
		r := struct {
			Mode    string    `json:"mode"`
			Sampled uint64    `json:"sampled"`
			HotKeys []jsonHot `json:"hotkeys"`
		}{Mode: "hotkeys", Sampled: w.sampled, HotKeys: []jsonHot{}}
		for k := hotKeysKept - 1; k >= 0; k-- {
			if h := w.hot[k]; h.counter > 0 {
				r.HotKeys = append(r.HotKeys, jsonHot{Key: string(h.key), Counter: h.counter, Node: h.node})
			}
		}
		return w.writeJSON(r)
	}
	var b strings.Builder
	b.WriteString("\n-------- summary -------\n\n")
	fmt.Fprintf(&b, "Sampled %d keys in the keyspace!\n", w.sampled)
	for k := hotKeysKept - 1; k >= 0; k-- {
		if h := w.hot[k]; h.counter > 0 {
			fmt.Fprintf(&b, "hot key found with counter: %d\tkeyname: %s\n", h.counter, repr(h.key))
		}
	}
	w.print("%s", b.String())
	return nil
}
