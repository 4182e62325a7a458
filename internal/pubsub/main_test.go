package pubsub

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/localredis"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/redistest"
)

// shared is the cluster of this package's tests that only read and write; tests that
// kill, fail over or reshard start their own.
var shared redistest.SharedCluster

func TestMain(m *testing.M) {
	os.Exit(redistest.MainWithCluster(m, 3, 1, &shared))
}

// sharedCluster returns the package's shared cluster, or skips (or fails in CI) when
// redis-server is not installed.
func sharedCluster(t *testing.T) *localredis.Cluster {
	t.Helper()
	return shared.Get(t)
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// newClusterClient returns a client of the cluster with automatic refresh, as a
// long-running program would use it.
func newClusterClient(t *testing.T, seeds []string, proto int) *cluster.Client {
	t.Helper()
	cl, err := cluster.New(cluster.Options{
		Seeds:           seeds,
		Cluster:         true,
		Pool:            pool.Options{MaxActive: 32, ReadTimeout: 2 * time.Second, Protocol: proto},
		RefreshInterval: 30 * time.Second,
		RetryBudget:     20 * time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(func() { cl.Close() })
	return cl
}

// newServerClient returns a client of a standalone server.
func newServerClient(t *testing.T, addr string, proto int) *cluster.Client {
	t.Helper()
	cl, err := cluster.New(cluster.Options{
		Seeds: []string{addr},
		Pool:  pool.Options{MaxActive: 8, ReadTimeout: 2 * time.Second, Protocol: proto},
	})
	require.NoError(t, err)
	t.Cleanup(func() { cl.Close() })
	return cl
}

// recorder collects what a Subscriber delivers and reports.
type recorder struct {
	mu     sync.Mutex
	counts map[string]int // "type|channel|payload" → deliveries
	total  int
	events []Event
	cond   chan struct{} // signalled on every message or event
}

func newRecorder() *recorder {
	return &recorder{counts: map[string]int{}, cond: make(chan struct{}, 1)}
}

// run drains s.Messages until it is closed.
func (r *recorder) run(s *Subscriber) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for m := range s.Messages() {
			r.mu.Lock()
			r.counts[msgKey(m.Type, m.Channel, string(m.Payload))]++
			r.total++
			r.mu.Unlock()
			r.poke()
		}
	}()
	return &wg
}

func (r *recorder) onEvent(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) poke() {
	select {
	case r.cond <- struct{}{}:
	default:
	}
}

func (r *recorder) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[key]
}

func (r *recorder) snapshotEvents() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// waitFor polls cond (on every delivery or event, and every 50ms) until it holds or
// ctx ends.
func (r *recorder) waitFor(ctx context.Context, cond func() bool) bool {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return cond()
		case <-r.cond:
		case <-t.C:
		}
	}
	return true
}

func msgKey(typ, channel, payload string) string { return typ + "|" + channel + "|" + payload }

// namesPerSlot returns n names whose slots spread evenly over the whole range.
func namesPerSlot(prefix string, n int) []string {
	want := map[int]bool{}
	for i := 0; i < n; i++ {
		want[i*cluster.SlotCount/n] = true
	}
	var names []string
	for i := 0; len(names) < n; i++ {
		k := prefix + strconv.Itoa(i)
		if s := cluster.SlotString(k); want[s] {
			delete(want, s)
			names = append(names, k)
		}
	}
	return names
}
