// Package pipeline runs many commands at once over the cluster client's per-node
// execution: queued pipelines, MULTI/EXEC transactions and WATCH, and the streaming
// bulk loader behind `rcli --pipe`.
//
// It owns queuing, in-flight windows, ordering and per-command results. It knows
// nothing of terminals or output formats (pipe mode writes redis-cli's summary lines
// and its own outcome reports to the writers it is given), and it leaves routing,
// topology and connections to internal/cluster.
//
// # Pipelines
//
// A Pipeline queues commands and runs them with one write and one read pass per node,
// nodes in parallel, returning one Result per command in the order they were queued.
// A server error reply is a result, never a failed batch. Only the commands whose reply
// proves they did not run are sent again: MOVED (to the new owner, at once), ASK (with
// ASKING first), TRYAGAIN and CLUSTERDOWN (after a bounded backoff). A command waiting
// to be retried holds back the later commands of its slot, so no key sees its commands
// reordered. When a connection breaks, the commands that were never written are sent
// again after a topology refresh; the ones that may have reached the server end with an
// *UnknownOutcomeError, unless Options.ResendReadOnly allows sending again the commands
// the server flags readonly and not blocking.
//
// # Transactions
//
// Multi runs MULTI, the commands and EXEC in one round trip on the node that owns their
// slot (their keys must share one; a *cluster.CrossSlotError is returned before anything
// is sent otherwise), with ASKING before MULTI when the slot is being migrated. A command
// refused at queue time makes the transaction an *ExecAbortError that names it; a nil
// EXEC is ErrTxAborted. Watch pins one connection, runs the caller's reads after WATCH,
// then MULTI/EXEC, and tries again a bounded number of times when a watched key changed.
//
// # Pipe mode
//
// RunPipe is `rcli --pipe`: it reads commands from a stream, RESP or inline text
// (detected for each command, CRLF or LF; see Input), and loads them through one or more
// connections per node, keeping every key's commands in input order. Every command read
// ends in exactly one outcome (ok, error reply, rejected before sending, or unknown when
// its connection was lost after it was written), and the four counts always add up to
// the commands read. See PipeOptions.
//
// Three stages run at once: a reader parses and classifies the input into batches, with
// memory bounded by the largest command; a dispatcher routes each command to the
// connection of its slot (a slot always uses the same connection, so its commands stay
// in order), holds back the later commands of a slot while an earlier one waits for a
// retry or while the slot moves to another connection, and runs barriers (keyless
// commands, SELECT, AUTH, cluster-wide commands) once everything before them has
// settled; and each connection has a goroutine that keeps up to four chunks written
// ahead of the replies it reads, so the server always has work queued.
package pipeline
