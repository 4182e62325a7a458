package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/resp"
)

// Sizes of the reader's batches, and the longest transaction pipe mode keeps whole.
const (
	batchBytes    = 64 << 10
	batchRecords  = 512
	maxBlock      = 100_000
	freeBatches   = 16
	nameCacheSize = 4096
)

// Kinds of records, as the dispatcher routes them.
const (
	kindPlain   uint8 = iota // to the connection of its slot
	kindBarrier              // after everything before it, on the first connection of its node
	kindSession              // SELECT, AUTH: a barrier that every connection runs
	kindExec                 // a cluster-wide command (KEYS, FLUSHALL, split MSET): a barrier run by the client
)

// Record flags.
const (
	flagBlocking uint8 = 1 << iota // may block: written with its own read deadline
	flagReadOnly                   // the server flags it readonly
	flagSession                    // SELECT or AUTH: replayed on every new connection
	flagAsking                     // send ASKING before it
	flagShadow                     // a copy of a session command for another connection: its reply is not counted
	flagQueued                     // inside MULTI ... EXEC (or DISCARD): queued, run by EXEC
	flagExec                       // the EXEC that ends a block
)

// record is one command read from the input, on its way to an outcome.
type record struct {
	seq, line, off int64
	data           []byte // the command in RESP
	lo, hi         int    // data's place in its batch's buffer
	b              *batch // the batch whose buffer holds data; nil for a copy of its own
	slot           int32  // the slot that orders it; -1 when it has no key
	kind, flags    uint8
	nblock         int32       // on the first record of a MULTI/WATCH block: its records, itself included
	members        []*record   // on the first record of a held or retried block: the others
	rs             *retryState // set once it is retried
}

// retryState is what a record being retried carries.
type retryState struct {
	askAddr   string // send it there with ASKING, after an ASK
	redirects int
	attempts  int
	since     time.Time // the first backoff
	notBefore time.Time
	refresh   bool // learn the topology again before sending it
	lastErr   string
}

// batch is a run of records read together, with one buffer for all their bytes. It goes
// back to the reader once every record is final or has been copied out for a retry.
type batch struct {
	buf  []byte
	recs []record
	refs atomic.Int64
}

// pipe is the state a pipe run shares between its reader, dispatcher and connections.
type pipe struct {
	o         PipeOptions
	c         *cluster.Client
	ctx       context.Context
	single    bool // a standalone server on one connection: input order is total order
	isCluster bool
	out       *outcomes

	commands    atomic.Int64 // commands read
	outstanding atomic.Int64 // commands taken by the dispatcher and not yet final
	retries     atomic.Int64
	sent        atomic.Int64 // commands written
	inputBytes  atomic.Int64
	lastReply   atomic.Int64 // unix nanoseconds of the last reply
	wake        chan struct{}

	inflight [cluster.SlotCount]atomic.Int32 // commands routed to a connection and not settled, by slot
	heldFlag [cluster.SlotCount]atomic.Bool  // the dispatcher holds commands of this slot
	gaveUp   [cluster.SlotCount]atomic.Bool  // a retry budget ran out in this slot: stop retrying until a success

	inboxMu sync.Mutex
	inbox   []inboxItem

	free chan *batch

	connsMu sync.Mutex
	conns   map[*pool.Conn]struct{} // live connections, closed when the run is cancelled
	stopped bool

	names map[string]*nameInfo // the reader's command metadata cache
}

// inboxItem is what a connection hands back to the dispatcher: a unit of records to
// send again, or its own death.
type inboxItem struct {
	unit []*record
	dead *worker
}

func newPipe(ctx context.Context, o PipeOptions) *pipe {
	p := &pipe{
		o:         o,
		c:         o.Client,
		ctx:       ctx,
		isCluster: o.Client.IsCluster(),
		out:       newOutcomes(o.Err, o.Report),
		wake:      make(chan struct{}, 1),
		free:      make(chan *batch, freeBatches),
		conns:     map[*pool.Conn]struct{}{},
		names:     map[string]*nameInfo{},
	}
	p.single = !p.isCluster && o.Conns == 1
	p.touch()
	context.AfterFunc(ctx, p.closeConns)
	return p
}

func (p *pipe) touch() { p.lastReply.Store(time.Now().UnixNano()) }

// signal wakes the dispatcher.
func (p *pipe) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// register notes a live connection; it is closed at once when the run was cancelled.
func (p *pipe) register(pc *pool.Conn) bool {
	p.connsMu.Lock()
	defer p.connsMu.Unlock()
	if p.stopped {
		return false
	}
	p.conns[pc] = struct{}{}
	return true
}

func (p *pipe) unregister(pc *pool.Conn) {
	p.connsMu.Lock()
	delete(p.conns, pc)
	p.connsMu.Unlock()
}

// closeConns closes every live connection, which ends their blocked reads and writes.
func (p *pipe) closeConns() {
	p.connsMu.Lock()
	defer p.connsMu.Unlock()
	p.stopped = true
	for pc := range p.conns {
		_ = pc.Close()
	}
}

func (p *pipe) newBatch() *batch {
	select {
	case b := <-p.free:
		b.buf, b.recs = b.buf[:0], b.recs[:0]
		return b
	default:
		return &batch{buf: make([]byte, 0, batchBytes+4096), recs: make([]record, 0, batchRecords)}
	}
}

// releaseBatch drops n references to b, and recycles it when none is left.
func (p *pipe) releaseBatch(b *batch, n int64) {
	if b == nil || n == 0 {
		return
	}
	if b.refs.Add(-n) == 0 && cap(b.buf) <= 4*batchBytes {
		clear(b.recs)
		select {
		case p.free <- b:
		default:
		}
	}
}

// reject counts and reports a command refused before sending.
func (p *pipe) reject(seq, line, off int64, name, why string) {
	p.commands.Add(1)
	p.out.fail(ReportLine{Command: seq, Line: line, Offset: off, Name: name, Reply: why}, OutcomeRejected, false)
}

// block is a MULTI/WATCH ... EXEC/DISCARD block being read.
type block struct {
	start    int    // index of its first record in the batch
	bufStart int    // where its bytes start in the batch's buffer
	multi    bool   // MULTI was seen
	poison   string // why the whole block is rejected, once one of its commands is
	slot     int32  // the slot its keys share, -1 while none
	slots    []int  // distinct slots, when they differ
}

// read is the reader stage: it parses the input, classifies and routes each command,
// rejects what cannot be sent, and hands batches of records to the dispatcher. It
// returns the error that kept it from reading the input to its end.
func (p *pipe) read(out chan<- *batch) error {
	defer close(out)
	in := NewInput(p.o.In, p.o.Input)
	b := p.newBatch()
	var blk *block
	var seq int64
	send := func() {
		if len(b.recs) == 0 {
			return
		}
		for i := range b.recs {
			r := &b.recs[i]
			r.b = b
			r.data = b.buf[r.lo:r.hi:r.hi]
		}
		b.refs.Store(int64(len(b.recs)))
		p.commands.Add(int64(len(b.recs)))
		out <- b
		b = p.newBatch()
	}
	for {
		if p.ctx.Err() != nil {
			p.rejectBlock(b, blk, "the run was interrupted")
			send()
			return nil
		}
		cmd, err := in.Next()
		p.inputBytes.Store(in.Offset())
		if err != nil {
			if blk != nil {
				why := "MULTI without EXEC at the end of the input: the transaction was not sent"
				if !blk.multi {
					why = "WATCH without MULTI ... EXEC at the end of the input: not sent"
				}
				p.rejectBlock(b, blk, why)
			}
			send()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		seq++
		if cmd.Err != nil {
			p.reject(seq, cmd.Line, cmd.Offset, "", cmd.Err.Error())
			if blk != nil && blk.poison == "" {
				blk.poison = fmt.Sprintf("command %d of its transaction, at line %d, was rejected", seq, cmd.Line)
			}
			continue
		}
		rt := p.classify(cmd.Args)
		if rt.reject != "" {
			p.reject(seq, cmd.Line, cmd.Offset, upperName(cmd.Args[0]), rt.reject)
			if blk != nil && blk.poison == "" {
				blk.poison = fmt.Sprintf("command %d of its transaction, at line %d, was rejected", seq, cmd.Line)
			}
			continue
		}
		lo := len(b.buf)
		if cmd.Raw != nil {
			b.buf = append(b.buf, cmd.Raw...)
		} else {
			b.buf = resp.AppendCommand(b.buf, cmd.Args...)
		}
		b.recs = append(b.recs, record{seq: seq, line: cmd.Line, off: cmd.Offset, lo: lo, hi: len(b.buf),
			slot: rt.slot, kind: rt.kind, flags: rt.flags})
		switch {
		case blk == nil && (rt.mark == markMulti || rt.mark == markWatch):
			blk = &block{start: len(b.recs) - 1, bufStart: lo, multi: rt.mark == markMulti, slot: -1}
			blk.add(rt)
		case blk != nil:
			r := &b.recs[len(b.recs)-1]
			if blk.multi && rt.mark != markExec && rt.mark != markDiscard {
				r.flags |= flagQueued
			}
			blk.add(rt)
			switch {
			case rt.mark == markMulti:
				blk.multi = true
			case rt.mark == markExec || rt.mark == markDiscard || rt.mark == markUnwatch && !blk.multi:
				if rt.mark == markExec {
					r.flags |= flagExec
				}
				p.closeBlock(b, blk)
				blk = nil
			case len(b.recs)-blk.start >= maxBlock && blk.poison == "":
				blk.poison = fmt.Sprintf("a transaction of more than %d commands", maxBlock)
			}
		}
		if blk == nil && (len(b.buf) >= batchBytes || len(b.recs) >= batchRecords || in.Buffered() == 0) {
			send()
		}
	}
}

// add folds a member's routing into the block's.
func (blk *block) add(rt route) {
	switch {
	case rt.kind == kindExec || rt.kind == kindSession:
		// Inside MULTI a cluster-wide command runs on the transaction's node only,
		// as the server would run it: it does not route the block.
	case rt.slot >= 0 && blk.slot < 0:
		blk.slot = rt.slot
	case rt.slot >= 0 && rt.slot != blk.slot:
		if len(blk.slots) == 0 {
			blk.slots = append(blk.slots, int(blk.slot))
		}
		blk.slots = append(blk.slots, int(rt.slot))
	case rt.kind == kindBarrier && len(rt.crossSlots) > 0:
		blk.slots = append(blk.slots, rt.crossSlots...)
	}
}

// closeBlock turns the records of a finished block into one unit routed by its first
// record, or rejects them all.
func (p *pipe) closeBlock(b *batch, blk *block) {
	if blk.poison == "" && p.isCluster && len(blk.slots) > 0 {
		blk.poison = (&cluster.CrossSlotError{Command: "MULTI", Slots: blk.slots}).Error()
	}
	if blk.poison != "" {
		p.rejectBlock(b, blk, "transaction not sent: "+blk.poison)
		return
	}
	head := &b.recs[blk.start]
	head.nblock = int32(len(b.recs) - blk.start)
	switch {
	case p.single:
		head.kind, head.slot = kindPlain, 0
	case blk.slot >= 0 && len(blk.slots) == 0:
		head.kind, head.slot = kindPlain, blk.slot
	default:
		head.kind, head.slot = kindBarrier, -1
	}
	for i := blk.start + 1; i < len(b.recs); i++ {
		b.recs[i].slot, b.recs[i].kind = head.slot, kindPlain
	}
}

// rejectBlock rejects every command of an unfinished or refused block and drops them
// from the batch.
func (p *pipe) rejectBlock(b *batch, blk *block, why string) {
	if blk == nil {
		return
	}
	for _, r := range b.recs[blk.start:] {
		p.reject(r.seq, r.line, r.off, commandName(b.buf[r.lo:r.hi]), why)
	}
	b.recs = b.recs[:blk.start]
	b.buf = b.buf[:blk.bufStart]
}

// Block marks: how a command opens or closes a MULTI/WATCH block.
const (
	markNone = iota
	markMulti
	markWatch
	markExec
	markDiscard
	markUnwatch
)

// route is what the reader decides about one command.
type route struct {
	kind       uint8
	flags      uint8
	slot       int32
	mark       int
	reject     string
	crossSlots []int
}

// nameInfo is what routing needs to know about one command name, fetched once.
type nameInfo struct {
	spec     *cluster.CommandSpec // nil when the server does not know the command
	fixedKey int                  // the position of its only key, when it always has exactly one; else 0
	fan      bool                 // in a cluster it goes to every master (no subcommands)
	sub      bool                 // it has subcommands: routed the slow way
	readOnly bool
}

// upperName returns a command name in upper case.
func upperName(name []byte) string {
	return string(bytes.ToUpper(name))
}

// classify decides how a command is routed, or why it is refused.
func (p *pipe) classify(args [][]byte) route {
	var nb [20]byte
	name := args[0]
	n := 0
	if len(name) <= len(nb) {
		n = copy(nb[:], name)
		for i := range n {
			if c := nb[i]; 'a' <= c && c <= 'z' {
				nb[i] = c - ('a' - 'A')
			}
		}
	}
	rt := route{slot: 0}
	switch string(nb[:n]) {
	case "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE":
		return route{reject: "puts the connection in subscriber mode, where replies no longer match commands"}
	case "MONITOR":
		return route{reject: "streams every command the server runs instead of replying once"}
	case "SYNC", "PSYNC":
		return route{reject: "starts a replication stream instead of replying once"}
	case "QUIT", "RESET", "SHUTDOWN":
		return route{reject: "closes or resets the connection"}
	case "HELLO":
		return route{reject: "changes the protocol of the connection"}
	case "CLIENT":
		if len(args) > 2 && bytes.EqualFold(args[1], []byte("REPLY")) &&
			(bytes.EqualFold(args[2], []byte("OFF")) || bytes.EqualFold(args[2], []byte("SKIP"))) {
			return route{reject: "turns replies off, so they can no longer be counted"}
		}
	case "SELECT", "AUTH":
		rt.flags |= flagSession
		if !p.single {
			return route{kind: kindSession, flags: flagSession, slot: -1}
		}
	case "MULTI":
		rt.mark = markMulti
	case "WATCH":
		rt.mark = markWatch
	case "EXEC":
		rt.mark = markExec
	case "DISCARD":
		rt.mark = markDiscard
	case "UNWATCH":
		rt.mark = markUnwatch
	case "BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BZPOPMIN", "BZPOPMAX", "BLMPOP", "BZMPOP",
		"XREAD", "XREADGROUP", "WAIT", "WAITAOF":
		if t, blocks := pool.BlockingTimeout(resp.Command{Args: args}); blocks {
			if t == 0 {
				return route{reject: "blocks forever (timeout 0), so its reply may never come"}
			}
			rt.flags |= flagBlocking
		}
	}
	if p.single {
		if p.o.ResendReadOnly {
			if info := p.nameInfo(args[0]); info.readOnly {
				rt.flags |= flagReadOnly
			}
		}
		return rt
	}
	info := p.nameInfo(args[0])
	if info.readOnly {
		rt.flags |= flagReadOnly
	}
	if info.spec == nil {
		rt.kind, rt.slot = kindBarrier, -1
		return rt
	}
	if p.isCluster && (info.fan || info.sub && isFanout(args)) {
		rt.kind, rt.slot = kindExec, -1
		return rt
	}
	if info.fixedKey > 0 {
		if len(args) <= info.fixedKey {
			rt.kind, rt.slot = kindBarrier, -1 // the server will refuse it: anywhere will do
			return rt
		}
		rt.slot = int32(cluster.Slot(args[info.fixedKey]))
		return rt
	}
	keys, err := info.spec.KeyPositions(args)
	if err != nil || len(keys) == 0 {
		rt.kind, rt.slot = kindBarrier, -1
		return rt
	}
	first := cluster.Slot(args[keys[0]])
	var slots []int
	for _, k := range keys[1:] {
		if s := cluster.Slot(args[k]); s != first {
			if slots == nil {
				slots = []int{first}
			}
			slots = appendUnique(slots, s)
		}
	}
	if slots == nil {
		rt.slot = int32(first)
		return rt
	}
	if !p.isCluster {
		rt.kind, rt.slot, rt.crossSlots = kindBarrier, -1, slots
		return rt
	}
	loc, err := p.c.Locate(p.ctx, resp.Command{Args: args})
	if err != nil {
		return route{reject: err.Error()}
	}
	if loc.Kind == cluster.RouteSlot {
		rt.slot = int32(loc.Slot)
		return rt
	}
	rt.kind, rt.slot, rt.crossSlots = kindExec, -1, slots
	return rt
}

func appendUnique(s []int, v int) []int {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func isFanout(args [][]byte) bool {
	_, ok := cluster.FanoutRule(resp.Command{Args: args})
	return ok
}

// nameInfo returns the routing metadata of a command name, asking the server once.
func (p *pipe) nameInfo(name []byte) *nameInfo {
	if info, ok := p.names[string(name)]; ok {
		return info
	}
	info := &nameInfo{}
	spec, err := p.c.Spec(p.ctx, string(name))
	if err == nil && spec != nil {
		info.spec = spec
		info.readOnly = spec.ReadOnly()
		info.sub = len(spec.Subcommands) > 0
		if !info.sub {
			_, info.fan = cluster.FanoutRule(resp.Command{Args: [][]byte{name}})
			switch {
			case len(spec.KeySpecs) == 1:
				ks := spec.KeySpecs[0]
				if ks.BeginSearch == "index" && ks.FindKeys == "range" && ks.LastKey == 0 && ks.Index > 0 {
					info.fixedKey = ks.Index
				}
			case len(spec.KeySpecs) == 0 && spec.FirstKey > 0 && spec.LastKey == spec.FirstKey:
				info.fixedKey = spec.FirstKey
			}
		}
	}
	if err == nil && len(p.names) < nameCacheSize {
		p.names[string(name)] = info // an error (the server is down) is not remembered
	}
	return info
}

// decodeCommand splits a command held in its canonical RESP encoding.
func decodeCommand(data []byte) resp.Command {
	var args [][]byte
	i := bytes.IndexByte(data, '\n') + 1
	for i > 0 && i < len(data) {
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 || data[i] != '$' {
			break
		}
		n, ok := resp.ParseInt(bytes.TrimSuffix(data[i+1:i+j], []byte{'\r'}))
		start := i + j + 1
		if !ok || n < 0 || start+int(n) > len(data) {
			break
		}
		args = append(args, data[start:start+int(n)])
		i = start + int(n) + 2
	}
	return resp.Command{Args: args}
}
