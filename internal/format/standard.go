package format

import (
	"strconv"
	"strings"

	"github.com/fatih/color"

	"github.com/rcli-dev/rcli/internal/resp"
)

// attributeTag starts the block that shows a value's attributes in verbose standard
// mode; the block's later lines are indented by its width.
const attributeTag = "(attribute) "

// palette holds the colours of standard mode. Without colour every field is nil,
// and nil prints plain text.
type palette struct {
	err     *color.Color // (error) ERR ...
	tag     *color.Color // (integer), (double), (big number), (nil), (empty array), ...
	number  *color.Color // the digits of integers, doubles and big numbers
	str     *color.Color // quoted bulk strings
	boolean *color.Color // (true), (false)
	index   *color.Color // 1) 1~ 1# and =>
	attr    *color.Color // (attribute)
}

// newPalette returns rcli's colours with colour forced on, whatever color.NoColor says.
func newPalette() palette {
	c := func(attrs ...color.Attribute) *color.Color {
		col := color.New(attrs...)
		col.EnableColor()
		return col
	}
	return palette{
		err:     c(color.FgRed),
		tag:     c(color.Faint),
		number:  c(color.FgCyan),
		str:     c(color.FgGreen),
		boolean: c(color.FgYellow),
		index:   c(color.Faint),
		attr:    c(color.FgMagenta),
	}
}

// paint colours dst[start:], the text just appended, when c is not nil.
func paint(dst []byte, start int, c *color.Color) []byte {
	if c == nil || start == len(dst) {
		return dst
	}
	text := string(dst[start:])
	return append(dst[:start], c.Sprint(text)...)
}

// standard formats replies as redis-cli's cliFormatReplyTTY.
type standard struct {
	pal     palette
	verbose bool
}

func appendStandard(dst []byte, v resp.Value, o Options) []byte {
	f := standard{verbose: o.Verbose}
	if o.Color {
		f.pal = newPalette()
	}
	return f.value(dst, v, "")
}

// value appends v and a newline. Its first line is not indented (the caller has
// written the element's number); every later line starts with prefix.
func (f *standard) value(dst []byte, v resp.Value, prefix string) []byte {
	if f.verbose && len(v.Attrs) > 0 {
		start := len(dst)
		dst = append(dst, attributeTag...)
		dst = paint(dst, start, f.pal.attr)
		attrs := resp.Value{Kind: resp.Map, Elems: v.Attrs}
		dst = f.value(dst, attrs, prefix+strings.Repeat(" ", len(attributeTag)))
		dst = append(dst, prefix...)
	}
	start := len(dst)
	switch v.Kind {
	case resp.Error:
		dst = append(dst, "(error) "...)
		dst = append(dst, v.Str...)
		dst = paint(dst, start, f.pal.err)
	case resp.SimpleString:
		dst = append(dst, v.Str...)
	case resp.Integer:
		dst = f.tag(dst, "(integer) ")
		num := len(dst)
		dst = strconv.AppendInt(dst, v.Int, 10)
		dst = paint(dst, num, f.pal.number)
	case resp.Double:
		dst = f.tag(dst, "(double) ")
		num := len(dst)
		dst = appendDouble(dst, v)
		dst = paint(dst, num, f.pal.number)
	case resp.BigNumber:
		dst = f.tag(dst, "(big number) ")
		num := len(dst)
		dst = append(dst, v.Str...)
		dst = paint(dst, num, f.pal.number)
	case resp.BulkString:
		dst = AppendRepr(dst, v.Str)
		dst = paint(dst, start, f.pal.str)
	case resp.Verbatim:
		dst = append(dst, v.Str...)
	case resp.Null:
		dst = f.tag(dst, "(nil)")
	case resp.Boolean:
		if v.Bool() {
			dst = append(dst, "(true)"...)
		} else {
			dst = append(dst, "(false)"...)
		}
		dst = paint(dst, start, f.pal.boolean)
	case resp.Array, resp.Set, resp.Push, resp.Map:
		return f.aggregate(dst, v, prefix)
	default:
		dst = append(dst, "(unknown reply "...)
		dst = append(dst, v.Kind.String()...)
		dst = append(dst, ')')
	}
	return append(dst, '\n')
}

// tag appends a type tag such as "(integer) " or "(nil)".
func (f *standard) tag(dst []byte, tag string) []byte {
	start := len(dst)
	dst = append(dst, tag...)
	return paint(dst, start, f.pal.tag)
}

// aggregate appends an array, set, push or map: one numbered element (or key => value
// pair) per line, nested aggregates continuing on the same line.
func (f *standard) aggregate(dst []byte, v resp.Value, prefix string) []byte {
	count := v.Len()
	if count == 0 {
		switch v.Kind {
		case resp.Map:
			dst = f.tag(dst, "(empty hash)")
		case resp.Set:
			dst = f.tag(dst, "(empty set)")
		case resp.Push:
			dst = f.tag(dst, "(empty push)")
		default:
			dst = f.tag(dst, "(empty array)")
		}
		return append(dst, '\n')
	}
	width := digits(count)
	inner := prefix + strings.Repeat(" ", width+2)
	sep := byte(')')
	step := 1
	switch v.Kind {
	case resp.Set:
		sep = '~'
	case resp.Map:
		sep = '#'
		step = 2
	}
	for i, n := 0, 1; i+step <= len(v.Elems); i, n = i+step, n+1 {
		if n > 1 {
			dst = append(dst, prefix...)
		}
		start := len(dst)
		for w := digits(n); w < width; w++ {
			dst = append(dst, ' ')
		}
		dst = strconv.AppendInt(dst, int64(n), 10)
		dst = append(dst, sep)
		dst = paint(dst, start, f.pal.index)
		dst = append(dst, ' ')
		dst = f.value(dst, v.Elems[i], inner)
		if v.Kind != resp.Map {
			continue
		}
		// The key's newline gives way to " => " and the value.
		dst = append(dst[:len(dst)-1], ' ')
		start = len(dst)
		dst = append(dst, "=>"...)
		dst = paint(dst, start, f.pal.index)
		dst = append(dst, ' ')
		if f.multiline(v.Elems[i+1]) {
			dst = append(dst, '\n')
			dst = append(dst, inner...)
		}
		dst = f.value(dst, v.Elems[i+1], inner)
	}
	return dst
}

// digits returns the number of decimal digits of n > 0.
func digits(n int) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// multiline reports whether v takes more than one line, as redis-cli's
// cliIsMultilineValueTTY decides it (a verbatim string with newlines does not count),
// and counting a shown attribute block as a line of its own.
func (f *standard) multiline(v resp.Value) bool {
	if f.verbose && len(v.Attrs) > 0 {
		return true
	}
	switch v.Kind {
	case resp.Array, resp.Set, resp.Push:
		switch len(v.Elems) {
		case 0:
			return false
		case 1:
			return f.multiline(v.Elems[0])
		}
		return true
	case resp.Map:
		switch {
		case len(v.Elems) < 2:
			return false
		case len(v.Elems) > 2:
			return true
		}
		return f.multiline(v.Elems[1])
	}
	return false
}

// appendDouble appends the server's text of a double, or the shortest decimal for a
// value built without one.
func appendDouble(dst []byte, v resp.Value) []byte {
	if len(v.Str) > 0 {
		return append(dst, v.Str...)
	}
	return append(dst, resp.DoubleValue(v.Float).Str...)
}
