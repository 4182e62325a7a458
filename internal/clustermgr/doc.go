// Package clustermgr is rcli's Redis Cluster manager: the subcommands of
// `rcli --cluster` (create, check, info, fix, reshard, rebalance, add-node, del-node,
// call, set-timeout, help), with redis-cli's arguments, output lines, prompts and exit
// codes.
//
// It owns the manager's model of a cluster (Node: one node as the manager loads it,
// from the seed's CLUSTER NODES and each node's own view, in the seed's order), the
// pure planning functions that decide what to do (slot allocation and anti-affinity
// replica placement for create, the reshard table, the rebalance plan, the
// configuration signature that says whether nodes agree, the classification of an
// open slot for fix), and the I/O that carries the plans out: slots move with
// CLUSTER SETSLOT and their keys with MIGRATE ... KEYS, several MIGRATE batches
// pipelined per round trip, with progress on a terminal.
//
// It talks to nodes only through a Doer (the cluster client's per-node batch
// execution), so it never dials by itself and its plans are tested without servers.
// It knows nothing of the command line: cmd/rcli parses redis-cli's flags into Options
// and hands over the streams.
package clustermgr
