package pipeline

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rcli-dev/rcli/internal/resp"
)

// Outcome is how one input command ended in pipe mode.
type Outcome uint8

// The outcomes. Every command read ends in exactly one of OutcomeOK, OutcomeError,
// OutcomeRejected and OutcomeUnknown.
const (
	OutcomeOK       Outcome = iota + 1 // the server replied, and not with an error
	OutcomeError                       // the server replied with an error
	OutcomeRejected                    // refused before sending: nothing of it reached the server
	OutcomeUnknown                     // written, then the connection was lost before its reply
)

// String returns the outcome's name as the report writes it: "ok", "error",
// "rejected" or "unknown".
func (o Outcome) String() string {
	switch o {
	case OutcomeOK:
		return "ok"
	case OutcomeError:
		return "error"
	case OutcomeRejected:
		return "rejected"
	case OutcomeUnknown:
		return "unknown"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// ReportLine is one line of the --report file: a command that did not end ok, or an ok
// write that WAIT did not confirm (Outcome "ok", Unconfirmed true).
type ReportLine struct {
	Command     int64  `json:"command"`        // its number among the commands read, from 1
	Line        int64  `json:"line"`           // the input line where it starts
	Offset      int64  `json:"offset"`         // the input byte offset where it starts
	Name        string `json:"name,omitempty"` // the command's name, upper case, when known
	Outcome     string `json:"outcome"`        // ok, error, rejected or unknown
	Unconfirmed bool   `json:"unconfirmed,omitempty"`
	Reply       string `json:"reply"`          // the error reply, or why it was rejected or is unknown
	Addr        string `json:"addr,omitempty"` // the node it was sent to, when it was
}

// outcomes counts the outcomes of a pipe run and reports every one that is not ok. It
// is safe for concurrent use; counting an ok outcome takes no lock.
type outcomes struct {
	ok, errs, rejected, unknown, unconfirmed atomic.Int64

	mu     sync.Mutex
	stderr io.Writer
	report *bufio.Writer // nil without --report
	werr   error         // the first error writing the report
}

func newOutcomes(stderr, report io.Writer) *outcomes {
	o := &outcomes{stderr: stderr}
	if report != nil {
		o.report = bufio.NewWriterSize(report, 64<<10)
	}
	return o
}

// addOK counts n ok outcomes.
func (o *outcomes) addOK(n int64) { o.ok.Add(n) }

// fail counts and reports a command that did not end ok, or (unconfirmed) an ok write
// that WAIT did not confirm.
func (o *outcomes) fail(l ReportLine, out Outcome, unconfirmed bool) {
	switch {
	case unconfirmed:
		o.ok.Add(1)
		o.unconfirmed.Add(1)
	case out == OutcomeError:
		o.errs.Add(1)
	case out == OutcomeRejected:
		o.rejected.Add(1)
	case out == OutcomeUnknown:
		o.unknown.Add(1)
	}
	l.Outcome = out.String()
	l.Unconfirmed = unconfirmed
	var msg strings.Builder
	fmt.Fprintf(&msg, "command %d at line %d", l.Command, l.Line)
	if l.Name != "" {
		fmt.Fprintf(&msg, " (%s)", l.Name)
	}
	switch {
	case unconfirmed:
		fmt.Fprintf(&msg, ": not confirmed by WAIT: %s\n", l.Reply)
	case out == OutcomeRejected:
		fmt.Fprintf(&msg, ": rejected: %s\n", l.Reply)
	case out == OutcomeUnknown:
		fmt.Fprintf(&msg, ": outcome unknown: %s\n", l.Reply)
	default:
		fmt.Fprintf(&msg, ": %s\n", l.Reply)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	io.WriteString(o.stderr, msg.String())
	if o.report != nil && o.werr == nil {
		b, err := json.Marshal(l)
		if err == nil {
			b = append(b, '\n')
			_, err = o.report.Write(b)
		}
		o.werr = err
	}
}

// flush writes out the report.
func (o *outcomes) flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.report != nil && o.werr == nil {
		o.werr = o.report.Flush()
	}
	if o.werr != nil {
		return fmt.Errorf("pipeline: write report: %w", o.werr)
	}
	return nil
}

// commandName returns the upper-case name of a RESP-encoded command, "" when it cannot
// be read.
func commandName(data []byte) string {
	// *N\r\n$L\r\nNAME\r\n
	i := bytes.IndexByte(data, '\n')
	if i < 0 || i+1 >= len(data) || data[i+1] != '$' {
		return ""
	}
	rest := data[i+1:]
	j := bytes.IndexByte(rest, '\n')
	if j < 0 {
		return ""
	}
	n, ok := resp.ParseInt(bytes.TrimSuffix(rest[1:j], []byte{'\r'}))
	if !ok || n < 0 || int64(len(rest)-j-1) < n {
		return ""
	}
	return strings.ToUpper(string(rest[j+1 : j+1+int(n)]))
}
