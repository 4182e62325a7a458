package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRedirect(t *testing.T) {
	const from = "10.0.0.9:7000"
	valid := []struct {
		name, reply string
		want        Redirect
	}{
		{"moved", "MOVED 3999 127.0.0.1:6381", Redirect{Slot: 3999, Addr: "127.0.0.1:6381"}},
		{"ask", "ASK 3999 127.0.0.1:6381", Redirect{Ask: true, Slot: 3999, Addr: "127.0.0.1:6381"}},
		{"ipv6 bare", "MOVED 1 ::1:6381", Redirect{Slot: 1, Addr: "[::1]:6381"}},
		{"ipv6 bracketed", "MOVED 1 [fe80::1]:6381", Redirect{Slot: 1, Addr: "[fe80::1]:6381"}},
		{"empty host means the answering node", "MOVED 16383 :6390", Redirect{Slot: 16383, Addr: "10.0.0.9:6390"}},
		{"unknown endpoint", "MOVED 0 ?:6390", Redirect{Slot: 0}},
		{"hostname", "ASK 5 redis-1.example:6379", Redirect{Ask: true, Slot: 5, Addr: "redis-1.example:6379"}},
	}
	for _, c := range valid {
		t.Run(c.name, func(t *testing.T) {
			r, ok, err := ParseRedirect(c.reply, from)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, c.want, r)
		})
	}
	malformed := []struct{ name, reply string }{
		{"no address", "MOVED 3999"},
		{"bad slot", "MOVED x 127.0.0.1:1"},
		{"slot too big", "MOVED 16384 127.0.0.1:1"},
		{"negative slot", "ASK -1 127.0.0.1:1"},
		{"no port", "MOVED 1 127.0.0.1"},
		{"bad port", "MOVED 1 127.0.0.1:http"},
		{"port zero", "MOVED 1 127.0.0.1:0"},
		{"port too big", "MOVED 1 127.0.0.1:70000"},
		{"extra field", "MOVED 1 127.0.0.1:1 extra"},
		{"bad host", "MOVED 1 a/b:1"},
	}
	for _, c := range malformed {
		t.Run(c.name, func(t *testing.T) {
			_, ok, err := ParseRedirect(c.reply, from)
			assert.True(t, ok)
			var re *RedirectError
			assert.ErrorAs(t, err, &re)
		})
	}
	t.Run("not a redirect", func(t *testing.T) {
		_, ok, err := ParseRedirect("ERR unknown command", from)
		assert.False(t, ok)
		assert.NoError(t, err)
	})
	t.Run("empty host without an answering node", func(t *testing.T) {
		_, _, err := ParseRedirect("MOVED 1 :6379", "")
		assert.Error(t, err)
	})
}

func FuzzParseRedirect(f *testing.F) {
	for _, s := range []string{"MOVED 3999 127.0.0.1:6381", "ASK 1 ::1:1", "MOVED 1 :1", "MOVED 1 ?:1", "MOVED", "ASK 99999999999999999999 a:1", "MOVED 1 [::1]:2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, reply string) {
		r, ok, err := ParseRedirect(reply, "127.0.0.1:7000")
		if !ok || err != nil {
			return
		}
		if r.Slot < 0 || r.Slot >= SlotCount {
			t.Fatalf("slot %d out of range", r.Slot)
		}
	})
}
