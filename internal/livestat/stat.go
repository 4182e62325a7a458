package livestat

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// statHeader is printed before the first row and every 20 rows, as redis-cli does.
const statHeader = "------- data ------ --------------------- load -------------------- - child -\n" +
	"keys       mem      clients blocked requests            connections          \n"

// InfoFunc returns the INFO text of every node the view covers. A server error reply
// is returned as ErrorReply; any other error is a failure to reach a node, after which
// the view waits a second and tries again.
type InfoFunc func(ctx context.Context) ([]string, error)

// ErrorReply is a server's error reply to INFO; --stat stops on it, as redis-cli does.
type ErrorReply struct {
	Msg string // the server's message
}

// Error returns the server's message.
func (e *ErrorReply) Error() string { return e.Msg }

// StatOptions configure --stat.
type StatOptions struct {
	Interval time.Duration // between rows; 0 means one second
	Out      io.Writer     // where the table prints
}

// Stat prints a row every interval until ctx ends: the keys of every database, used
// memory, connected and blocked clients, commands processed (and the change since the
// previous row), connections received, and a child process at work (SAVE, AOF,
// SAVE+AOF, LOAD). With several nodes (a cluster) each column is their sum. A server
// error ends it with "ERROR: <msg>" on Out and an *ErrorReply; a node that cannot be
// reached prints redis-cli's "Reconnecting... N" and is retried every second.
func Stat(ctx context.Context, info InfoFunc, o StatOptions) error {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	var requests int64
	rows := 0
	tries := 0
	for {
		infos, err := info(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if er, ok := err.(*ErrorReply); ok {
			fmt.Fprintf(o.Out, "ERROR: %s\n", er.Msg)
			return er
		}
		if err != nil {
			tries++
			fmt.Fprintf(o.Out, "\r\x1b[0KReconnecting... %d\r", tries)
			if err := sleep(ctx, time.Second); err != nil {
				return err
			}
			continue
		}
		tries = 0
		if rows%20 == 0 {
			io.WriteString(o.Out, statHeader)
		}
		rows++
		var row string
		row, requests = StatRow(infos, requests)
		io.WriteString(o.Out, row)
		if err := sleep(ctx, o.Interval); err != nil {
			return err
		}
	}
}

// StatRow renders one --stat row from the nodes' INFO texts, summed. prevRequests is
// the previous row's request count (0 for the first row, which shows "+0"); the row's
// own count is returned for the next.
func StatRow(infos []string, prevRequests int64) (string, int64) {
	var keys, mem, clients, blocked, requests, conns int64
	child := 0
	for _, text := range infos {
		f := fields(text)
		for db := 0; db < 20; db++ {
			if v, ok := f["db"+strconv.Itoa(db)]; ok {
				keys += keyspaceKeys(v)
			}
		}
		mem += num(f["used_memory"])
		clients += num(f["connected_clients"])
		blocked += num(f["blocked_clients"])
		requests += num(f["total_commands_processed"])
		conns += num(f["total_connections_received"])
		if num(f["rdb_bgsave_in_progress"]) != 0 || num(f["bgsave_in_progress"]) != 0 {
			child |= 1
		}
		if num(f["aof_rewrite_in_progress"]) != 0 {
			child |= 2
		}
		if num(f["loading"]) != 0 {
			child |= 4
		}
	}
	delta := int64(0)
	if prevRequests != 0 {
		delta = requests - prevRequests
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-11s", strconv.FormatInt(keys, 10))
	fmt.Fprintf(&b, "%-8s", BytesToHuman(mem))
	fmt.Fprintf(&b, " %-8s", strconv.FormatInt(clients, 10))
	fmt.Fprintf(&b, "%-8s", strconv.FormatInt(blocked, 10))
	fmt.Fprintf(&b, "%-19s", fmt.Sprintf("%d (+%d)", requests, delta))
	fmt.Fprintf(&b, " %-12s", strconv.FormatInt(conns, 10))
	switch child {
	case 1:
		b.WriteString("SAVE")
	case 2:
		b.WriteString("AOF")
	case 3:
		b.WriteString("SAVE+AOF")
	case 4:
		b.WriteString("LOAD")
	}
	b.WriteString("\n")
	return b.String(), requests
}

// BytesToHuman renders a byte count as redis-cli does: 100B, 4.00K, 1.49M, 2.00G.
func BytesToHuman(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	d := float64(n)
	switch {
	case n < 1024:
		return sign + strconv.FormatInt(n, 10) + "B"
	case n < 1024*1024:
		return fmt.Sprintf("%s%.2fK", sign, d/1024)
	case n < 1024*1024*1024:
		return fmt.Sprintf("%s%.2fM", sign, d/(1024*1024))
	case n < 1024*1024*1024*1024:
		return fmt.Sprintf("%s%.2fG", sign, d/(1024*1024*1024))
	default:
		return fmt.Sprintf("%s%.2fT", sign, d/(1024*1024*1024*1024))
	}
}

// fields parses INFO's "name:value" lines.
func fields(text string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// keyspaceKeys reads keys=N from a keyspace line's value "keys=N,expires=...".
func keyspaceKeys(v string) int64 {
	for _, part := range strings.Split(v, ",") {
		if n, ok := strings.CutPrefix(part, "keys="); ok {
			return num(n)
		}
	}
	return 0
}

// num parses an integer, 0 when it is not one.
func num(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
