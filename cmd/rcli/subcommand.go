package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// subcommand is one of rcli's own subcommands, such as pool-stats. Its cobra command
// is built only when it is asked for, so a plain Redis command never pays for cobra.
type subcommand struct {
	name  string // the word that selects it; never the name of a Redis command
	short string // one line for --help
	// build returns the cobra command. It gets the app for the connection options
	// parsed before the subcommand's name, the streams, and a connected client.
	build func(a *app) *cobra.Command
}

// subcommands returns rcli's subcommands. None is the name of a Redis command.
func subcommands() []subcommand {
	return []subcommand{
		{name: "pool-stats", short: "connection pool statistics per node, with an optional probe", build: newCmdPoolStats},
		{name: "topology", short: "show or refresh the cluster topology (show | refresh)", build: newCmdTopology},
		{name: "route", short: "explain how keys are routed: slot, hash tag, owner, replicas", build: newCmdRoute},
		{name: "demo", short: "start a throwaway local 3-master/3-replica cluster and open rcli on it", build: newCmdDemo},
	}
}

// findSubcommand returns the subcommand named exactly word.
func findSubcommand(subs []subcommand, word string) (subcommand, bool) {
	for _, s := range subs {
		if s.name == word {
			return s, true
		}
	}
	return subcommand{}, false
}

// runSubcommand builds a cobra root holding sub alone and runs it with args, whose
// first element is sub's name. cobra's automatic help and completion commands are
// turned off, so they can never shadow a Redis command (rcli help set is answered
// from COMMAND DOCS), and cobra prints nothing on its own: errors come back here.
func runSubcommand(ctx context.Context, a *app, sub subcommand, args []string) error {
	root := &cobra.Command{
		Use:           "rcli",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetHelpCommand(&cobra.Command{Use: "no-help", Hidden: true})
	root.SetIn(a.io.In)
	root.SetOut(a.io.Out)
	root.SetErr(a.io.Err)
	root.AddCommand(sub.build(a))
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		return fmt.Errorf("rcli %s: %w", sub.name, err)
	}
	return nil
}
