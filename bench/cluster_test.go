package bench

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/resp"
)

const (
	clusterPoolSize = 16
	keySpace        = 10000
)

func rcliCluster(b *testing.B) *cluster.Client {
	s := start(b)
	cl, err := cluster.New(cluster.Options{
		Seeds: s.cluster.Addrs(), Cluster: true,
		Pool: pool.Options{MaxActive: clusterPoolSize},
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := cl.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cl.Close() })
	return cl
}

func goredisCluster(b *testing.B) *redis.ClusterClient {
	s := start(b)
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: s.cluster.Addrs(), PoolSize: clusterPoolSize})
	b.Cleanup(func() { cl.Close() })
	return cl
}

// BenchmarkClusterGetSet: one routed SET and one routed GET per op, many goroutines.
func BenchmarkClusterGetSet(b *testing.B) {
	b.Run("rcli", func(b *testing.B) {
		cl := rcliCluster(b)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := keyN(rand.IntN(keySpace))
				if v, err := cl.Do(ctx, resp.NewCommand("SET", k, "value")); err != nil || v.Kind == resp.Error {
					b.Fatal(err, v)
				}
				if _, err := cl.Do(ctx, resp.NewCommand("GET", k)); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("goredis", func(b *testing.B) {
		cl := goredisCluster(b)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := keyN(rand.IntN(keySpace))
				if err := cl.Set(ctx, k, "value", 0).Err(); err != nil {
					b.Fatal(err)
				}
				if err := cl.Get(ctx, k).Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkClusterMGET100: MGET of 100 keys spread over every slot.
func BenchmarkClusterMGET100(b *testing.B) {
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = "mget:" + strconv.Itoa(i)
	}
	b.Run("rcli", func(b *testing.B) {
		cl := rcliCluster(b)
		ctx := context.Background()
		for _, k := range keys {
			cl.Do(ctx, resp.NewCommand("SET", k, "v"))
		}
		args := append([]string{"MGET"}, keys...)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				v, err := cl.Do(ctx, resp.NewCommand(args...))
				if err != nil || len(v.Elems) != len(keys) {
					b.Fatal(err, v)
				}
			}
		})
	})
	// go-redis sends a cross-slot MGET as it is, and Redis 7.0 refuses it (CROSSSLOT),
	// so its users group the keys by slot and pipeline one MGET per slot; go-redis then
	// sends each node's share of the pipeline on one connection.
	b.Run("goredis", func(b *testing.B) {
		cl := goredisCluster(b)
		ctx := context.Background()
		bySlot := map[int][]string{}
		for _, k := range keys {
			s := cluster.SlotString(k)
			bySlot[s] = append(bySlot[s], k)
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				pipe := cl.Pipeline()
				cmds := make([]*redis.SliceCmd, 0, len(bySlot))
				for _, ks := range bySlot {
					cmds = append(cmds, pipe.MGet(ctx, ks...))
				}
				if _, err := pipe.Exec(ctx); err != nil {
					b.Fatal(err)
				}
				vals := make(map[string]any, len(keys))
				for _, c := range cmds {
					for i, v := range c.Val() {
						vals[c.Args()[i+1].(string)] = v
					}
				}
				if len(vals) != len(keys) {
					b.Fatal("missing keys")
				}
			}
		})
	})
}
