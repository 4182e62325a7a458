// Command rcli is a Redis command-line client that is a drop-in for redis-cli: the
// same flags, the same output bytes and the same exit codes, except where redis-cli is
// wrong, plus rcli's own subcommands.
//
// The root command parses redis-cli's argument syntax by hand (options first, then the
// command); cobra serves only rcli's own subcommands and is built only when one is
// asked for. Everything the process needs from its environment (streams, whether they
// are terminals, environment variables, the password prompt) comes in through a
// streams value, so tests run run() in-process with buffers.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// main runs rcli with a context that Ctrl-C and SIGTERM cancel, and exits with its code.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], newStdStreams())
	stop()
	os.Exit(code)
}

// streams are the standard streams and the facts about them, decided once at start.
type streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer

	// InTTY says stdin is a terminal.
	InTTY bool
	// OutTTY says stdout is a terminal, or that FAKETTY is set, as redis-cli's own
	// tests use it: it picks the standard output format and shows pushes by default.
	OutTTY bool
	// OutColor says stdout is a real terminal, where colour escapes may be shown.
	OutColor bool
	// ErrTTY says stderr is a terminal, where progress may be drawn.
	ErrTTY bool

	// Getenv reads an environment variable ("" when unset).
	Getenv func(string) string
	// ReadPassword shows prompt and reads a password with masked input, for --askpass.
	ReadPassword func(prompt string) (string, error)
}

// newStdStreams returns the process's real streams.
func newStdStreams() *streams {
	outTTY := isTerminal(os.Stdout)
	return &streams{
		In:       os.Stdin,
		Out:      os.Stdout,
		Err:      os.Stderr,
		InTTY:    isTerminal(os.Stdin),
		OutTTY:   outTTY || os.Getenv("FAKETTY") != "",
		OutColor: outTTY,
		ErrTTY:   isTerminal(os.Stderr),
		Getenv:   os.Getenv,
		ReadPassword: func(prompt string) (string, error) {
			return readPassword(os.Stdin, os.Stderr, prompt)
		},
	}
}
