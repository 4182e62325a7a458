// Package resp is rcli's codec for the Redis serialization protocol, RESP2 and RESP3.
//
// It owns the Value type that every other package passes around, a streaming Reader
// that bounds every length it is sent, a Writer that encodes commands without
// allocating, and redis-cli's rules for splitting a typed line into arguments.
//
// Server error replies are values (Kind Error); Value.Err turns one into a
// *ServerError. Malformed bytes are a *ProtocolError, after which the stream is out of
// step and its connection must be closed.
//
// The package knows nothing of sockets, slots or output formats: it sees only
// io.Reader and io.Writer and imports the standard library alone.
package resp
