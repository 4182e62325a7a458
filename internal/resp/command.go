package resp

import "strings"

// Command is one Redis command: its name and arguments, binary-safe.
type Command struct {
	Args [][]byte
}

// NewCommand returns a command made of string arguments.
func NewCommand(args ...string) Command {
	c := Command{Args: make([][]byte, len(args))}
	for i, a := range args {
		c.Args[i] = []byte(a)
	}
	return c
}

// Name returns the command's name in upper case, or "" for an empty command.
func (c Command) Name() string {
	if len(c.Args) == 0 {
		return ""
	}
	return strings.ToUpper(string(c.Args[0]))
}

// Is reports whether the command's name is name, ignoring case, without allocating.
func (c Command) Is(name string) bool {
	return len(c.Args) > 0 && strings.EqualFold(string(c.Args[0]), name)
}

// Arg returns argument i (0 is the name) as a string, or "" when there is none.
func (c Command) Arg(i int) string {
	if i < 0 || i >= len(c.Args) {
		return ""
	}
	return string(c.Args[i])
}
