package main

import (
	"bufio"
	"context"
	"fmt"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/format"
)

// scanMode runs --scan: every key matching --pattern (and --type), one per line, quoted
// as redis-cli quotes them on a terminal and bare otherwise. With -c it walks every
// master of the cluster (every replica with --read-from replica) and reports each key
// once, even when a node fails over in the middle; redis-cli scans one node only.
func (a *app) scanMode(ctx context.Context) error {
	if err := a.connect(ctx); err != nil {
		return err
	}
	w := bufio.NewWriterSize(a.io.Out, 64<<10)
	quote := a.out.Mode == format.Standard
	var line []byte
	err := a.sess.cl.Scan(ctx, cluster.ScanOptions{Match: a.opts.pattern, Count: a.opts.count, Type: a.opts.scanType},
		func(key []byte) error {
			line = line[:0]
			if quote {
				line = format.AppendRepr(line, key)
			} else {
				line = append(line, key...)
			}
			line = append(line, '\n')
			_, err := w.Write(line)
			return err
		})
	if ferr := w.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("rcli: write stdout: %w", ferr)
	}
	return err
}
