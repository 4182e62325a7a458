package pool

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/resp"
)

const helloReply = "%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n"

// dialFake dials a scripted fake server: the dial runs in the background while the
// script plays on the returned fakeConn.
func dialFake(t *testing.T, s *fakeServer, o Options) (*fakeConn, <-chan dialResult) {
	t.Helper()
	o.Addr = s.addr()
	ch := make(chan dialResult, 1)
	go func() {
		c, err := Dial(context.Background(), o)
		ch <- dialResult{c, err}
	}()
	return s.next(), ch
}

type dialResult struct {
	c   *Conn
	err error
}

func await(t *testing.T, ch <-chan dialResult) (*Conn, error) {
	t.Helper()
	select {
	case r := <-ch:
		if r.c != nil {
			t.Cleanup(func() { _ = r.c.Close() })
		}
		return r.c, r.err
	case <-time.After(5 * time.Second):
		t.Fatal("Dial did not return within 5s")
		return nil, nil
	}
}

func TestHandshakeBytes(t *testing.T) {
	// Every command of the handshake must be sent before any reply is read: the fake
	// server reads them all first and only then answers, so a client that waited for a
	// reply between commands would hang here.
	tests := []struct {
		name      string
		o         Options
		want      [][]string
		replies   string
		wantProto int
	}{
		{name: "plain RESP2 sends nothing", o: Options{}, wantProto: 2},
		{name: "password", o: Options{Password: "pw"}, want: [][]string{{"AUTH", "pw"}}, replies: "+OK\r\n", wantProto: 2},
		{name: "user and password", o: Options{Username: "alice", Password: "pw"},
			want: [][]string{{"AUTH", "alice", "pw"}}, replies: "+OK\r\n", wantProto: 2},
		{name: "db", o: Options{DB: 3}, want: [][]string{{"SELECT", "3"}}, replies: "+OK\r\n", wantProto: 2},
		{name: "client name", o: Options{ClientName: "rcli"},
			want: [][]string{{"CLIENT", "SETNAME", "rcli"}}, replies: "+OK\r\n", wantProto: 2},
		{name: "readonly", o: Options{ReadOnly: true}, want: [][]string{{"READONLY"}}, replies: "+OK\r\n", wantProto: 2},
		{name: "everything RESP2", o: Options{Username: "u", Password: "p", ClientName: "n", DB: 2, ReadOnly: true},
			want:    [][]string{{"AUTH", "u", "p"}, {"CLIENT", "SETNAME", "n"}, {"SELECT", "2"}, {"READONLY"}},
			replies: "+OK\r\n+OK\r\n+OK\r\n+OK\r\n", wantProto: 2},
		{name: "HELLO 3", o: Options{Protocol: 3}, want: [][]string{{"HELLO", "3"}}, replies: helloReply, wantProto: 3},
		{name: "HELLO 3 with password", o: Options{Protocol: 3, Password: "pw"},
			want: [][]string{{"HELLO", "3", "AUTH", "default", "pw"}}, replies: helloReply, wantProto: 3},
		{name: "HELLO 3 with user and name", o: Options{Protocol: 3, Username: "u", Password: "p", ClientName: "n"},
			want: [][]string{{"HELLO", "3", "AUTH", "u", "p", "SETNAME", "n"}}, replies: helloReply, wantProto: 3},
		{name: "everything RESP3", o: Options{Protocol: 3, Username: "u", Password: "p", ClientName: "n", DB: 2, ReadOnly: true},
			want:    [][]string{{"HELLO", "3", "AUTH", "u", "p", "SETNAME", "n"}, {"SELECT", "2"}, {"READONLY"}},
			replies: helloReply + "+OK\r\n+OK\r\n", wantProto: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startFake(t, nil)
			fc, ch := dialFake(t, s, tt.o)
			for _, want := range tt.want {
				fc.expect(want...)
			}
			fc.send(tt.replies)
			c, err := await(t, ch)
			require.NoError(t, err)
			assert.Equal(t, tt.wantProto, c.Protocol())
			if tt.wantProto == 3 {
				assert.Equal(t, "7.0.15", c.ServerVersion())
			} else {
				assert.Empty(t, c.ServerVersion())
			}
			// The next bytes on the wire are the first command's.
			done := make(chan struct{})
			go func() {
				defer close(done)
				fc.expect("PING")
				fc.send("+PONG\r\n")
			}()
			v, err := c.Do(context.Background(), cmd("PING"))
			require.NoError(t, err)
			assert.Equal(t, "PONG", v.Text())
			<-done
		})
	}
}

func TestHandshakeHelloFallback(t *testing.T) {
	s := startFake(t, nil)
	fc, ch := dialFake(t, s, Options{Protocol: 3, Username: "u", Password: "p", DB: 2, ClientName: "n"})
	fc.expect("HELLO", "3", "AUTH", "u", "p", "SETNAME", "n")
	fc.expect("SELECT", "2")
	// A Redis 5 server: no HELLO, and SELECT refused before AUTH.
	fc.send("-ERR unknown command 'HELLO'\r\n-NOAUTH Authentication required.\r\n")
	fc.expect("AUTH", "u", "p")
	fc.expect("CLIENT", "SETNAME", "n")
	fc.expect("SELECT", "2")
	fc.send("+OK\r\n+OK\r\n+OK\r\n")
	c, err := await(t, ch)
	require.NoError(t, err)
	assert.Equal(t, 2, c.Protocol())
	assert.Empty(t, c.ServerVersion())
}

func TestHandshakeErrors(t *testing.T) {
	const secret = "s3cr3t-pw"
	tests := []struct {
		name    string
		o       Options
		want    [][]string
		replies string
		wantErr string
	}{
		{name: "AUTH refused", o: Options{Password: secret},
			want: [][]string{{"AUTH", secret}}, replies: "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
			wantErr: "pool: AUTH failed: WRONGPASS invalid username-password pair or user is disabled."},
		{name: "AUTH refused reported before SELECT", o: Options{Password: secret, DB: 1},
			want:    [][]string{{"AUTH", secret}, {"SELECT", "1"}},
			replies: "-WRONGPASS invalid username-password pair or user is disabled.\r\n-NOAUTH Authentication required.\r\n",
			wantErr: "pool: AUTH failed: WRONGPASS invalid username-password pair or user is disabled."},
		{name: "HELLO AUTH refused", o: Options{Protocol: 3, Username: "u", Password: secret},
			want: [][]string{{"HELLO", "3", "AUTH", "u", secret}}, replies: "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
			wantErr: "pool: AUTH failed: WRONGPASS invalid username-password pair or user is disabled."},
		{name: "HELLO 3 unsupported", o: Options{Protocol: 3},
			want: [][]string{{"HELLO", "3"}}, replies: "-NOPROTO sorry, this protocol version is not supported\r\n",
			wantErr: "pool: HELLO 3 failed: NOPROTO sorry, this protocol version is not supported"},
		{name: "SELECT out of range", o: Options{DB: 99},
			want: [][]string{{"SELECT", "99"}}, replies: "-ERR DB index is out of range\r\n",
			wantErr: "pool: SELECT 99 failed: ERR DB index is out of range"},
		{name: "READONLY refused", o: Options{ReadOnly: true},
			want: [][]string{{"READONLY"}}, replies: "-ERR This instance has cluster support disabled\r\n",
			wantErr: "pool: READONLY failed: ERR This instance has cluster support disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startFake(t, nil)
			fc, ch := dialFake(t, s, tt.o)
			for _, want := range tt.want {
				fc.expect(want...)
			}
			fc.send(tt.replies)
			_, err := await(t, ch)
			require.Error(t, err)
			assert.Equal(t, tt.wantErr, err.Error())
			assert.NotContains(t, err.Error(), secret)
			var se *resp.ServerError
			assert.ErrorAs(t, err, &se)
		})
	}

	t.Run("protocol error in handshake", func(t *testing.T) {
		s := startFake(t, nil)
		fc, ch := dialFake(t, s, Options{Password: "x"})
		fc.expect("AUTH", "x")
		fc.send("HTTP/1.1 400 Bad Request\r\n")
		_, err := await(t, ch)
		var pe *resp.ProtocolError
		assert.ErrorAs(t, err, &pe)
	})
	t.Run("server closes during handshake", func(t *testing.T) {
		s := startFake(t, nil)
		fc, ch := dialFake(t, s, Options{Password: "x"})
		fc.expect("AUTH", "x")
		_ = fc.nc.Close()
		_, err := await(t, ch)
		var de *DialError
		require.ErrorAs(t, err, &de)
		assert.Equal(t, "Could not connect to Redis at "+s.addr()+": Server closed the connection", err.Error())
	})
}

func TestDialError(t *testing.T) {
	t.Run("refused TCP", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		_, err = Dial(context.Background(), Options{Addr: addr})
		require.Error(t, err)
		assert.Equal(t, "Could not connect to Redis at "+addr+": Connection refused", err.Error())
		var de *DialError
		require.ErrorAs(t, err, &de)
		assert.Equal(t, addr, de.Addr)
		assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	})
	t.Run("missing unix socket", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope.sock")
		_, err := Dial(context.Background(), Options{Network: "unix", Addr: path})
		require.Error(t, err)
		assert.Equal(t, "Could not connect to Redis at "+path+": No such file or directory", err.Error())
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Dial(ctx, Options{Addr: "127.0.0.1:1"})
		require.Error(t, err)
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("descriptions", func(t *testing.T) {
		assert.Equal(t, "Connection timed out", describe(context.DeadlineExceeded))
		assert.Equal(t, "Connection timed out", describe(&net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}))
		assert.Equal(t, "Name or service not known", describe(&net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}))
		assert.Equal(t, "Connection reset by peer", describe(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}))
		assert.Equal(t, "No route to host", describe(syscall.EHOSTUNREACH))
		assert.Equal(t, "TLS handshake failed: boom", describe(&tlsError{errors.New("boom")}))
	})
}

// dialed returns a connection to a scripted fake server, with its server side.
func dialed(t *testing.T, o Options) (*Conn, *fakeConn) {
	t.Helper()
	s := startFake(t, nil)
	fc, ch := dialFake(t, s, o)
	if o.Protocol == 3 {
		fc.expect("HELLO", "3")
		fc.send(helloReply)
	}
	c, err := await(t, ch)
	require.NoError(t, err)
	return c, fc
}

func TestPushRouting(t *testing.T) {
	const push = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nkey\r\n"
	t.Run("pushes go to OnPush", func(t *testing.T) {
		var got []resp.Value
		c, fc := dialed(t, Options{Protocol: 3, OnPush: func(v resp.Value) { got = append(got, v) }})
		go func() {
			fc.expect("GET", "key")
			fc.send(push + push + "$1\r\nv\r\n")
		}()
		v, err := c.Do(context.Background(), cmd("GET", "key"))
		require.NoError(t, err)
		assert.Equal(t, "v", v.Text())
		require.Len(t, got, 2)
		assert.Equal(t, resp.Push, got[0].Kind)
		assert.Equal(t, "invalidate", got[0].Elems[0].Text())
		assert.Equal(t, 0, c.Pending())
		assert.NoError(t, c.Broken())
	})
	t.Run("nil OnPush drops them", func(t *testing.T) {
		c, fc := dialed(t, Options{Protocol: 3})
		go func() {
			fc.expect("GET", "key")
			fc.send(push + "$1\r\nv\r\n")
		}()
		v, err := c.Do(context.Background(), cmd("GET", "key"))
		require.NoError(t, err)
		assert.Equal(t, "v", v.Text())
	})
	t.Run("raw mode returns them", func(t *testing.T) {
		c, fc := dialed(t, Options{Protocol: 3, OnPush: func(resp.Value) { t.Error("OnPush called in raw mode") }})
		c.SetRaw(true)
		go func() {
			fc.expect("GET", "key")
			fc.send(push + "$1\r\nv\r\n")
		}()
		c.Write(cmd("GET", "key"))
		require.NoError(t, c.Flush(context.Background()))
		v, err := c.Read(context.Background())
		require.NoError(t, err)
		assert.Equal(t, resp.Push, v.Kind)
		assert.Equal(t, 1, c.Pending(), "a push is not the reply")
		v, err = c.Read(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "v", v.Text())
		assert.Equal(t, 0, c.Pending())
	})
	t.Run("ReadValue returns them and detaches", func(t *testing.T) {
		c, fc := dialed(t, Options{Protocol: 3})
		go func() {
			fc.expect("SUBSCRIBE", "ch")
			fc.send(">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n")
		}()
		c.Write(cmd("SUBSCRIBE", "ch"))
		require.NoError(t, c.Flush(context.Background()))
		v, err := c.ReadValue(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "subscribe", v.Elems[0].Text())
		v, err = c.ReadValue(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "hi", v.Elems[2].Text())
		assert.False(t, c.reusable())
	})
}

func TestConnPoisoning(t *testing.T) {
	t.Run("protocol error", func(t *testing.T) {
		c, fc := dialed(t, Options{})
		go func() {
			fc.expect("GET", "k")
			fc.send("?what\r\n")
		}()
		_, err := c.Do(context.Background(), cmd("GET", "k"))
		var pe *resp.ProtocolError
		require.ErrorAs(t, err, &pe)
		assert.ErrorAs(t, c.Broken(), &pe)
		assert.False(t, c.reusable())
		_, err = c.Do(context.Background(), cmd("PING"))
		assert.ErrorAs(t, err, &pe, "every later call fails with the same error")
	})
	t.Run("server error reply is a value", func(t *testing.T) {
		c, fc := dialed(t, Options{})
		go func() {
			fc.expect("INCR", "k")
			fc.send("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
		}()
		v, err := c.Do(context.Background(), cmd("INCR", "k"))
		require.NoError(t, err)
		assert.Equal(t, resp.Error, v.Kind)
		var se *resp.ServerError
		require.ErrorAs(t, v.Err(), &se)
		assert.Equal(t, "WRONGTYPE", se.Code)
		assert.NoError(t, c.Broken())
		assert.True(t, c.reusable())
	})
	t.Run("pending replies", func(t *testing.T) {
		c, fc := dialed(t, Options{})
		go func() {
			fc.expect("ECHO", "a")
			fc.expect("ECHO", "b")
			fc.send(bulk("a") + bulk("b"))
		}()
		c.Write(cmd("ECHO", "a"))
		c.Write(cmd("ECHO", "b"))
		assert.Equal(t, 2, c.Pending())
		require.NoError(t, c.Flush(context.Background()))
		v, err := c.Read(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "a", v.Text())
		assert.Equal(t, 1, c.Pending())
		assert.False(t, c.reusable())
		_, err = c.Do(context.Background(), cmd("PING"))
		assert.ErrorContains(t, err, "1 unread replies")
		v, err = c.Read(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "b", v.Text())
		assert.True(t, c.reusable())
	})
	t.Run("raw bytes", func(t *testing.T) {
		c, fc := dialed(t, Options{})
		go func() {
			fc.expect("ECHO", "a")
			fc.expect("ECHO", "b")
			fc.send(bulk("a") + bulk("b"))
		}()
		raw := resp.AppendArgs(resp.AppendArgs(nil, "ECHO", "a"), "ECHO", "b")
		c.WriteRaw(raw, 2)
		assert.Equal(t, 2, c.Pending())
		require.NoError(t, c.Flush(context.Background()))
		for _, want := range []string{"a", "b"} {
			v, err := c.Read(context.Background())
			require.NoError(t, err)
			assert.Equal(t, want, v.Text())
		}
		assert.Zero(t, c.Pending())
		_, err := c.Do(context.Background(), resp.Command{})
		assert.EqualError(t, err, "pool: empty command")
		assert.True(t, c.reusable())
	})
	t.Run("server closes", func(t *testing.T) {
		c, fc := dialed(t, Options{})
		go func() {
			fc.expect("GET", "k")
			_ = fc.nc.Close()
		}()
		_, err := c.Do(context.Background(), cmd("GET", "k"))
		require.Error(t, err)
		assert.NotNil(t, c.Broken())
	})
	t.Run("state that must not be inherited", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			cmds [][]string
			ok   bool
		}{
			{"SELECT", [][]string{{"select", "2"}}, false},
			{"SUBSCRIBE", [][]string{{"SUBSCRIBE", "ch"}}, false},
			{"CLIENT SETNAME", [][]string{{"CLIENT", "setname", "x"}}, false},
			{"CLIENT ID", [][]string{{"CLIENT", "ID"}}, true},
			{"MULTI open", [][]string{{"MULTI"}}, false},
			{"MULTI EXEC", [][]string{{"MULTI"}, {"EXEC"}}, true},
			{"WATCH open", [][]string{{"WATCH", "k"}}, false},
			{"WATCH UNWATCH", [][]string{{"WATCH", "k"}, {"UNWATCH"}}, true},
			{"GET", [][]string{{"GET", "k"}}, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := &Conn{w: resp.NewWriter(nil), r: resp.NewReader(strings.NewReader(""), resp.ReaderOptions{}), o: &Options{}}
				for _, a := range tc.cmds {
					c.Write(cmd(a...))
				}
				c.w.Discard()
				c.pending = 0
				assert.Equal(t, tc.ok, c.reusable())
			})
		}
	})
}

func TestReadDeadlines(t *testing.T) {
	t.Run("ReadTimeout", func(t *testing.T) {
		c, fc := dialed(t, Options{ReadTimeout: 100 * time.Millisecond})
		go fc.expect("GET", "k")
		start := time.Now()
		_, err := c.Do(context.Background(), cmd("GET", "k"))
		elapsed := time.Since(start)
		require.Error(t, err)
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.GreaterOrEqual(t, elapsed, 90*time.Millisecond)
		assert.Less(t, elapsed, 2*time.Second)
		assert.NotNil(t, c.Broken())
	})
	t.Run("ctx deadline earlier", func(t *testing.T) {
		c, fc := dialed(t, Options{ReadTimeout: 5 * time.Second})
		go fc.expect("GET", "k")
		ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Do(ctx, cmd("GET", "k"))
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), time.Second)
	})
	t.Run("blocking command outlives ReadTimeout", func(t *testing.T) {
		c, fc := dialed(t, Options{ReadTimeout: 100 * time.Millisecond})
		go func() {
			fc.expect("BLPOP", "q", "0.5")
			time.Sleep(300 * time.Millisecond)
			fc.send("*-1\r\n")
		}()
		v, err := c.Do(context.Background(), cmd("BLPOP", "q", "0.5"))
		require.NoError(t, err)
		assert.True(t, v.IsNull())
	})
	t.Run("blocking command still times out", func(t *testing.T) {
		c, fc := dialed(t, Options{ReadTimeout: 100 * time.Millisecond})
		go fc.expect("BLPOP", "q", "0.1")
		start := time.Now()
		_, err := c.Do(context.Background(), cmd("BLPOP", "q", "0.1"))
		require.Error(t, err)
		elapsed := time.Since(start)
		assert.GreaterOrEqual(t, elapsed, 190*time.Millisecond, "BLPOP 0.1 plus ReadTimeout")
		assert.Less(t, elapsed, 2*time.Second)
	})
	t.Run("only the blocking reply gets the margin", func(t *testing.T) {
		c, fc := dialed(t, Options{ReadTimeout: 100 * time.Millisecond})
		go func() {
			fc.expect("PING")
			fc.expect("BLPOP", "q", "1")
			fc.expect("PING")
			fc.send("+PONG\r\n")
			time.Sleep(300 * time.Millisecond)
			fc.send("*-1\r\n") // and no second PONG
		}()
		c.Write(cmd("PING"))
		c.Write(cmd("BLPOP", "q", "1"))
		c.Write(cmd("PING"))
		require.NoError(t, c.Flush(context.Background()))
		_, err := c.Read(context.Background())
		require.NoError(t, err)
		v, err := c.Read(context.Background())
		require.NoError(t, err)
		assert.True(t, v.IsNull())
		start := time.Now()
		_, err = c.Read(context.Background())
		require.Error(t, err)
		assert.Less(t, time.Since(start), 900*time.Millisecond, "the PING after BLPOP 1 got the BLPOP's margin")
	})
	t.Run("ctx cancel interrupts BLPOP 0", func(t *testing.T) {
		c, fc := dialed(t, Options{ReadTimeout: 100 * time.Millisecond})
		go fc.expect("BLPOP", "q", "0")
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(150*time.Millisecond, cancel)
		start := time.Now()
		_, err := c.Do(ctx, cmd("BLPOP", "q", "0"))
		require.Error(t, err)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), 2*time.Second)
		assert.NotNil(t, c.Broken())
	})
	t.Run("ReadValue waits without ReadTimeout", func(t *testing.T) {
		c, fc := dialed(t, Options{ReadTimeout: 50 * time.Millisecond})
		go func() {
			fc.expect("SUBSCRIBE", "ch")
			fc.send("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n")
			time.Sleep(200 * time.Millisecond)
			fc.send("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n")
		}()
		c.Write(cmd("SUBSCRIBE", "ch"))
		require.NoError(t, c.Flush(context.Background()))
		_, err := c.ReadValue(context.Background())
		require.NoError(t, err)
		v, err := c.ReadValue(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "hi", v.Elems[2].Text())
	})
}

func TestBlockingTimeout(t *testing.T) {
	tests := []struct {
		args    []string
		timeout time.Duration
		blocks  bool
	}{
		{[]string{"BLPOP", "a", "b", "1"}, time.Second, true},
		{[]string{"blpop", "a", "0"}, 0, true},
		{[]string{"BRPOP", "a", "0.25"}, 250 * time.Millisecond, true},
		{[]string{"BLMOVE", "a", "b", "LEFT", "RIGHT", "2.5"}, 2500 * time.Millisecond, true},
		{[]string{"BRPOPLPUSH", "a", "b", "3"}, 3 * time.Second, true},
		{[]string{"BZPOPMIN", "z", "1.5"}, 1500 * time.Millisecond, true},
		{[]string{"BZPOPMAX", "z", "y", "0"}, 0, true},
		{[]string{"BLMPOP", "2", "2", "a", "b", "LEFT"}, 2 * time.Second, true},
		{[]string{"BLMPOP", "0.5", "1", "a", "RIGHT", "COUNT", "3"}, 500 * time.Millisecond, true},
		{[]string{"BZMPOP", "4", "1", "z", "MIN"}, 4 * time.Second, true},
		{[]string{"XREAD", "COUNT", "2", "BLOCK", "1500", "STREAMS", "s", "$"}, 1500 * time.Millisecond, true},
		{[]string{"XREAD", "block", "0", "STREAMS", "s", "$"}, 0, true},
		{[]string{"XREAD", "STREAMS", "s", "0"}, 0, false},
		{[]string{"XREAD", "STREAMS", "BLOCK", "100"}, 0, false}, // stream keys named BLOCK
		{[]string{"XREADGROUP", "GROUP", "g", "c", "BLOCK", "200", "STREAMS", "s", ">"}, 200 * time.Millisecond, true},
		{[]string{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"}, 0, false},
		{[]string{"WAIT", "1", "300"}, 300 * time.Millisecond, true},
		{[]string{"WAIT", "1", "0"}, 0, true},
		{[]string{"WAITAOF", "1", "0", "100"}, 100 * time.Millisecond, true},
		{[]string{"BLPOP", "a", "-1"}, 0, false},
		{[]string{"BLPOP", "a", "soon"}, 0, false},
		{[]string{"BLPOP", "a"}, 0, false},
		{[]string{"BLPOP", "a", "1e12"}, 0, true},
		{[]string{"GET", "k"}, 0, false},
		{[]string{"DEBUG", "SLEEP", "1"}, 0, false},
		{nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			timeout, blocks := BlockingTimeout(cmd(tt.args...))
			assert.Equal(t, tt.blocks, blocks)
			assert.Equal(t, tt.timeout, timeout)
		})
	}
}

func TestWriteAllocs(t *testing.T) {
	c := &Conn{w: resp.NewWriter(nil), o: &Options{}}
	get := cmd("GET", "key")
	allocs := testing.AllocsPerRun(100, func() {
		c.Write(get)
		c.w.Discard()
	})
	assert.Zero(t, allocs)
}

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want cmdClass
	}{
		{"plain", []string{"GET", "k"}, classPlain},
		{"HELLO alone only reports", []string{"hello"}, classPlain},
		{"HELLO 3 switches protocol", []string{"HELLO", "3"}, classDetach},
		{"SELECT", []string{"select", "1"}, classDetach},
		{"CLIENT SETNAME", []string{"CLIENT", "setname", "x"}, classDetach},
		{"CLIENT LIST", []string{"CLIENT", "LIST"}, classPlain},
		{"MULTI", []string{"multi"}, classMulti},
		{"BLPOP", []string{"BLPOP", "k", "0"}, classBlocking},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, classify(cmd(c.args...).Args))
		})
	}
}

func TestArmDeadline(t *testing.T) {
	base := time.Unix(1000, 0)
	const timeout = 8 * time.Second
	cases := []struct {
		name    string
		cur     time.Time
		want    time.Time
		exact   bool
		setWant bool
	}{
		{"first deadline", time.Time{}, base, false, true},
		{"a little later: kept", base, base.Add(time.Second), false, false},
		{"much later: set", base, base.Add(2 * time.Second), false, true},
		{"earlier: set", base, base.Add(-time.Millisecond), false, true},
		{"from the context: set exactly", base, base.Add(time.Millisecond), true, true},
		{"no timeout: cleared", base, time.Time{}, false, true},
		{"still none: kept", time.Time{}, time.Time{}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cur, set := c.cur, false
			err := arm(func(d time.Time) error { set = true; assert.Equal(t, c.want, d); return nil }, &cur, c.want, timeout, c.exact)
			require.NoError(t, err)
			assert.Equal(t, c.setWant, set)
			if set {
				assert.Equal(t, c.want, cur)
			}
		})
	}
}
