package pipeline

import (
	"errors"
	"fmt"

	"github.com/rcli-dev/rcli/internal/resp"
)

// UnknownOutcomeError is the result of a command that was (or may have been) written to
// a connection that broke before its reply arrived: the server may or may not have run
// it, so it is never sent again silently.
type UnknownOutcomeError struct {
	Command string // the command's name, upper case
	Addr    string // the node the command was sent to
	Err     error  // what broke the connection
}

// Error says that the outcome is unknown, where and why.
func (e *UnknownOutcomeError) Error() string {
	return fmt.Sprintf("pipeline: %s on %s: outcome unknown: %v", e.Command, e.Addr, e.Err)
}

// Unwrap returns what broke the connection.
func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// ErrTxAborted is returned (wrapped) when EXEC replies nil: a watched key changed, so
// the transaction did not run.
var ErrTxAborted = errors.New("pipeline: transaction aborted: a watched key changed")

// ExecAbortError reports a transaction that the server discarded at EXEC because one of
// its commands was refused when it was queued (a wrong number of arguments, an unknown
// command, an ACL denial...). Nothing of the transaction ran.
type ExecAbortError struct {
	Index   int        // the offending command's position among the transaction's commands
	Command string     // its name, upper case
	Reply   resp.Value // the error it got when queued
	Exec    resp.Value // EXEC's own reply, EXECABORT ...
}

// Error names the offending command and the server's reasons.
func (e *ExecAbortError) Error() string {
	return fmt.Sprintf("pipeline: EXECABORT: command %d (%s) was refused: %s", e.Index+1, e.Command, e.Reply.Str)
}

// Unwrap returns the offending command's error reply as a *resp.ServerError.
func (e *ExecAbortError) Unwrap() error { return e.Reply.Err() }

// ErrWatchRetries is wrapped by the error Watch returns when every attempt found a
// watched key changed.
var ErrWatchRetries = errors.New("pipeline: WATCH failed on every attempt")
