package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/rcli-dev/rcli/internal/format"
	"github.com/rcli-dev/rcli/internal/livestat"
	"github.com/rcli-dev/rcli/internal/resp"
)

// statMode runs --stat: a row every -i seconds (1 by default). In cluster mode (-c)
// each row sums every master (or every replica the read policy reads from), so the
// table reads the same as for one server.
func (a *app) statMode(ctx context.Context) error {
	if err := a.connect(ctx); err != nil {
		return err
	}
	cl := a.sess.cl
	info := func(ctx context.Context) ([]string, error) {
		nodes, err := walkNodes(ctx, cl)
		if err != nil {
			return nil, err
		}
		texts := make([]string, len(nodes))
		errs := make([]error, len(nodes))
		var wg sync.WaitGroup
		for i, addr := range nodes {
			wg.Go(func() {
				br := cl.ExecBatch(ctx, addr, []resp.Command{resp.NewCommand("INFO")}, nil)
				switch {
				case br.Err != nil:
					errs[i] = fmt.Errorf("%s: %w", addr, br.Err)
				case br.Values[0].Kind == resp.Error:
					errs[i] = &livestat.ErrorReply{Msg: string(br.Values[0].Str)}
				default:
					texts[i] = br.Values[0].Text()
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		return texts, nil
	}
	err := livestat.Stat(ctx, info, livestat.StatOptions{Interval: a.opts.interval, Out: a.io.Out})
	if _, ok := err.(*livestat.ErrorReply); ok {
		return &exitError{Code: 1} // already printed, as redis-cli prints it
	}
	return err
}

// latencyMode runs --latency and --latency-history against the server named (the seed
// node in cluster mode). On a terminal it runs until Ctrl-C; otherwise --latency samples
// for a second (or -i), prints one raw, CSV or JSON line and exits.
func (a *app) latencyMode(ctx context.Context) error {
	if err := a.connect(ctx); err != nil {
		return err
	}
	f := livestat.Standard
	switch a.out.Mode {
	case format.Raw:
		f = livestat.Raw
	case format.CSV:
		f = livestat.CSV
	case format.JSON, format.QuotedJSON:
		f = livestat.JSON
	}
	ping := resp.NewCommand("PING")
	return livestat.Latency(ctx, func(ctx context.Context) error {
		v, err := a.sess.Do(ctx, ping)
		if err == nil && v.Kind == resp.Error {
			err = v.Err()
		}
		return err
	}, livestat.LatencyOptions{
		Format:   f,
		History:  a.opts.tools.history,
		Interval: a.opts.interval,
		Out:      a.io.Out,
	})
}
