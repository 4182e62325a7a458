package repl

import (
	"fmt"
	"io"
	"strings"

	"github.com/rcli-dev/rcli/internal/resp"
)

// HelpQuery returns the COMMAND DOCS request that answers "help <topic>": the one
// command named first for "help cmd [sub]", every command for "help @group". The
// topic must not be empty (that is the generic help, which needs no server).
func HelpQuery(topic [][]byte) resp.Command {
	q := resp.NewCommand("COMMAND", "DOCS")
	if len(topic) > 0 && !strings.HasPrefix(string(topic[0]), "@") {
		q.Args = append(q.Args, topic[0])
	}
	return q
}

// WriteHelp writes what "help <topic>" prints, as redis-cli does: for "help cmd"
// every command and subcommand whose name starts with the words of the topic (so
// "help config" lists each CONFIG subcommand), for "help @group" every command of the
// group (without the group line), each as its name in bold, its arguments in grey,
// then summary, since and group, followed by an empty line. An unknown topic prints
// the empty line alone. Colour escapes are written only when color is set.
func WriteHelp(w io.Writer, d *Docs, topic [][]byte, color bool) error {
	var b strings.Builder
	group := ""
	if len(topic) > 0 && strings.HasPrefix(string(topic[0]), "@") {
		group = string(topic[0][1:])
	}
	for _, c := range d.Commands {
		if group != "" {
			if strings.EqualFold(c.Group, group) {
				writeHelpEntry(&b, c, false, color)
			}
			continue
		}
		if helpMatches(c, topic) {
			writeHelpEntry(&b, c, true, color)
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// helpMatches reports whether the words of topic begin the command's name.
func helpMatches(c *CommandDoc, topic [][]byte) bool {
	names := strings.Fields(c.Name)
	if len(topic) == 0 || len(topic) > len(names) {
		return false
	}
	for i, w := range topic {
		if !strings.EqualFold(string(w), names[i]) {
			return false
		}
	}
	return true
}

// writeHelpEntry writes one entry in redis-cli's layout: the name in bold, the
// arguments in grey, then summary, since and (outside a group listing) group.
func writeHelpEntry(b *strings.Builder, c *CommandDoc, withGroup, color bool) {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	b.WriteString("\n  " + paint("1", c.Name))
	if c.Params != "" {
		b.WriteString(" " + paint("90", c.Params))
	}
	b.WriteString("\n  " + paint("33", "summary:") + " " + c.Summary + "\n")
	if c.Since != "" {
		b.WriteString("  " + paint("33", "since:") + " " + c.Since + "\n")
	}
	if withGroup {
		b.WriteString("  " + paint("33", "group:") + " " + c.Group + "\n")
	}
}

// WriteGenericHelp writes what "help" alone prints. The shell's version also tells of
// Tab and of the hint preferences, which only it has.
func WriteGenericHelp(w io.Writer, version string, interactive bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "rcli %s (redis-cli 7.0 compatible)\n", version)
	b.WriteString(`To get help about Redis commands type:
      "help @<group>" to get a list of commands in <group>
      "help <command>" for help on <command>
`)
	if interactive {
		b.WriteString(`      "help <tab>" to get a list of possible help topics
`)
	}
	b.WriteString(`      "quit" to exit
`)
	if interactive {
		b.WriteString(`
To set rcli preferences:
      ":set hints" enable online hints
      ":set nohints" disable online hints

rcli's own commands:
      ":pool-stats" connection pool statistics per node
      ":topology" the cluster's nodes, slots and health
      ":route <key>" where a key's commands go
`)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
