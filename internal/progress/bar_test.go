package progress

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBarLine(t *testing.T) {
	var out bytes.Buffer
	b := New(&out, "reshard", "slots", 1000)
	clock := b.start
	b.now = func() time.Time { return clock }
	assert.Equal(t, "reshard [>                       ]   0% 0/1000 slots", b.Line())

	clock = clock.Add(2 * time.Second)
	b.Set(500, "12000 keys")
	assert.Equal(t, "\rreshard [============>           ]  50% 500/1000 slots 250/s ETA 2s 12000 keys\x1b[K", out.String())

	out.Reset()
	b.Set(600, "") // within 100ms of the last draw: not redrawn
	assert.Empty(t, out.String())
	b.Clear()
	assert.Equal(t, "\r\x1b[K", out.String())

	out.Reset()
	b.Clear() // already erased
	assert.Empty(t, out.String())

	clock = clock.Add(2 * time.Second)
	b.SetTotal(600)
	b.Set(600, "")
	assert.Contains(t, out.String(), "[========================] 100% 600/600 slots 150/s")
}

func TestBarWithoutTotal(t *testing.T) {
	var out bytes.Buffer
	b := New(&out, "scan", "keys", 0)
	assert.Equal(t, "scan 0 keys", b.Line())
	b.done = 15000
	b.start = b.start.Add(-2 * time.Second)
	assert.Equal(t, "scan 15000 keys 7500/s", b.Line())
}
