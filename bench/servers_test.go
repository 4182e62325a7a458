package bench

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rcli-dev/rcli/internal/localredis"
)

// servers are started once per benchmark run and stopped by TestMain.
type servers struct {
	once    sync.Once
	err     error
	single  *localredis.Server
	cluster *localredis.Cluster
	dir     string
}

var fixture servers

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.single != nil {
		fixture.single.Stop()
	}
	if fixture.cluster != nil {
		fixture.cluster.Stop()
	}
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

func start(b *testing.B) *servers {
	b.Helper()
	fixture.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		fixture.dir, fixture.err = os.MkdirTemp("", "rcli-bench-")
		if fixture.err != nil {
			return
		}
		single := fixture.dir + "/single"
		os.MkdirAll(single, 0o755)
		if fixture.single, fixture.err = localredis.Start(ctx, localredis.Options{Dir: single}); fixture.err != nil {
			return
		}
		fixture.cluster, fixture.err = localredis.StartCluster(ctx, localredis.ClusterOptions{
			Options: localredis.Options{Dir: fixture.dir + "/cluster"}, Masters: 3,
		})
	})
	if fixture.err != nil {
		b.Skipf("bench: cannot start redis-server: %v", fixture.err)
	}
	return &fixture
}

func keyN(i int) string { return fmt.Sprintf("bench:key:%d", i) }
