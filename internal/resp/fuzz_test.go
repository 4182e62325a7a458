package resp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Fuzz targets for the codec. `go test` runs their seeds (below and under
// testdata/fuzz/) as ordinary tests; `make fuzz` runs them for longer, for example
//
//	go test ./internal/resp -run '^$' -fuzz '^FuzzReadValue$' -fuzztime 30s

// maxSeed keeps large unit-test frames out of the fuzz seeds, where they slow every
// mutation down.
const maxSeed = 4 << 10

// fuzzLimits returns the options every reader target runs under: the defaults, and
// limits small enough for short inputs to reach each of them.
func fuzzLimits() []ReaderOptions {
	return []ReaderOptions{{}, {MaxBulkLen: 64, MaxElems: 8, MaxDepth: 4, MaxLineLen: 32}}
}

// captures returns the replies recorded from redis-server 7.0.15 (RESP2 and RESP3) under
// testdata/captures.
func captures(tb testing.TB) map[string][]byte {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "captures", "*.resp"))
	require.NoError(tb, err)
	require.NotEmpty(tb, paths)
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(tb, err)
		out[filepath.Base(p)] = b
	}
	return out
}

// addReaderSeeds adds every type prefix, the nasty lengths, missing CRs, deep nesting,
// the unit tests' frames and the captured replies.
func addReaderSeeds(f *testing.F) {
	seeds := []string{
		"+OK\r\n", "-ERR x\r\n", ":1\r\n", "$1\r\na\r\n", "*1\r\n:1\r\n", "_\r\n", ",1.5\r\n",
		"#t\r\n", "(123\r\n", "=5\r\ntxt:a\r\n", "%1\r\n+a\r\n+b\r\n", "~1\r\n+a\r\n", ">1\r\n+a\r\n",
		"|1\r\n+a\r\n+b\r\n+c\r\n", "!3\r\nERR\r\n",
		"$-1\r\n", "*-1\r\n", "$-2\r\n", "*-2\r\n", "%-1\r\n", "$0\r\n\r\n", "*0\r\n",
		"$9223372036854775807\r\n", "*4294967295\r\n", "%2147483648\r\n", "*2000000000\r\n",
		"$536870912\r\nab", "$18446744073709551619\r\nabc\r\n", ":-9223372036854775808\r\n",
		"+OK\n", "$1\na\n", "*1\n:1\n", "+OK\r", "$1\r\na\rX",
		strings.Repeat("*1\r\n", 200) + ":1\r\n",
		strings.Repeat("|1\r\n+a\r\n+b\r\n", 10) + "_\r\n",
		strings.Repeat("%1\r\n", 5) + "+k\r\n" + strings.Repeat("+v\r\n", 5),
		"+" + strings.Repeat("a", 40) + "\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	for _, tc := range frameCases() {
		if len(tc.wire) <= maxSeed {
			f.Add([]byte(tc.wire))
		}
	}
	for _, tc := range malformedCases() {
		if len(tc.wire) <= maxSeed {
			f.Add([]byte(tc.wire))
		}
	}
	for _, c := range captures(f) {
		f.Add(c)
	}
}

// checkReadError fails unless err is one a Reader may return for bytes held in memory.
func checkReadError(t *testing.T, r *Reader, data []byte, err error) {
	t.Helper()
	var perr *ProtocolError
	switch {
	case err == io.EOF:
		assert.Equal(t, int64(len(data)), r.Offset(), "io.EOF only at the end of the input")
	case errors.Is(err, io.ErrUnexpectedEOF):
	case errors.As(err, &perr):
		assert.Equal(t, r.Offset(), perr.Offset, "the error's offset is what the reader consumed")
	default:
		t.Fatalf("unexpected error %#v", err)
	}
	assert.LessOrEqual(t, r.Offset(), int64(len(data)))
}

// FuzzReadValue: the Reader never panics or hangs, and whatever it accepts AppendValue
// re-encodes into bytes that read back as an equal value.
func FuzzReadValue(f *testing.F) {
	addReaderSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range fuzzLimits() {
			r := NewReader(bytes.NewReader(data), opts)
			for {
				before := r.Offset()
				v, err := r.ReadValue()
				if err != nil {
					checkReadError(t, r, data, err)
					break
				}
				require.Greater(t, r.Offset(), before, "a value consumes bytes")

				enc := AppendValue(nil, v)
				back := NewReader(bytes.NewReader(enc), ReaderOptions{})
				w, err := back.ReadValue()
				require.NoErrorf(t, err, "re-reading %q (from %v)", enc, v)
				require.Truef(t, v.Equal(w), "read %v, re-read %v from %q", v, w, enc)
				require.Equal(t, int64(len(enc)), back.Offset(), "the encoding is one value")
			}
		}
	})
}

type step struct {
	v   Value
	err error
	off int64
}

// trace reads values until an error and records each outcome with the offset after it.
func trace(r *Reader) []step {
	var steps []step
	for {
		v, err := r.ReadValue()
		steps = append(steps, step{v: v, err: err, off: r.Offset()})
		if err != nil {
			return steps
		}
	}
}

func assertSameTrace(t *testing.T, want, got []step) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		assert.Truef(t, want[i].v.Equal(got[i].v), "step %d: %v, want %v", i, got[i].v, want[i].v)
		assert.Equal(t, want[i].err, got[i].err, "step %d", i)
		assert.Equal(t, want[i].off, got[i].off, "step %d", i)
	}
}

// FuzzReaderBoundaries: the same bytes read whole, or one byte at a time through a
// 16-byte bufio.Reader, give the same values, the same errors and the same offsets.
func FuzzReaderBoundaries(f *testing.F) {
	addReaderSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range fuzzLimits() {
			want := trace(NewReader(bytes.NewReader(data), opts))
			small := bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(data)), 16)
			assertSameTrace(t, want, trace(NewReader(small, opts)))
		}
	})
}

// FuzzDesync (after radix's TestUnmarshalConsumedOnErr): with "+SENTINEL\r\n" after the
// input, the values read from the input alone are a prefix of those read now, and when
// the input alone ends cleanly the next value is the sentinel: the Reader never takes a
// byte that belongs to the next value.
func FuzzDesync(f *testing.F) {
	addReaderSeeds(f)
	sentinel := StatusValue("SENTINEL")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range fuzzLimits() {
			alone := trace(NewReader(bytes.NewReader(data), opts))
			withSentinel := append(append([]byte{}, data...), "+SENTINEL\r\n"...)
			r := NewReader(iotest.OneByteReader(bytes.NewReader(withSentinel)), opts)
			for i, s := range alone[:len(alone)-1] {
				v, err := r.ReadValue()
				require.NoError(t, err, "value %d", i)
				require.Truef(t, s.v.Equal(v), "value %d: %v, want %v", i, v, s.v)
			}
			if last := alone[len(alone)-1]; last.err == io.EOF {
				v, err := r.ReadValue()
				require.NoError(t, err)
				require.Truef(t, sentinel.Equal(v), "after the input: %v", v)
				_, err = r.ReadValue()
				require.ErrorIs(t, err, io.EOF)
			}
		}
	})
}

// FuzzSplitArgs: SplitArgs never panics, agrees with a port of redis's sdssplitargs,
// and what it splits, quoted back redis-cli style, splits into the same arguments.
func FuzzSplitArgs(f *testing.F) {
	for _, tc := range splitCases() {
		if len(tc.line) <= maxSeed {
			f.Add(tc.line)
		}
	}
	f.Add(`SET "k\x00" 'v\'' "a"b`)
	f.Fuzz(func(t *testing.T, line string) {
		args, err := SplitArgs(line)
		want, ok := sdsSplitArgs(line)
		require.Equal(t, ok, err == nil, "SplitArgs error %v", err)
		if err != nil {
			var serr *SplitError
			require.ErrorAs(t, err, &serr)
			require.Nil(t, args)
			require.True(t, serr.Pos >= 0 && serr.Pos < len(line), "position %d", serr.Pos)
			return
		}
		require.Equal(t, want, args)
		again, err := SplitArgs(quoteArgs(args))
		require.NoError(t, err)
		require.Equal(t, args, again)
	})
}

// sdsSplitArgs is a statement-by-statement port of sdssplitargs from redis's sds.c, the
// oracle for FuzzSplitArgs. In C the line ends at its NUL terminator; here at returns
// 0 past the end and end says where the line really stops, so a NUL inside the line is
// an ordinary byte, as in SplitArgs.
func sdsSplitArgs(line string) ([][]byte, bool) {
	end := func(p int) bool { return p >= len(line) }
	at := func(p int) byte {
		if end(p) {
			return 0
		}
		return line[p]
	}
	isspace := func(c byte) bool {
		return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
	}
	var vector [][]byte
	p := 0
	for {
		for !end(p) && isspace(at(p)) {
			p++
		}
		if end(p) {
			return vector, true
		}
		inq, insq, done := false, false, false
		current := []byte{}
		for !done {
			switch {
			case inq:
				switch {
				case at(p) == '\\' && at(p+1) == 'x' && isHex(at(p+2)) && isHex(at(p+3)):
					current = append(current, unhex(at(p+2))*16+unhex(at(p+3)))
					p += 3
				case at(p) == '\\' && !end(p+1):
					p++
					var c byte
					switch at(p) {
					case 'n':
						c = '\n'
					case 'r':
						c = '\r'
					case 't':
						c = '\t'
					case 'b':
						c = '\b'
					case 'a':
						c = '\a'
					default:
						c = at(p)
					}
					current = append(current, c)
				case !end(p) && at(p) == '"':
					if !end(p+1) && !isspace(at(p+1)) {
						return nil, false
					}
					done = true
				case end(p):
					return nil, false
				default:
					current = append(current, at(p))
				}
			case insq:
				switch {
				case at(p) == '\\' && at(p+1) == '\'' && !end(p+1):
					p++
					current = append(current, '\'')
				case !end(p) && at(p) == '\'':
					if !end(p+1) && !isspace(at(p+1)) {
						return nil, false
					}
					done = true
				case end(p):
					return nil, false
				default:
					current = append(current, at(p))
				}
			default:
				switch c := at(p); {
				case end(p) || c == ' ' || c == '\n' || c == '\r' || c == '\t':
					done = true
				case c == '"':
					inq = true
				case c == '\'':
					insq = true
				default:
					current = append(current, c)
				}
			}
			if !end(p) {
				p++
			}
		}
		vector = append(vector, current)
	}
}

// FuzzRoundTripCommand: a command encoded by AppendCommand (or AppendArgs, or a Writer)
// reads back as an array of the same bulk strings.
func FuzzRoundTripCommand(f *testing.F) {
	f.Add([]byte("SET\x00key\x00value"), byte(0))
	f.Add([]byte("PING"), byte(' '))
	f.Add([]byte(""), byte(0))
	f.Add([]byte("a\r\nb\r\n\r\n"), byte('\n'))
	f.Add([]byte("*1\r\n$-1\r\n"), byte('$'))
	f.Fuzz(func(t *testing.T, data []byte, sep byte) {
		args := bytes.Split(data, []byte{sep})
		enc := AppendCommand(nil, args...)

		strs := make([]string, len(args))
		for i, a := range args {
			strs[i] = string(a)
		}
		require.Equal(t, enc, AppendArgs(nil, strs...))
		var buf bytes.Buffer
		w := NewWriter(&buf)
		w.WriteCommand(args...)
		require.NoError(t, w.Flush())
		require.Equal(t, enc, buf.Bytes())

		r := NewReader(bytes.NewReader(enc), ReaderOptions{})
		v, err := r.ReadValue()
		require.NoError(t, err)
		require.Equal(t, Array, v.Kind)
		require.Len(t, v.Elems, len(args))
		for i, a := range args {
			require.Equal(t, BulkString, v.Elems[i].Kind)
			require.Equal(t, string(a), string(v.Elems[i].Str))
		}
		_, err = r.ReadValue()
		require.ErrorIs(t, err, io.EOF)
	})
}

// TestCaptures reads the recorded server replies: every one parses, re-encodes and
// reads back equal, and reading them one byte at a time changes nothing.
func TestCaptures(t *testing.T) {
	for name, data := range captures(t) {
		t.Run(name, func(t *testing.T) {
			vs, err := valuesOf(NewReader(bytes.NewReader(data), ReaderOptions{}))
			require.ErrorIs(t, err, io.EOF)
			require.NotEmpty(t, vs)
			var enc []byte
			for _, v := range vs {
				enc = AppendValue(enc, v)
			}
			back, err := valuesOf(NewReader(bytes.NewReader(enc), ReaderOptions{}))
			require.ErrorIs(t, err, io.EOF)
			assertSameValues(t, vs, back)
			slow, err := valuesOf(NewReader(iotest.OneByteReader(bytes.NewReader(data)), ReaderOptions{}))
			require.ErrorIs(t, err, io.EOF)
			assertSameValues(t, vs, slow)
		})
	}
}

// TestCaptureShapes pins a few replies whose shape other packages rely on.
func TestCaptureShapes(t *testing.T) {
	vs, err := valuesOf(NewReader(bytes.NewReader(captures(t)["resp3-types.resp"]), ReaderOptions{}))
	require.ErrorIs(t, err, io.EOF)
	kinds := make([]Kind, len(vs))
	for i, v := range vs {
		kinds[i] = v.Kind
	}
	// DEBUG PROTOCOL string integer double bignum null array set map attrib push verbatim true false
	assert.Equal(t, []Kind{BulkString, Integer, Double, BigNumber, Null, Array, Set, Map, BulkString, Push,
		BulkString, Verbatim, Boolean, Boolean}, kinds)
	attributed := vs[8]
	assert.Equal(t, "Some real reply following the attribute", string(attributed.Str))
	require.Len(t, attributed.Attrs, 2)
	assert.Equal(t, "key-popularity", string(attributed.Attrs[0].Str))
}

// FuzzParseInt: the hand-written parser of integers and lengths agrees with
// strconv.ParseInt on the RESP syntax: an optional '-', then at most 20 bytes in all of
// decimal digits, with no overflow.
func FuzzParseInt(f *testing.F) {
	for _, s := range []string{"0", "-1", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "18446744073709551615", "+1", "1a", "", "-", "00000000000000000001"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := parseInt(b)
		digits := strings.TrimPrefix(string(b), "-")
		syntax := len(b) <= 20 && digits != "" && strings.Trim(digits, "0123456789") == ""
		want, err := strconv.ParseInt(string(b), 10, 64)
		require.Equal(t, syntax && err == nil, ok, "parseInt(%q) = %d, %v", b, got, ok)
		if ok {
			require.Equal(t, want, got, "parseInt(%q)", b)
		}
	})
}
