package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/format"
	"github.com/rcli-dev/rcli/internal/pubsub"
	"github.com/rcli-dev/rcli/internal/resp"
)

// readingMessages is what redis-cli 7.0 prints before the confirmations of SUBSCRIBE,
// PSUBSCRIBE and SSUBSCRIBE, in every output mode but raw.
const readingMessages = "Reading messages... (press Ctrl-C to quit)"

// subscribeOutput says where a subscription prints, and how.
type subscribeOutput struct {
	Out    io.Writer      // confirmations and messages
	Err    io.Writer      // gaps and restorations, one line each
	Format format.Options // the output mode
}

// streamSubscription runs SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE on cl through
// internal/pubsub and prints, in redis-cli's format for o.Format's mode, the
// confirmations and then every message until ctx ends (Ctrl-C) or the server refuses
// the command (its error is printed like any reply, and the run goes on, as
// redis-cli's does). Channels and patterns share one connection; shard channels get
// one per master that owns some (redis-cli reaches only one node). Connection losses,
// failovers and slot migrations are ridden out, each gap reported on o.Err.
//
// It is the one subscription path of every face of rcli: one-shot commands, stdin's
// lines, and the shell (through app.streamOn, or by calling it with its own client).
// redis-cli's "Reading messages..." line is printed where redis-cli prints it
// (standard and CSV modes), but not in the JSON modes, whose output stays valid JSON
// lines, nor in raw mode.
func streamSubscription(ctx context.Context, cl *cluster.Client, cmd resp.Command, o subscribeOutput) error {
	kind, ok := pubsub.KindOf(cmd)
	if !ok {
		return fmt.Errorf("rcli: %s is not a subscription command", cmd.Name())
	}
	var mu sync.Mutex // Out and Err may be one writer; events come from other goroutines
	write := func(v resp.Value) error {
		mu.Lock()
		defer mu.Unlock()
		if err := format.Write(o.Out, v, o.Format); err != nil {
			return fmt.Errorf("rcli: write stdout: %w", err)
		}
		return nil
	}
	if o.Format.Mode == format.Standard || o.Format.Mode == format.CSV {
		fmt.Fprintln(o.Out, readingMessages)
	}
	sub := pubsub.New(cl, pubsub.Options{OnEvent: func(e pubsub.Event) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(o.Err, "rcli: %s\n", e)
	}})
	defer sub.Close()
	names := make([]string, len(cmd.Args)-1)
	for i, a := range cmd.Args[1:] {
		names[i] = string(a)
	}
	confirmed, err := sub.Subscribe(ctx, kind, names...)
	var refused *pubsub.ReplyError
	if errors.As(err, &refused) {
		return write(refused.Value)
	}
	if err != nil {
		return err
	}
	for _, m := range confirmed {
		if err := write(m.Value); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m, ok := <-sub.Messages():
			if !ok {
				return pubsub.ErrClosed
			}
			if err := write(m.Value); err != nil {
				return err
			}
		}
	}
}

// subscribe runs a subscription command for the run, on its client.
func (a *app) subscribe(ctx context.Context, cmd resp.Command) error {
	if err := a.connect(ctx); err != nil {
		return err
	}
	return streamSubscription(ctx, a.sess.cl, cmd, a.subscribeOutput(cmd))
}

// subscribeAt runs a subscription command for the shell, which has its own client
// and hands over a connection to the node it is on (addr): the subscription gets a
// client of its own, seeded with that node and made from the command line's options.
func (a *app) subscribeAt(ctx context.Context, addr string, cmd resp.Command) error {
	if a.sess != nil {
		return streamSubscription(ctx, a.sess.cl, cmd, a.subscribeOutput(cmd))
	}
	co, err := a.clusterOptions()
	if err != nil {
		return err
	}
	co.Seeds = []string{addr}
	cl, err := cluster.New(co)
	if err != nil {
		return err
	}
	defer cl.Close()
	return streamSubscription(ctx, cl, cmd, a.subscribeOutput(cmd))
}

func (a *app) subscribeOutput(cmd resp.Command) subscribeOutput {
	return subscribeOutput{Out: a.io.Out, Err: a.io.Err, Format: a.out.ForCommand(cmd.Args)}
}
