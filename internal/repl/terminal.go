package repl

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/chzyer/readline"
)

// TerminalOptions configures a Terminal.
type TerminalOptions struct {
	// Out is where the prompt and the line being edited are drawn (stdout).
	Out io.Writer
	// History holds earlier lines for the Up and Down keys, oldest first.
	History []string
	// Hint returns the hint for the line being typed ("" for none); nil shows none.
	Hint func(line string) string
	// Complete returns Tab's candidates for the text left of the cursor (see
	// Shell.Complete); nil completes nothing.
	Complete func(before string) (suffixes []string, wordLen int)
	// Color shows hints dimmed in grey; without it they are shown plain.
	Color bool
	// Width returns the terminal's width in columns; nil asks the terminal.
	Width func() int
}

// Terminal is the LineReader of a real terminal, on github.com/chzyer/readline: line
// editing, history in memory (the History type keeps the file), Tab completion, and
// hints drawn after the cursor through readline's Painter hook.
type Terminal struct {
	rl     *readline.Instance
	paint  *hintPainter
	closed atomic.Bool
}

// NewTerminal sets up line editing on the process's terminal (stdin in raw mode
// while a line is read).
func NewTerminal(o TerminalOptions) (*Terminal, error) {
	p := &hintPainter{hint: o.Hint, color: o.Color, width: o.Width}
	if p.width == nil {
		p.width = readline.GetScreenWidth
	}
	cfg := &readline.Config{
		Stdout:                 o.Out,
		Painter:                p,
		AutoComplete:           completer(o.Complete),
		DisableAutoSaveHistory: false,
		HistoryLimit:           HistoryLimit,
		EOFPrompt:              "\n", // a bare newline: nothing printed after Ctrl-D but the line end
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return nil, fmt.Errorf("repl: terminal: %w", err)
	}
	for _, line := range o.History {
		_ = rl.SaveHistory(line) // in memory only: no history file is configured
	}
	return &Terminal{rl: rl, paint: p}, nil
}

// ReadLine shows prompt and reads one line with editing.
func (t *Terminal) ReadLine(prompt string) (string, error) {
	if t.closed.Load() {
		return "", io.EOF
	}
	var rs readline.Runes
	t.paint.promptWidth.Store(int64(rs.WidthAll(rs.ColorFilter([]rune(prompt)))))
	t.rl.SetPrompt(prompt)
	line, err := t.rl.Readline()
	switch {
	case errors.Is(err, readline.ErrInterrupt):
		return line, ErrInterrupt
	case err != nil:
		return "", err
	}
	return line, nil
}

// closeWait bounds how long Close waits for readline's input loop to end.
const closeWait = 250 * time.Millisecond

// Close gives the terminal back in its normal mode; a ReadLine under way returns
// io.EOF. It is safe to call from another goroutine, and more than once.
//
// readline's input loop hands each keystroke to the line being read without watching
// for Close, so a key that arrives after the last ReadLine (typed ahead, or pasted)
// leaves that loop, and readline's Close with it, waiting forever. Close therefore
// waits only closeWait, then leaves raw mode itself and lets that loop be.
func (t *Terminal) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- t.rl.Close() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(closeWait):
		err = t.rl.Terminal.ExitRawMode()
	}
	if err != nil {
		return fmt.Errorf("repl: terminal: %w", err)
	}
	return nil
}

// hintPainter draws the hint after the line on every redraw: dimmed, cut to the room
// left on the row, with the cursor moved back over it so that editing goes on where
// it was. The line submitted with Enter (it ends in "\n" then) and wrapped lines are
// passed through untouched, and nothing but in-memory work happens here.
type hintPainter struct {
	hint        func(line string) string
	color       bool
	width       func() int
	promptWidth atomic.Int64
}

// Paint implements readline.Painter.
func (p *hintPainter) Paint(line []rune, _ int) []rune {
	if p.hint == nil || len(line) == 0 || line[len(line)-1] == '\n' {
		return line
	}
	hint := []rune(p.hint(string(line)))
	if len(hint) == 0 {
		return line
	}
	var rs readline.Runes
	room := p.width() - int(p.promptWidth.Load()) - rs.WidthAll(line) - 1
	for len(hint) > 0 && rs.WidthAll(hint) > room {
		hint = hint[:len(hint)-1]
	}
	if len(hint) == 0 {
		return line
	}
	out := make([]rune, 0, len(line)+len(hint)+16)
	out = append(out, line...)
	if p.color {
		out = append(out, []rune("\x1b[90m")...)
	}
	out = append(out, hint...)
	if p.color {
		out = append(out, []rune("\x1b[0m")...)
	}
	out = append(out, []rune("\x1b["+strconv.Itoa(rs.WidthAll(hint))+"D")...)
	return out
}

// completer adapts a completion function to readline.AutoCompleter.
type completer func(before string) ([]string, int)

// Do implements readline.AutoCompleter.
func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	if c == nil {
		return nil, 0
	}
	suffixes, n := c(string(line[:pos]))
	if n > pos {
		n = pos
	}
	out := make([][]rune, len(suffixes))
	for i, s := range suffixes {
		out[i] = []rune(s)
	}
	return out, n
}
