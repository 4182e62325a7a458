package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rcli-dev/rcli/internal/repl"
)

// shellRefresh is how often the shell reloads a cluster's topology in the
// background (a MOVED also triggers a reload): a shell lives long enough to see
// failovers and reshards.
const shellRefresh = time.Minute

// shell runs the interactive shell (internal/repl) on the terminal: stdin is one and
// no command was given. Colour (prompt, errors, hints) needs stdout to be a real
// terminal and neither NO_COLOR nor --no-color; hints start on only with colour, since
// plain they could not be told from typed text (":set hints" shows them anyway).
//
// While a command runs the terminal is in its normal mode, so Ctrl-C is a SIGINT:
// here it goes to the shell, which releases or cancels the command and stays, instead
// of ending the run. SIGTERM and SIGHUP end the shell.
func (a *app) shell(ctx context.Context) error {
	co, err := a.clusterOptions()
	if err != nil {
		return err
	}
	if co.Cluster {
		co.RefreshInterval = shellRefresh
	}
	color := a.io.OutColor && !a.opts.noColor && a.io.Getenv("NO_COLOR") == ""
	hist, err := repl.OpenHistory(repl.HistoryPath(a.io.Getenv))
	if err != nil {
		fmt.Fprintln(a.io.Err, err) // the shell still works, with history in memory only
	}
	interrupts := make(chan struct{}, 1)
	sh := repl.New(repl.Config{
		Out:        a.io.Out,
		Err:        a.io.Err,
		Client:     co,
		Format:     a.out,
		Color:      color,
		Hints:      color,
		Interval:   a.opts.interval,
		History:    hist,
		CacheDir:   cacheDir(a.io.Getenv),
		Version:    version(),
		Interrupts: interrupts,
		Stream:     a.streamOn,
		ErrorText:  a.errorText,
	})
	term, err := repl.NewTerminal(repl.TerminalOptions{
		Out:      a.io.Out,
		History:  hist.Lines(),
		Hint:     sh.Hint,
		Complete: sh.Complete,
		Color:    color,
	})
	if err != nil {
		return err
	}
	defer term.Close()

	// The run's context ends at the first SIGINT; the shell's must not.
	shellCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		for {
			select {
			case sig := <-sigs:
				if sig == os.Interrupt {
					select {
					case interrupts <- struct{}{}:
					default: // one pending Ctrl-C is enough
					}
					continue
				}
				cancel()
				_ = term.Close() // ends a ReadLine under way
				return
			case <-shellCtx.Done():
				return
			}
		}
	}()
	err = sh.Run(shellCtx, term)
	if shellCtx.Err() != nil {
		return ctx.Err() // SIGTERM: exit 130, like the other faces; SIGHUP: 0
	}
	return err
}
