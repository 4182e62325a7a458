package format

import (
	"strconv"

	"github.com/rcli-dev/rcli/internal/resp"
)

// appendRaw appends v as redis-cli's cliFormatReplyRaw: bytes as they are, the
// elements of an aggregate joined by fieldSep, each map pair as "key value".
// Attributes are never shown.
func appendRaw(dst []byte, v resp.Value, fieldSep string) []byte {
	switch v.Kind {
	case resp.Null:
	case resp.Error:
		dst = append(dst, v.Str...)
		dst = append(dst, '\n')
	case resp.SimpleString, resp.BulkString, resp.Verbatim, resp.BigNumber:
		dst = append(dst, v.Str...)
	case resp.Boolean:
		if v.Bool() {
			dst = append(dst, "(true)"...)
		} else {
			dst = append(dst, "(false)"...)
		}
	case resp.Integer:
		dst = strconv.AppendInt(dst, v.Int, 10)
	case resp.Double:
		dst = appendDouble(dst, v)
	case resp.Array, resp.Set, resp.Push:
		for i, e := range v.Elems {
			if i > 0 {
				dst = append(dst, fieldSep...)
			}
			dst = appendRaw(dst, e, fieldSep)
		}
	case resp.Map:
		for i := 0; i+1 < len(v.Elems); i += 2 {
			if i > 0 {
				dst = append(dst, fieldSep...)
			}
			dst = appendRaw(dst, v.Elems[i], fieldSep)
			dst = append(dst, ' ')
			dst = appendRaw(dst, v.Elems[i+1], fieldSep)
		}
	}
	return dst
}

// appendCSV appends v as redis-cli's cliFormatReplyCSV: strings quoted with
// AppendRepr, every aggregate (maps included) flattened into one comma-separated
// list. Attributes are never shown.
func appendCSV(dst []byte, v resp.Value) []byte {
	switch v.Kind {
	case resp.Error:
		dst = append(dst, "ERROR,"...)
		dst = AppendRepr(dst, v.Str)
	case resp.SimpleString, resp.BulkString, resp.Verbatim:
		dst = AppendRepr(dst, v.Str)
	case resp.BigNumber:
		dst = append(dst, v.Str...)
	case resp.Integer:
		dst = strconv.AppendInt(dst, v.Int, 10)
	case resp.Double:
		dst = appendDouble(dst, v)
	case resp.Null:
		dst = append(dst, "NULL"...)
	case resp.Boolean:
		if v.Bool() {
			dst = append(dst, "true"...)
		} else {
			dst = append(dst, "false"...)
		}
	case resp.Array, resp.Set, resp.Push, resp.Map:
		for i, e := range v.Elems {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendCSV(dst, e)
		}
	}
	return dst
}
