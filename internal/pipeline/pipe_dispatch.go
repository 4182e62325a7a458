package pipeline

import (
	"bytes"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/resp"
)

// maxHeld bounds the commands the dispatcher keeps waiting for a retry or a drain;
// past it, it reads no more input until some are sent.
const maxHeld = 200_000

// connKey names one of the connections of a pipe run: the node and its index there.
type connKey struct {
	addr string
	idx  int
}

// chunk is a run of records written to one connection at once.
type chunk struct {
	recs  []*record
	bytes int
}

// slotRoute caches where a slot's commands went last, to skip the map of connections.
type slotRoute struct {
	addr string
	w    *worker
}

// heldQueue holds, in input order, the units of one slot that wait: for a retry's
// backoff, for the commands before them to settle, or for their slot to have an owner.
type heldQueue struct {
	units [][]*record
}

// dispatcher is the one goroutine that decides where each record goes and when. It
// owns the routing state: connections, held queues, barriers.
type dispatcher struct {
	p             *pipe
	in            <-chan *batch
	onTransferred func()

	cur *batch // the batch being routed
	idx int
	eof bool

	workers  map[connKey]*worker
	openList []*worker // workers with an open chunk
	lastConn [cluster.SlotCount]*worker
	byslot   [cluster.SlotCount]slotRoute // the last connection each slot was routed to
	held     map[int32]*heldQueue
	heldN    int

	barrier   []*record // a barrier unit waiting for everything before it to settle
	waitDrain bool      // a barrier was sent: everything waits until it settles
	session   []resp.Command
	wg        sync.WaitGroup

	chunkRecs  int
	refreshing atomic.Bool
	nextWake   time.Time
}

func newDispatcher(p *pipe, in <-chan *batch, onTransferred func()) *dispatcher {
	return &dispatcher{
		p:             p,
		in:            in,
		onTransferred: onTransferred,
		workers:       map[connKey]*worker{},
		held:          map[int32]*heldQueue{},
		chunkRecs:     max(1, p.o.Window/windowChunks),
	}
}

// run routes every record until all have an outcome.
func (d *dispatcher) run() {
	defer d.shutdown()
	for {
		if d.p.ctx.Err() != nil {
			d.abort()
			return
		}
		d.takeInbox()
		d.release()
		progressed := false
		switch {
		case d.barrier != nil:
			if d.drained() {
				d.runBarrier()
				progressed = true
			}
		case d.waitDrain:
			if d.drained() {
				d.waitDrain = false
				progressed = true
			}
		case d.cur != nil:
			d.routeBatch()
			progressed = true
		case !d.eof && d.heldN < maxHeld:
			select {
			case b, ok := <-d.in:
				d.accept(b, ok)
				progressed = true
			default:
			}
		}
		if d.eof && d.cur == nil && d.barrier == nil && !d.waitDrain && d.drained() && d.heldN == 0 {
			return
		}
		if progressed {
			continue
		}
		d.flushAll()
		d.sleep()
	}
}

// drained reports whether every record taken so far is final.
func (d *dispatcher) drained() bool { return d.p.outstanding.Load() == 0 }

// sleep waits for something to do: a wake-up, input, a backoff that ends.
func (d *dispatcher) sleep() {
	var in <-chan *batch
	if d.cur == nil && !d.eof && d.barrier == nil && !d.waitDrain && d.heldN < maxHeld {
		in = d.in
	}
	var timer <-chan time.Time
	if !d.nextWake.IsZero() {
		t := time.NewTimer(max(time.Until(d.nextWake), 0))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-d.p.wake:
	case b, ok := <-in:
		d.accept(b, ok)
	case <-timer:
	case <-d.p.ctx.Done():
	}
}

// accept takes the next batch from the reader, or notes the end of the input.
func (d *dispatcher) accept(b *batch, ok bool) {
	if !ok {
		d.eof = true
		d.flushAll()
		if d.onTransferred != nil {
			d.onTransferred()
		}
		return
	}
	d.cur, d.idx = b, 0
}

// routeBatch routes the records of the current batch, up to a barrier.
func (d *dispatcher) routeBatch() {
	recs := d.cur.recs
	for d.idx < len(recs) {
		r := &recs[d.idx]
		n := max(int(r.nblock), 1)
		d.idx += n
		if r.kind != kindPlain {
			d.barrier = d.unit(r, recs[d.idx-n:d.idx])
			d.flushAll()
			break
		}
		d.p.outstanding.Add(int64(n))
		d.route(d.unit(r, recs[d.idx-n:d.idx]))
	}
	if d.idx >= len(recs) {
		d.cur = nil
	}
}

// unit returns a record with the other records of its block, if it heads one.
func (d *dispatcher) unit(r *record, span []record) []*record {
	if len(span) == 1 {
		return []*record{r}
	}
	u := make([]*record, len(span))
	for i := range span {
		u[i] = &span[i]
	}
	return u
}

// remember keeps a SELECT or AUTH to replay on every connection made from now on; only
// the last of each is kept.
func (d *dispatcher) remember(r *record) {
	cmd := decodeCommand(bytes.Clone(r.data))
	for i, c := range d.session {
		if c.Is(string(cmd.Args[0])) {
			d.session = append(d.session[:i:i], d.session[i+1:]...)
			break
		}
	}
	d.session = append(d.session, cmd)
}

// route sends a unit to the connection of its slot, or holds it when its slot is held,
// has no owner, or still has commands in flight on another connection.
func (d *dispatcher) route(u []*record) {
	r := u[0]
	if r.flags&flagSession != 0 && r.kind == kindPlain {
		d.remember(r) // one connection: it runs in its place, and is replayed on a new one
	}
	s := r.slot
	if s >= 0 && d.p.heldFlag[s].Load() {
		d.hold(u)
		return
	}
	w := d.target(r)
	if w == nil {
		d.noOwner(u)
		return
	}
	if s >= 0 {
		if last := d.lastConn[s]; last != nil && last != w && d.p.inflight[s].Load() > 0 {
			d.hold(u)
			return
		}
		d.lastConn[s] = w
		d.p.inflight[s].Add(int32(len(u)))
	}
	d.append(w, u)
}

// target returns the connection a record goes to now, or nil when its slot has no
// known owner.
func (d *dispatcher) target(r *record) *worker {
	addr := d.p.c.SeedAddr()
	switch {
	case r.rs != nil && r.rs.askAddr != "":
		addr = r.rs.askAddr
	case d.p.isCluster && r.slot >= 0:
		addr = d.p.c.SlotAddr(int(r.slot), false)
		if addr == "" {
			return nil
		}
	}
	if r.slot < 0 {
		return d.worker(connKey{addr: addr})
	}
	c := &d.byslot[r.slot]
	if c.w != nil && !c.w.buried && c.addr == addr {
		return c.w
	}
	w := d.worker(connKey{addr: addr, idx: int(r.slot) % d.p.o.Conns})
	c.addr, c.w = addr, w
	return w
}

// noOwner holds a unit whose slot has no known owner, and asks for the topology.
func (d *dispatcher) noOwner(u []*record) {
	r := u[0]
	if r.rs == nil {
		r.rs = &retryState{}
	}
	if !d.p.backoff(r, "the slot has no known owner") {
		d.p.finishUnit(u, OutcomeError, "", r.rs.lastErr)
		return
	}
	d.refresh()
	d.hold(u)
}

// worker returns the connection for a key, starting it when there is none.
func (d *dispatcher) worker(k connKey) *worker {
	if w := d.workers[k]; w != nil {
		return w
	}
	w := &worker{p: d.p, key: k, queue: make(chan *chunk, windowChunks), session: d.session}
	d.workers[k] = w
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		w.run()
	}()
	return w
}

// append adds a unit to a connection's open chunk, sending the chunk when it is full.
func (d *dispatcher) append(w *worker, u []*record) {
	if w.open == nil {
		w.open = &chunk{recs: make([]*record, 0, d.chunkRecs)}
		d.openList = append(d.openList, w)
	}
	for _, r := range u {
		w.open.recs = append(w.open.recs, r)
		w.open.bytes += len(r.data)
	}
	if len(w.open.recs) >= d.chunkRecs || w.open.bytes >= chunkBytes {
		d.send(w)
	}
}

// send hands a connection its open chunk.
func (d *dispatcher) send(w *worker) {
	ch := w.open
	if ch == nil {
		return
	}
	w.open = nil
	for i, x := range d.openList {
		if x == w {
			d.openList = append(d.openList[:i], d.openList[i+1:]...)
			break
		}
	}
	w.queue <- ch
}

// flushAll sends every open chunk.
func (d *dispatcher) flushAll() {
	for _, w := range d.openList {
		if ch := w.open; ch != nil {
			w.open = nil
			w.queue <- ch
		}
	}
	d.openList = d.openList[:0]
}

// hold puts a unit in its slot's held queue, in input order.
func (d *dispatcher) hold(u []*record) {
	s := u[0].slot
	if s >= 0 {
		d.p.heldFlag[s].Store(true)
	}
	q := d.held[s]
	if q == nil {
		q = &heldQueue{}
		d.held[s] = q
	}
	seq := u[0].seq
	i := sort.Search(len(q.units), func(i int) bool { return q.units[i][0].seq > seq })
	q.units = append(q.units, nil)
	copy(q.units[i+1:], q.units[i:])
	q.units[i] = u
	d.heldN += len(u)
}

// release sends the held units that may go now: their slot has nothing in flight, and
// their backoff has ended.
func (d *dispatcher) release() {
	d.nextWake = time.Time{}
	if len(d.held) == 0 {
		return
	}
	var ready []int32
	for s := range d.held {
		if s < 0 || d.p.inflight[s].Load() == 0 {
			ready = append(ready, s)
		}
	}
	if len(ready) == 0 {
		return
	}
	// Retries of commands settled before the check come in first, in their place.
	d.takeInbox()
	now := time.Now()
	for _, s := range ready {
		q := d.held[s]
		for len(q.units) > 0 {
			u := q.units[0]
			r := u[0]
			if r.rs != nil && r.rs.notBefore.After(now) {
				if d.nextWake.IsZero() || r.rs.notBefore.Before(d.nextWake) {
					d.nextWake = r.rs.notBefore
				}
				break
			}
			w := d.target(r)
			if w == nil {
				q.units = q.units[1:]
				d.heldN -= len(u)
				d.noOwner(u)
				continue
			}
			if s >= 0 {
				if last := d.lastConn[s]; last != nil && last != w && d.p.inflight[s].Load() > 0 {
					break
				}
				d.lastConn[s] = w
				d.p.inflight[s].Add(int32(len(u)))
			}
			q.units = q.units[1:]
			d.heldN -= len(u)
			d.append(w, u)
		}
		if len(q.units) == 0 {
			delete(d.held, s)
			if s >= 0 {
				d.p.heldFlag[s].Store(false)
			}
		}
	}
}

// takeInbox takes what the connections handed back: units to send again, and dead
// connections.
func (d *dispatcher) takeInbox() {
	d.p.inboxMu.Lock()
	items := d.p.inbox
	d.p.inbox = nil
	d.p.inboxMu.Unlock()
	for _, it := range items {
		if it.dead != nil {
			d.buried(it.dead)
			continue
		}
		r := it.unit[0]
		if r.rs != nil && r.rs.refresh {
			r.rs.refresh = false
			d.refresh()
		}
		d.hold(it.unit)
	}
}

// buried forgets a dead connection: its open chunk was never written, so its records
// are held to go again, and its queue is closed so that it can finish draining.
func (d *dispatcher) buried(w *worker) {
	w.buried = true
	if d.workers[w.key] == w {
		delete(d.workers, w.key)
	}
	if ch := w.open; ch != nil {
		w.open = nil
		for i, x := range d.openList {
			if x == w {
				d.openList = append(d.openList[:i], d.openList[i+1:]...)
				break
			}
		}
		for _, u := range d.p.unitsOf(ch.recs) {
			if u[0].flags&flagShadow != 0 {
				continue
			}
			rc := d.p.copyUnit(u)
			if d.p.backoff(rc[0], w.err) {
				d.hold(rc)
			} else {
				d.p.finishUnit(rc, OutcomeError, w.key.addr, "not sent: "+rc[0].rs.lastErr)
			}
			d.p.settleInflight(u)
		}
	}
	close(w.queue)
	d.refresh()
}

// refresh reloads the topology in the background, one load at a time, and wakes the
// dispatcher when it is done.
func (d *dispatcher) refresh() {
	if !d.p.isCluster || !d.refreshing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		_ = d.p.c.Refresh(d.p.ctx)
		d.refreshing.Store(false)
		d.p.signal()
	}()
}

// runBarrier runs the barrier once everything before it has settled.
func (d *dispatcher) runBarrier() {
	u := d.barrier
	r := u[0]
	d.barrier = nil
	d.p.outstanding.Add(int64(len(u)))
	switch r.kind {
	case kindExec:
		d.execAlone(r)
		return
	case kindSession:
		d.remember(r)
		for k, w := range d.workers {
			if k.idx == 0 && k.addr == d.p.c.SeedAddr() {
				continue
			}
			shadow := &record{seq: r.seq, data: r.data, slot: -1, flags: flagShadow}
			d.append(w, []*record{shadow})
		}
	}
	d.append(d.worker(connKey{addr: d.p.c.SeedAddr()}), u)
	d.flushAll()
	d.waitDrain = true
}

// execAlone runs a cluster-wide command through the client, alone.
func (d *dispatcher) execAlone(r *record) {
	cmd := decodeCommand(r.data)
	res := d.p.c.Exec(d.p.ctx, cmd)
	var ne *cluster.NodeError
	switch {
	case res.Err != nil && errors.As(res.Err, &ne) && ne.Written:
		d.p.finish(r, OutcomeUnknown, ne.Addr, res.Err.Error())
	case res.Err != nil:
		d.p.finish(r, OutcomeError, res.Addr, res.Err.Error())
	case res.Value.Kind == resp.Error:
		d.p.finish(r, OutcomeError, res.Addr, string(res.Value.Str))
	default:
		d.p.finishOK(r)
	}
	d.p.touch()
}

// abort ends a cancelled run: nothing more is sent, every record not yet written is
// rejected (or ends with the error that was to be retried), and it waits for the
// connections to settle the rest.
func (d *dispatcher) abort() {
	const why = "not sent: the run was interrupted"
	start := time.Now()
	drop := func(u []*record) {
		if r := u[0]; r.rs != nil && r.rs.lastErr != "" {
			d.p.finishUnit(u, OutcomeError, "", r.rs.lastErr+" (not retried: the run was interrupted)")
			return
		}
		d.p.finishUnit(u, OutcomeRejected, "", why)
	}
	for _, w := range d.openList {
		if ch := w.open; ch != nil {
			w.open = nil
			for _, u := range d.p.unitsOf(ch.recs) {
				if u[0].flags&flagShadow == 0 {
					drop(u)
				}
				d.p.settleInflight(u)
			}
		}
	}
	d.openList = nil
	for _, w := range d.workers {
		close(w.queue)
	}
	d.workers = map[connKey]*worker{}
	if d.barrier != nil {
		d.p.dropFresh(d.barrier, why)
		d.barrier = nil
	}
	for {
		d.p.inboxMu.Lock()
		items := d.p.inbox
		d.p.inbox = nil
		d.p.inboxMu.Unlock()
		for _, it := range items {
			if it.unit != nil {
				drop(it.unit)
			}
		}
		for _, q := range d.held {
			for _, u := range q.units {
				drop(u)
			}
		}
		d.held = map[int32]*heldQueue{}
		d.heldN = 0
		if d.cur != nil {
			for d.idx < len(d.cur.recs) {
				r := &d.cur.recs[d.idx]
				n := max(int(r.nblock), 1)
				d.p.dropFresh(d.unit(r, d.cur.recs[d.idx:d.idx+n]), why)
				d.idx += n
			}
			d.cur = nil
		}
		if !d.eof {
			select {
			case b, ok := <-d.in:
				if !ok {
					d.eof = true
				} else {
					d.accept(b, true)
				}
				continue
			default:
			}
		}
		if d.drained() && (d.eof || time.Since(start) > abortGrace) {
			return
		}
		select {
		case <-d.p.wake:
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// dropFresh rejects a unit that was never routed, so never counted as outstanding.
func (p *pipe) dropFresh(u []*record, why string) {
	for _, r := range u {
		p.report(r, OutcomeRejected, "", why, false)
		p.releaseBatch(r.b, 1)
	}
}

// shutdown closes every connection's queue and waits for them to finish.
func (d *dispatcher) shutdown() {
	for _, w := range d.workers {
		if w.open != nil {
			w.queue <- w.open
			w.open = nil
		}
		close(w.queue)
	}
	d.workers = nil
	d.wg.Wait()
}
