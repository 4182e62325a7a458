package format

import (
	"io"
	"strconv"

	"github.com/rcli-dev/rcli/internal/resp"
)

// Mode is an output format.
type Mode uint8

// The output formats, named after redis-cli's flags.
const (
	Standard   Mode = iota // human-readable, as redis-cli prints to a terminal (--no-raw)
	Raw                    // bytes as they are (--raw, and the default when stdout is not a terminal)
	CSV                    // one comma-separated line per reply (--csv)
	JSON                   // one JSON document per reply (--json)
	QuotedJSON             // JSON with strings quoted ASCII-safe (--quoted-json)
)

var modeNames = [...]string{
	Standard:   "standard",
	Raw:        "raw",
	CSV:        "csv",
	JSON:       "json",
	QuotedJSON: "quoted-json",
}

// String returns the mode's name, such as "quoted-json".
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// Options says how to print a reply.
//
// The separators are used exactly as given, so the zero Options prints raw replies
// with no separators at all; start from NewOptions, which sets redis-cli's defaults.
type Options struct {
	Mode Mode
	// FieldSep separates the elements of an aggregate in raw mode (redis-cli -d).
	FieldSep string
	// ReplySep follows each whole reply in raw mode (redis-cli -D).
	ReplySep string
	// Color adds ANSI colour escapes in standard mode; other modes ignore it.
	Color bool
	// Verbose shows RESP3 attributes in standard and JSON modes; otherwise they are
	// ignored, as they are in raw and CSV modes always.
	Verbose bool
}

// NewOptions returns the options for mode with redis-cli's default separators: a
// newline between the elements of an aggregate and after each reply.
func NewOptions(mode Mode) Options {
	return Options{Mode: mode, FieldSep: "\n", ReplySep: "\n"}
}

// ForCommand returns the options to print the reply to cmd with. For a command whose
// reply redis-cli always prints raw (see AlwaysRaw), whatever the mode, that is raw
// mode without colour and without a reply separator: the reply's own text, such as
// INFO's, ends with its own line break. For any other command it is o unchanged.
func (o Options) ForCommand(cmd [][]byte) Options {
	if !AlwaysRaw(cmd) {
		return o
	}
	o.Mode = Raw
	o.ReplySep = ""
	o.Color = false
	return o
}

// Append appends v to dst formatted as o says, including what redis-cli prints after
// a reply: a newline in standard, CSV and JSON modes, o.ReplySep in raw mode.
func Append(dst []byte, v resp.Value, o Options) []byte {
	switch o.Mode {
	case Standard:
		return appendStandard(dst, v, o)
	case Raw:
		dst = appendRaw(dst, v, o.FieldSep)
		return append(dst, o.ReplySep...)
	case CSV:
		dst = appendCSV(dst, v)
		return append(dst, '\n')
	case JSON, QuotedJSON:
		dst = appendJSON(dst, v, o.Mode == QuotedJSON, o.Verbose)
		return append(dst, '\n')
	default:
		// An unknown mode is a programming error; printing the value raw loses nothing.
		dst = appendRaw(dst, v, "\n")
		return append(dst, '\n')
	}
}

// Write writes v to w formatted as o says, with one call to w.Write. See Append.
func Write(w io.Writer, v resp.Value, o Options) error {
	_, err := w.Write(Append(nil, v, o))
	return err
}

// AppendPush appends an out-of-band push message, such as a client-side caching
// invalidation, as redis-cli prints it when --show-pushes is on: in standard mode an
// invalidation of keys is the single line "-> invalidate: 'k1', 'k2'", and anything
// else is formatted like a reply.
func AppendPush(dst []byte, v resp.Value, o Options) []byte {
	if o.Mode == Standard {
		if keys, ok := invalidatedKeys(v); ok {
			dst = append(dst, "-> invalidate: "...)
			for i, k := range keys {
				if i > 0 {
					dst = append(dst, ", "...)
				}
				dst = append(dst, '\'')
				dst = append(dst, k.Str...)
				dst = append(dst, '\'')
			}
			return append(dst, '\n')
		}
	}
	return Append(dst, v, o)
}

// WritePush writes a push message to w with one call to w.Write. See AppendPush.
func WritePush(w io.Writer, v resp.Value, o Options) error {
	_, err := w.Write(AppendPush(nil, v, o))
	return err
}

// invalidatedKeys returns the keys of a RESP3 "invalidate" push whose keys are all
// strings, as redis-cli's isInvalidateReply recognises it.
func invalidatedKeys(v resp.Value) ([]resp.Value, bool) {
	if v.Kind != resp.Push || len(v.Elems) != 2 || v.Elems[0].Kind != resp.BulkString ||
		len(v.Elems[0].Str) < len("invalidate") || string(v.Elems[0].Str[:len("invalidate")]) != "invalidate" ||
		v.Elems[1].Kind != resp.Array {
		return nil, false
	}
	for _, k := range v.Elems[1].Elems {
		if k.Kind != resp.BulkString {
			return nil, false
		}
	}
	return v.Elems[1].Elems, true
}
