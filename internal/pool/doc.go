// Package pool manages connections to one Redis address.
//
// It owns dialing (TCP, unix socket, TLS), the connection handshake (HELLO, AUTH,
// SELECT, CLIENT SETNAME, READONLY, pipelined into one round trip), read and write
// deadlines (blocking commands such as BLPOP get their own, see BlockingTimeout), and
// a bounded Pool with LIFO idle reuse, FIFO waiting, health checks, expiry, fail-fast
// while the address is known to be down, and statistics.
//
// It knows nothing of hash slots, cluster topology, redirects or retries: those belong
// to internal/cluster, which keeps one Pool per node. It never formats replies.
//
// # Errors
//
// A server error reply is a value (resp.Value of kind Error) and leaves a connection
// usable. An I/O error, a timeout, a cancelled context or a *resp.ProtocolError marks
// the connection broken (Conn.Broken); Pool.Put closes a broken connection, or one with
// unread replies, instead of reusing it, so a late reply can never reach another caller.
// Connection failures are *DialError, whose text matches redis-cli's
// "Could not connect to Redis at 127.0.0.1:6379: Connection refused". The sentinels
// ErrClosed and ErrPoolTimeout arrive wrapped: compare with errors.Is.
//
// # Deadlines
//
// Every read has a deadline: the context's, when it is earlier, else ReadTimeout. A
// blocking command gets its own timeout plus ReadTimeout as margin, or none when it
// blocks forever. Cancelling the context interrupts a blocked read at once.
package pool
