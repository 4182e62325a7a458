package main

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/pipeline"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/resp"
)

// outputMode is the reply format asked for on the command line. modeAuto leaves the
// choice to the terminal: standard on a terminal, raw otherwise.
type outputMode uint8

const (
	modeAuto outputMode = iota
	modeStandard
	modeRaw
	modeCSV
	modeJSON
	modeQuotedJSON
)

// triState is a yes/no flag that may also be left unset.
type triState int8

const (
	unset triState = iota
	yes
	no
)

// action is what the command line asks rcli to do once it is parsed.
type action uint8

const (
	actionRun     action = iota // run a command, stdin's lines, --eval or a subcommand
	actionUsage                 // print the usage text and exit 0 (--help, a final -h)
	actionVersion               // print the version and exit 0
)

// defaultReadTimeout bounds the wait for each reply when --read-timeout is not given.
// redis-cli waits forever; rcli gives up after a minute so that a stalled or hostile
// server cannot hang a script, while slow commands (SAVE, KEYS, DEBUG SLEEP on a big
// dataset) still have time to finish. Blocking commands (BLPOP, XREAD BLOCK, WAIT, ...)
// add their own timeout to it, and SUBSCRIBE and MONITOR wait for messages forever.
const defaultReadTimeout = time.Minute

// tlsOptions are the --tls family of flags.
type tlsOptions struct {
	enabled      bool   // --tls, or a rediss:// URL
	sni          string // --sni
	caCert       string // --cacert
	caCertDir    string // --cacertdir
	cert         string // --cert
	key          string // --key
	insecure     bool   // --insecure
	ciphers      string // --tls-ciphers (TLS 1.2 and below)
	cipherSuites string // --tls-ciphersuites (TLS 1.3)
}

// options is everything the command line says, parsed with redis-cli's rules.
type options struct {
	action action

	// Connection.
	host        string
	port        int
	socket      string
	password    string
	hasPassword bool // -a, --pass or a URL carried a password (perhaps empty)
	user        string
	askPass     bool
	db          int
	resp2       bool // -2
	resp3       bool // -3
	urlProtocol int  // the protocol a URL's ?protocol= asked for, or 0
	jsonRESP3   bool // --json or --quoted-json asks for RESP3 unless -2 says otherwise
	clientName  string
	tls         tlsOptions
	readTimeout time.Duration
	cluster     bool // -c

	// rcli's own client settings.
	readFrom    string            // --read-from master|replica|prefer-replica
	natMap      map[string]string // --nat-map from=to,...
	maxConns    int               // --max-conns: connections per node
	minIdle     int               // --min-idle
	idleTimeout time.Duration     // --idle-timeout
	poolTimeout time.Duration     // --pool-timeout

	// --scan and its modifiers.
	scan     bool
	pattern  string // --pattern, or --quoted-pattern unquoted
	count    int    // --count
	scanType string // --type

	// Execution.
	repeat      int64 // -r; negative repeats forever
	interval    time.Duration
	stdinLast   bool   // -x
	stdinTag    string // -X
	hasStdinTag bool
	errCode     bool // -e
	quotedInput bool
	eval        string // --eval file
	hasEval     bool
	ldb         bool // --ldb or --ldb-sync-mode

	// Output.
	output        outputMode
	fieldSep      string // -d
	replySep      string // -D
	showPushes    triState
	verbose       bool
	noAuthWarning bool
	noColor       bool

	// tools are the cluster manager's, key analysis and live view flags.
	tools toolOptions
	// pipe is --pipe and its flags.
	pipe pipeOptions

	// unsupported is the first redis-cli mode on the command line that rcli does not
	// offer yet, such as "--scan"; "" when there is none.
	unsupported string

	// command is what follows the options: a Redis command and its arguments, an
	// rcli subcommand, or the keys and arguments of --eval.
	command []string
}

// addr returns the network and address to connect to.
func (o *options) addr() (network, addr string) {
	if o.socket != "" {
		return "unix", o.socket
	}
	return "tcp", net.JoinHostPort(o.host, strconv.Itoa(o.port))
}

// usageError is a command-line mistake. Its text is printed on stderr as it is, and
// rcli exits 1.
type usageError struct{ msg string }

// Error returns the message to print.
func (e *usageError) Error() string { return e.msg }

// usagef returns a *usageError with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// otherFlag classifies a flag that is not one of rcli's own: a redis-cli mode that rcli
// does not offer yet (asking for one exits 1 with "rcli: --X is not supported yet"
// rather than doing something else), or a modifier of such a mode, which is accepted
// with its value and has no effect, as in redis-cli when its mode is not asked for.
// known is false for a flag redis-cli does not have either.
func otherFlag(flag string) (known, mode, takesValue bool) {
	switch flag {
	case "--latency-dist", "--replica", "--slave":
		return true, true, false
	case "--lru-test", "--rdb", "--functions-rdb", "--intrinsic-latency",
		"--test_hint", "--test_hint_file":
		return true, true, true
	case "--mono":
		return true, false, false
	}
	return false, false, false
}

// parseArgs parses redis-cli's command line: options come first, and parsing stops at
// the first argument that does not start with '-', which begins the command. It
// returns the options, the warnings to print on stderr (in order, before any error),
// and a *usageError for a bad command line. It reads no environment and does no I/O.
func parseArgs(args []string) (*options, []string, error) {
	o := &options{
		host:        "127.0.0.1",
		port:        6379,
		repeat:      1,
		fieldSep:    "\n",
		replySep:    "\n",
		readTimeout: defaultReadTimeout,
		pipe:        pipeOptions{timeout: pipeline.DefaultPipeTimeout},
	}
	var warnings []string
	i := 0
	// value returns the value of the option at args[i] and advances past it.
	value := func() (string, bool) {
		if i+1 >= len(args) {
			return "", false
		}
		i++
		return args[i], true
	}
	for ; i < len(args); i++ {
		arg := args[i]
		if arg == "" || arg[0] != '-' {
			if o.tools.clusterCmd != "" {
				o.clusterWord(args, &i) // the cluster manager reads every argument
				continue
			}
			break // the command starts here
		}
		bad := func() error {
			return usagef("Unrecognized option or bad number of args for: '%s'", arg)
		}
		switch arg {
		case "-h":
			v, ok := value()
			if !ok {
				o.action = actionUsage
				return o, warnings, nil
			}
			o.host = v
		case "--help":
			o.action = actionUsage
			return o, warnings, nil
		case "-v", "--version":
			o.action = actionVersion
			return o, warnings, nil
		case "-x":
			o.stdinLast = true
		case "-X":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			o.stdinTag, o.hasStdinTag = v, true
		case "-p":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			p, err := strconv.Atoi(v)
			if err != nil || p < 0 || p > 65535 {
				return o, warnings, usagef("Invalid server port.")
			}
			o.port = p
		case "-s":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			o.socket = v
		case "-r":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return o, warnings, usagef("Invalid repeat count for -r: '%s'", v)
			}
			o.repeat = n
		case "-i":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			d, err := parseSeconds(v)
			if err != nil {
				return o, warnings, usagef("Invalid interval for -i: '%s'", v)
			}
			o.interval = d
		case "-n":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > math.MaxInt32 {
				return o, warnings, usagef("Invalid database number for -n: '%s'", v)
			}
			o.db = n
		case "--no-auth-warning":
			o.noAuthWarning = true
		case "--askpass":
			o.askPass = true
		case "-a", "--pass":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			o.password, o.hasPassword = v, true
		case "--user":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			o.user = v
		case "-u":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			if err := o.applyURL(v); err != nil {
				return o, warnings, err
			}
		case "--raw":
			o.output = modeRaw
		case "--no-raw":
			o.output = modeStandard
		case "--quoted-input":
			o.quotedInput = true
		case "--csv":
			o.output = modeCSV
		case "--json":
			o.output = modeJSON
			o.jsonRESP3 = true
		case "--quoted-json":
			o.output = modeQuotedJSON
			o.jsonRESP3 = true
		case "--show-pushes":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			switch {
			case len(v) > 0 && (v[0] == 'n' || v[0] == 'N'):
				o.showPushes = no
			case len(v) > 0 && (v[0] == 'y' || v[0] == 'Y'):
				o.showPushes = yes
			default:
				warnings = append(warnings, fmt.Sprintf("Unknown --show-pushes value '%s' (valid: '[y]es', '[n]o')", v))
			}
		case "--eval":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			o.eval, o.hasEval = v, true
		case "--ldb", "--ldb-sync-mode":
			o.ldb = true
		case "-d":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			o.fieldSep = v
		case "-D":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			o.replySep = v
		case "-c":
			o.cluster = true
		case "-e":
			o.errCode = true
		case "--verbose":
			o.verbose = true
		case "-2":
			o.resp2 = true
		case "-3":
			o.resp3 = true
		case "--tls":
			o.tls.enabled = true
		case "--sni", "--cacert", "--cacertdir", "--cert", "--key", "--tls-ciphers", "--tls-ciphersuites":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			*o.tls.field(arg) = v
		case "--insecure":
			o.tls.insecure = true
		case "--no-color":
			o.noColor = true
		case "--read-from":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			if _, err := cluster.ParseReadFrom(v); err != nil {
				return o, warnings, usagef("Invalid --read-from '%s' (valid: master, replica, prefer-replica)", v)
			}
			o.readFrom = v
		case "--nat-map":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			m, err := parseNATMap(v)
			if err != nil {
				return o, warnings, err
			}
			o.natMap = m
		case "--max-conns", "--min-idle", "--count":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > math.MaxInt32 {
				return o, warnings, usagef("Invalid number for %s: '%s'", arg, v)
			}
			switch arg {
			case "--max-conns":
				o.maxConns = n
			case "--min-idle":
				o.minIdle = n
			default:
				o.count = n
			}
		case "--idle-timeout", "--pool-timeout":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			d, err := parseSeconds(v)
			if err != nil {
				return o, warnings, usagef("Invalid time for %s: '%s'", arg, v)
			}
			if arg == "--idle-timeout" {
				o.idleTimeout = d
			} else {
				o.poolTimeout = d
			}
		case "--scan":
			o.scan = true
		case "--pattern", "--type":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			if arg == "--pattern" {
				o.pattern = v
			} else {
				o.scanType = v
			}
		case "--quoted-pattern":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			split, err := resp.SplitArgs(v)
			if err != nil || len(split) != 1 {
				return o, warnings, usagef("Invalid quoted string specified for --quoted-pattern.")
			}
			o.pattern = string(split[0])
		case "--read-timeout":
			v, ok := value()
			if !ok {
				return o, warnings, bad()
			}
			d, err := parseSeconds(v)
			if err != nil {
				return o, warnings, usagef("Invalid timeout for --read-timeout: '%s'", v)
			}
			o.readTimeout = d
			if d == 0 {
				o.readTimeout = -1 // no timeout
			}
		default:
			if handled, err := o.parsePipeFlag(args, &i); handled {
				if err != nil {
					return o, warnings, err
				}
				continue
			}
			if handled, err := o.parseToolFlag(args, &i); handled {
				if err != nil {
					return o, warnings, err
				}
				continue
			}
			known, mode, takesValue := otherFlag(arg)
			if !known {
				return o, warnings, bad()
			}
			if takesValue {
				if _, ok := value(); !ok {
					return o, warnings, bad()
				}
			}
			if mode && o.unsupported == "" {
				o.unsupported = arg
			}
			continue
		}
	}
	o.command = args[i:]

	// The checks redis-cli makes once every option is read, in its order.
	if o.socket != "" && o.cluster {
		return o, warnings, usagef("Options -c and -s are mutually exclusive.")
	}
	if o.resp2 && o.resp3 {
		return o, warnings, usagef("Options -2 and -3 are mutually exclusive.")
	}
	if o.ldb && !o.hasEval {
		return o, warnings, usagef("Options --ldb and --ldb-sync-mode require --eval.\nTry rcli --help for more information.")
	}
	if o.hasPassword && !o.noAuthWarning {
		warnings = append(warnings, "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.")
	}
	if o.tls.insecure {
		warnings = append(warnings, "Warning: --insecure skips TLS certificate verification: the server's identity is not checked.")
	}
	if o.stdinLast && o.hasStdinTag {
		return o, warnings, usagef("Options -x and -X are mutually exclusive.")
	}
	if o.ldb && o.unsupported == "" {
		o.unsupported = "--ldb"
	}
	return o, warnings, nil
}

// parseNATMap parses --nat-map's "from=to,from=to": announced host:port addresses and
// the host:port to reach each one at instead.
func parseNATMap(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		from, to, ok := strings.Cut(strings.TrimSpace(pair), "=")
		_, _, errFrom := net.SplitHostPort(from)
		_, _, errTo := net.SplitHostPort(to)
		if !ok || errFrom != nil || errTo != nil {
			return nil, usagef("Invalid --nat-map entry '%s' (want host:port=host:port)", pair)
		}
		m[from] = to
	}
	return m, nil
}

// field returns the string field that a value-taking TLS flag sets.
func (t *tlsOptions) field(flag string) *string {
	switch flag {
	case "--sni":
		return &t.sni
	case "--cacert":
		return &t.caCert
	case "--cacertdir":
		return &t.caCertDir
	case "--cert":
		return &t.cert
	case "--key":
		return &t.key
	case "--tls-ciphers":
		return &t.ciphers
	default: // "--tls-ciphersuites"
		return &t.cipherSuites
	}
}

// applyURL applies a -u URL. As in redis-cli, it sets what the URL says at the point
// where -u appears, so later flags override it. Errors never quote the password.
func (o *options) applyURL(s string) error {
	scheme, _, _ := strings.Cut(s, "://")
	switch strings.ToLower(scheme) {
	case "redis", "rediss", "valkey", "valkeys", "unix":
	default:
		return usagef("Invalid URI scheme")
	}
	u, err := pool.ParseURL(s)
	if err != nil {
		return &usageError{msg: "Invalid URI: " + strings.TrimPrefix(err.Error(), "pool: ")}
	}
	if u.Network == "unix" {
		o.socket = u.Addr
	} else {
		host, port, err := net.SplitHostPort(u.Addr)
		if err != nil {
			return &usageError{msg: "Invalid URI: " + err.Error()}
		}
		o.host = host
		o.port, _ = strconv.Atoi(port)
		o.socket = ""
	}
	if u.Password != "" || u.Username != "" {
		o.password, o.hasPassword = u.Password, true
		o.user = u.Username
	}
	if u.TLS != nil {
		o.tls.enabled = true
	}
	if u.DB != 0 {
		o.db = u.DB
	}
	if u.Protocol != 0 {
		o.urlProtocol = u.Protocol
	}
	if u.ClientName != "" {
		o.clientName = u.ClientName
	}
	return nil
}

// parseSeconds parses a non-negative number of seconds, fractions allowed, as -i takes.
func parseSeconds(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) || f > float64(math.MaxInt64/int64(time.Second)) {
		return 0, errors.New("not a number of seconds")
	}
	return time.Duration(f * float64(time.Second)), nil
}
