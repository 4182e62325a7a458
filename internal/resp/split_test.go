package resp

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// splitCases follow redis-cli's sdssplitargs. Every case without a NUL byte was checked
// against redis-cli 7.0.15 by piping "CMD <line>" into its REPL against a fake server;
// so were 20,000 random lines over the troublesome bytes. redis-cli reads the line as a
// C string and stops at a NUL byte; SplitArgs keeps NUL as an ordinary byte.
func splitCases() []struct {
	name string
	line string
	want []string
	err  int // the SplitError's Pos when the line is refused, otherwise -1
} {
	long := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	return []struct {
		name string
		line string
		want []string
		err  int
	}{
		{name: "empty line", line: "", want: nil, err: -1},
		{name: "only spaces", line: " \t \r\n\v\f ", want: nil, err: -1},
		{name: "plain words", line: "SET key value", want: []string{"SET", "key", "value"}, err: -1},
		{name: "runs of spaces", line: "  a   b  ", want: []string{"a", "b"}, err: -1},
		{name: "tabs, CR and LF separate", line: "a\tb\rc\nd", want: []string{"a", "b", "c", "d"}, err: -1},
		{name: "vertical tab and form feed do not separate", line: "a\vb\fc", want: []string{"a\vb\fc"}, err: -1},
		{name: "vertical tab and form feed are skipped between args", line: "\va \f b", want: []string{"a", "b"}, err: -1},
		{name: "double quotes keep spaces", line: `"a b"  c`, want: []string{"a b", "c"}, err: -1},
		{name: "single quotes keep spaces", line: `'a b'  c`, want: []string{"a b", "c"}, err: -1},
		{name: "empty double quotes", line: `""`, want: []string{""}, err: -1},
		{name: "empty single quotes", line: `''`, want: []string{""}, err: -1},
		{name: "empty quotes between args", line: `a "" '' b`, want: []string{"a", "", "", "b"}, err: -1},
		{name: "quote opening mid-argument", line: `a"b c"`, want: []string{"ab c"}, err: -1},
		{name: "single quote opening mid-argument", line: `x'a b'`, want: []string{"xa b"}, err: -1},
		{name: "closing quote then a letter", line: `"a"b`, err: 2},
		{name: "closing single quote then a letter", line: `'a'b`, err: 2},
		{name: "quote opening mid-argument then a letter", line: `x"a b"y`, err: 5},
		{name: "two quoted parts joined", line: `"a""b"`, err: 2},
		{name: "double then single quotes joined", line: `"a"'b'`, err: 2},
		{name: "closing quote then a tab", line: "\"a\"\tb", want: []string{"a", "b"}, err: -1},
		{name: "closing quote then a vertical tab", line: "\"a\"\vb", want: []string{"a", "b"}, err: -1},
		{name: "closing quote then a form feed", line: "'a'\fb", want: []string{"a", "b"}, err: -1},
		{name: "closing quote then a space at the end", line: `"a" `, want: []string{"a"}, err: -1},
		{name: "escaped single quote", line: `'it\'s'`, want: []string{"it's"}, err: -1},
		{name: "backslash in single quotes", line: `'a\b\\c'`, want: []string{`a\b\\c`}, err: -1},
		{name: "escaped double quote in single quotes", line: `'\"'`, want: []string{`\"`}, err: -1},
		{name: "single quote ending in escaped quote", line: `'a\'`, err: 0},
		{name: "single quote ending in two backslashes", line: `'a\\'`, err: 0},
		{name: "hex escapes", line: `"\x41\x4g"`, want: []string{"Ax4g"}, err: -1},
		{name: "upper and lower case hex", line: `"\xFF\xfe\x00"`, want: []string{"\xff\xfe\x00"}, err: -1},
		{name: "hex escape with one digit", line: `"\x4"`, want: []string{"x4"}, err: -1},
		{name: "hex escape without digits", line: `"\x"`, want: []string{"x"}, err: -1},
		{name: "hex escape with bad digits", line: `"\xzz"`, want: []string{"xzz"}, err: -1},
		{name: "hex escape outside quotes", line: `\x41`, want: []string{`\x41`}, err: -1},
		{name: "backslash outside quotes", line: `a\ b`, want: []string{`a\`, "b"}, err: -1},
		{name: "control escapes", line: `"\n\r\t\b\a"`, want: []string{"\n\r\t\b\a"}, err: -1},
		{name: "unknown escape stands for itself", line: `"\q"`, want: []string{"q"}, err: -1},
		{name: "escaped backslash", line: `"\\"`, want: []string{`\`}, err: -1},
		{name: "escaped double quote", line: `"say \"hi\""`, want: []string{`say "hi"`}, err: -1},
		{name: "escaped single quote in double quotes", line: `"\'"`, want: []string{"'"}, err: -1},
		{name: "trailing backslash inside double quotes", line: `"abc\`, err: 0},
		{name: "escaped closing quote leaves it open", line: `"abc\"`, err: 0},
		{name: "trailing backslash inside single quotes", line: `'abc\`, err: 0},
		{name: "unbalanced double quote", line: `SET "unterminated`, err: 4},
		{name: "unbalanced single quote", line: `SET 'unterminated`, err: 4},
		{name: "unbalanced quote mid-argument", line: `a"`, err: 1},
		{name: "newline inside quotes", line: "\"a\nb\"", want: []string{"a\nb"}, err: -1},
		{name: "utf-8", line: `SET clé "wörld ✓"`, want: []string{"SET", "clé", "wörld ✓"}, err: -1},
		{name: "invalid utf-8", line: "\xff\xfe \"\xc3\x28\" '\x80'", want: []string{"\xff\xfe", "\xc3\x28", "\x80"}, err: -1},
		{name: "NUL bytes are ordinary bytes", line: "a\x00b \"c\x00\" '\x00'", want: []string{"a\x00b", "c\x00", "\x00"}, err: -1},
		{name: "escaped NUL", line: "\"\\\x00\"", want: []string{"\x00"}, err: -1},
		{name: "1 MiB argument", line: "SET k " + long, want: []string{"SET", "k", long}, err: -1},
		{name: "1 MiB quoted argument", line: `"` + long + `" x`, want: []string{long, "x"}, err: -1},
	}
}

func TestSplitArgs(t *testing.T) {
	for _, tc := range splitCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SplitArgs(tc.line)
			if tc.err >= 0 {
				var serr *SplitError
				require.ErrorAs(t, err, &serr)
				assert.Nil(t, got)
				assert.Equal(t, tc.err, serr.Pos)
				assert.Contains(t, serr.Error(), "invalid argument(s): ")
				return
			}
			require.NoError(t, err)
			require.Len(t, got, len(tc.want))
			for i := range tc.want {
				assert.Equal(t, tc.want[i], string(got[i]), "arg %d", i)
				assert.NotNil(t, got[i], "arg %d is non-nil", i)
			}
		})
	}
}

// TestSplitArgsQuoteRoundTrip quotes arbitrary arguments redis-cli style and splits them
// back.
func TestSplitArgsQuoteRoundTrip(t *testing.T) {
	var every [256]byte
	for i := range every {
		every[i] = byte(i)
	}
	args := [][]byte{every[:], {}, []byte(`"'\`), []byte("a b"), []byte("\\x41")}
	got, err := SplitArgs(quoteArgs(args))
	require.NoError(t, err)
	assert.Equal(t, args, got)
}

// quoteArgs renders args as a line SplitArgs reads back as args, the way redis-cli
// quotes a value: double quotes around printable ASCII, \xHH for every other byte.
func quoteArgs(args [][]byte) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		for _, c := range a {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c >= ' ' && c <= '~':
				b.WriteByte(c)
			default:
				const hex = "0123456789abcdef"
				b.WriteString(`\x`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&15])
			}
		}
		b.WriteByte('"')
	}
	return b.String()
}
