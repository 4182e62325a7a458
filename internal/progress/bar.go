package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

const (
	redrawEvery = 100 * time.Millisecond
	barWidth    = 24
)

// Bar is a progress line redrawn in place on a terminal. It is safe for concurrent use.
type Bar struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	unit  string
	total int64
	done  int64
	note  string
	start time.Time
	drawn time.Time
	shown bool
	now   func() time.Time
}

// New returns a bar that draws on w: label first ("reshard"), then a bar when total is
// known (above 0), then "done/total unit" and the rate. Nothing is drawn until Set.
func New(w io.Writer, label, unit string, total int64) *Bar {
	return &Bar{w: w, label: label, unit: unit, total: total, start: time.Now(), now: time.Now}
}

// Set records how much is done and a short note shown after the counts (such as the
// keys moved), and redraws the line if it was last drawn more than 100ms ago.
func (b *Bar) Set(done int64, note string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done, b.note = done, note
	if now := b.now(); now.Sub(b.drawn) >= redrawEvery {
		b.drawn = now
		b.drawLocked()
	}
}

// SetTotal changes the total.
func (b *Bar) SetTotal(total int64) {
	b.mu.Lock()
	b.total = total
	b.mu.Unlock()
}

// Draw redraws the line now.
func (b *Bar) Draw() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.drawn = b.now()
	b.drawLocked()
}

// Clear erases the line if it is shown, so that other output can be written; the next
// Set or Draw shows it again.
func (b *Bar) Clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.shown {
		_, _ = io.WriteString(b.w, "\r\x1b[K")
		b.shown = false
		b.drawn = time.Time{} // redraw at the next Set
	}
}

// Line renders the progress line (without the carriage return and erase sequence).
func (b *Bar) Line() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lineLocked()
}

func (b *Bar) drawLocked() {
	_, _ = io.WriteString(b.w, "\r"+b.lineLocked()+"\x1b[K")
	b.shown = true
}

func (b *Bar) lineLocked() string {
	var s strings.Builder
	s.WriteString(b.label)
	elapsed := b.now().Sub(b.start)
	if b.total > 0 {
		frac := float64(b.done) / float64(b.total)
		frac = min(max(frac, 0), 1)
		fill := int(frac * barWidth)
		s.WriteString(" [")
		s.WriteString(strings.Repeat("=", fill))
		if fill < barWidth {
			s.WriteString(">")
			s.WriteString(strings.Repeat(" ", barWidth-fill-1))
		}
		fmt.Fprintf(&s, "] %3.0f%% %d/%d %s", frac*100, b.done, b.total, b.unit)
	} else {
		fmt.Fprintf(&s, " %d %s", b.done, b.unit)
	}
	if secs := elapsed.Seconds(); secs > 0.5 && b.done > 0 {
		rate := float64(b.done) / secs
		fmt.Fprintf(&s, " %s/s", human(rate))
		if b.total > b.done && rate > 0 {
			left := time.Duration(float64(b.total-b.done) / rate * float64(time.Second))
			fmt.Fprintf(&s, " ETA %s", left.Round(time.Second))
		}
	}
	if b.note != "" {
		s.WriteString(" ")
		s.WriteString(b.note)
	}
	return s.String()
}

// human renders a rate compactly: 950, 12.3k, 4.1M.
func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}
