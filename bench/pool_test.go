package bench

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/resp"
)

const poolSize = 10

// BenchmarkPoolGetSet: SET then GET of a random key through a pool of 10 connections,
// from 4 goroutines per CPU, so that checkouts also wait for each other.
func BenchmarkPoolGetSet(b *testing.B) {
	b.Run("rcli", func(b *testing.B) {
		s := start(b)
		p := pool.New(pool.Options{Addr: s.single.Addr, MaxActive: poolSize})
		b.Cleanup(func() { p.Close() })
		ctx := context.Background()
		b.ReportAllocs()
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			set := resp.Command{Args: [][]byte{[]byte("SET"), nil, []byte("value")}}
			get := resp.Command{Args: [][]byte{[]byte("GET"), nil}}
			for pb.Next() {
				k := []byte(keyN(rand.IntN(keySpace)))
				set.Args[1], get.Args[1] = k, k
				// One checkout per command, as go-redis does.
				for _, cmd := range []resp.Command{set, get} {
					c, err := p.Get(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if v, err := c.Do(ctx, cmd); err != nil || v.Kind == resp.Error {
						b.Fatal(err, v)
					}
					p.Put(c)
				}
			}
		})
	})
	b.Run("goredis", func(b *testing.B) {
		s := start(b)
		cl := redis.NewClient(&redis.Options{Addr: s.single.Addr, PoolSize: poolSize})
		b.Cleanup(func() { cl.Close() })
		ctx := context.Background()
		b.ReportAllocs()
		b.SetParallelism(4)
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
