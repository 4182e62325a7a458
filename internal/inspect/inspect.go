package inspect

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/pool"
	"github.com/rcli-dev/rcli/internal/topology"
)

// PoolRow is one node's pool statistics, with the latency a probe measured through it.
type PoolRow struct {
	Addr   string
	Role   string // "master", "replica" or "standalone"
	Stats  pool.Stats
	Probes int           // commands the probe sent through this pool (0: no probe)
	P50    time.Duration // probe latency percentiles
	P99    time.Duration
	Errors int // probe commands that failed
}

// PoolStats writes one row per node: address, role, connections (total, idle, in use),
// checkouts served from idle (hits) and by dialing (misses), waits with their mean and
// longest, timeouts, dial errors, connections closed, and the probe's p50/p99.
func PoolStats(w io.Writer, rows []PoolRow, asJSON bool) error {
	if asJSON {
		out := make([]poolJSON, len(rows))
		for i, r := range rows {
			out[i] = poolJSON{
				Addr: r.Addr, Role: r.Role, Total: r.Stats.Total, Idle: r.Stats.Idle, InUse: r.Stats.InUse,
				Hits: r.Stats.Hits, Misses: r.Stats.Misses, Waits: r.Stats.Waits,
				WaitMeanMS: ms(meanWait(r.Stats)), WaitMaxMS: ms(r.Stats.MaxWait), Timeouts: r.Stats.Timeouts,
				DialErrors: r.Stats.DialErrors, ClosedStale: r.Stats.ClosedStale, ClosedBroken: r.Stats.ClosedBroken,
			}
			if r.Probes > 0 {
				out[i].Probe = &probeJSON{Count: r.Probes, Errors: r.Errors, P50MS: ms(r.P50), P99MS: ms(r.P99)}
			}
		}
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "NODE\tROLE\tTOTAL\tIDLE\tIN USE\tHITS\tMISSES\tWAITS\tMEAN WAIT\tMAX WAIT\tTIMEOUTS\tDIAL ERR\tCLOSED\tP50\tP99\t")
	for _, r := range rows {
		p50, p99 := "-", "-"
		if r.Probes > 0 {
			p50, p99 = dur(r.P50), dur(r.P99)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t\n",
			r.Addr, r.Role, r.Stats.Total, r.Stats.Idle, r.Stats.InUse, r.Stats.Hits, r.Stats.Misses,
			r.Stats.Waits, dur(meanWait(r.Stats)), dur(r.Stats.MaxWait), r.Stats.Timeouts,
			r.Stats.DialErrors, r.Stats.ClosedStale+r.Stats.ClosedBroken, p50, p99)
	}
	return tw.Flush()
}

type poolJSON struct {
	Addr         string     `json:"addr"`
	Role         string     `json:"role"`
	Total        int        `json:"total"`
	Idle         int        `json:"idle"`
	InUse        int        `json:"in_use"`
	Hits         uint64     `json:"hits"`
	Misses       uint64     `json:"misses"`
	Waits        uint64     `json:"waits"`
	WaitMeanMS   float64    `json:"wait_mean_ms"`
	WaitMaxMS    float64    `json:"wait_max_ms"`
	Timeouts     uint64     `json:"timeouts"`
	DialErrors   uint64     `json:"dial_errors"`
	ClosedStale  uint64     `json:"closed_stale"`
	ClosedBroken uint64     `json:"closed_broken"`
	Probe        *probeJSON `json:"probe,omitempty"`
}

type probeJSON struct {
	Count  int     `json:"count"`
	Errors int     `json:"errors"`
	P50MS  float64 `json:"p50_ms"`
	P99MS  float64 `json:"p99_ms"`
}

func meanWait(s pool.Stats) time.Duration {
	if s.Waits == 0 {
		return 0
	}
	return s.WaitTime / time.Duration(s.Waits)
}

// Percentiles returns the 50th and 99th percentiles of a set of latencies (sorting it).
func Percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return at(0.50), at(0.99)
}

// Topology writes the cluster's shape: every shard's master and replicas with their
// IDs, addresses, health, link state and config epoch, the slots each master serves,
// open (migrating or importing) slots, and every disagreement between nodes.
func Topology(w io.Writer, t *topology.Topology, asJSON bool) error {
	if asJSON {
		return writeJSON(w, topologyJSONOf(t))
	}
	covered := 0
	for _, o := range t.Owner {
		if o >= 0 {
			covered++
		}
	}
	fmt.Fprintf(w, "%d nodes, %d shards, %d of %d slots covered\n", len(t.Nodes), len(t.Shards), covered, topology.SlotCount)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tID\tADDRESS\tHEALTH\tLINK\tEPOCH\tSLOTS")
	inShard := map[string]bool{}
	for _, s := range t.Shards {
		writeNode(tw, "master", s.Master, slotText(s.Master))
		inShard[s.Master.ID] = true
		for _, r := range s.Replicas {
			writeNode(tw, "  replica", r, "")
			inShard[r.ID] = true
		}
	}
	for _, n := range t.Nodes {
		if !inShard[n.ID] {
			role := "master"
			if n.IsReplica() {
				role = "replica"
			}
			writeNode(tw, role+" (no slots)", n, "")
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, issue := range t.Issues {
		fmt.Fprintf(w, "warning: %s\n", issue)
	}
	return nil
}

func writeNode(w io.Writer, role string, n topology.NodeInfo, slots string) {
	flags := ""
	for _, f := range n.Flags {
		if f != "master" && f != "slave" && f != "myself" {
			flags += " " + f
		}
	}
	health := n.Health
	if health == "" {
		health = "-"
	}
	addr := n.Addr
	if addr == "" {
		addr = "(no address)"
	}
	fmt.Fprintf(w, "%s%s\t%s\t%s\t%s\t%s\t%d\t%s\n", role, flags, short(n.ID), addr, health, n.LinkState, n.ConfigEpoch, slots)
}

func slotText(n topology.NodeInfo) string {
	parts := make([]string, len(n.Slots))
	for i, r := range n.Slots {
		parts[i] = r.String()
	}
	return fmt.Sprintf("%s (%d)", strings.Join(parts, ","), n.SlotCount())
}

type nodeJSON struct {
	ID          string         `json:"id"`
	Addr        string         `json:"addr"`
	Role        string         `json:"role"`
	MasterID    string         `json:"master_id,omitempty"`
	Flags       []string       `json:"flags"`
	Health      string         `json:"health,omitempty"`
	LinkState   string         `json:"link_state"`
	ConfigEpoch int64          `json:"config_epoch"`
	Slots       []string       `json:"slots"`
	Migrating   map[int]string `json:"migrating,omitempty"`
	Importing   map[int]string `json:"importing,omitempty"`
}

type topologyJSON struct {
	Nodes   []nodeJSON  `json:"nodes"`
	Shards  []shardJSON `json:"shards"`
	Covered bool        `json:"all_slots_covered"`
	Issues  []string    `json:"issues"`
}

type shardJSON struct {
	Master   string   `json:"master"`
	Replicas []string `json:"replicas"`
	Slots    []string `json:"slots"`
}

func topologyJSONOf(t *topology.Topology) topologyJSON {
	out := topologyJSON{Nodes: []nodeJSON{}, Shards: []shardJSON{}, Covered: t.Covered(), Issues: t.Issues}
	if out.Issues == nil {
		out.Issues = []string{}
	}
	ranges := func(n topology.NodeInfo) []string {
		s := make([]string, len(n.Slots))
		for i, r := range n.Slots {
			s[i] = r.String()
		}
		return s
	}
	for _, n := range t.Nodes {
		role := "master"
		if n.IsReplica() {
			role = "replica"
		}
		out.Nodes = append(out.Nodes, nodeJSON{
			ID: n.ID, Addr: n.Addr, Role: role, MasterID: n.MasterID, Flags: n.Flags, Health: n.Health,
			LinkState: n.LinkState, ConfigEpoch: n.ConfigEpoch, Slots: ranges(n),
			Migrating: n.Migrating, Importing: n.Importing,
		})
	}
	for _, s := range t.Shards {
		sj := shardJSON{Master: s.Master.Addr, Replicas: []string{}, Slots: ranges(s.Master)}
		for _, r := range s.Replicas {
			sj.Replicas = append(sj.Replicas, r.Addr)
		}
		out.Shards = append(out.Shards, sj)
	}
	return out
}

// Changes writes what a topology refresh changed, one line each, or that nothing did.
func Changes(w io.Writer, changes []string, asJSON bool) error {
	if asJSON {
		if changes == nil {
			changes = []string{}
		}
		return writeJSON(w, map[string][]string{"changes": changes})
	}
	if len(changes) == 0 {
		_, err := fmt.Fprintln(w, "no change")
		return err
	}
	for _, c := range changes {
		if _, err := fmt.Fprintln(w, c); err != nil {
			return err
		}
	}
	return nil
}

// Route writes how a key is routed: its slot, its hash tag, the slot's master and
// replicas, and where a read-only command on it would go.
func Route(w io.Writer, r cluster.Route, asJSON bool) error {
	if asJSON {
		replicas := r.Replicas
		if replicas == nil {
			replicas = []string{}
		}
		return writeJSON(w, map[string]any{
			"key": r.Key, "slot": r.Slot, "hash_tag": r.HashTag, "master": r.Master,
			"replicas": replicas, "reads_go_to": r.ReadAddr,
		})
	}
	tag := r.HashTag
	if tag == "" {
		tag = "(none: the whole key is hashed)"
	} else {
		tag = fmt.Sprintf("%q", tag)
	}
	master, reads := r.Master, r.ReadAddr
	if master == "" {
		master, reads = "(unknown)", "(unknown)"
	}
	replicas := strings.Join(r.Replicas, ", ")
	if replicas == "" {
		replicas = "(none)"
	}
	_, err := fmt.Fprintf(w, "key:      %q\nslot:     %d\nhash tag: %s\nmaster:   %s\nreplicas: %s\nreads:    %s\n",
		r.Key, r.Slot, tag, master, replicas, reads)
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	return enc.Encode(v)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func dur(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000)
	}
	return d.Round(time.Millisecond).String()
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
