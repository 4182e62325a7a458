package clustermgr

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/progress"
	"github.com/rcli-dev/rcli/internal/resp"
	"github.com/rcli-dev/rcli/internal/topology"
)

// Defaults of Options, as in redis-cli.
const (
	DefaultTimeout   = 60000 // MIGRATE's timeout in milliseconds (--cluster-timeout)
	DefaultPipeline  = 10    // keys per MIGRATE (--cluster-pipeline)
	DefaultThreshold = 2.0   // rebalance threshold in percent (--cluster-threshold)
)

// migrateBatches is how many MIGRATE commands of Pipeline keys each go in one round
// trip to the source node: the keys of a slot are fetched Pipeline*migrateBatches at a
// time and sent in that many pipelined MIGRATEs.
const migrateBatches = 16

// joinPoll is how often create and add-node check whether the nodes agree.
const joinPoll = 100 * time.Millisecond

// Doer runs commands on one node: every command of cmds on one connection to addr, in
// one round trip. *cluster.Client implements it.
type Doer interface {
	ExecBatch(ctx context.Context, addr string, cmds []resp.Command, asking []bool) cluster.BatchResult
}

// Options are the cluster manager's settings: redis-cli's --cluster-* flags, plus the
// credentials MIGRATE passes on and how to present output.
type Options struct {
	Replicas        int      // --cluster-replicas
	Yes             bool     // --cluster-yes or REDISCLI_CLUSTER_YES=1
	From            string   // --cluster-from: node IDs, comma-separated, or "all"
	To              string   // --cluster-to
	Slots           int      // --cluster-slots
	Timeout         int      // --cluster-timeout, milliseconds (0: DefaultTimeout)
	Pipeline        int      // --cluster-pipeline, keys per MIGRATE (0: DefaultPipeline)
	Replace         bool     // --cluster-replace
	Weights         []string // --cluster-weight node=weight ...
	UseEmptyMasters bool     // --cluster-use-empty-masters
	Threshold       float64  // --cluster-threshold, percent (negative: DefaultThreshold)
	Simulate        bool     // --cluster-simulate
	Slave           bool     // --cluster-slave / --cluster-replica
	MasterID        string   // --cluster-master-id
	OnlyMasters     bool     // --cluster-only-masters
	OnlyReplicas    bool     // --cluster-only-replicas
	// SearchMultipleOwners is --cluster-search-multiple-owners.
	SearchMultipleOwners bool
	// FixWithUnreachableMasters is --cluster-fix-with-unreachable-masters.
	FixWithUnreachableMasters bool
	Verbose                   bool // --verbose (rebalance prints each node's balance)
	JSON                      bool // --json: call prints one JSON document

	// User and Password are passed to MIGRATE (AUTH / AUTH2), as the nodes need them.
	User, Password string
	// Color colours the log prefixes (redis-cli does when TERM contains "xterm").
	Color bool
	// Rand drives create's anti-affinity optimizer; nil seeds one from the clock.
	Rand *rand.Rand
	// FormatRaw renders a reply as redis-cli's raw format (for call); FormatJSON as one
	// line of JSON (for call --json). Both are required by call.
	FormatRaw, FormatJSON func(resp.Value) string
}

// Streams are where the manager reads answers to its prompts and writes its output.
// Progress, when not nil, receives a progress display (give it stderr when stderr is
// a terminal).
type Streams struct {
	In       io.Reader // answers to prompts (yes/no, reshard's questions)
	Out      io.Writer // everything redis-cli prints on stdout
	Err      io.Writer // what redis-cli prints on stderr
	Progress io.Writer // a terminal for the progress display, or nil
}

// Manager runs one cluster manager subcommand. It keeps the nodes it loaded and the
// problems it found while doing so; use a new Manager for each subcommand.
type Manager struct {
	c    Doer
	opts Options
	io   Streams
	in   *bufio.Reader

	mu          sync.Mutex    // serializes writes to Out from concurrent steps
	atLineStart bool          // the last byte written to Out was a newline
	bar         *progress.Bar // nil unless a progress display is shown

	nodes              []*Node
	errs               []string
	unreachableMasters int
	fixing             bool // fix is running: MIGRATE may assign slots nobody serves
	exitNow            bool // redis-cli would exit(1) here
	keysMoved          int  // keys migrated so far, for the progress display
}

// New returns a manager that reaches nodes through c.
func New(c Doer, opts Options, s Streams) *Manager {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Pipeline <= 0 {
		opts.Pipeline = DefaultPipeline
	}
	if opts.Threshold < 0 {
		opts.Threshold = DefaultThreshold
	}
	if opts.Rand == nil {
		now := uint64(time.Now().UnixNano())
		opts.Rand = rand.New(rand.NewPCG(now, now>>17))
	}
	if s.In == nil {
		s.In = strings.NewReader("")
	}
	return &Manager{c: c, opts: opts, io: s, in: bufio.NewReader(s.In), atLineStart: true}
}

// Nodes returns the nodes the last load found, the seed first.
func (m *Manager) Nodes() []*Node { return m.nodes }

// command describes one subcommand: its arity as redis-cli counts it (positive: exactly
// so many arguments; negative: at least that many) and what runs it.
type command struct {
	name  string
	arity int
	args  string
	opts  []string
	run   func(m *Manager, ctx context.Context, args []string) bool
}

// commands lists the subcommands in the order of redis-cli's help.
func commands() []command {
	return []command{
		{"create", -2, "host1:port1 ... hostN:portN", []string{"replicas <arg>"}, (*Manager).create},
		{"check", -1, "<host:port> or <host> <port> - separated by either colon or space", []string{"search-multiple-owners"}, (*Manager).check},
		{"info", -1, "<host:port> or <host> <port> - separated by either colon or space", nil, (*Manager).info},
		{"fix", -1, "<host:port> or <host> <port> - separated by either colon or space", []string{"search-multiple-owners", "fix-with-unreachable-masters"}, (*Manager).fix},
		{"reshard", -1, "<host:port> or <host> <port> - separated by either colon or space", []string{"from <arg>", "to <arg>", "slots <arg>", "yes", "timeout <arg>", "pipeline <arg>", "replace"}, (*Manager).reshard},
		{"rebalance", -1, "<host:port> or <host> <port> - separated by either colon or space", []string{"weight <node1=w1...nodeN=wN>", "use-empty-masters", "timeout <arg>", "simulate", "pipeline <arg>", "threshold <arg>", "replace"}, (*Manager).rebalance},
		{"add-node", 2, "new_host:new_port existing_host:existing_port", []string{"slave", "master-id <arg>"}, (*Manager).addNode},
		{"del-node", 2, "host:port node_id", nil, (*Manager).delNode},
		{"call", -2, "host:port command arg arg .. arg", []string{"only-masters", "only-replicas"}, (*Manager).call},
		{"set-timeout", 2, "host:port milliseconds", nil, (*Manager).setTimeout},
		{"import", 1, "host:port", []string{"from <arg>", "from-user <arg>", "from-pass <arg>", "from-askpass", "copy", "replace"}, nil},
		{"backup", 2, "host:port backup_directory", nil, nil},
		{"help", 0, "", nil, (*Manager).help},
	}
}

// ErrUnsupported is returned by Run for a subcommand redis-cli has and rcli does not
// offer yet (import, backup).
var ErrUnsupported = errors.New("clustermgr: subcommand not supported yet")

// Run runs the subcommand name with its arguments and returns the process exit code
// redis-cli would: 0 on success, 1 on failure, an unknown subcommand or the wrong
// number of arguments (help, like redis-cli's, exits 1). Everything is printed as
// redis-cli prints it. For import and backup it returns ErrUnsupported and prints
// nothing.
func (m *Manager) Run(ctx context.Context, name string, args []string) (int, error) {
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		if (c.arity > 0 && len(args) != c.arity) || (c.arity < 0 && len(args) < -c.arity) {
			fmt.Fprintln(m.io.Err, "[ERR] Wrong number of arguments for specified --cluster sub command")
			return 1, nil
		}
		if c.run == nil {
			return 1, ErrUnsupported
		}
		ok := c.run(m, ctx, args)
		m.finishProgress()
		if ctx.Err() != nil {
			return 130, ctx.Err()
		}
		if ok {
			return 0, nil
		}
		return 1, nil
	}
	fmt.Fprintln(m.io.Err, "Unknown --cluster subcommand")
	return 1, nil
}

// Log levels, coloured as redis-cli colours them.
const (
	lvlInfo = iota
	lvlWarn
	lvlErr
	lvlOK
)

// logf prints a log line on stdout, coloured by level when Options.Color says so.
func (m *Manager) logf(level int, format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	if m.opts.Color {
		code := [...]string{lvlInfo: "29;1m", lvlWarn: "33;1m", lvlErr: "31;1m", lvlOK: "32;1m"}[level]
		text = "\033[" + code + text + "\033[0m"
	}
	m.write(text)
}

// printf prints plain text on stdout.
func (m *Manager) printf(format string, args ...any) { m.write(fmt.Sprintf(format, args...)) }

// write writes s to stdout, first erasing the progress display if one is shown.
func (m *Manager) write(s string) {
	if s == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bar != nil {
		m.bar.Clear()
	}
	_, _ = io.WriteString(m.io.Out, s)
	m.atLineStart = s[len(s)-1] == '\n'
}

// errorf prints on stderr.
func (m *Manager) errorf(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bar != nil {
		m.bar.Clear()
	}
	fmt.Fprintf(m.io.Err, format, args...)
}

// onError records a problem of the cluster and prints it in red.
func (m *Manager) onError(msg string) {
	m.errs = append(m.errs, msg)
	m.logf(lvlErr, "%s\n", msg)
}

// replyError prints redis-cli's "Node h:p replied with error:" message.
func (m *Manager) replyError(n *Node, msg string) {
	m.logf(lvlErr, "Node %s replied with error:\n%s\n", n.Name(), msg)
}

// confirm asks msg and reports whether the answer starts with "yes". With
// --cluster-yes it does not ask, unless ignoreYes (fix asks every time).
func (m *Manager) confirm(msg string, ignoreYes bool) bool {
	if m.opts.Yes && !ignoreYes {
		return true
	}
	m.printf("%s (type 'yes' to accept): ", msg)
	line, _ := m.readLine()
	return strings.HasPrefix(line, "yes")
}

// readLine reads one line of stdin without its line ending; ok is false at the end of
// the input.
func (m *Manager) readLine() (string, bool) {
	line, err := m.in.ReadString('\n')
	if line == "" && err != nil {
		return "", false
	}
	return strings.TrimRight(line, "\r\n"), true
}

// do runs one command on n. A server error reply is returned as a value of kind Error;
// err reports a command that got no reply.
func (m *Manager) do(ctx context.Context, n *Node, args ...string) (resp.Value, error) {
	return m.doCmd(ctx, n, resp.NewCommand(args...))
}

func (m *Manager) doCmd(ctx context.Context, n *Node, cmd resp.Command) (resp.Value, error) {
	br := m.c.ExecBatch(ctx, n.Addr(), []resp.Command{cmd}, nil)
	if br.Err != nil {
		return resp.Value{}, fmt.Errorf("clustermgr: %s %s: %w", n.Name(), cmd.Name(), br.Err)
	}
	return br.Values[0], nil
}

// doOK runs one command on n and reports whether it succeeded; a failure is printed
// as redis-cli prints it (clusterManagerCheckRedisReply).
func (m *Manager) doOK(ctx context.Context, n *Node, args ...string) bool {
	v, err := m.do(ctx, n, args...)
	if err != nil {
		m.connError(n, err)
		return false
	}
	if v.Kind == resp.Error {
		m.replyError(n, string(v.Str))
		return false
	}
	return true
}

// connError prints a failure to reach n: redis-cli's "Could not connect" line for a
// dial failure, the error otherwise.
func (m *Manager) connError(n *Node, err error) {
	var de *pool.DialError
	if errors.As(err, &de) {
		m.errorf("Could not connect to Redis at %s: %s\n", n.Name(), strings.TrimPrefix(de.Error(), "Could not connect to Redis at "+de.Addr+": "))
		return
	}
	m.errorf("%v\n", err)
}

// loadNode reads n's own CLUSTER NODES line into it; with friends it also returns the
// other nodes the line's reply lists, in its order. errMsg is a server error reply.
func (m *Manager) loadNode(ctx context.Context, n *Node, friends bool) (others []*Node, errMsg string, err error) {
	v, err := m.do(ctx, n, "CLUSTER", "NODES")
	if err != nil {
		return nil, "", err
	}
	if v.Kind == resp.Error {
		return nil, string(v.Str), nil
	}
	infos, err := topology.ParseNodes(v.Text(), n.Addr())
	if err != nil {
		return nil, "", fmt.Errorf("clustermgr: %s: %w", n.Name(), err)
	}
	for _, info := range infos {
		if info.Myself() {
			n.applyInfo(info)
			if !friends {
				return nil, "", nil
			}
			continue
		}
		if !friends {
			continue
		}
		f := NewNode("", 0)
		if info.Addr != "" {
			host, port, _, _ := ParseHostPort(info.Addr)
			f.Host, f.Port = host, port
		}
		f.BusPort = info.BusPort
		f.applyInfo(info)
		others = append(others, f)
	}
	return others, "", nil
}

// isCluster reports whether INFO says cluster_enabled:1; errMsg is INFO's error reply.
func (m *Manager) isCluster(ctx context.Context, n *Node) (ok bool, errMsg string, err error) {
	v, err := m.do(ctx, n, "INFO")
	if err != nil {
		return false, "", err
	}
	if v.Kind == resp.Error {
		return false, string(v.Str), nil
	}
	return infoField(v.Text(), "cluster_enabled") == "1", "", nil
}

// isEmpty reports whether n holds no key in db 0 and knows no other node.
func (m *Manager) isEmpty(ctx context.Context, n *Node) (bool, string, error) {
	v, err := m.do(ctx, n, "INFO")
	if err != nil {
		return false, "", err
	}
	if v.Kind == resp.Error {
		return false, string(v.Str), nil
	}
	if strings.Contains(v.Text(), "db0:") {
		return false, "", nil
	}
	v, err = m.do(ctx, n, "CLUSTER", "INFO")
	if err != nil {
		return false, "", err
	}
	if v.Kind == resp.Error {
		return false, string(v.Str), nil
	}
	return infoField(v.Text(), "cluster_known_nodes") == "1", "", nil
}

// infoField returns a field of an INFO-style "name:value" text, or "".
func infoField(text, name string) string {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), name+":"); ok {
			return v
		}
	}
	return ""
}

// notClusterError prints redis-cli's message for a node without cluster support.
func (m *Manager) notClusterError(n *Node, errMsg string) {
	if errMsg == "" {
		errMsg = "is not configured as a cluster node."
	}
	m.logf(lvlErr, "[ERR] Node %s %s\n", n.Name(), errMsg)
}

// loadCluster loads the cluster as the node at host:port sees it: the node itself
// first, then every other node its CLUSTER NODES lists, each from its own view.
// Nodes that cannot be reached, or that are flagged fail, noaddr or disconnected, are
// left out (an unreachable master is counted). It prints what went wrong and reports
// whether the load succeeded.
func (m *Manager) loadCluster(ctx context.Context, host string, port int) bool {
	seed := NewNode(host, port)
	ok, errMsg, err := m.isCluster(ctx, seed)
	if err != nil {
		m.connError(seed, err)
		return false
	}
	if !ok {
		m.notClusterError(seed, errMsg)
		return false
	}
	friends, errMsg, err := m.loadNode(ctx, seed, true)
	if err != nil {
		m.connError(seed, err)
		return false
	}
	if errMsg != "" {
		m.replyError(seed, errMsg)
		return false
	}
	m.nodes = []*Node{seed}
	m.unreachableMasters = 0
	// Load the friends concurrently; keep the seed's order.
	type loaded struct {
		ok      bool
		err     error
		skipped bool // no address to reach it at
		bad     bool // the seed sees it failing or without an address
	}
	results := make([]loaded, len(friends))
	var wg sync.WaitGroup
	for i, f := range friends {
		if f.Host == "" || f.Port == 0 {
			results[i].skipped = true
			continue
		}
		// Flags only ever add up, as in redis-cli: what the seed says counts too.
		results[i].bad = f.HasFlag("noaddr") || f.HasFlag("fail")
		wg.Go(func() {
			seenAsReplica := f.IsReplica()
			_, errMsg, err := m.loadNode(ctx, f, false)
			results[i].ok, results[i].err = err == nil && errMsg == "", err
			if seenAsReplica {
				f.replica = true
			}
		})
	}
	wg.Wait()
	for i, f := range friends {
		r := results[i]
		switch {
		case r.skipped:
		case r.err != nil:
			var de *pool.DialError
			if errors.As(r.err, &de) {
				m.connError(f, r.err)
			} else {
				m.logf(lvlErr, "[ERR] Unable to load info for node %s\n", f.Name())
			}
		case !r.ok:
			m.logf(lvlErr, "[ERR] Unable to load info for node %s\n", f.Name())
		case r.bad:
		default:
			m.nodes = append(m.nodes, f)
			continue
		}
		if !f.IsReplica() {
			m.unreachableMasters++
		}
	}
	for _, n := range m.nodes {
		n.ReplicasCount = 0
	}
	for _, n := range m.nodes {
		if n.Replicate == "" {
			continue
		}
		if master := m.nodeByID(n.Replicate); master == nil {
			m.logf(lvlWarn, "*** WARNING: %s claims to be slave of unknown node ID %s.\n", n.Name(), n.Replicate)
		} else {
			master.ReplicasCount++
		}
	}
	return true
}

// nodeByID returns the loaded node with the given ID (case-insensitive), or nil.
func (m *Manager) nodeByID(id string) *Node {
	id = strings.ToLower(id)
	for _, n := range m.nodes {
		if n.ID != "" && n.ID == id {
			return n
		}
	}
	return nil
}

// nodeByIDPrefix returns the first loaded node whose ID starts with prefix, or nil.
func (m *Manager) nodeByIDPrefix(prefix string) *Node {
	prefix = strings.ToLower(prefix)
	for _, n := range m.nodes {
		if n.ID != "" && strings.HasPrefix(n.ID, prefix) {
			return n
		}
	}
	return nil
}

// masterWithLeastReplicas returns the first master with the fewest replicas.
func (m *Manager) masterWithLeastReplicas() *Node {
	var best *Node
	for _, n := range m.nodes {
		if n.IsReplica() {
			continue
		}
		if best == nil || n.ReplicasCount < best.ReplicasCount {
			best = n
		}
	}
	return best
}

// randomMaster returns a master chosen at random, or nil.
func (m *Manager) randomMaster() *Node {
	var masters []*Node
	for _, n := range m.nodes {
		if !n.IsReplica() {
			masters = append(masters, n)
		}
	}
	if len(masters) == 0 {
		return nil
	}
	return masters[m.opts.Rand.IntN(len(masters))]
}

// masters returns the loaded masters in load order.
func (m *Manager) masters() []*Node {
	var out []*Node
	for _, n := range m.nodes {
		if !n.IsReplica() {
			out = append(out, n)
		}
	}
	return out
}

// signature returns the slots configuration n reports (see ConfigSignature); "" when
// it cannot be read or n knows no node with slots.
func (m *Manager) signature(ctx context.Context, n *Node) string {
	v, err := m.do(ctx, n, "CLUSTER", "NODES")
	if err != nil || v.Kind == resp.Error {
		return ""
	}
	infos, err := topology.ParseNodes(v.Text(), n.Addr())
	if err != nil {
		return ""
	}
	return ConfigSignature(infos)
}

// consistent reports whether every loaded node reports the same slots configuration.
func (m *Manager) consistent(ctx context.Context) bool {
	if len(m.nodes) <= 1 {
		return true
	}
	sigs := make([]string, len(m.nodes))
	var wg sync.WaitGroup
	for i, n := range m.nodes {
		wg.Go(func() { sigs[i] = m.signature(ctx, n) })
	}
	wg.Wait()
	for _, s := range sigs {
		if s == "" || s != sigs[0] {
			return false
		}
	}
	return true
}

// waitForJoin waits until every loaded node agrees about the slots configuration,
// printing a dot for each second waited, as redis-cli does.
func (m *Manager) waitForJoin(ctx context.Context) bool {
	m.printf("Waiting for the cluster to join\n")
	start := time.Now()
	dots := 0
	for !m.consistent(ctx) {
		if ctx.Err() != nil {
			m.printf("\n")
			return false
		}
		time.Sleep(joinPoll)
		for int(time.Since(start)/time.Second) > dots {
			dots++
			m.printf(".")
		}
	}
	m.printf("\n")
	return true
}

// startProgress shows a progress display on Streams.Progress, if there is one.
func (m *Manager) startProgress(label, unit string, total int) {
	if m.io.Progress == nil {
		return
	}
	m.mu.Lock()
	m.bar = progress.New(m.io.Progress, label, unit, int64(total))
	m.mu.Unlock()
}

// progress updates the progress display. It is redrawn only between lines of output,
// never in the middle of one.
func (m *Manager) progress(done int, note string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bar != nil && m.atLineStart {
		m.bar.Set(int64(done), note)
	}
}

// finishProgress erases the progress display for good.
func (m *Manager) finishProgress() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bar != nil {
		m.bar.Clear()
		m.bar = nil
	}
}

// itoa is strconv.Itoa.
func itoa(n int) string { return strconv.Itoa(n) }
