package pool

import (
	"context"
	"testing"

	"github.com/rcli-dev/rcli/internal/redistest"
	"github.com/rcli-dev/rcli/internal/resp"
)

// BenchmarkPool measures commands through a pool against a real server, in parallel.
func BenchmarkPool(b *testing.B) {
	s := redistest.StartServer(b)
	p := New(Options{Addr: s.Addr, MaxActive: 10})
	defer p.Close()
	ctx := context.Background()
	setup, err := p.Get(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := setup.Do(ctx, resp.NewCommand("SET", "bench:key", "value")); err != nil {
		b.Fatal(err)
	}
	p.Put(setup)

	run := func(b *testing.B, c resp.Command) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				conn, err := p.Get(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				v, err := conn.Do(ctx, c)
				p.Put(conn)
				if err != nil || v.Kind == resp.Error {
					b.Errorf("%v %v", v, err)
					return
				}
			}
		})
	}
	b.Run("PING", func(b *testing.B) { run(b, resp.NewCommand("PING")) })
	b.Run("GET", func(b *testing.B) { run(b, resp.NewCommand("GET", "bench:key")) })
	b.Run("PING-cancellable-ctx", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cmd := resp.NewCommand("PING")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				conn, err := p.Get(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				_, err = conn.Do(ctx, cmd)
				p.Put(conn)
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkCheckout measures Get and Put alone: the path every command pays.
func BenchmarkCheckout(b *testing.B) {
	s := startFake(b, miniRedis)
	p := New(Options{Addr: s.addr(), MaxActive: 64})
	defer p.Close()
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := p.Get(ctx)
			if err != nil {
				b.Fatal(err)
			}
			p.Put(c)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c, err := p.Get(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				p.Put(c)
			}
		})
	})
}
