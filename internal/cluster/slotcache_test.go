package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/pool"
)

func TestSlotCacheOneShot(t *testing.T) {
	c := sharedCluster(t)
	dir := t.TempDir()
	seed := c.Masters()[0].Addr
	// A key that the seed does not own, so that without a map it is redirected.
	var key string
	for i := 0; ; i++ {
		key = t.Name() + strings.Repeat("x", i)
		if owner, err := c.SlotOwner(testCtx(t, 5*time.Second), SlotString(key)); err == nil && owner.Addr != seed {
			break
		}
	}
	oneShot := func() (Result, Stats) {
		cl, err := New(Options{Seeds: []string{seed}, Cluster: true, SlotCacheDir: dir,
			Commands: NewCommandTable(dir),
			Pool:     pool.Options{ReadTimeout: 2 * time.Second}})
		require.NoError(t, err)
		r := cl.Exec(testCtx(t, 10*time.Second), cmd("SET", key, "v"))
		st := cl.Stats()
		require.NoError(t, cl.Close())
		require.NoError(t, r.Err)
		return r, st
	}

	_, st := oneShot()
	assert.Equal(t, uint64(1), st.Moved, "no cache yet: redirected once")
	files, err := filepath.Glob(filepath.Join(dir, "slots-*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1, "Close wrote the cache")

	infoCalls := func() string {
		v, err := c.Masters()[0].Do(testCtx(t, 5*time.Second), "INFO", "commandstats")
		require.NoError(t, err)
		for _, line := range strings.Split(v.Text(), "\n") {
			if strings.HasPrefix(line, "cmdstat_command|info:") {
				return strings.Split(line, ",")[0]
			}
		}
		return ""
	}
	before := infoCalls()
	r, st := oneShot()
	assert.Zero(t, st.Moved, "with the cache the command goes straight to its owner")
	assert.NotEqual(t, seed, r.Addr)
	assert.Equal(t, before, infoCalls(), "command metadata came from the disk cache")

	// A cache saved for another cluster at this address is not trusted.
	data, err := os.ReadFile(files[0])
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(files[0], []byte(strings.Replace(string(data), `"seed_id":"`, `"seed_id":"0`, 1)), 0o600))
	_, st = oneShot()
	assert.Equal(t, uint64(1), st.Moved, "a cache whose seed ID does not match is ignored")
	_, st = oneShot()
	assert.Zero(t, st.Moved, "and rewritten")
}
