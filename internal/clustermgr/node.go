package clustermgr

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/rcli-dev/rcli/internal/topology"
)

// SlotCount is the number of hash slots of a Redis Cluster.
const SlotCount = topology.SlotCount

// OpenSlot is a slot a node has in migrating or importing state, and the ID of the
// node on the other side of the move.
type OpenSlot struct {
	Slot int    // the slot
	Peer string // the ID of the node it moves to (migrating) or from (importing)
}

// Node is one cluster node as the manager sees it: what its own CLUSTER NODES line
// says (ID, flags, slots, open slots, the master it replicates), where the manager
// reaches it, and the manager's working state for the current command (planned slots
// and master for create, weight and balance for rebalance).
type Node struct {
	ID   string // the node ID ("" until loaded)
	Host string // where the manager reaches the node
	Port int    // and port
	// BusPort is the cluster bus port from CLUSTER NODES, 0 when unknown; CLUSTER MEET
	// is sent with it, so nodes with a non-default cluster-port can join.
	BusPort int
	Flags   []string // as the node's own CLUSTER NODES line says: myself, master, ...
	// Replicate is the ID of the master this node replicates, "" for a master.
	Replicate string
	Slots     []bool // SlotCount entries
	// SlotsCount is how many entries of Slots are set.
	SlotsCount int
	Migrating  []OpenSlot // in the order of the node's own CLUSTER NODES line
	Importing  []OpenSlot // likewise
	Epoch      int64      // the node's config epoch
	// ReplicasCount is how many loaded nodes replicate this one.
	ReplicasCount int

	// Dirty marks a configuration planned but not yet sent (create).
	Dirty bool
	// Weight and Balance are rebalance's working values.
	Weight  float64 // the share of slots it should hold, relative to the others
	Balance int     // slots to give away (negative: to take)

	replica bool // the node's flags say slave
}

// NewNode returns a node reached at host:port, with no slots and weight 1.
func NewNode(host string, port int) *Node {
	return &Node{Host: host, Port: port, Slots: make([]bool, SlotCount), Weight: 1}
}

// Addr returns "host:port".
func (n *Node) Addr() string { return net.JoinHostPort(n.Host, strconv.Itoa(n.Port)) }

// Name returns "host:port" the way redis-cli prints a node: without IPv6 brackets.
func (n *Node) Name() string { return n.Host + ":" + strconv.Itoa(n.Port) }

// IsReplica reports whether the node is a replica (its flags say slave, or it has
// been planned as one).
func (n *Node) IsReplica() bool { return n.replica || n.Replicate != "" }

// IsMaster reports whether the node is neither flagged nor planned as a replica.
func (n *Node) IsMaster() bool { return !n.IsReplica() }

// HasFlag reports whether the node's own line carries flag.
func (n *Node) HasFlag(flag string) bool {
	for _, f := range n.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

// SetSlots marks every slot of r as the node's.
func (n *Node) SetSlots(r topology.SlotRange) {
	for s := r.Start; s <= r.End; s++ {
		if !n.Slots[s] {
			n.Slots[s] = true
			n.SlotsCount++
		}
	}
}

// SetSlot marks slot as the node's, or not.
func (n *Node) SetSlot(slot int, owned bool) {
	if n.Slots[slot] == owned {
		return
	}
	n.Slots[slot] = owned
	if owned {
		n.SlotsCount++
	} else {
		n.SlotsCount--
	}
}

// applyInfo sets what a node's own CLUSTER NODES line says. The address stays the one
// the manager reaches the node at, except that an unknown bus port is learned.
func (n *Node) applyInfo(info topology.NodeInfo) {
	n.ID = info.ID
	n.Flags = info.Flags
	n.Epoch = info.ConfigEpoch
	if n.BusPort == 0 {
		n.BusPort = info.BusPort
	}
	n.replica = info.IsReplica()
	n.Replicate = ""
	if n.replica {
		n.Replicate = info.MasterID
	}
	n.Slots = make([]bool, SlotCount)
	n.SlotsCount = 0
	for _, r := range info.Slots {
		n.SetSlots(r)
	}
	n.Migrating = openSlots(info.Migrating)
	n.Importing = openSlots(info.Importing)
}

// openSlots turns the topology's map into a list in slot order, which is the order in
// which a node lists them.
func openSlots(m map[int]string) []OpenSlot {
	if len(m) == 0 {
		return nil
	}
	out := make([]OpenSlot, 0, len(m))
	for slot, peer := range m {
		out = append(out, OpenSlot{Slot: slot, Peer: peer})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slot < out[j].Slot })
	return out
}

// migratingTo returns the node a slot is migrating to, and whether it is migrating.
func (n *Node) migratingTo(slot int) (string, bool) {
	for _, o := range n.Migrating {
		if o.Slot == slot {
			return o.Peer, true
		}
	}
	return "", false
}

// importingFrom reports whether the node has slot in importing state.
func (n *Node) importingFrom(slot int) bool {
	for _, o := range n.Importing {
		if o.Slot == slot {
			return true
		}
	}
	return false
}

// SlotsString renders the node's slots as redis-cli does: "[0-5460],[10923]".
func (n *Node) SlotsString() string { return slotsString(n.Slots) }

// slotsString renders a slot set as "[0-5460],[10923]".
func slotsString(slots []bool) string {
	var b strings.Builder
	for s := 0; s < len(slots); s++ {
		if !slots[s] {
			continue
		}
		e := s
		for e+1 < len(slots) && slots[e+1] {
			e++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if s == e {
			fmt.Fprintf(&b, "[%d]", s)
		} else {
			fmt.Fprintf(&b, "[%d-%d]", s, e)
		}
		s = e
	}
	return b.String()
}

// FlagsString returns the node's flags without "myself", comma-separated.
func (n *Node) FlagsString() string {
	var out []string
	for _, f := range n.Flags {
		if f != "myself" {
			out = append(out, f)
		}
	}
	return strings.Join(out, ",")
}

// Info renders the node as redis-cli's clusterManagerNodeInfo does, each line
// indented by indent spaces:
//
//	M: <id> host:port
//	   slots:[0-5460] (5461 slots) master
//	   1 additional replica(s)
func (n *Node) Info(indent int) string {
	sp := strings.Repeat(" ", indent)
	var b strings.Builder
	b.WriteString(sp)
	if n.Dirty && n.Replicate != "" {
		fmt.Fprintf(&b, "S: %s %s", n.ID, n.Name())
	} else {
		role := "M"
		if n.IsReplica() {
			role = "S"
		}
		fmt.Fprintf(&b, "%s: %s %s\n%s   slots:%s (%d slots) %s", role, n.ID, n.Name(), sp, n.SlotsString(), n.SlotsCount, n.FlagsString())
	}
	switch {
	case n.Replicate != "":
		fmt.Fprintf(&b, "\n%s   replicates %s", sp, n.Replicate)
	case n.ReplicasCount > 0:
		fmt.Fprintf(&b, "\n%s   %d additional replica(s)", sp, n.ReplicasCount)
	}
	return b.String()
}

// ParseHostPort parses redis-cli's node address argument "host:port", ignoring a
// "@busport" suffix, and returns the host and port; ok is false when there is no
// colon or the port is not a positive number.
func ParseHostPort(addr string) (host string, port, busPort int, ok bool) {
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		busPort, _ = strconv.Atoi(addr[at+1:])
		addr = addr[:at]
	}
	colon := strings.LastIndexByte(addr, ':')
	if colon < 0 {
		return "", 0, 0, false
	}
	host = strings.Trim(addr[:colon], "[]")
	port = atoi(addr[colon+1:])
	if host == "" || port <= 0 {
		return "", 0, 0, false
	}
	return host, port, busPort, true
}

// hostFromArgs reads "<host:port>" or "<host> <port>" as redis-cli's
// getClusterHostFromCmdArgs does.
func hostFromArgs(args []string) (host string, port int, ok bool) {
	switch len(args) {
	case 0:
		return "", 0, false
	case 1:
		h, p, _, ok := ParseHostPort(args[0])
		return h, p, ok
	default:
		host, port = args[0], atoi(args[1])
		return host, port, host != "" && port > 0
	}
}

// atoi parses a leading decimal integer like C's atoi: "12abc" is 12, "x" is 0.
func atoi(s string) int {
	s = strings.TrimLeft(s, " \t\n\r\v\f")
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil {
		return 0
	}
	return n
}

// atof parses a leading decimal number like C's atof: "2.5x" is 2.5, "x" is 0.
func atof(s string) float64 {
	s = strings.TrimSpace(s)
	for end := len(s); end > 0; end-- {
		if f, err := strconv.ParseFloat(s[:end], 64); err == nil {
			return f
		}
	}
	return 0
}
