//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package pool

import "syscall"

// peek is not available on this platform: an idle connection is assumed alive, and a
// dead one shows up as an error on first use.
func peek(syscall.RawConn) error { return nil }
