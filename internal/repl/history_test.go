package repl

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSensitive(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		{"AUTH pw", true},
		{"auth user pw", true},
		{"3 AUTH pw", true},
		{`AUTH "unbalanced`, true},
		{"HELLO 3 AUTH default pw", true},
		{"hello 3 setname x auth u p", true},
		{"HELLO 3", false},
		{"ACL SETUSER bob on >pw", true},
		{"acl getuser bob", true},
		{"ACL DELUSER bob", true},
		{"ACL LIST", false},
		{"CONFIG SET requirepass pw", true},
		{"config set maxmemory 1mb masterauth pw", true},
		{"CONFIG SET masteruser u", true},
		{"CONFIG SET tls-key-file-pass pw", true},
		{"CONFIG SET tls-client-key-file-pass pw", true},
		{"CONFIG SET maxmemory 1mb", false},
		{"CONFIG GET requirepass", false},
		{"MIGRATE h 6379 k 0 1000 AUTH pw", true},
		{"MIGRATE h 6379 \"\" 0 1000 AUTH2 u pw KEYS a b", true},
		{"MIGRATE h 6379 k 0 1000", false},
		{"SENTINEL SET mymaster auth-pass pw", true},
		{"SENTINEL CONFIG SET sentinel-pass pw", true},
		{"SENTINEL SET mymaster quorum 2", false},
		{"GET auth", false},
		{"SET password x", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			assert.Equal(t, tt.want, Sensitive(tt.line))
		})
	}
}

func TestHistoryPath(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	assert.Equal(t, "/home/u/.rcli_history", HistoryPath(env(map[string]string{"HOME": "/home/u"})))
	assert.Equal(t, "/tmp/r", HistoryPath(env(map[string]string{"HOME": "/home/u", "REDISCLI_HISTFILE": "/tmp/r"})))
	assert.Equal(t, "/tmp/mine", HistoryPath(env(map[string]string{"RCLI_HISTFILE": "/tmp/mine", "REDISCLI_HISTFILE": "/tmp/r"})))
	assert.Empty(t, HistoryPath(env(map[string]string{"HOME": "/home/u", "RCLI_HISTFILE": "/dev/null"})))
	assert.Empty(t, HistoryPath(env(map[string]string{"REDISCLI_HISTFILE": "/dev/null"})))
	assert.Empty(t, HistoryPath(env(nil)))
}

func TestHistoryFile(t *testing.T) {
	t.Run("written whole with mode 0600 whatever the umask", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "h")
		require.NoError(t, os.WriteFile(path, []byte("old 1\n\nold 2\n"), 0o644))
		h, err := OpenHistory(path)
		require.NoError(t, err)
		assert.Equal(t, []string{"old 1", "old 2"}, h.Lines())
		require.NoError(t, h.Add("new"))
		require.NoError(t, h.Add("new"))
		require.NoError(t, h.Add("  "))
		require.NoError(t, h.Add("AUTH x"))
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, "old 1\nold 2\nnew\n", string(data))
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	})
	t.Run("a symbolic link is followed", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "target")
		link := filepath.Join(dir, "link")
		require.NoError(t, os.Symlink(target, link))
		h, err := OpenHistory(link)
		require.NoError(t, err)
		require.NoError(t, h.Add("PING"))
		data, err := os.ReadFile(target)
		require.NoError(t, err)
		assert.Equal(t, "PING\n", string(data))
		fi, err := os.Lstat(link)
		require.NoError(t, err)
		assert.Equal(t, os.ModeSymlink, fi.Mode()&os.ModeSymlink)
	})
	t.Run("kept to the limit", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "h")
		h, err := OpenHistory(path)
		require.NoError(t, err)
		for i := 0; i < HistoryLimit+5; i++ {
			require.NoError(t, h.Add(fmt.Sprintf("ECHO %d", i)))
		}
		assert.Len(t, h.Lines(), HistoryLimit)
		assert.Equal(t, "ECHO 5", h.Lines()[0])
	})
	t.Run("in memory without a path", func(t *testing.T) {
		h, err := OpenHistory("")
		require.NoError(t, err)
		require.NoError(t, h.Add("PING"))
		assert.Equal(t, []string{"PING"}, h.Lines())
	})
	t.Run("an unwritable directory is an error", func(t *testing.T) {
		h, err := OpenHistory(filepath.Join(t.TempDir(), "missing", "h"))
		require.NoError(t, err)
		assert.ErrorContains(t, h.Add("PING"), "repl: write history")
	})
}
