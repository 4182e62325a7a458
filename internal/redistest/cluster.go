package redistest

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/rcli-dev/rcli/internal/localredis"
)

// StartCluster starts a cluster of masters masters, each with replicas replicas, and
// stops it when the test ends, logging every node's log if the test failed. It returns
// once every node reports cluster_state:ok, all agree on the slots and every replica's
// link is up. args add to or override each node's configuration. Nodes added later
// with Cluster.AddNode are stopped too. Cluster tests are slow, so StartCluster skips
// the test under -short.
func StartCluster(t testing.TB, masters, replicas int, args ...string) *localredis.Cluster {
	t.Helper()
	return startCluster(t, localredis.ClusterOptions{
		Options:           localredis.Options{Args: args},
		Masters:           masters,
		ReplicasPerMaster: replicas,
	})
}

// TLSCluster is a cluster whose nodes accept only TLS clients (unless started by
// StartTLSClusterWithPlain) and talk TLS to each other, with certificates made for the
// test. Every node, including those added by AddNode, uses PKI's server certificate and
// requires clients to present a certificate signed by its CA (PKI.ClientTLS does).
type TLSCluster struct {
	*localredis.Cluster
	PKI
}

// StartTLSCluster is StartCluster over TLS: every node runs with --tls-port P --port 0
// --tls-cluster yes --tls-replication yes and the certificates of a new PKI, and
// requires client certificates (pass "--tls-auth-clients", "optional" in args to relax
// that). The cluster announces the TLS ports, in CLUSTER NODES, CLUSTER SLOTS and
// redirects. Like StartCluster it skips the test under -short.
func StartTLSCluster(t testing.TB, masters, replicas int, args ...string) *TLSCluster {
	t.Helper()
	return startTLSCluster(t, masters, replicas, false, args)
}

// StartTLSClusterWithPlain is StartTLSCluster with nodes that also listen for plain TCP,
// each on a port of its own (Server.PlainPort, Server.PlainAddr), so a test can prove a
// client never connects to it (CLIENT LIST shows each client's laddr). Server.Addr is
// still the TLS address, which the cluster announces to TLS clients; Redis answers
// CLUSTER NODES, CLUSTER SLOTS and redirects asked over plain TCP with the plain ports.
func StartTLSClusterWithPlain(t testing.TB, masters, replicas int, args ...string) *TLSCluster {
	t.Helper()
	return startTLSCluster(t, masters, replicas, true, args)
}

// startTLSCluster starts a TLS cluster, with plain ports too when plain is set.
func startTLSCluster(t testing.TB, masters, replicas int, plain bool, args []string) *TLSCluster {
	t.Helper()
	skipShort(t)
	RequireRedis(t)
	pki, err := writeTestPKI(shortTempDir(t))
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	c := &TLSCluster{PKI: *pki}
	c.Cluster = startCluster(t, localredis.ClusterOptions{
		Options: localredis.Options{
			Args:      append(pki.serverArgs(), args...),
			TLSPort:   true,
			PlainPort: plain,
			TLSConfig: pki.ClientTLS(),
		},
		Masters:           masters,
		ReplicasPerMaster: replicas,
	})
	return c
}

// skipShort skips a cluster test under -short.
func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("redistest: cluster test skipped in -short mode")
	}
}

// startCluster starts a cluster in a new temporary directory and registers its cleanup.
func startCluster(t testing.TB, opts localredis.ClusterOptions) *localredis.Cluster {
	t.Helper()
	skipShort(t)
	RequireRedis(t)
	opts.Dir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	c, err := localredis.StartCluster(ctx, opts)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range c.Nodes {
				t.Logf("redistest: log of cluster node %s (pid %d):\n%s", s.Addr, s.PID, s.Log())
			}
		}
		if err := c.Stop(); err != nil {
			t.Errorf("redistest: %v", err)
		}
	})
	return c
}

// StartClusterMain starts a cluster for TestMain, where there is no testing.TB: its
// nodes live in a new temporary directory, and the returned function stops them and
// removes it. When redis-server is missing the error wraps localredis.ErrNoBinary;
// check RedisAvailable first.
func StartClusterMain(masters, replicas int) (*localredis.Cluster, func(), error) {
	dir, err := os.MkdirTemp("", "redistest-cluster-")
	if err != nil {
		return nil, nil, fmt.Errorf("redistest: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	c, err := localredis.StartCluster(ctx, localredis.ClusterOptions{
		Options:           localredis.Options{Dir: dir},
		Masters:           masters,
		ReplicasPerMaster: replicas,
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("redistest: %w", err)
	}
	stop := func() {
		_ = c.Stop()
		_ = os.RemoveAll(dir)
	}
	return c, stop, nil
}
