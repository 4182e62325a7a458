package pipeline

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/localredis"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/redistest"
	"github.com/rcli-dev/rcli/internal/resp"
)

// shared is the cluster of this package's tests that only read and write; tests that
// kill, fail over or reshard start their own.
var shared redistest.SharedCluster

func TestMain(m *testing.M) {
	os.Exit(redistest.MainWithCluster(m, 3, 0, &shared))
}

// sharedCluster returns the package's shared cluster, or skips (or fails in CI) when
// redis-server is not installed.
func sharedCluster(t *testing.T) *localredis.Cluster {
	t.Helper()
	return shared.Get(t)
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// clusterClient returns a cluster client on c with a short read timeout.
func clusterClient(t *testing.T, c *localredis.Cluster, mod func(*cluster.Options)) *cluster.Client {
	t.Helper()
	o := cluster.Options{
		Seeds:           c.Addrs(),
		Cluster:         true,
		Pool:            pool.Options{MaxActive: 32, ReadTimeout: 3 * time.Second},
		RefreshInterval: time.Second,
	}
	if mod != nil {
		mod(&o)
	}
	cl, err := cluster.New(o)
	require.NoError(t, err)
	t.Cleanup(func() { cl.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, cl.Refresh(ctx))
	return cl
}

// standaloneClient returns a client of one server.
func standaloneClient(t *testing.T, s *localredis.Server) *cluster.Client {
	t.Helper()
	cl, err := cluster.New(cluster.Options{
		Seeds: []string{s.Addr},
		Pool:  pool.Options{MaxActive: 32, ReadTimeout: 3 * time.Second},
	})
	require.NoError(t, err)
	t.Cleanup(func() { cl.Close() })
	return cl
}

func cmd(args ...string) resp.Command { return resp.NewCommand(args...) }

// keysInSlots returns n keys with the prefix, spread over many slots.
func keysInSlots(prefix string, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = prefix + strconv.Itoa(i)
	}
	return keys
}

// otherMaster returns a master of c that is not m.
func otherMaster(c *localredis.Cluster, m *localredis.Server) *localredis.Server {
	for _, x := range c.Masters() {
		if x != m {
			return x
		}
	}
	return nil
}
