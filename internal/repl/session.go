package repl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/resp"
)

// RESP2Fallback reports whether a failed connection should be made again in RESP2, as
// redis-cli does: a server that wants a password refuses HELLO 3 (NOAUTH) from a
// client that has none. It returns the server's error, for the warning.
func RESP2Fallback(err error, o pool.Options) (*resp.ServerError, bool) {
	var se *resp.ServerError
	if err == nil || o.Protocol != 3 || o.Password != "" || !errors.As(err, &se) || se.Code != "NOAUTH" {
		return nil, false
	}
	return se, true
}

// open makes a client for opts and connects, reporting a failure; then it starts
// loading the server's command docs in the background.
func (s *Shell) open(ctx context.Context, opts cluster.Options) {
	cl, err := cluster.New(opts)
	if err != nil {
		s.fail(err)
		s.mu.Lock()
		s.opts, s.st = opts, state{pinSlot: -1}
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	s.opts, s.cl = opts, cl
	s.st = state{pinSlot: -1, current: cl.SeedAddr(), db: opts.Pool.DB}
	s.mu.Unlock()
	err = s.connect(ctx)
	if se, ok := RESP2Fallback(err, opts.Pool); ok {
		// redis-cli warns and goes on in RESP2, where AUTH can then be typed.
		s.complain("HELLO 3 failed: " + se.Error())
		s.closeClient()
		opts.Pool.Protocol = 2
		s.open(ctx, opts)
		return
	}
	if err != nil {
		s.fail(err)
	}
	s.loadDocs(ctx)
}

// connect makes sure the server answers: it makes the held connection to a
// standalone server, and loads a cluster's slot map.
func (s *Shell) connect(ctx context.Context) error {
	if !s.cl.IsCluster() {
		_, err := s.ensureHeld(ctx)
		return err
	}
	// Load the slot map now, so that the first keyed command goes straight to its node.
	err := s.cl.Refresh(ctx)
	s.setConnected(err == nil)
	return err
}

func (s *Shell) setConnected(ok bool) {
	s.mu.Lock()
	s.st.connected = ok
	s.mu.Unlock()
}

// reconnect serves "connect host port": a new client for that address, with a fresh
// state.
func (s *Shell) reconnect(ctx context.Context, host string, port int) {
	s.closeClient()
	opts := s.opts
	opts.Seeds = []string{net.JoinHostPort(host, strconv.Itoa(port))}
	opts.Pool.Network = "tcp"
	s.open(ctx, opts)
}

// closeClient stops the docs load, gives back any held connection and closes the
// client.
func (s *Shell) closeClient() {
	if s.docsCancel != nil {
		s.docsCancel()
		<-s.docsDone
		s.docsCancel = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl == nil {
		return
	}
	if s.st.held != nil {
		s.cl.Release(s.st.heldAddr, s.st.held)
	}
	_ = s.cl.Close()
	s.cl = nil
	s.st = state{pinSlot: -1}
}

// ensureHeld returns the standalone server's connection, connecting when there is
// none. After a lost connection the new one gets the session's AUTH and database
// back, as redis-cli does.
func (s *Shell) ensureHeld(ctx context.Context) (*pool.Conn, error) {
	if s.cl == nil {
		return nil, errors.New("rcli: no client")
	}
	if s.st.held != nil {
		return s.st.held, nil
	}
	addr := s.cl.SeedAddr()
	c, err := s.cl.Acquire(ctx, addr)
	if err != nil {
		s.setConnected(false)
		return nil, err
	}
	if s.st.dialed {
		if err := s.restore(ctx, c); err != nil {
			s.cl.Release(addr, c)
			s.setConnected(false)
			return nil, err
		}
	}
	s.mu.Lock()
	s.st.held, s.st.heldAddr, s.st.heldID = c, addr, 0
	s.st.connected, s.st.dialed = true, true
	s.mu.Unlock()
	return c, nil
}

// restore sends a new connection the AUTH typed in the session and SELECTs the
// database in use, in one round trip. A transaction or WATCH did not survive.
func (s *Shell) restore(ctx context.Context, c *pool.Conn) error {
	var cmds []resp.Command
	if len(s.st.auth) > 0 {
		cmds = append(cmds, resp.Command{Args: append([][]byte{[]byte("AUTH")}, s.st.auth...)})
	}
	if s.st.db != s.opts.Pool.DB {
		cmds = append(cmds, resp.NewCommand("SELECT", strconv.Itoa(s.st.db)))
	}
	for _, cmd := range cmds {
		c.Write(cmd)
	}
	if len(cmds) > 0 {
		if err := c.Flush(ctx); err != nil {
			return err
		}
	}
	for _, cmd := range cmds {
		v, err := c.Read(ctx)
		if err != nil {
			return err
		}
		if v.Kind == resp.Error {
			return fmt.Errorf("rcli: %s failed on reconnection: %w", cmd.Name(), v.Err())
		}
	}
	s.mu.Lock()
	s.st.inTx, s.st.watching = false, false
	s.mu.Unlock()
	return nil
}

// dropHeld gives back the held connection (closed when broken); in a cluster it also
// ends the pinned transaction.
func (s *Shell) dropHeld() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.held == nil {
		return
	}
	s.cl.Release(s.st.heldAddr, s.st.held)
	s.st.held, s.st.heldAddr, s.st.heldID = nil, "", 0
	s.st.inTx, s.st.watching, s.st.pinSlot, s.st.queued = false, false, -1, 0
}

// afterHeld looks at the held connection after a command: a broken one is dropped
// and, when the user broke it with Ctrl-C, replaced at once so that the prompt stays
// true (redis-cli reconnects after Ctrl-C too).
func (s *Shell) afterHeld(ctx context.Context, c *pool.Conn, stopped bool) {
	if c.Broken() == nil {
		return
	}
	s.dropHeld()
	if !s.cl.IsCluster() {
		if stopped {
			_, _ = s.ensureHeld(ctx)
		} else {
			s.setConnected(false)
		}
	}
}

// exec runs one command and returns its reply. stopped says the user pressed Ctrl-C
// while it ran.
func (s *Shell) exec(ctx context.Context, cmd resp.Command) (v resp.Value, err error, stopped bool) {
	if s.cl == nil {
		s.open(ctx, s.opts)
		if s.cl == nil {
			return resp.Value{}, errors.New("rcli: cannot make a client"), false
		}
	}
	if s.cl.IsCluster() {
		return s.execCluster(ctx, cmd)
	}
	c, err := s.ensureHeld(ctx)
	if err != nil {
		return resp.Value{}, err, false
	}
	v, err, stopped = s.onConn(ctx, c, s.st.heldAddr, cmd, true)
	if err == nil {
		s.note(cmd, v)
	}
	s.afterHeld(ctx, c, stopped)
	return v, err, stopped
}

// onConn runs cmd on a connection the shell holds. A blocking command (outside a
// transaction) is sent after CLIENT ID, so that Ctrl-C can release it with CLIENT
// UNBLOCK from another connection; held says c is the held connection, whose ID is
// kept.
func (s *Shell) onConn(ctx context.Context, c *pool.Conn, addr string, cmd resp.Command, held bool) (resp.Value, error, bool) {
	if _, blocks := pool.BlockingTimeout(cmd); !blocks || s.st.inTx {
		return s.await(ctx, func(ctx context.Context) (resp.Value, error) { return c.Do(ctx, cmd) }, nil)
	}
	id := int64(0)
	if held {
		id = s.st.heldID
	}
	if id == 0 {
		c.Write(resp.NewCommand("CLIENT", "ID"))
	}
	c.Write(cmd)
	if err := c.Flush(ctx); err != nil {
		return resp.Value{}, err, false
	}
	if id == 0 {
		v, err := c.Read(ctx)
		if err != nil {
			return resp.Value{}, err, false
		}
		if v.Kind == resp.Integer {
			id = v.Int
		}
		if held {
			s.mu.Lock()
			s.st.heldID = id
			s.mu.Unlock()
		}
	}
	var unblock func() (bool, error)
	if id != 0 {
		unblock = s.unblocker(addr, id)
	}
	return s.await(ctx, c.Read, unblock)
}

// unblocker returns a function that releases the blocked client id at addr with
// CLIENT UNBLOCK, sent on another connection: the blocked command then returns as if
// it had timed out, so its connection survives and nothing it popped is lost. It
// reports whether the client was blocked; an error means the server refused (an ACL
// without CLIENT UNBLOCK).
func (s *Shell) unblocker(addr string, id int64) func() (bool, error) {
	return func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.base), 3*time.Second)
		defer cancel()
		c, err := s.cl.Acquire(ctx, addr)
		if err != nil {
			return false, err
		}
		defer s.cl.Release(addr, c)
		n := 1
		if len(s.st.auth) > 0 {
			c.Write(resp.Command{Args: append([][]byte{[]byte("AUTH")}, s.st.auth...)})
			n++
		}
		c.Write(resp.NewCommand("CLIENT", "UNBLOCK", strconv.FormatInt(id, 10)))
		if err := c.Flush(ctx); err != nil {
			return false, err
		}
		var v resp.Value
		for i := 0; i < n; i++ {
			if v, err = c.Read(ctx); err != nil {
				return false, err
			}
			if v.Kind == resp.Error {
				return false, v.Err()
			}
		}
		return v.Kind == resp.Integer && v.Int == 1, nil
	}
}

// await runs op in a goroutine and waits for it, watching for Ctrl-C. At the first
// Ctrl-C, unblock (when there is one) releases a blocked command, retried briefly
// while the command is not blocked yet; without it, when the server refuses it, or at
// a second Ctrl-C, op's context is cancelled, which closes its connection. stopped
// says Ctrl-C was pressed. Ctrl-Cs from before the command was sent have been
// forgotten by then (drainInterrupts).
func (s *Shell) await(ctx context.Context, op func(context.Context) (resp.Value, error), unblock func() (bool, error)) (v resp.Value, err error, stopped bool) {
	opCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		v   resp.Value
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := op(opCtx)
		done <- result{v, err}
	}()
	presses, attempts := 0, 0
	var retry <-chan time.Time
	tryUnblock := func() {
		attempts++
		ok, err := unblock()
		switch {
		case err != nil:
			s.complain(fmt.Sprintf("rcli: CLIENT UNBLOCK failed (%v): closing the blocked connection instead; an element popped at this instant may be lost", err))
			cancel()
		case ok:
			retry = nil
		case attempts < 20:
			retry = time.After(50 * time.Millisecond) // not blocked yet, or its reply is on the way
		default:
			cancel()
		}
	}
	for {
		select {
		case r := <-done:
			return r.v, r.err, presses > 0
		case <-s.cfg.Interrupts:
			presses++
			if unblock == nil || presses > 1 {
				cancel()
				continue
			}
			tryUnblock()
		case <-retry:
			tryUnblock()
		case <-ctx.Done():
			cancel()
		}
	}
}

// note updates the session state from a command and its reply, as redis-cli does:
// SELECT changes the database (even when queued), MULTI opens a transaction, EXEC
// and DISCARD close it (a failed EXEC and DISCARD give back the database from before
// MULTI), WATCH and UNWATCH, RESET, and a successful AUTH is kept for reconnection.
func (s *Shell) note(cmd resp.Command, v resp.Value) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.st
	ok := v.Kind != resp.Error
	queued := v.Kind == resp.SimpleString && string(v.Str) == "QUEUED"
	if st.inTx && queued {
		st.queued++
	}
	switch {
	case cmd.Is("select") && len(cmd.Args) == 2 && ok:
		if n, err := strconv.Atoi(string(cmd.Args[1])); err == nil {
			st.db = n
		}
	case cmd.Is("multi") && ok && !st.inTx:
		st.inTx, st.preMultiDB, st.queued = true, st.db, 0
	case cmd.Is("exec") && st.inTx:
		st.inTx, st.watching = false, false
		if !ok || v.IsNull() {
			st.db = st.preMultiDB
		}
	case cmd.Is("discard") && st.inTx && ok:
		st.inTx, st.watching = false, false
		st.db = st.preMultiDB
	case cmd.Is("watch") && ok && !st.inTx:
		st.watching = true
	case cmd.Is("unwatch") && ok && !st.inTx:
		st.watching = false
	case cmd.Is("reset") && ok:
		st.inTx, st.watching, st.db, st.auth = false, false, 0, nil
	case cmd.Is("auth") && ok && !st.inTx:
		st.auth = cmd.Args[1:]
	case cmd.Is("hello") && ok:
		for i := 2; i+2 < len(cmd.Args); i++ {
			if strings.EqualFold(string(cmd.Args[i]), "auth") {
				st.auth = cmd.Args[i+1 : i+3]
			}
		}
	}
}

// stream runs a subscribe or monitor command until Ctrl-C, through Config.Stream:
// on the held connection against a standalone server (which is replaced afterwards,
// as redis-cli reconnects), in a cluster from the node in the prompt (shard channels
// are subscribed at the nodes that own them).
func (s *Shell) stream(ctx context.Context, cmd resp.Command) {
	if s.cfg.Stream == nil {
		s.complain("rcli: " + cmd.Name() + " is not available here")
		return
	}
	s.drainInterrupts()
	if s.cl == nil {
		s.open(ctx, s.opts)
		if s.cl == nil {
			return
		}
	}
	var c *pool.Conn
	var addr string
	var err error
	if s.cl.IsCluster() {
		// Shard channels are routed to their owners by the stream itself.
		addr = s.st.current
		if c, err = s.cl.Acquire(ctx, addr); err != nil {
			s.setConnected(false)
			s.fail(err)
			return
		}
	} else {
		if c, err = s.ensureHeld(ctx); err != nil {
			s.fail(err)
			return
		}
		addr = s.st.heldAddr
	}
	_, err, stopped := s.await(ctx, func(ctx context.Context) (resp.Value, error) {
		return resp.Value{}, s.cfg.Stream(ctx, c, cmd)
	}, nil)
	if stopped {
		_, _ = fmt.Fprintln(s.out)
	} else if err != nil && ctx.Err() == nil {
		s.fail(err)
	}
	if s.cl.IsCluster() {
		s.cl.Release(addr, c)
		return
	}
	s.afterHeld(ctx, c, true)
}
