package main

import (
	"context"
	"io"
	"os"
	"strings"
)

// runTool runs the operator tool the command line asks for, in redis-cli's order of
// precedence: the cluster manager, the latency views, the key analysis modes, --stat.
// ok is false when none was asked for.
func (a *app) runTool(ctx context.Context) (code int, ok bool) {
	t := &a.opts.tools
	switch {
	case t.clusterCmd != "":
		return a.clusterManager(ctx), true
	case t.latency:
		return a.exitCode(ctx, a.latencyMode(ctx)), true
	case t.bigkeys, t.memkeys, t.hotkeys:
		return a.exitCode(ctx, a.keyStatsMode(ctx)), true
	case t.stat:
		return a.exitCode(ctx, a.statMode(ctx)), true
	}
	return 0, false
}

// progressOut returns stderr when it is a terminal, for progress displays; nil
// otherwise, so that logs and pipes never receive one.
func (a *app) progressOut() io.Writer {
	if f, ok := a.io.Err.(*os.File); ok && isTerminal(f) {
		return f
	}
	return nil
}

// termColor reports whether the tools may colour their output: TERM names an xterm,
// as redis-cli's cluster manager requires, and neither --no-color nor NO_COLOR says
// otherwise.
func (a *app) termColor() bool {
	return strings.Contains(a.io.Getenv("TERM"), "xterm") && !a.opts.noColor && a.io.Getenv("NO_COLOR") == ""
}
