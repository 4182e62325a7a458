package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
)

// Defaults of PipeOptions.
const (
	DefaultPipeTimeout     = 30 * time.Second // redis-cli's --pipe-timeout
	DefaultPipeWindow      = 1024             // commands in flight per connection
	DefaultPipeRetryBudget = 30 * time.Second // per command, for retries that are safe
	DefaultWaitTimeout     = time.Second      // WAIT's timeout when --wait has none
)

// Exit codes of pipe mode, from PipeSummary.ExitCode.
const (
	PipeExitOK      = 0 // every command ended ok
	PipeExitErrors  = 1 // some error replies or rejected commands, as redis-cli exits 1
	PipeExitUnknown = 3 // some outcomes unknown, or writes WAIT did not confirm
)

// PipeOptions configures RunPipe, which is `rcli --pipe`.
type PipeOptions struct {
	// In is the input: RESP frames and inline lines, freely mixed.
	In io.Reader
	// Out receives redis-cli's summary lines ("All data transferred. Waiting for the
	// last reply...", "Last reply received from server.", "errors: N, replies: M") and
	// rcli's outcome counts. Err receives one line per command that did not end ok
	// (command number, line, name and why) and the pipe timeout message. Nil discards.
	Out, Err io.Writer
	// Client is the client to load through: a standalone server, or a cluster whose
	// commands each go to the node that owns their keys, MOVED and ASK followed. Its
	// pool must allow Conns connections per node plus one.
	Client *cluster.Client
	// Conns is how many connections each node gets (default 1). Each key always uses the
	// same one, so every key's commands run in input order; commands without a key,
	// SELECT and AUTH wait for everything before them and hold back everything after.
	Conns int
	// Window bounds the commands in flight on each connection (default 1024): at most
	// this many can end unknown when a connection is lost.
	Window int
	// Timeout ends the run when, after the input ended, no reply arrived for this long;
	// the commands still in flight end unknown. Zero waits forever; redis-cli's default
	// is DefaultPipeTimeout, which the caller passes.
	Timeout time.Duration
	// Report, when set, receives one JSON line (a ReportLine) per command that did not
	// end ok, and per write that WAIT did not confirm.
	Report io.Writer
	// Wait, when above zero, confirms writes: every chunk of commands written on a
	// connection ends with WAIT Wait WaitTimeout (WaitTimeout defaults to
	// DefaultWaitTimeout). A command is ok only once its chunk's WAIT has answered; the
	// ok commands whose WAIT counted fewer replicas are reported and counted as
	// Unconfirmed, and those whose WAIT never answered (the connection was lost) end
	// unknown, since whether they reached a replica is what was asked.
	Wait        int
	WaitTimeout time.Duration
	// Progress shows a progress line on ProgressOut (the caller decides: stderr, when
	// it is a terminal). InputSize, the input's size in bytes when known (a regular
	// file), adds a percentage and an estimated time left.
	Progress    bool
	ProgressOut io.Writer
	InputSize   int64
	// ResendReadOnly sends again, after a lost connection, the commands whose outcome
	// is unknown when the server flags them readonly and they do not block.
	ResendReadOnly bool
	// ResendIdempotent sends again, after a lost connection, the commands whose outcome
	// is unknown when running them twice leaves the same data: SET without GET or
	// KEEPTTL, DEL, UNLINK, HSET, SADD, ZADD without INCR, PEXPIREAT, EXPIREAT.
	ResendIdempotent bool
	// Input bounds what a command may be (default: what a stock server accepts).
	Input InputOptions
	// MaxRedirects bounds the MOVED and ASK each command follows (default: the
	// client's); RetryBudget bounds how long one is retried after TRYAGAIN,
	// CLUSTERDOWN or a connection that could not be made (default 30s).
	MaxRedirects int
	RetryBudget  time.Duration
}

func (o PipeOptions) withDefaults() PipeOptions {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Err == nil {
		o.Err = io.Discard
	}
	if o.ProgressOut == nil {
		o.Progress = false
	}
	if o.Conns <= 0 {
		o.Conns = 1
	}
	if o.Window <= 0 {
		o.Window = DefaultPipeWindow
	}
	if o.Wait > 0 && o.WaitTimeout <= 0 {
		o.WaitTimeout = DefaultWaitTimeout
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = o.Client.Options().MaxRedirects
	}
	if o.RetryBudget <= 0 {
		o.RetryBudget = DefaultPipeRetryBudget
	}
	o.Input = o.Input.withDefaults()
	return o
}

// PipeSummary counts what a pipe run did. OK + Errors + Rejected + Unknown == Commands.
type PipeSummary struct {
	Commands    int64 // commands read, rejected ones included
	OK          int64 // replies that were not errors
	Errors      int64 // error replies
	Rejected    int64 // refused before sending: bad input, or a command pipe mode cannot count
	Unknown     int64 // written, then the connection was lost before the reply
	Unconfirmed int64 // of OK, the writes that WAIT did not confirm (with Wait)
	Redirects   int64 // MOVED and ASK followed
	Retries     int64 // commands sent again after TRYAGAIN, CLUSTERDOWN or a lost connection
	TimedOut    bool  // the run ended because no reply came within Timeout
	Elapsed     time.Duration
}

// Replies returns how many replies arrived, as redis-cli counts them.
func (s PipeSummary) Replies() int64 { return s.OK + s.Errors }

// ExitCode returns the process exit code: PipeExitUnknown when some outcomes are unknown
// (or writes unconfirmed), else PipeExitErrors when some commands failed or were
// rejected, as redis-cli exits 1 on any error, else PipeExitOK.
func (s PipeSummary) ExitCode() int {
	switch {
	case s.Unknown > 0 || s.Unconfirmed > 0:
		return PipeExitUnknown
	case s.Errors > 0 || s.Rejected > 0 || s.TimedOut:
		return PipeExitErrors
	}
	return PipeExitOK
}

// RunPipe loads the commands read from o.In through o.Client and writes redis-cli's
// lines to o.Out:
//
//	All data transferred. Waiting for the last reply...
//	Last reply received from server.
//	errors: 1, replies: 999
//	outcomes: ok 998, error 1, rejected 1, unknown 0, total 1000
//
// where errors counts every command that did not end ok and replies the replies that
// arrived. Each command that did not end ok gets a line on o.Err and in o.Report.
//
// It returns the counts, and an error when the input could not be read to its end,
// when the report could not be written, or when ctx ended the run; the counts are
// complete in every case.
func RunPipe(ctx context.Context, o PipeOptions) (PipeSummary, error) {
	if o.Client == nil || o.In == nil {
		return PipeSummary{}, errors.New("pipeline: RunPipe needs a client and an input")
	}
	o = o.withDefaults()
	if limit := o.Client.Options().Pool.MaxActive; limit > 0 && limit <= o.Conns {
		return PipeSummary{}, fmt.Errorf("pipeline: %d connections per node need a pool of at least %d", o.Conns, o.Conns+1)
	}
	start := time.Now()
	stats0 := o.Client.Stats()
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	p := newPipe(runCtx, o)

	var wg sync.WaitGroup
	batches := make(chan *batch, 4)
	var readErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		readErr = p.read(batches)
	}()
	transferred := make(chan struct{})
	d := newDispatcher(p, batches, func() {
		fmt.Fprintln(o.Out, "All data transferred. Waiting for the last reply...")
		close(transferred)
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.run()
	}()

	var timedOut atomic.Bool
	stopWatch := make(chan struct{})
	var watchers sync.WaitGroup
	if o.Timeout > 0 {
		watchers.Add(1)
		go func() {
			defer watchers.Done()
			p.watchTimeout(transferred, stopWatch, func() {
				timedOut.Store(true)
				fmt.Fprintf(o.Err, "No replies for %s seconds: exiting.\n", strconv.FormatFloat(o.Timeout.Seconds(), 'f', -1, 64))
				cancel(errPipeTimeout)
			})
		}()
	}
	if o.Progress {
		watchers.Add(1)
		go func() {
			defer watchers.Done()
			p.showProgress(stopWatch)
		}()
	}
	<-done
	close(stopWatch)
	watchers.Wait()
	readerDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(readerDone)
	}()
	if ctx.Err() != nil || runCtx.Err() != nil {
		// The reader may be stuck reading an input that never ends: do not wait long.
		select {
		case <-readerDone:
		case <-time.After(abortGrace):
		}
		p.rejectLeftovers(batches)
	} else {
		<-readerDone
	}

	sum := p.summary()
	stats := o.Client.Stats()
	sum.Redirects = int64(stats.Moved-stats0.Moved) + int64(stats.Ask-stats0.Ask)
	sum.TimedOut = timedOut.Load()
	sum.Elapsed = time.Since(start)
	if !sum.TimedOut && ctx.Err() == nil {
		fmt.Fprintln(o.Out, "Last reply received from server.")
	}
	fmt.Fprintf(o.Out, "errors: %d, replies: %d\n", sum.Commands-sum.OK, sum.Replies())
	fmt.Fprintf(o.Out, "outcomes: ok %d, error %d, rejected %d, unknown %d, total %d\n",
		sum.OK, sum.Errors, sum.Rejected, sum.Unknown, sum.Commands)
	if sum.Unconfirmed > 0 {
		fmt.Fprintf(o.Out, "unconfirmed by WAIT: %d\n", sum.Unconfirmed)
	}
	err := p.out.flush()
	switch {
	case readErr != nil:
		err = errors.Join(readErr, err)
	case ctx.Err() != nil:
		err = errors.Join(ctx.Err(), err)
	}
	return sum, err
}

var errPipeTimeout = errors.New("pipeline: no reply within the pipe timeout")

// abortGrace is how long an interrupted run waits for its reader to stop.
const abortGrace = 500 * time.Millisecond

// rejectLeftovers rejects the records of batches the dispatcher never took, after an
// interrupted run.
func (p *pipe) rejectLeftovers(batches <-chan *batch) {
	for {
		select {
		case b, ok := <-batches:
			if !ok {
				return
			}
			for i := range b.recs {
				r := &b.recs[i]
				p.report(r, OutcomeRejected, "", "not sent: the run was interrupted", false)
			}
		default:
			return
		}
	}
}

// watchTimeout calls fire when, after the input was all sent, no reply arrived for
// Timeout while commands were in flight.
func (p *pipe) watchTimeout(transferred, stop <-chan struct{}, fire func()) {
	select {
	case <-transferred:
	case <-stop:
		return
	}
	p.touch()
	tick := time.NewTicker(min(p.o.Timeout/4, 100*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			last := time.Unix(0, p.lastReply.Load())
			if p.outstanding.Load() > 0 && time.Since(last) >= p.o.Timeout {
				fire()
				return
			}
		}
	}
}

// summary returns the counts so far.
func (p *pipe) summary() PipeSummary {
	s := PipeSummary{
		Commands:    p.commands.Load(),
		OK:          p.out.ok.Load(),
		Errors:      p.out.errs.Load(),
		Rejected:    p.out.rejected.Load(),
		Unknown:     p.out.unknown.Load(),
		Unconfirmed: p.out.unconfirmed.Load(),
		Retries:     p.retries.Load(),
	}
	return s
}
