package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/format"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/pubsub"
	"github.com/rcli-dev/rcli/internal/repl"
	"github.com/rcli-dev/rcli/internal/resp"
)

// errQuit ends stdin's lines early: a "quit" or "exit" line.
var errQuit = errors.New("quit")

// commandArgs turns the words of the command line into a command's arguments. With
// --quoted-input each word is unquoted with redis-cli's rules and must be exactly one
// argument.
func (a *app) commandArgs(words []string) ([][]byte, error) {
	args := make([][]byte, 0, len(words)+1)
	for _, w := range words {
		if !a.opts.quotedInput {
			args = append(args, []byte(w))
			continue
		}
		split, err := resp.SplitArgs(w)
		if err != nil || len(split) != 1 {
			return nil, &usageError{msg: "Invalid quoted string"}
		}
		args = append(args, split[0])
	}
	return args, nil
}

// oneShot runs the command on the command line, -r times, with -x or -X applied. It
// connects when the command needs the server (a bare HELP does not).
func (a *app) oneShot(ctx context.Context) error {
	args, err := a.commandArgs(a.opts.command)
	if err != nil {
		return err
	}
	switch {
	case a.opts.stdinLast:
		data, err := a.readAllStdin()
		if err != nil {
			return err
		}
		args = append(args, data)
	case a.opts.hasStdinTag:
		i := 0
		for i < len(args) && string(args[i]) != a.opts.stdinTag {
			i++
		}
		if i == len(args) {
			return &usageError{msg: "Using -X option but stdin tag not match."}
		}
		data, err := a.readAllStdin()
		if err != nil {
			return err
		}
		args[i] = data
	}
	return a.issue(ctx, args, a.opts.repeat)
}

// describeFileError returns the system's text for a file error, as strerror gives it.
func describeFileError(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

// issue runs one command repeat times (forever when negative), -i apart, printing
// each reply, as redis-cli's issueCommandRepeat does. HELP is answered locally, and
// SUBSCRIBE and MONITOR stream until interrupted. With -e an error reply goes to
// stderr and ends the run with exit 1.
func (a *app) issue(ctx context.Context, args [][]byte, repeat int64) error {
	cmd := resp.Command{Args: args}
	switch {
	case cmd.Is("help") || cmd.Is("?"):
		return a.help(ctx, args[1:])
	case cmd.Is("sync") || cmd.Is("psync"):
		return &usageError{msg: "rcli: " + cmd.Name() + " (replica output mode) is not supported yet"}
	case cmd.Is("subscribe") || cmd.Is("psubscribe") || cmd.Is("ssubscribe") || cmd.Is("monitor"):
		return a.stream(ctx, cmd)
	}
	for n := int64(0); repeat < 0 || n < repeat; n++ {
		if n > 0 {
			if err := sleep(ctx, a.opts.interval); err != nil {
				return err
			}
		}
		v, err := a.do(ctx, cmd)
		var partial *cluster.PartialError
		if errors.As(err, &partial) {
			// A command split across nodes of which some failed: print what was done,
			// then say which keys were not, and fail the run.
			if perr := a.printReply(args, v); perr != nil {
				return perr
			}
			fmt.Fprintf(a.io.Err, "Error: %s\n", strings.TrimPrefix(partial.Error(), "cluster: "))
			return &exitError{Code: 1}
		}
		if err != nil {
			if cmd.Is("shutdown") && connectionGone(err) {
				a.close() // the server went away as asked; a later line reconnects
				return nil
			}
			return err
		}
		if a.opts.errCode && v.Kind == resp.Error {
			fmt.Fprintf(a.io.Err, "%s\n", v.Str)
			return &exitError{Code: 1}
		}
		if err := a.printReply(args, v); err != nil {
			return err
		}
	}
	return nil
}

// printReply prints one reply in the output format, raw for the commands redis-cli
// always prints raw.
func (a *app) printReply(args [][]byte, v resp.Value) error {
	if err := format.Write(a.io.Out, v, a.out.ForCommand(args)); err != nil {
		return fmt.Errorf("rcli: write stdout: %w", err)
	}
	return nil
}

// stream runs SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE or MONITOR: it prints every value the
// server sends, pushes included, until the connection ends, an error reply arrives or
// the user presses Ctrl-C. Only the first reply is bounded by the read timeout. The
// subscribe family goes through internal/pubsub (streamSubscription), which reaches
// every shard and restores subscriptions after failures.
func (a *app) stream(ctx context.Context, cmd resp.Command) error {
	if _, ok := pubsub.KindOf(cmd); ok {
		return a.subscribe(ctx, cmd) // subscribe.go: every shard, restored after failures
	}
	if err := a.connect(ctx); err != nil {
		return err
	}
	st, err := a.sess.stream(ctx)
	if err != nil {
		return err
	}
	return a.streamOn(ctx, st, cmd)
}

// streamOn is the one streaming loop, shared by stdin's lines and the interactive
// shell: it sends cmd on st and prints every value that arrives until the connection
// ends, an error reply arrives or ctx is cancelled (Ctrl-C). A subscription command
// goes to streamSubscription instead, seeded with st's node.
func (a *app) streamOn(ctx context.Context, st *pool.Conn, cmd resp.Command) error {
	if _, ok := pubsub.KindOf(cmd); ok {
		return a.subscribeAt(ctx, st.Addr(), cmd) // subscribe.go
	}
	st.Write(cmd)
	if err := st.Flush(ctx); err != nil {
		return err
	}
	for {
		v, err := st.ReadValue(ctx)
		if err != nil {
			return err
		}
		if err := a.printReply(cmd.Args, v); err != nil {
			return err
		}
		if v.Kind == resp.Error {
			return nil
		}
	}
}

// connectionGone reports an error that means the server closed the connection.
func connectionGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// lines runs stdin's lines as commands, one by one, as redis-cli does when stdin is
// not a terminal: arguments are split with redis-cli's quoting rules, "N cmd" repeats
// a command N times, "quit" and "exit" stop, and HELP is answered locally. Unlike
// redis-cli, rcli stops with exit 1 when it cannot connect or loses the connection,
// honours -e (the first error reply goes to stderr and ends the run with exit 1), and
// writes its own complaints about a line to stderr.
func (a *app) lines(ctx context.Context) error {
	a.redirects = true
	if err := a.connect(ctx); err != nil {
		return err
	}
	r := bufio.NewReaderSize(a.io.In, 64<<10)
	for {
		line, readErr := r.ReadString('\n')
		if line != "" {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := a.line(ctx, line); err != nil {
				if errors.Is(err, errQuit) {
					return nil
				}
				return err
			}
		}
		switch {
		case readErr == io.EOF:
			return nil
		case readErr != nil:
			return fmt.Errorf("rcli: read stdin: %w", readErr)
		}
	}
}

// line runs one line of stdin: the line syntax and the meta commands are the
// interactive shell's (internal/repl).
func (a *app) line(ctx context.Context, line string) error {
	l, err := repl.ParseLine(line)
	if err != nil {
		fmt.Fprintln(a.io.Err, err)
		return nil
	}
	args := l.Args
	if len(args) == 0 {
		return nil
	}
	switch repl.Classify(args) {
	case repl.MetaQuit:
		return errQuit
	case repl.MetaColon:
		// No preference matters outside the shell; unknown ones are reported.
		if _, err := repl.ParsePreference(args); err != nil {
			fmt.Fprintln(a.io.Err, err)
		}
		return nil
	case repl.MetaRestart:
		fmt.Fprintln(a.io.Err, repl.RestartMessage)
		return nil
	case repl.MetaClear:
		return nil // there is no screen to clear
	case repl.MetaConnect:
		host, port, err := repl.ParseConnect(args)
		if err != nil {
			return &usageError{msg: err.Error()}
		}
		a.close()
		a.opts.host, a.opts.port, a.opts.socket = host, port, ""
		return a.connect(ctx)
	}
	start := time.Now()
	if err := a.issue(ctx, args, l.Repeat); err != nil {
		return err
	}
	if elapsed := time.Since(start); elapsed >= 500*time.Millisecond && a.out.Mode == format.Standard {
		fmt.Fprintf(a.io.Out, "(%.2fs)\n", elapsed.Seconds())
	}
	return nil
}

// errorText renders a failure the way redis-cli reports it on stderr.
func (a *app) errorText(err error) string {
	var ue *usageError
	var de *pool.DialError
	var pe *resp.ProtocolError
	var se *resp.ServerError
	_, addr := a.opts.addr()
	switch {
	case errors.As(err, &ue):
		return ue.msg
	case errors.As(err, &de):
		return de.Error()
	case errors.As(err, &pe):
		return fmt.Sprintf("Error: Protocol error from %s: %s (at byte %d of its replies)", addr, pe.Msg, pe.Offset)
	case errors.As(err, &se):
		// A failed handshake step: "AUTH failed: WRONGPASS ...", "SELECT 1 failed: ...".
		return strings.TrimPrefix(err.Error(), "pool: ")
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("Error: no reply from %s within %v (the read timeout; change it with --read-timeout)", addr, a.opts.readTimeout)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "Error: Server closed the connection"
	case errors.Is(err, syscall.ECONNRESET):
		return "Error: Connection reset by peer"
	case errors.Is(err, syscall.EPIPE):
		return "Error: Broken pipe"
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "pool: "); ok {
		return "Error: " + rest
	}
	return msg
}
