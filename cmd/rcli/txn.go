package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/resp"
)

// maxPinHops bounds the MOVED replies followed when a WATCH or MULTI pins a node.
const maxPinHops = 3

// txPin is a connection pinned, in cluster mode, from WATCH or MULTI until EXEC,
// DISCARD, UNWATCH or RESET ends it, so that a transaction typed one stdin line at a
// time stays on one connection, as it does against a standalone server (whose
// connection is held for the whole run) and in the shell.
type txPin struct {
	conn     *pool.Conn // nil when nothing is pinned
	addr     string
	slot     int // the slot the transaction is bound to; -1 until a keyed command binds it
	inTx     bool
	watching bool
	queued   int // commands queued since MULTI
}

// doPinned runs cmd when it starts a pin (WATCH of a key, MULTI) or a pin is in
// force, and reports whether it did; otherwise the command is routed as usual.
func (s *session) doPinned(ctx context.Context, cmd resp.Command) (resp.Value, error, bool) {
	if s.tx.conn == nil && !cmd.Is("multi") && !cmd.Is("watch") {
		return resp.Value{}, nil, false
	}
	if s.cl.Topology() == nil {
		// A one-shot client has no slot map yet, and a transaction must know where
		// every key lives before anything is sent.
		if err := s.cl.Refresh(ctx); err != nil {
			return resp.Value{}, err, true
		}
	}
	loc, err := s.cl.Locate(ctx, cmd)
	var cross *cluster.CrossSlotError
	switch {
	case errors.As(err, &cross):
		return resp.ErrorValue(cross.Error()), nil, true
	case err != nil:
		return resp.Value{}, err, true
	}
	if s.tx.conn == nil {
		if cmd.Is("watch") && loc.Kind != cluster.RouteSlot {
			return resp.Value{}, nil, false // no key: the server's own error
		}
		return s.pin(ctx, cmd, loc)
	}
	switch {
	case loc.Kind == cluster.RouteSplit || loc.Kind == cluster.RouteFanout:
		return resp.ErrorValue(fmt.Sprintf("CROSSSLOT rcli: %s spans the cluster's nodes, and a transaction runs on one; nothing was sent",
			cmd.Name())), nil, true
	case loc.Kind == cluster.RouteSlot && s.tx.slot < 0 && loc.Addr != s.tx.addr:
		if s.tx.watching || s.tx.queued > 0 {
			return s.txSlotError(cmd, loc), nil, true
		}
		// Only MULTI was sent: start it again where the slot lives.
		if err := s.movePin(ctx, loc.Addr); err != nil {
			return resp.Value{}, err, true
		}
		s.tx.slot = loc.Slot
		s.noteNode(loc.Slot, loc.Addr)
	case loc.Kind == cluster.RouteSlot && s.tx.slot < 0:
		s.tx.slot = loc.Slot
	case loc.Kind == cluster.RouteSlot && loc.Slot != s.tx.slot:
		return s.txSlotError(cmd, loc), nil, true
	}
	v, err := s.tx.conn.Do(ctx, cmd)
	if err != nil {
		s.unpin()
		return v, err, true
	}
	s.tx.note(cmd, v)
	if !s.tx.inTx && !s.tx.watching {
		s.unpin() // EXEC, DISCARD, UNWATCH or RESET ended it
	}
	return v, nil, true
}

// pin runs WATCH (on its key's node) or MULTI (on the node of the last command) on a
// connection that stays pinned until the transaction ends; a MOVED reply is followed.
func (s *session) pin(ctx context.Context, cmd resp.Command, loc cluster.Location) (resp.Value, error, bool) {
	addr, slot := s.current, -1
	if loc.Kind == cluster.RouteSlot {
		addr, slot = loc.Addr, loc.Slot
	}
	for hop := 0; ; hop++ {
		c, err := s.cl.Acquire(ctx, addr)
		if err != nil {
			return resp.Value{}, err, true
		}
		v, err := c.Do(ctx, cmd)
		if err == nil && v.Kind != resp.Error {
			s.tx = txPin{conn: c, addr: addr, slot: slot}
			s.tx.note(cmd, v)
			if slot >= 0 {
				s.noteNode(slot, addr)
			}
			return v, nil, true
		}
		s.cl.Release(addr, c)
		if err != nil || hop == maxPinHops {
			return v, err, true
		}
		rd, ok, perr := cluster.ParseRedirect(string(v.Str), addr)
		if !ok || perr != nil || rd.Ask || rd.Addr == "" {
			return v, nil, true
		}
		s.cl.NoteRedirect(ctx, rd)
		addr = rd.Addr
	}
}

// movePin moves a transaction that has only its MULTI to addr: DISCARD on the old
// connection, MULTI on a new one.
func (s *session) movePin(ctx context.Context, addr string) error {
	_, _ = s.tx.conn.Do(ctx, resp.NewCommand("DISCARD"))
	s.unpin()
	v, err, _ := s.pin(ctx, resp.NewCommand("MULTI"), cluster.Location{Kind: cluster.RouteSeed, Addr: addr, Slot: -1})
	if err == nil && v.Kind == resp.Error {
		err = fmt.Errorf("rcli: MULTI on %s: %w", addr, v.Err())
	}
	if err == nil && s.tx.addr != addr {
		s.unpin()
		err = fmt.Errorf("rcli: MULTI on %s went to %s", addr, s.tx.addr)
	}
	return err
}

// unpin gives the pinned connection back (a broken one, or one still in a
// transaction, is closed by the pool).
func (s *session) unpin() {
	if s.tx.conn != nil {
		s.cl.Release(s.tx.addr, s.tx.conn)
	}
	s.tx = txPin{}
}

// noteNode records the node that served a keyed command, printing the redirect line
// when it changed.
func (s *session) noteNode(slot int, addr string) {
	if addr != s.current && s.onMoved != nil {
		s.onMoved(slot, addr)
	}
	s.current = addr
}

// txSlotError is the local error for a command whose keys are not in the slot the
// pinned transaction is bound to.
func (s *session) txSlotError(cmd resp.Command, loc cluster.Location) resp.Value {
	where := "runs on " + s.tx.addr
	if s.tx.slot >= 0 {
		where = fmt.Sprintf("is bound to slot %d on %s", s.tx.slot, s.tx.addr)
	}
	return resp.ErrorValue(fmt.Sprintf("CROSSSLOT rcli: the keys of %s are in slot %d (served by %s), but this transaction %s; "+
		"the keys of a transaction must share one slot (a hash tag such as {user1} does it); nothing was sent",
		cmd.Name(), loc.Slot, loc.Addr, where))
}

// note follows the transaction's state from a command and its reply.
func (t *txPin) note(cmd resp.Command, v resp.Value) {
	ok := v.Kind != resp.Error
	if t.inTx && v.Kind == resp.SimpleString && string(v.Str) == "QUEUED" {
		t.queued++
	}
	switch {
	case cmd.Is("multi") && ok && !t.inTx:
		t.inTx, t.queued = true, 0
	case cmd.Is("exec") && t.inTx, cmd.Is("discard") && t.inTx && ok, cmd.Is("reset") && ok:
		t.inTx, t.watching = false, false
	case cmd.Is("watch") && ok && !t.inTx:
		t.watching = true
	case cmd.Is("unwatch") && ok && !t.inTx:
		t.watching = false
	}
}
