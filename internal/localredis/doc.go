// Package localredis launches and stops local redis-server processes: single servers
// (TCP, TLS, TLS plus a plain port, unix socket) and whole clusters with replicas,
// over plain TCP or TLS (cluster bus and replication included), each on free loopback
// ports in a directory of the caller's choosing. It is shared by rcli's local demo and
// by the test harness in internal/redistest.
//
// It owns finding the redis-server binary, picking free ports (retrying when a port is
// taken before the server binds it), waiting for readiness by polling the server itself
// (never by sleeping), signalling only the processes it started, by their PID, and
// building a cluster fixture with a tiny raw RESP client (CLUSTER ADDSLOTSRANGE, MEET,
// REPLICATE) before waiting until every node agrees the cluster is healthy, and the
// fixture's own changes to a running cluster: adding a node (Cluster.AddNode) and
// moving a slot with its keys (Cluster.MoveSlot).
//
// It does not own rcli's client: the raw client here has no pool, no redirects and no
// retries, and code under test must never depend on it. It knows nothing of testing.TB
// either; test helpers that register cleanups and skip when redis-server is missing live
// in internal/redistest. It imports the standard library and internal/resp only; it
// must not import internal/cluster, whose own (package cluster) tests import this
// package, which would be an import cycle. That is why it parses CLUSTER NODES itself.
//
// On Linux a started server is sent SIGKILL when the thread that started it exits, so an
// aborted test binary or demo does not leave servers behind.
package localredis
