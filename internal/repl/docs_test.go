package repl

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/redistest"
	"github.com/rcli-dev/rcli/internal/resp"
)

var update = flag.Bool("update", false, "regenerate fallback_docs.resp.gz from the redis-server on $PATH")

func TestFallbackDocs(t *testing.T) {
	if *update {
		srv := redistest.StartServer(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		v, err := srv.Do(ctx, "COMMAND", "DOCS")
		require.NoError(t, err)
		require.NotEqual(t, resp.Error, v.Kind)
		var b bytes.Buffer
		zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
		require.NoError(t, err)
		_, err = zw.Write(resp.AppendValue(nil, v))
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		require.NoError(t, os.WriteFile("fallback_docs.resp.gz", b.Bytes(), 0o644))
		fallbackDocs = b.Bytes()
	}
	d, err := FallbackDocs()
	require.NoError(t, err)
	assert.Greater(t, len(d.Commands), 200)
	set := d.Lookup([]string{"set"})
	require.NotNil(t, set)
	assert.Equal(t, "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]", set.Params)
	assert.Equal(t, "string", set.Group)
	assert.Contains(t, d.Groups, "sorted-set")
}

// fakeServer answers HELLO with a version, and COMMAND DOCS with the built-in docs or
// an error, counting the COMMAND DOCS it was asked.
type fakeServer struct {
	version   string
	refuse    bool
	docsCalls int
}

func (f *fakeServer) fetch(_ context.Context, cmd resp.Command) (resp.Value, error) {
	switch {
	case cmd.Is("hello") && f.version == "":
		return resp.ErrorValue("ERR unknown command 'HELLO'"), nil
	case cmd.Is("hello"):
		return resp.ArrayValue(resp.StringValue("server"), resp.StringValue("redis"), resp.StringValue("version"), resp.StringValue(f.version)), nil
	case cmd.Is("info"):
		return resp.StringValue("# Server\r\nredis_version:5.0.14\r\n"), nil
	case cmd.Is("command"):
		f.docsCalls++
		if f.refuse {
			return resp.ErrorValue("NOPERM this user has no permissions to run the 'command|docs' command"), nil
		}
		data, err := gunzip(fallbackDocs)
		if err != nil {
			return resp.Value{}, err
		}
		return resp.NewReader(bytes.NewReader(data), resp.ReaderOptions{}).ReadValue()
	}
	return resp.ErrorValue("ERR unexpected"), nil
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func TestLoadDocs(t *testing.T) {
	ctx := context.Background()
	t.Run("cached on disk per server version", func(t *testing.T) {
		dir := t.TempDir()
		f := &fakeServer{version: "7.0.15"}
		d, version, err := LoadDocs(ctx, f.fetch, dir)
		require.NoError(t, err)
		assert.Equal(t, "7.0.15", version)
		assert.NotNil(t, d.Lookup([]string{"get"}))
		assert.FileExists(t, filepath.Join(dir, "docs-7.0.15.resp"))
		d, _, err = LoadDocs(ctx, f.fetch, dir)
		require.NoError(t, err)
		assert.NotNil(t, d.Lookup([]string{"get"}))
		assert.Equal(t, 1, f.docsCalls, "the second load reads the cache")
		f.version = "7.2.4"
		_, _, err = LoadDocs(ctx, f.fetch, dir)
		require.NoError(t, err)
		assert.Equal(t, 2, f.docsCalls, "another version, another cache file")
	})
	t.Run("a damaged cache is fetched again", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "docs-7.0.15.resp"), []byte("garbage"), 0o600))
		f := &fakeServer{version: "7.0.15"}
		_, _, err := LoadDocs(ctx, f.fetch, dir)
		require.NoError(t, err)
		assert.Equal(t, 1, f.docsCalls)
	})
	t.Run("refused COMMAND DOCS is an error with the version", func(t *testing.T) {
		f := &fakeServer{version: "7.0.15", refuse: true}
		_, version, err := LoadDocs(ctx, f.fetch, "")
		assert.ErrorContains(t, err, "NOPERM")
		assert.Equal(t, "7.0.15", version)
	})
	t.Run("version from INFO before Redis 6", func(t *testing.T) {
		f := &fakeServer{refuse: true}
		_, version, err := LoadDocs(ctx, f.fetch, "")
		assert.Error(t, err)
		assert.Equal(t, "5.0.14", version)
	})
}

func TestSinceVersion(t *testing.T) {
	d := fallback(t)
	old := d.SinceVersion("6.0.0")
	assert.Nil(t, old.Lookup([]string{"getdel"}), "GETDEL came in 6.2.0")
	assert.NotNil(t, old.Lookup([]string{"get"}))
	assert.Same(t, d, d.SinceVersion("unknown"))
}

func TestWriteHelp(t *testing.T) {
	d := fallback(t)
	var b bytes.Buffer
	require.NoError(t, WriteHelp(&b, d, words("GET"), true))
	assert.Equal(t, "\n  \x1b[1mGET\x1b[0m \x1b[90mkey\x1b[0m\n  \x1b[33msummary:\x1b[0m Get the value of a key\n  \x1b[33msince:\x1b[0m 1.0.0\n  \x1b[33mgroup:\x1b[0m string\n\n", b.String())
	b.Reset()
	require.NoError(t, WriteHelp(&b, d, words("@hyperloglog"), false))
	assert.Contains(t, b.String(), "\n  PFADD key [element [element ...]]\n  summary: Adds the specified elements to the specified HyperLogLog.\n  since: 2.8.9\n")
	assert.NotContains(t, b.String(), "group:")
	b.Reset()
	require.NoError(t, WriteGenericHelp(&b, "1.2.3", false))
	assert.Equal(t, "rcli 1.2.3 (redis-cli 7.0 compatible)\nTo get help about Redis commands type:\n      \"help @<group>\" to get a list of commands in <group>\n      \"help <command>\" for help on <command>\n      \"quit\" to exit\n", b.String())
	assert.Equal(t, []string{"COMMAND", "DOCS", "client"}, argStrings(HelpQuery(words("client", "list")).Args))
	assert.Equal(t, []string{"COMMAND", "DOCS"}, argStrings(HelpQuery(words("@string")).Args))
}

func argStrings(args [][]byte) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = string(a)
	}
	return out
}
