package topology

import (
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rcli-dev/rcli/internal/resp"
)

// SlotCount is the number of hash slots in a Redis Cluster.
const SlotCount = 16384

// SlotRange is an inclusive range of hash slots.
type SlotRange struct {
	Start, End int
}

// String renders the range as redis-cli does: "0-5460", or "42" for a single slot.
func (r SlotRange) String() string {
	if r.Start == r.End {
		return strconv.Itoa(r.Start)
	}
	return strconv.Itoa(r.Start) + "-" + strconv.Itoa(r.End)
}

// NodeInfo is one node as a CLUSTER NODES line describes it.
type NodeInfo struct {
	ID          string
	Addr        string // host:port for clients; "" when the node has no address yet
	BusPort     int
	Hostname    string
	Flags       []string // myself, master, slave, fail?, fail, handshake, noaddr, nofailover
	MasterID    string   // for a replica, its master's ID
	PingSent    int64
	PongRecv    int64
	ConfigEpoch int64
	LinkState   string // "connected" or "disconnected"
	Slots       []SlotRange
	Migrating   map[int]string // slot → ID of the node it is migrating to (on the source's own line)
	Importing   map[int]string // slot → ID of the node it is importing from (on the target's own line)
	Health      string         // "online", "failed" or "loading" from CLUSTER SHARDS; "" if unknown
}

// HasFlag reports whether the node carries the given flag.
func (n NodeInfo) HasFlag(flag string) bool { return slices.Contains(n.Flags, flag) }

// IsMaster reports whether the node is a master.
func (n NodeInfo) IsMaster() bool { return n.HasFlag("master") }

// IsReplica reports whether the node is a replica.
func (n NodeInfo) IsReplica() bool { return n.HasFlag("slave") }

// Failing reports whether the node is flagged as failing or possibly failing.
func (n NodeInfo) Failing() bool { return n.HasFlag("fail") || n.HasFlag("fail?") }

// Myself reports whether this line describes the node that was asked.
func (n NodeInfo) Myself() bool { return n.HasFlag("myself") }

// Owns reports whether the node serves slot.
func (n NodeInfo) Owns(slot int) bool {
	for _, r := range n.Slots {
		if slot >= r.Start && slot <= r.End {
			return true
		}
	}
	return false
}

// SlotCount returns how many slots the node serves.
func (n NodeInfo) SlotCount() int {
	total := 0
	for _, r := range n.Slots {
		total += r.End - r.Start + 1
	}
	return total
}

// ParseNodes parses the text of a CLUSTER NODES reply. from is the address the reply
// came from: a node that reports an empty host (it does not know its own address yet)
// is given from's host.
func ParseNodes(text, from string) ([]NodeInfo, error) {
	var nodes []NodeInfo
	for lineNo, line := range strings.Split(strings.TrimSpace(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		n, err := parseNodeLine(line, from)
		if err != nil {
			return nil, fmt.Errorf("topology: CLUSTER NODES line %d: %w", lineNo+1, err)
		}
		nodes = append(nodes, n)
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("topology: CLUSTER NODES reply lists no node")
	}
	return nodes, nil
}

func parseNodeLine(line, from string) (NodeInfo, error) {
	f := strings.Fields(line)
	if len(f) < 8 {
		return NodeInfo{}, fmt.Errorf("%d fields, want at least 8", len(f))
	}
	n := NodeInfo{ID: f[0], Flags: strings.Split(f[2], ","), LinkState: f[7]}
	if f[3] != "-" {
		n.MasterID = f[3]
	}
	var err error
	if n.Addr, n.BusPort, n.Hostname, err = parseNodeAddr(f[1], from); err != nil {
		return NodeInfo{}, err
	}
	if n.HasFlag("noaddr") {
		n.Addr = ""
	}
	for i, dst := range []*int64{&n.PingSent, &n.PongRecv, &n.ConfigEpoch} {
		if *dst, err = strconv.ParseInt(f[4+i], 10, 64); err != nil {
			return NodeInfo{}, fmt.Errorf("bad number %q", f[4+i])
		}
	}
	for _, s := range f[8:] {
		if strings.HasPrefix(s, "[") {
			if err := n.parseOpenSlot(s); err != nil {
				return NodeInfo{}, err
			}
			continue
		}
		r, err := parseSlotRange(s)
		if err != nil {
			return NodeInfo{}, err
		}
		n.Slots = append(n.Slots, r)
	}
	return n, nil
}

// parseNodeAddr parses "ip:port@cport[,hostname]".
func parseNodeAddr(s, from string) (addr string, busPort int, hostname string, err error) {
	s, hostname, _ = strings.Cut(s, ",")
	s, bus, _ := strings.Cut(s, "@")
	if bus != "" {
		if busPort, err = strconv.Atoi(bus); err != nil {
			return "", 0, "", fmt.Errorf("bad bus port in %q", s)
		}
	}
	colon := strings.LastIndexByte(s, ':')
	if colon < 0 {
		return "", 0, "", fmt.Errorf("bad address %q", s)
	}
	host, port := s[:colon], s[colon+1:]
	if p, convErr := strconv.Atoi(port); convErr != nil || p < 0 || p > 65535 {
		return "", 0, "", fmt.Errorf("bad port in %q", s)
	} else if p == 0 {
		return "", busPort, hostname, nil
	}
	if host == "" {
		if host, _, err = net.SplitHostPort(from); err != nil {
			return "", 0, "", fmt.Errorf("empty host and no answering node to stand for it")
		}
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port), busPort, hostname, nil
}

func parseSlotRange(s string) (SlotRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	start, err1 := strconv.Atoi(lo)
	end := start
	var err2 error
	if isRange {
		end, err2 = strconv.Atoi(hi)
	}
	if err1 != nil || err2 != nil || start < 0 || end >= SlotCount || start > end {
		return SlotRange{}, fmt.Errorf("bad slot range %q", s)
	}
	return SlotRange{start, end}, nil
}

// parseOpenSlot parses "[slot->-target]" and "[slot-<-source]".
func (n *NodeInfo) parseOpenSlot(s string) error {
	body := strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if slotText, id, ok := strings.Cut(body, "->-"); ok {
		slot, err := strconv.Atoi(slotText)
		if err != nil || slot < 0 || slot >= SlotCount {
			return fmt.Errorf("bad open slot %q", s)
		}
		if n.Migrating == nil {
			n.Migrating = map[int]string{}
		}
		n.Migrating[slot] = id
		return nil
	}
	if slotText, id, ok := strings.Cut(body, "-<-"); ok {
		slot, err := strconv.Atoi(slotText)
		if err != nil || slot < 0 || slot >= SlotCount {
			return fmt.Errorf("bad open slot %q", s)
		}
		if n.Importing == nil {
			n.Importing = map[int]string{}
		}
		n.Importing[slot] = id
		return nil
	}
	return fmt.Errorf("bad open slot %q", s)
}

// Shard is a master, the slots it serves and its replicas.
type Shard struct {
	Master   NodeInfo
	Replicas []NodeInfo
}

// Topology is a whole cluster as seen by one or more nodes.
type Topology struct {
	Nodes  []NodeInfo
	Shards []Shard  // one per master that serves slots, in slot order
	Owner  []int    // per slot, the index in Shards of its owner, or -1 (length SlotCount)
	Source string   // where the view came from
	Issues []string // disagreements found while merging views, in words
}

// Build turns a node list into shards and a slot table.
func Build(nodes []NodeInfo, source string) *Topology {
	t := &Topology{Nodes: nodes, Source: source, Owner: make([]int, SlotCount)}
	for i := range t.Owner {
		t.Owner[i] = -1
	}
	byID := map[string]int{}
	for _, n := range nodes {
		if !n.IsMaster() || len(n.Slots) == 0 {
			continue
		}
		byID[n.ID] = len(t.Shards)
		t.Shards = append(t.Shards, Shard{Master: n})
	}
	sort.SliceStable(t.Shards, func(i, j int) bool {
		return t.Shards[i].Master.Slots[0].Start < t.Shards[j].Master.Slots[0].Start
	})
	for i, s := range t.Shards {
		byID[s.Master.ID] = i
		for _, r := range s.Master.Slots {
			for slot := r.Start; slot <= r.End; slot++ {
				t.Owner[slot] = i
			}
		}
	}
	for _, n := range nodes {
		if i, ok := byID[n.MasterID]; ok && n.IsReplica() {
			t.Shards[i].Replicas = append(t.Shards[i].Replicas, n)
		}
	}
	return t
}

// Covered reports whether every slot has an owner.
func (t *Topology) Covered() bool {
	return !slices.Contains(t.Owner, -1)
}

// Merge combines the CLUSTER NODES views of several nodes (keyed by the address
// asked). For each slot the owner with the highest config epoch wins, as the cluster
// itself decides; each slot on which views disagree is reported in Issues, as are open
// (migrating or importing) slots, which only the node itself reports.
func Merge(views map[string][]NodeInfo) *Topology {
	addrs := make([]string, 0, len(views))
	for a := range views {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)

	type claim struct {
		id    string
		epoch int64
	}
	var owner [SlotCount]claim
	best := map[string]NodeInfo{} // newest line per node ID: a node's own line wins
	var issues []string
	disagreements := map[string]int{}
	for _, a := range addrs {
		seen := [SlotCount]string{}
		for _, n := range views[a] {
			if cur, ok := best[n.ID]; !ok || n.Myself() && !cur.Myself() || n.ConfigEpoch > cur.ConfigEpoch {
				best[n.ID] = n
			}
			for _, r := range n.Slots {
				for s := r.Start; s <= r.End; s++ {
					seen[s] = n.ID
					if n.ConfigEpoch > owner[s].epoch || owner[s].id == "" {
						if owner[s].id != "" && owner[s].id != n.ID {
							disagreements[fmt.Sprintf("%s vs %s", shortID(owner[s].id), shortID(n.ID))]++
						}
						owner[s] = claim{n.ID, n.ConfigEpoch}
					} else if owner[s].id != n.ID {
						disagreements[fmt.Sprintf("%s vs %s", shortID(owner[s].id), shortID(n.ID))]++
					}
				}
			}
		}
	}
	for pair, count := range disagreements {
		issues = append(issues, fmt.Sprintf("nodes disagree on the owner of %d slots (%s); the higher config epoch wins", count, pair))
	}
	var nodes []NodeInfo
	for _, n := range best {
		n.Slots = nil
		// "myself" is relative to the node asked; a merged view has no such node.
		n.Flags = slices.DeleteFunc(slices.Clone(n.Flags), func(f string) bool { return f == "myself" })
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Addr < nodes[j].Addr })
	index := map[string]int{}
	for i, n := range nodes {
		index[n.ID] = i
	}
	for s := 0; s < SlotCount; s++ {
		if id := owner[s].id; id != "" {
			n := &nodes[index[id]]
			if k := len(n.Slots); k > 0 && n.Slots[k-1].End == s-1 {
				n.Slots[k-1].End = s
			} else {
				n.Slots = append(n.Slots, SlotRange{s, s})
			}
		}
	}
	for _, n := range nodes {
		for slot, to := range n.Migrating {
			issues = append(issues, fmt.Sprintf("slot %d is migrating from %s to %s", slot, shortID(n.ID), shortID(to)))
		}
		for slot, from := range n.Importing {
			issues = append(issues, fmt.Sprintf("slot %d is importing into %s from %s", slot, shortID(n.ID), shortID(from)))
		}
	}
	sort.Strings(issues)
	t := Build(nodes, strings.Join(addrs, ","))
	t.Issues = issues
	return t
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// ParseSlots turns a CLUSTER SLOTS reply into a node list, for servers that refuse
// CLUSTER NODES. It carries no epochs, flags or open slots: only masters, replicas and
// slot ranges.
func ParseSlots(v resp.Value, from string) ([]NodeInfo, error) {
	if v.Kind != resp.Array {
		return nil, fmt.Errorf("topology: CLUSTER SLOTS reply is %s, want an array", v.Kind)
	}
	byID := map[string]*NodeInfo{}
	var order []string
	get := func(e resp.Value, master string) (*NodeInfo, error) {
		if e.Kind != resp.Array || len(e.Elems) < 2 {
			return nil, fmt.Errorf("topology: CLUSTER SLOTS node entry is malformed")
		}
		host, port := e.Elems[0].Text(), e.Elems[1].Int
		id := ""
		if len(e.Elems) > 2 {
			id = e.Elems[2].Text()
		}
		if host == "" {
			fromHost, _, err := net.SplitHostPort(from)
			if err != nil {
				return nil, fmt.Errorf("topology: CLUSTER SLOTS: empty host and no answering node")
			}
			host = fromHost
		}
		addr := ""
		if host != "?" && port > 0 {
			addr = net.JoinHostPort(host, strconv.FormatInt(port, 10))
		}
		if id == "" {
			id = addr
		}
		n, ok := byID[id]
		if !ok {
			n = &NodeInfo{ID: id, Addr: addr, LinkState: "connected"}
			if master == "" {
				n.Flags = []string{"master"}
			} else {
				n.Flags = []string{"slave"}
				n.MasterID = master
			}
			byID[id] = n
			order = append(order, id)
		}
		return n, nil
	}
	for _, r := range v.Elems {
		if r.Kind != resp.Array || len(r.Elems) < 3 {
			return nil, fmt.Errorf("topology: CLUSTER SLOTS range entry is malformed")
		}
		start, end := int(r.Elems[0].Int), int(r.Elems[1].Int)
		if start < 0 || end >= SlotCount || start > end {
			return nil, fmt.Errorf("topology: CLUSTER SLOTS: bad range %d-%d", start, end)
		}
		m, err := get(r.Elems[2], "")
		if err != nil {
			return nil, err
		}
		m.Slots = append(m.Slots, SlotRange{start, end})
		for _, re := range r.Elems[3:] {
			if _, err := get(re, m.ID); err != nil {
				return nil, err
			}
		}
	}
	nodes := make([]NodeInfo, 0, len(order))
	for _, id := range order {
		nodes = append(nodes, *byID[id])
	}
	return nodes, nil
}

// Diff lists, in words, how topology b differs from a: nodes that joined or left, role
// changes and slot ranges that changed owner.
func Diff(a, b *Topology) []string {
	var out []string
	if a == nil {
		return []string{fmt.Sprintf("loaded %d nodes, %d shards", len(b.Nodes), len(b.Shards))}
	}
	old := map[string]NodeInfo{}
	for _, n := range a.Nodes {
		old[n.ID] = n
	}
	cur := map[string]NodeInfo{}
	for _, n := range b.Nodes {
		cur[n.ID] = n
		o, ok := old[n.ID]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("node %s (%s) joined as %s", shortID(n.ID), n.Addr, role(n)))
		case role(o) != role(n):
			out = append(out, fmt.Sprintf("node %s (%s) is now %s, was %s", shortID(n.ID), n.Addr, role(n), role(o)))
		case o.Addr != n.Addr:
			out = append(out, fmt.Sprintf("node %s moved from %s to %s", shortID(n.ID), o.Addr, n.Addr))
		}
	}
	for _, o := range a.Nodes {
		if _, ok := cur[o.ID]; !ok {
			out = append(out, fmt.Sprintf("node %s (%s) left", shortID(o.ID), o.Addr))
		}
	}
	ownerID := func(t *Topology, slot int) string {
		if i := t.Owner[slot]; i >= 0 {
			return t.Shards[i].Master.ID
		}
		return ""
	}
	start := -1
	for s := 0; s <= SlotCount; s++ {
		changed := s < SlotCount && ownerID(a, s) != ownerID(b, s)
		if changed && start < 0 {
			start = s
		}
		if start >= 0 && (!changed || s == SlotCount || ownerID(b, s) != ownerID(b, start)) {
			to := ownerID(b, start)
			out = append(out, fmt.Sprintf("slots %s moved from %s to %s",
				SlotRange{start, s - 1}, orNone(shortID(ownerID(a, start))), orNone(shortID(to))))
			start = -1
			if changed {
				start = s
			}
		}
	}
	return out
}

func role(n NodeInfo) string {
	switch {
	case n.IsMaster():
		return "master"
	case n.IsReplica():
		return "replica"
	}
	return "node"
}

func orNone(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}

// EvenRanges splits the slots among masters the way redis-cli --cluster create does:
// 0-5460, 5461-10922 and 10923-16383 for three.
func EvenRanges(masters int) []SlotRange {
	ranges := make([]SlotRange, 0, masters)
	perNode := float64(SlotCount) / float64(masters)
	cursor := 0.0
	first := 0
	for i := range masters {
		last := int(cursor + perNode - 1 + 0.5) // round half up, like lround for these values
		if last > SlotCount-1 || i == masters-1 {
			last = SlotCount - 1
		}
		if last < first {
			last = first
		}
		ranges = append(ranges, SlotRange{Start: first, End: last})
		first = last + 1
		cursor += perNode
	}
	return ranges
}
