package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/format"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/repl"
	"github.com/rcli-dev/rcli/internal/resp"
)

// exitInterrupted is the exit code after Ctrl-C or SIGTERM, as a shell reports a
// process killed by SIGINT.
const exitInterrupted = 130

// run executes rcli with args (the command line without the program name) on the
// given streams and returns the process's exit code. It is main without os.Exit, so
// tests call it in-process.
func run(ctx context.Context, args []string, s *streams) int {
	o, warnings, err := parseArgs(args)
	for _, w := range warnings {
		fmt.Fprintln(s.Err, w)
	}
	if err != nil {
		fmt.Fprintln(s.Err, err)
		return 1
	}
	switch o.action {
	case actionUsage:
		writeUsage(s.Out)
		return 0
	case actionVersion:
		fmt.Fprintf(s.Out, "rcli %s (redis-cli 7.0 compatible)\n", version())
		return 0
	}
	if o.unsupported != "" {
		fmt.Fprintf(s.Err, "rcli: %s is not supported yet\n", o.unsupported)
		return 1
	}
	if err := resolvePassword(o, s); err != nil {
		fmt.Fprintf(s.Err, "rcli: %v\n", err)
		return 1
	}

	a := newApp(o, s)
	defer a.close()
	if code, ok := a.runTool(ctx); ok {
		return code
	}
	if !o.hasEval && len(o.command) > 0 {
		if sub, ok := findSubcommand(subcommands(), o.command[0]); ok {
			return a.exitCode(ctx, runSubcommand(ctx, a, sub, o.command))
		}
	}
	switch {
	case o.pipe.enabled:
		return a.exitCode(ctx, a.pipeMode(ctx))
	case o.scan:
		return a.exitCode(ctx, a.scanMode(ctx))
	case o.hasEval:
		return a.exitCode(ctx, a.evalMode(ctx))
	case len(o.command) > 0:
		return a.exitCode(ctx, a.oneShot(ctx))
	case s.InTTY:
		return a.exitCode(ctx, a.shell(ctx))
	default:
		return a.exitCode(ctx, a.lines(ctx))
	}
}

// version returns rcli's version from the build information: the module version when
// built from a tagged module, else "devel".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// resolvePassword settles the password: --askpass prompts for it and overrides
// everything else; otherwise -a, --pass or -u win, then RCLI_AUTH, then REDISCLI_AUTH.
func resolvePassword(o *options, s *streams) error {
	if o.askPass {
		pw, err := s.ReadPassword("Please input password: ")
		if err != nil {
			return err
		}
		o.password, o.hasPassword = pw, true
		return nil
	}
	if o.hasPassword {
		return nil
	}
	for _, name := range []string{"RCLI_AUTH", "REDISCLI_AUTH"} {
		if v := s.Getenv(name); v != "" {
			o.password, o.hasPassword = v, true
			return nil
		}
	}
	return nil
}

// app is one run of rcli: the parsed options, the streams, the output settings decided
// from both, and the connection once it is made.
type app struct {
	opts       *options
	io         *streams
	out        format.Options
	showPushes bool
	sess       *session // nil until the first command needs it
	// redirects prints redis-cli's "-> Redirected to slot" line in cluster mode, as
	// redis-cli does for stdin lines and in its shell (not for one-shot commands).
	redirects bool
}

// newApp decides the output format, colour and push display from the options and
// the streams.
func newApp(o *options, s *streams) *app {
	a := &app{opts: o, io: s}
	mode := format.Raw
	switch o.output {
	case modeAuto:
		if s.OutTTY {
			mode = format.Standard
		}
	case modeStandard:
		mode = format.Standard
	case modeCSV:
		mode = format.CSV
	case modeJSON:
		mode = format.JSON
	case modeQuotedJSON:
		mode = format.QuotedJSON
	}
	a.out = format.Options{
		Mode:     mode,
		FieldSep: o.fieldSep,
		ReplySep: o.replySep,
		Color:    mode == format.Standard && s.OutColor && !o.noColor && s.Getenv("NO_COLOR") == "",
		Verbose:  o.verbose,
	}
	switch o.showPushes {
	case yes:
		a.showPushes = true
	case unset:
		a.showPushes = s.OutTTY
	}
	return a
}

// poolOptions turns the command line into connection options.
func (a *app) poolOptions() (pool.Options, error) {
	o := a.opts
	network, addr := o.addr()
	po := pool.Options{
		Network:     network,
		Addr:        addr,
		DB:          o.db,
		ClientName:  o.clientName,
		ReadTimeout: o.readTimeout,
		OnPush:      a.printPush,
		MaxActive:   o.maxConns,
		MinIdle:     o.minIdle,
		IdleTimeout: o.idleTimeout,
		WaitTimeout: o.poolTimeout,
	}
	if o.hasPassword {
		// As in redis-cli, --user without a password sends no AUTH at all.
		po.Username, po.Password = o.user, o.password
	}
	switch {
	case o.resp2:
		po.Protocol = 2
	case o.resp3:
		po.Protocol = 3
	case o.urlProtocol != 0:
		po.Protocol = o.urlProtocol
	case o.jsonRESP3:
		po.Protocol = 3
	default:
		po.Protocol = 2
	}
	cfg, warnings, err := o.tls.config()
	if err != nil {
		return po, &usageError{msg: "Could not negotiate a TLS connection: " + err.Error()}
	}
	for _, w := range warnings {
		fmt.Fprintln(a.io.Err, w)
	}
	po.TLS = cfg
	return po, nil
}

// clusterOptions turns the command line into the client's options.
func (a *app) clusterOptions() (cluster.Options, error) {
	po, err := a.poolOptions()
	if err != nil {
		return cluster.Options{}, err
	}
	readFrom, err := cluster.ParseReadFrom(a.opts.readFrom)
	if err != nil {
		return cluster.Options{}, &usageError{msg: err.Error()}
	}
	dir := cacheDir(a.io.Getenv)
	return cluster.Options{
		Seeds:        []string{po.Addr},
		Pool:         po,
		Cluster:      a.opts.cluster,
		ReadFrom:     readFrom,
		NATMap:       a.opts.natMap,
		SlotCacheDir: dir,
		Commands:     cluster.NewCommandTable(dir),
	}, nil
}

// connect makes the client and checks that the server answers, unless that is done.
func (a *app) connect(ctx context.Context) error {
	if a.sess != nil {
		return nil
	}
	co, err := a.clusterOptions()
	if err != nil {
		return err
	}
	sess, err := a.newSession(co)
	if err != nil {
		return err
	}
	err = sess.connect(ctx)
	if se, ok := repl.RESP2Fallback(err, co.Pool); ok && !a.opts.hasPassword {
		// As redis-cli: go on in RESP2, where the command itself gets the NOAUTH
		// error reply.
		fmt.Fprintf(a.io.Err, "HELLO 3 failed: %s\n", se.Error())
		sess.Close()
		co.Pool.Protocol = 2
		if sess, err = a.newSession(co); err != nil {
			return err
		}
		err = sess.connect(ctx)
	}
	if err != nil {
		sess.Close()
		return err
	}
	a.sess = sess
	return nil
}

func (a *app) newSession(co cluster.Options) (*session, error) {
	sess, err := newSession(co)
	if err != nil {
		return nil, err
	}
	if a.redirects {
		sess.onMoved = func(slot int, addr string) {
			fmt.Fprintf(a.io.Out, "-> Redirected to slot [%d] located at %s\n", slot, addr)
		}
	}
	return sess, nil
}

// close closes the client, if any.
func (a *app) close() {
	if a.sess != nil {
		_ = a.sess.Close()
		a.sess = nil
	}
}

// do runs one command, connecting first if needed.
func (a *app) do(ctx context.Context, cmd resp.Command) (resp.Value, error) {
	if err := a.connect(ctx); err != nil {
		return resp.Value{}, err
	}
	return a.sess.Do(ctx, cmd)
}

// printPush prints an out-of-band push when --show-pushes is on (the default on a
// terminal); it is the connection's OnPush hook.
func (a *app) printPush(v resp.Value) {
	if a.showPushes {
		_ = format.WritePush(a.io.Out, v, a.out)
	}
}

// exitError ends the run with Code; whatever needed saying has been said.
type exitError struct{ Code int }

// Error describes the exit status.
func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// exitCode prints err the way redis-cli would and returns the exit code for it:
// 0 for nil, 130 after Ctrl-C, 1 otherwise.
func (a *app) exitCode(ctx context.Context, err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.Code
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	fmt.Fprintln(a.io.Err, a.errorText(err))
	return 1
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// readAllStdin reads stdin to its end, for -x and -X.
func (a *app) readAllStdin() ([]byte, error) {
	b, err := io.ReadAll(a.io.In)
	if err != nil {
		return nil, fmt.Errorf("rcli: read stdin: %w", err)
	}
	return b, nil
}
