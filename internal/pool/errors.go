package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// ErrClosed is returned (wrapped) by Pool.Get once the pool is closed, including to
// callers that were waiting for a connection when it closed.
var ErrClosed = errors.New("pool: closed")

// ErrPoolTimeout is wrapped by the error Pool.Get returns when no connection became
// free within WaitTimeout; the error's text says how long it waited and how many
// connections were in use.
var ErrPoolTimeout = errors.New("pool: timed out waiting for a free connection")

// DialError reports that a connection to Addr could not be made: connecting, the TLS
// handshake, or an I/O failure during the connection handshake. Its text matches
// redis-cli's, such as "Could not connect to Redis at 127.0.0.1:6379: Connection
// refused".
type DialError struct {
	Addr string // host:port, or the socket path
	Err  error  // the cause
}

// Error returns redis-cli's message for the failure.
func (e *DialError) Error() string {
	return "Could not connect to Redis at " + e.Addr + ": " + describe(e.Err)
}

// Unwrap returns the cause.
func (e *DialError) Unwrap() error { return e.Err }

// tlsError marks a failed TLS handshake in a DialError.
type tlsError struct{ err error }

func (e *tlsError) Error() string { return "TLS handshake failed: " + e.err.Error() }
func (e *tlsError) Unwrap() error { return e.err }

// describe renders a connection failure the way redis-cli does: the C library's
// strerror text for system errors ("Connection refused"), the resolver's for name
// lookups.
func describe(err error) string {
	var tlsErr *tlsError
	var dnsErr *net.DNSError
	var errno syscall.Errno
	switch {
	case err == nil:
		return "unknown error"
	case errors.As(err, &tlsErr):
		return tlsErr.Error()
	case errors.As(err, &dnsErr):
		switch {
		case dnsErr.IsNotFound:
			return "Name or service not known"
		case dnsErr.IsTimeout:
			return "Connection timed out"
		}
		return "Temporary failure in name resolution"
	case errors.As(err, &errno):
		return capitalize(errno.Error())
	case errors.Is(err, context.Canceled):
		return "Operation canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		return "Connection timed out"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "Server closed the connection"
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func capitalize(s string) string {
	if s != "" && 'a' <= s[0] && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// poolTimeoutError is what Get returns after WaitTimeout; it wraps ErrPoolTimeout.
type poolTimeoutError struct {
	addr          string
	waited        time.Duration
	inUse, active int
}

func (e *poolTimeoutError) Error() string {
	return fmt.Sprintf("pool: no free connection to %s after %v (%d of %d in use)",
		e.addr, e.waited, e.inUse, e.active)
}

func (e *poolTimeoutError) Unwrap() error { return ErrPoolTimeout }

// closedError is what Get returns once the pool is closed; it wraps ErrClosed.
type closedError struct{ addr string }

func (e *closedError) Error() string { return "pool: the pool for " + e.addr + " is closed" }
func (e *closedError) Unwrap() error { return ErrClosed }
