package format

import (
	"strconv"

	"github.com/rcli-dev/rcli/internal/resp"
)

// appendJSON appends v as one compact JSON value, following redis-cli's
// cliFormatReplyJson where it produces valid JSON (see the package documentation for
// where it does not). quoted selects --quoted-json string escaping; verbose shows
// attributes by wrapping the value as {"attributes":{...},"value":...}.
func appendJSON(dst []byte, v resp.Value, quoted, verbose bool) []byte {
	if verbose && len(v.Attrs) > 0 {
		dst = append(dst, `{"attributes":`...)
		dst = appendJSONMap(dst, v.Attrs, quoted, verbose)
		dst = append(dst, `,"value":`...)
		v.Attrs = nil
		dst = appendJSON(dst, v, quoted, verbose)
		return append(dst, '}')
	}
	switch v.Kind {
	case resp.Error:
		dst = append(dst, `{"error":`...)
		dst = appendJSONText(dst, v.Str, quoted)
		dst = append(dst, '}')
	case resp.SimpleString, resp.BulkString, resp.Verbatim:
		dst = appendJSONText(dst, v.Str, quoted)
	case resp.BigNumber:
		// A string, so that no digit is lost by readers that parse numbers as floats.
		dst = appendJSONString(dst, v.Str)
	case resp.Integer:
		dst = strconv.AppendInt(dst, v.Int, 10)
	case resp.Double:
		dst = appendJSONDouble(dst, v)
	case resp.Null:
		dst = append(dst, "null"...)
	case resp.Boolean:
		if v.Bool() {
			dst = append(dst, "true"...)
		} else {
			dst = append(dst, "false"...)
		}
	case resp.Array, resp.Set, resp.Push:
		dst = append(dst, '[')
		for i, e := range v.Elems {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSON(dst, e, quoted, verbose)
		}
		dst = append(dst, ']')
	case resp.Map:
		dst = appendJSONMap(dst, v.Elems, quoted, verbose)
	default:
		dst = append(dst, "null"...)
	}
	return dst
}

// appendJSONMap appends alternating keys and values as a JSON object. A key that is
// a string (simple, bulk, verbatim or big number) is written as that string; any
// other key, or a key whose attributes are shown, becomes a string holding its own
// JSON text, so that an integer key 1 reads "1", as redis-cli prints it.
func appendJSONMap(dst []byte, kv []resp.Value, quoted, verbose bool) []byte {
	dst = append(dst, '{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			dst = append(dst, ',')
		}
		k := kv[i]
		stringKey := k.Kind == resp.SimpleString || k.Kind == resp.BulkString ||
			k.Kind == resp.Verbatim || k.Kind == resp.BigNumber
		if stringKey && !(verbose && len(k.Attrs) > 0) {
			dst = appendJSON(dst, k, quoted, verbose)
		} else {
			dst = appendJSONString(dst, appendJSON(nil, k, quoted, verbose))
		}
		dst = append(dst, ':')
		dst = appendJSON(dst, kv[i+1], quoted, verbose)
	}
	return append(dst, '}')
}

// appendJSONText appends the payload of a string value as a JSON string.
func appendJSONText(dst, s []byte, quoted bool) []byte {
	if quoted {
		return appendQuotedJSONString(dst, s)
	}
	return appendJSONString(dst, s)
}

// appendJSONDouble appends a double as the server wrote it when that is a JSON
// number, and otherwise as a JSON number of the same value, or as the string "inf",
// "-inf" or "nan", which JSON has no numbers for.
func appendJSONDouble(dst []byte, v resp.Value) []byte {
	if isJSONNumber(v.Str) {
		return append(dst, v.Str...)
	}
	d := resp.DoubleValue(v.Float)
	if isJSONNumber(d.Str) {
		return append(dst, d.Str...)
	}
	dst = append(dst, '"')
	dst = append(dst, d.Str...)
	return append(dst, '"')
}

// isJSONNumber reports whether b is a number in JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func isJSONNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(b)
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}
