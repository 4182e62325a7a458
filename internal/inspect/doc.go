// Package inspect renders rcli's own reports — connection pool statistics, the cluster
// topology, and how a key is routed — as aligned text for people and as JSON for
// scripts. The CLI's subcommands (pool-stats, topology, route) and the shell's
// meta-commands (:pool-stats, :topology, :route) print through it, so both faces show
// the same thing.
//
// It only formats: it gathers nothing and does no I/O beyond writing to the given
// writer.
package inspect
