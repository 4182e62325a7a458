package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/resp"
)

// fakeNode is a scripted server for redirect forms no real server can be made to send.
type fakeNode struct {
	ln    net.Listener
	addr  string
	port  string
	calls atomic.Int64
	reply func(args []string) resp.Value
}

func startFake(t *testing.T, reply func(args []string) resp.Value) *fakeNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &fakeNode{ln: ln, addr: ln.Addr().String(), reply: reply}
	_, f.port, _ = net.SplitHostPort(f.addr)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				r := resp.NewReader(bufio.NewReader(conn), resp.ReaderOptions{})
				w := resp.NewWriter(conn)
				for {
					v, err := r.ReadValue()
					if err != nil {
						return
					}
					args := make([]string, len(v.Elems))
					for i, e := range v.Elems {
						args[i] = string(e.Str)
					}
					f.calls.Add(1)
					if strings.EqualFold(args[0], "ASKING") {
						w.WriteValue(resp.StatusValue("OK"))
					} else {
						w.WriteValue(f.reply(args))
					}
					if w.Flush() != nil {
						return
					}
				}
			}()
		}
	}()
	return f
}

func fakeClient(t *testing.T, seed string) *Client {
	t.Helper()
	cl, err := New(Options{
		Seeds:       []string{seed},
		Cluster:     true,
		RetryBudget: 2 * time.Second,
		Pool:        pool.Options{ReadTimeout: time.Second, DialTimeout: time.Second},
		Commands:    tableWith(t),
	})
	require.NoError(t, err)
	t.Cleanup(func() { cl.Close() })
	return cl
}

// tableWith returns a command table that already knows GET, so fakes need not answer
// COMMAND INFO.
func tableWith(t *testing.T) *CommandTable {
	tb := NewCommandTable("")
	specs := loadSpecs(t)
	tb.specs["get"] = specs["get"]
	return tb
}

func TestRedirectForms(t *testing.T) {
	target := startFake(t, func(args []string) resp.Value {
		if args[0] == "CLUSTER" {
			return resp.ErrorValue("ERR not now")
		}
		return resp.StringValue("from-target")
	})
	slot := SlotString("k")
	cases := []struct {
		name  string
		reply string
	}{
		{"host and port", fmt.Sprintf("MOVED %d %s", slot, target.addr)},
		{"empty host", fmt.Sprintf("MOVED %d :%s", slot, target.port)},
		{"ask", fmt.Sprintf("ASK %d %s", slot, target.addr)},
		{"ask with empty host", fmt.Sprintf("ASK %d :%s", slot, target.port)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seed := startFake(t, func(args []string) resp.Value { return resp.ErrorValue(c.reply) })
			cl := fakeClient(t, seed.addr)
			v, err := cl.Do(testCtx(t, 5*time.Second), cmd("GET", "k"))
			require.NoError(t, err)
			assert.Equal(t, "from-target", v.Text())
		})
	}

	t.Run("unknown endpoint refreshes and never dials '?'", func(t *testing.T) {
		var seed *fakeNode
		seed = startFake(t, func(args []string) resp.Value {
			if args[0] == "CLUSTER" {
				return resp.StringValue(fmt.Sprintf("%040d %s@1 master - 0 0 2 connected 0-16383\n%040d %s@1 myself,master - 0 0 1 connected\n",
					2, target.addr, 1, seed.addr))
			}
			return resp.ErrorValue(fmt.Sprintf("MOVED %d ?:%s", slot, target.port))
		})
		cl := fakeClient(t, seed.addr)
		v, err := cl.Do(testCtx(t, 5*time.Second), cmd("GET", "k"))
		require.NoError(t, err)
		assert.Equal(t, "from-target", v.Text())
	})

	malformed := []string{"MOVED 3999", "MOVED x 127.0.0.1:1", "MOVED 3999 127.0.0.1", "ASK 99999 127.0.0.1:1", "MOVED 1 127.0.0.1:0"}
	for _, reply := range malformed {
		t.Run("malformed "+reply, func(t *testing.T) {
			seed := startFake(t, func(args []string) resp.Value { return resp.ErrorValue(reply) })
			cl := fakeClient(t, seed.addr)
			start := time.Now()
			_, err := cl.Do(testCtx(t, 5*time.Second), cmd("GET", "k"))
			var re *RedirectError
			require.ErrorAs(t, err, &re)
			assert.Less(t, time.Since(start), time.Second)
			assert.Equal(t, int64(1), seed.calls.Load(), "a malformed redirect is not followed")
		})
	}

	t.Run("redirect loop ends", func(t *testing.T) {
		var self *fakeNode
		self = startFake(t, func(args []string) resp.Value {
			return resp.ErrorValue(fmt.Sprintf("MOVED %d %s", slot, self.addr))
		})
		cl := fakeClient(t, self.addr)
		start := time.Now()
		_, err := cl.Do(testCtx(t, 5*time.Second), cmd("GET", "k"))
		require.ErrorIs(t, err, ErrTooManyRedirects)
		assert.Less(t, time.Since(start), time.Second)
		assert.LessOrEqual(t, self.calls.Load(), int64(DefaultMaxRedirects+1))
	})

	t.Run("ask to a dead node ends", func(t *testing.T) {
		dead, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		deadAddr := dead.Addr().String()
		dead.Close()
		seed := startFake(t, func(args []string) resp.Value {
			if args[0] == "CLUSTER" {
				return resp.ErrorValue("ERR no topology here")
			}
			return resp.ErrorValue(fmt.Sprintf("ASK %d %s", slot, deadAddr))
		})
		cl := fakeClient(t, seed.addr)
		start := time.Now()
		_, err = cl.Do(testCtx(t, 10*time.Second), cmd("GET", "k"))
		require.Error(t, err)
		var ne *NodeError
		assert.True(t, errors.As(err, &ne) || errors.Is(err, ErrTooManyRedirects), "got %v", err)
		t.Logf("ASK to a dead node ended after %v: %v", time.Since(start).Round(time.Millisecond), err)
		assert.Less(t, time.Since(start), 3*time.Second)
	})
}
