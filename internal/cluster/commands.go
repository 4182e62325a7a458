package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rcli-dev/rcli/internal/resp"
)

// CommandSpec is what routing needs to know about one command (or subcommand), as the
// server describes it in COMMAND INFO.
type CommandSpec struct {
	Name        string // lower case; "object|encoding" for a subcommand
	Arity       int
	Flags       []string
	FirstKey    int // the legacy key range, used when there are no key specs
	LastKey     int
	Step        int
	Tips        []string
	KeySpecs    []KeySpec
	Subcommands map[string]*CommandSpec // by subcommand name in lower case
}

// KeySpec is one key specification: how to find where a group of keys begins, and how
// to find the keys from there (see the Redis documentation on key specs).
type KeySpec struct {
	BeginSearch string // "index", "keyword" or "unknown"
	Index       int    // index: position of the first key
	Keyword     string // keyword: the keys follow this argument
	StartFrom   int    // keyword: where the search starts; negative counts from the end
	FindKeys    string // "range", "keynum" or "unknown"
	LastKey     int    // range: last key, relative to the first; negative counts from the end
	KeyStep     int    // range and keynum: distance between keys
	Limit       int    // range with LastKey -1: take 1/Limit of the remaining arguments
	KeyNumIdx   int    // keynum: where the key count sits, relative to the first key
	FirstKey    int    // keynum: the first key, relative to the key count
	Flags       []string
}

// HasFlag reports whether the command carries the given flag, such as "readonly".
func (s *CommandSpec) HasFlag(flag string) bool { return slices.Contains(s.Flags, flag) }

// ReadOnly reports whether the server flags the command readonly.
func (s *CommandSpec) ReadOnly() bool { return s.HasFlag("readonly") }

// Tip returns the value of a command tip such as "request_policy", or "".
func (s *CommandSpec) Tip(name string) string {
	for _, t := range s.Tips {
		if k, v, ok := strings.Cut(t, ":"); ok && k == name {
			return v
		}
	}
	return ""
}

// errBadKeyArgs reports arguments that do not fit the command's key specs; the server
// would answer them with an arity or syntax error, so the command is sent anywhere.
var errBadKeyArgs = errors.New("cluster: arguments do not fit the command's key specs")

// KeyPositions returns the positions in args (0 is the command name) of the command's
// keys, following its key specs the way the server does, or its legacy key range when
// it has none. Subcommands are resolved first.
func (s *CommandSpec) KeyPositions(args [][]byte) ([]int, error) {
	spec := s
	if len(args) > 1 && len(s.Subcommands) > 0 {
		if sub, ok := s.Subcommands[strings.ToLower(s.Name+"|"+string(args[1]))]; ok {
			spec = sub
		}
	}
	if len(spec.KeySpecs) == 0 {
		return spec.legacyKeys(args), nil
	}
	var keys []int
	for _, ks := range spec.KeySpecs {
		pos, err := ks.positions(args)
		if err != nil {
			return nil, err
		}
		keys = append(keys, pos...)
	}
	return keys, nil
}

func (s *CommandSpec) legacyKeys(args [][]byte) []int {
	if s.FirstKey <= 0 {
		return nil
	}
	last := s.LastKey
	if last < 0 {
		last = len(args) + last
	}
	step := max(s.Step, 1)
	var keys []int
	for i := s.FirstKey; i <= last && i < len(args); i += step {
		keys = append(keys, i)
	}
	return keys
}

// positions mirrors getKeysUsingKeySpecs in the server's db.c.
func (ks KeySpec) positions(args [][]byte) ([]int, error) {
	argc := len(args)
	first := 0
	switch ks.BeginSearch {
	case "index":
		first = ks.Index
	case "keyword":
		start, end := ks.StartFrom, argc-1
		if ks.StartFrom <= 0 {
			start, end = argc+ks.StartFrom, 1
		}
		for i := start; i != end; {
			if i >= argc || i < 1 {
				break
			}
			if strings.EqualFold(string(args[i]), ks.Keyword) {
				first = i + 1
				break
			}
			if start <= end {
				i++
			} else {
				i--
			}
		}
		if first == 0 {
			return nil, nil // keyword absent: this spec names no key
		}
	default:
		return nil, nil
	}
	var last, step int
	switch ks.FindKeys {
	case "range":
		step = ks.KeyStep
		switch {
		case ks.LastKey >= 0:
			last = first + ks.LastKey
		case ks.Limit == 0:
			last = argc + ks.LastKey
		default:
			last = first + (argc-first)/ks.Limit + ks.LastKey
		}
	case "keynum":
		step = ks.KeyStep
		idx := first + ks.KeyNumIdx
		if idx >= argc {
			return nil, errBadKeyArgs
		}
		n, err := strconv.Atoi(string(args[idx]))
		if err != nil || n < 0 {
			return nil, errBadKeyArgs
		}
		first += ks.FirstKey
		last = first + n - 1
	default:
		return nil, nil
	}
	step = max(step, 1)
	var keys []int
	for i := first; i <= last; i += step {
		if i >= argc || i < first {
			return nil, errBadKeyArgs
		}
		keys = append(keys, i)
	}
	return keys, nil
}

// ParseCommandInfo parses one entry of a COMMAND INFO reply (RESP2 or RESP3).
func ParseCommandInfo(v resp.Value) (*CommandSpec, error) {
	if v.Kind != resp.Array || len(v.Elems) < 6 {
		return nil, fmt.Errorf("cluster: COMMAND INFO entry is %s, want an array of at least 6", v.Kind)
	}
	e := v.Elems
	s := &CommandSpec{
		Name:     strings.ToLower(e[0].Text()),
		Arity:    int(e[1].Int),
		FirstKey: int(e[3].Int),
		LastKey:  int(e[4].Int),
		Step:     int(e[5].Int),
	}
	s.Flags = texts(e[2])
	if len(e) > 7 {
		s.Tips = texts(e[7])
	}
	if len(e) > 8 {
		for _, ksv := range e[8].Elems {
			s.KeySpecs = append(s.KeySpecs, parseKeySpec(ksv))
		}
	}
	if len(e) > 9 && len(e[9].Elems) > 0 {
		s.Subcommands = map[string]*CommandSpec{}
		for _, subv := range e[9].Elems {
			sub, err := ParseCommandInfo(subv)
			if err != nil {
				return nil, err
			}
			s.Subcommands[sub.Name] = sub
		}
	}
	return s, nil
}

func texts(v resp.Value) []string {
	out := make([]string, 0, len(v.Elems))
	for _, e := range v.Elems {
		out = append(out, strings.ToLower(e.Text()))
	}
	return out
}

// fields returns the key/value pairs of a map, or of a flat RESP2 array of them.
func fields(v resp.Value) map[string]resp.Value {
	m := make(map[string]resp.Value, len(v.Elems)/2)
	for i := 0; i+1 < len(v.Elems); i += 2 {
		m[string(v.Elems[i].Str)] = v.Elems[i+1]
	}
	return m
}

func parseKeySpec(v resp.Value) KeySpec {
	f := fields(v)
	ks := KeySpec{Flags: texts(f["flags"])}
	bs := fields(f["begin_search"])
	ks.BeginSearch = bs["type"].Text()
	spec := fields(bs["spec"])
	switch ks.BeginSearch {
	case "index":
		ks.Index = int(spec["index"].Int)
	case "keyword":
		ks.Keyword = spec["keyword"].Text()
		ks.StartFrom = int(spec["startfrom"].Int)
	}
	fk := fields(f["find_keys"])
	ks.FindKeys = fk["type"].Text()
	spec = fields(fk["spec"])
	switch ks.FindKeys {
	case "range":
		ks.LastKey = int(spec["lastkey"].Int)
		ks.KeyStep = int(spec["keystep"].Int)
		ks.Limit = int(spec["limit"].Int)
	case "keynum":
		ks.KeyNumIdx = int(spec["keynumidx"].Int)
		ks.FirstKey = int(spec["firstkey"].Int)
		ks.KeyStep = int(spec["keystep"].Int)
	}
	return ks
}

// CrossSlotError reports a command whose keys hash to more than one slot, found before
// anything was sent.
type CrossSlotError struct {
	Command string
	Slots   []int // the distinct slots, in the order the keys name them
}

// Error names the command and the slots, in the server's words and more.
func (e *CrossSlotError) Error() string {
	var b bytes.Buffer
	for i, s := range e.Slots {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == 8 {
			fmt.Fprintf(&b, "and %d more", len(e.Slots)-i)
			break
		}
		b.WriteString(strconv.Itoa(s))
	}
	return fmt.Sprintf("CROSSSLOT Keys in request don't hash to the same slot (%s touches slots %s)", e.Command, b.String())
}
