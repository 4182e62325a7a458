package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/rcli-dev/rcli/internal/resp"
)

// CommandTable holds command metadata for routing. Entries are asked of the server one
// command at a time (COMMAND INFO name), the first time each is needed, and kept in
// memory and, when the table has a cache directory and knows the server version, on
// disk, so a one-shot command pays for the lookup at most once per server version.
// A CommandTable is safe for concurrent use.
type CommandTable struct {
	dir string

	mu      sync.Mutex
	version string
	specs   map[string]*CommandSpec // nil value: the server does not know the command
	loaded  bool                    // the disk cache for version has been read
}

// NewCommandTable returns an empty table that caches under dir ("" for memory only).
func NewCommandTable(dir string) *CommandTable {
	return &CommandTable{dir: dir, specs: map[string]*CommandSpec{}}
}

// SetServerVersion tells the table which server version it describes, which selects
// the disk cache file.
func (t *CommandTable) SetServerVersion(v string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if v == t.version {
		return
	}
	t.version = v
	t.loaded = false
}

// CacheableVersion reports whether a server version may name a cache file: 1 to 40
// letters, digits, dots, dashes or underscores (no path separators).
func CacheableVersion(v string) bool {
	if len(v) == 0 || len(v) > 40 {
		return false
	}
	for _, c := range v {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (t *CommandTable) pathLocked() string {
	if t.dir == "" || !CacheableVersion(t.version) {
		return ""
	}
	return filepath.Join(t.dir, "commands-"+t.version+".json")
}

func (t *CommandTable) loadLocked() {
	if t.loaded {
		return
	}
	t.loaded = true
	path := t.pathLocked()
	if path == "" {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var specs map[string]*CommandSpec
	if json.Unmarshal(data, &specs) != nil {
		return // a damaged cache is rebuilt from the server
	}
	for name, s := range specs {
		if _, ok := t.specs[name]; !ok {
			t.specs[name] = s
		}
	}
}

// saveLocked writes the cache atomically (temporary file, then rename).
func (t *CommandTable) saveLocked() {
	path := t.pathLocked()
	if path == "" {
		return
	}
	data, err := json.Marshal(t.specs)
	if err != nil {
		return
	}
	if os.MkdirAll(t.dir, 0o700) != nil {
		return
	}
	tmp, err := os.CreateTemp(t.dir, ".commands-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), path) != nil {
		os.Remove(tmp.Name())
	}
}

// Fetcher asks a server for COMMAND INFO of one command. It also returns the server's
// version when it learns it ("" otherwise), which selects the disk cache.
type Fetcher func(ctx context.Context, cmd resp.Command) (info resp.Value, version string, err error)

// Lookup returns the spec of a command, asking the server through fetch when the table
// does not know it yet. It returns nil, nil for a command the server does not know.
// When the server cannot answer COMMAND INFO, a small built-in table stands in.
func (t *CommandTable) Lookup(ctx context.Context, name string, fetch Fetcher) (*CommandSpec, error) {
	name = strings.ToLower(name)
	t.mu.Lock()
	t.loadLocked()
	s, ok := t.specs[name]
	t.mu.Unlock()
	if ok {
		return s, nil
	}
	v, version, err := fetch(ctx, resp.NewCommand("COMMAND", "INFO", name))
	if err != nil {
		return nil, fmt.Errorf("cluster: COMMAND INFO %s: %w", name, err)
	}
	if version != "" {
		t.SetServerVersion(version)
	}
	switch {
	case v.Kind == resp.Error:
		if b := builtinSpec(name); b != nil {
			return b, nil
		}
		return nil, fmt.Errorf("cluster: COMMAND INFO %s: %s", name, v.Str)
	case v.Kind != resp.Array || len(v.Elems) != 1:
		return nil, fmt.Errorf("cluster: COMMAND INFO %s: unexpected %s reply", name, v.Kind)
	case v.Elems[0].Kind == resp.Null:
		s = nil
	default:
		if s, err = ParseCommandInfo(v.Elems[0]); err != nil {
			return nil, err
		}
	}
	t.mu.Lock()
	t.loadLocked() // the version may be new: keep what the disk knows too
	t.specs[name] = s
	t.saveLocked()
	t.mu.Unlock()
	return s, nil
}

// builtinSpec knows the legacy key range of the most used commands, for servers that
// cannot answer COMMAND INFO (old versions, proxies, restrictive ACLs).
func builtinSpec(name string) *CommandSpec {
	b, ok := builtinKeys[name]
	if !ok {
		return nil
	}
	s := &CommandSpec{Name: name, FirstKey: b.first, LastKey: b.last, Step: b.step}
	if b.readOnly {
		s.Flags = []string{"readonly"}
	}
	return s
}

type legacyKeys struct {
	first, last, step int
	readOnly          bool
}

var builtinKeys = map[string]legacyKeys{
	"get": {1, 1, 1, true}, "set": {1, 1, 1, false}, "del": {1, -1, 1, false},
	"unlink": {1, -1, 1, false}, "exists": {1, -1, 1, true}, "touch": {1, -1, 1, true},
	"mget": {1, -1, 1, true}, "mset": {1, -1, 2, false}, "incr": {1, 1, 1, false},
	"incrby": {1, 1, 1, false}, "decr": {1, 1, 1, false}, "expire": {1, 1, 1, false},
	"ttl": {1, 1, 1, true}, "pttl": {1, 1, 1, true}, "type": {1, 1, 1, true},
	"strlen": {1, 1, 1, true}, "append": {1, 1, 1, false}, "getdel": {1, 1, 1, false},
	"hget": {1, 1, 1, true}, "hset": {1, 1, 1, false}, "hgetall": {1, 1, 1, true},
	"hdel": {1, 1, 1, false}, "hlen": {1, 1, 1, true}, "lpush": {1, 1, 1, false},
	"rpush": {1, 1, 1, false}, "lpop": {1, 1, 1, false}, "rpop": {1, 1, 1, false},
	"lrange": {1, 1, 1, true}, "llen": {1, 1, 1, true}, "sadd": {1, 1, 1, false},
	"srem": {1, 1, 1, false}, "smembers": {1, 1, 1, true}, "scard": {1, 1, 1, true},
	"zadd": {1, 1, 1, false}, "zrange": {1, 1, 1, true}, "zcard": {1, 1, 1, true},
	"zscore": {1, 1, 1, true}, "xadd": {1, 1, 1, false}, "xlen": {1, 1, 1, true},
}
