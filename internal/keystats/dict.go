package keystats

import (
	"encoding/binary"
	"math/bits"
)

// redis-cli keeps its per-type statistics in a Redis dict and prints the summary in
// that dict's iteration order, which depends on the names' hashes (SipHash-1-2 with
// redis-cli's all-zero seed) and on how far the dict's incremental rehash got: one step
// per lookup, and redis-cli looks up the type of every key it samples. typeOrder
// replays that dict so that the summary lists the types in the very order redis-cli
// would, whatever the number of keys.
type typeOrder struct {
	tables    [2][][]string // buckets, each a chain with the newest entry first
	used      [2]int
	rehashIdx int // -1 when not rehashing
}

// dictInitialSize is DICT_HT_INITIAL_SIZE.
const dictInitialSize = 4

func newTypeOrder() *typeOrder { return &typeOrder{rehashIdx: -1} }

func (d *typeOrder) rehashing() bool { return d.rehashIdx != -1 }

// step is one incremental rehash step (_dictRehashStep): move one bucket to the new
// table, visiting at most 10 empty ones.
func (d *typeOrder) step() {
	if !d.rehashing() {
		return
	}
	emptyVisits := 10
	if d.used[0] != 0 {
		for len(d.tables[0][d.rehashIdx]) == 0 {
			d.rehashIdx++
			if emptyVisits--; emptyVisits == 0 {
				return
			}
		}
		mask := uint64(len(d.tables[1]) - 1)
		for _, name := range d.tables[0][d.rehashIdx] {
			h := sipHash12([]byte(name)) & mask
			d.tables[1][h] = append([]string{name}, d.tables[1][h]...)
			d.used[0]--
			d.used[1]++
		}
		d.tables[0][d.rehashIdx] = nil
		d.rehashIdx++
	}
	if d.used[0] == 0 {
		d.tables[0], d.tables[1] = d.tables[1], nil
		d.used[0], d.used[1] = d.used[1], 0
		d.rehashIdx = -1
	}
}

// add inserts a name (dictAdd): a rehash step, an expansion when the table is full,
// and the new entry at the head of its bucket.
func (d *typeOrder) add(name string) {
	if d.rehashing() {
		d.step()
	}
	if !d.rehashing() {
		switch {
		case d.tables[0] == nil:
			d.tables[0] = make([][]string, dictInitialSize)
		case d.used[0] >= len(d.tables[0]):
			size := dictInitialSize
			for size < d.used[0]+1 {
				size *= 2
			}
			d.tables[1] = make([][]string, size)
			d.rehashIdx = 0
		}
	}
	t := 0
	if d.rehashing() {
		t = 1
	}
	h := sipHash12([]byte(name)) & uint64(len(d.tables[t])-1)
	d.tables[t][h] = append([]string{name}, d.tables[t][h]...)
	d.used[t]++
}

// find is a lookup (dictFind), which only matters for its rehash step.
func (d *typeOrder) find() {
	if d.used[0]+d.used[1] == 0 {
		return
	}
	if d.rehashing() {
		d.step()
	}
}

// order returns the names in iteration order (dictNext).
func (d *typeOrder) order() []string {
	var out []string
	for t := 0; t < 2; t++ {
		if t == 1 && !d.rehashing() {
			break
		}
		for _, bucket := range d.tables[t] {
			out = append(out, bucket...)
		}
	}
	return out
}

// sipHash12 is SipHash-1-2 with an all-zero key, Redis's dictGenHashFunction as
// redis-cli runs it (it never sets the dict hash seed).
func sipHash12(data []byte) uint64 {
	v0 := uint64(0x736f6d6570736575)
	v1 := uint64(0x646f72616e646f6d)
	v2 := uint64(0x6c7967656e657261)
	v3 := uint64(0x7465646279746573)
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	n := len(data)
	end := n - n%8
	for i := 0; i < end; i += 8 {
		m := binary.LittleEndian.Uint64(data[i:])
		v3 ^= m
		round()
		v0 ^= m
	}
	b := uint64(n) << 56
	for i, c := range data[end:] {
		b |= uint64(c) << (8 * i)
	}
	v3 ^= b
	round()
	v0 ^= b
	v2 ^= 0xff
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}
