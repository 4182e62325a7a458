package format_test

import (
	"strconv"

	"github.com/rcli-dev/rcli/internal/format"
)

// A variant is one way of printing a reply: a set of Options and, when redis-cli can
// print the same way, the redis-cli flags that do.
type variant struct {
	name    string
	opts    format.Options
	cliArgs []string // nil for a variant only rcli has
}

// cliVariants are compared with redis-cli's own output for every case.
var cliVariants = []variant{
	{"standard", format.NewOptions(format.Standard), []string{"--no-raw"}},
	{"raw", format.NewOptions(format.Raw), []string{"--raw"}},
	{"raw-delim", format.Options{Mode: format.Raw, FieldSep: "|", ReplySep: "<EOR>\n"},
		[]string{"--raw", "-d", "|", "-D", "<EOR>\n"}},
	{"csv", format.NewOptions(format.CSV), []string{"--csv"}},
	{"json", format.NewOptions(format.JSON), []string{"--json"}},
	{"quoted-json", format.NewOptions(format.QuotedJSON), []string{"--quoted-json"}},
}

// rcliVariants are rcli's own; a case lists the ones it is printed in.
var rcliVariants = map[string]format.Options{
	"standard-color-verbose": {Mode: format.Standard, Color: true, Verbose: true},
	"standard-verbose":       {Mode: format.Standard, Verbose: true},
	"json-verbose":           {Mode: format.JSON, Verbose: true},
	"quoted-json-verbose":    {Mode: format.QuotedJSON, Verbose: true},
}

// Why rcli's output differs from redis-cli's. Each deviation names its reason.
const (
	whyBigNumber   = "redis-cli exits 1 on a RESP3 big number (Unknown reply type: 13); rcli prints it"
	whyAttribute   = "redis-cli (hiredis 1.2.0) cannot parse a RESP3 attribute and exits 1; rcli prints the value"
	whyNaN         = "redis-cli (hiredis) rejects the double nan (Bad double value) and exits 1; rcli prints it"
	whyBlobError   = "redis-cli (hiredis 1.2.0) cannot parse a RESP3 blob error and exits 1; rcli prints it"
	whyJSONError   = `redis-cli prints an error reply as error:"…", which is not JSON; rcli prints {"error":"…"}`
	whyJSONQuote   = `redis-cli's --quoted-json leaves an embedded " unescaped, which breaks the JSON`
	whyJSONUTF8    = "redis-cli copies invalid UTF-8 into its JSON; rcli escapes those bytes as \\u00XX"
	whyJSONInf     = "redis-cli prints inf, -inf and nan as bare words, which are not JSON numbers; rcli prints strings"
	whyJSONNumber  = "redis-cli copies the server's double text (.5), which is not a JSON number; rcli prints 0.5"
	whyJSONMapKeys = "redis-cli does not escape the JSON text of an aggregate map key; rcli does"
)

// everyMode maps every redis-cli variant to one reason.
func everyMode(reason string) map[string]string {
	m := make(map[string]string, len(cliVariants))
	for _, v := range cliVariants {
		m[v.name] = reason
	}
	return m
}

// jsonModes maps the JSON variants to one reason.
func jsonModes(reason string) map[string]string {
	return map[string]string{"json": reason, "quoted-json": reason}
}

// A goldenCase is one reply (plus any push messages printed before it). Its RESP bytes
// are testdata/replies/<name>.resp and its expected output in each variant is
// testdata/format/<name>.<variant>.golden, captured from redis-cli 7.0.15 with
// -capture, or <name>.<variant>.rcli.golden, written by -update, where rcli's output
// is its own.
type goldenCase struct {
	name  string
	proto int        // 2 or 3: the protocol the reply was captured with (redis-cli -2 or -3)
	cmd   []string   // the command; sent to the capture server and given to redis-cli
	setup [][]string // commands that prepare the capture server's data, after FLUSHALL
	// wire holds the reply bytes of a synthetic case, which no server command sends.
	wire string
	// deviations maps a redis-cli variant to why rcli prints it differently.
	deviations map[string]string
	// extra lists the rcli-only variants the case is also printed in.
	extra []string
}

const binaryValue = "a\x01b\xffc\"d\\e\n\t\r\a\b\x00\x7f end"

func args(s ...string) []string { return s }

func numbers(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

func eval(script string) []string { return []string{"EVAL", script, "0"} }

func eval3(script string) []string { return eval("redis.setresp(3); " + script) }

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

var setupHash = [][]string{{"HSET", "h", "f1", "v1", "f2", "v2"}}
var setupSet = [][]string{{"SADD", "s", "3", "1", "2"}}
var setupStream = [][]string{
	{"XADD", "st", "1-1", "name", "alice", "age", "30"},
	{"XADD", "st", "2-1", "name", "bob"},
}
var setupZset = [][]string{{"ZADD", "z", "1.5", "a", "2", "b", "inf", "c"}}

var goldenCases = []goldenCase{
	// Scalars.
	{name: "status-ok", proto: 2, cmd: args("SET", "k", "v")},
	{name: "get-string", proto: 2, cmd: args("GET", "k"), setup: [][]string{{"SET", "k", "Hello World"}}},
	{name: "get-empty-string", proto: 2, cmd: args("GET", "k"), setup: [][]string{{"SET", "k", ""}}},
	{name: "get-binary", proto: 2, cmd: args("GET", "bin"), setup: [][]string{{"SET", "bin", binaryValue}},
		deviations: map[string]string{"json": whyJSONUTF8, "quoted-json": whyJSONQuote}},
	{name: "get-utf8", proto: 2, cmd: args("GET", "u"), setup: [][]string{{"SET", "u", "héllo wörld – 世界 🎉"}}},
	{name: "get-invalid-utf8", proto: 2, cmd: args("GET", "bad"),
		setup:      [][]string{{"SET", "bad", "ok \xff\xfe \xc3( \xed\xa0\x80 \xe2\x82 end \xc3\xa9"}},
		deviations: map[string]string{"json": whyJSONUTF8}},
	{name: "get-nil", proto: 2, cmd: args("GET", "missing")},
	{name: "get-nil-3", proto: 3, cmd: args("GET", "missing")},
	{name: "incr", proto: 2, cmd: args("INCR", "c")},
	{name: "incrby-negative", proto: 2, cmd: args("INCRBY", "c", "-42")},
	{name: "err-unknown-command", proto: 2, cmd: args("FOO", "bar"), deviations: jsonModes(whyJSONError)},
	{name: "err-wrongtype", proto: 2, cmd: args("LPUSH", "k", "x"), setup: [][]string{{"SET", "k", "v"}},
		deviations: jsonModes(whyJSONError)},
	{name: "eval-status-quote", proto: 2, cmd: eval(`return redis.status_reply('FINE "quoted" \\back')`),
		deviations: map[string]string{"quoted-json": whyJSONQuote}},
	{name: "eval-error-quote", proto: 2, cmd: eval(`return redis.error_reply('ERR bad "thing" \\ é')`),
		deviations: jsonModes(whyJSONError)},

	// Arrays.
	{name: "lrange-empty", proto: 2, cmd: args("LRANGE", "missing", "0", "-1")},
	{name: "lrange-12", proto: 2, cmd: args("LRANGE", "l", "0", "-1"),
		setup: [][]string{append([]string{"RPUSH", "l"}, numbers(1, 12)...)}},
	{name: "lrange-100", proto: 2, cmd: args("LRANGE", "l", "0", "-1"),
		setup: [][]string{append([]string{"RPUSH", "l"}, numbers(1, 100)...)}},
	{name: "eval-nested", proto: 2, cmd: eval(`return {1,{2,{3,'x'}},'y',{}}`)},
	{name: "eval-error-in-array", proto: 2,
		cmd:        eval(`return {1, redis.error_reply('MYERR oops'), {redis.error_reply('ERR deep')}, 'z'}`),
		deviations: jsonModes(whyJSONError)},
	{name: "eval-error-in-array-3", proto: 3,
		cmd:        eval(`return {1, redis.error_reply('MYERR oops'), {redis.error_reply('ERR deep')}, 'z'}`),
		deviations: jsonModes(whyJSONError)},
	// The shape of EXEC after a failed command: [integer, error].
	{name: "eval-pcall-wrongtype", proto: 2,
		cmd:        eval(`return {redis.pcall('INCR','c'), redis.pcall('LPUSH','k','x')}`),
		setup:      [][]string{{"SET", "k", "v"}},
		deviations: jsonModes(whyJSONError)},
	{name: "xrange", proto: 2, cmd: args("XRANGE", "st", "-", "+"), setup: setupStream},
	{name: "command-info-get", proto: 2, cmd: args("COMMAND", "INFO", "get")},
	{name: "command-info-get-3", proto: 3, cmd: args("COMMAND", "INFO", "get")},

	// Hashes, sets and maps under both protocols.
	{name: "hgetall-2", proto: 2, cmd: args("HGETALL", "h"), setup: setupHash},
	{name: "hgetall-3", proto: 3, cmd: args("HGETALL", "h"), setup: setupHash},
	{name: "hgetall-empty-3", proto: 3, cmd: args("HGETALL", "missing")},
	{name: "smembers-2", proto: 2, cmd: args("SMEMBERS", "s"), setup: setupSet},
	{name: "smembers-3", proto: 3, cmd: args("SMEMBERS", "s"), setup: setupSet},
	{name: "smembers-empty-3", proto: 3, cmd: args("SMEMBERS", "missing")},
	{name: "config-get-2", proto: 2, cmd: args("CONFIG", "GET", "maxmemory-policy")},
	{name: "config-get-3", proto: 3, cmd: args("CONFIG", "GET", "maxmemory-policy")},
	{name: "xread-3", proto: 3, cmd: args("XREAD", "STREAMS", "st", "0"), setup: setupStream},
	{name: "command-docs-get-3", proto: 3, cmd: args("COMMAND", "DOCS", "get")},
	{name: "eval-map-nested-3", proto: 3, cmd: eval3(`return {map={a={1,2}, b={3}, c={}}}`)},
	{name: "eval-map-deep-3", proto: 3, cmd: eval3(`return {map={a={map={z={1,2}}}}}`)},

	// Doubles.
	{name: "zscore-2", proto: 2, cmd: args("ZSCORE", "z", "a"), setup: setupZset},
	{name: "zscore-3", proto: 3, cmd: args("ZSCORE", "z", "a"), setup: setupZset},
	{name: "zscore-inf-3", proto: 3, cmd: args("ZSCORE", "z", "c"), setup: setupZset, deviations: jsonModes(whyJSONInf)},
	{name: "zrange-withscores-2", proto: 2, cmd: args("ZRANGE", "z", "0", "-1", "WITHSCORES"), setup: setupZset},
	{name: "zrange-withscores-3", proto: 3, cmd: args("ZRANGE", "z", "0", "-1", "WITHSCORES"), setup: setupZset,
		deviations: jsonModes(whyJSONInf)},
	{name: "eval-double-neg-inf-3", proto: 3, cmd: eval3(`return {double=-1/0}`), deviations: jsonModes(whyJSONInf)},
	{name: "eval-double-small-3", proto: 3, cmd: eval3(`return {double=0.1}`)},

	// DEBUG PROTOCOL: every RESP3 type, and what RESP2 makes of some.
	{name: "debug-protocol-string-3", proto: 3, cmd: args("DEBUG", "PROTOCOL", "string")},
	{name: "debug-protocol-integer-3", proto: 3, cmd: args("DEBUG", "PROTOCOL", "integer")},
	{name: "debug-protocol-double-3", proto: 3, cmd: args("DEBUG", "PROTOCOL", "double")},
	{name: "debug-protocol-bignum-3", proto: 3, cmd: args("DEBUG", "PROTOCOL", "bignum"), deviations: everyMode(whyBigNumber)},
	{name: "debug-protocol-null-3", proto: 3, cmd: args("DEBUG", "PROTOCOL", "null")},
	{name: "debug-protocol-array-3", proto: 3, cmd: args("DEBUG", "PROTOCOL", "array")},
	{name: "debug-protocol-set-3", proto: 3, cmd: args("DEBUG", "PROTOCOL", "set")},
	{name: "debug-protocol-map-3", proto: 3, cmd: args("DEBUG", "PROTOCOL", "map")},
	{name: "debug-protocol-attrib-3", proto: 3, cmd: args("DEBUG", "PROTOCOL", "attrib"),
		deviations: everyMode(whyAttribute), extra: []string{"standard-verbose", "json-verbose"}},
	{name: "debug-protocol-push-3", proto: 3, cmd: args("DEBUG", "PROTOCOL", "push")},
	{name: "debug-protocol-verbatim-3", proto: 3, cmd: args("DEBUG", "PROTOCOL", "verbatim")},
	{name: "debug-protocol-true-3", proto: 3, cmd: args("DEBUG", "PROTOCOL", "true")},
	{name: "debug-protocol-false-3", proto: 3, cmd: args("DEBUG", "PROTOCOL", "false")},
	{name: "debug-protocol-bignum-2", proto: 2, cmd: args("DEBUG", "PROTOCOL", "bignum")},
	{name: "debug-protocol-double-2", proto: 2, cmd: args("DEBUG", "PROTOCOL", "double")},
	{name: "debug-protocol-true-2", proto: 2, cmd: args("DEBUG", "PROTOCOL", "true")},
	{name: "debug-protocol-map-2", proto: 2, cmd: args("DEBUG", "PROTOCOL", "map")},
	{name: "debug-protocol-null-2", proto: 2, cmd: args("DEBUG", "PROTOCOL", "null")},
	{name: "debug-protocol-attrib-2", proto: 2, cmd: args("DEBUG", "PROTOCOL", "attrib")},
	{name: "eval-bignum-in-array-3", proto: 3,
		cmd:        eval3(`return {1, {big_number='123456789012345678901234567890'}}`),
		deviations: everyMode(whyBigNumber)},
	{name: "eval-verbatim-3", proto: 3, cmd: eval3(`return {verbatim_string={format='txt', string='hi\nthere'}}`)},

	// Commands redis-cli prints raw in every mode.
	{name: "memory-doctor", proto: 2, cmd: args("MEMORY", "DOCTOR")},
	{name: "info-keyspace-2", proto: 2, cmd: args("INFO", "keyspace"), setup: [][]string{{"SET", "k", "v"}}},
	{name: "info-keyspace-3", proto: 3, cmd: args("INFO", "keyspace"), setup: [][]string{{"SET", "k", "v"}}},
	{name: "client-list-error", proto: 2, cmd: args("CLIENT", "LIST", "ID", "x")},

	// Synthetic replies that no server command sends.
	{name: "synth-empty-push-3", proto: 3, cmd: args("PING"), wire: ">0\r\n+PONG\r\n"},
	{name: "synth-invalidate-3", proto: 3, cmd: args("PING"),
		wire: ">2\r\n$10\r\ninvalidate\r\n*2\r\n$1\r\na\r\n$3\r\nb c\r\n+PONG\r\n"},
	{name: "synth-invalidate-all-3", proto: 3, cmd: args("PING"), wire: ">2\r\n$10\r\ninvalidate\r\n_\r\n+PONG\r\n"},
	{name: "synth-verbatim-in-array-3", proto: 3, cmd: args("PING"),
		wire: "*2\r\n=9\r\ntxt:a\nb c\r\n%1\r\n+k\r\n=7\r\nmkd:x\ny\r\n"},
	{name: "synth-nested-empty-3", proto: 3, cmd: args("PING"),
		wire: "*4\r\n~0\r\n%0\r\n*1\r\n*0\r\n%2\r\n+a\r\n%0\r\n+b\r\n~1\r\n*2\r\n:1\r\n:2\r\n"},
	{name: "synth-map-aggregate-key-3", proto: 3, cmd: args("PING"),
		wire:       "%2\r\n*2\r\n:1\r\n$1\r\na\r\n$1\r\nv\r\n%1\r\n+x\r\n+y\r\n*1\r\n:2\r\n",
		deviations: jsonModes(whyJSONMapKeys)},
	{name: "synth-map-scalar-keys-3", proto: 3, cmd: args("PING"),
		wire: "%6\r\n:1\r\n+one\r\n_\r\n+null\r\n#t\r\n+true\r\n,2.5\r\n+double\r\n" +
			"$2\r\n\xff\"\r\n+bad\r\n=7\r\ntxt:v k\r\n+verbatim\r\n",
		deviations: merge(jsonModes(whyJSONQuote), map[string]string{"json": whyJSONUTF8})},
	{name: "synth-double-forms-3", proto: 3, cmd: args("PING"),
		wire:       "*5\r\n,1e+300\r\n,-0\r\n,.5\r\n,1.5E3\r\n,-inf\r\n",
		deviations: jsonModes(whyJSONNumber + "; " + whyJSONInf)},
	{name: "synth-nan-3", proto: 3, cmd: args("PING"), wire: ",nan\r\n", deviations: everyMode(whyNaN)},
	{name: "synth-blob-error-3", proto: 3, cmd: args("PING"), wire: "!21\r\nSYNTAX bad\x00\nsyntax é\r\n",
		deviations: everyMode(whyBlobError)},
	{name: "synth-attr-nested-3", proto: 3, cmd: args("PING"),
		wire: "*3\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\na\r\n" +
			"%1\r\n+k\r\n|2\r\n+src\r\n+cache\r\n+hits\r\n*2\r\n:1\r\n:2\r\n:7\r\n" +
			"|1\r\n+meta\r\n#t\r\n*0\r\n",
		deviations: everyMode(whyAttribute),
		extra:      []string{"standard-verbose", "json-verbose", "quoted-json-verbose"}},
	{name: "synth-bignum-map-3", proto: 3, cmd: args("PING"),
		wire:       "%2\r\n(12345678901234567890\r\n(-1\r\n+n\r\n(98765432109876543210\r\n",
		deviations: everyMode(whyBigNumber)},
	// Every kind in one reply: the one golden file with colour escapes.
	{name: "synth-every-kind-3", proto: 3, cmd: args("PING"),
		wire: "*14\r\n+OK\r\n-ERR bad thing\r\n:42\r\n,1.5\r\n(123456789\r\n_\r\n#t\r\n#f\r\n" +
			"$4\r\na\"b\n\r\n=7\r\ntxt:v w\r\n~1\r\n:1\r\n%1\r\n+k\r\n$1\r\nv\r\n*0\r\n" +
			"|1\r\n+ttl\r\n:10\r\n$1\r\nx\r\n",
		deviations: everyMode(whyBigNumber + "; " + whyAttribute),
		extra:      []string{"standard-verbose", "standard-color-verbose"}},
}

// goldenName returns the name of a golden file of c.
func goldenName(c goldenCase, variant string, own bool) string {
	if own {
		return c.name + "." + variant + ".rcli.golden"
	}
	return c.name + "." + variant + ".golden"
}

// protoFlag returns redis-cli's flag for the case's protocol.
func (c goldenCase) protoFlag() string { return "-" + strconv.Itoa(c.proto) }
