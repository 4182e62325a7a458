package pipeline

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

const (
	progressEvery = 250 * time.Millisecond
	progressWidth = 24 // characters of the bar
)

// progress is a snapshot of a pipe run for the progress line.
type progress struct {
	sent, acked int64
	read, size  int64 // input bytes consumed, and the input's size (0: unknown)
	elapsed     time.Duration
	rate        float64 // acknowledged commands per second, smoothed
}

// showProgress redraws a one-line progress display on ProgressOut until stop closes,
// then erases it.
func (p *pipe) showProgress(stop <-chan struct{}) {
	w := p.o.ProgressOut
	start := time.Now()
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	var lastAcked int64
	lastAt := start
	var rate float64
	for {
		select {
		case <-stop:
			io.WriteString(w, "\r\x1b[K")
			return
		case now := <-tick.C:
			s := p.summary()
			acked := s.OK + s.Errors + s.Rejected + s.Unknown
			if dt := now.Sub(lastAt).Seconds(); dt > 0 {
				inst := float64(acked-lastAcked) / dt
				if rate == 0 {
					rate = inst
				} else {
					rate = 0.7*rate + 0.3*inst
				}
			}
			lastAcked, lastAt = acked, now
			io.WriteString(w, "\r"+progress{
				sent: p.sent.Load(), acked: acked, read: p.inputBytes.Load(), size: p.o.InputSize,
				elapsed: now.Sub(start), rate: rate,
			}.line()+"\x1b[K")
		}
	}
}

// line renders the progress line: a bar, the percentage and the time left when the
// input's size is known, then commands sent and acknowledged and the rate.
func (pr progress) line() string {
	var b strings.Builder
	if pr.size > 0 {
		frac := min(float64(pr.read)/float64(pr.size), 1)
		full := int(frac * progressWidth)
		b.WriteString("[")
		b.WriteString(strings.Repeat("=", full))
		if full < progressWidth {
			b.WriteString(">")
			b.WriteString(strings.Repeat(" ", progressWidth-full-1))
		}
		fmt.Fprintf(&b, "] %3.0f%% ", frac*100)
		if frac > 0 && frac < 1 {
			left := time.Duration(float64(pr.elapsed) * (1 - frac) / frac)
			fmt.Fprintf(&b, "ETA %s ", clock(left))
		}
	}
	fmt.Fprintf(&b, "sent %s, acknowledged %s, %s/s, %s",
		group(pr.sent), group(pr.acked), group(int64(pr.rate)), clock(pr.elapsed))
	return b.String()
}

// clock renders a duration as m:ss, or h:mm:ss.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// group renders n with thousands separators: 1,234,567.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
