package repl

import (
	"sort"
	"strings"

	"github.com/rcli-dev/rcli/internal/resp"
)

// Docs is the documentation of a server's commands, from its COMMAND DOCS reply:
// what help prints, what hints are made of, and the names Tab completes. A Docs is
// never changed once built, so it may be shared between goroutines.
type Docs struct {
	// Commands holds every command and subcommand, sorted by name.
	Commands []*CommandDoc
	// Groups holds the distinct group names, sorted.
	Groups []string
}

// CommandDoc documents one command or subcommand.
type CommandDoc struct {
	Name    string // upper case, a subcommand after its container: "SET", "CLIENT LIST"
	Words   int    // how many words the name has: 1, or 2 for a subcommand
	Summary string
	Since   string
	Group   string
	Args    []Arg  // nil for a command without arguments
	Params  string // the arguments rendered as redis-cli prints them in help
	// Container says the command is only a container of subcommands (CONFIG, CLIENT).
	Container bool
}

// Arg is one argument of a command, as COMMAND DOCS describes it.
type Arg struct {
	Name    string
	Display string // display_text (Redis 7.2 and later), else ""
	Type    string // "key", "string", "integer", "double", "pattern", "unix-time", "pure-token", "oneof", "block"
	Token   string // the keyword that comes before the value, or the token itself
	// Optional, Multiple and MultipleToken are the argument's flags: it may be left
	// out, it may be repeated, and each repetition repeats its token.
	Optional, Multiple, MultipleToken bool
	Args                              []Arg // the choices of a oneof, the parts of a block
}

// label is how the argument names itself in a syntax line.
func (a *Arg) label() string {
	if a.Display != "" {
		return a.Display
	}
	return a.Name
}

// ParseDocs builds Docs from a COMMAND DOCS reply (a map in RESP3, a flat array of
// name and doc pairs in RESP2). Entries it cannot read are skipped.
func ParseDocs(reply resp.Value) *Docs {
	d := &Docs{}
	kv := pairs(reply)
	for i := 0; i+1 < len(kv); i += 2 {
		d.Commands = appendCommandDocs(d.Commands, string(kv[i].Str), kv[i+1])
	}
	d.index()
	return d
}

// index sorts the commands and collects the groups.
func (d *Docs) index() {
	sort.Slice(d.Commands, func(i, j int) bool { return d.Commands[i].Name < d.Commands[j].Name })
	seen := map[string]bool{}
	for _, c := range d.Commands {
		if c.Group != "" && !seen[c.Group] {
			seen[c.Group] = true
			d.Groups = append(d.Groups, c.Group)
		}
	}
	sort.Strings(d.Groups)
}

// Lookup returns the command whose name is the longest prefix of words (a subcommand
// before its container), or nil.
func (d *Docs) Lookup(words []string) *CommandDoc {
	if d == nil || len(words) == 0 {
		return nil
	}
	if len(words) >= 2 {
		if c := d.find(strings.ToUpper(words[0] + " " + words[1])); c != nil {
			return c
		}
	}
	return d.find(strings.ToUpper(words[0]))
}

// find returns the command named exactly name (upper case), or nil.
func (d *Docs) find(name string) *CommandDoc {
	i := sort.Search(len(d.Commands), func(i int) bool { return d.Commands[i].Name >= name })
	if i < len(d.Commands) && d.Commands[i].Name == name {
		return d.Commands[i]
	}
	return nil
}

// pairs returns the key/value elements of a map, which RESP2 sends as a flat array.
func pairs(v resp.Value) []resp.Value {
	if (v.Kind == resp.Map || v.Kind == resp.Array) && len(v.Elems)%2 == 0 {
		return v.Elems
	}
	return nil
}

// appendCommandDocs appends the entry of one command's docs and its subcommands'.
func appendCommandDocs(out []*CommandDoc, name string, doc resp.Value) []*CommandDoc {
	c := &CommandDoc{Name: strings.ToUpper(strings.ReplaceAll(name, "|", " "))}
	c.Words = strings.Count(c.Name, " ") + 1
	var subs resp.Value
	kv := pairs(doc)
	for i := 0; i+1 < len(kv); i += 2 {
		val := kv[i+1]
		switch string(kv[i].Str) {
		case "summary":
			c.Summary = string(val.Str)
		case "since":
			c.Since = string(val.Str)
		case "group":
			c.Group = string(val.Str)
		case "arguments":
			c.Args = parseArgs(val)
		case "subcommands":
			subs = val
		}
	}
	c.Params = renderArgs(c.Args, " ")
	skv := pairs(subs)
	c.Container = len(skv) > 0
	out = append(out, c)
	for i := 0; i+1 < len(skv); i += 2 {
		out = appendCommandDocs(out, string(skv[i].Str), skv[i+1])
	}
	return out
}

// parseArgs reads a list of argument docs.
func parseArgs(v resp.Value) []Arg {
	if len(v.Elems) == 0 {
		return nil
	}
	args := make([]Arg, 0, len(v.Elems))
	for _, e := range v.Elems {
		args = append(args, parseArg(e))
	}
	return args
}

// parseArg reads one argument doc.
func parseArg(doc resp.Value) Arg {
	var a Arg
	kv := pairs(doc)
	for i := 0; i+1 < len(kv); i += 2 {
		val := kv[i+1]
		switch string(kv[i].Str) {
		case "name":
			a.Name = string(val.Str)
		case "display_text":
			a.Display = string(val.Str)
		case "type":
			a.Type = string(val.Str)
		case "token":
			a.Token = string(val.Str)
		case "arguments":
			a.Args = parseArgs(val)
		case "flags":
			for _, f := range val.Elems {
				switch string(f.Str) {
				case "optional":
					a.Optional = true
				case "multiple":
					a.Multiple = true
				case "multiple_token":
					a.MultipleToken = true
				}
			}
		}
	}
	return a
}

// renderArgs renders a list of arguments joined by sep, as redis-cli builds its help
// from COMMAND DOCS: "[TOKEN name [name ...]]" and so on.
func renderArgs(args []Arg, sep string) string {
	parts := make([]string, 0, len(args))
	for i := range args {
		parts = append(parts, renderArg(&args[i]))
	}
	return strings.Join(parts, sep)
}

// renderArg renders one argument.
func renderArg(a *Arg) string {
	var repeat string
	switch a.Type {
	case "oneof":
		repeat = renderArgs(a.Args, "|")
	case "block":
		repeat = renderArgs(a.Args, " ")
	case "pure-token":
	default:
		repeat = a.label()
	}
	token := a.Token
	if a.Type == "pure-token" && token == "" {
		token = `""` // MIGRATE's empty key
	}
	if token != "" && a.Type != "pure-token" {
		token += " "
	}
	var b strings.Builder
	if a.Optional {
		b.WriteString("[")
	}
	b.WriteString(token + repeat)
	if a.Multiple {
		b.WriteString(" [")
		if a.MultipleToken {
			b.WriteString(token)
		}
		b.WriteString(repeat + " ...]")
	}
	if a.Optional {
		b.WriteString("]")
	}
	return b.String()
}
