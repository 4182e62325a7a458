//go:build !unix

package localredis

import "os"

// pauseSignal returns nil: this system cannot freeze a process with a signal.
func pauseSignal() os.Signal { return nil }

// resumeSignal returns nil: this system cannot freeze a process with a signal.
func resumeSignal() os.Signal { return nil }
