package pipeline

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rcli-dev/rcli/internal/resp"
)

func TestCommandName(t *testing.T) {
	assert.Equal(t, "SET", commandName(resp.AppendArgs(nil, "set", "k", "v")))
	assert.Equal(t, "", commandName([]byte("*1\r\n$9\r\nPI")))
	assert.Equal(t, "", commandName(nil))
}

func TestDecodeCommand(t *testing.T) {
	args := []string{"SET", "k", "a\r\nb", ""}
	got := decodeCommand(resp.AppendArgs(nil, args...))
	var s []string
	for _, a := range got.Args {
		s = append(s, string(a))
	}
	assert.Equal(t, args, s)
}

func TestIdempotent(t *testing.T) {
	cases := map[string]bool{
		"SET k v":            true,
		"SET k v EX 10":      true,
		"SET k v GET":        false,
		"SET k v KEEPTTL":    false,
		"DEL a b":            true,
		"HSET h f v":         true,
		"SADD s m":           true,
		"ZADD z 1 m":         true,
		"ZADD z INCR 1 m":    false,
		"PEXPIREAT k 100000": true,
		"INCR k":             false,
		"LPUSH l x":          false,
		"APPEND k x":         false,
		"XADD s * f v":       false,
		"EVAL x 0":           false,
	}
	for line, want := range cases {
		t.Run(line, func(t *testing.T) {
			assert.Equal(t, want, idempotent(resp.NewCommand(strings.Fields(line)...)))
		})
	}
}

func TestOutcomeString(t *testing.T) {
	assert.Equal(t, "ok", OutcomeOK.String())
	assert.Equal(t, "unknown", OutcomeUnknown.String())
	assert.Equal(t, "outcome(9)", Outcome(9).String())
}

func TestPipeSummaryExitCode(t *testing.T) {
	assert.Equal(t, PipeExitOK, PipeSummary{Commands: 3, OK: 3}.ExitCode())
	assert.Equal(t, PipeExitErrors, PipeSummary{Commands: 3, OK: 2, Errors: 1}.ExitCode())
	assert.Equal(t, PipeExitErrors, PipeSummary{Commands: 3, OK: 2, Rejected: 1}.ExitCode())
	assert.Equal(t, PipeExitUnknown, PipeSummary{Commands: 3, OK: 1, Errors: 1, Unknown: 1}.ExitCode())
	assert.Equal(t, PipeExitUnknown, PipeSummary{Commands: 3, OK: 3, Unconfirmed: 1}.ExitCode())
	assert.Equal(t, int64(3), PipeSummary{OK: 2, Errors: 1}.Replies())
}
