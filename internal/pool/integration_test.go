package pool

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/redistest"
	"github.com/rcli-dev/rcli/internal/resp"
)

// do runs one command on c and fails the test on an I/O error.
func do(t testing.TB, c *Conn, args ...string) resp.Value {
	t.Helper()
	v, err := c.Do(context.Background(), cmd(args...))
	require.NoError(t, err, "%v", args)
	return v
}

func dialT(t testing.TB, o Options) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// normalClients counts the server's normal client connections.
func normalClients(t testing.TB, admin *Conn) int {
	t.Helper()
	v := do(t, admin, "CLIENT", "LIST", "TYPE", "normal")
	return strings.Count(strings.TrimSpace(v.Text()), "\n") + 1
}

// closedByPeer waits until the kernel has delivered the server's FIN on every one of
// conns: on a loaded machine loopback packets can lag behind what the server says.
func closedByPeer(t *testing.T, conns []*Conn) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, c := range conns {
			if peek(c.sc) == nil {
				return false
			}
		}
		return true
	}, 5*time.Second, time.Millisecond)
}

func TestIntegrationConnect(t *testing.T) {
	s := redistest.StartUnixServer(t)

	t.Run("TCP", func(t *testing.T) {
		c := dialT(t, Options{Addr: s.Addr})
		assert.Equal(t, "OK", do(t, c, "SET", "tcp", "v").Text())
		assert.Equal(t, "v", do(t, c, "GET", "tcp").Text())
		assert.Equal(t, 2, c.Protocol())
		assert.Equal(t, s.Addr, c.Addr())
	})
	t.Run("unix socket", func(t *testing.T) {
		c := dialT(t, Options{Network: "unix", Addr: s.Socket})
		assert.Equal(t, "PONG", do(t, c, "PING").Text())
		assert.Contains(t, do(t, c, "CLIENT", "INFO").Text(), "addr=/")
	})
	t.Run("URL", func(t *testing.T) {
		o, err := ParseURL("redis://" + s.Addr + "/3?client_name=url-test")
		require.NoError(t, err)
		c := dialT(t, o)
		info := do(t, c, "CLIENT", "INFO").Text()
		assert.Contains(t, info, " db=3 ")
		assert.Contains(t, info, " name=url-test ")
	})
	t.Run("SELECT db", func(t *testing.T) {
		c2 := dialT(t, Options{Addr: s.Addr, DB: 2})
		c0 := dialT(t, Options{Addr: s.Addr})
		do(t, c2, "SET", "dbkey", "two")
		assert.True(t, do(t, c0, "GET", "dbkey").IsNull())
		assert.Equal(t, "two", do(t, c2, "GET", "dbkey").Text())
	})
	t.Run("SELECT out of range", func(t *testing.T) {
		_, err := Dial(context.Background(), Options{Addr: s.Addr, DB: 99})
		require.Error(t, err)
		assert.Equal(t, "pool: SELECT 99 failed: ERR DB index is out of range", err.Error())
	})
	t.Run("HELLO 3", func(t *testing.T) {
		c := dialT(t, Options{Addr: s.Addr, Protocol: 3, ClientName: "resp3", DB: 1, ReadOnly: false})
		assert.Equal(t, 3, c.Protocol())
		assert.Regexp(t, `^\d+\.\d+\.\d+$`, c.ServerVersion())
		v := do(t, c, "HELLO", "3")
		assert.Equal(t, resp.Map, v.Kind)
		assert.Equal(t, "3", helloField(v, "proto"))
		do(t, c, "HSET", "h", "f", "v")
		assert.Equal(t, resp.Map, do(t, c, "HGETALL", "h").Kind)
		assert.Contains(t, do(t, c, "CLIENT", "INFO").Text(), " name=resp3 ")
	})
	t.Run("server error reply", func(t *testing.T) {
		c := dialT(t, Options{Addr: s.Addr})
		do(t, c, "SET", "str", "x")
		v := do(t, c, "LPUSH", "str", "y")
		var se *resp.ServerError
		require.ErrorAs(t, v.Err(), &se)
		assert.Equal(t, "WRONGTYPE", se.Code)
		assert.NoError(t, c.Broken())
	})
}

func TestIntegrationTLS(t *testing.T) {
	s := redistest.StartTLSServer(t)

	t.Run("client certificate", func(t *testing.T) {
		c := dialT(t, Options{Addr: s.Addr, TLS: s.ClientTLS(), Protocol: 3})
		assert.Equal(t, "PONG", do(t, c, "PING").Text())
		_, isTLS := c.nc.(*tls.Conn)
		assert.True(t, isTLS)
	})
	t.Run("unknown CA refused", func(t *testing.T) {
		pem, err := os.ReadFile(s.OtherCAFile)
		require.NoError(t, err)
		roots := x509.NewCertPool()
		require.True(t, roots.AppendCertsFromPEM(pem))
		cfg := s.ClientTLS()
		cfg.RootCAs = roots
		_, err = Dial(context.Background(), Options{Addr: s.Addr, TLS: cfg})
		require.Error(t, err)
		var de *DialError
		require.ErrorAs(t, err, &de)
		var unknown x509.UnknownAuthorityError
		assert.ErrorAs(t, err, &unknown)
		assert.Contains(t, err.Error(), "Could not connect to Redis at "+s.Addr+": TLS handshake failed: ")
		assert.Contains(t, err.Error(), "certificate signed by unknown authority")
	})
	t.Run("no client certificate", func(t *testing.T) {
		cfg := s.ClientTLS()
		cfg.Certificates = nil
		c, err := Dial(context.Background(), Options{Addr: s.Addr, TLS: cfg, Password: "x"})
		if err == nil {
			defer c.Close()
			_, err = c.Do(context.Background(), cmd("PING"))
		}
		// The server refuses after the client's side of the handshake has finished (TLS
		// 1.3), so the refusal shows up on the first read: a reset or an alert.
		require.Error(t, err)
		var de *DialError
		assert.ErrorAs(t, err, &de, "the handshake's AUTH is the first read: %v", err)
		t.Logf("refused: %v", err)
	})
	t.Run("pool health check over TLS", func(t *testing.T) {
		p := New(Options{Addr: s.Addr, TLS: s.ClientTLS(), HealthCheckAfter: time.Millisecond})
		defer p.Close()
		c := get(t, p)
		p.Put(c)
		time.Sleep(5 * time.Millisecond)
		c2 := get(t, p)
		assert.Same(t, c, c2, "a live TLS connection passes its PING")
		assert.Equal(t, "PONG", do(t, c2, "PING").Text())
		p.Put(c2)
	})
}

func TestTLSNeverFallsBackToPlaintext(t *testing.T) {
	// A plaintext "server" that answers like Redis to whatever it gets.
	var accepted atomic.Int32
	var received sync.Map
	s := startFake(t, nil)
	go func() {
		for fc := range s.conns {
			accepted.Add(1)
			go func() {
				buf := make([]byte, 4096)
				n, _ := fc.nc.Read(buf)
				received.Store(string(buf[:n]), true)
				_, _ = fc.nc.Write([]byte("-ERR wrong protocol\r\n"))
			}()
		}
	}()
	_, err := Dial(context.Background(), Options{Addr: s.addr(), TLS: &tls.Config{MinVersion: tls.VersionTLS12}, Password: "pw"})
	require.Error(t, err)
	var de *DialError
	require.ErrorAs(t, err, &de)
	assert.Contains(t, err.Error(), "TLS handshake failed")
	assert.Equal(t, int32(1), accepted.Load(), "exactly one connection, no retry")
	received.Range(func(k, _ any) bool {
		assert.NotContains(t, k.(string), "AUTH", "nothing sent in plaintext")
		return true
	})
}

func TestIntegrationACL(t *testing.T) {
	s := redistest.StartACLServer(t)
	const wrongPass = "pool: AUTH failed: WRONGPASS invalid username-password pair or user is disabled."

	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			t.Run("alice", func(t *testing.T) {
				c := dialT(t, Options{Addr: s.Addr, Protocol: proto, Username: s.AdminUser, Password: s.AdminPassword, DB: 1})
				assert.Equal(t, "OK", do(t, c, "SET", "acl", "v").Text())
				assert.Equal(t, "alice", do(t, c, "ACL", "WHOAMI").Text())
			})
			t.Run("default user password", func(t *testing.T) {
				c := dialT(t, Options{Addr: s.Addr, Protocol: proto, Password: s.DefaultPassword})
				assert.Equal(t, "default", do(t, c, "ACL", "WHOAMI").Text())
			})
			t.Run("reader denied a write", func(t *testing.T) {
				c := dialT(t, Options{Addr: s.Addr, Protocol: proto, Username: s.ReadUser, Password: s.ReadPassword, ClientName: "ro"})
				v := do(t, c, "SET", "acl", "w")
				var se *resp.ServerError
				require.ErrorAs(t, v.Err(), &se)
				assert.Equal(t, "NOPERM", se.Code)
				assert.NoError(t, c.Broken(), "a refused command does not poison")
				do(t, c, "GET", "acl")
			})
			t.Run("wrong password", func(t *testing.T) {
				_, err := Dial(context.Background(), Options{Addr: s.Addr, Protocol: proto, Username: s.AdminUser, Password: "not-the-pw"})
				require.Error(t, err)
				assert.Equal(t, wrongPass, err.Error())
				assert.NotContains(t, err.Error(), "not-the-pw")
			})
			t.Run("no password", func(t *testing.T) {
				c, err := Dial(context.Background(), Options{Addr: s.Addr, Protocol: proto})
				if proto == 3 {
					require.Error(t, err)
					assert.Contains(t, err.Error(), "NOAUTH")
					return
				}
				require.NoError(t, err)
				defer c.Close()
				v := do(t, c, "GET", "x")
				assert.Contains(t, v.Text(), "NOAUTH")
			})
		})
	}
}

func TestIntegrationBlocking(t *testing.T) {
	s := redistest.StartServer(t)

	t.Run("BLPOP 1 outlives ReadTimeout", func(t *testing.T) {
		c := dialT(t, Options{Addr: s.Addr, ReadTimeout: 200 * time.Millisecond})
		start := time.Now()
		v := do(t, c, "BLPOP", "empty-list", "1")
		assert.True(t, v.IsNull())
		assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond)
		assert.NoError(t, c.Broken())
		assert.Equal(t, "PONG", do(t, c, "PING").Text())
	})
	t.Run("BLPOP gets a pushed value", func(t *testing.T) {
		c := dialT(t, Options{Addr: s.Addr, ReadTimeout: 100 * time.Millisecond})
		other := dialT(t, Options{Addr: s.Addr})
		time.AfterFunc(300*time.Millisecond, func() { _, _ = other.Do(context.Background(), cmd("RPUSH", "q1", "x")) })
		v := do(t, c, "BLPOP", "q1", "0")
		require.Equal(t, resp.Array, v.Kind)
		assert.Equal(t, "x", v.Elems[1].Text())
	})
	t.Run("ctx cancel interrupts BLPOP 0", func(t *testing.T) {
		c := dialT(t, Options{Addr: s.Addr, ReadTimeout: 100 * time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		_, err := c.Do(ctx, cmd("BLPOP", "never", "0"))
		require.Error(t, err)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), 2*time.Second)
		assert.NotNil(t, c.Broken())
	})
}

func TestIntegrationPoolStress(t *testing.T) {
	if testing.Short() {
		t.Skip("stress test skipped with -short")
	}
	s := redistest.StartServer(t)
	admin := dialT(t, Options{Addr: s.Addr})
	baseline := runtime.NumGoroutine()

	const (
		workers   = 1000
		maxActive = 10
		runFor    = 2 * time.Second
	)
	p := New(Options{Addr: s.Addr, MaxActive: maxActive, WaitTimeout: 20 * time.Second, ReadTimeout: 10 * time.Second})

	var ops, mismatches, failures atomic.Int64
	var maxTotal, maxClients atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
			if n := int64(p.Stats().Total); n > maxTotal.Load() {
				maxTotal.Store(n)
			}
			v, err := admin.Do(context.Background(), cmd("CLIENT", "LIST", "TYPE", "normal"))
			if err == nil {
				n := int64(strings.Count(strings.TrimSpace(v.Text()), "\n")) // minus admin itself
				if n > maxClients.Load() {
					maxClients.Store(n)
				}
			}
		}
	}()

	deadline := time.Now().Add(runFor)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			key, ctr := "k:"+strconv.Itoa(g), "c:"+strconv.Itoa(g)
			check := func(args []string, want func(resp.Value) bool) bool {
				c, err := p.Get(ctx)
				if err != nil {
					failures.Add(1)
					t.Errorf("Get: %v", err)
					return false
				}
				v, err := c.Do(ctx, cmd(args...))
				p.Put(c)
				if err != nil {
					failures.Add(1)
					t.Errorf("%v: %v", args, err)
					return false
				}
				ops.Add(1)
				if !want(v) {
					mismatches.Add(1)
					t.Errorf("%v: unexpected reply %v", args, v)
					return false
				}
				return true
			}
			for i := int64(1); time.Now().Before(deadline); i++ {
				val := strconv.Itoa(g) + "/" + strconv.FormatInt(i, 10)
				if !check([]string{"SET", key, val}, func(v resp.Value) bool { return v.Text() == "OK" }) ||
					!check([]string{"GET", key}, func(v resp.Value) bool { return v.Text() == val }) ||
					!check([]string{"INCR", ctr}, func(v resp.Value) bool { return v.Kind == resp.Integer && v.Int == i }) {
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stopSampling)
	<-sampled

	st := p.Stats()
	t.Logf("%d ops by %d goroutines in %v; stats %+v; max clients seen %d", ops.Load(), workers, runFor, st, maxClients.Load())
	assert.Zero(t, mismatches.Load(), "mismatches")
	assert.Zero(t, failures.Load(), "failures")
	assert.Zero(t, st.Timeouts, "pool timeouts")
	assert.Positive(t, ops.Load())
	assert.LessOrEqual(t, maxTotal.Load(), int64(maxActive), "Stats.Total sampled")
	assert.LessOrEqual(t, maxClients.Load(), int64(maxActive), "CLIENT LIST sampled")
	assert.LessOrEqual(t, st.Total, maxActive)
	assert.Equal(t, st.Total, st.Idle, "all idle at the end")
	assert.Zero(t, st.InUse)
	assert.LessOrEqual(t, normalClients(t, admin)-1, maxActive)

	require.NoError(t, p.Close())
	assert.Eventually(t, func() bool { return runtime.NumGoroutine() <= baseline+2 }, 5*time.Second, 10*time.Millisecond,
		"goroutines after Close: %d, baseline %d", runtime.NumGoroutine(), baseline)
	assert.Eventually(t, func() bool { return normalClients(t, admin) == 1 }, 5*time.Second, 10*time.Millisecond,
		"the server still sees pool connections after Close")
}

func TestIntegrationFaults(t *testing.T) {
	t.Run("server restarted", func(t *testing.T) {
		s := redistest.StartServer(t)
		p := New(Options{Addr: s.Addr, MaxActive: 5, HealthCheckAfter: time.Millisecond})
		defer p.Close()
		p.probeMin = 20 * time.Millisecond
		var held []*Conn
		for range 5 {
			held = append(held, get(t, p))
		}
		for _, c := range held {
			p.Put(c)
		}
		require.NoError(t, s.Restart(context.Background()))
		closedByPeer(t, held)
		time.Sleep(2 * time.Millisecond) // idle past HealthCheckAfter
		c := get(t, p)
		assert.Equal(t, "PONG", do(t, c, "PING").Text(), "the dead idle connections were replaced before use")
		p.Put(c)
		assert.Equal(t, uint64(5), p.Stats().ClosedStale)
		assert.Equal(t, 1, p.Stats().Total)
	})
	t.Run("server down then back", func(t *testing.T) {
		s := redistest.StartServer(t)
		p := New(Options{Addr: s.Addr, HealthCheckAfter: time.Millisecond})
		defer p.Close()
		p.probeMin, p.probeMax = 20*time.Millisecond, 50*time.Millisecond
		p.Put(get(t, p))
		require.NoError(t, s.Kill())
		time.Sleep(5 * time.Millisecond)
		_, err := p.Get(context.Background())
		var de *DialError
		require.ErrorAs(t, err, &de)
		assert.Equal(t, "Could not connect to Redis at "+s.Addr+": Connection refused", err.Error())
		start := time.Now()
		_, err = p.Get(context.Background())
		require.ErrorAs(t, err, &de)
		assert.Less(t, time.Since(start), 100*time.Millisecond, "fails fast while down")

		require.NoError(t, s.Restart(context.Background()))
		require.Eventually(t, func() bool {
			c, err := p.Get(context.Background())
			if err != nil {
				return false
			}
			defer p.Put(c)
			v, err := c.Do(context.Background(), cmd("PING"))
			return err == nil && v.Text() == "PONG"
		}, 5*time.Second, 20*time.Millisecond)
	})
	t.Run("CLIENT KILL TYPE normal", func(t *testing.T) {
		s := redistest.StartServer(t)
		p := New(Options{Addr: s.Addr, MaxActive: 4, HealthCheckAfter: time.Millisecond})
		defer p.Close()
		var held []*Conn
		for range 4 {
			held = append(held, get(t, p))
		}
		for _, c := range held {
			p.Put(c)
		}
		admin := dialT(t, Options{Addr: s.Addr})
		killed := do(t, admin, "CLIENT", "KILL", "TYPE", "normal")
		assert.Equal(t, int64(4), killed.Int)
		require.Eventually(t, func() bool { return normalClients(t, admin) == 1 }, 5*time.Second, 5*time.Millisecond)
		closedByPeer(t, held)
		time.Sleep(2 * time.Millisecond) // idle past HealthCheckAfter
		for i := range 8 {
			c := get(t, p)
			tok := "tok" + strconv.Itoa(i)
			assert.Equal(t, tok, do(t, c, "ECHO", tok).Text())
			p.Put(c)
		}
		assert.Equal(t, uint64(4), p.Stats().ClosedStale)
	})
	for _, fault := range [][]string{{"DEBUG", "SLEEP", "0.5"}, {"CLIENT", "PAUSE", "500", "ALL"}} {
		t.Run(strings.Join(fault, " "), func(t *testing.T) {
			s := redistest.StartServer(t)
			p := New(Options{Addr: s.Addr, MaxActive: 5, ReadTimeout: 100 * time.Millisecond, WaitTimeout: 5 * time.Second})
			defer p.Close()
			admin := dialT(t, Options{Addr: s.Addr, ReadTimeout: 5 * time.Second})

			var ok, timeouts, wrong atomic.Int64
			var afterFault atomic.Int64
			faultDone := make(chan struct{})
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for g := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						c, err := p.Get(context.Background())
						if !assert.NoError(t, err) {
							return
						}
						tok := "g" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
						v, err := c.Do(context.Background(), cmd("ECHO", tok))
						p.Put(c)
						switch {
						case err != nil:
							timeouts.Add(1)
							assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
						case v.Text() != tok:
							wrong.Add(1)
							t.Errorf("reply %q delivered to the caller of ECHO %s", v.Text(), tok)
						default:
							ok.Add(1)
							select {
							case <-faultDone:
								afterFault.Add(1)
							default:
							}
						}
						assert.LessOrEqual(t, p.Stats().Total, 5)
					}
				}()
			}
			time.Sleep(100 * time.Millisecond)
			v := do(t, admin, fault...)
			require.NotEqual(t, resp.Error, v.Kind, v.Text())
			if fault[0] == "CLIENT" {
				time.Sleep(500 * time.Millisecond)
			}
			close(faultDone)
			require.Eventually(t, func() bool { return afterFault.Load() > 100 }, 5*time.Second, 10*time.Millisecond,
				"commands succeed again after the fault")
			close(stop)
			wg.Wait()
			st := p.Stats()
			t.Logf("ok %d, timeouts %d, after the fault %d; stats %+v", ok.Load(), timeouts.Load(), afterFault.Load(), st)
			assert.Zero(t, wrong.Load(), "replies delivered to the wrong caller")
			assert.Positive(t, timeouts.Load(), "the fault caused timeouts")
			assert.GreaterOrEqual(t, st.ClosedBroken, uint64(timeouts.Load()), "every timed-out connection was closed")
			assert.LessOrEqual(t, st.Total, 5)
			assert.Equal(t, st.Total, st.Idle)
		})
	}
}

func TestIntegrationPoolUnix(t *testing.T) {
	s := redistest.StartUnixServer(t)
	p := New(Options{Network: "unix", Addr: s.Socket, MaxActive: 2, HealthCheckAfter: time.Millisecond})
	defer p.Close()
	c := get(t, p)
	p.Put(c)
	time.Sleep(2 * time.Millisecond)
	c2 := get(t, p)
	assert.Same(t, c, c2, "a live unix connection passes its peek")
	assert.Equal(t, "PONG", do(t, c2, "PING").Text())
	p.Put(c2)
	assert.Equal(t, s.Socket, p.Addr())
	require.NoError(t, p.Close())
}
