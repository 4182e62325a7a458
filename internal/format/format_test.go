package format_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fatih/color"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/format"
	"github.com/rcli-dev/rcli/internal/resp"
)

var jsonOptions = []format.Options{
	{Mode: format.JSON}, {Mode: format.QuotedJSON},
	{Mode: format.JSON, Verbose: true}, {Mode: format.QuotedJSON, Verbose: true},
}

// checkJSONLine asserts that out is one valid JSON document in valid UTF-8 and a newline.
func checkJSONLine(t *testing.T, out []byte) {
	t.Helper()
	require.True(t, bytes.HasSuffix(out, []byte("\n")), "no trailing newline: %q", out)
	doc := out[:len(out)-1]
	assert.NotContains(t, string(doc), "\n", "more than one line")
	assert.True(t, json.Valid(doc), "invalid JSON: %s", doc)
	assert.True(t, utf8.Valid(doc), "invalid UTF-8: %q", doc)
}

func TestJSONIsAlwaysValid(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			for _, v := range readReplies(t, c) {
				for _, o := range jsonOptions {
					checkJSONLine(t, format.Append(nil, v, o))
				}
			}
		})
	}
}

func TestJSONValues(t *testing.T) {
	bin := []byte(binaryValue)
	tests := []struct {
		name string
		v    resp.Value
		o    format.Options
		want string
	}{
		{"error", resp.ErrorValue(`ERR "x" \ y`), format.NewOptions(format.JSON), `{"error":"ERR \"x\" \\ y"}`},
		{"quoted error", resp.ErrorValue(`ERR "x"`), format.NewOptions(format.QuotedJSON), `{"error":"ERR \\\"x\\\""}`},
		{"binary", resp.Value{Kind: resp.BulkString, Str: bin}, format.NewOptions(format.JSON),
			`"a\u0001b\u00ffc\"d\\e\n\t\r\u0007\b\u0000` + "\x7f" + ` end"`},
		{"form feed", resp.StringValue("\f"), format.NewOptions(format.JSON), `"\f"`},
		{"big number", resp.Value{Kind: resp.BigNumber, Str: []byte("-123456789012345678901234567890")},
			format.NewOptions(format.JSON), `"-123456789012345678901234567890"`},
		{"double without text", resp.Value{Kind: resp.Double, Float: 2.5}, format.NewOptions(format.JSON), `2.5`},
		{"inf without text", resp.Value{Kind: resp.Double, Float: math.Inf(1)}, format.NewOptions(format.JSON), `"inf"`},
		{"nan", resp.DoubleValue(math.NaN()), format.NewOptions(format.JSON), `"nan"`},
		{"exponent", resp.Value{Kind: resp.Double, Float: 1e21, Str: []byte("1e21")}, format.NewOptions(format.JSON), `1e21`},
		{"odd text", resp.Value{Kind: resp.Double, Float: 5, Str: []byte("5.")}, format.NewOptions(format.JSON), `5`},
		{"attribute hidden", resp.Value{Kind: resp.Integer, Int: 1, Attrs: []resp.Value{resp.StatusValue("a"), resp.IntValue(2)}},
			format.NewOptions(format.JSON), `1`},
		{"attribute key", resp.Value{Kind: resp.Map, Elems: []resp.Value{
			{Kind: resp.BulkString, Str: []byte("k"), Attrs: []resp.Value{resp.StatusValue("a"), resp.IntValue(2)}},
			resp.IntValue(1),
		}}, format.Options{Mode: format.JSON, Verbose: true}, `{"{\"attributes\":{\"a\":2},\"value\":\"k\"}":1}`},
		{"error key", resp.Value{Kind: resp.Map, Elems: []resp.Value{resp.ErrorValue("E"), resp.IntValue(1)}},
			format.NewOptions(format.JSON), `{"{\"error\":\"E\"}":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := format.Append(nil, tt.v, tt.o)
			checkJSONLine(t, out)
			assert.Equal(t, tt.want+"\n", string(out))
		})
	}
}

// TestJSONStringsReadBack decodes JSON output with encoding/json: valid UTF-8 reads
// back as itself, each invalid byte as the code point of its value, and quoted JSON
// as the text of AppendRepr.
func TestJSONStringsReadBack(t *testing.T) {
	inputs := map[string]string{
		"ascii":        "Hello World",
		"controls":     "\x00\x01\x1f\n\r\t\b\f\a\x7f",
		"quotes":       `a"b\c'd`,
		"utf8":         "héllo 世界 🎉 \u2028 \ufffd",
		"invalid":      "\xff\xfe\xc3(\xed\xa0\x80\xe2\x82",
		"every byte":   string(allBytes()),
		"binary value": binaryValue,
	}
	for name, s := range inputs {
		t.Run(name, func(t *testing.T) {
			var got string
			out := format.Append(nil, resp.StringValue(s), format.NewOptions(format.JSON))
			require.NoError(t, json.Unmarshal(out, &got))
			assert.Equal(t, latin1ForInvalid(s), got)

			out = format.Append(nil, resp.StringValue(s), format.NewOptions(format.QuotedJSON))
			require.NoError(t, json.Unmarshal(out, &got))
			repr := format.AppendRepr(nil, []byte(s))
			assert.Equal(t, string(repr[1:len(repr)-1]), got)
		})
	}
}

// latin1ForInvalid replaces each byte of s that is not part of valid UTF-8 with the
// code point of the same value, which is what rcli's JSON escape reads back as.
func latin1ForInvalid(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(rune(s[i]))
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// TestRawIsTheBytes checks that raw output of a string is its bytes, and that the
// standard format's quoting reads back, through redis-cli's argument splitting, as the
// bytes it quoted.
func TestRawIsTheBytes(t *testing.T) {
	inputs := map[string][]byte{
		"empty":        {},
		"binary value": []byte(binaryValue),
		"every byte":   allBytes(),
		"utf8":         []byte("héllo 世界 🎉"),
	}
	for name, s := range inputs {
		t.Run(name, func(t *testing.T) {
			o := format.Options{Mode: format.Raw}
			for _, kind := range []resp.Kind{resp.BulkString, resp.SimpleString, resp.Verbatim} {
				assert.Equal(t, string(s), string(format.Append(nil, resp.Value{Kind: kind, Str: s, Format: "txt"}, o)), kind.String())
			}
			out := format.Append(nil, resp.Value{Kind: resp.BulkString, Str: s}, format.NewOptions(format.Standard))
			require.True(t, bytes.HasSuffix(out, []byte("\n")))
			args, err := resp.SplitArgs(string(out[:len(out)-1]))
			require.NoError(t, err)
			require.Len(t, args, 1)
			assert.Equal(t, s, args[0])
		})
	}
}

func TestAppendRepr(t *testing.T) {
	assert.Equal(t, `"a\x01b\xffc\"d\\e\n"`, string(format.AppendRepr(nil, []byte("a\x01b\xffc\"d\\e\n"))))
	assert.Equal(t, `"\r\t\a\b\x00\x7f\x80 ~"`, string(format.AppendRepr(nil, []byte("\r\t\a\b\x00\x7f\x80 ~"))))
	assert.Equal(t, `x""`, string(format.AppendRepr([]byte("x"), nil)))
}

func TestAlwaysRaw(t *testing.T) {
	tests := map[string]bool{
		"INFO":                       true,
		"info server":                true,
		"LoLwUt VERSION 5":           true,
		"DEBUG HTSTATS 0":            true,
		"debug htstats-key k":        true,
		"DEBUG CLIENT-EVICTION":      true,
		"DEBUG":                      false,
		"DEBUG SLEEP 0":              false,
		"MEMORY MALLOC-STATS":        true,
		"memory doctor":              true,
		"MEMORY USAGE k":             false,
		"CLUSTER NODES":              true,
		"CLUSTER INFO":               true,
		"CLUSTER NODES x":            false,
		"CLUSTER SLOTS":              false,
		"CLIENT LIST":                true,
		"CLIENT LIST TYPE normal":    true,
		"CLIENT INFO":                true,
		"CLIENT ID":                  false,
		"LATENCY GRAPH command":      true,
		"LATENCY GRAPH":              false,
		"LATENCY GRAPH command more": false,
		"LATENCY DOCTOR":             true,
		"LATENCY DOCTOR x":           false,
		"PROXY INFO":                 true,
		"GET info":                   false,
		"INFOS":                      false,
		"":                           false,
	}
	for line, want := range tests {
		name := line
		if name == "" {
			name = "no arguments"
		}
		t.Run(name, func(t *testing.T) {
			cmd := byteArgs(strings.Fields(line))
			assert.Equal(t, want, format.AlwaysRaw(cmd))
		})
	}
}

func TestForCommand(t *testing.T) {
	o := format.Options{Mode: format.JSON, FieldSep: ",", ReplySep: ";", Color: true, Verbose: true}
	assert.Equal(t, o, o.ForCommand(byteArgs([]string{"GET", "k"})))
	assert.Equal(t, format.Options{Mode: format.Raw, FieldSep: ",", Verbose: true},
		o.ForCommand(byteArgs([]string{"info"})))
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestColor checks that colour only adds escapes, only in standard mode, whatever
// fatih/color's global switch says.
func TestColor(t *testing.T) {
	saved := color.NoColor
	color.NoColor = true // colour must be forced on per value, not taken from the global
	t.Cleanup(func() { color.NoColor = saved })

	escapes := 0
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			for _, v := range readReplies(t, c) {
				for _, verbose := range []bool{false, true} {
					plain := format.Options{Mode: format.Standard, Verbose: verbose}
					coloured := plain
					coloured.Color = true
					got := format.Append(nil, v, coloured)
					escapes += bytes.Count(got, []byte("\x1b["))
					assert.Equal(t, string(format.Append(nil, v, plain)), ansi.ReplaceAllString(string(got), ""))
				}
				for _, m := range []format.Mode{format.Raw, format.CSV, format.JSON, format.QuotedJSON} {
					o := format.NewOptions(m)
					withColor := o
					withColor.Color = true
					assert.Equal(t, format.Append(nil, v, o), format.Append(nil, v, withColor), m.String())
				}
			}
		})
	}
	assert.Positive(t, escapes, "no colour at all")
	assert.True(t, color.NoColor, "the global switch was changed")
}

func TestAppendKeepsDst(t *testing.T) {
	v := resp.ArrayValue(resp.StringValue("a"), resp.IntValue(1))
	for _, m := range []format.Mode{format.Standard, format.Raw, format.CSV, format.JSON, format.QuotedJSON} {
		t.Run(m.String(), func(t *testing.T) {
			o := format.NewOptions(m)
			out := format.Append([]byte("prefix:"), v, o)
			assert.Equal(t, "prefix:"+string(format.Append(nil, v, o)), string(out))

			var buf bytes.Buffer
			require.NoError(t, format.Write(&buf, v, o))
			assert.Equal(t, format.Append(nil, v, o), buf.Bytes())
		})
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriteReturnsTheWriterError(t *testing.T) {
	errBroken := errors.New("broken pipe")
	err := format.Write(failingWriter{errBroken}, resp.StatusValue("OK"), format.NewOptions(format.Raw))
	assert.ErrorIs(t, err, errBroken)
	err = format.WritePush(failingWriter{errBroken}, resp.StatusValue("OK"), format.NewOptions(format.Raw))
	assert.ErrorIs(t, err, errBroken)
}

func TestPush(t *testing.T) {
	invalidate := resp.Value{Kind: resp.Push, Elems: []resp.Value{
		resp.StringValue("invalidate"),
		resp.ArrayValue(resp.StringValue("k1"), resp.StringValue("k2")),
	}}
	tests := []struct {
		name string
		v    resp.Value
		o    format.Options
		want string
	}{
		{"invalidate", invalidate, format.NewOptions(format.Standard), "-> invalidate: 'k1', 'k2'\n"},
		{"invalidate raw", invalidate, format.NewOptions(format.Raw), "invalidate\nk1\nk2\n"},
		{"invalidate json", invalidate, format.NewOptions(format.JSON), `["invalidate",["k1","k2"]]` + "\n"},
		{"message", resp.Value{Kind: resp.Push, Elems: []resp.Value{
			resp.StringValue("message"), resp.StringValue("ch"), resp.StringValue("hi"),
		}}, format.NewOptions(format.Standard), "1) \"message\"\n2) \"ch\"\n3) \"hi\"\n"},
		{"invalidate with a non-string key", resp.Value{Kind: resp.Push, Elems: []resp.Value{
			resp.StringValue("invalidate"), resp.ArrayValue(resp.IntValue(1)),
		}}, format.NewOptions(format.Standard), "1) \"invalidate\"\n2) 1) (integer) 1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, string(format.AppendPush(nil, tt.v, tt.o)))
			var buf bytes.Buffer
			require.NoError(t, format.WritePush(&buf, tt.v, tt.o))
			assert.Equal(t, tt.want, buf.String())
		})
	}
}

func TestZeroOptionsRawHasNoSeparators(t *testing.T) {
	v := resp.ArrayValue(resp.StringValue("a"), resp.StringValue("b"))
	assert.Equal(t, "ab", string(format.Append(nil, v, format.Options{Mode: format.Raw})))
	assert.Equal(t, "a\nb\n", string(format.Append(nil, v, format.NewOptions(format.Raw))))
}

func TestModeString(t *testing.T) {
	assert.Equal(t, "standard", format.Standard.String())
	assert.Equal(t, "raw", format.Raw.String())
	assert.Equal(t, "csv", format.CSV.String())
	assert.Equal(t, "json", format.JSON.String())
	assert.Equal(t, "quoted-json", format.QuotedJSON.String())
	assert.Equal(t, "mode(9)", format.Mode(9).String())
}

// FuzzJSON checks that any value the reader accepts prints as one valid JSON document
// in valid UTF-8, and that the other modes neither panic nor colour anything but
// standard output.
func FuzzJSON(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(repliesDir, "*.resp"))
	require.NoError(f, err)
	for _, name := range files {
		data, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte("%1\r\n*1\r\n$1\r\n\"\r\n|1\r\n+a\r\n,nan\r\n:1\r\n"))
	f.Add([]byte("$3\r\n\xff\xc3\"\r\n"))
	f.Add([]byte("=9\r\ntxt:\x00\xe2\x82\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := resp.NewReader(bytes.NewReader(data), resp.ReaderOptions{MaxDepth: 32}).ReadValue()
		if err != nil {
			return
		}
		for _, o := range jsonOptions {
			checkJSONLine(t, format.Append(nil, v, o))
		}
		for _, m := range []format.Mode{format.Standard, format.Raw, format.CSV} {
			_ = format.Append(nil, v, format.NewOptions(m))
		}
		plain := format.Append(nil, v, format.Options{Mode: format.Standard, Verbose: true})
		coloured := format.Append(nil, v, format.Options{Mode: format.Standard, Verbose: true, Color: true})
		assert.Equal(t, string(plain), ansi.ReplaceAllString(string(coloured), ""))
	})
}

func BenchmarkStandard(b *testing.B) {
	elems := make([]resp.Value, 1000)
	for i := range elems {
		elems[i] = resp.StringValue("value-" + strings.Repeat("x", i%20))
	}
	v := resp.ArrayValue(elems...)
	for _, m := range []format.Mode{format.Standard, format.Raw, format.CSV, format.JSON} {
		b.Run(m.String(), func(b *testing.B) {
			o := format.NewOptions(m)
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				buf = format.Append(buf[:0], v, o)
			}
		})
	}
}
