package main

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/resp"
)

// session is how one run reaches Redis: through the one cluster client.
//
// Against a standalone server (no -c) every command of the run goes on one connection
// taken from the client's pool and held to the end, so SELECT, AUTH, CLIENT SETNAME,
// MULTI and WATCH keep their state from one stdin line to the next, as in redis-cli.
// With -c each command is routed by its keys: redirects are followed, commands whose
// keys span slots are split or refused, and whole-keyspace commands fan out; WATCH and
// MULTI pin a connection to one node until the transaction ends (txn.go).
type session struct {
	cl *cluster.Client

	held     *pool.Conn // the connection held for the run (standalone) or for a stream
	heldAddr string

	// current is the node that served the last keyed command in cluster mode; when the
	// next one is served elsewhere, onMoved is told, for redis-cli's redirect line.
	current string
	onMoved func(slot int, addr string)

	tx txPin // cluster mode: the connection pinned by WATCH or MULTI (txn.go)
}

func newSession(o cluster.Options) (*session, error) {
	cl, err := cluster.New(o)
	if err != nil {
		return nil, err
	}
	return &session{cl: cl, current: cl.SeedAddr()}, nil
}

// connect makes sure the server answers, so that connection and handshake failures
// are reported before anything else, as redis-cli does. In cluster mode the connection
// it makes goes back to the pool for the first command.
func (s *session) connect(ctx context.Context) error {
	if !s.cl.IsCluster() {
		return s.hold(ctx, s.cl.SeedAddr())
	}
	c, err := s.cl.Acquire(ctx, s.cl.SeedAddr())
	if err != nil {
		return err
	}
	s.cl.Release(s.cl.SeedAddr(), c)
	return nil
}

// hold takes a connection to addr for the rest of the run, unless one is held.
func (s *session) hold(ctx context.Context, addr string) error {
	if s.held != nil && s.heldAddr == addr {
		return nil
	}
	s.release()
	c, err := s.cl.Acquire(ctx, addr)
	if err != nil {
		return err
	}
	s.held, s.heldAddr = c, addr
	return nil
}

func (s *session) release() {
	if s.held != nil {
		s.cl.Release(s.heldAddr, s.held)
		s.held, s.heldAddr = nil, ""
	}
}

// Do runs one command and returns its reply; a server error reply is a value.
func (s *session) Do(ctx context.Context, cmd resp.Command) (resp.Value, error) {
	if !s.cl.IsCluster() {
		if err := s.hold(ctx, s.cl.SeedAddr()); err != nil {
			return resp.Value{}, err
		}
		v, err := s.held.Do(ctx, cmd)
		if err != nil && s.held.Broken() != nil {
			s.release() // the next command reconnects
		}
		return v, err
	}
	if v, err, ok := s.doPinned(ctx, cmd); ok {
		return v, err
	}
	r := s.cl.Exec(ctx, cmd)
	var cross *cluster.CrossSlotError
	if errors.As(r.Err, &cross) {
		// Refused before sending, for the same reason the server would refuse it: shown
		// like the server's own error reply.
		return resp.ErrorValue(cross.Error()), nil
	}
	if r.Addr != "" && r.Slot >= 0 {
		if r.Addr != s.current && s.onMoved != nil {
			s.onMoved(r.Slot, r.Addr)
		}
		s.current = r.Addr
	}
	return r.Value, r.Err
}

// stream returns a connection for MONITOR (subscriptions have their own, see
// subscribe.go): the held one against a standalone server, in cluster mode one to the
// node the user named.
func (s *session) stream(ctx context.Context) (*pool.Conn, error) {
	if err := s.hold(ctx, s.cl.SeedAddr()); err != nil {
		return nil, err
	}
	return s.held, nil
}

// Close gives back the held connection and closes the client; in one-shot cluster
// mode that also refreshes the slot map cached on disk when it was stale.
func (s *session) Close() error {
	s.unpin()
	s.release()
	return s.cl.Close()
}

// cacheDir is where rcli keeps its caches: $XDG_CACHE_HOME/rcli, else ~/.cache/rcli;
// "" when neither can be found.
func cacheDir(getenv func(string) string) string {
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "rcli")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "rcli")
	}
	return ""
}
