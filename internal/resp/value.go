package resp

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind is the type of a RESP value.
type Kind uint8

// The kinds of RESP values. RESP2 nulls ($-1 and *-1) and the RESP3 null (_) all
// read as Null; a RESP3 blob error (!) reads as Error.
const (
	Invalid      Kind = iota // the zero Value; never produced by a Reader
	SimpleString             // +OK
	Error                    // -ERR msg, !len blob error
	Integer                  // :42
	BulkString               // $3 abc
	Array                    // *2 ...
	Null                     // _, $-1, *-1
	Double                   // ,3.14
	Boolean                  // #t
	BigNumber                // (1234567890123456789012
	Verbatim                 // =7 txt:abc
	Map                      // %1 k v
	Set                      // ~2 a b
	Push                     // >3 message chan payload
)

var kindNames = [...]string{
	Invalid:      "invalid",
	SimpleString: "simple-string",
	Error:        "error",
	Integer:      "integer",
	BulkString:   "bulk-string",
	Array:        "array",
	Null:         "null",
	Double:       "double",
	Boolean:      "boolean",
	BigNumber:    "big-number",
	Verbatim:     "verbatim",
	Map:          "map",
	Set:          "set",
	Push:         "push",
}

// String returns the kind's name, such as "bulk-string".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// IsAggregate reports whether values of this kind hold elements.
func (k Kind) IsAggregate() bool {
	return k == Array || k == Map || k == Set || k == Push
}

// Value is one RESP2 or RESP3 value of any kind.
//
// Which fields are set depends on Kind:
//   - SimpleString, Error, BulkString, BigNumber: Str holds the payload (the digits for
//     a big number, the whole message for an error);
//   - Verbatim: Str holds the text and Format its three-letter format, such as "txt";
//   - Integer: Int; Boolean: Int is 1 for true and 0 for false;
//   - Double: Float, and Str keeps the server's own text ("3.14", "inf", "nan");
//   - Array, Set, Push: Elems; Map: Elems holds keys and values alternately.
//
// Attrs holds the key/value pairs (alternately) of a RESP3 attribute that preceded the
// value on the wire, or nil.
type Value struct {
	Kind   Kind
	Str    []byte
	Int    int64
	Float  float64
	Format string
	Elems  []Value
	Attrs  []Value
}

// StringValue returns a bulk string value.
func StringValue(s string) Value { return Value{Kind: BulkString, Str: []byte(s)} }

// StatusValue returns a simple string value.
func StatusValue(s string) Value { return Value{Kind: SimpleString, Str: []byte(s)} }

// ErrorValue returns an error value with the given message, such as "ERR no such key".
func ErrorValue(msg string) Value { return Value{Kind: Error, Str: []byte(msg)} }

// IntValue returns an integer value.
func IntValue(n int64) Value { return Value{Kind: Integer, Int: n} }

// BoolValue returns a RESP3 boolean value.
func BoolValue(b bool) Value {
	if b {
		return Value{Kind: Boolean, Int: 1}
	}
	return Value{Kind: Boolean}
}

// DoubleValue returns a RESP3 double, with Str set to its canonical RESP text.
func DoubleValue(f float64) Value {
	return Value{Kind: Double, Float: f, Str: []byte(formatDouble(f))}
}

// NullValue returns the null value.
func NullValue() Value { return Value{Kind: Null} }

// ArrayValue returns an array of the given elements.
func ArrayValue(elems ...Value) Value { return Value{Kind: Array, Elems: elems} }

// IsNull reports whether v is a null of any protocol version.
func (v Value) IsNull() bool { return v.Kind == Null }

// Bool returns the truth of a Boolean value.
func (v Value) Bool() bool { return v.Int != 0 }

// Len returns the number of elements of an aggregate; for a map, the number of pairs.
func (v Value) Len() int {
	if v.Kind == Map {
		return len(v.Elems) / 2
	}
	return len(v.Elems)
}

// Text returns the payload of a string-like value as a string, or the decimal text of
// an integer or double. It is meant for replies whose shape the caller knows.
func (v Value) Text() string {
	switch v.Kind {
	case Integer:
		return strconv.FormatInt(v.Int, 10)
	case Boolean:
		if v.Bool() {
			return "1"
		}
		return "0"
	default:
		return string(v.Str)
	}
}

// Err returns a *ServerError when v is an error reply, and nil otherwise.
func (v Value) Err() error {
	if v.Kind != Error {
		return nil
	}
	return NewServerError(string(v.Str))
}

// Equal reports whether v and o are the same value, attributes included. Doubles are
// compared by their text so that NaN equals NaN.
func (v Value) Equal(o Value) bool {
	if v.Kind != o.Kind || v.Int != o.Int || v.Format != o.Format ||
		!bytes.Equal(v.Str, o.Str) || len(v.Elems) != len(o.Elems) || len(v.Attrs) != len(o.Attrs) {
		return false
	}
	if v.Kind == Double && !(v.Float == o.Float || math.IsNaN(v.Float) && math.IsNaN(o.Float)) {
		return false
	}
	for i := range v.Elems {
		if !v.Elems[i].Equal(o.Elems[i]) {
			return false
		}
	}
	for i := range v.Attrs {
		if !v.Attrs[i].Equal(o.Attrs[i]) {
			return false
		}
	}
	return true
}

// String returns a compact, debugging-oriented rendering of v, such as
// `[bulk-string "a" integer 1]`. It is not one of the CLI's output formats.
func (v Value) String() string {
	var b strings.Builder
	v.debug(&b)
	return b.String()
}

func (v Value) debug(b *strings.Builder) {
	switch v.Kind {
	case Integer, Boolean:
		fmt.Fprintf(b, "%s %d", v.Kind, v.Int)
	case Null, Invalid:
		b.WriteString(v.Kind.String())
	case Array, Map, Set, Push:
		b.WriteString(v.Kind.String())
		b.WriteString("[")
		for i, e := range v.Elems {
			if i > 0 {
				b.WriteString(" ")
			}
			e.debug(b)
		}
		b.WriteString("]")
	default:
		fmt.Fprintf(b, "%s %q", v.Kind, v.Str)
	}
}

// formatDouble renders f as RESP3 double text: "inf", "-inf", "nan" or the shortest
// decimal that reads back as f.
func formatDouble(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
