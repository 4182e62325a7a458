package pubsub

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/redistest"
	"github.com/rcli-dev/rcli/internal/resp"
)

func bulk(s string) resp.Value { return resp.StringValue(s) }

func TestParse(t *testing.T) {
	for _, kind := range []resp.Kind{resp.Array, resp.Push} {
		v := resp.Value{Kind: kind, Elems: []resp.Value{bulk("message"), bulk("ch"), bulk("hi")}}
		m, ok := parse(v)
		require.True(t, ok)
		assert.Equal(t, Message{Type: "message", Channel: "ch", Payload: []byte("hi"), Value: v}, m)
		assert.Equal(t, Subscription{Channel, "ch"}, m.Subscription())

		v = resp.Value{Kind: kind, Elems: []resp.Value{bulk("pmessage"), bulk("c*"), bulk("ch"), bulk("hi")}}
		m, ok = parse(v)
		require.True(t, ok)
		assert.Equal(t, Subscription{Pattern, "c*"}, m.Subscription())
		assert.Equal(t, "ch", m.Channel)

		v = resp.Value{Kind: kind, Elems: []resp.Value{bulk("smessage"), bulk("s"), bulk("x")}}
		m, ok = parse(v)
		require.True(t, ok)
		assert.Equal(t, Subscription{Shard, "s"}, m.Subscription())

		v = resp.Value{Kind: kind, Elems: []resp.Value{bulk("sunsubscribe"), bulk("s"), resp.IntValue(0)}}
		m, ok = parse(v)
		require.True(t, ok)
		assert.Equal(t, Subscription{Shard, "s"}, m.Subscription())
	}
	for _, v := range []resp.Value{
		resp.StatusValue("PONG"),
		resp.ArrayValue(bulk("pong"), bulk("")),
		resp.ArrayValue(bulk("pmessage"), bulk("a"), bulk("b")),
		resp.ArrayValue(resp.IntValue(1), bulk("a"), bulk("b")),
		resp.ArrayValue(bulk("invalidate"), bulk("a"), bulk("b")),
	} {
		_, ok := parse(v)
		assert.False(t, ok, "%s", v)
	}
}

func TestConfirmation(t *testing.T) {
	m := confirmation(2, Subscription{Pattern, "p*"}, false, 3)
	assert.Equal(t, "psubscribe", m.Type)
	assert.Equal(t, "p*", m.Pattern)
	assert.True(t, resp.ArrayValue(bulk("psubscribe"), bulk("p*"), resp.IntValue(3)).Equal(m.Value))
	m = confirmation(3, Subscription{Shard, "s"}, true, 0)
	assert.Equal(t, resp.Push, m.Value.Kind)
	assert.Equal(t, "sunsubscribe", m.Type)
	m = confirmation(2, Subscription{Kind: Channel}, true, 0)
	assert.Equal(t, resp.Null, m.Value.Elems[1].Kind, "unsubscribing from nothing names no channel")
}

func TestEventString(t *testing.T) {
	subs := []Subscription{{Shard, "b"}, {Shard, "a"}, {Channel, "c"}}
	e := Event{Kind: Restored, Addr: "127.0.0.1:7000", Subs: subs, Gap: 1234567 * time.Microsecond}
	assert.Equal(t, "pub/sub: restored 1 channel (c), 2 shard channels (a, b) at 127.0.0.1:7000 after a gap of 1.235s", e.String())
	var many []Subscription
	for i := 0; i < 30; i++ {
		many = append(many, Subscription{Shard, strconv.Itoa(i)})
	}
	e = Event{Kind: Lost, Addr: "n:1", Subs: many, Err: errors.New("EOF")}
	assert.Equal(t, "pub/sub: lost the connection to n:1 (EOF): 30 shard channels not in force, messages published until they are restored are missed", e.String())
	e = Event{Kind: Moved, Addr: "n:1", Subs: many[:1]}
	assert.Contains(t, e.String(), "n:1 dropped 1 shard channel (0) (their slot moved)")
}

func TestKindOf(t *testing.T) {
	k, ok := KindOf(resp.NewCommand("ssubscribe", "a"))
	assert.True(t, ok)
	assert.Equal(t, Shard, k)
	_, ok = KindOf(resp.NewCommand("MONITOR"))
	assert.False(t, ok)
}

// TestStandalone covers a single server in both protocols: confirmations in order with
// a single connection's counts, every kind of message, local unsubscription, the
// server's own errors.
func TestStandalone(t *testing.T) {
	srv := redistest.StartServer(t)
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			ctx := testCtx(t, 20*time.Second)
			cl := newServerClient(t, srv.Addr, proto)
			rec := newRecorder()
			s := New(cl, Options{OnEvent: rec.onEvent})
			done := rec.run(s)
			defer func() { s.Close(); done.Wait() }()

			wantKind := resp.Array
			if proto == 3 {
				wantKind = resp.Push
			}
			conf, err := s.Subscribe(ctx, Channel, "a", "b", "a")
			require.NoError(t, err)
			require.Len(t, conf, 3)
			for i, want := range []struct {
				ch    string
				count int64
			}{{"a", 1}, {"b", 2}, {"a", 2}} {
				assert.Equal(t, "subscribe", conf[i].Type)
				assert.Equal(t, want.ch, conf[i].Channel)
				assert.Equal(t, want.count, conf[i].Count)
				assert.Equal(t, wantKind, conf[i].Value.Kind)
			}
			conf, err = s.Subscribe(ctx, Pattern, "p*")
			require.NoError(t, err)
			assert.Equal(t, int64(3), conf[0].Count, "channels and patterns count together")
			conf, err = s.Subscribe(ctx, Shard, "s1", "s2")
			require.NoError(t, err)
			assert.Equal(t, []int64{1, 2}, []int64{conf[0].Count, conf[1].Count}, "shard channels count apart")

			pub := func(cmd, ch, msg string) {
				v, err := cl.Do(ctx, resp.NewCommand(cmd, ch, msg))
				require.NoError(t, err)
				require.NotEqual(t, resp.Error, v.Kind, "%s", v)
			}
			pub("PUBLISH", "a", "1")
			pub("PUBLISH", "pz", "2")
			pub("SPUBLISH", "s2", "3")
			pub("PUBLISH", "elsewhere", "4")
			require.True(t, rec.waitFor(ctx, func() bool {
				return rec.count(msgKey("message", "a", "1")) == 1 && rec.count(msgKey("pmessage", "pz", "2")) == 1 &&
					rec.count(msgKey("smessage", "s2", "3")) == 1
			}))

			conf, err = s.Unsubscribe(ctx, Channel, "a")
			require.NoError(t, err)
			assert.Equal(t, "unsubscribe", conf[0].Type)
			assert.Equal(t, int64(2), conf[0].Count)
			pub("PUBLISH", "a", "after")
			pub("PUBLISH", "b", "5")
			require.True(t, rec.waitFor(ctx, func() bool { return rec.count(msgKey("message", "b", "5")) == 1 }))
			assert.Zero(t, rec.count(msgKey("message", "a", "after")), "no message after UNSUBSCRIBE")

			conf, err = s.Subscribe(ctx, Channel, "a")
			require.NoError(t, err)
			assert.Equal(t, int64(3), conf[0].Count)
			pub("PUBLISH", "a", "again")
			require.True(t, rec.waitFor(ctx, func() bool { return rec.count(msgKey("message", "a", "again")) == 1 }))

			_, err = s.Subscribe(ctx, Shard)
			var re *ReplyError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, "ERR wrong number of arguments for 'ssubscribe' command", string(re.Value.Str))

			conf, err = s.Unsubscribe(ctx, Shard)
			require.NoError(t, err)
			assert.Len(t, conf, 2)
			conf, err = s.Unsubscribe(ctx, Shard)
			require.NoError(t, err)
			require.Len(t, conf, 1)
			assert.Equal(t, resp.Null, conf[0].Value.Elems[1].Kind)
			assert.Empty(t, rec.snapshotEvents(), "nothing failed")
			rec.mu.Lock()
			assert.Equal(t, 5, rec.total, "each message once: %v", rec.counts)
			rec.mu.Unlock()
		})
	}
}

// TestStandaloneRestore restarts the server under a subscriber, and kills its
// connection: both are reported and restored.
func TestStandaloneRestore(t *testing.T) {
	srv := redistest.StartServer(t)
	ctx := testCtx(t, 30*time.Second)
	cl := newServerClient(t, srv.Addr, 2)
	rec := newRecorder()
	s := New(cl, Options{OnEvent: rec.onEvent, HealthInterval: -1})
	done := rec.run(s)
	defer func() { s.Close(); done.Wait() }()
	_, err := s.Subscribe(ctx, Channel, "a")
	require.NoError(t, err)
	_, err = s.Subscribe(ctx, Shard, "s")
	require.NoError(t, err)

	v, err := srv.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub")
	require.NoError(t, err)
	assert.Equal(t, int64(2), v.Int, "one connection per Subscribe call")
	restored := func(n int) func() bool {
		return func() bool {
			got := 0
			for _, e := range rec.snapshotEvents() {
				if e.Kind == Restored {
					got += len(e.Subs)
				}
			}
			return got >= n
		}
	}
	require.True(t, rec.waitFor(ctx, restored(2)), "events: %v", rec.snapshotEvents())
	_, err = cl.Do(ctx, resp.NewCommand("PUBLISH", "a", "1"))
	require.NoError(t, err)
	_, err = cl.Do(ctx, resp.NewCommand("SPUBLISH", "s", "2"))
	require.NoError(t, err)
	require.True(t, rec.waitFor(ctx, func() bool {
		return rec.count(msgKey("message", "a", "1")) == 1 && rec.count(msgKey("smessage", "s", "2")) == 1
	}))

	require.NoError(t, srv.Restart(ctx))
	require.True(t, rec.waitFor(ctx, restored(3)), "events: %v", rec.snapshotEvents())
	_, err = cl.Do(ctx, resp.NewCommand("PUBLISH", "a", "3"))
	require.NoError(t, err)
	require.True(t, rec.waitFor(ctx, func() bool { return rec.count(msgKey("message", "a", "3")) == 1 }))
	var kinds []string
	for _, e := range rec.snapshotEvents() {
		kinds = append(kinds, e.Kind.String())
		if e.Kind == Lost {
			assert.Equal(t, srv.Addr, e.Addr)
			assert.Error(t, e.Err)
		}
	}
	t.Logf("events: %s", strings.Join(kinds, " "))
	assert.Contains(t, kinds, "lost")
}

// TestHungServer freezes the server: the health probe notices, the connection is
// closed and the subscription restored once the server answers again.
func TestHungServer(t *testing.T) {
	srv := redistest.StartServer(t)
	ctx := testCtx(t, 30*time.Second)
	cl := newServerClient(t, srv.Addr, 2)
	rec := newRecorder()
	s := New(cl, Options{OnEvent: rec.onEvent, HealthInterval: 100 * time.Millisecond, HealthTimeout: 300 * time.Millisecond})
	done := rec.run(s)
	defer func() { s.Close(); done.Wait() }()
	_, err := s.Subscribe(ctx, Channel, "a")
	require.NoError(t, err)

	require.NoError(t, srv.Pause())
	lost := rec.waitFor(ctx, func() bool {
		for _, e := range rec.snapshotEvents() {
			if e.Kind == Lost {
				return true
			}
		}
		return false
	})
	require.NoError(t, srv.Resume())
	require.True(t, lost, "the probe closed the connection to the frozen server")
	require.True(t, rec.waitFor(ctx, func() bool {
		for _, e := range rec.snapshotEvents() {
			if e.Kind == Restored {
				return true
			}
		}
		return false
	}), "events: %v", rec.snapshotEvents())
	_, err = cl.Do(ctx, resp.NewCommand("PUBLISH", "a", "back"))
	require.NoError(t, err)
	require.True(t, rec.waitFor(ctx, func() bool { return rec.count(msgKey("message", "a", "back")) == 1 }))
	for _, e := range rec.snapshotEvents() {
		t.Logf("%s", e)
	}
}

func TestCommandsPerSlot(t *testing.T) {
	cl, err := cluster.New(cluster.Options{Seeds: []string{"127.0.0.1:1"}, Cluster: true})
	require.NoError(t, err)
	defer cl.Close()
	s := &Subscriber{cl: cl}
	subs := []Subscription{{Shard, "{a}1"}, {Channel, "c1"}, {Shard, "{b}1"}, {Shard, "{a}2"}, {Channel, "c2"}, {Pattern, "p*"}}
	cmds := s.commands(subs)
	require.Len(t, cmds, 4)
	assert.Equal(t, subCmd{Shard, []Subscription{{Shard, "{a}1"}, {Shard, "{a}2"}}}, cmds[0], "one SSUBSCRIBE per slot")
	assert.Equal(t, subCmd{Channel, []Subscription{{Channel, "c1"}, {Channel, "c2"}}}, cmds[1])
	assert.Equal(t, subCmd{Shard, []Subscription{{Shard, "{b}1"}}}, cmds[2])
	assert.Equal(t, Pattern, cmds[3].kind)

	standalone, err := cluster.New(cluster.Options{Seeds: []string{"127.0.0.1:1"}})
	require.NoError(t, err)
	defer standalone.Close()
	s = &Subscriber{cl: standalone}
	assert.Len(t, s.commands(subs), 3, "a server that is no cluster takes shard channels of any slot at once")
}
