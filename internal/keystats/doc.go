// Package keystats walks a whole keyspace to find its biggest keys (--bigkeys: by
// length, --memkeys: by MEMORY USAGE) and its hottest keys (--hotkeys: by OBJECT FREQ),
// on one server or on every shard of a cluster, and prints one merged report in
// redis-cli's words, or as one JSON document.
//
// It owns the walk's bookkeeping and the report: the keys come page by page from the
// cluster client's SCAN walk (every master, or every replica under a replica read
// policy, each key once even across a failover), and the TYPE and size commands of each
// page go to the node that sent it in one pipelined batch. It knows nothing of the
// command line: cmd/rcli says which nodes hold the keyspace and where output goes.
package keystats
