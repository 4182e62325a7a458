package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rcli-dev/rcli/internal/resp"
)

func TestScriptNoWrites(t *testing.T) {
	for body, want := range map[string]bool{
		"#!lua flags=no-writes\nreturn 1":              true,
		"#!lua name=x flags=allow-stale,no-writes\r\n": true,
		"#!lua flags=allow-stale\nreturn 1":            false,
		"return 1 -- flags=no-writes":                  false,
		"":                                             false,
		"#!lua\nreturn 1":                              false,
	} {
		assert.Equal(t, want, scriptNoWrites([]byte(body)), "%q", body)
	}
	// The server's own SHA1 of "return 1" (SCRIPT LOAD "return 1").
	assert.Equal(t, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", newScript([]byte("return 1")).sha)
}

func TestTxPinNote(t *testing.T) {
	var tx txPin
	ok, queued := resp.StatusValue("OK"), resp.StatusValue("QUEUED")
	tx.note(resp.NewCommand("WATCH", "k"), ok)
	assert.True(t, tx.watching)
	tx.note(resp.NewCommand("MULTI"), ok)
	tx.note(resp.NewCommand("INCR", "k"), queued)
	tx.note(resp.NewCommand("WATCH", "k"), resp.ErrorValue("ERR WATCH inside MULTI is not allowed"))
	assert.Equal(t, txPin{inTx: true, watching: true, queued: 1}, tx)
	tx.note(resp.NewCommand("EXEC"), resp.NullValue())
	assert.False(t, tx.inTx || tx.watching, "EXEC ends the transaction and the WATCH, whatever it returns")
	tx.note(resp.NewCommand("WATCH", "k"), ok)
	tx.note(resp.NewCommand("UNWATCH"), ok)
	assert.False(t, tx.watching)
}
