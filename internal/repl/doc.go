// Package repl is rcli's interactive shell: the prompt loop that redis-cli users
// know, over the one cluster client.
//
// It owns the loop (Shell) behind a small LineReader interface, so that tests feed it
// lines; the real terminal is Terminal, on github.com/chzyer/readline. It also owns
// what the shell shares with rcli's non-interactive faces: splitting a typed line and
// its "N cmd" repeat count (ParseLine), recognising the meta commands (Classify:
// quit, exit, help, clear, connect, restart, and rcli's ":" commands), and help built
// from the server's COMMAND DOCS (ParseDocs, WriteHelp, WriteGenericHelp).
//
// # The shell
//
//   - The prompt is redis-cli's: "127.0.0.1:6379> ", "[db]" when the database is not
//     0, "(TX)" inside MULTI, "not connected> " when the server cannot be reached (the
//     next command tries again, and gets the session's AUTH and database back). In
//     cluster mode it names the node that served the last command, and a keyed
//     command served elsewhere prints "-> Redirected to slot [N] located at h:p".
//   - A standalone server is used through one connection held for the session, so
//     SELECT, AUTH, MULTI and WATCH keep their state. In a cluster, MULTI and WATCH
//     pin a connection until EXEC, DISCARD, UNWATCH or RESET; a transaction is bound
//     to one slot, and a command for another slot gets a local CROSSSLOT error
//     without being sent.
//   - Ctrl-C while a command runs: a blocking command (BLPOP k 0) is released with
//     CLIENT UNBLOCK from another connection, so its connection survives and an
//     element it popped is printed, not lost (when an ACL refuses CLIENT UNBLOCK, the
//     connection is closed instead, with a note); SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE
//     and MONITOR stop and the shell reconnects; anything else is cancelled. Ctrl-C
//     at an empty prompt and Ctrl-D leave the shell.
//   - Commands that take 0.5 s or more print their time, "(0.61s)", in the standard
//     output format.
//   - History lives in a file rcli writes itself (History): mode 0600, consecutive
//     duplicates dropped, and lines that carry secrets (AUTH, HELLO ... AUTH, ACL
//     SETUSER, CONFIG SET requirepass, ...; see Sensitive) never written.
//   - Hints show the rest of a command's syntax after the cursor, shrinking as
//     arguments are typed (Hint), and Tab completes commands, subcommands, help topics
//     and key names. Both use the server's COMMAND DOCS, loaded in the background and
//     cached on disk per server version, with Redis 7.0's docs built in as the
//     fallback.
//
// The package knows nothing of RESP bytes or sockets: connections come from
// internal/cluster, replies are printed by internal/format, and the reports of the
// ":pool-stats", ":topology" and ":route" commands by internal/inspect.
package repl
