package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseToolFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  string // split on spaces; "_" stands for an empty argument
		check func(t *testing.T, o *options)
		err   string
	}{
		{name: "create with its options after the nodes", args: "--cluster create a:1 b:2 c:3 --cluster-replicas 1 --cluster-yes", check: func(t *testing.T, o *options) {
			assert.Equal(t, "create", o.tools.clusterCmd)
			assert.Equal(t, []string{"a:1", "b:2", "c:3"}, o.tools.clusterArgs)
			assert.Equal(t, 1, o.tools.cluster.replicas)
			assert.True(t, o.tools.cluster.yes)
			assert.Empty(t, o.command)
		}},
		{name: "arguments after the options", args: "--cluster create --cluster-replicas 1 a:1 b:2 --cluster-yes", check: func(t *testing.T, o *options) {
			assert.Equal(t, []string{"a:1", "b:2"}, o.tools.clusterArgs)
		}},
		{name: "a second run of words is ignored, as by redis-cli", args: "--cluster call h:1 --cluster-only-masters info keyspace", check: func(t *testing.T, o *options) {
			assert.Equal(t, []string{"h:1"}, o.tools.clusterArgs)
			assert.True(t, o.tools.cluster.onlyMasters)
		}},
		{name: "call reads the command as arguments", args: "-a pw --cluster call h:1 get k", check: func(t *testing.T, o *options) {
			assert.Equal(t, []string{"h:1", "get", "k"}, o.tools.clusterArgs)
			assert.Equal(t, "pw", o.password)
		}},
		{name: "empty argument", args: "--cluster call h:1 echo _", check: func(t *testing.T, o *options) {
			assert.Equal(t, []string{"h:1", "echo", ""}, o.tools.clusterArgs)
		}},
		{name: "reshard options", args: "--cluster reshard h:1 --cluster-from a,b --cluster-to c --cluster-slots 12x --cluster-timeout 100 --cluster-pipeline 50 --cluster-replace", check: func(t *testing.T, o *options) {
			c := o.tools.cluster
			assert.Equal(t, "a,b", c.from)
			assert.Equal(t, "c", c.to)
			assert.Equal(t, 12, c.slots, "atoi, as redis-cli")
			assert.Equal(t, 100, c.timeout)
			assert.Equal(t, 50, c.pipeline)
			assert.True(t, c.replace)
		}},
		{name: "rebalance weights run up to the next option", args: "--cluster rebalance h:1 --cluster-weight ab=2 cd=0.5 --cluster-threshold 1.5 --cluster-simulate --cluster-use-empty-masters", check: func(t *testing.T, o *options) {
			c := o.tools.cluster
			assert.Equal(t, []string{"ab=2", "cd=0.5"}, c.weights)
			assert.Equal(t, 1.5, c.threshold)
			assert.True(t, c.thresholdSet)
			assert.True(t, c.simulate)
			assert.True(t, c.useEmptyMasters)
		}},
		{name: "weights twice", args: "--cluster rebalance h:1 --cluster-weight a=1 --cluster-weight b=2", err: "WARNING: you cannot use --cluster-weight more than once."},
		{name: "replica aliases", args: "--cluster add-node n:1 h:1 --cluster-replica --cluster-primary-id abc", check: func(t *testing.T, o *options) {
			assert.True(t, o.tools.cluster.slave)
			assert.Equal(t, "abc", o.tools.cluster.masterID)
		}},
		{name: "cluster option missing its value", args: "--cluster info h:1 --cluster-slots", err: "Unrecognized option or bad number of args for: '--cluster-slots'"},
		{name: "cluster without a subcommand shows the usage", args: "--cluster", err: "Usage: rcli [OPTIONS]"},
		{name: "cluster twice shows the usage", args: "--cluster info h:1 --cluster check", err: "Usage: rcli [OPTIONS]"},
		{name: "unknown option in cluster mode", args: "--cluster info h:1 --nope", err: "Unrecognized option or bad number of args for: '--nope'"},
		{name: "bigkeys", args: "--bigkeys -i 0.1 --pattern k*", check: func(t *testing.T, o *options) {
			assert.True(t, o.tools.bigkeys)
			assert.Equal(t, "k*", o.pattern)
			assert.Empty(t, o.unsupported)
		}},
		{name: "memkeys samples", args: "--memkeys-samples 5", check: func(t *testing.T, o *options) {
			assert.True(t, o.tools.memkeys)
			assert.Equal(t, 5, o.tools.memkeysSamples)
		}},
		{name: "hotkeys and stat", args: "--hotkeys --stat", check: func(t *testing.T, o *options) {
			assert.True(t, o.tools.hotkeys)
			assert.True(t, o.tools.stat)
		}},
		{name: "latency history", args: "--latency-history -i 2", check: func(t *testing.T, o *options) {
			assert.True(t, o.tools.latency)
			assert.True(t, o.tools.history)
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
			o, _, err := parseArgs(args)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			tt.check(t, o)
		})
	}
}

func TestClusterManagerWithoutServer(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantOut string
		wantErr string
	}{
		{name: "unknown subcommand", args: []string{"--cluster", "nope"}, wantErr: "Unknown --cluster subcommand\n"},
		{name: "wrong arity", args: []string{"--cluster", "del-node", "h:1"}, wantErr: "[ERR] Wrong number of arguments for specified --cluster sub command\n"},
		{name: "bad address", args: []string{"--cluster", "info", "nocolon"}, wantErr: "[ERR] Invalid arguments: you need to pass either a valid address (ie. 120.0.0.1:7000) or space separated IP and port (ie. 120.0.0.1 7000)\n"},
		{name: "not supported yet", args: []string{"--cluster", "backup", "h:1", "/tmp"}, wantErr: "rcli: --cluster backup is not supported yet\n"},
		{name: "connection refused", args: []string{"--cluster", "check", "127.0.0.1:1"}, wantErr: "Could not connect to Redis at 127.0.0.1:1: Connection refused\n"},
		{name: "help exits 1, as redis-cli's", args: []string{"--cluster", "help"}, wantOut: "Cluster Manager Commands:\n  create         host1:port1 ... hostN:portN\n                 --cluster-replicas <arg>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, out, errOut := testStreams("", nil)
			stdout, stderr, code := runInProcess(t, s, out, errOut, tt.args...)
			assert.Equal(t, 1, code)
			assert.Equal(t, tt.wantErr, stderr)
			assert.True(t, strings.HasPrefix(stdout, tt.wantOut), "stdout %q", stdout)
		})
	}
}
