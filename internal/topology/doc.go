// Package topology is the model of a Redis Cluster's shape: nodes, roles, slot ranges,
// open (migrating and importing) slots and config epochs, parsed from CLUSTER NODES or
// CLUSTER SLOTS replies, built into shards and a per-slot owner table, merged across
// the views of several nodes, and compared.
//
// It is pure: it does no I/O and knows nothing of connections or routing, so both the
// cluster client and the local cluster launcher share it.
package topology
