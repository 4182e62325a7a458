package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/resp"
)

var (
	multiCmd   = resp.NewCommand("MULTI")
	execCmd    = resp.NewCommand("EXEC")
	askingCmd  = resp.NewCommand("ASKING")
	unwatchCmd = resp.NewCommand("UNWATCH")
)

// queueable refuses the commands that cannot be queued in a transaction.
func queueable(cmds []resp.Command) error {
	for _, cmd := range cmds {
		switch {
		case len(cmd.Args) == 0:
			return errors.New("pipeline: empty command in a transaction")
		case cmd.Is("MULTI"), cmd.Is("EXEC"), cmd.Is("DISCARD"), cmd.Is("WATCH"):
			return fmt.Errorf("pipeline: %s cannot be queued in a transaction", cmd.Name())
		}
	}
	return nil
}

// txSlot returns the one slot that the keyed commands of a transaction share, or -1
// when none has a key. Keys in two slots are a *cluster.CrossSlotError, found before
// anything is sent.
func txSlot(ctx context.Context, c *cluster.Client, cmds []resp.Command) (int, error) {
	slot := -1
	for _, cmd := range cmds {
		if len(cmd.Args) == 0 {
			return 0, errors.New("pipeline: empty command in a transaction")
		}
		loc, err := c.Locate(ctx, cmd)
		if err != nil {
			return 0, err
		}
		var slots []int
		switch loc.Kind {
		case cluster.RouteSlot:
			slots = []int{loc.Slot}
		case cluster.RouteSplit:
			return 0, &cluster.CrossSlotError{Command: cmd.Name(), Slots: keySlots(ctx, c, cmd)}
		}
		for _, s := range slots {
			if slot >= 0 && s != slot {
				return 0, &cluster.CrossSlotError{Command: "MULTI", Slots: []int{slot, s}}
			}
			slot = s
		}
	}
	return slot, nil
}

// keySlots returns the distinct slots of a command's keys, in the order they appear.
func keySlots(ctx context.Context, c *cluster.Client, cmd resp.Command) []int {
	spec, err := c.Spec(ctx, string(cmd.Args[0]))
	if err != nil || spec == nil {
		return nil
	}
	pos, err := spec.KeyPositions(cmd.Args)
	if err != nil {
		return nil
	}
	var slots []int
	for _, p := range pos {
		s := cluster.Slot(cmd.Args[p])
		if !slices.Contains(slots, s) {
			slots = append(slots, s)
		}
	}
	return slots
}

// txOutcome is what the replies of one MULTI ... EXEC say.
type txOutcome struct {
	results  []Result          // EXEC's replies, one per command, when it ran
	redirect *cluster.Redirect // a MOVED or ASK that kept it from running
	retry    bool              // TRYAGAIN, CLUSTERDOWN...: it did not run, try again later
	same     bool              // TRYAGAIN: try again on the same node, ASKING included
	aborted  bool              // EXEC replied nil: a watched key changed
	err      error             // a final failure
}

// readTx interprets the replies to MULTI, the n queued commands and EXEC. replies holds
// the ones that arrived (all of them, unless the connection broke); it decides whether
// the transaction ran, provably did not, or cannot be known to have run.
func readTx(cmds []resp.Command, replies []resp.Value, addr string, isCluster bool) txOutcome {
	n := len(cmds)
	if len(replies) > 0 && replies[0].Kind == resp.Error {
		return txOutcome{err: fmt.Errorf("pipeline: MULTI on %s: %w", addr, replies[0].Err())}
	}
	// A command refused when queued makes EXEC fail: the transaction did not run.
	for i := 1; i < len(replies) && i <= n; i++ {
		v := replies[i]
		if v.Kind != resp.Error {
			continue
		}
		if out, ok := notRun(v, addr, isCluster); ok {
			return out
		}
		exec := resp.Value{}
		if len(replies) == n+2 {
			exec = replies[n+1]
		}
		return txOutcome{err: &ExecAbortError{Index: i - 1, Command: cmds[i-1].Name(), Reply: v, Exec: exec}}
	}
	if len(replies) < n+2 {
		return txOutcome{} // EXEC's reply did not arrive: the caller decides
	}
	exec := replies[n+1]
	switch {
	case exec.Kind == resp.Error:
		if out, ok := notRun(exec, addr, isCluster); ok {
			return out
		}
		return txOutcome{err: fmt.Errorf("pipeline: EXEC on %s: %w", addr, exec.Err())}
	case exec.IsNull():
		return txOutcome{aborted: true}
	case exec.Kind != resp.Array || len(exec.Elems) != n:
		return txOutcome{err: fmt.Errorf("pipeline: EXEC on %s replied %s for %d commands", addr, exec, n)}
	}
	results := make([]Result, n)
	for i, v := range exec.Elems {
		results[i].Value = v
	}
	return txOutcome{results: results}
}

// notRun recognises an error reply that proves the transaction did not run and may be
// sent again: a redirect, or TRYAGAIN and its kin.
func notRun(v resp.Value, addr string, isCluster bool) (txOutcome, bool) {
	code := errorCode(v)
	switch {
	case isCluster && (code == "MOVED" || code == "ASK"):
		rd, _, err := cluster.ParseRedirect(string(v.Str), addr)
		if err != nil {
			return txOutcome{err: err}, true
		}
		return txOutcome{redirect: &rd}, true
	case code == "TRYAGAIN":
		// Keys split by a migration: the same node will take it once they have moved.
		return txOutcome{retry: true, same: true}, true
	case code == "LOADING" || code == "MASTERDOWN" || isCluster && code == "CLUSTERDOWN":
		return txOutcome{retry: true}, true
	}
	return txOutcome{}, false
}

// txRetry tracks the redirects and the retry budget of one transaction.
type txRetry struct {
	o         Options
	redirects int
	attempts  int
	since     time.Time
}

// follow applies a redirect, or waits before another attempt after TRYAGAIN or a
// connection that could not be made. It returns the node to try next and whether to
// send ASKING first, or an error when the budget is spent.
func (r *txRetry) follow(ctx context.Context, c *cluster.Client, out txOutcome, slot int, addr string, asking bool) (string, bool, error) {
	if rd := out.redirect; rd != nil {
		r.redirects++
		if r.redirects > r.o.MaxRedirects {
			return "", false, fmt.Errorf("pipeline: transaction redirected %d times, last by %s: %w", r.redirects-1, addr, cluster.ErrTooManyRedirects)
		}
		c.NoteRedirect(ctx, *rd)
		if rd.Ask && rd.Addr != "" {
			return rd.Addr, true, nil
		}
		if next := c.SlotAddr(rd.Slot, false); next != "" {
			return next, false, nil
		}
		return addr, false, nil
	}
	now := time.Now()
	if r.since.IsZero() {
		r.since = now
	}
	d := backoffDelay(r.attempts)
	r.attempts++
	if now.Add(d).Sub(r.since) > r.o.RetryBudget {
		return "", false, fmt.Errorf("pipeline: transaction on %s: retry budget of %s spent", addr, r.o.RetryBudget)
	}
	if !out.same {
		_ = c.NoteClusterDown(ctx)
	}
	if err := sleepUntil(ctx, now.Add(d)); err != nil {
		return "", false, err
	}
	if out.same {
		return addr, asking, nil
	}
	if slot >= 0 {
		if next := c.SlotAddr(slot, false); next != "" {
			return next, false, nil
		}
	}
	return addr, false, nil
}

// Multi runs cmds as one transaction, MULTI ... EXEC, in one round trip on the node that
// owns their slot (the node the client was pointed at when none has a key). It returns
// EXEC's replies, one per command; a command that failed while running is an error
// value among them, as Redis does not roll back.
//
// Errors: a *cluster.CrossSlotError, before anything is sent, when the keys span slots;
// an *ExecAbortError naming the command refused at queue time; ErrTxAborted for a nil
// EXEC; an *UnknownOutcomeError when the connection broke after EXEC may have been
// written. A MOVED or ASK at queue time or on EXEC proves the transaction did not run:
// it is sent again, whole, to the right node (ASKING before MULTI for an ASK), as it is
// after TRYAGAIN or CLUSTERDOWN within the retry budget.
func Multi(ctx context.Context, c *cluster.Client, o Options, cmds ...resp.Command) ([]Result, error) {
	if len(cmds) == 0 {
		return nil, errors.New("pipeline: empty transaction")
	}
	o = o.withDefaults(c)
	if err := queueable(cmds); err != nil {
		return nil, err
	}
	slot, err := txSlot(ctx, c, cmds)
	if err != nil {
		return nil, err
	}
	addr := c.SeedAddr()
	if slot >= 0 {
		if a := c.SlotAddr(slot, false); a != "" {
			addr = a
		}
	}
	batch := make([]resp.Command, 0, len(cmds)+2)
	batch = append(append(append(batch, multiCmd), cmds...), execCmd)
	asking := make([]bool, len(batch))
	r := txRetry{o: o}
	for {
		br := c.ExecBatch(ctx, addr, batch, asking)
		out := readTx(cmds, br.Values[:br.Read], addr, c.IsCluster())
		switch {
		case out.err != nil:
			return nil, out.err
		case out.aborted:
			return nil, ErrTxAborted
		case out.results != nil:
			return out.results, nil
		case out.redirect == nil && !out.retry:
			// No reply proves anything: the connection broke.
			if br.Written {
				return nil, &UnknownOutcomeError{Command: "EXEC", Addr: addr, Err: br.Err}
			}
			if ctx.Err() != nil {
				return nil, fmt.Errorf("pipeline: transaction not sent: %w", br.Err)
			}
		}
		next, ask, err := r.follow(ctx, c, out, slot, addr, asking[0])
		if err != nil {
			return nil, err
		}
		addr, asking[0] = next, ask
	}
}

// Tx is the pinned connection of a Watch: the caller's reads run on it at once, and the
// commands it queues run in MULTI ... EXEC when the caller's function returns.
type Tx struct {
	c      *cluster.Client
	conn   *pool.Conn
	addr   string
	slot   int
	asking bool
	queued []resp.Command
}

// Do runs cmd at once on the watched connection and returns its reply (a server error
// reply is a Value of kind Error). Its keys must be in the watched keys' slot.
func (tx *Tx) Do(ctx context.Context, cmd resp.Command) (resp.Value, error) {
	if err := tx.checkSlot(ctx, cmd); err != nil {
		return resp.Value{}, err
	}
	if tx.asking {
		tx.conn.Write(askingCmd)
	}
	tx.conn.Write(cmd)
	if err := tx.conn.Flush(ctx); err != nil {
		return resp.Value{}, err
	}
	if tx.asking {
		if _, err := tx.conn.Read(ctx); err != nil {
			return resp.Value{}, err
		}
	}
	return tx.conn.Read(ctx)
}

// Queue adds commands to the transaction that runs when the caller's function returns.
// Their keys must be in the watched keys' slot.
func (tx *Tx) Queue(ctx context.Context, cmds ...resp.Command) error {
	if err := queueable(cmds); err != nil {
		return err
	}
	for _, cmd := range cmds {
		if err := tx.checkSlot(ctx, cmd); err != nil {
			return err
		}
	}
	tx.queued = append(tx.queued, cmds...)
	return nil
}

// Addr returns the node the transaction runs on.
func (tx *Tx) Addr() string { return tx.addr }

func (tx *Tx) checkSlot(ctx context.Context, cmd resp.Command) error {
	s, err := txSlot(ctx, tx.c, []resp.Command{cmd})
	if err != nil {
		return err
	}
	if s >= 0 && tx.slot >= 0 && s != tx.slot {
		return &cluster.CrossSlotError{Command: cmd.Name(), Slots: []int{tx.slot, s}}
	}
	return nil
}

// Watch runs an optimistic transaction: on one pinned connection to the node that owns
// the keys' slot it sends WATCH keys, calls fn, which reads with tx.Do and queues writes
// with tx.Queue, then runs the queued commands in MULTI ... EXEC. When a watched key
// changed meanwhile (a nil EXEC), it starts again with a fresh WATCH and calls fn again,
// up to Options.WatchAttempts times, then fails with an error wrapping ErrWatchRetries
// and ErrTxAborted. It returns EXEC's replies, or nil when fn queued nothing.
//
// An error from fn ends Watch with that error. The keys must share one slot. A redirect
// of WATCH or of the transaction is followed (ASKING before each command for an ASK)
// without counting as an attempt; errors are as for Multi.
func Watch(ctx context.Context, c *cluster.Client, o Options, keys []string, fn func(ctx context.Context, tx *Tx) error) ([]Result, error) {
	if len(keys) == 0 {
		return nil, errors.New("pipeline: WATCH needs at least one key")
	}
	o = o.withDefaults(c)
	watch := resp.NewCommand(append([]string{"WATCH"}, keys...)...)
	slot, err := txSlot(ctx, c, []resp.Command{watch})
	if err != nil {
		return nil, err
	}
	addr := c.SeedAddr()
	if slot >= 0 {
		if a := c.SlotAddr(slot, false); a != "" {
			addr = a
		}
	}
	r := txRetry{o: o}
	asking := false
	for attempt := 0; attempt < o.WatchAttempts; {
		tx := &Tx{c: c, addr: addr, slot: slot, asking: asking}
		res, out, err := tx.attempt(ctx, watch, fn)
		switch {
		case err != nil:
			return nil, err
		case out.aborted:
			attempt++
			continue
		case out.redirect != nil || out.retry:
			if addr, asking, err = r.follow(ctx, c, out, slot, addr, asking); err != nil {
				return nil, err
			}
			continue
		}
		return res, nil
	}
	return nil, fmt.Errorf("pipeline: %d attempts: %w (%w)", o.WatchAttempts, ErrWatchRetries, ErrTxAborted)
}

// attempt runs one WATCH, fn, MULTI ... EXEC on a connection of its own. It returns
// EXEC's results, or an outcome that asks for another attempt, or a final error.
func (tx *Tx) attempt(ctx context.Context, watch resp.Command, fn func(context.Context, *Tx) error) ([]Result, txOutcome, error) {
	conn, err := tx.c.Acquire(ctx, tx.addr)
	if err != nil {
		if ctx.Err() == nil {
			return nil, txOutcome{retry: true}, nil
		}
		return nil, txOutcome{}, err
	}
	tx.conn = conn
	defer tx.c.Release(tx.addr, conn)
	v, err := tx.Do(ctx, watch)
	if err != nil {
		if ctx.Err() == nil {
			return nil, txOutcome{retry: true}, nil // WATCH changes no data: safe to send again
		}
		return nil, txOutcome{}, err
	}
	if v.Kind == resp.Error {
		if out, ok := notRun(v, tx.addr, tx.c.IsCluster()); ok {
			return nil, out, out.err
		}
		return nil, txOutcome{}, fmt.Errorf("pipeline: WATCH on %s: %w", tx.addr, v.Err())
	}
	if err := fn(ctx, tx); err != nil {
		return nil, txOutcome{}, err
	}
	if len(tx.queued) == 0 {
		_, err := tx.Do(ctx, unwatchCmd)
		return nil, txOutcome{}, err
	}
	if tx.asking {
		conn.Write(askingCmd)
	}
	conn.Write(multiCmd)
	for _, cmd := range tx.queued {
		conn.Write(cmd)
	}
	conn.Write(execCmd)
	if err := conn.Flush(ctx); err != nil {
		return nil, txOutcome{}, &UnknownOutcomeError{Command: "EXEC", Addr: tx.addr, Err: err}
	}
	if tx.asking {
		if _, err := conn.Read(ctx); err != nil {
			return nil, txOutcome{}, &UnknownOutcomeError{Command: "EXEC", Addr: tx.addr, Err: err}
		}
	}
	replies := make([]resp.Value, 0, len(tx.queued)+2)
	var readErr error
	for range len(tx.queued) + 2 {
		v, err := conn.Read(ctx)
		if err != nil {
			readErr = err
			break
		}
		replies = append(replies, v)
	}
	out := readTx(tx.queued, replies, tx.addr, tx.c.IsCluster())
	switch {
	case out.err != nil:
		return nil, out, out.err
	case out.results != nil:
		return out.results, out, nil
	case out.aborted, out.redirect != nil, out.retry:
		return nil, out, nil
	}
	return nil, txOutcome{}, &UnknownOutcomeError{Command: "EXEC", Addr: tx.addr, Err: readErr}
}
