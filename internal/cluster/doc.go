// Package cluster is rcli's client facade: the one client that the shell, one-shot
// commands and the bulk loader all use.
//
// It owns the slot map (a 16384-entry table), CRC16 and hash-tag hashing, routing by
// the server's own command key specs (COMMAND INFO, fetched lazily and cached), MOVED,
// ASK, TRYAGAIN and CLUSTERDOWN handling, topology loading from CLUSTER NODES (CLUSTER
// SLOTS as a fallback) and its automatic refresh, reads from replicas, commands fanned
// out to every master, multi-key commands split per node, cluster-wide SCAN, and
// per-node batch execution on one connection. A standalone server is a one-node
// topology that owns every slot: there is one code path.
//
// It knows nothing of terminals or output formats, and leaves connections to
// internal/pool.
package cluster
