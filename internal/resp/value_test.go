package resp

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKind(t *testing.T) {
	tests := []struct {
		kind      Kind
		name      string
		aggregate bool
	}{
		{kind: Invalid, name: "invalid"},
		{kind: SimpleString, name: "simple-string"},
		{kind: Error, name: "error"},
		{kind: Integer, name: "integer"},
		{kind: BulkString, name: "bulk-string"},
		{kind: Array, name: "array", aggregate: true},
		{kind: Null, name: "null"},
		{kind: Double, name: "double"},
		{kind: Boolean, name: "boolean"},
		{kind: BigNumber, name: "big-number"},
		{kind: Verbatim, name: "verbatim"},
		{kind: Map, name: "map", aggregate: true},
		{kind: Set, name: "set", aggregate: true},
		{kind: Push, name: "push", aggregate: true},
		{kind: Kind(200), name: "kind(200)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.name, tc.kind.String())
			assert.Equal(t, tc.aggregate, tc.kind.IsAggregate())
		})
	}
}

func TestValueEqual(t *testing.T) {
	tests := []struct {
		name  string
		a, b  Value
		equal bool
	}{
		{name: "same bulk", a: bulk("a"), b: bulk("a"), equal: true},
		{name: "nil and empty payload", a: Value{Kind: BulkString}, b: bulk(""), equal: true},
		{name: "different payload", a: bulk("a"), b: bulk("b")},
		{name: "different kind", a: bulk("a"), b: status("a")},
		{name: "different int", a: IntValue(1), b: IntValue(2)},
		{name: "nan equals nan", a: DoubleValue(math.NaN()), b: DoubleValue(math.NaN()), equal: true},
		{name: "different double", a: DoubleValue(1), b: DoubleValue(2)},
		{name: "double text differs", a: double("1.0", 1), b: double("1", 1)},
		{name: "float ignored outside doubles", a: Value{Kind: Integer, Int: 1, Float: 1}, b: IntValue(1), equal: true},
		{name: "different format", a: Value{Kind: Verbatim, Format: "txt"}, b: Value{Kind: Verbatim, Format: "mkd"}},
		{name: "different length", a: ArrayValue(IntValue(1)), b: ArrayValue()},
		{name: "different element", a: ArrayValue(IntValue(1)), b: ArrayValue(IntValue(2))},
		{name: "nested equal", a: ArrayValue(ArrayValue(NullValue())), b: ArrayValue(ArrayValue(NullValue())), equal: true},
		{name: "attributes differ", a: Value{Kind: Null, Attrs: []Value{status("a"), status("b")}}, b: NullValue()},
		{name: "attribute values differ",
			a: Value{Kind: Null, Attrs: []Value{status("a"), status("b")}},
			b: Value{Kind: Null, Attrs: []Value{status("a"), status("c")}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.equal, tc.a.Equal(tc.b))
			assert.Equal(t, tc.equal, tc.b.Equal(tc.a))
		})
	}
}

func TestValueAccessors(t *testing.T) {
	t.Run("text", func(t *testing.T) {
		assert.Equal(t, "-42", IntValue(-42).Text())
		assert.Equal(t, "1", BoolValue(true).Text())
		assert.Equal(t, "0", BoolValue(false).Text())
		assert.Equal(t, "abc", bulk("abc").Text())
		assert.Equal(t, "inf", DoubleValue(math.Inf(1)).Text())
		assert.Equal(t, "", NullValue().Text())
	})
	t.Run("len", func(t *testing.T) {
		assert.Equal(t, 2, ArrayValue(NullValue(), NullValue()).Len())
		assert.Equal(t, 1, Value{Kind: Map, Elems: []Value{status("k"), status("v")}}.Len())
		assert.Equal(t, 0, bulk("abc").Len())
	})
	t.Run("null and bool", func(t *testing.T) {
		assert.True(t, NullValue().IsNull())
		assert.False(t, bulk("").IsNull())
		assert.True(t, BoolValue(true).Bool())
		assert.False(t, BoolValue(false).Bool())
	})
	t.Run("string", func(t *testing.T) {
		v := Value{Kind: Map, Elems: []Value{bulk("a"), IntValue(1), status("n"), NullValue()}}
		assert.Equal(t, `map[bulk-string "a" integer 1 simple-string "n" null]`, v.String())
		assert.Equal(t, "invalid", Value{}.String())
	})
}

func TestValueErr(t *testing.T) {
	tests := []struct {
		name      string
		v         Value
		code, msg string
	}{
		{name: "code and message", v: ErrorValue("WRONGTYPE Operation against a key"), code: "WRONGTYPE", msg: "Operation against a key"},
		{name: "code only", v: ErrorValue("ERR"), code: "ERR"},
		{name: "moved", v: ErrorValue("MOVED 3999 127.0.0.1:6381"), code: "MOVED", msg: "3999 127.0.0.1:6381"},
		{name: "empty", v: ErrorValue(""), code: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.v.Err()
			var serr *ServerError
			require.True(t, errors.As(err, &serr))
			assert.Equal(t, tc.code, serr.Code)
			assert.Equal(t, tc.msg, serr.Msg)
			assert.Equal(t, string(tc.v.Str), serr.Error())
		})
	}
	t.Run("not an error", func(t *testing.T) {
		assert.NoError(t, status("OK").Err())
		assert.NoError(t, NullValue().Err())
	})
}

func TestCommand(t *testing.T) {
	c := NewCommand("set", "k", "v")
	assert.Equal(t, "SET", c.Name())
	assert.True(t, c.Is("SET"))
	assert.True(t, c.Is("Set"))
	assert.False(t, c.Is("GET"))
	assert.Equal(t, "k", c.Arg(1))
	assert.Equal(t, "", c.Arg(3))
	assert.Equal(t, "", c.Arg(-1))

	var empty Command
	assert.Equal(t, "", empty.Name())
	assert.False(t, empty.Is(""))
	assert.Equal(t, "", empty.Arg(0))

	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = c.Is("set") }), "Is does not allocate")
}
