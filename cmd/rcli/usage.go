package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// writeUsage prints --help: redis-cli's options that rcli honours, rcli's own, the
// modes it does not offer yet, and its subcommands.
func writeUsage(w io.Writer) {
	var subs strings.Builder
	for _, s := range subcommands() {
		fmt.Fprintf(&subs, "  %-18s %s\n", s.name, s.short)
	}
	if subs.Len() == 0 {
		subs.WriteString("  (none yet)\n")
	}
	fmt.Fprintf(w, `rcli %s (redis-cli 7.0 compatible)

Usage: rcli [OPTIONS] [cmd [arg [arg ...]]]
       rcli [OPTIONS] <subcommand> [args...]
  -h <hostname>      Server hostname (default: 127.0.0.1).
  -p <port>          Server port (default: 6379).
  -s <socket>        Server socket (overrides hostname and port).
  -a <password>      Password to use when connecting to the server.
                     You can also use the RCLI_AUTH or REDISCLI_AUTH environment
                     variable to pass this password more safely
                     (if both are used, this argument takes precedence).
  --user <username>  Used to send ACL style 'AUTH username pass'. Needs -a.
  --pass <password>  Alias of -a for consistency with the new --user option.
  --askpass          Force user to input password with mask from STDIN.
                     If this argument is used, '-a' and the environment
                     variables are ignored.
  -u <uri>           Server URI: redis://[[user:]pass@]host[:port][/db],
                     rediss://... for TLS, or unix:///path/to/socket.
  -r <repeat>        Execute specified command N times (negative: forever).
  -i <interval>      When -r is used, waits <interval> seconds per command.
                     It is possible to specify sub-second times like -i 0.1.
  -n <db>            Database number.
  -2                 Start session in RESP2 protocol mode.
  -3                 Start session in RESP3 protocol mode.
  -x                 Read last argument from STDIN (see example below).
  -X <tag>           Read <tag> argument from STDIN (see example below).
  -d <delimiter>     Delimiter between response bulks for raw formatting (default: \n).
  -D <delimiter>     Delimiter between responses for raw formatting (default: \n).
  -c                 Enable cluster mode (follow -ASK and -MOVED redirections).
  -e                 Return exit error code when command execution fails.
  --tls              Establish a secure TLS connection.
  --sni <host>       Server name indication for TLS.
  --cacert <file>    CA Certificate file to verify with.
  --cacertdir <dir>  Directory where trusted CA certificates are stored.
                     If neither cacert nor cacertdir are specified, the default
                     system-wide trusted root certs configuration will apply.
  --insecure         Allow insecure TLS connection by skipping cert validation.
  --cert <file>      Client certificate to authenticate with.
  --key <file>       Private key file to authenticate with.
  --tls-ciphers <list> Sets the list of preferred ciphers (TLSv1.2 and below),
                     separated by colons, by OpenSSL or IANA names.
  --tls-ciphersuites <list> Sets the list of preferred ciphersuites (TLSv1.3).
  --raw              Use raw formatting for replies (default when STDOUT is
                     not a tty).
  --no-raw           Force formatted output even when STDOUT is not a tty.
  --quoted-input     Force input to be handled as quoted strings.
  --csv              Output in CSV format.
  --json             Output in JSON format (default RESP3, use -2 if you want to use with RESP2).
  --quoted-json      Same as --json, but produce ASCII-safe quoted strings, not Unicode.
  --show-pushes <yn> Whether to print RESP3 PUSH messages.  Enabled by default when
                     STDOUT is a tty but can be overridden with --show-pushes no.
  --eval <file>      Send an EVAL command using the Lua script at <file>.
  --verbose          Verbose mode: show RESP3 attributes.
  --no-auth-warning  Don't show warning message when using password on command
                     line interface.
  --no-color         Don't colour replies (also: the NO_COLOR environment variable).
  --read-timeout <sec> Give up when a reply takes longer (default: %v; 0: never).
                     Blocking commands add their own timeout to it.
  --scan             List all keys using the SCAN command (with -c: every master).
  --pattern <pat>    Keys pattern when using the --scan mode.
  --quoted-pattern <pat> Same as --pattern, but the value can be a quoted string.
  --count <count>    Count option when using the --scan mode (default: 10).
  --type <type>      Only keys of this type in the --scan mode.
  --pipe             Transfer raw Redis protocol (or inline commands, one per line)
                     from stdin to the server; with -c, to the node that owns each key.
                     Every command ends ok, error, rejected (bad input: skipped alone,
                     with its line number) or unknown (connection lost after sending);
                     exit 1 on errors or rejections, 3 when some outcomes are unknown.
  --pipe-timeout <n> In --pipe mode, abort with error if after sending all data
                     no reply is received within <n> seconds (default: 30; 0: never).
  --pipe-conns <n>   In --pipe mode, connections per node (default: 1); each key
                     always uses the same one, so its commands keep their order.
  --report <file>    In --pipe mode, one JSON line per command that did not end ok.
  --wait <n>         In --pipe mode, confirm writes reached <n> replicas (WAIT).
  --wait-timeout <sec> Timeout of those WAITs (default: 1).
  --resend-readonly  In --pipe mode, resend read-only commands lost with a connection.
  --resend-idempotent In --pipe mode, also resend idempotent writes (SET, DEL, HSET,
                     SADD, ZADD without INCR, PEXPIREAT) lost with a connection.
  --help             Output this help and exit.
  --version          Output version and exit.

Cluster mode (-c) and rcli's client:
  Commands go to the node that owns their keys, found from the server's own key
  specs (COMMAND INFO, cached per server version); MOVED and ASK are followed,
  TRYAGAIN and CLUSTERDOWN are retried for a while, so a failover does not fail a
  command. The slot map is cached on disk ($XDG_CACHE_HOME/rcli) for one-shot runs.
  Keys in several slots:
    MGET MSET DEL UNLINK EXISTS TOUCH are split per node (one pipelined round trip
    per node) and joined in key order; counts are summed. A split MSET is NOT
    atomic. If a node fails, the keys not done are listed and rcli exits 1.
    Any other command gets a local CROSSSLOT error naming the slots, unsent.
  Keyless commands:
    KEYS (merged), DBSIZE (summed), FLUSHALL and FLUSHDB (all must succeed),
    RANDOMKEY (any non-nil) go to every master; SCRIPT LOAD and SCRIPT FLUSH to
    every node; SCRIPT EXISTS (ANDed) and FUNCTION LOAD/DELETE/FLUSH/RESTORE to
    every master. Everything else (INFO, CONFIG, PING, CLIENT, SLOWLOG, WAIT, ...)
    goes to the node you named, as with redis-cli.
  --read-from <where> Where read-only commands go: master (default), replica or
                     prefer-replica (replicas send READONLY; a dead or loading
                     replica falls back to another, then to the master).
  --nat-map <from=to,...> Reach announced node addresses (host:port) at others,
                     for clusters behind NAT or in containers.
  --max-conns <n>    Connections per node (default: 10 per CPU).
  --min-idle <n>     Idle connections kept ready per node (default: 0).
  --idle-timeout <sec> Close connections idle for longer (default: never).
  --pool-timeout <sec> Longest wait for a free connection (default: read timeout + 1s).

Operator tools:
  --cluster <command> [args...] [opts...]
                     Cluster Manager command and arguments: create, check, info,
                     fix, reshard, rebalance, add-node, del-node, call (--json for
                     one JSON array), set-timeout. Use --cluster help for details.
  --bigkeys          Sample Redis keys looking for keys with many elements (complexity).
  --memkeys          Sample Redis keys looking for keys consuming a lot of memory.
  --memkeys-samples <n> Like --memkeys, with MEMORY USAGE ... SAMPLES <n>.
  --hotkeys          Sample Redis keys looking for hot keys (needs an LFU policy).
                     With -c these three walk every master (every replica with
                     --read-from replica) and print one merged report; --json prints
                     it as one JSON document. A progress bar shows on a terminal.
  --stat             Print rolling stats about server: mem, clients, ... (-i sets
                     the interval). With -c each row sums every master.
  --latency          Sample PING latency every 10ms: forever on a terminal; otherwise
                     for 1 second (or -i), then one raw, --csv or --json line.
  --latency-history  Like --latency but a new window every 15 sec (or -i).

Not supported yet (rcli exits 1 when asked for them):
  --latency-dist --lru-test --replica --rdb --functions-rdb
  --intrinsic-latency --ldb --ldb-sync-mode

rcli subcommands:
%s
Examples:
  cat /etc/passwd | rcli -x set mypasswd
  rcli -D "" --raw dump key > key.dump && rcli -X dump_tag restore key2 0 dump_tag replace < key.dump
  rcli -r 100 lpush mylist x
  rcli -r 100 -i 1 info | grep used_memory_human:
  rcli --quoted-input set '"null-\x00-separated"' value
  rcli --eval myscript.lua key1 key2 , arg1 arg2 arg3

  (Note: when using --eval the comma separates KEYS[] from ARGV[] items)

When no command is given and stdin is not a terminal, rcli runs stdin's lines
as commands, one by one.
`, version(), defaultReadTimeout.Round(time.Second), subs.String())
}
