package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/format"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/resp"
)

// LineReader reads the lines the user types. It is all the shell sees of the
// terminal, so tests drive the shell by feeding it lines.
type LineReader interface {
	// ReadLine shows prompt and returns the line typed, without its line end. It
	// returns io.EOF when input ends (Ctrl-D on an empty line), and ErrInterrupt with
	// what had been typed when the user presses Ctrl-C.
	ReadLine(prompt string) (string, error)
}

// ErrInterrupt is what a LineReader returns when the user presses Ctrl-C at the prompt.
var ErrInterrupt = errors.New("repl: interrupted")

// StreamFunc runs SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE or MONITOR on conn: it sends cmd
// and prints what the server sends until ctx is cancelled (Ctrl-C), the connection
// ends or an error reply arrives. The shell leaves it to its caller so that every
// face of rcli streams the same way.
type StreamFunc func(ctx context.Context, conn *pool.Conn, cmd resp.Command) error

// Config is what a Shell needs from the program around it.
type Config struct {
	// Out receives replies, Err the shell's own complaints and errors.
	Out, Err io.Writer
	// Client says how to reach the server; Client.Seeds[0] is the node the user named.
	// "connect host port" replaces the seed and keeps the rest.
	Client cluster.Options
	// Format says how replies are printed.
	Format format.Options
	// Color allows colour in the prompt, the shell's own errors and hints.
	Color bool
	// Hints turns hints on at start (":set hints" and ":set nohints" change it).
	Hints bool
	// Interval is the pause between the runs of an "N cmd" line (-i).
	Interval time.Duration
	// History records the lines typed; nil records nothing.
	History *History
	// CacheDir is where the server's COMMAND DOCS are cached per version ("": nowhere).
	CacheDir string
	// Version is rcli's version, for help.
	Version string
	// Interrupts delivers one value for each Ctrl-C pressed while a command runs.
	Interrupts <-chan struct{}
	// Stream runs the subscribe and monitor commands; nil refuses them.
	Stream StreamFunc
	// ErrorText renders an error the way the rest of rcli prints it; nil uses Error().
	ErrorText func(error) string
}

// Shell is rcli's interactive shell: the prompt loop over the cluster client, with
// redis-cli's prompt, meta commands and state (database, transaction, subscriptions),
// its history, hints and completion. Its Hint and Complete methods may be called by
// the line editor while Run waits for a line.
type Shell struct {
	cfg Config
	out io.Writer
	err io.Writer

	base context.Context // Run's context, for work done on the line editor's behalf

	// mu guards the fields the line editor's goroutine reads (for completion) while the
	// loop runs; the loop changes them only between lines.
	mu   sync.Mutex
	opts cluster.Options
	cl   *cluster.Client
	st   state

	hints    atomic.Bool
	docs     atomic.Pointer[Docs] // the server's own, once loaded
	fallback struct {
		once sync.Once
		docs *Docs
	}
	docsDone   chan struct{} // closed when the current docs load has ended
	docsCancel context.CancelFunc

	historyFailed bool // a history write failed and was reported
}

// state is what the shell knows of its session.
type state struct {
	connected bool // the last attempt to reach the server worked
	dialed    bool // a connection was made at least once since the last connect

	db, preMultiDB int
	inTx, watching bool
	auth           [][]byte // the arguments of the last AUTH that worked, for reconnection

	// held is the connection commands go through: for the whole session against a
	// standalone server; in a cluster only while a transaction or WATCH pins one.
	held     *pool.Conn
	heldAddr string
	heldID   int64 // its CLIENT ID, once asked (for CLIENT UNBLOCK)
	pinSlot  int   // cluster: the slot the pinned transaction is bound to, or -1
	queued   int   // cluster: commands queued in the pinned transaction

	current string // cluster: the node in the prompt, which served the last command
}

// New returns a shell. It does nothing until Run.
func New(cfg Config) *Shell {
	s := &Shell{cfg: cfg, out: cfg.Out, err: cfg.Err, opts: cfg.Client, base: context.Background()}
	s.hints.Store(cfg.Hints)
	return s
}

// Run connects and runs the loop until the user quits (quit, exit, Ctrl-D, Ctrl-C on
// an empty line) or ctx ends. A failed connection is reported and leaves the shell
// at "not connected> ", from where each command tries again.
func (s *Shell) Run(ctx context.Context, r LineReader) error {
	s.base = ctx
	defer s.closeClient()
	s.open(ctx, s.opts)
	for {
		line, err := r.ReadLine(s.prompt())
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.Is(err, ErrInterrupt):
			if strings.TrimSpace(line) == "" {
				return nil // Ctrl-C at an empty prompt leaves, as in redis-cli
			}
			continue // Ctrl-C with text typed drops the line
		case err != nil:
			return fmt.Errorf("repl: read line: %w", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.remember(line)
		if quit := s.runLine(ctx, line); quit {
			return nil
		}
	}
}

// remember adds a line to the history, reporting the first failure to write it.
func (s *Shell) remember(line string) {
	if s.cfg.History == nil {
		return
	}
	if err := s.cfg.History.Add(line); err != nil && !s.historyFailed {
		s.historyFailed = true
		s.complain(err.Error())
	}
}

// runLine runs one line and reports whether the shell should end.
func (s *Shell) runLine(ctx context.Context, text string) (quit bool) {
	l, err := ParseLine(text)
	if err != nil {
		s.complain(err.Error())
		return false
	}
	if len(l.Args) == 0 {
		return false
	}
	switch Classify(l.Args) {
	case MetaQuit:
		return true
	case MetaHelp:
		s.help(ctx, l.Args[1:])
	case MetaClear:
		_, _ = io.WriteString(s.out, "\x1b[H\x1b[2J")
	case MetaConnect:
		host, port, err := ParseConnect(l.Args)
		if err != nil {
			s.complain(err.Error())
			return false
		}
		s.reconnect(ctx, host, port)
	case MetaRestart:
		s.complain(RestartMessage)
	case MetaColon:
		s.colon(ctx, l.Args)
	default:
		start := time.Now()
		interrupted := s.issue(ctx, l.Args, l.Repeat)
		if elapsed := time.Since(start); !interrupted && elapsed >= 500*time.Millisecond && s.cfg.Format.Mode == format.Standard {
			fmt.Fprintf(s.out, "(%.2fs)\n", elapsed.Seconds())
		}
	}
	return false
}

// complain prints one of the shell's own messages on stderr.
func (s *Shell) complain(msg string) {
	fmt.Fprintln(s.err, msg)
}

// fail prints an error on stderr, in red on a terminal.
func (s *Shell) fail(err error) {
	text := err.Error()
	if s.cfg.ErrorText != nil {
		text = s.cfg.ErrorText(err)
	}
	if s.cfg.Color {
		text = "\x1b[31m" + text + "\x1b[0m"
	}
	fmt.Fprintln(s.err, text)
}

// issue runs a command repeat times, Interval apart, printing each reply. It reports
// whether Ctrl-C cut it short.
func (s *Shell) issue(ctx context.Context, args [][]byte, repeat int64) (interrupted bool) {
	cmd := resp.Command{Args: args}
	switch {
	case cmd.Is("subscribe") || cmd.Is("psubscribe") || cmd.Is("ssubscribe") || cmd.Is("monitor"):
		s.stream(ctx, cmd)
		return true
	case cmd.Is("sync") || cmd.Is("psync"):
		s.complain("rcli: " + cmd.Name() + " (replica output mode) is not supported yet")
		return false
	}
	for n := int64(0); n < repeat; n++ {
		if n > 0 && s.cfg.Interval > 0 && s.pause(ctx, s.cfg.Interval) {
			return true
		}
		s.drainInterrupts()
		v, err, stopped := s.exec(ctx, cmd)
		if stopped {
			_, _ = io.WriteString(s.out, "\n") // after the terminal's ^C
		}
		var partial *cluster.PartialError
		switch {
		case errors.As(err, &partial):
			// A command split across nodes of which some failed: what was done, then
			// which keys were not.
			s.print(args, v)
			s.complain("Error: " + strings.TrimPrefix(partial.Error(), "cluster: "))
		case err != nil && (stopped || ctx.Err() != nil):
			// Cancelled by the user: the ^C says it all.
		case err != nil:
			s.fail(err)
		default:
			s.print(args, v)
		}
		if stopped || err != nil {
			return stopped
		}
	}
	return false
}

// pause waits d, and reports whether Ctrl-C or ctx cut it short.
func (s *Shell) pause(ctx context.Context, d time.Duration) bool {
	s.drainInterrupts()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return false
	case <-s.cfg.Interrupts:
		return true
	case <-ctx.Done():
		return true
	}
}

// print prints a reply in the output format, raw for the commands redis-cli always
// prints raw.
func (s *Shell) print(args [][]byte, v resp.Value) {
	if err := format.Write(s.out, v, s.cfg.Format.ForCommand(args)); err != nil {
		s.complain(fmt.Sprintf("rcli: write stdout: %v", err))
	}
}

// prompt returns redis-cli's prompt for the current state: "host:port", "[db]" when
// the database is not 0, "(TX)" inside MULTI, then "> "; "redis /path> " for a unix
// socket; "not connected> " when the server could not be reached.
func (s *Shell) prompt() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	paint := func(code, text string) string {
		if !s.cfg.Color {
			return text
		}
		return "\x1b[" + code + "m" + text + "\x1b[0m"
	}
	if !s.st.connected {
		return paint("31", "not connected") + "> "
	}
	addr := s.promptAddr()
	if s.opts.Pool.Network == "unix" {
		addr = "redis " + addr
	}
	p := paint("36", addr)
	if s.st.db != 0 {
		p += paint("33", fmt.Sprintf("[%d]", s.st.db))
	}
	if s.st.inTx {
		p += paint("35", "(TX)")
	}
	return p + "> "
}

// promptAddr is the node the prompt names.
func (s *Shell) promptAddr() string {
	switch {
	case s.cl == nil:
		return s.opts.Seeds[0]
	case !s.cl.IsCluster():
		return s.cl.SeedAddr()
	case s.st.held != nil:
		return s.st.heldAddr
	}
	return s.st.current
}

// drainInterrupts forgets Ctrl-Cs pressed while nothing ran.
func (s *Shell) drainInterrupts() {
	for {
		select {
		case <-s.cfg.Interrupts:
		default:
			return
		}
	}
}
