package resp

import (
	"fmt"
	"strings"
)

// ServerError is an error reply from the server, such as "WRONGTYPE Operation against a
// key holding the wrong kind of value". It is what Value.Err returns for an error value;
// use errors.As to get at its code.
type ServerError struct {
	Code string // the first word of the message, such as "ERR", "MOVED" or "WRONGTYPE"
	Msg  string // the rest of the message after the code, without the separating space
}

// NewServerError splits an error message into its code and the rest.
func NewServerError(msg string) *ServerError {
	code, rest, _ := strings.Cut(msg, " ")
	return &ServerError{Code: code, Msg: rest}
}

// Error returns the whole message as the server sent it.
func (e *ServerError) Error() string {
	if e.Msg == "" {
		return e.Code
	}
	return e.Code + " " + e.Msg
}

// ProtocolError reports bytes that are not valid RESP. A connection that returned one is
// out of step with its peer and must be closed.
type ProtocolError struct {
	Offset int64  // how many bytes of the stream were consumed before the fault was found
	Msg    string // what was wrong
}

// Error describes the fault and where it was found.
func (e *ProtocolError) Error() string {
	return fmt.Sprintf("resp: protocol error at byte %d: %s", e.Offset, e.Msg)
}
