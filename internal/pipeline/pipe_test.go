package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/redistest"
	"github.com/rcli-dev/rcli/internal/resp"
)

// pipeRun is what one RunPipe produced.
type pipeRun struct {
	sum    PipeSummary
	out    string
	errOut string
	report []ReportLine
	err    error
}

// syncBuffer is a buffer safe for the concurrent writes of a pipe run.
type syncBuffer = redistest.Buffer

func runPipe(t *testing.T, cl *cluster.Client, in io.Reader, mod func(*PipeOptions)) pipeRun {
	t.Helper()
	return runPipeCtx(t, context.Background(), cl, in, mod)
}

func runPipeCtx(t *testing.T, ctx context.Context, cl *cluster.Client, in io.Reader, mod func(*PipeOptions)) pipeRun {
	t.Helper()
	var out, errOut, report syncBuffer
	o := PipeOptions{In: in, Out: &out, Err: &errOut, Client: cl, Report: &report, Timeout: DefaultPipeTimeout}
	if mod != nil {
		mod(&o)
	}
	sum, err := RunPipe(ctx, o)
	r := pipeRun{sum: sum, out: out.String(), errOut: errOut.String(), err: err}
	sc := bufio.NewScanner(strings.NewReader(report.String()))
	for sc.Scan() {
		var l ReportLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "report line %q", sc.Text())
		r.report = append(r.report, l)
	}
	s := r.sum
	require.Equal(t, s.Commands, s.OK+s.Errors+s.Rejected+s.Unknown,
		"every command has exactly one outcome: %+v\nstdout:\n%s\nstderr:\n%s", s, r.out, clipText(r.errOut))
	return r
}

func clipText(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "..."
	}
	return s
}

// inlineSets returns n inline SET commands prefix:i i.
func inlineSets(prefix string, n int, eol string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "SET %s:%d %d%s", prefix, i, i, eol)
	}
	return b.String()
}

// respSets returns n SET commands in RESP.
func respSets(prefix string, n int) string {
	var b []byte
	for i := range n {
		b = resp.AppendArgs(b, "SET", prefix+":"+strconv.Itoa(i), strconv.Itoa(i))
	}
	return string(b)
}

func TestPipeStandalone(t *testing.T) {
	s := redistest.StartServer(t)
	cl := standaloneClient(t, s)
	ctx := testCtx(t, 60*time.Second)

	t.Run("inline-lines-like-redis-cli", func(t *testing.T) {
		r := runPipe(t, cl, strings.NewReader(inlineSets("inl", 2000, "\n")), nil)
		require.NoError(t, r.err)
		assert.Equal(t, "All data transferred. Waiting for the last reply...\n"+
			"Last reply received from server.\n"+
			"errors: 0, replies: 2000\n"+
			"outcomes: ok 2000, error 0, rejected 0, unknown 0, total 2000\n", r.out)
		assert.Empty(t, r.errOut)
		assert.Equal(t, PipeExitOK, r.sum.ExitCode())
		v, err := cl.Do(ctx, cmd("GET", "inl:1999"))
		require.NoError(t, err)
		assert.Equal(t, "1999", v.Text())
	})
	t.Run("resp", func(t *testing.T) {
		r := runPipe(t, cl, strings.NewReader(respSets("resp", 5000)), nil)
		require.NoError(t, r.err)
		assert.Equal(t, int64(5000), r.sum.OK)
		v, err := cl.Do(ctx, cmd("GET", "resp:4999"))
		require.NoError(t, err)
		assert.Equal(t, "4999", v.Text())
	})
	t.Run("empty", func(t *testing.T) {
		r := runPipe(t, cl, strings.NewReader(""), nil)
		assert.Equal(t, "All data transferred. Waiting for the last reply...\n"+
			"Last reply received from server.\n"+
			"errors: 0, replies: 0\n"+
			"outcomes: ok 0, error 0, rejected 0, unknown 0, total 0\n", r.out)
	})
}

// TestPipeOutcomes is the accounting test on a standalone server: an input with
// error replies, malformed lines and frames, and refused commands in known places reports
// exactly those line numbers and counts, and runs everything around them.
func TestPipeOutcomes(t *testing.T) {
	s := redistest.StartServer(t)
	cl := standaloneClient(t, s)
	ctx := testCtx(t, 60*time.Second)
	_, err := cl.Do(ctx, cmd("SET", "str", "abc"))
	require.NoError(t, err)

	lines := []string{
		"SET a 1",                // 1
		"INCR str",               // 2: error reply
		`SET b "unbalanced`,      // 3: rejected
		"",                       // 4: blank, not a command
		"SUBSCRIBE ch",           // 5: rejected: breaks reply counting
		"INCR a",                 // 6
		"BLPOP list 0",           // 7: rejected: blocks forever
		"LPUSH a x",              // 8: error reply (WRONGTYPE)
		"\x01garbage",            // 9: rejected: not a command
		"GET a",                  // 10
		"*2\r\n$3\r\nGET\r\n$-2", // 11-14: rejected: bad frame, up to the next frame
		"ignored line",           // 15: skipped with the bad frame
		"*1\r\n$4\r\nPING",       // 16-18
		"CLIENT REPLY OFF",       // 19: rejected
		"SET c 3",                // 20
	}
	for _, eol := range []string{"\n", "\r\n"} {
		t.Run(fmt.Sprintf("eol=%q", eol), func(t *testing.T) {
			input := strings.Join(lines, eol) + eol
			for _, conns := range []int{1, 3} {
				t.Run(fmt.Sprintf("conns=%d", conns), func(t *testing.T) {
					_, err := cl.Do(ctx, cmd("DEL", "a", "b", "c"))
					require.NoError(t, err)
					r := runPipe(t, cl, strings.NewReader(input), func(o *PipeOptions) { o.Conns = conns })
					require.NoError(t, r.err)
					assert.Equal(t, PipeSummary{Commands: 13, OK: 5, Errors: 2, Rejected: 6},
						PipeSummary{Commands: r.sum.Commands, OK: r.sum.OK, Errors: r.sum.Errors, Rejected: r.sum.Rejected, Unknown: r.sum.Unknown})
					assert.Equal(t, PipeExitErrors, r.sum.ExitCode())
					assert.Contains(t, r.out, "errors: 8, replies: 7\n")
					type nonOK struct {
						Command, Line int64
						Outcome, Name string
					}
					var got []nonOK
					for _, l := range r.report {
						got = append(got, nonOK{l.Command, l.Line, l.Outcome, l.Name})
					}
					// Rejections are reported as they are read, replies as they come:
					// compare in command order.
					want := []nonOK{
						{2, 2, "error", "INCR"},
						{3, 3, "rejected", ""},
						{4, 5, "rejected", "SUBSCRIBE"},
						{6, 7, "rejected", "BLPOP"},
						{7, 8, "error", "LPUSH"},
						{8, 9, "rejected", ""},
						{10, 11, "rejected", ""},
						{12, 19, "rejected", "CLIENT"},
					}
					assert.ElementsMatch(t, want, got)
					for _, l := range r.report {
						if l.Line == 11 {
							assert.Contains(t, l.Reply, "bad '$' length -2")
							assert.Contains(t, l.Reply, "skipped lines 11-15")
						}
					}
					assert.Contains(t, r.errOut, "command 2 at line 2 (INCR): ERR value is not an integer or out of range\n")
					assert.Contains(t, r.errOut, "command 3 at line 3: rejected: line 3 (byte ")
					v, err := cl.Do(ctx, cmd("MGET", "a", "b", "c"))
					require.NoError(t, err)
					assert.Equal(t, "2", v.Elems[0].Text())
					assert.True(t, v.Elems[1].IsNull())
					assert.Equal(t, "3", v.Elems[2].Text())
				})
			}
		})
	}
}

// TestPipeT14 is reliability test T14 against a server: 1,000 lines with an unbalanced
// quote on line 501 give 999 ok and 1 rejected at line 501, for CRLF and LF, with or
// without a final newline, and every value reads back byte-exact.
func TestPipeT14(t *testing.T) {
	s := redistest.StartServer(t)
	cl := standaloneClient(t, s)
	ctx := testCtx(t, 60*time.Second)
	for _, eol := range []string{"\n", "\r\n"} {
		for _, final := range []bool{true, false} {
			t.Run(fmt.Sprintf("eol=%q/final=%v", eol, final), func(t *testing.T) {
				_, err := cl.Do(ctx, cmd("FLUSHALL"))
				require.NoError(t, err)
				var b strings.Builder
				for i := 1; i <= 1000; i++ {
					if i == 501 {
						fmt.Fprintf(&b, "SET t14:%d \"unbalanced%s", i, eol)
						continue
					}
					fmt.Fprintf(&b, "SET t14:%d \"\\xff\\x00%d\xfe\"%s", i, i, eol)
				}
				input := b.String()
				if !final {
					input = strings.TrimSuffix(input, eol)
				}
				r := runPipe(t, cl, strings.NewReader(input), nil)
				assert.Equal(t, int64(999), r.sum.OK)
				assert.Equal(t, int64(1), r.sum.Rejected)
				require.Len(t, r.report, 1)
				assert.Equal(t, int64(501), r.report[0].Line)
				for i := 1; i <= 1000; i++ {
					v, err := cl.Do(ctx, cmd("GET", fmt.Sprintf("t14:%d", i)))
					require.NoError(t, err)
					if i == 501 {
						assert.True(t, v.IsNull())
						continue
					}
					require.Equal(t, fmt.Sprintf("\xff\x00%d\xfe", i), v.Text())
				}
			})
		}
	}
}

// TestPipeOrderAcrossConnections checks that several connections keep every key's
// commands in input order, with barriers (keyless commands, SELECT, multi-key
// commands) interleaved.
func TestPipeOrderAcrossConnections(t *testing.T) {
	s := redistest.StartServer(t)
	cl := standaloneClient(t, s)
	ctx := testCtx(t, 60*time.Second)
	const keys, rounds = 50, 200
	var b strings.Builder
	for i := range rounds {
		for k := range keys {
			fmt.Fprintf(&b, "RPUSH ord:%d %d\n", k, i)
		}
		switch i {
		case 50:
			b.WriteString("PING\n")
		case 100:
			b.WriteString("DEL ord:0 ord:1\n")
		case 150:
			b.WriteString("SELECT 1\nSET indb1 yes\nSELECT 0\n")
		}
	}
	r := runPipe(t, cl, strings.NewReader(b.String()), func(o *PipeOptions) { o.Conns = 4 })
	require.NoError(t, r.err)
	assert.Zero(t, r.sum.Errors+r.sum.Rejected+r.sum.Unknown, r.errOut)
	for k := range keys {
		v, err := cl.Do(ctx, cmd("LRANGE", fmt.Sprintf("ord:%d", k), "0", "-1"))
		require.NoError(t, err)
		first := 0
		if k < 2 {
			first = 101 // DEL came after round 100
		}
		require.Len(t, v.Elems, rounds-first, "key %d", k)
		for i, e := range v.Elems {
			require.Equal(t, strconv.Itoa(first+i), e.Text(), "key %d element %d", k, i)
		}
	}
	v, err := cl.Do(ctx, cmd("EXISTS", "indb1"))
	require.NoError(t, err)
	assert.Equal(t, int64(0), v.Int, "SET ran in db 1")
}

func TestPipeTransactions(t *testing.T) {
	s := redistest.StartServer(t)
	cl := standaloneClient(t, s)
	ctx := testCtx(t, 60*time.Second)
	input := strings.Join([]string{
		"SET tx:s abc",
		"MULTI",         // 2
		"INCR tx:n",     // 3
		"INCR tx:s",     // 4: fails at EXEC
		"EXEC",          // 5
		"MULTI",         // 6
		"INCR tx:n",     // 7
		"INCR",          // 8: refused when queued
		"EXEC",          // 9: EXECABORT
		"WATCH tx:w",    // 10
		"MULTI",         // 11
		"SET tx:w 1",    // 12
		"EXEC",          // 13
		"GET tx:n",      // 14
		"MULTI",         // 15: never ends
		"SET tx:late 1", // 16
	}, "\n") + "\n"
	for _, conns := range []int{1, 3} {
		t.Run(fmt.Sprintf("conns=%d", conns), func(t *testing.T) {
			_, err := cl.Do(ctx, cmd("FLUSHALL"))
			require.NoError(t, err)
			r := runPipe(t, cl, strings.NewReader(input), func(o *PipeOptions) { o.Conns = conns })
			outcome := map[int64]string{}
			for _, l := range r.report {
				outcome[l.Line] = l.Outcome + ": " + l.Reply
			}
			assert.Contains(t, outcome[4], "error: ERR value is not an integer")
			assert.Contains(t, outcome[7], "error: not run: EXECABORT")
			assert.Contains(t, outcome[8], "error: ERR wrong number of arguments")
			assert.Contains(t, outcome[9], "error: EXECABORT")
			assert.Contains(t, outcome[15], "rejected: MULTI without EXEC")
			assert.Contains(t, outcome[16], "rejected: MULTI without EXEC")
			assert.Len(t, outcome, 6, "%v", outcome)
			assert.Equal(t, int64(16), r.sum.Commands)
			v, err := cl.Do(ctx, cmd("MGET", "tx:n", "tx:w", "tx:late"))
			require.NoError(t, err)
			assert.Equal(t, "1", v.Elems[0].Text())
			assert.Equal(t, "1", v.Elems[1].Text())
			assert.True(t, v.Elems[2].IsNull())
		})
	}
}

func TestPipeTimeout(t *testing.T) {
	s := redistest.StartServer(t)
	cl := standaloneClient(t, s)
	start := time.Now()
	r := runPipe(t, cl, strings.NewReader("SET a 1\nDEBUG SLEEP 2\nSET b 2\n"), func(o *PipeOptions) {
		o.Timeout = 300 * time.Millisecond
	})
	assert.Less(t, time.Since(start), 1800*time.Millisecond)
	assert.True(t, r.sum.TimedOut)
	assert.Equal(t, "No replies for 0.3 seconds: exiting.\n", firstLine(r.errOut))
	assert.NotContains(t, r.out, "Last reply received")
	assert.Equal(t, int64(3), r.sum.Unknown, "the server writes nothing while it sleeps: all three were in flight")
	assert.Equal(t, PipeExitUnknown, r.sum.ExitCode())
	for _, l := range r.report {
		assert.Equal(t, "unknown", l.Outcome)
		assert.Contains(t, l.Reply, "pipe timeout")
	}
}

func firstLine(s string) string {
	i := strings.IndexByte(s, '\n')
	return s[:i+1]
}

func TestPipeCancelled(t *testing.T) {
	s := redistest.StartServer(t)
	cl := standaloneClient(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	go func() {
		io.WriteString(pw, inlineSets("cx", 1000, "\n"))
		time.Sleep(200 * time.Millisecond)
		cancel()
		// The input never ends, as stdin on a terminal would not.
	}()
	start := time.Now()
	r := runPipeCtx(t, ctx, cl, pr, nil)
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.ErrorIs(t, r.err, context.Canceled)
	assert.Equal(t, int64(1000), r.sum.Commands)
	assert.Equal(t, int64(1000), r.sum.OK)
	pw.Close()
}

// TestPipeBrokenConnection cuts the connection in the middle of a load: the commands in
// flight end unknown (or go again when they are idempotent and that is allowed), the
// ones never written go again on a new connection, which first replays SELECT.
func TestPipeBrokenConnection(t *testing.T) {
	s := redistest.StartServer(t)
	proxy := newFlakyProxy(t, s.Addr)
	ctx := testCtx(t, 60*time.Second)
	check := standaloneClient(t, s)
	for _, idem := range []bool{false, true} {
		t.Run(fmt.Sprintf("resend-idempotent=%v", idem), func(t *testing.T) {
			_, err := check.Do(ctx, cmd("FLUSHALL"))
			require.NoError(t, err)
			cl, err := cluster.New(cluster.Options{Seeds: []string{proxy.addr()},
				Pool: pool.Options{MaxActive: 4, ReadTimeout: 3 * time.Second}})
			require.NoError(t, err)
			t.Cleanup(func() { cl.Close() })
			pr, pw := io.Pipe()
			const n = 20000
			go func() {
				io.WriteString(pw, "SELECT 3\n")
				for i := 0; i < n; i += 500 {
					var b strings.Builder
					for j := i; j < i+500; j++ {
						fmt.Fprintf(&b, "SET bk:%d %d\n", j, j)
					}
					io.WriteString(pw, b.String())
					if i == n/2 {
						proxy.cut()
					}
					time.Sleep(time.Millisecond)
				}
				pw.Close()
			}()
			r := runPipe(t, cl, pr, func(o *PipeOptions) { o.ResendIdempotent = idem })
			require.NoError(t, r.err)
			assert.Equal(t, int64(n+1), r.sum.Commands)
			assert.Zero(t, r.sum.Errors+r.sum.Rejected, clipText(r.errOut))
			if idem {
				assert.Zero(t, r.sum.Unknown, "SET is idempotent: resent")
			} else {
				assert.LessOrEqual(t, r.sum.Unknown, int64(DefaultPipeWindow))
			}
			t.Logf("cut mid-load: ok %d, unknown %d, retries %d", r.sum.OK, r.sum.Unknown, r.sum.Retries)
			unknown := map[string]bool{}
			for _, l := range r.report {
				require.Equal(t, "unknown", l.Outcome)
				unknown[fmt.Sprintf("bk:%d", l.Line-2)] = true
			}
			v, err := check.Do(ctx, cmd("DBSIZE"))
			require.NoError(t, err)
			assert.Zero(t, v.Int, "nothing went to db 0: SELECT was replayed on the new connection")
			p := New(check, Options{})
			p.Queue(cmd("SELECT", "3"))
			for i := range n {
				p.Queue(cmd("GET", fmt.Sprintf("bk:%d", i)))
			}
			res := p.Exec(ctx)
			for i, x := range res[1:] {
				k := fmt.Sprintf("bk:%d", i)
				if !unknown[k] {
					require.Equal(t, strconv.Itoa(i), x.Value.Text(), "key %s ended ok", k)
				}
			}
		})
	}
}

func TestPipeWaitUnconfirmed(t *testing.T) {
	s := redistest.StartServer(t)
	cl := standaloneClient(t, s)
	r := runPipe(t, cl, strings.NewReader(inlineSets("w", 100, "\n")), func(o *PipeOptions) {
		o.Wait, o.WaitTimeout = 1, 20*time.Millisecond
	})
	assert.Equal(t, int64(100), r.sum.OK)
	assert.Equal(t, int64(100), r.sum.Unconfirmed, "no replica: WAIT confirms nothing")
	assert.Equal(t, PipeExitUnknown, r.sum.ExitCode())
	assert.Contains(t, r.out, "unconfirmed by WAIT: 100\n")
	require.Len(t, r.report, 100)
	assert.True(t, r.report[0].Unconfirmed)
	assert.Equal(t, "ok", r.report[0].Outcome)
	assert.Contains(t, r.report[0].Reply, "0 of 1 replicas")
}

func TestPipeProgress(t *testing.T) {
	s := redistest.StartServer(t)
	cl := standaloneClient(t, s)
	var prog syncBuffer
	pr, pw := io.Pipe()
	go func() {
		for range 6 {
			io.WriteString(pw, inlineSets("pg", 100, "\n"))
			time.Sleep(100 * time.Millisecond)
		}
		pw.Close()
	}()
	r := runPipe(t, cl, pr, func(o *PipeOptions) {
		o.Progress, o.ProgressOut, o.InputSize = true, &prog, int64(6*len(inlineSets("pg", 100, "\n")))
	})
	assert.Equal(t, int64(600), r.sum.OK)
	out := prog.String()
	assert.Contains(t, out, "acknowledged")
	assert.Contains(t, out, "%")
	assert.True(t, strings.HasSuffix(out, "\r\x1b[K"), "the line is erased at the end")
	assert.NotContains(t, r.out, "acknowledged", "nothing on stdout")
}

func TestProgressLine(t *testing.T) {
	cases := []struct {
		name string
		pr   progress
		want string
	}{
		{"size-known", progress{sent: 1500000, acked: 1234567, read: 500, size: 1000, elapsed: 10 * time.Second, rate: 123456.7},
			"[============>           ]  50% ETA 0:10 sent 1,500,000, acknowledged 1,234,567, 123,456/s, 0:10"},
		{"size-unknown", progress{sent: 10, acked: 9, elapsed: 3725 * time.Second},
			"sent 10, acknowledged 9, 0/s, 1:02:05"},
		{"done", progress{sent: 10, acked: 10, read: 1000, size: 1000, elapsed: time.Second},
			"[========================] 100% sent 10, acknowledged 10, 0/s, 0:01"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.pr.line())
		})
	}
}

// TestPipeBadInputNeverSent is T15 and T16 against a server: arguments over the limit
// and malformed RESP frames are rejected with their offsets, no byte of them reaches the
// server, and the frames around them run.
func TestPipeBadInputNeverSent(t *testing.T) {
	s := redistest.StartServer(t)
	cl := standaloneClient(t, s)
	ctx := testCtx(t, 20*time.Second)
	_, err := cl.Do(ctx, cmd("CONFIG", "RESETSTAT"))
	require.NoError(t, err)
	big := strings.Repeat("x", 2048)
	input := frame("SET", "before", "1") +
		"*2\r\n$3\r\nGET\r\n$-2\r\nk\r\n" + // $-2
		frame("SET", "big", big) + // over the limit
		"*2\r\n$3\r\nGET\r\n" + frame("SET", "middle", "1") + // *2 with one bulk: cut short by the next frame
		"$3\r\nGET\r\n" + // garbage between frames
		frame("SET", "after", "1") +
		"*3\r\n$3\r\nGET\r\n$1\r\nk" // truncated at the end
	r := runPipe(t, cl, strings.NewReader(input), func(o *PipeOptions) { o.Input.MaxBulkLen = 1024 })
	assert.Equal(t, int64(3), r.sum.OK, r.errOut)
	assert.Equal(t, int64(5), r.sum.Rejected)
	for _, l := range r.report {
		assert.Contains(t, l.Reply, "(byte ", "the error gives the byte offset")
	}
	v, err := cl.Do(ctx, cmd("INFO", "commandstats"))
	require.NoError(t, err)
	assert.NotContains(t, v.Text(), "cmdstat_get", "no GET of a rejected frame reached the server")
	v, err = cl.Do(ctx, cmd("MGET", "before", "middle", "after", "big"))
	require.NoError(t, err)
	assert.Equal(t, "1", v.Elems[0].Text())
	assert.Equal(t, "1", v.Elems[1].Text())
	assert.Equal(t, "1", v.Elems[2].Text())
	assert.True(t, v.Elems[3].IsNull())
}
