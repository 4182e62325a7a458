package livestat

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Format is how --latency prints.
type Format int

// The latency output formats.
const (
	Standard Format = iota // a terminal: one line rewritten in place, forever
	Raw                    // "min max avg count"
	CSV                    // "min,max,avg,count"
	JSON                   // {"min": 0, "max": 1, "avg": 0.12, "count": 96}
)

const (
	sampleEvery           = 10 * time.Millisecond // between PINGs, as redis-cli
	defaultSampleDuration = time.Second           // --latency when not on a terminal
	defaultHistoryWindow  = 15 * time.Second      // --latency-history
)

// PingFunc sends one PING and waits for the reply.
type PingFunc func(ctx context.Context) error

// LatencyOptions configure --latency and --latency-history.
type LatencyOptions struct {
	Format Format // how to print
	// History starts a new window every Interval (15 seconds by default), printing
	// " -- N seconds range" at its end (--latency-history).
	History bool
	// Interval is -i: the history window, or how long --latency samples when it does
	// not run forever (1 second by default).
	Interval time.Duration
	Out      io.Writer // where the view prints
	// Now returns the current time (nil: time.Now); tests set it.
	Now func() time.Time
}

// latencyStats are the samples of one window, in whole milliseconds as redis-cli
// measures them.
type latencyStats struct {
	min, max, total, count int64
}

func (s *latencyStats) add(ms int64) {
	s.count++
	if s.count == 1 {
		s.min, s.max, s.total = ms, ms, ms
		return
	}
	s.min = min(s.min, ms)
	s.max = max(s.max, ms)
	s.total += ms
}

func (s *latencyStats) avg() float64 { return float64(s.total) / float64(s.count) }

// line renders the stats in format f, with a trailing newline except for Standard.
func (s *latencyStats) line(f Format) string {
	switch f {
	case Raw:
		return fmt.Sprintf("%d %d %.2f %d\n", s.min, s.max, s.avg(), s.count)
	case CSV:
		return fmt.Sprintf("%d,%d,%.2f,%d\n", s.min, s.max, s.avg(), s.count)
	case JSON:
		return fmt.Sprintf("{\"min\": %d, \"max\": %d, \"avg\": %.2f, \"count\": %d}\n", s.min, s.max, s.avg(), s.count)
	default:
		return fmt.Sprintf("min: %d, max: %d, avg: %.2f (%d samples)", s.min, s.max, s.avg(), s.count)
	}
}

// Latency PINGs every 10ms and reports the minimum, maximum and average round trip in
// milliseconds, as redis-cli does. On a terminal (Standard) the line is rewritten after
// every sample until ctx ends; otherwise it samples for Interval (1 second by default),
// prints one line and returns. With History a new window starts every Interval (15
// seconds by default); in the non-terminal formats every sample prints a line. A failed
// PING ends the view with the error; ctx ending returns ctx's error after ending the
// line on a terminal.
func Latency(ctx context.Context, ping PingFunc, o LatencyOptions) error {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	window := o.Interval
	if window <= 0 {
		window = defaultHistoryWindow
	}
	sampleFor := o.Interval
	if sampleFor <= 0 {
		sampleFor = defaultSampleDuration
	}
	var s latencyStats
	start := now()
	for {
		t0 := now()
		if err := ping(ctx); err != nil {
			if ctx.Err() != nil {
				return endLine(o, ctx.Err())
			}
			return endLine(o, fmt.Errorf("I/O error: %w", err))
		}
		s.add(now().UnixMilli() - t0.UnixMilli())
		switch {
		case o.Format == Standard:
			io.WriteString(o.Out, "\x1b[0G\x1b[2K"+s.line(o.Format))
		case o.History:
			io.WriteString(o.Out, s.line(o.Format))
		case now().Sub(start) > sampleFor:
			io.WriteString(o.Out, s.line(o.Format))
			return nil
		}
		if o.History && now().Sub(start) > window {
			fmt.Fprintf(o.Out, " -- %.2f seconds range\n", now().Sub(start).Seconds())
			start = now()
			s = latencyStats{}
		}
		if err := sleep(ctx, sampleEvery); err != nil {
			return endLine(o, err)
		}
	}
}

// endLine finishes the line a terminal view was rewriting, then returns err.
func endLine(o LatencyOptions, err error) error {
	if o.Format == Standard {
		io.WriteString(o.Out, "\n")
	}
	return err
}
