package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/rcli-dev/rcli/internal/resp"
)

// helpEntry is the help of one command or subcommand, as redis-cli shows it.
type helpEntry struct {
	name    string // "SET", "CLIENT LIST"
	params  string // "key value [NX|XX] ..."
	summary string
	since   string
	group   string
}

// help answers "help", "help <command> [<subcommand>]" and "help @<group>" locally, as
// redis-cli does, from the server's own COMMAND DOCS: one round trip for a command,
// the whole table for a group. It prints redis-cli's layout with "\n" line ends, and
// colour only where replies would be coloured.
func (a *app) help(ctx context.Context, words [][]byte) error {
	if len(words) == 0 {
		writeGenericHelp(a.io.Out)
		return nil
	}
	group := ""
	query := resp.NewCommand("COMMAND", "DOCS")
	if w := string(words[0]); strings.HasPrefix(w, "@") {
		group = w[1:]
	} else {
		query.Args = append(query.Args, words[0])
	}
	v, err := a.do(ctx, query)
	if err != nil {
		return err
	}
	if v.Kind == resp.Error {
		return &usageError{msg: "rcli: help needs COMMAND DOCS (Redis 7.0 or later): " + string(v.Str)}
	}
	var matches []helpEntry
	for _, e := range helpEntries(v) {
		if group != "" {
			if strings.EqualFold(e.group, group) {
				matches = append(matches, e)
			}
			continue
		}
		names := strings.Fields(e.name)
		if len(words) > len(names) {
			continue
		}
		match := true
		for i, w := range words {
			if !strings.EqualFold(string(w), names[i]) {
				match = false
				break
			}
		}
		if match {
			matches = append(matches, e)
		}
	}
	sort.Slice(matches, func(i, j int) bool { return matches[i].name < matches[j].name })
	var b strings.Builder
	for _, e := range matches {
		a.writeHelpEntry(&b, e, group == "")
	}
	b.WriteString("\n")
	_, err = io.WriteString(a.io.Out, b.String())
	return err
}

// writeHelpEntry writes one entry in redis-cli's layout: the name in bold, the
// arguments in grey, then summary, since and (outside a group listing) group.
func (a *app) writeHelpEntry(b *strings.Builder, e helpEntry, withGroup bool) {
	paint := func(code, s string) string {
		if !a.out.Color {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	b.WriteString("\n  " + paint("1", e.name))
	if e.params != "" {
		b.WriteString(" " + paint("90", e.params))
	}
	b.WriteString("\n  " + paint("33", "summary:") + " " + e.summary + "\n")
	if e.since != "" {
		b.WriteString("  " + paint("33", "since:") + " " + e.since + "\n")
	}
	if withGroup {
		b.WriteString("  " + paint("33", "group:") + " " + e.group + "\n")
	}
}

// writeGenericHelp prints what "help" alone prints.
func writeGenericHelp(w io.Writer) {
	fmt.Fprintf(w, "rcli %s (redis-cli 7.0 compatible)\n", version())
	fmt.Fprint(w, `To get help about Redis commands type:
      "help @<group>" to get a list of commands in <group>
      "help <command>" for help on <command>
      "quit" to exit
`)
}

// pairs returns the key/value elements of a map, which RESP2 sends as a flat array.
func pairs(v resp.Value) []resp.Value {
	if (v.Kind == resp.Map || v.Kind == resp.Array) && len(v.Elems)%2 == 0 {
		return v.Elems
	}
	return nil
}

// helpEntries flattens a COMMAND DOCS reply into entries for every command and
// subcommand in it.
func helpEntries(docs resp.Value) []helpEntry {
	var out []helpEntry
	kv := pairs(docs)
	for i := 0; i+1 < len(kv); i += 2 {
		out = appendHelpEntries(out, string(kv[i].Str), kv[i+1])
	}
	return out
}

// appendHelpEntries appends the entry for one command's docs and its subcommands'.
func appendHelpEntries(out []helpEntry, name string, doc resp.Value) []helpEntry {
	e := helpEntry{name: strings.ToUpper(strings.ReplaceAll(name, "|", " "))}
	var subs resp.Value
	kv := pairs(doc)
	for i := 0; i+1 < len(kv); i += 2 {
		val := kv[i+1]
		switch string(kv[i].Str) {
		case "summary":
			e.summary = string(val.Str)
		case "since":
			e.since = string(val.Str)
		case "group":
			e.group = string(val.Str)
		case "arguments":
			e.params = argumentList(val, " ")
		case "subcommands":
			subs = val
		}
	}
	out = append(out, e)
	skv := pairs(subs)
	for i := 0; i+1 < len(skv); i += 2 {
		out = appendHelpEntries(out, string(skv[i].Str), skv[i+1])
	}
	return out
}

// argumentList renders a list of argument docs joined by sep.
func argumentList(args resp.Value, sep string) string {
	parts := make([]string, 0, len(args.Elems))
	for _, arg := range args.Elems {
		parts = append(parts, argument(arg))
	}
	return strings.Join(parts, sep)
}

// argument renders one argument doc the way redis-cli 7.2 builds its hints from
// COMMAND DOCS: "[TOKEN name [name ...]]" and so on.
func argument(doc resp.Value) string {
	var name, display, typ, token string
	var optional, multiple, multipleToken bool
	var nested resp.Value
	kv := pairs(doc)
	for i := 0; i+1 < len(kv); i += 2 {
		val := kv[i+1]
		switch string(kv[i].Str) {
		case "name":
			name = string(val.Str)
		case "display_text":
			display = string(val.Str)
		case "type":
			typ = string(val.Str)
		case "token":
			token = string(val.Str)
		case "arguments":
			nested = val
		case "flags":
			for _, f := range val.Elems {
				switch string(f.Str) {
				case "optional":
					optional = true
				case "multiple":
					multiple = true
				case "multiple_token":
					multipleToken = true
				}
			}
		}
	}
	if display != "" {
		name = display
	}
	var repeat string
	switch typ {
	case "oneof":
		repeat = argumentList(nested, "|")
	case "block":
		repeat = argumentList(nested, " ")
	case "pure-token":
	default:
		repeat = name
	}
	if typ == "pure-token" && token == "" {
		token = `""` // MIGRATE's empty key
	}
	if token != "" && typ != "pure-token" {
		token += " "
	}
	var b strings.Builder
	if optional {
		b.WriteString("[")
	}
	b.WriteString(token + repeat)
	if multiple {
		b.WriteString(" [")
		if multipleToken {
			b.WriteString(token)
		}
		b.WriteString(repeat + " ...]")
	}
	if optional {
		b.WriteString("]")
	}
	return b.String()
}
