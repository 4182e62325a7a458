package repl

import (
	"context"
	"errors"
	"fmt"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/resp"
)

// execCluster runs one command in cluster mode. Keyed commands go where their slot
// lives, and when that is not the node in the prompt the redirect line is printed
// and the prompt follows; keyless commands go to the node in the prompt, as in
// redis-cli; whole-keyspace commands fan out. MULTI and WATCH pin a connection for
// the transaction (see execPinned), and blocking commands run on a connection of
// their own so that Ctrl-C can release them.
func (s *Shell) execCluster(ctx context.Context, cmd resp.Command) (resp.Value, error, bool) {
	if s.st.held != nil {
		return s.execPinned(ctx, cmd)
	}
	loc, err := s.cl.Locate(ctx, cmd)
	var cross *cluster.CrossSlotError
	switch {
	case errors.As(err, &cross):
		// Refused before sending, for the reason the server would refuse it, and shown
		// like the server's own error reply.
		return resp.ErrorValue(cross.Error()), nil, false
	case err != nil:
		return resp.Value{}, err, false
	}
	addr := s.st.current
	if loc.Kind == cluster.RouteSlot {
		addr = loc.Addr
	}
	switch {
	case cmd.Is("multi"), cmd.Is("watch") && loc.Kind == cluster.RouteSlot:
		return s.pin(ctx, cmd, addr, loc.Slot)
	case loc.Blocking && (loc.Kind == cluster.RouteSlot || loc.Kind == cluster.RouteSeed):
		return s.blockingOn(ctx, cmd, addr, loc.Slot)
	case loc.Kind == cluster.RouteSeed:
		return s.onNode(ctx, cmd, addr)
	}
	var r cluster.Result
	v, err, stopped := s.await(ctx, func(ctx context.Context) (resp.Value, error) {
		r = s.cl.Exec(ctx, cmd)
		return r.Value, r.Err
	}, nil)
	if r.Addr != "" && r.Slot >= 0 {
		s.moveTo(r.Slot, r.Addr)
	}
	s.setConnected(err == nil || stopped)
	return v, err, stopped
}

// moveTo makes addr the node in the prompt, printing redis-cli's redirect line when
// it was another.
func (s *Shell) moveTo(slot int, addr string) {
	s.mu.Lock()
	moved := addr != s.st.current
	s.st.current = addr
	s.mu.Unlock()
	if moved {
		fmt.Fprintf(s.out, "-> Redirected to slot [%d] located at %s\n", slot, addr)
	}
}

// onNode runs a keyless command on the node at addr.
func (s *Shell) onNode(ctx context.Context, cmd resp.Command, addr string) (resp.Value, error, bool) {
	c, err := s.cl.Acquire(ctx, addr)
	if err != nil {
		s.setConnected(false)
		return resp.Value{}, err, false
	}
	v, err, stopped := s.await(ctx, func(ctx context.Context) (resp.Value, error) { return c.Do(ctx, cmd) }, nil)
	s.cl.Release(addr, c)
	s.setConnected(err == nil || stopped)
	return v, err, stopped
}

// blockingOn runs a blocking command on a connection of its own to addr, so that
// Ctrl-C can release it with CLIENT UNBLOCK. A MOVED reply (the slot moved since the
// map was loaded) sends it again to the new owner; an ASK or anything stranger is
// left to the client, which follows it.
func (s *Shell) blockingOn(ctx context.Context, cmd resp.Command, addr string, slot int) (resp.Value, error, bool) {
	for hop := 0; ; hop++ {
		c, err := s.cl.Acquire(ctx, addr)
		if err != nil {
			s.setConnected(false)
			return resp.Value{}, err, false
		}
		v, err, stopped := s.onConn(ctx, c, addr, cmd, false)
		s.cl.Release(addr, c)
		if err != nil || stopped || !cluster.RetryableReply(v) {
			if err == nil && slot >= 0 {
				s.moveTo(slot, addr)
			}
			s.setConnected(err == nil || stopped)
			return v, err, stopped
		}
		r, ok, perr := cluster.ParseRedirect(string(v.Str), addr)
		if ok && perr == nil && !r.Ask && r.Addr != "" && hop < 3 {
			s.cl.NoteRedirect(ctx, r)
			addr, slot = r.Addr, r.Slot
			continue
		}
		var res cluster.Result
		v, err, stopped = s.await(ctx, func(ctx context.Context) (resp.Value, error) {
			res = s.cl.Exec(ctx, cmd)
			return res.Value, res.Err
		}, nil)
		if res.Addr != "" && res.Slot >= 0 {
			s.moveTo(res.Slot, res.Addr)
		}
		s.setConnected(err == nil || stopped)
		return v, err, stopped
	}
}

// pin starts a transaction or a WATCH in cluster mode: a connection to addr (the
// slot's node for WATCH, the node in the prompt for MULTI) is held until EXEC,
// DISCARD, UNWATCH or RESET, and every command in between goes through it.
func (s *Shell) pin(ctx context.Context, cmd resp.Command, addr string, slot int) (resp.Value, error, bool) {
	c, err := s.cl.Acquire(ctx, addr)
	if err != nil {
		s.setConnected(false)
		return resp.Value{}, err, false
	}
	v, err, stopped := s.await(ctx, func(ctx context.Context) (resp.Value, error) { return c.Do(ctx, cmd) }, nil)
	if err != nil || v.Kind == resp.Error {
		s.cl.Release(addr, c)
		s.setConnected(err == nil)
		return v, err, stopped
	}
	if slot >= 0 {
		s.moveTo(slot, addr)
	}
	s.mu.Lock()
	s.st.held, s.st.heldAddr, s.st.heldID, s.st.pinSlot, s.st.queued = c, addr, 0, slot, 0
	s.st.connected = true
	s.mu.Unlock()
	s.note(cmd, v)
	return v, nil, stopped
}

// execPinned runs a command inside a pinned transaction or WATCH. A transaction is
// bound to one slot, as the server requires: the first keyed command binds it (moving
// a MULTI that has nothing queued yet to the slot's node), and a command whose keys
// are in another slot gets a local error and is not sent, so the transaction stays
// usable.
func (s *Shell) execPinned(ctx context.Context, cmd resp.Command) (resp.Value, error, bool) {
	loc, err := s.cl.Locate(ctx, cmd)
	var cross *cluster.CrossSlotError
	switch {
	case errors.As(err, &cross):
		return resp.ErrorValue(cross.Error()), nil, false
	case err != nil:
		return resp.Value{}, err, false
	case loc.Kind == cluster.RouteSplit:
		return resp.ErrorValue(fmt.Sprintf("CROSSSLOT rcli: the keys of %s are in different slots, and a transaction cannot be split", cmd.Name())), nil, false
	case loc.Kind == cluster.RouteSlot && s.st.pinSlot < 0 && loc.Addr != s.st.heldAddr:
		if s.st.watching || s.st.queued > 0 {
			return s.slotError(cmd, loc), nil, false
		}
		// Only MULTI was sent: start it again where the slot lives.
		if err := s.movePin(ctx, loc.Addr); err != nil {
			return resp.Value{}, err, false
		}
		s.moveTo(loc.Slot, loc.Addr)
		s.st.pinSlot = loc.Slot
	case loc.Kind == cluster.RouteSlot && s.st.pinSlot < 0:
		s.st.pinSlot = loc.Slot
	case loc.Kind == cluster.RouteSlot && loc.Slot != s.st.pinSlot:
		return s.slotError(cmd, loc), nil, false
	}
	c := s.st.held
	v, err, stopped := s.onConn(ctx, c, s.st.heldAddr, cmd, true)
	if err == nil {
		s.note(cmd, v)
	}
	if c.Broken() != nil {
		s.dropHeld()
		s.setConnected(stopped)
		return v, err, stopped
	}
	if !s.st.inTx && !s.st.watching {
		s.dropHeld() // EXEC, DISCARD, UNWATCH or RESET ended it
	}
	return v, err, stopped
}

// slotError is the local error for a command whose keys are not in the slot the
// pinned transaction is bound to.
func (s *Shell) slotError(cmd resp.Command, loc cluster.Location) resp.Value {
	where := "runs on " + s.st.heldAddr
	if s.st.pinSlot >= 0 {
		where = fmt.Sprintf("is bound to slot %d on %s", s.st.pinSlot, s.st.heldAddr)
	}
	return resp.ErrorValue(fmt.Sprintf("CROSSSLOT rcli: the keys of %s are in slot %d (served by %s), but this transaction %s; "+
		"the keys of a transaction must share one slot (a hash tag such as {user1} does it); nothing was sent",
		cmd.Name(), loc.Slot, loc.Addr, where))
}

// movePin moves a transaction that has only its MULTI to addr: DISCARD on the old
// connection, MULTI on a new one.
func (s *Shell) movePin(ctx context.Context, addr string) error {
	old, oldAddr := s.st.held, s.st.heldAddr
	_, _ = old.Do(ctx, resp.NewCommand("DISCARD"))
	c, err := s.cl.Acquire(ctx, addr)
	if err != nil {
		s.dropHeld()
		return err
	}
	v, err := c.Do(ctx, resp.NewCommand("MULTI"))
	if err == nil && v.Kind == resp.Error {
		err = fmt.Errorf("rcli: MULTI on %s: %w", addr, v.Err())
	}
	if err != nil {
		s.cl.Release(addr, c)
		s.dropHeld()
		return err
	}
	s.cl.Release(oldAddr, old)
	s.mu.Lock()
	s.st.held, s.st.heldAddr, s.st.heldID = c, addr, 0
	s.mu.Unlock()
	return nil
}
