package cluster

import (
	"context"
	"strings"

	"github.com/rcli-dev/rcli/internal/resp"
)

type planKind int

const (
	planSlot   planKind = iota // one slot: its owner serves the command
	planSeed                   // no key: the node the user named serves it
	planFanout                 // keyless, but about the whole data set: every master (or node)
	planSplit                  // keys in several slots of a command that can be split per key
)

type plan struct {
	kind     planKind
	anyNode  bool // planSeed: any master may serve it when the seed cannot (PUBLISH)
	slot     int
	readOnly bool
	keys     []int // key positions, for planSplit
	fan      fanRule
}

// fanTarget says which nodes a fanned-out command goes to.
type fanTarget int

const (
	fanMasters fanTarget = iota
	fanAllNodes
)

// fanCombine says how the replies of a fanned-out command become one.
type fanCombine int

const (
	combineAllOK     fanCombine = iota // every node must succeed; the first reply stands for all
	combineConcat                      // arrays concatenated (KEYS)
	combineSum                         // integers summed (DBSIZE)
	combineAnyNonNil                   // the first reply that is not nil (RANDOMKEY)
	combineAnd                         // arrays of 0/1 ANDed element-wise (SCRIPT EXISTS)
)

type fanRule struct {
	target  fanTarget
	combine fanCombine
}

// fanRules are the keyless commands that are about the whole data set and so go to
// every master (or every node), combined as the command's 7.0 tips say. Every other
// keyless command (INFO, CONFIG, PING, CLIENT, WAIT, ...) goes to the node the user
// named, as redis-cli does.
var fanRules = map[string]fanRule{
	"keys":             {fanMasters, combineConcat},
	"dbsize":           {fanMasters, combineSum},
	"flushall":         {fanMasters, combineAllOK},
	"flushdb":          {fanMasters, combineAllOK},
	"randomkey":        {fanMasters, combineAnyNonNil},
	"script|load":      {fanAllNodes, combineAllOK},
	"script|flush":     {fanAllNodes, combineAllOK},
	"script|exists":    {fanMasters, combineAnd},
	"function|load":    {fanMasters, combineAllOK},
	"function|delete":  {fanMasters, combineAllOK},
	"function|flush":   {fanMasters, combineAllOK},
	"function|restore": {fanMasters, combineAllOK},
}

// splittable are the multi-key commands whose keys may be split across nodes: each
// key (or key/value pair for MSET) stands alone.
var splittable = map[string]bool{
	"mget": true, "mset": true, "del": true, "unlink": true, "exists": true, "touch": true,
}

// FanoutRule reports whether a keyless command goes to every master or node in cluster
// mode, and describes how, for help texts and `rcli route`.
func FanoutRule(cmd resp.Command) (string, bool) {
	r, ok := lookupFan(cmd)
	if !ok {
		return "", false
	}
	where := "every master"
	if r.target == fanAllNodes {
		where = "every node"
	}
	how := map[fanCombine]string{
		combineAllOK: "all must succeed", combineConcat: "replies merged",
		combineSum: "replies summed", combineAnyNonNil: "first non-nil reply",
		combineAnd: "replies ANDed",
	}[r.combine]
	return where + ", " + how, true
}

func lookupFan(cmd resp.Command) (fanRule, bool) {
	name := strings.ToLower(string(cmd.Args[0]))
	if r, ok := fanRules[name]; ok {
		return r, true
	}
	if len(cmd.Args) > 1 {
		r, ok := fanRules[name+"|"+strings.ToLower(string(cmd.Args[1]))]
		return r, ok
	}
	return fanRule{}, false
}

var helloCmd = resp.NewCommand("HELLO")

// fetchInfo asks the seed for command metadata, and in the same round trip for its
// version (HELLO without arguments changes nothing on the connection).
func (c *Client) fetchInfo(ctx context.Context, cmd resp.Command) (resp.Value, string, error) {
	br := c.seed.doBatch(ctx, []resp.Command{helloCmd, cmd}, nil)
	if br.Err != nil {
		return resp.Value{}, "", br.Err
	}
	return br.Values[1], helloVersion(br.Values[0]), nil
}

// helloVersion returns the "version" field of a HELLO reply (a map in RESP3, a flat
// array in RESP2), or "".
func helloVersion(v resp.Value) string {
	if v.Kind != resp.Map && v.Kind != resp.Array {
		return ""
	}
	return fields(v)["version"].Text()
}

// Spec returns the routing metadata of a command, asking the server the first time.
func (c *Client) Spec(ctx context.Context, name string) (*CommandSpec, error) {
	return c.opts.Commands.Lookup(ctx, name, c.fetchInfo)
}

// plan decides where a command goes, from the server's own key specs.
func (c *Client) plan(ctx context.Context, cmd resp.Command) (plan, error) {
	if r, ok := lookupFan(cmd); ok {
		return plan{kind: planFanout, fan: r, slot: -1}, nil
	}
	if cmd.Is("publish") {
		// A cluster passes every message to every node: any node will do.
		return plan{kind: planSeed, slot: -1, anyNode: true}, nil
	}
	spec, err := c.Spec(ctx, string(cmd.Args[0]))
	if err != nil || spec == nil {
		// Unknown to the server, or metadata unavailable: let the named node answer.
		return plan{kind: planSeed, slot: -1}, nil
	}
	return planFor(spec, cmd)
}

// planFor routes a command with known metadata.
func planFor(spec *CommandSpec, cmd resp.Command) (plan, error) {
	resolved := spec.resolve(cmd.Args)
	ro := resolved.ReadOnly()
	keys, err := spec.KeyPositions(cmd.Args)
	if err != nil || len(keys) == 0 {
		return plan{kind: planSeed, slot: -1, readOnly: ro}, nil
	}
	first := Slot(cmd.Args[keys[0]])
	var slots []int
	for _, k := range keys[1:] {
		if s := Slot(cmd.Args[k]); s != first {
			if slots == nil {
				slots = []int{first}
			}
			slots = appendUnique(slots, s)
		}
	}
	if slots == nil {
		return plan{kind: planSlot, slot: first, readOnly: ro}, nil
	}
	if splittable[spec.Name] {
		return plan{kind: planSplit, slot: -1, readOnly: ro, keys: keys}, nil
	}
	return plan{}, &CrossSlotError{Command: strings.ToUpper(spec.Name), Slots: slots}
}

// resolve returns the spec of the subcommand named by args, or s itself.
func (s *CommandSpec) resolve(args [][]byte) *CommandSpec {
	if len(args) > 1 && len(s.Subcommands) > 0 {
		if sub, ok := s.Subcommands[strings.ToLower(s.Name+"|"+string(args[1]))]; ok {
			return sub
		}
	}
	return s
}

func appendUnique(s []int, v int) []int {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// Route explains where a key's commands go: its slot, its hash tag, and the nodes that
// serve the slot according to the topology last loaded.
type Route struct {
	Key      string
	Slot     int
	HashTag  string // "" when the whole key is hashed
	Master   string
	Replicas []string
	ReadAddr string // where a read-only command would go under the read policy
}

// RouteKey explains the routing of one key.
func (c *Client) RouteKey(key string) Route {
	r := Route{Key: key, Slot: SlotString(key)}
	if tag := HashTag([]byte(key)); len(tag) != len(key) {
		r.HashTag = string(tag)
	}
	sn := c.table.Load().slots[r.Slot].Load()
	if sn != nil {
		r.Master = sn.master.addr
		r.ReadAddr = sn.master.addr
		for _, rn := range sn.replicas {
			r.Replicas = append(r.Replicas, rn.addr)
		}
		if c.opts.ReadFrom != ReadMaster && len(sn.replicas) > 0 {
			r.ReadAddr = "a replica (" + strings.Join(r.Replicas, ", ") + ")"
		}
	}
	return r
}
