package localredis

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// SlotCount is the number of hash slots of a Redis cluster.
const SlotCount = 16384

// SlotRange is an inclusive range of hash slots.
type SlotRange struct {
	Start, End int
}

// NodeInfo is one node as a CLUSTER NODES reply describes it.
type NodeInfo struct {
	ID          string      // the 40-character node id
	Addr        string      // "ip:port" clients use; ":0" for a node without address
	BusPort     int         // the cluster bus port
	Flags       []string    // such as "myself", "master", "slave", "fail?", "fail", "handshake"
	MasterID    string      // the master of a replica, "" for a master
	ConfigEpoch int64       // the node's config epoch
	Connected   bool        // whether the cluster bus link is up
	Slots       []SlotRange // the slots a master serves; importing and migrating slots are left out
}

// HasFlag reports whether the node has flag f.
func (n NodeInfo) HasFlag(f string) bool {
	return slices.Contains(n.Flags, f)
}

// IsMaster reports whether the node is a master.
func (n NodeInfo) IsMaster() bool { return n.HasFlag("master") }

// IsMyself reports whether the node is the one that sent the reply.
func (n NodeInfo) IsMyself() bool { return n.HasFlag("myself") }

// Owns reports whether the node serves slot.
func (n NodeInfo) Owns(slot int) bool {
	for _, r := range n.Slots {
		if slot >= r.Start && slot <= r.End {
			return true
		}
	}
	return false
}

// ParseClusterNodes parses the text of a CLUSTER NODES reply.
func ParseClusterNodes(text string) ([]NodeInfo, error) {
	var nodes []NodeInfo
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		n, err := parseNodeLine(line)
		if err != nil {
			return nil, fmt.Errorf("localredis: parse CLUSTER NODES line %q: %w", line, err)
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// parseNodeLine parses "<id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent>
// <pong-recv> <config-epoch> <link-state> <slot>...".
func parseNodeLine(line string) (NodeInfo, error) {
	f := strings.Fields(line)
	if len(f) < 8 {
		return NodeInfo{}, fmt.Errorf("%d fields, want at least 8", len(f))
	}
	n := NodeInfo{
		ID:        f[0],
		Flags:     strings.Split(f[2], ","),
		Connected: f[7] == "connected",
	}
	addr, _, _ := strings.Cut(f[1], ",")
	addr, bus, _ := strings.Cut(addr, "@")
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return NodeInfo{}, fmt.Errorf("address %q: %w", f[1], err)
	}
	n.Addr = addr
	if bus != "" {
		p, err := strconv.Atoi(bus)
		if err != nil {
			return NodeInfo{}, fmt.Errorf("bus port %q: %w", bus, err)
		}
		n.BusPort = p
	}
	if f[3] != "-" {
		n.MasterID = f[3]
	}
	epoch, err := strconv.ParseInt(f[6], 10, 64)
	if err != nil {
		return NodeInfo{}, fmt.Errorf("config epoch %q: %w", f[6], err)
	}
	n.ConfigEpoch = epoch
	for _, tok := range f[8:] {
		if strings.HasPrefix(tok, "[") {
			continue // a slot being imported or migrated
		}
		lo, hi, isRange := strings.Cut(tok, "-")
		start, err := parseSlot(lo)
		if err != nil {
			return NodeInfo{}, err
		}
		end := start
		if isRange {
			if end, err = parseSlot(hi); err != nil {
				return NodeInfo{}, err
			}
		}
		if end < start {
			return NodeInfo{}, fmt.Errorf("slot range %q is backwards", tok)
		}
		n.Slots = append(n.Slots, SlotRange{Start: start, End: end})
	}
	return n, nil
}

// parseSlot parses one slot number.
func parseSlot(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n >= SlotCount {
		return 0, fmt.Errorf("bad slot %q", s)
	}
	return n, nil
}

// evenSlotRanges splits the slots among masters the way redis-cli --cluster create does:
// 0-5460, 5461-10922 and 10923-16383 for three.
func evenSlotRanges(masters int) []SlotRange {
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

// parseInfoField returns the value of field in an INFO or CLUSTER INFO reply, and
// whether it was there.
func parseInfoField(text, field string) (string, bool) {
	for line := range strings.Lines(text) {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ":")
		if ok && k == field {
			return v, true
		}
	}
	return "", false
}
