package pool

import (
	"bytes"
	"math"
	"strconv"
	"time"

	"github.com/rcli-dev/rcli/internal/resp"
)

// cmdClass is what the connection needs to know about a command it writes.
type cmdClass uint8

const (
	classPlain    cmdClass = iota
	classBlocking          // may block: see BlockingTimeout
	classDetach            // changes connection state for good: never reuse the conn
	classMulti             // opens a transaction
	classEndTx             // EXEC or DISCARD: ends a transaction and any WATCH
	classWatch             // WATCH
	classUnwatch           // UNWATCH
)

// maxNameLen is the longest command name classify looks at.
const maxNameLen = 12

// classify looks at a command's name without allocating.
func classify(args [][]byte) cmdClass {
	if len(args) == 0 {
		return classPlain
	}
	name := args[0]
	if len(name) < 4 || len(name) > maxNameLen {
		return classPlain
	}
	var buf [maxNameLen]byte
	for i, c := range name {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(name)]) {
	case "HELLO":
		// HELLO with no arguments only reports the server's details; with a protocol
		// version (and AUTH or SETNAME) it changes the connection.
		if len(args) == 1 {
			return classPlain
		}
		return classDetach
	case "BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BZPOPMIN", "BZPOPMAX", "BLMPOP", "BZMPOP",
		"XREAD", "XREADGROUP", "WAIT", "WAITAOF":
		return classBlocking
	case "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "MONITOR", "SELECT", "AUTH",
		"RESET", "READONLY", "READWRITE", "SYNC", "PSYNC", "REPLCONF":
		return classDetach
	case "CLIENT":
		// CLIENT REPLY OFF|SKIP changes how many replies arrive; CLIENT SETNAME and
		// the tracking switches change what the next user of the connection sees.
		if len(args) > 1 && (bytes.EqualFold(args[1], []byte("REPLY")) ||
			bytes.EqualFold(args[1], []byte("SETNAME")) || bytes.EqualFold(args[1], []byte("TRACKING"))) {
			return classDetach
		}
	case "MULTI":
		return classMulti
	case "EXEC", "DISCARD":
		return classEndTx
	case "WATCH":
		return classWatch
	case "UNWATCH":
		return classUnwatch
	}
	return classPlain
}

// BlockingTimeout reports whether cmd is a blocking command and, if so, how long the
// server may hold it before replying; a timeout of 0 with blocks true means it may
// block forever. It knows BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN and BZPOPMAX
// (timeout in seconds, fractions allowed, last argument), BLMPOP and BZMPOP (seconds,
// first argument after the name), XREAD and XREADGROUP only with BLOCK (milliseconds),
// and WAIT and WAITAOF (milliseconds, last argument). A timeout the server would
// reject does not block.
func BlockingTimeout(cmd resp.Command) (timeout time.Duration, blocks bool) {
	if classify(cmd.Args) != classBlocking {
		return 0, false
	}
	args := cmd.Args
	last := args[len(args)-1]
	switch {
	case cmd.Is("BLPOP"), cmd.Is("BRPOP"), cmd.Is("BZPOPMIN"), cmd.Is("BZPOPMAX"):
		if len(args) < 3 {
			return 0, false
		}
		return seconds(last)
	case cmd.Is("BRPOPLPUSH"):
		if len(args) != 4 {
			return 0, false
		}
		return seconds(last)
	case cmd.Is("BLMOVE"):
		if len(args) != 6 {
			return 0, false
		}
		return seconds(last)
	case cmd.Is("BLMPOP"), cmd.Is("BZMPOP"):
		if len(args) < 5 {
			return 0, false
		}
		return seconds(args[1])
	case cmd.Is("XREAD"), cmd.Is("XREADGROUP"):
		for i := 1; i+1 < len(args); i++ {
			switch {
			case bytes.EqualFold(args[i], []byte("STREAMS")):
				return 0, false
			case bytes.EqualFold(args[i], []byte("BLOCK")):
				return millis(args[i+1])
			}
		}
		return 0, false
	case cmd.Is("WAIT"):
		if len(args) != 3 {
			return 0, false
		}
		return millis(last)
	case cmd.Is("WAITAOF"):
		if len(args) != 4 {
			return 0, false
		}
		return millis(last)
	}
	return 0, false
}

// forever is the largest timeout kept as a duration; longer ones block forever.
const forever = 100 * 365 * 24 * time.Hour

func seconds(b []byte) (time.Duration, bool) {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	if f*float64(time.Second) >= float64(forever) {
		return 0, true
	}
	return time.Duration(f * float64(time.Second)), true
}

func millis(b []byte) (time.Duration, bool) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	if n >= int64(forever/time.Millisecond) {
		return 0, true
	}
	return time.Duration(n) * time.Millisecond, true
}
