package localredis

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/rcli-dev/rcli/internal/resp"
)

// DefaultTimeout bounds each RawConn.Do call unless RawConn.Timeout says otherwise.
const DefaultTimeout = 5 * time.Second

// RawConn is a minimal RESP connection for fixture work: it writes one command, reads
// one reply and has no pool, handshake, redirects or retries. It is not safe for
// concurrent use.
type RawConn struct {
	// Timeout bounds each Do call (write and read); zero means DefaultTimeout.
	Timeout time.Duration

	addr string
	conn net.Conn
	r    *resp.Reader
	w    *resp.Writer
}

// Dial connects to addr, a "host:port" TCP address or, when it starts with "/", a unix
// socket path. With a non-nil tlsConf the connection uses TLS; when tlsConf.ServerName
// is empty the host of addr is verified.
func Dial(ctx context.Context, addr string, tlsConf *tls.Config) (*RawConn, error) {
	network := "tcp"
	if strings.HasPrefix(addr, "/") {
		network = "unix"
	}
	var (
		conn net.Conn
		err  error
	)
	if tlsConf != nil {
		d := tls.Dialer{Config: tlsConf}
		conn, err = d.DialContext(ctx, network, addr)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(ctx, network, addr)
	}
	if err != nil {
		return nil, fmt.Errorf("localredis: dial %s: %w", addr, err)
	}
	return &RawConn{
		addr: addr,
		conn: conn,
		r:    resp.NewReader(conn, resp.ReaderOptions{}),
		w:    resp.NewWriter(conn),
	}, nil
}

// Addr returns the address the connection was dialed to.
func (c *RawConn) Addr() string { return c.addr }

// Do sends one command and reads its reply within the connection's Timeout. An error
// reply is returned as the value and also as a non-nil error wrapping its
// *resp.ServerError, so fixture code can check one error; I/O and protocol errors
// return a zero value, after which the connection should be closed.
func (c *RawConn) Do(args ...string) (resp.Value, error) {
	if len(args) == 0 {
		return resp.Value{}, fmt.Errorf("localredis: %s: empty command", c.addr)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if err := c.conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return resp.Value{}, fmt.Errorf("localredis: %s: set deadline: %w", c.addr, err)
	}
	c.w.WriteArgs(args...)
	if err := c.w.Flush(); err != nil {
		return resp.Value{}, fmt.Errorf("localredis: %s: write %s: %w", c.addr, args[0], err)
	}
	v, err := c.r.ReadValue()
	if err != nil {
		return resp.Value{}, fmt.Errorf("localredis: %s: read reply to %s: %w", c.addr, args[0], err)
	}
	if err := v.Err(); err != nil {
		return v, fmt.Errorf("localredis: %s: %s: %w", c.addr, args[0], err)
	}
	return v, nil
}

// Close closes the connection.
func (c *RawConn) Close() error {
	return c.conn.Close()
}
