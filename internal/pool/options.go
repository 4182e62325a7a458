package pool

import (
	"crypto/tls"
	"fmt"
	"net"
	"runtime"
	"time"

	"github.com/rcli-dev/rcli/internal/resp"
)

// Defaults applied to zero fields of Options.
const (
	DefaultAddr             = "127.0.0.1:6379"
	DefaultDialTimeout      = 5 * time.Second
	DefaultReadTimeout      = 5 * time.Second
	DefaultWriteTimeout     = 5 * time.Second
	DefaultHealthCheckAfter = time.Second
	defaultActivePerCPU     = 10
)

// Options says how to reach one server and how to pool connections to it. The zero
// value connects to 127.0.0.1:6379 over plain TCP with RESP2.
//
// Durations take their default when zero; a negative duration disables the feature
// (no timeout, no health check).
type Options struct {
	// Network is "tcp" (the default) or "unix".
	Network string
	// Addr is host:port for TCP, or the socket path for a unix socket.
	Addr string
	// TLS, when set, turns on TLS with this configuration. A failed handshake is an
	// error: there is never a plaintext fallback. An empty ServerName is set to the
	// host part of Addr.
	TLS *tls.Config

	// Username and Password authenticate the connection (AUTH, or inside HELLO).
	// A Password without Username authenticates as the default user.
	Username, Password string
	// DB is selected with SELECT after connecting when it is not 0.
	DB int
	// Protocol is 2 or 3 (0 means 2). With 3 the connection sends HELLO 3 (with AUTH
	// and SETNAME inside it) and falls back to RESP2 plus AUTH when the server does
	// not know HELLO; any other failure of HELLO 3 is an error.
	Protocol int
	// ClientName is set with CLIENT SETNAME (or HELLO SETNAME) when not empty.
	ClientName string
	// ReadOnly sends READONLY after connecting, for reads from cluster replicas.
	ReadOnly bool

	// DialTimeout bounds connecting, the TLS handshake and the connection handshake
	// (default 5s). ReadTimeout bounds waiting for each reply (default 5s) and
	// WriteTimeout each flush (default 5s). A context deadline also applies.
	DialTimeout, ReadTimeout, WriteTimeout time.Duration

	// ReaderOptions bounds what the RESP reader accepts.
	ReaderOptions resp.ReaderOptions
	// OnPush receives out-of-band RESP3 pushes (such as client-side caching
	// invalidations) that arrive while Conn.Read waits for a reply. It runs on the
	// reading goroutine. Nil drops them.
	OnPush func(resp.Value)

	// MaxActive bounds the connections the pool keeps open, idle and in use together.
	// Zero means 10 per CPU.
	MaxActive int
	// MinIdle connections are kept ready in the background (never past MaxActive).
	MinIdle int
	// MaxIdle bounds idle connections; a connection returned past it is closed. Zero
	// means MaxActive.
	MaxIdle int
	// IdleTimeout closes connections idle for longer than this (0: never).
	IdleTimeout time.Duration
	// MaxLifetime closes connections older than this, give or take 10% jitter so that
	// they do not all reconnect at once (0: never).
	MaxLifetime time.Duration
	// WaitTimeout bounds waiting for a free connection when MaxActive are in use
	// (default ReadTimeout + 1s). The context deadline also applies.
	WaitTimeout time.Duration
	// HealthCheckAfter is how long a connection may sit idle before a checkout checks
	// that it is still alive (default 1s): a non-blocking peek at the socket for plain
	// TCP and unix sockets, a PING for TLS. A connection idle for less is used as is.
	HealthCheckAfter time.Duration
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.Network == "" {
		o.Network = "tcp"
	}
	if o.Addr == "" {
		if o.Network == "unix" {
			o.Addr = "/tmp/redis.sock"
		} else {
			o.Addr = DefaultAddr
		}
	}
	if o.TLS != nil && o.TLS.ServerName == "" && !o.TLS.InsecureSkipVerify && o.Network == "tcp" {
		// Verify the host dialed; clone so that the caller's config is left alone.
		o.TLS = o.TLS.Clone()
		o.TLS.ServerName, _, _ = net.SplitHostPort(o.Addr)
	}
	if o.Protocol == 0 {
		o.Protocol = 2
	}
	o.DialTimeout = durationDefault(o.DialTimeout, DefaultDialTimeout)
	o.ReadTimeout = durationDefault(o.ReadTimeout, DefaultReadTimeout)
	o.WriteTimeout = durationDefault(o.WriteTimeout, DefaultWriteTimeout)
	o.HealthCheckAfter = durationDefault(o.HealthCheckAfter, DefaultHealthCheckAfter)
	switch {
	case o.WaitTimeout == 0:
		o.WaitTimeout = time.Second + o.ReadTimeout
	case o.WaitTimeout < 0:
		o.WaitTimeout = 0 // only the context bounds the wait
	}
	if o.MaxActive <= 0 {
		o.MaxActive = defaultActivePerCPU * runtime.GOMAXPROCS(0)
	}
	if o.MaxIdle <= 0 || o.MaxIdle > o.MaxActive {
		o.MaxIdle = o.MaxActive
	}
	if o.MinIdle > o.MaxActive {
		o.MinIdle = o.MaxActive
	}
	return o
}

// durationDefault returns def for 0, 0 (meaning none) for a negative d, else d.
func durationDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// String describes the options without the password, so that they can be logged.
func (o Options) String() string {
	pass := ""
	if o.Password != "" {
		pass = "<redacted>"
	}
	return fmt.Sprintf("pool.Options{Network:%q Addr:%q TLS:%t Username:%q Password:%q DB:%d Protocol:%d ClientName:%q ReadOnly:%t MaxActive:%d}",
		o.Network, o.Addr, o.TLS != nil, o.Username, pass, o.DB, o.Protocol, o.ClientName, o.ReadOnly, o.MaxActive)
}
