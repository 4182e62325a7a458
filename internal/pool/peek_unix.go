//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package pool

import (
	"io"
	"syscall"
)

// peek checks an idle socket without blocking and without consuming anything: no
// bytes waiting means alive, end of stream means the server closed it, and bytes
// waiting mean something unexpected arrived (a late reply, an error before close).
func peek(sc syscall.RawConn) error {
	var (
		n    int
		perr error
		buf  [1]byte
	)
	err := sc.Read(func(fd uintptr) bool {
		n, _, perr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait for readiness
	})
	switch {
	case err != nil:
		return err
	case n == 0 && perr == nil:
		return io.EOF
	case n > 0:
		return errUnexpectedData
	case perr == syscall.EAGAIN || perr == syscall.EWOULDBLOCK || perr == syscall.EINTR:
		return nil
	}
	return perr
}
