package repl

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHintPainter(t *testing.T) {
	hint := func(line string) string {
		if line == "GET" {
			return " key"
		}
		return ""
	}
	width := 20
	p := &hintPainter{hint: hint, color: true, width: func() int { return width }}
	p.promptWidth.Store(5)
	paint := func(line string) string { return string(p.Paint([]rune(line), len(line))) }

	assert.Equal(t, "GET\x1b[90m key\x1b[0m\x1b[4D", paint("GET"), "grey, then the cursor back over it")
	assert.Equal(t, "GET\n", paint("GET\n"), "the submitted line is untouched")
	assert.Equal(t, "GE", paint("GE"), "no hint, nothing added")
	assert.Equal(t, "", paint(""))
	width = 11
	assert.Equal(t, "GET\x1b[90m k\x1b[0m\x1b[2D", paint("GET"), "cut to the room left on the row")
	width = 9
	assert.Equal(t, "GET", paint("GET"), "no room, no hint")
	width = 20
	p.color = false
	assert.Equal(t, "GET key\x1b[4D", paint("GET"), "plain without colour")
}

func TestCompleterAdapter(t *testing.T) {
	c := completer(func(before string) ([]string, int) {
		assert.Equal(t, "hge", before)
		return []string{"t", "tall"}, 9
	})
	got, n := c.Do([]rune("hgex"), 3)
	assert.Equal(t, [][]rune{[]rune("t"), []rune("tall")}, got)
	assert.Equal(t, 3, n, "never more than the text before the cursor")
	got, n = completer(nil).Do([]rune("x"), 1)
	assert.Nil(t, got)
	assert.Zero(t, n)
}
