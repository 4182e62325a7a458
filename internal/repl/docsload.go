package repl

import (
	"bytes"
	"compress/gzip"
	"context"
	_ "embed" // the fallback command docs
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/resp"
)

// fallbackDocs is the COMMAND DOCS reply of Redis 7.0.15, RESP3-encoded and
// gzipped: the docs used until the server's own have been fetched, and instead of
// them when the server cannot give them (Redis before 7.0, an ACL that forbids
// COMMAND, no connection). TestFallbackDocs -update regenerates it.
//
//go:embed fallback_docs.resp.gz
var fallbackDocs []byte

// FallbackDocs returns the docs built into rcli: Redis 7.0's commands.
func FallbackDocs() (*Docs, error) {
	zr, err := gzip.NewReader(bytes.NewReader(fallbackDocs))
	if err != nil {
		return nil, fmt.Errorf("repl: built-in command docs: %w", err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("repl: built-in command docs: %w", err)
	}
	v, err := resp.NewReader(bytes.NewReader(data), resp.ReaderOptions{}).ReadValue()
	if err != nil {
		return nil, fmt.Errorf("repl: built-in command docs: %w", err)
	}
	return ParseDocs(v), nil
}

// Fetch sends one command to a server and returns its reply; a server error reply is
// a value, not an error.
type Fetch func(ctx context.Context, cmd resp.Command) (resp.Value, error)

// LoadDocs returns the server's command docs: from the disk cache under dir when a
// file for the server's version is there, else from COMMAND DOCS, which is then
// cached (dir "" caches nothing). It also returns the server's version ("" when the
// server does not say). A server that refuses COMMAND DOCS is an error: the caller
// falls back to FallbackDocs.
func LoadDocs(ctx context.Context, fetch Fetch, dir string) (*Docs, string, error) {
	version, err := serverVersion(ctx, fetch)
	if err != nil {
		return nil, "", err
	}
	path := ""
	if dir != "" && cluster.CacheableVersion(version) {
		path = filepath.Join(dir, "docs-"+version+".resp")
		if data, err := os.ReadFile(path); err == nil {
			if v, err := resp.NewReader(bytes.NewReader(data), resp.ReaderOptions{}).ReadValue(); err == nil {
				if d := ParseDocs(v); len(d.Commands) > 0 {
					return d, version, nil
				}
			}
			// A damaged cache file is replaced below.
		}
	}
	v, err := fetch(ctx, resp.NewCommand("COMMAND", "DOCS"))
	if err != nil {
		return nil, version, fmt.Errorf("repl: COMMAND DOCS: %w", err)
	}
	if v.Kind == resp.Error {
		return nil, version, fmt.Errorf("repl: COMMAND DOCS: %w", v.Err())
	}
	d := ParseDocs(v)
	if len(d.Commands) == 0 {
		return nil, version, errors.New("repl: COMMAND DOCS: empty reply")
	}
	if path != "" {
		writeCache(dir, path, resp.AppendValue(nil, v))
	}
	return d, version, nil
}

// serverVersion asks the server its version: HELLO without arguments (which changes
// nothing on the connection), else INFO server for servers before 6.0.
func serverVersion(ctx context.Context, fetch Fetch) (string, error) {
	v, err := fetch(ctx, resp.NewCommand("HELLO"))
	if err != nil {
		return "", fmt.Errorf("repl: HELLO: %w", err)
	}
	kv := pairs(v)
	for i := 0; i+1 < len(kv); i += 2 {
		if string(kv[i].Str) == "version" {
			return kv[i+1].Text(), nil
		}
	}
	v, err = fetch(ctx, resp.NewCommand("INFO", "server"))
	if err != nil {
		return "", fmt.Errorf("repl: INFO server: %w", err)
	}
	for _, line := range strings.Split(v.Text(), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return rest, nil
		}
	}
	return "", nil
}

// writeCache writes a cache file atomically (a temporary file, then a rename); a
// failure only means the next run fetches again.
func writeCache(dir, path string, data []byte) {
	if os.MkdirAll(dir, 0o700) != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".docs-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), path) != nil {
		_ = os.Remove(tmp.Name())
	}
}

// SinceVersion returns the docs without the commands added after version (a server
// version such as "6.2.14"), for a server older than the docs. An unreadable version
// keeps everything.
func (d *Docs) SinceVersion(version string) *Docs {
	v, ok := parseVersion(version)
	if !ok {
		return d
	}
	out := &Docs{}
	for _, c := range d.Commands {
		if since, ok := parseVersion(c.Since); ok && versionLess(v, since) {
			continue
		}
		out.Commands = append(out.Commands, c)
	}
	out.index()
	return out
}

// parseVersion reads "major.minor.patch".
func parseVersion(s string) ([3]int, bool) {
	var v [3]int
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

func versionLess(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
