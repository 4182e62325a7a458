package livestat

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const info1 = "# Server\r\nredis_version:7.0.15\r\n# Clients\r\nconnected_clients:1\r\nblocked_clients:0\r\n" +
	"# Memory\r\nused_memory:1562496\r\n# Persistence\r\nloading:0\r\nrdb_bgsave_in_progress:0\r\naof_rewrite_in_progress:0\r\n" +
	"# Stats\r\ntotal_connections_received:23\r\ntotal_commands_processed:595\r\n# Keyspace\r\ndb0:keys=8,expires=0,avg_ttl=0\r\ndb3:keys=2,expires=0,avg_ttl=0\r\n"

func TestStatRow(t *testing.T) {
	row, req := StatRow([]string{info1}, 0)
	// redis-cli 7.0.15 printed this row for the same INFO.
	assert.Equal(t, "10         1.49M    1       0       595 (+0)            23          \n", row)
	assert.EqualValues(t, 595, req)
	row, _ = StatRow([]string{info1}, 590)
	assert.Contains(t, row, "595 (+5)")

	saving := strings.Replace(info1, "rdb_bgsave_in_progress:0", "rdb_bgsave_in_progress:1", 1)
	aof := strings.Replace(saving, "aof_rewrite_in_progress:0", "aof_rewrite_in_progress:1", 1)
	row, _ = StatRow([]string{saving}, 0)
	assert.True(t, strings.HasSuffix(row, "SAVE\n"), row)
	row, _ = StatRow([]string{aof}, 0)
	assert.True(t, strings.HasSuffix(row, "SAVE+AOF\n"), row)

	// A cluster sums its nodes.
	row, req = StatRow([]string{info1, info1, info1}, 0)
	assert.Equal(t, "30         4.47M    3       0       1785 (+0)           69          \n", row)
	assert.EqualValues(t, 1785, req)
}

func TestBytesToHuman(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 1023: "1023B", 1024: "1.00K", 1562496: "1.49M", 3 << 30: "3.00G", 5 << 40: "5.00T", -2048: "-2.00K"} {
		assert.Equal(t, want, BytesToHuman(n), "%d", n)
	}
}

func TestStatLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	calls := 0
	info := func(context.Context) ([]string, error) {
		calls++
		switch calls {
		case 2:
			return nil, errors.New("connection refused")
		case 25:
			cancel()
		}
		return []string{info1}, nil
	}
	err := Stat(ctx, info, StatOptions{Interval: time.Millisecond, Out: &out})
	require.ErrorIs(t, err, context.Canceled)
	text := out.String()
	assert.Contains(t, text, "\r\x1b[0KReconnecting... 1\r")
	assert.Equal(t, 2, strings.Count(text, "------- data ------"), "the header every 20 rows")

	out.Reset()
	err = Stat(context.Background(), func(context.Context) ([]string, error) {
		return nil, &ErrorReply{Msg: "NOPERM this user has no permissions"}
	}, StatOptions{Out: &out})
	var er *ErrorReply
	require.ErrorAs(t, err, &er)
	assert.Equal(t, "ERROR: NOPERM this user has no permissions\n", out.String())
}

// fakeClock advances by step on every reading.
type fakeClock struct {
	now  time.Time
	step time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.now = c.now.Add(c.step)
	return c.now
}

func TestLatencyFormats(t *testing.T) {
	ping := func(context.Context) error { return nil }
	for f, re := range map[Format]string{
		Raw:  `^0 1 0\.\d\d \d+\n$`,
		CSV:  `^0,1,0\.\d\d,\d+\n$`,
		JSON: `^\{"min": 0, "max": 1, "avg": 0\.\d\d, "count": \d+\}\n$`,
	} {
		var out bytes.Buffer
		clock := &fakeClock{now: time.UnixMilli(1000), step: 700 * time.Microsecond}
		err := Latency(context.Background(), ping, LatencyOptions{Format: f, Out: &out, Interval: 30 * time.Millisecond, Now: clock.Now})
		require.NoError(t, err)
		assert.Regexp(t, re, out.String())
	}
}

func TestLatencyHistoryAndCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	ping := func(context.Context) error {
		if n++; n == 40 {
			cancel()
		}
		return nil
	}
	var out bytes.Buffer
	clock := &fakeClock{now: time.UnixMilli(0), step: 2 * time.Millisecond}
	err := Latency(ctx, ping, LatencyOptions{Format: Standard, History: true, Interval: 50 * time.Millisecond, Out: &out, Now: clock.Now})
	require.ErrorIs(t, err, context.Canceled)
	text := out.String()
	assert.True(t, strings.HasPrefix(text, "\x1b[0G\x1b[2Kmin: 2, max: 2, avg: 2.00 (1 samples)"), text)
	assert.Contains(t, text, " seconds range\n")
	assert.True(t, strings.HasSuffix(text, "\n"), "the line is ended on Ctrl-C")

	err = Latency(context.Background(), func(context.Context) error { return errors.New("EOF") }, LatencyOptions{Format: Raw, Out: &out})
	assert.EqualError(t, err, "I/O error: EOF")
}
