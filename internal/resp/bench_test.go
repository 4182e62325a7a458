package resp

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

func BenchmarkWriteCommand3Args(b *testing.B) {
	w := NewWriter(io.Discard)
	name, key, val := []byte("SET"), []byte("key:000001"), []byte("value-0123456789")
	b.SetBytes(int64(len(AppendCommand(nil, name, key, val))))
	b.ReportAllocs()
	for b.Loop() {
		w.WriteCommand(name, key, val)
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

// rewinder serves the same bytes over and over, so a Reader can decode the same frame
// b.N times without rebuilding its input.
type rewinder struct {
	data []byte
	pos  int
}

func (r *rewinder) Read(p []byte) (int, error) {
	if r.pos == len(r.data) {
		r.pos = 0
	}
	n := copy(p, r.data[r.pos:])
	r.pos += n
	return n, nil
}

func benchmarkRead(b *testing.B, frame []byte) {
	r := NewReader(&rewinder{data: frame}, ReaderOptions{})
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadValue(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadArray1000Bulk(b *testing.B) {
	elems := make([]Value, 1000)
	for i := range elems {
		elems[i] = StringValue(fmt.Sprintf("member:%06d", i))
	}
	benchmarkRead(b, AppendValue(nil, ArrayValue(elems...)))
}

func BenchmarkReadBulkLarge(b *testing.B) {
	for _, size := range []int{1 << 20, 16 << 20} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			benchmarkRead(b, AppendValue(nil, StringValue(strings.Repeat("v", size))))
		})
	}
}

func BenchmarkSplitArgs(b *testing.B) {
	lines := []struct{ name, line string }{
		{name: "plain", line: "SET key:000001 value-0123456789 EX 60"},
		{name: "quoted", line: `SET "key with spaces" "caf\xc3\xa9 \"quoted\"\n" 'it\'s'`},
		{name: "1MB", line: "SET k " + strings.Repeat("x", 1<<20)},
	}
	for _, l := range lines {
		b.Run(l.name, func(b *testing.B) {
			b.SetBytes(int64(len(l.line)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := SplitArgs(l.line); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendValue measures encoding a typical RESP3 reply.
func BenchmarkAppendValue(b *testing.B) {
	v := Value{Kind: Map, Elems: []Value{
		StatusValue("server"), StringValue("redis"),
		StatusValue("version"), StringValue("7.0.15"),
		StatusValue("proto"), IntValue(3),
		StatusValue("modules"), ArrayValue(),
	}}
	buf := AppendValue(nil, v)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendValue(buf[:0], v)
	}
	if !bytes.HasPrefix(buf, []byte("%4\r\n")) {
		b.Fatal("bad encoding")
	}
}
