package repl

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		args   []string
		repeat int64
		err    error
	}{
		{name: "plain", line: "SET k v", args: []string{"SET", "k", "v"}, repeat: 1},
		{name: "quoted", line: `SET "a b" 'c\'d' "\x41\n"`, args: []string{"SET", "a b", "c'd", "A\n"}, repeat: 1},
		{name: "blank", line: "   ", repeat: 1},
		{name: "repeat", line: "3 PING", args: []string{"PING"}, repeat: 3},
		{name: "number alone is a command", line: "3", args: []string{"3"}, repeat: 1},
		{name: "zero repeat", line: "0 PING", err: ErrInvalidRepeat},
		{name: "negative repeat", line: "-1 PING", err: ErrInvalidRepeat},
		{name: "overflowing repeat", line: "99999999999999999999 PING", err: ErrInvalidRepeat},
		{name: "empty quoted repeat", line: `"" PING`, err: ErrInvalidRepeat},
		{name: "unbalanced quote", line: `GET "k`, err: ErrInvalidArgs},
		{name: "quote followed by text", line: `GET "k"x`, err: ErrInvalidArgs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseLine(tt.line)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			var args []string
			for _, a := range l.Args {
				args = append(args, string(a))
			}
			assert.Equal(t, tt.args, args)
			assert.Equal(t, tt.repeat, l.Repeat)
		})
	}
	assert.Equal(t, "Invalid argument(s)", ErrInvalidArgs.Error())
	assert.Equal(t, "Invalid rcli repeat command option value.", ErrInvalidRepeat.Error())
}

func TestParseRepeat(t *testing.T) {
	tests := []struct {
		word             string
		n                int64
		isNumber, isGood bool
	}{
		{"3", 3, true, true},
		{"+2", 2, true, true},
		{"0", 0, true, false},
		{"-1", -1, true, false},
		{"", 0, true, false},
		{"99999999999999999999", 0, true, false},
		{"0x", 0, false, false},
		{"set", 0, false, false},
	}
	for _, tt := range tests {
		t.Run("word="+tt.word, func(t *testing.T) {
			n, isNumber, ok := parseRepeat([]byte(tt.word))
			assert.Equal(t, tt.isNumber, isNumber)
			assert.Equal(t, tt.isGood, ok)
			if ok {
				assert.Equal(t, tt.n, n)
			}
		})
	}
}

func words(ws ...string) [][]byte {
	out := make([][]byte, len(ws))
	for i, w := range ws {
		out[i] = []byte(w)
	}
	return out
}

func TestClassify(t *testing.T) {
	tests := []struct {
		args []string
		want Meta
	}{
		{[]string{"GET", "k"}, NotMeta},
		{[]string{"quit"}, MetaQuit},
		{[]string{"EXIT"}, MetaQuit},
		{[]string{"help", "set"}, MetaHelp},
		{[]string{"?"}, MetaHelp},
		{[]string{"clear"}, MetaClear},
		{[]string{"clear", "x"}, NotMeta},
		{[]string{"connect", "h", "1"}, MetaConnect},
		{[]string{"connect", "h"}, NotMeta},
		{[]string{"restart"}, MetaRestart},
		{[]string{":set", "hints"}, MetaColon},
		{[]string{":pool-stats"}, MetaColon},
		{nil, NotMeta},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.args), func(t *testing.T) {
			assert.Equal(t, tt.want, Classify(words(tt.args...)))
		})
	}
}

func TestParseConnect(t *testing.T) {
	host, port, err := ParseConnect(words("connect", "example.com", "6380"))
	require.NoError(t, err)
	assert.Equal(t, "example.com", host)
	assert.Equal(t, 6380, port)
	for _, bad := range []string{"x", "-1", "65536"} {
		t.Run(bad, func(t *testing.T) {
			_, _, err := ParseConnect(words("connect", "h", bad))
			assert.ErrorIs(t, err, ErrInvalidPort)
		})
	}
	_, _, err = ParseConnect(words("connect", "h"))
	assert.Error(t, err)
}

func TestParsePreference(t *testing.T) {
	p, err := ParsePreference(words(":set", "HINTS"))
	require.NoError(t, err)
	assert.Equal(t, PrefHints, p)
	p, err = ParsePreference(words(":SET", "nohints"))
	require.NoError(t, err)
	assert.Equal(t, PrefNoHints, p)
	_, err = ParsePreference(words(":set", "colour"))
	assert.EqualError(t, err, "unknown rcli preference 'colour'")
	_, err = ParsePreference(words(":set"))
	assert.EqualError(t, err, "unknown rcli option ':set'")
	_, err = ParsePreference(words(":nope"))
	assert.EqualError(t, err, "unknown rcli option ':nope'")
}
