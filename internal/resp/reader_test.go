package resp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// frameCase is one valid frame: its wire bytes, the value it reads as, and the bytes
// AppendValue writes for that value when they differ from the wire bytes.
type frameCase struct {
	name  string
	wire  string
	want  Value
	canon string // AppendValue's encoding of want; "" means wire
}

func bulk(s string) Value   { return StringValue(s) }
func status(s string) Value { return StatusValue(s) }
func double(text string, f float64) Value {
	return Value{Kind: Double, Float: f, Str: []byte(text)}
}

// frameCases covers every RESP2 and RESP3 type.
func frameCases() []frameCase {
	return []frameCase{
		{name: "simple string", wire: "+OK\r\n", want: status("OK")},
		{name: "empty simple string", wire: "+\r\n", want: status("")},
		{name: "simple string with spaces and utf-8", wire: "+héllo wörld\r\n", want: status("héllo wörld")},
		{name: "error", wire: "-ERR unknown command 'foo'\r\n", want: ErrorValue("ERR unknown command 'foo'")},
		{name: "error without message", wire: "-ERR\r\n", want: ErrorValue("ERR")},
		{name: "integer zero", wire: ":0\r\n", want: IntValue(0)},
		{name: "negative integer", wire: ":-1\r\n", want: IntValue(-1)},
		{name: "max int64", wire: ":9223372036854775807\r\n", want: IntValue(math.MaxInt64)},
		{name: "min int64", wire: ":-9223372036854775808\r\n", want: IntValue(math.MinInt64)},
		{name: "bulk string", wire: "$5\r\nhello\r\n", want: bulk("hello")},
		{name: "empty bulk string", wire: "$0\r\n\r\n", want: bulk("")},
		{name: "binary bulk string", wire: "$6\r\n\x00\r\n\xff\xfe\n\r\n", want: bulk("\x00\r\n\xff\xfe\n")},
		{name: "bulk string of 600 bytes", wire: "$600\r\n" + strings.Repeat("x", 600) + "\r\n", want: bulk(strings.Repeat("x", 600))},
		{name: "bulk string of 100000 bytes", wire: "$100000\r\n" + strings.Repeat("y", 100000) + "\r\n", want: bulk(strings.Repeat("y", 100000))},
		{name: "array", wire: "*2\r\n$1\r\na\r\n:1\r\n", want: ArrayValue(bulk("a"), IntValue(1))},
		{name: "empty array", wire: "*0\r\n", want: Value{Kind: Array}},
		{name: "resp2 null bulk", wire: "$-1\r\n", want: NullValue(), canon: "_\r\n"},
		{name: "resp2 null array", wire: "*-1\r\n", want: NullValue(), canon: "_\r\n"},
		{name: "null", wire: "_\r\n", want: NullValue()},
		{name: "double", wire: ",3.14\r\n", want: double("3.14", 3.14)},
		{name: "double integer", wire: ",10\r\n", want: double("10", 10)},
		{name: "double negative zero", wire: ",-0\r\n", want: double("-0", math.Copysign(0, -1))},
		{name: "double inf", wire: ",inf\r\n", want: double("inf", math.Inf(1))},
		{name: "double minus inf", wire: ",-inf\r\n", want: double("-inf", math.Inf(-1))},
		{name: "double nan", wire: ",nan\r\n", want: double("nan", math.NaN())},
		{name: "double exponent", wire: ",1.5e+20\r\n", want: double("1.5e+20", 1.5e20)},
		{name: "double beyond float64", wire: ",1e400\r\n", want: double("1e400", math.Inf(1))},
		{name: "boolean true", wire: "#t\r\n", want: BoolValue(true)},
		{name: "boolean false", wire: "#f\r\n", want: BoolValue(false)},
		{name: "big number", wire: "(3492890328409238509324850943850943825024385\r\n",
			want: Value{Kind: BigNumber, Str: []byte("3492890328409238509324850943850943825024385")}},
		{name: "negative big number", wire: "(-12345678901234567890\r\n",
			want: Value{Kind: BigNumber, Str: []byte("-12345678901234567890")}},
		{name: "verbatim", wire: "=15\r\ntxt:Some string\r\n",
			want: Value{Kind: Verbatim, Format: "txt", Str: []byte("Some string")}},
		{name: "verbatim empty markdown", wire: "=4\r\nmkd:\r\n",
			want: Value{Kind: Verbatim, Format: "mkd", Str: []byte{}}},
		{name: "map", wire: "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
			want: Value{Kind: Map, Elems: []Value{status("first"), IntValue(1), status("second"), IntValue(2)}}},
		{name: "empty map", wire: "%0\r\n", want: Value{Kind: Map}},
		{name: "set", wire: "~3\r\n+a\r\n:1\r\n#t\r\n",
			want: Value{Kind: Set, Elems: []Value{status("a"), IntValue(1), BoolValue(true)}}},
		{name: "push", wire: ">3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$5\r\nhello\r\n",
			want: Value{Kind: Push, Elems: []Value{bulk("message"), bulk("chan"), bulk("hello")}}},
		{name: "blob error", wire: "!21\r\nSYNTAX invalid syntax\r\n",
			want: ErrorValue("SYNTAX invalid syntax"), canon: "-SYNTAX invalid syntax\r\n"},
		{name: "blob error longer than a line", wire: "!70000\r\n" + strings.Repeat("e", 70000) + "\r\n",
			want: ErrorValue(strings.Repeat("e", 70000))},
		{name: "blob error with CRLF", wire: "!8\r\nERR a\r\nb\r\n", want: ErrorValue("ERR a\r\nb")},
		{name: "attribute before a value",
			wire: "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
			want: Value{Kind: Array, Elems: []Value{IntValue(2039123), IntValue(9543892)}, Attrs: []Value{
				status("key-popularity"),
				{Kind: Map, Elems: []Value{bulk("a"), double("0.1923", 0.1923), bulk("b"), double("0.0012", 0.0012)}},
			}}},
		{name: "attribute inside an aggregate", wire: "*3\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n:2\r\n:3\r\n",
			want: ArrayValue(IntValue(1), Value{Kind: Integer, Int: 2, Attrs: []Value{status("ttl"), IntValue(3600)}}, IntValue(3))},
		{name: "attribute on a null", wire: "|1\r\n+a\r\n+b\r\n_\r\n",
			want: Value{Kind: Null, Attrs: []Value{status("a"), status("b")}}},
		{name: "attributes in a row merge", wire: "|1\r\n+a\r\n:1\r\n|1\r\n+b\r\n:2\r\n+v\r\n",
			want:  Value{Kind: SimpleString, Str: []byte("v"), Attrs: []Value{status("a"), IntValue(1), status("b"), IntValue(2)}},
			canon: "|2\r\n+a\r\n:1\r\n+b\r\n:2\r\n+v\r\n"},
		{name: "attribute on an attribute key", wire: "|1\r\n|1\r\n+x\r\n+y\r\n+k\r\n+v\r\n+val\r\n",
			want: Value{Kind: SimpleString, Str: []byte("val"), Attrs: []Value{
				{Kind: SimpleString, Str: []byte("k"), Attrs: []Value{status("x"), status("y")}}, status("v"),
			}}},
		{name: "nested aggregates",
			wire: "*3\r\n*2\r\n:1\r\n%1\r\n+k\r\n~2\r\n_\r\n#f\r\n>1\r\n=8\r\ntxt:abcd\r\n*0\r\n",
			want: ArrayValue(
				ArrayValue(IntValue(1), Value{Kind: Map, Elems: []Value{
					status("k"), {Kind: Set, Elems: []Value{NullValue(), BoolValue(false)}},
				}}),
				Value{Kind: Push, Elems: []Value{{Kind: Verbatim, Format: "txt", Str: []byte("abcd")}}},
				Value{Kind: Array},
			)},
		{name: "resp2 nulls inside an array", wire: "*3\r\n$-1\r\n*-1\r\n$0\r\n\r\n",
			want: ArrayValue(NullValue(), NullValue(), bulk("")), canon: "*3\r\n_\r\n_\r\n$0\r\n\r\n"},
	}
}

func readOne(t *testing.T, wire string) (Value, error) {
	t.Helper()
	return NewReader(strings.NewReader(wire), ReaderOptions{}).ReadValue()
}

func TestReadValueRoundTrip(t *testing.T) {
	for _, tc := range frameCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.wire), ReaderOptions{})
			got, err := r.ReadValue()
			require.NoError(t, err)
			assert.Truef(t, tc.want.Equal(got), "read %v, want %v", got, tc.want)
			assert.Equal(t, int64(len(tc.wire)), r.Offset(), "offset after the value")
			_, err = r.ReadValue()
			assert.ErrorIs(t, err, io.EOF, "nothing after the value")

			canon := tc.canon
			if canon == "" {
				canon = tc.wire
			}
			enc := AppendValue(nil, got)
			assert.Equal(t, canon, string(enc), "re-encoded bytes")
			again, err := readOne(t, string(enc))
			require.NoError(t, err)
			assert.Truef(t, got.Equal(again), "re-read %v, want %v", again, got)
		})
	}
}

func TestReadValueLimits(t *testing.T) {
	tests := []struct {
		name string
		opts ReaderOptions
		wire string
		ok   bool
	}{
		{name: "bulk at the limit", opts: ReaderOptions{MaxBulkLen: 3}, wire: "$3\r\nabc\r\n", ok: true},
		{name: "bulk over the limit", opts: ReaderOptions{MaxBulkLen: 3}, wire: "$4\r\nabcd\r\n"},
		{name: "blob error over the limit", opts: ReaderOptions{MaxBulkLen: 3}, wire: "!4\r\nabcd\r\n"},
		{name: "verbatim over the limit", opts: ReaderOptions{MaxBulkLen: 7}, wire: "=8\r\ntxt:abcd\r\n"},
		{name: "array at the limit", opts: ReaderOptions{MaxElems: 2}, wire: "*2\r\n:1\r\n:2\r\n", ok: true},
		{name: "array over the limit", opts: ReaderOptions{MaxElems: 2}, wire: "*3\r\n:1\r\n:2\r\n:3\r\n"},
		{name: "map pairs at the limit", opts: ReaderOptions{MaxElems: 1}, wire: "%1\r\n:1\r\n:2\r\n", ok: true},
		{name: "map pairs over the limit", opts: ReaderOptions{MaxElems: 1}, wire: "%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n"},
		{name: "set over the limit", opts: ReaderOptions{MaxElems: 1}, wire: "~2\r\n:1\r\n:2\r\n"},
		{name: "push over the limit", opts: ReaderOptions{MaxElems: 1}, wire: ">2\r\n:1\r\n:2\r\n"},
		{name: "attribute over the limit", opts: ReaderOptions{MaxElems: 1}, wire: "|2\r\n:1\r\n:2\r\n:3\r\n:4\r\n+v\r\n"},
		{name: "map pairs overflowing a huge limit", opts: ReaderOptions{MaxElems: math.MaxInt64}, wire: "%4611686018427387904\r\n"},
		{name: "attribute pairs overflowing a huge limit", opts: ReaderOptions{MaxElems: math.MaxInt64}, wire: "|9223372036854775807\r\n"},
		{name: "depth at the limit", opts: ReaderOptions{MaxDepth: 2}, wire: "*1\r\n*1\r\n:1\r\n", ok: true},
		{name: "depth over the limit", opts: ReaderOptions{MaxDepth: 2}, wire: "*1\r\n*1\r\n*1\r\n:1\r\n"},
		{name: "attribute counts as a level", opts: ReaderOptions{MaxDepth: 1}, wire: "|1\r\n+a\r\n+b\r\n*1\r\n:1\r\n"},
		{name: "line at the limit", opts: ReaderOptions{MaxLineLen: 4}, wire: "+abc\r\n", ok: true},
		{name: "line over the limit", opts: ReaderOptions{MaxLineLen: 4}, wire: "+abcd\r\n"},
		{name: "header over the line limit", opts: ReaderOptions{MaxLineLen: 4}, wire: "$1000\r\n"},
		{name: "default line limit", wire: "+" + strings.Repeat("a", DefaultMaxLineLen-1) + "\r\n", ok: true},
		{name: "over the default line limit", wire: "+" + strings.Repeat("a", DefaultMaxLineLen) + "\r\n"},
		{name: "default depth", wire: strings.Repeat("*1\r\n", DefaultMaxDepth) + ":1\r\n", ok: true},
		{name: "over the default depth", wire: strings.Repeat("*1\r\n", DefaultMaxDepth+1) + ":1\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tc.wire), tc.opts).ReadValue()
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			var perr *ProtocolError
			assert.ErrorAs(t, err, &perr)
		})
	}
}

// lazyReader yields prefix, then n filler bytes, then suffix, without holding them all,
// and counts the bytes it has handed out.
type lazyReader struct {
	prefix, suffix []byte
	n              int64
	fill           byte
	read           int64
}

func (l *lazyReader) Read(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		switch {
		case len(l.prefix) > 0:
			c := copy(p, l.prefix)
			l.prefix, p, total = l.prefix[c:], p[c:], total+c
		case l.n > 0:
			c := int(min(int64(len(p)), l.n))
			for i := range c {
				p[i] = l.fill
			}
			l.n, p, total = l.n-int64(c), p[c:], total+c
		case len(l.suffix) > 0:
			c := copy(p, l.suffix)
			l.suffix, p, total = l.suffix[c:], p[c:], total+c
		default:
			l.read += int64(total)
			if total == 0 {
				return 0, io.EOF
			}
			return total, nil
		}
	}
	l.read += int64(total)
	return total, nil
}

type malformedCase struct {
	name   string
	wire   string
	eof    bool  // truncated: io.ErrUnexpectedEOF rather than a *ProtocolError
	offset int64 // the ProtocolError's Offset; -1 means the whole input
}

func malformedCases() []malformedCase {
	return []malformedCase{
		{name: "truncated simple string", wire: "+OK", eof: true},
		{name: "truncated before LF", wire: "+OK\r", eof: true},
		{name: "truncated bulk header", wire: "$5", eof: true},
		{name: "truncated bulk payload", wire: "$5\r\nhel", eof: true},
		{name: "truncated bulk CRLF", wire: "$5\r\nhello", eof: true},
		{name: "truncated bulk LF", wire: "$5\r\nhello\r", eof: true},
		{name: "truncated large bulk", wire: "$100000\r\n" + strings.Repeat("a", 70000), eof: true},
		{name: "truncated array", wire: "*2\r\n:1\r\n", eof: true},
		{name: "truncated array header only", wire: "*1\r\n", eof: true},
		{name: "truncated map value", wire: "%1\r\n+k\r\n", eof: true},
		{name: "attribute without its value", wire: "|1\r\n+a\r\n+b\r\n", eof: true},
		{name: "truncated nested element", wire: "*1\r\n*1\r\n$3\r\nab", eof: true},
		{name: "empty line", wire: "\r\n", offset: 2},
		{name: "unknown type byte", wire: "?abc\r\n", offset: -1},
		{name: "letter type byte", wire: "A\r\n", offset: -1},
		{name: "NUL type byte", wire: "\x00\r\n", offset: -1},
		{name: "inline command", wire: "PING\r\n", offset: -1},
		{name: "unknown type inside array", wire: "*2\r\n:1\r\n@x\r\n", offset: -1},
		{name: "LF without CR", wire: "+OK\n", offset: -1},
		{name: "bare LF", wire: "\n", offset: 1},
		{name: "integer LF without CR", wire: ":1\n", offset: -1},
		{name: "header LF without CR", wire: "$1\na\r\n", offset: 3},
		{name: "CR inside a line", wire: "+a\rb\r\n", offset: -1},
		{name: "CR CR LF", wire: "+a\r\r\n", offset: -1},
		{name: "bulk followed by other bytes", wire: "$3\r\nabcXY", offset: 7},
		{name: "bulk followed by CR and other byte", wire: "$3\r\nabc\rX", offset: 7},
		{name: "bulk followed by one other byte", wire: "$3\r\nabcX", offset: 7},
		{name: "bulk followed by LF CR", wire: "$3\r\nabc\n\r", offset: 7},
		{name: "bulk shorter than declared", wire: "$3\r\nab\r\n:1\r\n", offset: 7},
		{name: "large bulk followed by other bytes", wire: "$70000\r\n" + strings.Repeat("a", 70000) + "XY", offset: 70008},
		{name: "null bulk minus two", wire: "$-2\r\n", offset: -1},
		{name: "array minus two", wire: "*-2\r\n", offset: -1},
		{name: "bulk min int64", wire: "$-9223372036854775808\r\n", offset: -1},
		{name: "blob error null", wire: "!-1\r\n", offset: -1},
		{name: "verbatim null", wire: "=-1\r\n", offset: -1},
		{name: "map null", wire: "%-1\r\n", offset: -1},
		{name: "set null", wire: "~-1\r\n", offset: -1},
		{name: "push null", wire: ">-1\r\n", offset: -1},
		{name: "attribute null", wire: "|-1\r\n", offset: -1},
		{name: "bulk over the default limit", wire: "$536870913\r\n", offset: -1},
		{name: "bulk max int64", wire: "$9223372036854775807\r\n", offset: -1},
		{name: "array of 4294967295", wire: "*4294967295\r\n", offset: -1},
		{name: "map of 2147483648 pairs", wire: "%2147483648\r\n", offset: -1},
		{name: "set of 2147483648", wire: "~2147483648\r\n", offset: -1},
		{name: "bulk length 20 digits wrapping to 3", wire: "$18446744073709551619\r\nabc\r\n", offset: 23},
		{name: "array length 20 digits wrapping to 1", wire: "*18446744073709551617\r\n:1\r\n", offset: 23},
		{name: "bulk length with plus", wire: "$+3\r\nabc\r\n", offset: 5},
		{name: "bulk length with space", wire: "$ 3\r\nabc\r\n", offset: 5},
		{name: "bulk length empty", wire: "$\r\n", offset: 3},
		{name: "bulk length minus", wire: "$-\r\n", offset: 4},
		{name: "bulk length hex", wire: "$0x3\r\nabc\r\n", offset: 6},
		{name: "integer with letter", wire: ":12a\r\n", offset: 6},
		{name: "empty integer", wire: ":\r\n", offset: 3},
		{name: "integer minus only", wire: ":-\r\n", offset: 4},
		{name: "integer with plus", wire: ":+1\r\n", offset: 5},
		{name: "integer with space", wire: ": 1\r\n", offset: 5},
		{name: "integer decimal", wire: ":1.5\r\n", offset: 6},
		{name: "integer max int64 plus one", wire: ":9223372036854775808\r\n", offset: -1},
		{name: "integer min int64 minus one", wire: ":-9223372036854775809\r\n", offset: -1},
		{name: "integer 20 digits", wire: ":99999999999999999999\r\n", offset: -1},
		{name: "integer 20 digits wrapping to 4", wire: ":18446744073709551620\r\n", offset: -1},
		{name: "integer 2^64", wire: ":18446744073709551616\r\n", offset: -1},
		{name: "integer 21 digits", wire: ":100000000000000000000\r\n", offset: -1},
		{name: "negative integer 20 digits wrapping", wire: ":-18446744073709551615\r\n", offset: -1},
		{name: "double letters", wire: ",abc\r\n", offset: -1},
		{name: "empty double", wire: ",\r\n", offset: -1},
		{name: "double two dots", wire: ",1.2.3\r\n", offset: -1},
		{name: "double hex", wire: ",0x1p3\r\n", offset: -1},
		{name: "double underscore", wire: ",1_000\r\n", offset: -1},
		{name: "double infinity word", wire: ",infinity\r\n", offset: -1},
		{name: "double capital inf", wire: ",Inf\r\n", offset: -1},
		{name: "double inf twice", wire: ",infinf\r\n", offset: -1},
		{name: "double plus nan", wire: ",+nan\r\n", offset: -1},
		{name: "double space", wire: ", 1\r\n", offset: -1},
		{name: "boolean x", wire: "#x\r\n", offset: -1},
		{name: "empty boolean", wire: "#\r\n", offset: -1},
		{name: "boolean tt", wire: "#tt\r\n", offset: -1},
		{name: "boolean capital T", wire: "#T\r\n", offset: -1},
		{name: "null with payload", wire: "_x\r\n", offset: -1},
		{name: "big number empty", wire: "(\r\n", offset: -1},
		{name: "big number sign only", wire: "(-\r\n", offset: -1},
		{name: "big number with letter", wire: "(12a\r\n", offset: -1},
		{name: "big number decimal", wire: "(1.5\r\n", offset: -1},
		{name: "verbatim too short", wire: "=3\r\nab:\r\n", offset: -1},
		{name: "verbatim without colon", wire: "=4\r\nabcd\r\n", offset: -1},
		{name: "verbatim empty", wire: "=0\r\n\r\n", offset: -1},
		{name: "verbatim colon misplaced", wire: "=5\r\nab:cd\r\n", offset: -1},
		{name: "line over the default limit", wire: "-" + strings.Repeat("e", DefaultMaxLineLen+1) + "\r\n",
			offset: DefaultMaxLineLen + 2},
		{name: "line over the default limit then EOF", wire: "-" + strings.Repeat("e", DefaultMaxLineLen+1),
			offset: DefaultMaxLineLen + 2},
		{name: "nesting of 129 levels", wire: strings.Repeat("*1\r\n", DefaultMaxDepth+1) + ":1\r\n",
			offset: 4 * (DefaultMaxDepth + 1)},
	}
}

func TestReadValueMalformed(t *testing.T) {
	for _, tc := range malformedCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.wire), ReaderOptions{})
			v, err := r.ReadValue()
			require.Errorf(t, err, "read %v", v)
			assert.Equal(t, Value{}, v, "the value returned with an error")
			if tc.eof {
				assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
				assert.LessOrEqual(t, r.Offset(), int64(len(tc.wire)))
				return
			}
			var perr *ProtocolError
			require.ErrorAs(t, err, &perr)
			want := tc.offset
			if want < 0 {
				want = int64(len(tc.wire))
			}
			assert.Equal(t, want, perr.Offset, "offset")
			assert.Equal(t, perr.Offset, r.Offset(), "the error's offset is what the reader consumed")
			assert.LessOrEqual(t, perr.Offset, int64(len(tc.wire)))
			assert.Contains(t, perr.Error(), "resp: protocol error at byte ")
		})
	}
}

// TestReadValueMalformedThroughSmallBuffer feeds every malformed case one byte at a time
// through a 16-byte bufio.Reader: the outcome and the offset must not depend on buffering.
func TestReadValueMalformedThroughSmallBuffer(t *testing.T) {
	for _, tc := range malformedCases() {
		t.Run(tc.name, func(t *testing.T) {
			_, want := readOne(t, tc.wire)
			br := bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(tc.wire)), 16)
			_, got := NewReader(br, ReaderOptions{}).ReadValue()
			assert.Equal(t, want, got)
		})
	}
}

// allocated returns how many bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestReadValueLyingHeaders checks that a header declaring more than the stream holds
// costs no more memory than the bytes that did arrive plus a small constant.
func TestReadValueLyingHeaders(t *testing.T) {
	const slack = 256 << 10
	tests := []struct {
		name     string
		src      *lazyReader
		eof      bool // the error is io.ErrUnexpectedEOF, not a *ProtocolError
		maxBytes int64
	}{
		{name: "array of 2000000000 then EOF", src: &lazyReader{prefix: []byte("*2000000000\r\n")}, eof: true},
		{name: "map of 1000000000 then EOF", src: &lazyReader{prefix: []byte("%1000000000\r\n")}, eof: true},
		{name: "bulk of 536870000 then a few bytes", src: &lazyReader{prefix: []byte("$536870000\r\nabcdef")}, eof: true},
		{name: "bulk of 536870000 then 10 MB", src: &lazyReader{prefix: []byte("$536870000\r\n"), n: 10 << 20, fill: 'a'}, eof: true},
		{name: "bulk of 70000 then EOF", src: &lazyReader{prefix: []byte("$70000\r\n")}, eof: true},
		{name: "blob error of 536870000 then EOF", src: &lazyReader{prefix: []byte("!536870000\r\n")}, eof: true},
		{name: "verbatim of 536870000 then 1 MB", src: &lazyReader{prefix: []byte("=536870000\r\n"), n: 1 << 20, fill: 't'}, eof: true},
		{name: "128 nested arrays of 2000000000", src: &lazyReader{prefix: bytes.Repeat([]byte("*2000000000\r\n"), 128)}, eof: true},
		{name: "128 nested maps then a buffered bulk",
			src: &lazyReader{prefix: []byte(strings.Repeat("%1000000000\r\n", 127) + "*1000000000\r\n$14000\r\n" + strings.Repeat("x", 14000) + "\r\n")}, eof: true},
		{name: "100000 levels of one-element arrays", src: &lazyReader{prefix: bytes.Repeat([]byte("*1\r\n"), 100000)}, maxBytes: 1 << 20},
		{name: "simple string of 100 MB without CRLF", src: &lazyReader{prefix: []byte("+"), n: 100 << 20, fill: 'a'}, maxBytes: 1 << 20},
		{name: "error of 100 MB without CRLF", src: &lazyReader{prefix: []byte("-"), n: 100 << 20, fill: 'e'}, maxBytes: 1 << 20},
		{name: "bulk header of 100 MB of digits", src: &lazyReader{prefix: []byte("$"), n: 100 << 20, fill: '1'}, maxBytes: 1 << 20},
		{name: "100 MB of LF", src: &lazyReader{n: 100 << 20, fill: '\n'}, maxBytes: 1 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			alloc := allocated(func() {
				_, err = NewReader(tc.src, ReaderOptions{}).ReadValue()
			})
			if tc.eof {
				assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
			} else {
				var perr *ProtocolError
				assert.ErrorAs(t, err, &perr)
			}
			if tc.maxBytes > 0 {
				assert.Less(t, tc.src.read, tc.maxBytes, "bytes pulled from the stream")
			}
			assert.Lessf(t, alloc, uint64(tc.src.read)+slack, "allocated %d bytes after reading %d", alloc, tc.src.read)
		})
	}
}

// TestReadValueLargeBulkAlloc bounds what an honest large bulk costs: the payload itself
// and the chunks it was read in.
func TestReadValueLargeBulkAlloc(t *testing.T) {
	const n = 8 << 20
	src := &lazyReader{prefix: []byte("$8388608\r\n"), n: n, fill: 'z', suffix: []byte("\r\n")}
	var v Value
	var err error
	alloc := allocated(func() {
		v, err = NewReader(src, ReaderOptions{}).ReadValue()
	})
	require.NoError(t, err)
	assert.Len(t, v.Str, n)
	assert.Less(t, alloc, uint64(2*n+256<<10))
}

// valuesOf reads values until an error and returns them with that error.
func valuesOf(r *Reader) ([]Value, error) {
	var vs []Value
	for {
		v, err := r.ReadValue()
		if err != nil {
			return vs, err
		}
		vs = append(vs, v)
	}
}

func assertSameValues(t *testing.T, want, got []Value) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		assert.Truef(t, want[i].Equal(got[i]), "value %d: got %v, want %v", i, got[i], want[i])
	}
}

// TestReaderDesync reads a stream of every valid frame through readers that deliver the
// bytes in different pieces, and through a shared bufio.Reader that a new Reader takes
// over for each value: the Reader never consumes a byte past the value it returns.
func TestReaderDesync(t *testing.T) {
	var stream strings.Builder
	var want []Value
	var ends []int64
	for _, tc := range frameCases() {
		stream.WriteString(tc.wire)
		want = append(want, tc.want)
		ends = append(ends, int64(stream.Len()))
	}
	wire := stream.String()

	sources := []struct {
		name string
		src  func() io.Reader
	}{
		{name: "whole", src: func() io.Reader { return strings.NewReader(wire) }},
		{name: "one byte at a time", src: func() io.Reader { return iotest.OneByteReader(strings.NewReader(wire)) }},
		{name: "half reads", src: func() io.Reader { return iotest.HalfReader(strings.NewReader(wire)) }},
		{name: "data with EOF", src: func() io.Reader { return iotest.DataErrReader(strings.NewReader(wire)) }},
		{name: "16-byte bufio over one byte at a time", src: func() io.Reader {
			return bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(wire)), 16)
		}},
	}
	for _, s := range sources {
		t.Run(s.name, func(t *testing.T) {
			got, err := valuesOf(NewReader(s.src(), ReaderOptions{}))
			assert.ErrorIs(t, err, io.EOF)
			assertSameValues(t, want, got)
		})
	}

	t.Run("a new reader per value over a shared bufio", func(t *testing.T) {
		br := bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(wire)), 16)
		var consumed int64
		for i, w := range want {
			r := NewReader(br, ReaderOptions{})
			got, err := r.ReadValue()
			require.NoError(t, err, "value %d", i)
			assert.Truef(t, w.Equal(got), "value %d: got %v, want %v", i, got, w)
			consumed += r.Offset()
			assert.Equal(t, ends[i], consumed, "offset after value %d", i)
		}
		_, err := br.ReadByte()
		assert.ErrorIs(t, err, io.EOF)
	})
}

// TestReaderReuse checks that values stay intact while later values are read: payloads
// share arena chunks, and aggregates share the reader's scratch space.
func TestReaderReuse(t *testing.T) {
	var stream bytes.Buffer
	var want []Value
	for i := range 300 {
		v := ArrayValue(bulk(strings.Repeat("k", i%40)), IntValue(int64(i)),
			Value{Kind: Map, Elems: []Value{status("s"), bulk(strings.Repeat("v", i))}})
		want = append(want, v)
		stream.Write(AppendValue(nil, v))
	}
	got, err := valuesOf(NewReader(&stream, ReaderOptions{}))
	assert.ErrorIs(t, err, io.EOF)
	assertSameValues(t, want, got)
}

// TestReaderAfterError checks that a Reader keeps working after a limit error, so a
// caller that resynchronises by other means can go on (the stream itself is out of
// step; this only shows the Reader holds no stale state).
func TestReaderAfterError(t *testing.T) {
	r := NewReader(strings.NewReader("*3\r\n:1\r\n*2\r\n:2\r\n*1\r\n:3\r\n+after\r\n"), ReaderOptions{MaxDepth: 1})
	_, err := r.ReadValue()
	var perr *ProtocolError
	require.ErrorAs(t, err, &perr)
	got, err := valuesOf(r)
	assert.ErrorIs(t, err, io.EOF)
	assertSameValues(t, []Value{IntValue(2), ArrayValue(IntValue(3)), status("after")}, got)
}

// TestReaderIOError checks that an I/O error reaches the caller unchanged.
func TestReaderIOError(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		src  io.Reader
	}{
		{name: "before a value", src: iotest.ErrReader(boom)},
		{name: "inside a header", src: io.MultiReader(strings.NewReader("*2\r"), iotest.ErrReader(boom))},
		{name: "inside a payload", src: io.MultiReader(strings.NewReader("$5\r\nab"), iotest.ErrReader(boom))},
		{name: "inside a large payload", src: io.MultiReader(strings.NewReader("$100000\r\n"+strings.Repeat("a", 80000)), iotest.ErrReader(boom))},
		{name: "before the CRLF", src: io.MultiReader(strings.NewReader("$1\r\na"), iotest.ErrReader(boom))},
		{name: "between elements", src: io.MultiReader(strings.NewReader("*2\r\n:1\r\n"), iotest.ErrReader(boom))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader(tc.src, ReaderOptions{}).ReadValue()
			assert.ErrorIs(t, err, boom)
		})
	}
}

func TestReaderBuffered(t *testing.T) {
	r := NewReader(strings.NewReader("+a\r\n+b\r\n"), ReaderOptions{})
	_, err := r.ReadValue()
	require.NoError(t, err)
	assert.Equal(t, 4, r.Buffered())
	assert.Equal(t, int64(4), r.Offset())
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{in: "0", want: 0, ok: true},
		{in: "-0", want: 0, ok: true},
		{in: "007", want: 7, ok: true},
		{in: "9223372036854775807", want: math.MaxInt64, ok: true},
		{in: "-9223372036854775808", want: math.MinInt64, ok: true},
		{in: "09223372036854775807", want: math.MaxInt64, ok: true},
		{in: "9223372036854775808"},
		{in: "-9223372036854775809"},
		{in: "18446744073709551615"},
		{in: "18446744073709551616"},
		{in: "18446744073709551620"},
		{in: "-18446744073709551620"},
		{in: "92233720368547758070"},
		{in: "99999999999999999999"},
		{in: ""},
		{in: "-"},
		{in: "+1"},
		{in: "1-"},
		{in: " 1"},
		{in: "1 "},
		{in: "1e3"},
	}
	for _, tc := range tests {
		t.Run(strconv.Quote(tc.in), func(t *testing.T) {
			got, ok := parseInt([]byte(tc.in))
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}
