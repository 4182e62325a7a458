package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rcli-dev/rcli/internal/resp"
	"github.com/rcli-dev/rcli/internal/topology"
)

// slotCache keeps a cluster's slot map on disk between one-shot runs, so that
// `rcli -c GET k` goes straight to the node that owns k. The file is named after the
// seed address and holds the seed's node ID: before the map is used, CLUSTER MYID on
// the seed must still return that ID.
type slotCache struct {
	mu      sync.Mutex // held while the cache is read, so the first commands wait for it
	path    string
	tried   bool // the file has been read (or found missing) in this run
	dirty   bool // the map on disk is missing or stale: rewrite it on Close
	applied bool // the cached map is in use
}

type slotCacheFile struct {
	SeedID string    `json:"seed_id"`
	Nodes  string    `json:"cluster_nodes"` // a CLUSTER NODES reply from the seed
	Saved  time.Time `json:"saved"`
}

func newSlotCache(dir, seed string) *slotCache {
	if dir == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(seed))
	return &slotCache{path: filepath.Join(dir, "slots-"+hex.EncodeToString(sum[:8])+".json")}
}

var clusterMyIDCmd = resp.NewCommand("CLUSTER", "MYID")

// useSlotCache installs the cached slot map if the seed still has the ID it had when
// the map was saved. It costs one round trip (CLUSTER MYID) and runs at most once.
func (c *Client) useSlotCache(ctx context.Context) {
	sc := c.slotCache
	if sc == nil {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.tried || c.Topology() != nil {
		return
	}
	sc.tried = true
	sc.dirty = true
	data, err := os.ReadFile(sc.path)
	if err != nil {
		return
	}
	var f slotCacheFile
	if json.Unmarshal(data, &f) != nil || f.SeedID == "" {
		return
	}
	// One round trip: the seed's ID, and its version for the command table's cache.
	br := c.seed.doBatch(ctx, []resp.Command{clusterMyIDCmd, helloCmd}, nil)
	if br.Err != nil {
		return
	}
	if version := helloVersion(br.Values[1]); version != "" {
		c.opts.Commands.SetServerVersion(version)
	}
	if v := br.Values[0]; v.Kind == resp.Error || v.Text() != f.SeedID {
		return // another cluster now answers at this address
	}
	nodes, err := topology.ParseNodes(f.Nodes, c.seed.addr)
	if err != nil {
		return
	}
	topo := topology.Build(nodes, "cache")
	if !topo.Covered() {
		return
	}
	c.apply(topo)
	sc.applied = true
	sc.dirty = false
}

// saveSlotCache rewrites the cached map from the seed's CLUSTER NODES when it is
// missing or proved stale by a MOVED. It is called by Close and costs one round trip
// on a connection that is already open.
func (c *Client) saveSlotCache() {
	sc := c.slotCache
	if sc == nil {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if !sc.tried || (!sc.dirty && c.stats.moved.Load() == 0) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	v, _, err := c.seed.do(ctx, clusterNodesCmd, false)
	if err != nil || v.Kind == resp.Error {
		return
	}
	nodes, err := topology.ParseNodes(v.Text(), c.seed.addr)
	if err != nil {
		return
	}
	f := slotCacheFile{Nodes: v.Text(), Saved: time.Now().UTC()}
	for _, n := range nodes {
		if n.Myself() {
			f.SeedID = n.ID
		}
	}
	data, err := json.Marshal(f)
	if err != nil || f.SeedID == "" {
		return
	}
	dir := filepath.Dir(sc.path)
	if os.MkdirAll(dir, 0o700) != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".slots-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), sc.path) != nil {
		os.Remove(tmp.Name())
	}
}

// CachedTopology returns the slot map cached on disk for this seed, unverified, or nil
// when there is none (or the client keeps no cache).
func (c *Client) CachedTopology() *topology.Topology {
	sc := c.slotCache
	if sc == nil {
		return nil
	}
	data, err := os.ReadFile(sc.path)
	if err != nil {
		return nil
	}
	var f slotCacheFile
	if json.Unmarshal(data, &f) != nil {
		return nil
	}
	nodes, err := topology.ParseNodes(f.Nodes, c.seed.addr)
	if err != nil {
		return nil
	}
	return topology.Build(nodes, "cache")
}

// SaveSlotCache rewrites the slot map cached on disk from the seed's view now.
func (c *Client) SaveSlotCache() {
	if sc := c.slotCache; sc != nil {
		sc.mu.Lock()
		sc.tried, sc.dirty = true, true
		sc.mu.Unlock()
		c.saveSlotCache()
	}
}
