package format_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/format"
	"github.com/rcli-dev/rcli/internal/resp"
)

var (
	update  = flag.Bool("update", false, "rewrite rcli's own golden files (*.rcli.golden)")
	capture = flag.Bool("capture", false, "re-capture testdata/replies from redis-server and redis-cli's "+
		"output (*.golden) from redis-cli; needs both on PATH")
)

const (
	repliesDir = "../../testdata/replies"
	goldenDir  = "../../testdata/format"
)

// readReplies reads every value of a case's capture: push messages, then the reply.
func readReplies(t *testing.T, c goldenCase) []resp.Value {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repliesDir, c.name+".resp"))
	require.NoError(t, err, "missing capture; run go test ./internal/format -capture")
	return readAll(t, data)
}

func readAll(t *testing.T, data []byte) []resp.Value {
	t.Helper()
	r := resp.NewReader(bytes.NewReader(data), resp.ReaderOptions{})
	var vals []resp.Value
	for {
		v, err := r.ReadValue()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		vals = append(vals, v)
	}
	require.NotEmpty(t, vals)
	return vals
}

// render prints a case's values as redis-cli prints one command's output: push
// messages through the push handler, then the reply with the command's options.
func render(vals []resp.Value, cmd []string, o format.Options) []byte {
	var out []byte
	for i, v := range vals {
		if i < len(vals)-1 && v.Kind == resp.Push {
			out = format.AppendPush(out, v, o)
			continue
		}
		out = format.Append(out, v, o.ForCommand(byteArgs(cmd)))
	}
	return out
}

func byteArgs(cmd []string) [][]byte {
	out := make([][]byte, len(cmd))
	for i, a := range cmd {
		out[i] = []byte(a)
	}
	return out
}

// TestGolden prints every captured reply in every variant and compares the bytes with
// redis-cli's captured output, or with rcli's own golden file where the case lists a
// deviation from redis-cli or an rcli-only variant.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			vals := readReplies(t, c)
			for _, v := range cliVariants {
				t.Run(v.name, func(t *testing.T) {
					got := render(vals, c.cmd, v.opts)
					cliPath := filepath.Join(goldenDir, goldenName(c, v.name, false))
					reason, deviates := c.deviations[v.name]
					if !deviates {
						want, err := os.ReadFile(cliPath)
						require.NoError(t, err, "no redis-cli capture and no deviation listed")
						assert.Equal(t, string(want), string(got))
						return
					}
					require.NotEmpty(t, reason)
					checkOwnGolden(t, filepath.Join(goldenDir, goldenName(c, v.name, true)), got)
					if cli, err := os.ReadFile(cliPath); err == nil {
						assert.NotEqual(t, string(cli), string(got),
							"listed as a deviation (%s) but rcli prints what redis-cli prints", reason)
					}
				})
			}
			for _, name := range c.extra {
				t.Run(name, func(t *testing.T) {
					o, ok := rcliVariants[name]
					require.True(t, ok, "unknown variant")
					got := render(vals, c.cmd, o)
					checkOwnGolden(t, filepath.Join(goldenDir, goldenName(c, name, true)), got)
				})
			}
		})
	}
}

// checkOwnGolden compares got with an rcli golden file, or rewrites it under -update.
func checkOwnGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./internal/format -update")
	assert.Equal(t, string(want), string(got))
}

// TestGoldenFilesAreUsed fails on files in testdata that no case reads, such as the
// golden file of a deviation that was fixed or of a case that was renamed.
func TestGoldenFilesAreUsed(t *testing.T) {
	want := map[string]bool{}
	for _, c := range goldenCases {
		want[filepath.Join(repliesDir, c.name+".resp")] = true
		for _, v := range cliVariants {
			want[filepath.Join(goldenDir, goldenName(c, v.name, false))] = true
			if _, ok := c.deviations[v.name]; ok {
				want[filepath.Join(goldenDir, goldenName(c, v.name, true))] = true
			}
		}
		for _, name := range c.extra {
			want[filepath.Join(goldenDir, goldenName(c, name, true))] = true
		}
	}
	for _, dir := range []string{repliesDir, goldenDir} {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			assert.True(t, want[path], "%s is not used by any case", path)
		}
	}
}

// TestDeviationsNameKnownVariants keeps the case table honest.
func TestDeviationsNameKnownVariants(t *testing.T) {
	names := make([]string, 0, len(cliVariants))
	for _, v := range cliVariants {
		names = append(names, v.name)
	}
	seen := map[string]bool{}
	for _, c := range goldenCases {
		assert.False(t, seen[c.name], "duplicate case %s", c.name)
		seen[c.name] = true
		assert.Contains(t, []int{2, 3}, c.proto, c.name)
		for v := range c.deviations {
			assert.True(t, slices.Contains(names, v), "%s: unknown variant %q", c.name, v)
		}
		for _, v := range c.extra {
			assert.Contains(t, rcliVariants, v, c.name)
		}
		assert.False(t, strings.ContainsAny(c.name, " /."), c.name)
	}
}
