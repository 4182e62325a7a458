package resp

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendCommand(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no args", args: nil, want: "*0\r\n"},
		{name: "one arg", args: []string{"PING"}, want: "*1\r\n$4\r\nPING\r\n"},
		{name: "three args", args: []string{"SET", "k", "v"}, want: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"},
		{name: "empty arg", args: []string{"ECHO", ""}, want: "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"},
		{name: "binary arg", args: []string{"ECHO", "\x00\r\n\xff"}, want: "*2\r\n$4\r\nECHO\r\n$4\r\n\x00\r\n\xff\r\n"},
		{name: "ten-byte arg", args: []string{"0123456789"}, want: "*1\r\n$10\r\n0123456789\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := make([][]byte, len(tc.args))
			for i, a := range tc.args {
				args[i] = []byte(a)
			}
			prefix := []byte("prefix")
			assert.Equal(t, "prefix"+tc.want, string(AppendCommand(prefix, args...)))
			assert.Equal(t, tc.want, string(AppendArgs(nil, tc.args...)))
			assert.Equal(t, tc.want, string(AppendCommand(nil, NewCommand(tc.args...).Args...)))
		})
	}
}

func TestWriterWriteCommand(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	w.WriteCommand([]byte("GET"), []byte("k"))
	w.WriteArgs("PING")
	w.WriteValue(IntValue(7))
	w.WriteRaw([]byte("+raw\r\n"))
	assert.Equal(t, 0, out.Len(), "nothing is written before Flush")
	want := "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n:7\r\n+raw\r\n"
	assert.Equal(t, len(want), w.Buffered())
	require.NoError(t, w.Flush())
	assert.Equal(t, want, out.String())
	assert.Equal(t, 0, w.Buffered())

	w.WriteArgs("DISCARDED")
	w.Discard()
	assert.Equal(t, 0, w.Buffered())
	require.NoError(t, w.Flush())
	assert.Equal(t, want, out.String(), "discarded bytes are never written")
}

// countingWriter counts Write calls and fails them while err is set.
type countingWriter struct {
	calls int
	err   error
	buf   bytes.Buffer
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.calls++
	if c.err != nil {
		return 0, c.err
	}
	return c.buf.Write(p)
}

func TestWriterFlushEmpty(t *testing.T) {
	cw := &countingWriter{}
	w := NewWriter(cw)
	require.NoError(t, w.Flush())
	assert.Equal(t, 0, cw.calls, "an empty Flush does not write")
}

func TestWriterFlushErrorIsSticky(t *testing.T) {
	boom := errors.New("boom")
	cw := &countingWriter{err: boom}
	w := NewWriter(cw)
	w.WriteArgs("SET", "k", "v")
	assert.ErrorIs(t, w.Flush(), boom)
	assert.Equal(t, 0, w.Buffered())

	cw.err = nil // the peer recovers, but the stream is already broken
	w.WriteArgs("GET", "k")
	assert.ErrorIs(t, w.Flush(), boom)
	assert.ErrorIs(t, w.Flush(), boom)
	assert.Equal(t, 1, cw.calls, "no write after the error")
	assert.Equal(t, 0, cw.buf.Len())
	assert.Equal(t, 0, w.Buffered(), "bytes buffered after the error are dropped")
}

// shortWriter accepts half of every write and reports io.ErrShortWrite.
type shortWriter struct{ got []byte }

func (s *shortWriter) Write(p []byte) (int, error) {
	n := len(p) / 2
	s.got = append(s.got, p[:n]...)
	return n, io.ErrShortWrite
}

func TestWriterShortWrite(t *testing.T) {
	w := NewWriter(&shortWriter{})
	w.WriteArgs("PING")
	assert.ErrorIs(t, w.Flush(), io.ErrShortWrite)
	w.WriteArgs("PING")
	assert.ErrorIs(t, w.Flush(), io.ErrShortWrite)
}

func TestWriteCommandAllocs(t *testing.T) {
	w := NewWriter(io.Discard)
	name, key, val := []byte("SET"), []byte("key"), []byte("value")
	allocs := testing.AllocsPerRun(1000, func() {
		w.WriteCommand(name, key, val)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)

	big := make([]byte, 100<<10)
	w.WriteCommand(name, key, big) // grows the buffer once
	require.NoError(t, w.Flush())
	allocs = testing.AllocsPerRun(100, func() {
		w.WriteCommand(name, key, big)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "the grown buffer is reused")
}

func TestAppendValue(t *testing.T) {
	longErr := strings.Repeat("e", DefaultMaxLineLen)
	tests := []struct {
		name string
		v    Value
		want string
	}{
		{name: "simple string with CRLF becomes a bulk string", v: status("a\r\nb"), want: "$4\r\na\r\nb\r\n"},
		{name: "simple string with LF becomes a bulk string", v: status("a\nb"), want: "$3\r\na\nb\r\n"},
		{name: "error with CR becomes a blob error", v: ErrorValue("ERR\r"), want: "!4\r\nERR\r\r\n"},
		{name: "error over the line limit becomes a blob error", v: ErrorValue(longErr),
			want: "!65536\r\n" + longErr + "\r\n"},
		{name: "error at the line limit stays a line", v: ErrorValue(longErr[1:]), want: "-" + longErr[1:] + "\r\n"},
		{name: "double without text", v: Value{Kind: Double, Float: 2.5}, want: ",2.5\r\n"},
		{name: "double value constructor", v: DoubleValue(1.5e20), want: ",1.5e+20\r\n"},
		{name: "double value inf", v: DoubleValue(math.Inf(1)), want: ",inf\r\n"},
		{name: "double value minus inf", v: DoubleValue(math.Inf(-1)), want: ",-inf\r\n"},
		{name: "double value nan", v: DoubleValue(math.NaN()), want: ",nan\r\n"},
		{name: "double value small", v: DoubleValue(1e-7), want: ",1e-07\r\n"},
		{name: "boolean with any non-zero int", v: Value{Kind: Boolean, Int: 5}, want: "#t\r\n"},
		{name: "verbatim without a format", v: Value{Kind: Verbatim, Str: []byte("hi")}, want: "=6\r\ntxt:hi\r\n"},
		{name: "verbatim with a bad format", v: Value{Kind: Verbatim, Format: "markdown", Str: []byte("hi")}, want: "=6\r\ntxt:hi\r\n"},
		{name: "invalid value", v: Value{}, want: "_\r\n"},
		{name: "array helper", v: ArrayValue(StringValue("a"), IntValue(-3)), want: "*2\r\n$1\r\na\r\n:-3\r\n"},
		{name: "map counts pairs", v: Value{Kind: Map, Elems: []Value{status("k"), status("v")}}, want: "%1\r\n+k\r\n+v\r\n"},
		{name: "push", v: Value{Kind: Push, Elems: []Value{status("x")}}, want: ">1\r\n+x\r\n"},
		{name: "set", v: Value{Kind: Set}, want: "~0\r\n"},
		{name: "attributes", v: Value{Kind: Integer, Int: 1, Attrs: []Value{status("a"), status("b")}},
			want: "|1\r\n+a\r\n+b\r\n:1\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendValue(nil, tc.v)
			assert.Equal(t, tc.want, string(got))
			_, err := readOne(t, string(got))
			assert.NoError(t, err, "a Reader accepts the encoding")
		})
	}
}
