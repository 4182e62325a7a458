package cluster

import (
	"context"
	"fmt"

	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/resp"
)

// node is one server the client talks to, with its own connection pool.
type node struct {
	addr string
	pool *pool.Pool
}

var askingCmd = resp.NewCommand("ASKING")

// do runs one command on a pooled connection. written reports whether any byte of the
// command may have reached the server: when it is false the command surely did not run
// and may be sent again.
func (n *node) do(ctx context.Context, cmd resp.Command, asking bool) (v resp.Value, written bool, err error) {
	conn, err := n.pool.Get(ctx)
	if err != nil {
		return resp.Value{}, false, err
	}
	defer n.pool.Put(conn)
	if asking {
		conn.Write(askingCmd)
	}
	conn.Write(cmd)
	if err := conn.Flush(ctx); err != nil {
		return resp.Value{}, true, err
	}
	if asking {
		// The reply to ASKING is +OK. Were it an error, the command behind it would run
		// without the flag and its own reply (a MOVED, most likely) would decide.
		if _, err := conn.Read(ctx); err != nil {
			return resp.Value{}, true, err
		}
	}
	v, err = conn.Read(ctx)
	return v, true, err
}

// batchResult is what one per-node batch produced: a reply for each of the first Read
// commands, and for the rest the error that stopped the batch.
type batchResult struct {
	Values  []resp.Value
	Read    int   // replies read; commands past it have no reply
	Written bool  // whether the batch may have reached the server
	Err     error // why the batch stopped early, nil when every reply was read
}

// doBatch writes every command on one connection, then reads every reply: one round trip
// for the whole batch. asking[i] sends ASKING before command i (asking may be nil).
func (n *node) doBatch(ctx context.Context, cmds []resp.Command, asking []bool) batchResult {
	res := batchResult{Values: make([]resp.Value, len(cmds))}
	conn, err := n.pool.Get(ctx)
	if err != nil {
		res.Err = err
		return res
	}
	defer n.pool.Put(conn)
	for i, cmd := range cmds {
		if asking != nil && asking[i] {
			conn.Write(askingCmd)
		}
		conn.Write(cmd)
	}
	res.Written = true
	if err := conn.Flush(ctx); err != nil {
		res.Err = err
		return res
	}
	for i := range cmds {
		if asking != nil && asking[i] {
			if _, err := conn.Read(ctx); err != nil {
				res.Err = err
				return res
			}
		}
		v, err := conn.Read(ctx)
		if err != nil {
			res.Err = err
			return res
		}
		res.Values[i] = v
		res.Read = i + 1
	}
	return res
}

// NodeError is a failure to reach a node or to get a reply from it.
type NodeError struct {
	Addr    string
	Written bool // the command may have reached the server: its outcome is unknown
	Err     error
}

// Error names the node and says whether the command may have run.
func (e *NodeError) Error() string {
	if e.Written {
		return fmt.Sprintf("cluster: %s: outcome unknown: %v", e.Addr, e.Err)
	}
	return fmt.Sprintf("cluster: %s: %v", e.Addr, e.Err)
}

// Unwrap returns the underlying error.
func (e *NodeError) Unwrap() error { return e.Err }
