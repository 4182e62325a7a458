package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseArgs(t *testing.T) {
	const authWarning = "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe."
	tests := []struct {
		name     string
		args     string // split on spaces; "_" stands for an empty argument
		check    func(t *testing.T, o *options)
		warnings []string
		err      string
	}{
		{name: "defaults", args: "", check: func(t *testing.T, o *options) {
			network, addr := o.addr()
			assert.Equal(t, "tcp", network)
			assert.Equal(t, "127.0.0.1:6379", addr)
			assert.Equal(t, int64(1), o.repeat)
			assert.Equal(t, "\n", o.fieldSep)
			assert.Equal(t, "\n", o.replySep)
			assert.Equal(t, modeAuto, o.output)
			assert.Equal(t, defaultReadTimeout, o.readTimeout)
			assert.Empty(t, o.command)
		}},
		{name: "host port and command", args: "-h example.org -p 7000 GET k", check: func(t *testing.T, o *options) {
			_, addr := o.addr()
			assert.Equal(t, "example.org:7000", addr)
			assert.Equal(t, []string{"GET", "k"}, o.command)
		}},
		{name: "parsing stops at the command", args: "-p 7000 INCRBY k -5", check: func(t *testing.T, o *options) {
			assert.Equal(t, []string{"INCRBY", "k", "-5"}, o.command)
		}},
		{name: "options after the command are arguments", args: "get -p", check: func(t *testing.T, o *options) {
			assert.Equal(t, []string{"get", "-p"}, o.command)
			assert.Equal(t, 6379, o.port)
		}},
		{name: "empty argument starts the command", args: "_ x", check: func(t *testing.T, o *options) {
			assert.Equal(t, []string{"", "x"}, o.command)
		}},
		{name: "socket", args: "-s /tmp/r.sock ping", check: func(t *testing.T, o *options) {
			network, addr := o.addr()
			assert.Equal(t, "unix", network)
			assert.Equal(t, "/tmp/r.sock", addr)
		}},
		{name: "h last is usage", args: "-p 1 -h", check: func(t *testing.T, o *options) {
			assert.Equal(t, actionUsage, o.action)
		}},
		{name: "help", args: "--help -p", check: func(t *testing.T, o *options) {
			assert.Equal(t, actionUsage, o.action)
		}},
		{name: "version short", args: "-v", check: func(t *testing.T, o *options) { assert.Equal(t, actionVersion, o.action) }},
		{name: "version long", args: "--version", check: func(t *testing.T, o *options) { assert.Equal(t, actionVersion, o.action) }},
		{name: "unknown option", args: "--foo ping", err: "Unrecognized option or bad number of args for: '--foo'"},
		{name: "lone dash", args: "- ping", err: "Unrecognized option or bad number of args for: '-'"},
		{name: "missing value", args: "-p", err: "Unrecognized option or bad number of args for: '-p'"},
		{name: "later count -t from 7.4", args: "-t 1 ping", err: "Unrecognized option or bad number of args for: '-t'"},
		{name: "port too big", args: "-p 70000 ping", err: "Invalid server port."},
		{name: "port not a number", args: "-p abc ping", err: "Invalid server port."},
		{name: "negative port", args: "-p -1 ping", err: "Invalid server port."},
		{name: "repeat and interval", args: "-r -1 -i 0.25 ping", check: func(t *testing.T, o *options) {
			assert.Equal(t, int64(-1), o.repeat)
			assert.Equal(t, 250*time.Millisecond, o.interval)
		}},
		{name: "bad repeat", args: "-r x ping", err: "Invalid repeat count for -r: 'x'"},
		{name: "bad interval", args: "-i -2 ping", err: "Invalid interval for -i: '-2'"},
		{name: "db", args: "-n 3 ping", check: func(t *testing.T, o *options) { assert.Equal(t, 3, o.db) }},
		{name: "bad db", args: "-n x ping", err: "Invalid database number for -n: 'x'"},
		{name: "password warns", args: "-a secret ping", warnings: []string{authWarning}, check: func(t *testing.T, o *options) {
			assert.True(t, o.hasPassword)
			assert.Equal(t, "secret", o.password)
		}},
		{name: "pass alias and user", args: "--user alice --pass pw ping", warnings: []string{authWarning}, check: func(t *testing.T, o *options) {
			assert.Equal(t, "alice", o.user)
			assert.Equal(t, "pw", o.password)
		}},
		{name: "empty password is a password", args: "-a _ ping", warnings: []string{authWarning}, check: func(t *testing.T, o *options) {
			assert.True(t, o.hasPassword)
			assert.Equal(t, "", o.password)
		}},
		{name: "no auth warning", args: "--no-auth-warning -a secret ping", check: func(t *testing.T, o *options) {
			assert.True(t, o.hasPassword)
		}},
		{name: "askpass", args: "--askpass ping", check: func(t *testing.T, o *options) { assert.True(t, o.askPass) }},
		{name: "url", args: "-u redis://bob:s%40cret@example.org:7001/4 ping", warnings: []string{authWarning}, check: func(t *testing.T, o *options) {
			_, addr := o.addr()
			assert.Equal(t, "example.org:7001", addr)
			assert.Equal(t, "bob", o.user)
			assert.Equal(t, "s@cret", o.password)
			assert.Equal(t, 4, o.db)
			assert.False(t, o.tls.enabled)
		}},
		{name: "url password only", args: "-u redis://secret@h ping", warnings: []string{authWarning}, check: func(t *testing.T, o *options) {
			assert.Equal(t, "", o.user)
			assert.Equal(t, "secret", o.password)
		}},
		{name: "url without password does not warn", args: "-u redis://h:1 ping", check: func(t *testing.T, o *options) {
			assert.False(t, o.hasPassword)
		}},
		{name: "rediss url turns on tls", args: "-u rediss://h ping", check: func(t *testing.T, o *options) {
			assert.True(t, o.tls.enabled)
		}},
		{name: "unix url", args: "-u unix:///tmp/r.sock ping", check: func(t *testing.T, o *options) {
			network, addr := o.addr()
			assert.Equal(t, "unix", network)
			assert.Equal(t, "/tmp/r.sock", addr)
		}},
		{name: "later flags override the url", args: "-u redis://h:1/2 -p 3 -n 4 ping", check: func(t *testing.T, o *options) {
			_, addr := o.addr()
			assert.Equal(t, "h:3", addr)
			assert.Equal(t, 4, o.db)
		}},
		{name: "url bad scheme", args: "-u http://h ping", err: "Invalid URI scheme"},
		{name: "url bad port", args: "-u redis://h:70000 ping", err: `Invalid URI: invalid URL port "70000": want 1 to 65535`},
		{name: "url error hides the password", args: "-u redis://u:p%zzsecret@h ping", err: "Invalid URI: invalid URL password: bad %-escape"},
		{name: "resp2", args: "-2 ping", check: func(t *testing.T, o *options) { assert.True(t, o.resp2) }},
		{name: "resp3", args: "-3 ping", check: func(t *testing.T, o *options) { assert.True(t, o.resp3) }},
		{name: "resp2 and resp3", args: "-2 -3 ping", err: "Options -2 and -3 are mutually exclusive."},
		{name: "resp3 and resp2", args: "-3 -2 ping", err: "Options -2 and -3 are mutually exclusive."},
		{name: "cluster and socket", args: "-c -s /tmp/x ping", err: "Options -c and -s are mutually exclusive."},
		{name: "x and X", args: "-x -X tag ping", err: "Options -x and -X are mutually exclusive."},
		{name: "x and X after the password warning", args: "-a pw -x -X tag ping", warnings: []string{authWarning}, err: "Options -x and -X are mutually exclusive."},
		{name: "stdin tag", args: "-X t set k t", check: func(t *testing.T, o *options) {
			assert.True(t, o.hasStdinTag)
			assert.Equal(t, "t", o.stdinTag)
		}},
		{name: "output modes last wins", args: "--csv --raw ping", check: func(t *testing.T, o *options) { assert.Equal(t, modeRaw, o.output) }},
		{name: "no raw", args: "--no-raw ping", check: func(t *testing.T, o *options) { assert.Equal(t, modeStandard, o.output) }},
		{name: "json implies resp3", args: "--json ping", check: func(t *testing.T, o *options) {
			assert.Equal(t, modeJSON, o.output)
			assert.True(t, o.jsonRESP3)
		}},
		{name: "quoted json", args: "--quoted-json ping", check: func(t *testing.T, o *options) {
			assert.Equal(t, modeQuotedJSON, o.output)
		}},
		{name: "separators", args: "-d , -D _ ping", check: func(t *testing.T, o *options) {
			assert.Equal(t, ",", o.fieldSep)
			assert.Equal(t, "", o.replySep)
		}},
		{name: "show pushes", args: "--show-pushes yes ping", check: func(t *testing.T, o *options) { assert.Equal(t, yes, o.showPushes) }},
		{name: "hide pushes", args: "--show-pushes N ping", check: func(t *testing.T, o *options) { assert.Equal(t, no, o.showPushes) }},
		{name: "bad show pushes warns and goes on", args: "--show-pushes maybe ping",
			warnings: []string{"Unknown --show-pushes value 'maybe' (valid: '[y]es', '[n]o')"},
			check:    func(t *testing.T, o *options) { assert.Equal(t, unset, o.showPushes) }},
		{name: "tls flags", args: "--tls --sni s --cacert ca --cacertdir d --cert c --key k --tls-ciphers x --tls-ciphersuites y ping", check: func(t *testing.T, o *options) {
			assert.Equal(t, tlsOptions{enabled: true, sni: "s", caCert: "ca", caCertDir: "d", cert: "c", key: "k", ciphers: "x", cipherSuites: "y"}, o.tls)
		}},
		{name: "insecure warns", args: "--insecure ping",
			warnings: []string{"Warning: --insecure skips TLS certificate verification: the server's identity is not checked."}},
		{name: "insecure warns without auth warning", args: "--no-auth-warning --insecure -a x ping",
			warnings: []string{"Warning: --insecure skips TLS certificate verification: the server's identity is not checked."}},
		{name: "flags", args: "-c -e -x --quoted-input --verbose --no-color ping", check: func(t *testing.T, o *options) {
			assert.True(t, o.cluster)
			assert.True(t, o.errCode)
			assert.True(t, o.stdinLast)
			assert.True(t, o.quotedInput)
			assert.True(t, o.verbose)
			assert.True(t, o.noColor)
		}},
		{name: "read timeout", args: "--read-timeout 1.5 ping", check: func(t *testing.T, o *options) {
			assert.Equal(t, 1500*time.Millisecond, o.readTimeout)
		}},
		{name: "read timeout zero means none", args: "--read-timeout 0 ping", check: func(t *testing.T, o *options) {
			assert.Less(t, o.readTimeout, time.Duration(0))
		}},
		{name: "eval", args: "--eval f.lua k1 , a1", check: func(t *testing.T, o *options) {
			assert.True(t, o.hasEval)
			assert.Equal(t, "f.lua", o.eval)
			assert.Equal(t, []string{"k1", ",", "a1"}, o.command)
		}},
		{name: "ldb needs eval", args: "--ldb", err: "Options --ldb and --ldb-sync-mode require --eval.\nTry rcli --help for more information."},
		{name: "ldb is not supported", args: "--eval f --ldb-sync-mode", check: func(t *testing.T, o *options) {
			assert.Equal(t, "--ldb", o.unsupported)
		}},
		{name: "scan", args: "--scan --pattern x* --count 100 --type hash", check: func(t *testing.T, o *options) {
			assert.True(t, o.scan)
			assert.Equal(t, "x*", o.pattern)
			assert.Equal(t, 100, o.count)
			assert.Equal(t, "hash", o.scanType)
			assert.Empty(t, o.unsupported)
		}},
		{name: "quoted pattern", args: `--scan --quoted-pattern "a\x00*"`, check: func(t *testing.T, o *options) {
			assert.Equal(t, "a\x00*", o.pattern)
		}},
		{name: "read from replicas", args: "-c --read-from prefer-replica GET k", check: func(t *testing.T, o *options) {
			assert.Equal(t, "prefer-replica", o.readFrom)
		}},
		{name: "bad read policy", args: "--read-from primary", err: "Invalid --read-from 'primary' (valid: master, replica, prefer-replica)"},
		{name: "nat map", args: "--nat-map 10.0.0.1:6379=127.0.0.1:7000,10.0.0.2:6379=127.0.0.1:7001 PING", check: func(t *testing.T, o *options) {
			assert.Equal(t, map[string]string{"10.0.0.1:6379": "127.0.0.1:7000", "10.0.0.2:6379": "127.0.0.1:7001"}, o.natMap)
		}},
		{name: "bad nat map", args: "--nat-map 10.0.0.1=x PING", err: "Invalid --nat-map entry '10.0.0.1=x' (want host:port=host:port)"},
		{name: "pool limits", args: "--max-conns 4 --min-idle 1 --idle-timeout 30 --pool-timeout 0.5 PING", check: func(t *testing.T, o *options) {
			assert.Equal(t, 4, o.maxConns)
			assert.Equal(t, 1, o.minIdle)
			assert.Equal(t, 30*time.Second, o.idleTimeout)
			assert.Equal(t, 500*time.Millisecond, o.poolTimeout)
		}},
		{name: "first unsupported mode wins", args: "--replica --latency-dist", check: func(t *testing.T, o *options) {
			assert.Equal(t, "--replica", o.unsupported)
		}},
		{name: "mode with a value", args: "--rdb dump.rdb", check: func(t *testing.T, o *options) {
			assert.Equal(t, "--rdb", o.unsupported)
			assert.Empty(t, o.command)
		}},
		{name: "mode missing its value", args: "--lru-test", err: "Unrecognized option or bad number of args for: '--lru-test'"},
		{name: "cluster manager", args: "--cluster create 127.0.0.1:7000 --cluster-replicas 1", check: func(t *testing.T, o *options) {
			assert.Empty(t, o.unsupported)
			assert.Equal(t, "create", o.tools.clusterCmd)
			assert.Equal(t, []string{"127.0.0.1:7000"}, o.tools.clusterArgs)
			assert.Equal(t, 1, o.tools.cluster.replicas)
		}},
		{name: "cluster manager option", args: "--cluster-yes ping", check: func(t *testing.T, o *options) {
			assert.True(t, o.tools.cluster.yes)
			assert.Equal(t, []string{"ping"}, o.command)
		}},
		{name: "ignored modifiers", args: "--mono --pipe-timeout 3 --quoted-pattern x ping", check: func(t *testing.T, o *options) {
			assert.Empty(t, o.unsupported)
			assert.Equal(t, []string{"ping"}, o.command)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []string
			if tt.args != "" {
				for _, a := range strings.Split(tt.args, " ") {
					if a == "_" {
						a = ""
					}
					args = append(args, a)
				}
			}
			o, warnings, err := parseArgs(args)
			assert.Equal(t, tt.warnings, warnings)
			if tt.err != "" {
				require.Error(t, err)
				var ue *usageError
				require.ErrorAs(t, err, &ue)
				assert.Equal(t, tt.err, err.Error())
				return
			}
			require.NoError(t, err)
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

func TestOpenSSLName(t *testing.T) {
	tests := map[string]string{
		"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256":         "ECDHE-RSA-AES128-GCM-SHA256",
		"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384":       "ECDHE-ECDSA-AES256-GCM-SHA384",
		"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA":            "ECDHE-RSA-AES128-SHA",
		"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256":         "ECDHE-RSA-AES128-SHA256",
		"TLS_RSA_WITH_AES_128_GCM_SHA256":               "AES128-GCM-SHA256",
		"TLS_RSA_WITH_3DES_EDE_CBC_SHA":                 "DES-CBC3-SHA",
		"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
		"TLS_ECDHE_RSA_WITH_RC4_128_SHA":                "ECDHE-RSA-RC4-SHA",
	}
	for iana, want := range tests {
		t.Run(iana, func(t *testing.T) {
			assert.Equal(t, want, openSSLName(iana))
		})
	}
}

func TestParseCiphers(t *testing.T) {
	ids, err := parseCiphers("ECDHE-RSA-AES128-GCM-SHA256:TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")
	require.NoError(t, err)
	assert.Len(t, ids, 2)
	_, err = parseCiphers("HIGH:!aNULL")
	assert.ErrorContains(t, err, "unknown cipher 'HIGH'")
}
