package repl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rcli-dev/rcli/internal/resp"
)

// Notice is an error whose text is shown to the user as it is: redis-cli's own words
// for a line it will not run, with the program's name changed.
type Notice string

// Error returns the text to show.
func (n Notice) Error() string { return string(n) }

// The notices of ParseLine and ParseConnect.
const (
	// ErrInvalidArgs reports a line whose quoting is unbalanced; nothing is sent.
	ErrInvalidArgs Notice = "Invalid argument(s)"
	// ErrInvalidRepeat reports an "N cmd" line whose N is not a count of 1 or more.
	ErrInvalidRepeat Notice = "Invalid rcli repeat command option value."
	// ErrInvalidPort reports a "connect host port" line whose port is not a port number.
	ErrInvalidPort Notice = "Invalid server port."
)

// Line is one parsed input line: a command, and how many times to run it.
type Line struct {
	Args   [][]byte // the command and its arguments; empty for a blank line
	Repeat int64    // 1, or N for a line "N cmd ..."
}

// ParseLine splits a typed line into arguments with redis-cli's quoting rules and
// takes off a leading repeat count: "3 PING" runs PING three times. A first word that
// is a number counts only when more words follow, so "3" alone is the command "3".
// The errors are ErrInvalidArgs and ErrInvalidRepeat.
func ParseLine(s string) (Line, error) {
	args, err := resp.SplitArgs(s)
	if err != nil {
		return Line{}, ErrInvalidArgs
	}
	l := Line{Args: args, Repeat: 1}
	if len(args) > 1 {
		if n, isNumber, ok := parseRepeat(args[0]); isNumber {
			if !ok {
				return Line{}, ErrInvalidRepeat
			}
			l.Repeat, l.Args = n, args[1:]
		}
	}
	return l, nil
}

// parseRepeat reads the "N" of a line "N cmd ...". isNumber says the word is a number
// at all (else it is the command's name); ok says it is a valid count (1 or more), as
// redis-cli's strtol check does.
func parseRepeat(word []byte) (n int64, isNumber, ok bool) {
	n, err := strconv.ParseInt(string(word), 10, 64)
	var ne *strconv.NumError
	switch {
	case len(word) == 0:
		return 0, true, false // strtol of "" consumes everything and gives 0
	case err == nil:
		return n, true, n > 0
	case errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange):
		return 0, true, false
	}
	return 0, false, false
}

// Meta is a command that the client answers itself instead of sending it.
type Meta int

// The meta commands, as redis-cli knows them, plus rcli's own ":" commands. None of
// them shadows a Redis command: quit, exit, clear, connect and restart are not
// commands a server runs from a client's prompt, and every rcli command starts with ':'.
const (
	NotMeta     Meta = iota // a command for the server
	MetaQuit                // quit, exit
	MetaHelp                // help ..., ? ...
	MetaClear               // clear (exactly)
	MetaConnect             // connect host port (exactly two arguments)
	MetaRestart             // restart: only meaningful in redis-cli's Lua debugger
	MetaColon               // :set ..., :pool-stats, :topology, :route ...
)

// Classify says whether args (a command and its arguments, as ParseLine returns them)
// is a meta command and which.
func Classify(args [][]byte) Meta {
	if len(args) == 0 {
		return NotMeta
	}
	name := string(args[0])
	switch {
	case strings.EqualFold(name, "quit") || strings.EqualFold(name, "exit"):
		return MetaQuit
	case strings.EqualFold(name, "help") || name == "?":
		return MetaHelp
	case strings.EqualFold(name, "clear") && len(args) == 1:
		return MetaClear
	case strings.EqualFold(name, "connect") && len(args) == 3:
		return MetaConnect
	case strings.EqualFold(name, "restart"):
		return MetaRestart
	case strings.HasPrefix(name, ":"):
		return MetaColon
	}
	return NotMeta
}

// RestartMessage is what "restart" prints outside a Lua debugging session.
const RestartMessage = "Use 'restart' only in Lua debugging mode."

// ParseConnect reads the host and port of a "connect host port" line (MetaConnect).
// A port outside 0..65535 is ErrInvalidPort.
func ParseConnect(args [][]byte) (host string, port int, err error) {
	if len(args) != 3 {
		return "", 0, fmt.Errorf("repl: connect needs a host and a port, got %d arguments", len(args)-1)
	}
	port, perr := strconv.Atoi(string(args[2]))
	if perr != nil || port < 0 || port > 65535 {
		return "", 0, ErrInvalidPort
	}
	return string(args[1]), port, nil
}

// Preference is a setting changed with ":set".
type Preference int

// The preferences.
const (
	PrefHints   Preference = iota + 1 // :set hints
	PrefNoHints                       // :set nohints
)

// ParsePreference reads a ":set hints" or ":set nohints" line. Any other ":set" is an
// error that names the unknown preference, and any other ":" command one that names
// the unknown command, in redis-cli's words.
func ParsePreference(args [][]byte) (Preference, error) {
	if len(args) >= 2 && strings.EqualFold(string(args[0]), ":set") {
		switch strings.ToLower(string(args[1])) {
		case "hints":
			return PrefHints, nil
		case "nohints":
			return PrefNoHints, nil
		}
		return 0, Notice(fmt.Sprintf("unknown rcli preference '%s'", args[1]))
	}
	return 0, Notice(fmt.Sprintf("unknown rcli option '%s'", args[0]))
}
