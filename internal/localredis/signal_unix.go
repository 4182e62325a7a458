//go:build unix

package localredis

import (
	"os"
	"syscall"
)

// pauseSignal returns the signal that freezes a process.
func pauseSignal() os.Signal { return syscall.SIGSTOP }

// resumeSignal returns the signal that continues a frozen process.
func resumeSignal() os.Signal { return syscall.SIGCONT }
