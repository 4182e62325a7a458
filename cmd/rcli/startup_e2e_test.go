package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/localredis"
	"github.com/rcli-dev/rcli/internal/redistest"
)

// commandCalls returns the calls per command from INFO commandstats, without the
// INFO command itself.
func commandCalls(t *testing.T, s *localredis.Server) map[string]int {
	t.Helper()
	v, err := s.Do(testContext(t), "INFO", "commandstats")
	require.NoError(t, err)
	calls := map[string]int{}
	for _, line := range strings.Split(v.Text(), "\r\n") {
		name, rest, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":calls=")
		if !ok || name == "info" || name == "config|resetstat" {
			continue
		}
		n, err := strconv.Atoi(strings.Split(rest, ",")[0])
		require.NoError(t, err)
		calls[name] = n
	}
	return calls
}

// A one-shot command costs one connection and the command itself: no handshake the
// flags do not ask for, no command table, no background work.
func TestOneShotSendsOnlyTheCommand(t *testing.T) {
	bin := requireTools(t)
	s := redistest.StartServer(t)
	env := map[string]string{"XDG_CACHE_HOME": t.TempDir()}
	_, err := s.Do(testContext(t), "CONFIG", "RESETSTAT")
	require.NoError(t, err)
	before := infoField(t, s, "stats", "total_connections_received")

	r := runBinary(t, bin, invocation{args: []string{"-p", strconv.Itoa(s.Port), "SET", "k", "v"}, env: env})
	require.Equal(t, 0, r.Code, r.Stderr)
	after := infoField(t, s, "stats", "total_connections_received")
	assert.Equal(t, 1, after-before-1, "one connection (the second INFO came on its own)")
	assert.Equal(t, map[string]int{"set": 1}, commandCalls(t, s))

	_, err = s.Do(testContext(t), "CONFIG", "RESETSTAT")
	require.NoError(t, err)
	r = runBinary(t, bin, invocation{args: []string{"-p", strconv.Itoa(s.Port), "-n", "2", "-3", "GET", "k"}, env: env})
	require.Equal(t, 0, r.Code, r.Stderr)
	assert.Equal(t, map[string]int{"hello": 1, "select": 1, "get": 1}, commandCalls(t, s), "only the handshake the flags ask for")
}
