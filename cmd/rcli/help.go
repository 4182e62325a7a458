package main

import (
	"context"

	"github.com/rcli-dev/rcli/internal/repl"
	"github.com/rcli-dev/rcli/internal/resp"
)

// help answers "help", "help <command> [<subcommand>]" and "help @<group>" locally, as
// redis-cli does, from the server's own COMMAND DOCS: one round trip for a command,
// the whole table for a group. It prints redis-cli's layout with "\n" line ends, and
// colour only where replies would be coloured. The rendering is the shell's
// (internal/repl), so both print the same.
func (a *app) help(ctx context.Context, words [][]byte) error {
	if len(words) == 0 {
		return repl.WriteGenericHelp(a.io.Out, version(), false)
	}
	v, err := a.do(ctx, repl.HelpQuery(words))
	if err != nil {
		return err
	}
	if v.Kind == resp.Error {
		return &usageError{msg: "rcli: help needs COMMAND DOCS (Redis 7.0 or later): " + string(v.Str)}
	}
	return repl.WriteHelp(a.io.Out, repl.ParseDocs(v), words, a.out.Color)
}
