package repl

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/format"
	"github.com/rcli-dev/rcli/internal/localredis"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/redistest"
	"github.com/rcli-dev/rcli/internal/resp"
)

// transcript is what a terminal would show: every prompt and the line typed after
// it, the replies and the complaints, in order. It is safe for concurrent writes.
type transcript = redistest.Buffer

// script is a LineReader that types lines one by one into a transcript. before, when
// set, runs just before line i is returned (to prepare the server or press Ctrl-C
// later); a line "^C" is Ctrl-C at the prompt.
type script struct {
	lines   []string
	tr      *transcript
	prompts []string
	before  map[int]func()
	i       int
}

func (s *script) ReadLine(prompt string) (string, error) {
	s.prompts = append(s.prompts, prompt)
	fmt.Fprint(s.tr, prompt)
	if s.i == len(s.lines) {
		return "", io.EOF
	}
	line := s.lines[s.i]
	if f := s.before[s.i]; f != nil {
		f()
	}
	s.i++
	if line == "^C" {
		fmt.Fprintln(s.tr, "^C")
		return "", ErrInterrupt
	}
	fmt.Fprintln(s.tr, line)
	return line, nil
}

// shellSetup is a shell under test and what it writes to.
type shellSetup struct {
	sh         *Shell
	tr         *transcript
	interrupts chan struct{}
	cfg        Config
}

// newShell makes a shell for the server at addr with the standard output format and
// no colour, writing replies and complaints into one transcript.
func newShell(t *testing.T, addr string, change func(*Config)) *shellSetup {
	t.Helper()
	tr := &transcript{}
	intr := make(chan struct{}, 1)
	cfg := Config{
		Out: tr, Err: tr,
		Client: cluster.Options{
			Seeds: []string{addr},
			Pool:  pool.Options{Addr: addr},
		},
		Format:     format.Options{Mode: format.Standard},
		Hints:      true,
		Version:    "test",
		Interrupts: intr,
		Stream:     testStream(tr),
	}
	if change != nil {
		change(&cfg)
	}
	return &shellSetup{sh: New(cfg), tr: tr, interrupts: intr, cfg: cfg}
}

// testStream is a minimal StreamFunc: send, then print every value until ctx ends.
func testStream(w io.Writer) StreamFunc {
	return func(ctx context.Context, c *pool.Conn, cmd resp.Command) error {
		fmt.Fprintln(w, "Reading messages... (press Ctrl-C to quit)")
		c.Write(cmd)
		if err := c.Flush(ctx); err != nil {
			return err
		}
		for {
			v, err := c.ReadValue(ctx)
			if err != nil {
				return err
			}
			if err := format.Write(w, v, format.Options{Mode: format.Standard}); err != nil {
				return err
			}
		}
	}
}

// run types lines into the shell and returns the transcript.
func (s *shellSetup) run(t *testing.T, sc *script) string {
	t.Helper()
	sc.tr = s.tr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.sh.Run(ctx, sc))
	return s.tr.String()
}

// typed runs lines without hooks.
func (s *shellSetup) typed(t *testing.T, lines ...string) string {
	t.Helper()
	return s.run(t, &script{lines: lines})
}

// eventually presses Ctrl-C once cond holds, from another goroutine.
func (s *shellSetup) ctrlCWhen(t *testing.T, cond func() bool) func() {
	return func() {
		go func() {
			deadline := time.Now().Add(10 * time.Second)
			for !cond() && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			s.interrupts <- struct{}{}
		}()
	}
}

// serverDo runs a fixture command on srv.
func serverDo(t *testing.T, srv *localredis.Server, args ...string) resp.Value {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := srv.Do(ctx, args...)
	require.NoError(t, err, "%q", args)
	return v
}

// infoField returns one field of INFO's section.
func infoField(srv *localredis.Server, section, field string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := srv.Do(ctx, "INFO", section)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(v.Text(), "\r\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return rest
		}
	}
	return ""
}

func blockedClients(srv *localredis.Server) func() bool {
	return func() bool { return infoField(srv, "clients", "blocked_clients") == "1" }
}

func TestShellStandalone(t *testing.T) {
	srv := redistest.StartServer(t)
	addr := srv.Addr
	p := addr + "> "

	t.Run("prompt follows the database and the transaction", func(t *testing.T) {
		s := newShell(t, addr, nil)
		got := s.typed(t, "SELECT 2", "SET k v", "MULTI", "INCR n", "SELECT 3", "EXEC", "GET k", "SELECT 0")
		want := p + "SELECT 2\nOK\n" +
			addr + "[2]> SET k v\nOK\n" +
			addr + "[2]> MULTI\nOK\n" +
			addr + "[2](TX)> INCR n\nQUEUED\n" +
			addr + "[2](TX)> SELECT 3\nQUEUED\n" +
			addr + "[3](TX)> EXEC\n1) (integer) 1\n2) OK\n" +
			addr + "[3]> GET k\n(nil)\n" +
			addr + "[3]> SELECT 0\nOK\n" + p
		assert.Equal(t, want, got)
	})

	t.Run("DISCARD and a failed EXEC give the database back", func(t *testing.T) {
		s := newShell(t, addr, nil)
		got := s.typed(t, "MULTI", "SELECT 4", "DISCARD", "MULTI", "SELECT 5", "NOSUCHCMD", "EXEC")
		assert.Contains(t, got, addr+"[4](TX)> DISCARD\nOK\n"+p+"MULTI")
		assert.Contains(t, got, addr+"[5](TX)> EXEC\n(error) EXECABORT Transaction discarded because of previous errors.\n"+p)
	})

	t.Run("WATCH and MULTI across lines on one connection", func(t *testing.T) {
		s := newShell(t, addr, nil)
		serverDo(t, srv, "SET", "w", "1")
		sc := &script{lines: []string{"WATCH w", "MULTI", "SET w 2", "EXEC", "GET w"}}
		sc.before = map[int]func(){3: func() { serverDo(t, srv, "SET", "w", "3") }} // a write between WATCH and EXEC
		got := s.run(t, sc)
		assert.Contains(t, got, addr+"(TX)> EXEC\n(nil)\n"+p+"GET w\n\"3\"\n")
	})

	t.Run("not connected, then reconnected with the database back", func(t *testing.T) {
		s := newShell(t, addr, nil)
		sc := &script{lines: []string{"SELECT 6", "CLIENT KILL TYPE normal SKIPME no", "PING", "PING"}}
		got := s.run(t, sc)
		// The kill took this connection too: the next command fails and says so, and
		// the prompt says not connected; the one after reconnects into database 6.
		assert.Regexp(t, `\[6\]> CLIENT KILL TYPE normal SKIPME no\n\(integer\) \d+\n.*\[6\]> PING\n.+\nnot connected> PING\nPONG\n.*\[6\]> $`, got)
	})

	t.Run("server down at start", func(t *testing.T) {
		s := newShell(t, "127.0.0.1:1", nil)
		got := s.typed(t, "PING")
		assert.Equal(t, "Could not connect to Redis at 127.0.0.1:1: Connection refused\nnot connected> PING\n"+
			"Could not connect to Redis at 127.0.0.1:1: Connection refused\nnot connected> ", strings.ReplaceAll(got, "pool: ", ""))
	})

	t.Run("meta commands", func(t *testing.T) {
		s := newShell(t, addr, nil)
		got := s.typed(t, `GET "unbalanced`, "3 PING", "0 PING", "restart", ":set nope", ":what", "clear", "help", "quit", "PING")
		assert.Contains(t, got, p+`GET "unbalanced`+"\nInvalid argument(s)\n")
		assert.Contains(t, got, p+"3 PING\nPONG\nPONG\nPONG\n")
		assert.Contains(t, got, p+"0 PING\nInvalid rcli repeat command option value.\n")
		assert.Contains(t, got, p+"restart\nUse 'restart' only in Lua debugging mode.\n")
		assert.Contains(t, got, p+":set nope\nunknown rcli preference 'nope'\n")
		assert.Contains(t, got, p+":what\nunknown rcli option ':what'\n")
		assert.Contains(t, got, p+"clear\n\x1b[H\x1b[2J")
		assert.Contains(t, got, "\"help <tab>\" to get a list of possible help topics")
		assert.True(t, strings.HasSuffix(got, p+"quit\n"), "quit ends the shell before PING: %q", got)
	})

	t.Run("help from the docs", func(t *testing.T) {
		s := newShell(t, addr, nil)
		got := s.typed(t, "help set", "help @nosuch", "help client kill")
		assert.Contains(t, got, "help set\n\n  SET key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]\n  summary: Set the string value of a key\n  since: 1.0.0\n  group: string\n\n")
		assert.Contains(t, got, "help @nosuch\n\n"+p)
		assert.Contains(t, got, "help client kill\n\n  CLIENT KILL ")
	})

	t.Run("connect", func(t *testing.T) {
		other := redistest.StartServer(t)
		s := newShell(t, addr, nil)
		got := s.typed(t, "SELECT 1", "connect 127.0.0.1 "+strconv.Itoa(other.Port), "CLIENT INFO", "connect 127.0.0.1 nope", "connect 127.0.0.1 1", "PING")
		assert.Contains(t, got, addr+"[1]> connect 127.0.0.1 "+strconv.Itoa(other.Port)+"\n"+other.Addr+"> CLIENT INFO\n")
		assert.Contains(t, got, "connect 127.0.0.1 nope\nInvalid server port.\n")
		assert.Contains(t, got, "connect 127.0.0.1 1\nCould not connect to Redis at 127.0.0.1:1: Connection refused\nnot connected> PING\n")
	})

	t.Run("rcli's own commands", func(t *testing.T) {
		s := newShell(t, addr, nil)
		got := s.typed(t, ":pool-stats", ":route user:1", ":route", ":topology", ":pool-stats --json")
		assert.Regexp(t, `:pool-stats\n +NODE +ROLE +TOTAL .*\n +`+regexp.QuoteMeta(addr)+` +standalone +\d `, got)
		assert.Contains(t, got, ":route user:1\nkey:      \"user:1\"\nslot:     ")
		assert.Contains(t, got, ":route\nusage: :route KEY [KEY ...] [--json]\n")
		assert.Contains(t, got, ":topology\n")
		assert.Contains(t, got, "cluster support disabled")
		assert.Contains(t, got, `[{"addr":"`+addr+`","role":"standalone"`)
	})

	t.Run("unix socket prompt", func(t *testing.T) {
		us := redistest.StartUnixServer(t)
		s := newShell(t, us.Socket, func(c *Config) { c.Client.Pool.Network = "unix" })
		got := s.typed(t, "SELECT 1")
		assert.Equal(t, "redis "+us.Socket+"> SELECT 1\nOK\nredis "+us.Socket+"[1]> ", got)
	})

	t.Run("Ctrl-C at the prompt", func(t *testing.T) {
		s := newShell(t, addr, nil)
		got := s.typed(t, "PING", "^C", "PING")
		assert.True(t, strings.HasSuffix(got, p+"^C\n"), "Ctrl-C on an empty line leaves: %q", got)
	})

	t.Run("slow commands print their time", func(t *testing.T) {
		s := newShell(t, addr, nil)
		got := s.typed(t, "DEBUG SLEEP 0.6", "PING")
		assert.Regexp(t, `DEBUG SLEEP 0.6\nOK\n\(0\.[6-9]\ds\)\n`, got)
		assert.Contains(t, got, "PING\nPONG\n"+p)
	})

	t.Run("repeat with an interval", func(t *testing.T) {
		s := newShell(t, addr, func(c *Config) { c.Interval = 50 * time.Millisecond })
		start := time.Now()
		got := s.typed(t, "3 INCR rep")
		assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
		assert.Contains(t, got, "(integer) 1\n(integer) 2\n(integer) 3\n")
	})

	t.Run("raw output and always-raw commands", func(t *testing.T) {
		s := newShell(t, addr, func(c *Config) { c.Format = format.Options{Mode: format.Raw, FieldSep: "\n", ReplySep: "\n"} })
		got := s.typed(t, "RPUSH rawl a b", "LRANGE rawl 0 -1", "DEBUG SLEEP 0.6")
		assert.Contains(t, got, "LRANGE rawl 0 -1\na\nb\n")
		assert.NotContains(t, got, "(0.", "no time in raw mode")
	})
}

func TestShellBlockingCommandCtrlC(t *testing.T) {
	srv := redistest.StartServer(t)
	addr := srv.Addr
	p := addr + "> "

	t.Run("BLPOP is released and the connection survives", func(t *testing.T) {
		s := newShell(t, addr, nil)
		sc := &script{lines: []string{"SELECT 3", "CLIENT ID", "BLPOP nothing 0", "CLIENT ID", "RPUSH later x", "BLPOP later 0"}}
		sc.before = map[int]func(){2: s.ctrlCWhen(t, blockedClients(srv))}
		got := s.run(t, sc)
		ids := strings.Split(got, "CLIENT ID\n(integer) ")
		require.Len(t, ids, 3, got)
		id1, _, _ := strings.Cut(ids[1], "\n")
		id2, _, _ := strings.Cut(ids[2], "\n")
		assert.Equal(t, id1, id2, "the same connection before and after Ctrl-C")
		assert.Contains(t, got, addr+"[3]> BLPOP nothing 0\n\n(nil)\n"+addr+"[3]> ")
		assert.Contains(t, got, "BLPOP later 0\n1) \"later\"\n2) \"x\"\n")
		assert.Equal(t, "0", infoField(srv, "clients", "blocked_clients"))
	})

	t.Run("refused CLIENT UNBLOCK closes the connection with a note", func(t *testing.T) {
		serverDo(t, srv, "ACL", "SETUSER", "nounblock", "on", ">pw", "~*", "&*", "+@all", "-client|unblock")
		s := newShell(t, addr, func(c *Config) { c.Client.Pool.Username, c.Client.Pool.Password = "nounblock", "pw" })
		sc := &script{lines: []string{"BLPOP nothing2 0", "PING"}}
		sc.before = map[int]func(){0: s.ctrlCWhen(t, blockedClients(srv))}
		got := s.run(t, sc)
		assert.Contains(t, got, "CLIENT UNBLOCK failed (NOPERM")
		assert.Contains(t, got, "an element popped at this instant may be lost")
		assert.Contains(t, got, p+"PING\nPONG\n", "reconnected: %q", got)
	})

	t.Run("a slow command is cancelled", func(t *testing.T) {
		s := newShell(t, addr, nil)
		sc := &script{lines: []string{"DEBUG SLEEP 2", "PING"}}
		var start, back time.Time
		sc.before = map[int]func(){
			0: func() {
				start = time.Now()
				go func() {
					time.Sleep(200 * time.Millisecond)
					s.interrupts <- struct{}{}
				}()
			},
			1: func() { back = time.Now() },
		}
		got := s.run(t, sc)
		assert.Less(t, back.Sub(start), 1500*time.Millisecond, "back at the prompt at once: %s", got)
		assert.Contains(t, got, "DEBUG SLEEP 2\n\n"+p)
	})
}

func TestShellSubscribe(t *testing.T) {
	srv := redistest.StartServer(t)
	addr := srv.Addr
	s := newShell(t, addr, nil)
	subscribed := func() bool {
		v := serverDo(t, srv, "PUBSUB", "NUMSUB", "news")
		return len(v.Elems) == 2 && v.Elems[1].Int == 1
	}
	sc := &script{lines: []string{"SELECT 2", "SUBSCRIBE news", "PING"}}
	sc.before = map[int]func(){1: func() {
		go func() {
			deadline := time.Now().Add(10 * time.Second)
			for !subscribed() && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			serverDo(t, srv, "PUBLISH", "news", "hello")
			for !strings.Contains(s.tr.String(), `"hello"`) && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			s.interrupts <- struct{}{}
		}()
	}}
	got := s.run(t, sc)
	assert.Contains(t, got, addr+"[2]> SUBSCRIBE news\nReading messages... (press Ctrl-C to quit)\n"+
		"1) \"subscribe\"\n2) \"news\"\n3) (integer) 1\n1) \"message\"\n2) \"news\"\n3) \"hello\"\n\n"+
		addr+"[2]> PING\nPONG\n", "back at the prompt, reconnected into the same database")
}

func TestShellHistory(t *testing.T) {
	srv := redistest.StartServer(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "hist")
	h, err := OpenHistory(path)
	require.NoError(t, err)
	s := newShell(t, srv.Addr, func(c *Config) { c.History = h })
	const marker = "s3cr3t-marker"
	s.typed(t, "SET a 1", "SET a 1", "GET a", "AUTH "+marker, "2 AUTH default "+marker,
		"HELLO 3 AUTH default "+marker, "ACL SETUSER bob on >"+marker, "CONFIG SET requirepass "+marker,
		`AUTH "`+marker, "GET a")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "SET a 1\nGET a\n", string(data), "duplicates dropped, secrets left out; GET a again is no duplicate of its predecessor in the file")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	again, err := OpenHistory(path)
	require.NoError(t, err)
	assert.Equal(t, []string{"SET a 1", "GET a"}, again.Lines())
}

func TestShellCompletionAndHints(t *testing.T) {
	srv := redistest.StartServer(t)
	for _, k := range []string{"user:1", "user:2", "usage", "other", "has space"} {
		serverDo(t, srv, "SET", k, "v")
	}
	serverDo(t, srv, "SELECT", "5")
	s := newShell(t, srv.Addr, nil)
	s.typed(t) // connect, then Ctrl-D

	// The shell has closed its client; open one as Run does, for the checks below.
	ctx := context.Background()
	s.sh.open(ctx, s.cfg.Client)
	defer s.sh.closeClient()
	<-s.sh.docsDone

	tests := []struct {
		before string
		want   []string
		n      int
	}{
		{before: "hge", want: []string{"t", "tall"}, n: 3},
		{before: "HGETA", want: []string{"LL"}, n: 5},
		{before: "client kil", want: []string{"l"}, n: 3},
		{before: "CLIENT ", want: nil, n: 0},
		{before: "help @sorted", want: []string{"-set"}, n: 7},
		{before: "help client no-e", want: []string{"vict"}, n: 4},
		{before: "GET us", want: []string{"age", "er:1", "er:2"}, n: 2},
		{before: "GET user:", want: []string{"1", "2"}, n: 5},
		{before: "SET user:1 ", want: nil, n: 0},
		{before: "LMOVE other ", want: []string{"has space"}, n: 0},
		{before: `GET "us`, want: nil, n: 0},
	}
	for _, tt := range tests {
		t.Run(tt.before, func(t *testing.T) {
			got, n := s.sh.Complete(tt.before)
			switch tt.before {
			case "CLIENT ":
				assert.Contains(t, got, "LIST")
				assert.Contains(t, got, "KILL")
			case "LMOVE other ":
				assert.Contains(t, got, "user:1", "the destination is a key too")
				assert.NotContains(t, got, "has space", "keys that need quoting are not offered")
			default:
				assert.Equal(t, tt.want, got)
				assert.Equal(t, tt.n, n)
			}
		})
	}

	t.Run("keys of the session's database", func(t *testing.T) {
		s.sh.st.db = 5
		defer func() { s.sh.st.db = 0 }()
		got, _ := s.sh.Complete("GET us")
		assert.Empty(t, got)
	})

	t.Run("hints shrink and turn off", func(t *testing.T) {
		assert.Equal(t, " key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]", s.sh.Hint("set"))
		assert.Empty(t, s.sh.Hint("se"))
		assert.Equal(t, " value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]", s.sh.Hint("set k v"))
		assert.Equal(t, "value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]", s.sh.Hint("set k "))
		s.sh.colon(ctx, [][]byte{[]byte(":set"), []byte("nohints")})
		assert.Empty(t, s.sh.Hint("set k "))
		s.sh.colon(ctx, [][]byte{[]byte(":set"), []byte("hints")})
		assert.NotEmpty(t, s.sh.Hint("set k "))
	})
}

func TestShellCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3, 0)
	seed := c.Masters()[0]
	keyOn := func(node *localredis.Server, prefix string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for i := 0; ; i++ {
			k := prefix + strconv.Itoa(i)
			owner, err := c.SlotOwner(ctx, cluster.SlotString(k))
			require.NoError(t, err)
			if owner == node {
				return k
			}
		}
	}
	other := c.Masters()[1]
	kSeed, kOther, kOther2 := keyOn(seed, "a"), keyOn(other, "b"), keyOn(other, "c")
	slotOther := cluster.SlotString(kOther)
	newClusterShell := func(t *testing.T) *shellSetup {
		return newShell(t, seed.Addr, func(cfg *Config) {
			cfg.Client.Cluster = true
			cfg.Client.Pool.ReadTimeout = 5 * time.Second
		})
	}

	t.Run("redirect line and the prompt follows", func(t *testing.T) {
		s := newClusterShell(t)
		got := s.typed(t, "SET "+kSeed+" 1", "SET "+kOther+" 2", "GET "+kOther, "PING", "GET "+kSeed)
		assert.Contains(t, got, seed.Addr+"> SET "+kSeed+" 1\nOK\n"+seed.Addr+"> SET "+kOther+" 2\n"+
			fmt.Sprintf("-> Redirected to slot [%d] located at %s\nOK\n", slotOther, other.Addr)+
			other.Addr+"> GET "+kOther+"\n\"2\"\n"+other.Addr+"> PING\nPONG\n"+other.Addr+"> GET "+kSeed+"\n-> Redirected to slot [")
		assert.True(t, strings.HasSuffix(got, "\"1\"\n"+seed.Addr+"> "), got)
	})

	t.Run("a transaction is bound to one slot", func(t *testing.T) {
		s := newClusterShell(t)
		got := s.typed(t, "MULTI", "SET "+kOther+" x", "SET "+kSeed+" y", "INCR "+kOther2, "EXEC", "GET "+kOther)
		assert.Contains(t, got, seed.Addr+"> MULTI\nOK\n"+seed.Addr+"(TX)> SET "+kOther+" x\n"+
			fmt.Sprintf("-> Redirected to slot [%d] located at %s\nQUEUED\n", slotOther, other.Addr))
		assert.Contains(t, got, other.Addr+"(TX)> SET "+kSeed+" y\n(error) CROSSSLOT rcli: the keys of SET are in slot ")
		assert.Contains(t, got, "nothing was sent\n"+other.Addr+"(TX)> INCR "+kOther2)
		if cluster.SlotString(kOther2) != slotOther {
			assert.Contains(t, got, other.Addr+"(TX)> EXEC\n1) OK\n"+other.Addr+"> GET "+kOther+"\n\"x\"\n")
		}
	})

	t.Run("WATCH pins the key's node", func(t *testing.T) {
		s := newClusterShell(t)
		got := s.typed(t, "WATCH "+kOther, "MULTI", "SET "+kOther+" w", "EXEC", "PING")
		assert.Contains(t, got, seed.Addr+"> WATCH "+kOther+"\n"+fmt.Sprintf("-> Redirected to slot [%d] located at %s\nOK\n", slotOther, other.Addr)+
			other.Addr+"> MULTI\nOK\n"+other.Addr+"(TX)> SET "+kOther+" w\nQUEUED\n"+other.Addr+"(TX)> EXEC\n1) OK\n"+other.Addr+"> PING\nPONG\n")
	})

	t.Run("rcli's own commands", func(t *testing.T) {
		s := newClusterShell(t)
		got := s.typed(t, ":topology", ":route "+kOther, ":pool-stats")
		assert.Contains(t, got, ":topology\n3 nodes, 3 shards, 16384 of 16384 slots covered\n")
		assert.Contains(t, got, fmt.Sprintf("slot:     %d\nhash tag: (none: the whole key is hashed)\nmaster:   %s\n", slotOther, other.Addr))
		assert.Regexp(t, regexp.QuoteMeta(seed.Addr)+` +master `, got)
	})

	t.Run("BLPOP on another node is released by Ctrl-C", func(t *testing.T) {
		s := newClusterShell(t)
		sc := &script{lines: []string{"BLPOP " + kOther + "q 0", "PING"}}
		key := kOther + "q"
		owner, err := c.SlotOwner(context.Background(), cluster.SlotString(key))
		require.NoError(t, err)
		sc.before = map[int]func(){0: s.ctrlCWhen(t, blockedClients(owner))}
		got := s.run(t, sc)
		assert.Contains(t, got, "\n(nil)\n")
		assert.Contains(t, got, owner.Addr+"> PING\nPONG\n")
	})
}
