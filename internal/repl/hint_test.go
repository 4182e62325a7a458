package repl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fallback returns the built-in docs (Redis 7.0.15's), failing the test if they do
// not load.
func fallback(t *testing.T) *Docs {
	t.Helper()
	d, err := FallbackDocs()
	require.NoError(t, err)
	return d
}

// TestHintSuite runs redis-cli's own hint suite (tests/assets/test_cli_hint_suite.txt
// upstream) against the Redis 7.0 docs. Hints start with a space when the line does
// not end in one; the suite leaves that space out.
func TestHintSuite(t *testing.T) {
	d := fallback(t)
	cases := []struct{ line, want string }{
		{"GET ", "key"},
		{"GET abc ", ""},
		{"DECRBY xyz 2 ", ""},
		{"DECRBY xyz ", "decrement"},
		{"DECRBY ", "key decrement"},
		{"LPOP key ", "[count]"},
		{"LPOP key 3 ", ""},
		{"XRANGE ", "key start end [COUNT count]"},
		{"XRANGE k 4 2 ", "[COUNT count]"},
		{"XRANGE k 4 2 COU", " [COUNT count]"},
		{"XRANGE k 4 2 COUNT", " [COUNT count]"},
		{"XRANGE k 4 2 COUNT ", "count"},
		// Redis 7.0 documents GET as optional; upstream's suite has it required.
		{"BITFIELD_RO k ", "[GET encoding offset [GET encoding offset ...]]"},
		{"BITFIELD_RO k GE", " [GET encoding offset [GET encoding offset ...]]"},
		{"BITFIELD_RO k GET ", "encoding offset [GET encoding offset ...]"},
		{"BITFIELD_RO k GET xyz ", "offset [GET encoding offset ...]"},
		{"BITFIELD_RO k GET xyz 12 ", "[GET encoding offset ...]"},
		{"BITFIELD_RO k GET xyz 12 GET ", "encoding offset [GET encoding offset ...]"},
		{"BITFIELD_RO k GET enc1 12 GET enc2 ", "offset [GET encoding offset ...]"},
		{"BITFIELD_RO k GET enc1 12 GET enc2 34 ", "[GET encoding offset ...]"},
		{"CONFIG SET param ", "value [parameter value ...]"},
		{"CONFIG SET param val ", "[parameter value ...]"},
		{"CONFIG SET param val parm2 val2 ", "[parameter value ...]"},
		{"ZRANDMEMBER k ", "[count [WITHSCORES]]"},
		{"ZRANDMEMBER k 3 ", "[WITHSCORES]"},
		{"ZRANDMEMBER k 3 WI", " [WITHSCORES]"},
		{"ZRANDMEMBER k 3 WITHSCORES ", ""},
		{"ZRANDMEMBER k cnt ", ""},
		{"MGET ", "key [key ...]"},
		{"MGET k ", "[key ...]"},
		{"MGET k k ", "[key ...]"},
		{"SCAN 2 MATCH ", "pattern [COUNT count] [TYPE type]"},
		{"SCAN 2 COUNT ", "count [MATCH pattern] [TYPE type]"},
		{"BLMOVE src dst LEFT ", "LEFT|RIGHT timeout"},
		{"ZRANGE k 1 2 ", "[BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]"},
		{"ZRANGE k 1 2 bylex ", "[REV] [LIMIT offset count] [WITHSCORES]"},
		{"ZRANGE k 1 2 bylex rev ", "[LIMIT offset count] [WITHSCORES]"},
		{"ZRANGE k 1 2 limit 2 4 ", "[BYSCORE|BYLEX] [REV] [WITHSCORES]"},
		{"ZRANGE k 1 2 bylex rev limit 2 4 WITHSCORES ", ""},
		{"ZRANGE k 1 2 rev ", "[BYSCORE|BYLEX] [LIMIT offset count] [WITHSCORES]"},
		{"ZRANGE k 1 2 WITHSCORES ", "[BYSCORE|BYLEX] [REV] [LIMIT offset count]"},
		{"SET key value ", "[NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"},
		{"SET key value EX", " [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"},
		{"SET key value EX ", "seconds [NX|XX] [GET]"},
		{"SET key value EXAT ", "unix-time-seconds [NX|XX] [GET]"},
		{"SET key value PX ", "milliseconds [NX|XX] [GET]"},
		{"SET key value PXAT ", "unix-time-milliseconds [NX|XX] [GET]"},
		{"SET key value KEEPTTL ", "[NX|XX] [GET]"},
		{"SET key value XX ", "[GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"},
		{"SET key value FOOBAR ", ""},
		{"GEORADIUS key ", "longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC|DESC] [STORE key] [STOREDIST key]"},
		{"GEORADIUS key 1 2 3 M ", "[WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC|DESC] [STORE key] [STOREDIST key]"},
		{"GEORADIUS key 1 2 3 M COUNT ", "count [ANY] [WITHCOORD] [WITHDIST] [WITHHASH] [ASC|DESC] [STORE key] [STOREDIST key]"},
		{"GEORADIUS key 1 2 3 M COUNT 12 ", "[ANY] [WITHCOORD] [WITHDIST] [WITHHASH] [ASC|DESC] [STORE key] [STOREDIST key]"},
		{"GEORADIUS key 1 -2.345 3 M COUNT 12 ", "[ANY] [WITHCOORD] [WITHDIST] [WITHHASH] [ASC|DESC] [STORE key] [STOREDIST key]"},
		{"GEORADIUS key 1 X ", ""},
		{"GEORADIUS key 1 2 3 M COUNT 12 ASC ", "[WITHCOORD] [WITHDIST] [WITHHASH] [STORE key] [STOREDIST key]"},
		{"ZADD key ", "[NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]"},
		{"ZADD key CH LT ", "[NX|XX] [INCR] score member [score member ...]"},
		{"ZADD key 0 ", "member [score member ...]"},
	}
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			assert.Equal(t, c.want, Hint(d, c.line))
		})
	}
}
