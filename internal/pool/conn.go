package pool

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rcli-dev/rcli/internal/resp"
)

// Conn is one connection to a server, after its handshake. It is not safe for
// concurrent use: one goroutine writes commands and reads their replies in order.
//
// Commands are buffered by Write and sent by Flush; Read returns their replies in
// order. Once an I/O error, a timeout, a cancelled context or a protocol error has
// happened, Broken returns it and every later call fails with it: the replies still on
// the wire can no longer be matched to commands, so the connection must be closed (Pool.Put
// does so).
type Conn struct {
	nc      net.Conn
	sc      syscall.RawConn // for the liveness peek; nil for TLS
	r       *resp.Reader
	w       *resp.Writer
	o       *Options // normalised; shared read-only with the pool
	proto   int
	version string
	raw     bool

	pending  int             // replies written and not yet read
	written  uint64          // replies expected so far
	read     uint64          // replies read so far
	blocks   []blockingReply // blocking commands not yet answered, oldest first
	inTx     bool            // inside MULTI
	watching bool            // WATCH in force
	detached bool            // state changed for good (SUBSCRIBE, SELECT, ...)
	broken   error

	// The deadlines last set on nc. Setting one costs a timer update, so a deadline is
	// left as it is while it is no more than 1/8 of the timeout earlier than wanted.
	readDeadline, writeDeadline time.Time

	// Pool bookkeeping.
	pool      *Pool
	expiresAt time.Time // zero: never
	idleSince time.Time
	inIdle    bool        // on the pool's idle stack (guarded by pool.mu)
	closed    atomic.Bool // set once by whoever closes nc
}

// blockingReply is the server-side timeout of the reply numbered seq.
type blockingReply struct {
	seq     uint64
	timeout time.Duration // 0: may block forever
}

// Dial connects to o.Addr, performs the TLS handshake when o.TLS is set, and runs the
// connection handshake: HELLO 3 (with AUTH and SETNAME) or AUTH, then SELECT, CLIENT
// SETNAME and READONLY as needed, pipelined so that they cost one round trip (two when
// a server without HELLO makes it fall back to RESP2). With RESP2 and none of those
// options there is no round trip at all.
//
// DialTimeout bounds the whole of it, as does ctx. A failure to connect, to negotiate
// TLS, or an I/O failure during the handshake is a *DialError; an error reply to the
// handshake is returned wrapped with the step that failed ("pool: AUTH failed: ...").
func Dial(ctx context.Context, o Options) (*Conn, error) {
	o = o.withDefaults()
	return dial(ctx, &o)
}

func dial(ctx context.Context, o *Options) (*Conn, error) {
	start := time.Now()
	var deadline time.Time
	if o.DialTimeout > 0 {
		deadline = start.Add(o.DialTimeout)
	}
	if dl, ok := ctx.Deadline(); ok && (deadline.IsZero() || dl.Before(deadline)) {
		deadline = dl
	}
	dctx := ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		dctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}

	d := net.Dialer{KeepAlive: 15 * time.Second}
	nc, err := d.DialContext(dctx, o.Network, o.Addr)
	if err != nil {
		return nil, &DialError{Addr: o.Addr, Err: withCtxCause(ctx, err)}
	}
	var sc syscall.RawConn
	if o.TLS != nil {
		tc := tls.Client(nc, o.TLS)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = nc.Close()
			return nil, &DialError{Addr: o.Addr, Err: &tlsError{withCtxCause(ctx, err)}}
		}
		nc = tc
	} else if s, ok := nc.(syscall.Conn); ok {
		sc, _ = s.SyscallConn()
	}

	c := &Conn{
		nc:    nc,
		sc:    sc,
		r:     resp.NewReader(nc, o.ReaderOptions),
		w:     resp.NewWriter(nc),
		o:     o,
		proto: 2,
	}
	if o.MaxLifetime > 0 {
		life := o.MaxLifetime
		if jitter := int64(life / 5); jitter > 0 {
			life += time.Duration(rand.Int64N(jitter)) - life/10
		}
		c.expiresAt = start.Add(life)
	}
	if err := c.handshake(dctx, deadline); err != nil {
		_ = nc.Close()
		return nil, err
	}
	c.idleSince = time.Now()
	return c, nil
}

// withCtxCause makes a dial failure caused by ctx match errors.Is(err, ctx.Err()).
func withCtxCause(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w (%w)", ctxErr, err)
	}
	return err
}

// handshake step names, as used in error messages.
const (
	stepHello    = "HELLO 3"
	stepAuth     = "AUTH"
	stepSetName  = "CLIENT SETNAME"
	stepSelect   = "SELECT"
	stepReadOnly = "READONLY"
)

// handshake sends the commands the options call for in one round trip and checks
// every reply.
func (c *Conn) handshake(ctx context.Context, deadline time.Time) error {
	o := c.o
	if o.ReadTimeout > 0 {
		if rd := time.Now().Add(o.ReadTimeout); deadline.IsZero() || rd.Before(deadline) {
			deadline = rd
		}
	}
	if err := c.nc.SetDeadline(deadline); err != nil {
		return &DialError{Addr: o.Addr, Err: err}
	}
	stop := c.interruptOn(ctx)
	err := c.runHandshake(o.Protocol == 3)
	if stop != nil && !stop() {
		return &DialError{Addr: o.Addr, Err: withCtxCause(ctx, ctx.Err())}
	}
	if err != nil {
		return err
	}
	return c.nc.SetDeadline(time.Time{})
}

func (c *Conn) runHandshake(hello bool) error {
	o := c.o
	steps := c.writeHandshake(hello)
	if len(steps) == 0 {
		return nil
	}
	if err := c.w.Flush(); err != nil {
		return &DialError{Addr: o.Addr, Err: err}
	}
	var failed error
	fallback := false
	for i, step := range steps {
		v, err := c.r.ReadValue()
		if err != nil {
			var pe *resp.ProtocolError
			if errors.As(err, &pe) {
				return fmt.Errorf("pool: handshake with %s: %w", o.Addr, err)
			}
			return &DialError{Addr: o.Addr, Err: err}
		}
		if failed != nil || fallback {
			continue // keep reading so that every reply is consumed
		}
		if v.Kind == resp.Error {
			se := resp.NewServerError(string(v.Str))
			if i == 0 && step == stepHello && isUnknownCommand(se) {
				fallback = true
				continue
			}
			failed = handshakeError(step, o.DB, se)
			continue
		}
		if step == stepHello {
			c.proto = 3
			c.version = helloField(v, "version")
		}
	}
	if failed != nil {
		return failed
	}
	if fallback {
		return c.runHandshake(false)
	}
	return nil
}

// writeHandshake buffers the handshake commands and returns their step names.
func (c *Conn) writeHandshake(hello bool) []string {
	o := c.o
	steps := make([]string, 0, 4)
	if hello {
		args := []string{"HELLO", "3"}
		if o.Password != "" || o.Username != "" {
			user := o.Username
			if user == "" {
				user = "default"
			}
			args = append(args, "AUTH", user, o.Password)
		}
		if o.ClientName != "" {
			args = append(args, "SETNAME", o.ClientName)
		}
		c.w.WriteArgs(args...)
		steps = append(steps, stepHello)
	} else {
		switch {
		case o.Username != "":
			c.w.WriteArgs("AUTH", o.Username, o.Password)
			steps = append(steps, stepAuth)
		case o.Password != "":
			c.w.WriteArgs("AUTH", o.Password)
			steps = append(steps, stepAuth)
		}
		if o.ClientName != "" {
			c.w.WriteArgs("CLIENT", "SETNAME", o.ClientName)
			steps = append(steps, stepSetName)
		}
	}
	if o.DB != 0 {
		c.w.WriteArgs("SELECT", fmt.Sprint(o.DB))
		steps = append(steps, stepSelect)
	}
	if o.ReadOnly {
		c.w.WriteArgs("READONLY")
		steps = append(steps, stepReadOnly)
	}
	return steps
}

func isUnknownCommand(se *resp.ServerError) bool {
	return se.Code == "ERR" && len(se.Msg) >= 15 && se.Msg[:15] == "unknown command"
}

func handshakeError(step string, db int, se *resp.ServerError) error {
	switch {
	case step == stepHello && (se.Code == "WRONGPASS" || se.Code == "NOAUTH" || se.Code == "NOPERM"):
		return fmt.Errorf("pool: AUTH failed: %w", se)
	case step == stepSelect:
		return fmt.Errorf("pool: SELECT %d failed: %w", db, se)
	}
	return fmt.Errorf("pool: %s failed: %w", step, se)
}

// helloField returns a string field of a HELLO reply.
func helloField(v resp.Value, key string) string {
	if v.Kind != resp.Map && v.Kind != resp.Array {
		return ""
	}
	for i := 0; i+1 < len(v.Elems); i += 2 {
		if string(v.Elems[i].Str) == key {
			return v.Elems[i+1].Text()
		}
	}
	return ""
}

// interruptOn arranges for ctx's cancellation to interrupt any blocked read or write.
// The returned stop function reports false when the interruption has fired; it is nil
// when ctx can never be cancelled.
func (c *Conn) interruptOn(ctx context.Context) func() bool {
	if ctx.Done() == nil {
		return nil
	}
	return context.AfterFunc(ctx, c.interrupt)
}

// interrupt sets a deadline in the past, which ends a blocked read or write at once.
func (c *Conn) interrupt() { _ = c.nc.SetDeadline(time.Unix(1, 0)) }

// Do writes cmd, flushes it and reads its reply. A server error reply is returned as a
// Value of kind Error with a nil error. It fails without writing anything when earlier
// replies are still unread.
func (c *Conn) Do(ctx context.Context, cmd resp.Command) (resp.Value, error) {
	if err := c.Broken(); err != nil {
		return resp.Value{}, err
	}
	if c.pending > 0 {
		return resp.Value{}, fmt.Errorf("pool: Do on a connection to %s with %d unread replies", c.o.Addr, c.pending)
	}
	if len(cmd.Args) == 0 {
		return resp.Value{}, errors.New("pool: empty command")
	}
	c.Write(cmd)
	stop := c.interruptOn(ctx) // one watch for the write and the read
	err := c.flush(ctx)
	var v resp.Value
	if err == nil {
		v, err = c.readOne(ctx, false)
	}
	c.settle(ctx, stop)
	return v, err
}

// Write buffers cmd without sending it and counts one pending reply. An empty command
// is ignored (a server would not answer it). Write notes blocking commands for their
// read deadline, and commands that change the connection's state for good (SUBSCRIBE,
// MONITOR, SELECT, AUTH, HELLO, RESET, READONLY, CLIENT SETNAME ...) or leave a
// transaction or WATCH open, so that Pool.Put does not reuse it.
func (c *Conn) Write(cmd resp.Command) {
	if len(cmd.Args) == 0 {
		return
	}
	c.w.WriteCommand(cmd.Args...)
	c.pending++
	c.written++
	switch classify(cmd.Args) {
	case classBlocking:
		if t, ok := BlockingTimeout(cmd); ok {
			c.blocks = append(c.blocks, blockingReply{seq: c.written, timeout: t})
		}
	case classDetach:
		c.detached = true
	case classMulti:
		c.inTx = true
	case classEndTx:
		c.inTx, c.watching = false, false
	case classWatch:
		c.watching = true
	case classUnwatch:
		c.watching = false
	}
}

// WriteRaw buffers pre-encoded RESP bytes holding commands that will get `replies`
// replies, and counts them as pending. The commands are not parsed: a blocking one
// gets only ReadTimeout, and a state-changing one is not noticed, so a caller that
// sends those raw should close the connection rather than Put it back.
func (c *Conn) WriteRaw(b []byte, replies int) {
	c.w.WriteRaw(b)
	c.pending += replies
	c.written += uint64(replies)
}

// Flush sends the buffered commands, within WriteTimeout and ctx.
func (c *Conn) Flush(ctx context.Context) error {
	if err := c.Broken(); err != nil {
		return err
	}
	if c.w.Buffered() == 0 {
		return nil
	}
	stop := c.interruptOn(ctx)
	err := c.flush(ctx)
	c.settle(ctx, stop)
	return err
}

func (c *Conn) flush(ctx context.Context) error {
	deadline, byCtx := c.limit(ctx, c.o.WriteTimeout)
	if err := arm(c.nc.SetWriteDeadline, &c.writeDeadline, deadline, c.o.WriteTimeout, byCtx); err != nil {
		return c.fail(ctx, "write to", false, err)
	}
	if err := c.w.Flush(); err != nil {
		return c.fail(ctx, "write to", byCtx, err)
	}
	return nil
}

// Read returns the next reply. RESP3 pushes that arrive before it go to
// Options.OnPush (or are dropped), unless the connection is in raw mode.
func (c *Conn) Read(ctx context.Context) (resp.Value, error) {
	return c.watchedRead(ctx, false)
}

// ReadValue returns the next value of any kind, pushes included: it is for
// connections in subscribe or monitor mode. While replies are pending every value read
// counts as one (RESP3 subscribe confirmations are pushes); with none pending only ctx
// bounds the wait, so a subscriber can wait for messages indefinitely. A connection
// read with ReadValue is never reused by the pool.
func (c *Conn) ReadValue(ctx context.Context) (resp.Value, error) {
	c.detached = true
	return c.watchedRead(ctx, true)
}

func (c *Conn) watchedRead(ctx context.Context, anyKind bool) (resp.Value, error) {
	if err := c.Broken(); err != nil {
		return resp.Value{}, err
	}
	stop := c.interruptOn(ctx)
	v, err := c.readOne(ctx, anyKind)
	c.settle(ctx, stop)
	return v, err
}

// settle ends the watch of an operation on ctx. When ctx fired meanwhile, the
// connection's deadline may have been moved into the past after the operation ended,
// so it is marked broken even if the operation succeeded.
func (c *Conn) settle(ctx context.Context, stop func() bool) {
	if stop != nil && !stop() && c.broken == nil {
		c.broken = fmt.Errorf("pool: connection to %s interrupted: %w", c.o.Addr, context.Cause(ctx))
	}
}

// readOne reads one reply (any value when anyKind is set) under the right deadline.
func (c *Conn) readOne(ctx context.Context, anyKind bool) (resp.Value, error) {
	timeout := c.o.ReadTimeout
	if len(c.blocks) > 0 && c.blocks[0].seq == c.read+1 {
		if t := c.blocks[0].timeout; t == 0 {
			timeout = 0 // blocks forever: only ctx bounds it
		} else if timeout > 0 {
			timeout += t
		}
	}
	if anyKind && c.pending == 0 {
		timeout = 0
	}
	deadline, byCtx := c.limit(ctx, timeout)
	if err := arm(c.nc.SetReadDeadline, &c.readDeadline, deadline, timeout, byCtx); err != nil {
		return resp.Value{}, c.fail(ctx, "read from", false, err)
	}
	for {
		v, err := c.r.ReadValue()
		if err != nil {
			return resp.Value{}, c.fail(ctx, "read from", byCtx, err)
		}
		if v.Kind == resp.Push && !anyKind && !c.raw {
			if c.o.OnPush != nil {
				c.o.OnPush(v)
			}
			continue
		}
		if c.pending > 0 && (anyKind || v.Kind != resp.Push) {
			c.pending--
			c.read++
			if len(c.blocks) > 0 && c.blocks[0].seq <= c.read {
				c.blocks = c.blocks[1:]
			}
		}
		return v, nil
	}
}

// limit returns the deadline for an operation: now+timeout (none when timeout is 0),
// or ctx's deadline when it is earlier, and whether ctx's deadline was chosen.
func (c *Conn) limit(ctx context.Context, timeout time.Duration) (time.Time, bool) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	if dl, ok := ctx.Deadline(); ok && (deadline.IsZero() || dl.Before(deadline)) {
		return dl, true
	}
	return deadline, false
}

// arm sets a deadline unless the one in force (*cur) is close enough: not later than
// wanted and at most timeout/8 earlier. Pipelined reads then cost no timer update per
// reply; a reply may time out up to 1/8 of the read timeout early. A deadline from
// the context is always set exactly.
func arm(set func(time.Time) error, cur *time.Time, want time.Time, timeout time.Duration, exact bool) error {
	if !exact && !want.IsZero() && !cur.IsZero() && !cur.After(want) && want.Sub(*cur) <= timeout/8 {
		return nil
	}
	if want.Equal(*cur) {
		return nil
	}
	if err := set(want); err != nil {
		return err
	}
	*cur = want
	return nil
}

// fail marks the connection broken with err, described for the caller.
func (c *Conn) fail(ctx context.Context, op string, byCtx bool, err error) error {
	ctxErr := ctx.Err()
	if ctxErr == nil && byCtx && isTimeout(err) {
		ctxErr = context.DeadlineExceeded
	}
	switch {
	case c.closed.Load():
		err = fmt.Errorf("pool: %s %s: connection closed: %w", op, c.o.Addr, err)
	case ctxErr != nil:
		err = fmt.Errorf("pool: %s %s: %w", op, c.o.Addr, ctxErr)
	default:
		err = fmt.Errorf("pool: %s %s: %w", op, c.o.Addr, err)
	}
	c.broken = err
	return err
}

// SetRaw switches raw mode: in raw mode Read returns RESP3 pushes as they arrive
// instead of handing them to OnPush. A push does not count as a reply.
func (c *Conn) SetRaw(raw bool) { c.raw = raw }

// Pending returns how many replies were written (or buffered) and not yet read.
func (c *Conn) Pending() int { return c.pending }

// Broken returns the error that made the connection unusable, or nil. A connection
// that is broken must be closed; Pool.Put does that.
func (c *Conn) Broken() error {
	if c.broken == nil && c.closed.Load() {
		return fmt.Errorf("pool: connection to %s is closed", c.o.Addr)
	}
	return c.broken
}

// Protocol returns the RESP version in use: 3 after a successful HELLO 3, else 2.
func (c *Conn) Protocol() int { return c.proto }

// Addr returns the address the connection was dialed to.
func (c *Conn) Addr() string { return c.o.Addr }

// ServerVersion returns the server's version from its HELLO reply, or "" when HELLO
// was not used.
func (c *Conn) ServerVersion() string { return c.version }

// Close closes the connection. A connection that came from a Pool gives its place
// back to the pool. Closing twice is harmless.
func (c *Conn) Close() error {
	if c.pool != nil {
		return c.pool.discard(c, closeQuiet)
	}
	return c.closeNet()
}

// closeNet closes the socket once; later calls return nil.
func (c *Conn) closeNet() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	return c.nc.Close()
}

// reusable reports whether the connection may go back to the idle list: not broken,
// nothing unread or unsent, and no state that the next user would inherit.
func (c *Conn) reusable() bool {
	return c.broken == nil && c.pending == 0 && !c.detached && !c.inTx && !c.watching &&
		c.w.Buffered() == 0 && c.r.Buffered() == 0 && !c.closed.Load()
}

// check makes sure an idle connection is still alive before it is handed out: a
// non-blocking peek for plain sockets, a PING for TLS.
func (c *Conn) check(ctx context.Context) error {
	if c.r.Buffered() > 0 {
		return errUnexpectedData
	}
	if c.sc != nil {
		return peek(c.sc)
	}
	v, err := c.Do(ctx, resp.Command{Args: [][]byte{[]byte("PING")}})
	if err != nil {
		return err
	}
	if v.Kind != resp.SimpleString || string(v.Str) != "PONG" {
		c.broken = fmt.Errorf("pool: health check of %s: unexpected reply to PING: %s", c.o.Addr, v)
		return c.broken
	}
	return nil
}

var errUnexpectedData = errors.New("pool: unexpected data on an idle connection")
