package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/resp"
)

// A connection keeps up to windowChunks chunks written and not yet read: while it reads
// the replies of the oldest, the server works on the others.
const (
	windowChunks = 4
	chunkBytes   = 256 << 10
)

// worker owns one connection of a pipe run. It writes the chunks the dispatcher hands
// it, several ahead of the replies, and reads the replies in order.
type worker struct {
	p       *pipe
	key     connKey
	queue   chan *chunk
	session []resp.Command // SELECT, AUTH to replay first
	open    *chunk         // the chunk being filled: owned by the dispatcher
	buried  bool           // the dispatcher knows it is dead: owned by the dispatcher
	err     string         // why it died

	replies []resp.Value // scratch for a block's replies
	okWait  []*record    // ok replies waiting for the chunk's WAIT
	acc     settleAcc
}

// settleAcc groups the bookkeeping of settled records so that each chunk costs a few
// atomic operations rather than a few per record.
type settleAcc struct {
	ok    int64
	final int64
	b     *batch
	bn    int64
	slot  int32
	sn    int32
}

var bg = context.Background()

// run connects, then writes and reads until its queue is closed or the connection
// breaks.
func (w *worker) run() {
	p := w.p
	pc, err := p.c.Acquire(p.ctx, w.key.addr)
	if err != nil {
		w.fail(nil, 0, err, false)
		return
	}
	if !p.register(pc) {
		p.c.Release(w.key.addr, pc)
		w.fail(nil, 0, fmt.Errorf("pipeline: the run was interrupted"), false)
		return
	}
	defer func() {
		p.unregister(pc)
		p.c.Release(w.key.addr, pc)
	}()
	for _, cmd := range w.session {
		if _, err := pc.Do(p.ctx, cmd); err != nil {
			w.fail(nil, 0, err, false)
			return
		}
	}
	window := make([]*chunk, 0, windowChunks)
	closed := false
	for {
		for len(window) < windowChunks && !closed {
			var ch *chunk
			if len(window) == 0 {
				c, ok := <-w.queue
				if !ok {
					return
				}
				ch = c
			} else {
				select {
				case c, ok := <-w.queue:
					if !ok {
						closed = true
						continue
					}
					ch = c
				default:
				}
				if ch == nil {
					break
				}
			}
			window = append(window, ch)
			if err := w.write(pc, ch); err != nil {
				w.fail(window, 0, err, true)
				return
			}
		}
		if len(window) == 0 {
			return
		}
		if k, err := w.readChunk(pc, window[0]); err != nil {
			window[0].recs = window[0].recs[k:]
			w.fail(window, 0, err, true)
			return
		}
		copy(window, window[1:])
		window[len(window)-1] = nil
		window = window[:len(window)-1]
	}
}

// write buffers a chunk, runs of adjacent records in one copy, and flushes it.
func (w *worker) write(pc *pool.Conn, ch *chunk) error {
	var run *batch
	lo, hi, n := 0, 0, 0
	flushRun := func() {
		if n > 0 {
			pc.WriteRaw(run.buf[lo:hi], n)
			n = 0
		}
	}
	counted := 0
	for _, r := range ch.recs {
		if r.flags&flagShadow == 0 {
			counted++
		}
		switch {
		case r.flags&(flagAsking|flagBlocking) != 0:
			flushRun()
			if r.flags&flagAsking != 0 {
				pc.Write(askingCmd)
			}
			if r.flags&flagBlocking != 0 {
				pc.Write(decodeCommand(r.data))
			} else {
				pc.WriteRaw(r.data, 1)
			}
		case r.b != nil && n > 0 && r.b == run && r.lo == hi:
			hi = r.hi
			n++
		case r.b != nil:
			flushRun()
			run, lo, hi, n = r.b, r.lo, r.hi, 1
		default:
			flushRun()
			pc.WriteRaw(r.data, 1)
		}
	}
	flushRun()
	if w.p.o.Wait > 0 && counted > 0 {
		pc.Write(w.p.waitCmd())
	}
	if err := pc.Flush(w.p.ctx); err != nil {
		return err
	}
	w.p.sent.Add(int64(counted))
	return nil
}

// waitCmd returns WAIT numreplicas timeout.
func (p *pipe) waitCmd() resp.Command {
	return resp.NewCommand("WAIT", strconv.Itoa(p.o.Wait), strconv.FormatInt(p.o.WaitTimeout.Milliseconds(), 10))
}

// readChunk reads the replies of a chunk and settles its records. On a failure it
// returns the index of the first record not settled.
func (w *worker) readChunk(pc *pool.Conn, ch *chunk) (int, error) {
	defer w.flushAcc()
	recs := ch.recs
	counted := false
	for i := 0; i < len(recs); {
		r := recs[i]
		if r.flags&flagShadow == 0 {
			counted = true
		}
		n := max(int(r.nblock), 1)
		w.replies = w.replies[:0]
		for j := range n {
			if recs[i+j].flags&flagAsking != 0 {
				if _, err := pc.Read(bg); err != nil {
					return i, err
				}
			}
			v, err := pc.Read(bg)
			if err != nil {
				return i, err
			}
			w.replies = append(w.replies, v)
		}
		if n == 1 {
			w.settle(r, w.replies[0])
		} else {
			w.settleBlock(recs[i:i+n], w.replies)
		}
		i += n
	}
	w.p.touch()
	if w.p.o.Wait > 0 && counted {
		v, err := pc.Read(bg)
		if err != nil {
			return len(recs), err
		}
		w.confirm(v)
	}
	return len(recs), nil
}

// confirm settles the ok replies of a chunk with the reply of its WAIT.
func (w *worker) confirm(v resp.Value) {
	if v.Kind == resp.Integer && v.Int >= int64(w.p.o.Wait) {
		for _, r := range w.okWait {
			w.ok(r)
		}
	} else {
		why := fmt.Sprintf("WAIT %d replied %s", w.p.o.Wait, v.Text())
		if v.Kind == resp.Integer {
			why = fmt.Sprintf("%d of %d replicas acknowledged it within %s", v.Int, w.p.o.Wait, w.p.o.WaitTimeout)
		}
		for _, r := range w.okWait {
			w.p.report(r, OutcomeOK, w.key.addr, why, true)
			w.settled(r, false)
		}
	}
	clear(w.okWait)
	w.okWait = w.okWait[:0]
}

// settle decides what one reply means for its record.
func (w *worker) settle(r *record, v resp.Value) {
	if r.flags&flagShadow != 0 {
		return
	}
	if v.Kind != resp.Error {
		if r.slot >= 0 && w.p.gaveUp[r.slot].Load() {
			w.p.gaveUp[r.slot].Store(false)
		}
		if w.p.o.Wait > 0 {
			w.okWait = append(w.okWait, r)
			w.settleSlot(r.slot, 1)
			return
		}
		w.ok(r)
		return
	}
	if w.retry([]*record{r}, v) {
		return
	}
	w.p.report(r, OutcomeError, w.key.addr, string(v.Str), false)
	w.settled(r, true)
}

// ok settles a record that ended ok.
func (w *worker) ok(r *record) {
	w.acc.ok++
	w.settled(r, w.p.o.Wait == 0)
}

// settled counts a record as final, and (slot) no longer in flight.
func (w *worker) settled(r *record, slot bool) {
	w.acc.final++
	w.dropRef(r)
	if slot {
		w.settleSlot(r.slot, 1)
	}
}

// dropRef drops a record's reference to its batch.
func (w *worker) dropRef(r *record) {
	a := &w.acc
	if r.b != a.b {
		w.p.releaseBatch(a.b, a.bn)
		a.b, a.bn = r.b, 0
	}
	a.bn++
}

// settleSlot counts n records of a slot as no longer in flight.
func (w *worker) settleSlot(slot int32, n int32) {
	if slot < 0 {
		return
	}
	a := &w.acc
	if a.sn > 0 && a.slot != slot {
		w.p.settleSlots(a.slot, a.sn)
		a.sn = 0
	}
	a.slot = slot
	a.sn += n
}

// flushAcc applies the grouped bookkeeping.
func (w *worker) flushAcc() {
	a := &w.acc
	p := w.p
	if a.ok > 0 {
		p.out.addOK(a.ok)
	}
	p.releaseBatch(a.b, a.bn)
	if a.sn > 0 {
		p.settleSlots(a.slot, a.sn)
	}
	if a.final > 0 && p.outstanding.Add(-a.final) == 0 {
		p.signal()
	}
	*a = settleAcc{}
}

// settleSlots counts n records of a slot as no longer in flight, and wakes the
// dispatcher when the slot's held commands may now go.
func (p *pipe) settleSlots(slot, n int32) {
	if p.inflight[slot].Add(-n) == 0 && p.heldFlag[slot].Load() {
		p.signal()
	}
}

// settleInflight counts a unit as no longer in flight.
func (p *pipe) settleInflight(u []*record) {
	if s := u[0].slot; s >= 0 {
		p.settleSlots(s, int32(len(u)))
	}
}

// retry hands a unit back to the dispatcher when its error reply proves it did not run
// and it may go again: a redirect, TRYAGAIN and the like. It reports false when the
// reply is final.
func (w *worker) retry(u []*record, v resp.Value) bool {
	p := w.p
	r := u[0]
	code := errorCode(v)
	var rs retryState
	if r.rs != nil {
		rs = *r.rs
	}
	switch {
	case p.isCluster && (code == "MOVED" || code == "ASK"):
		rd, _, err := cluster.ParseRedirect(string(v.Str), w.key.addr)
		if err != nil {
			return false
		}
		rs.redirects++
		if rs.redirects > p.o.MaxRedirects {
			return false
		}
		if rd.Addr == "" {
			// The server does not know the endpoint: learn the topology first.
			rs.refresh = true
			rs.notBefore = time.Now().Add(backoffDelay(rs.redirects))
		} else {
			p.c.NoteRedirect(p.ctx, rd)
		}
		rs.askAddr = ""
		if rd.Ask {
			rs.askAddr = rd.Addr
		}
		if rd.Addr != "" {
			rs.notBefore = time.Time{}
		}
		rs.lastErr = string(v.Str)
	case code == "TRYAGAIN", code == "LOADING", code == "MASTERDOWN",
		p.isCluster && (code == "CLUSTERDOWN" || code == "READONLY"):
		tmp := &record{slot: r.slot, rs: &rs}
		if !p.backoff(tmp, string(v.Str)) {
			return false
		}
		if code != "TRYAGAIN" {
			rs.askAddr = "" // TRYAGAIN: the same node, ASKING included, once the keys moved
			rs.refresh = true
		}
	default:
		return false
	}
	p.retries.Add(1)
	rc := p.copyUnit(u)
	*rc[0].rs = rs
	p.setAsking(rc)
	p.requeue(rc)
	for _, x := range u {
		w.dropRef(x)
	}
	w.settleSlot(r.slot, int32(len(u)))
	return true
}

// setAsking marks the records of a unit that need ASKING before them: all of them for
// a single command, and up to MULTI for a block (inside MULTI, one ASKING covers all).
func (p *pipe) setAsking(u []*record) {
	ask := u[0].rs != nil && u[0].rs.askAddr != ""
	for _, r := range u {
		if !ask || r.flags&flagQueued != 0 || r.flags&flagExec != 0 {
			r.flags &^= flagAsking
			continue
		}
		r.flags |= flagAsking
	}
}

// requeue hands a unit to the dispatcher to send again.
func (p *pipe) requeue(u []*record) {
	p.inboxMu.Lock()
	p.inbox = append(p.inbox, inboxItem{unit: u})
	p.inboxMu.Unlock()
	p.signal()
}

// settleBlock decides what the replies of a MULTI/WATCH block mean: the whole block
// again when a reply proves it did not run, else one outcome per record.
func (w *worker) settleBlock(u []*record, replies []resp.Value) {
	if u[0].flags&flagShadow != 0 {
		return
	}
	n := len(u)
	last := u[n-1]
	exec := replies[n-1]
	if last.flags&flagExec != 0 {
		for j, v := range replies {
			if v.Kind != resp.Error {
				continue
			}
			if j < n-1 && exec.Kind == resp.Error || j == n-1 {
				if w.retry(u, v) {
					return
				}
			}
			break
		}
	}
	queued := 0
	for j, r := range u {
		v := replies[j]
		switch {
		case v.Kind == resp.Error:
			w.p.report(r, OutcomeError, w.key.addr, string(v.Str), false)
			w.settled(r, true)
			continue
		case r.flags&flagQueued == 0 || last.flags&flagExec == 0:
		case exec.Kind == resp.Error:
			w.p.report(r, OutcomeError, w.key.addr, "not run: "+string(exec.Str), false)
			w.settled(r, true)
			continue
		case exec.IsNull():
			w.p.report(r, OutcomeError, w.key.addr, "not run: a watched key changed (EXEC replied nil)", false)
			w.settled(r, true)
			continue
		case exec.Kind == resp.Array && queued < len(exec.Elems):
			e := exec.Elems[queued]
			queued++
			if e.Kind == resp.Error {
				w.p.report(r, OutcomeError, w.key.addr, string(e.Str), false)
				w.settled(r, true)
				continue
			}
		}
		if w.p.o.Wait > 0 {
			w.okWait = append(w.okWait, r)
			w.settleSlot(r.slot, 1)
			continue
		}
		w.ok(r)
	}
}

// fail handles a connection that broke or could not be made. The records of window
// from chunk 0 on were written (when written is true) and end unknown, unless they may
// safely go again; the chunks still queued were never written and go again. The
// dispatcher hears of the death and closes the queue once it has.
func (w *worker) fail(window []*chunk, _ int, err error, written bool) {
	p := w.p
	w.err = err.Error()
	unknownWhy := "connection to " + w.key.addr + " lost: " + err.Error()
	if p.ctx.Err() != nil {
		if cause := context.Cause(p.ctx); cause == errPipeTimeout {
			unknownWhy = "no reply within the pipe timeout"
		} else {
			unknownWhy = "the run was interrupted before its reply"
		}
	}
	// Writes whose WAIT did not answer: acknowledged, but whether they reached the
	// replicas is unknown, which is what --wait was asked to tell.
	for _, r := range w.okWait {
		p.report(r, OutcomeUnknown, w.key.addr, "connection lost before WAIT answered: "+err.Error(), false)
		w.settled(r, false)
	}
	w.okWait = w.okWait[:0]
	for _, ch := range window {
		for _, u := range p.unitsOf(ch.recs) {
			if u[0].flags&flagShadow != 0 {
				continue
			}
			if written && !p.resendable(u) {
				for _, r := range u {
					p.report(r, OutcomeUnknown, w.key.addr, unknownWhy, false)
					w.settled(r, true)
				}
				continue
			}
			w.again(u, err)
		}
	}
	w.flushAcc()
	p.inboxMu.Lock()
	p.inbox = append(p.inbox, inboxItem{dead: w})
	p.inboxMu.Unlock()
	p.signal()
	for ch := range w.queue {
		for _, u := range p.unitsOf(ch.recs) {
			if u[0].flags&flagShadow == 0 {
				w.again(u, err)
			}
		}
		w.flushAcc()
	}
}

// again sends a unit that was never written (or may safely run twice) again after a
// backoff, or ends it with an error when its budget is spent.
func (w *worker) again(u []*record, err error) {
	p := w.p
	rc := p.copyUnit(u)
	for _, x := range u {
		w.dropRef(x)
	}
	if p.ctx.Err() == nil && p.backoff(rc[0], err.Error()) {
		p.retries.Add(1)
		rc[0].rs.askAddr = ""
		rc[0].rs.refresh = true
		p.setAsking(rc)
		p.requeue(rc)
	} else {
		why := "not sent: " + err.Error()
		if rc[0].rs != nil && rc[0].rs.lastErr != "" {
			why = "not sent: " + rc[0].rs.lastErr
		}
		out := OutcomeError
		if p.ctx.Err() != nil {
			out, why = OutcomeRejected, "not sent: the run was interrupted"
		}
		p.finishUnit(rc, out, w.key.addr, why)
	}
	w.settleSlot(u[0].slot, int32(len(u)))
}

// resendable reports whether a unit whose outcome is unknown may be sent again: never a
// block; a command the server flags readonly, with ResendReadOnly; one on the
// idempotent list, with ResendIdempotent.
func (p *pipe) resendable(u []*record) bool {
	if len(u) != 1 || u[0].flags&flagBlocking != 0 {
		return false
	}
	r := u[0]
	if p.o.ResendReadOnly && r.flags&flagReadOnly != 0 {
		return true
	}
	return p.o.ResendIdempotent && idempotent(decodeCommand(r.data))
}

// idempotent reports whether running cmd twice leaves the same data as running it once.
func idempotent(cmd resp.Command) bool {
	has := func(words ...string) bool {
		for _, a := range cmd.Args[1:] {
			for _, w := range words {
				if bytes.EqualFold(a, []byte(w)) {
					return true
				}
			}
		}
		return false
	}
	switch {
	case cmd.Is("SET"):
		return !has("GET", "KEEPTTL")
	case cmd.Is("DEL"), cmd.Is("UNLINK"), cmd.Is("HSET"), cmd.Is("SADD"), cmd.Is("PEXPIREAT"), cmd.Is("EXPIREAT"):
		return true
	case cmd.Is("ZADD"):
		return !has("INCR")
	}
	return false
}

// unitsOf splits a chunk's records into units: single records and whole blocks.
func (p *pipe) unitsOf(recs []*record) [][]*record {
	var units [][]*record
	for i := 0; i < len(recs); {
		n := max(int(recs[i].nblock), 1)
		n = min(n, len(recs)-i)
		units = append(units, recs[i:i+n:i+n])
		i += n
	}
	return units
}

// copyUnit copies a unit out of its batch, so that the batch can be reused while the
// unit waits to go again, and drops its references to the batch.
func (p *pipe) copyUnit(u []*record) []*record {
	out := make([]*record, len(u))
	for i, r := range u {
		rc := new(record)
		*rc = *r
		rc.data = bytes.Clone(r.data)
		rc.b, rc.members, rc.lo, rc.hi = nil, nil, 0, 0
		if r.rs != nil {
			rs := *r.rs
			rc.rs = &rs
		} else if i == 0 {
			rc.rs = &retryState{}
		}
		out[i] = rc
	}
	if len(out) > 1 {
		out[0].members = out[1:]
	}
	return out
}

// backoff schedules another attempt of r after a growing, jittered wait, and reports
// false when its retry budget is spent (or was spent by another command of its slot,
// until one succeeds), with why as the last error.
func (p *pipe) backoff(r *record, why string) bool {
	if r.rs == nil {
		r.rs = &retryState{}
	}
	rs := r.rs
	rs.lastErr = why
	if r.slot >= 0 && p.gaveUp[r.slot].Load() {
		return false
	}
	now := time.Now()
	if rs.since.IsZero() {
		rs.since = now
	}
	d := backoffDelay(rs.attempts)
	rs.attempts++
	if now.Add(d).Sub(rs.since) > p.o.RetryBudget {
		if r.slot >= 0 {
			p.gaveUp[r.slot].Store(true)
		}
		return false
	}
	rs.notBefore = now.Add(d)
	return true
}

// report reports a record that did not end ok (or an unconfirmed write).
func (p *pipe) report(r *record, out Outcome, addr, why string, unconfirmed bool) {
	p.out.fail(ReportLine{Command: r.seq, Line: r.line, Offset: r.off, Name: commandName(r.data),
		Reply: why, Addr: addr}, out, unconfirmed)
}

// finish ends one record outside the connections' grouped bookkeeping.
func (p *pipe) finish(r *record, out Outcome, addr, why string) {
	p.report(r, out, addr, why, false)
	p.releaseBatch(r.b, 1)
	if p.outstanding.Add(-1) == 0 {
		p.signal()
	}
}

// finishOK ends one record ok outside the connections' grouped bookkeeping.
func (p *pipe) finishOK(r *record) {
	p.out.addOK(1)
	p.releaseBatch(r.b, 1)
	if p.outstanding.Add(-1) == 0 {
		p.signal()
	}
}

// finishUnit ends every record of a unit the same way.
func (p *pipe) finishUnit(u []*record, out Outcome, addr, why string) {
	for _, r := range u {
		p.finish(r, out, addr, why)
	}
}
