package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/rcli-dev/rcli/internal/pipeline"
)

// pipeOptions are --pipe and the flags that only pipe mode reads.
type pipeOptions struct {
	enabled          bool          // --pipe
	timeout          time.Duration // --pipe-timeout; 0 waits forever
	conns            int           // --pipe-conns: connections per node
	report           string        // --report FILE
	wait             int           // --wait N: replicas that must confirm writes
	waitTimeout      time.Duration // --wait-timeout
	resendReadOnly   bool          // --resend-readonly
	resendIdempotent bool          // --resend-idempotent
}

// parsePipeFlag parses one of pipe mode's flags at args[*i], advancing past its value.
// handled is false when args[*i] is not one of them.
func (o *options) parsePipeFlag(args []string, i *int) (handled bool, err error) {
	arg := args[*i]
	value := func() (string, error) {
		if *i+1 >= len(args) {
			return "", usagef("Unrecognized option or bad number of args for: '%s'", arg)
		}
		*i++
		return args[*i], nil
	}
	seconds := func() (time.Duration, error) {
		v, err := value()
		if err != nil {
			return 0, err
		}
		d, err := parseSeconds(v)
		if err != nil {
			return 0, usagef("Invalid time for %s: '%s'", arg, v)
		}
		return d, nil
	}
	count := func() (int, error) {
		v, err := value()
		if err != nil {
			return 0, err
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1<<20 {
			return 0, usagef("Invalid number for %s: '%s'", arg, v)
		}
		return n, nil
	}
	p := &o.pipe
	switch arg {
	case "--pipe":
		p.enabled = true
	case "--pipe-timeout":
		p.timeout, err = seconds()
	case "--pipe-conns":
		p.conns, err = count()
	case "--report":
		p.report, err = value()
	case "--wait":
		p.wait, err = count()
	case "--wait-timeout":
		p.waitTimeout, err = seconds()
	case "--resend-readonly":
		p.resendReadOnly = true
	case "--resend-idempotent":
		p.resendIdempotent = true
	default:
		return false, nil
	}
	return true, err
}

// pipeMode runs --pipe: stdin's commands (RESP frames or inline lines) streamed
// through the pipeline, with -c to the node that owns each key, and every command
// accounted for: ok, error reply, rejected (with its line) or unknown.
func (a *app) pipeMode(ctx context.Context) error {
	p := a.opts.pipe
	co, err := a.clusterOptions()
	if err != nil {
		return err
	}
	conns := max(p.conns, 1)
	co.Pool.MaxActive = max(co.Pool.MaxActive, conns+2)
	co.Pool.OnPush = nil
	if co.Cluster {
		co.RefreshInterval = 5 * time.Second // a long load rides out failovers and reshards
	}
	sess, err := a.newSession(co)
	if err != nil {
		return err
	}
	a.sess = sess
	if err := sess.connect(ctx); err != nil {
		return err
	}
	sess.release()

	po := pipeline.PipeOptions{
		In: a.io.In, Out: a.io.Out, Err: a.io.Err, Client: sess.cl,
		Conns: conns, Timeout: p.timeout, Wait: p.wait, WaitTimeout: p.waitTimeout,
		ResendReadOnly: p.resendReadOnly, ResendIdempotent: p.resendIdempotent,
	}
	if a.io.ErrTTY {
		po.Progress, po.ProgressOut = true, a.io.Err
	}
	if f, ok := a.io.In.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			po.InputSize = st.Size()
		}
	}
	if p.report != "" {
		f, err := os.Create(p.report)
		if err != nil {
			return &usageError{msg: fmt.Sprintf("rcli: --report: %v", err)}
		}
		defer f.Close()
		po.Report = f
	}
	sum, err := pipeline.RunPipe(ctx, po)
	if err != nil {
		return err
	}
	if code := sum.ExitCode(); code != 0 {
		return &exitError{Code: code}
	}
	return nil
}
