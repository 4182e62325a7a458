package repl

import (
	"strconv"
	"strings"

	"github.com/rcli-dev/rcli/internal/resp"
)

// Hint returns the hint shown after the cursor for a partly typed line: the syntax of
// what is left to type, as redis-cli 7.2 builds it from COMMAND DOCS. The words typed
// so far are matched against the command's arguments (tokens, choices, blocks,
// optional and repeated arguments, integer and double types), and the hint holds only
// the parts not matched yet, so it shrinks as arguments are typed; a word that cannot
// match (a word where an integer belongs) ends the hint. The word being typed counts
// only once a space follows it, except a command's name, which shows the hint as soon
// as it is complete. A hint starts with a space when the line does not end
// in one. It returns "" when there is nothing to show: an unknown command, a line
// whose quoting is open, or a line that does not fit the syntax.
func Hint(d *Docs, line string) string {
	args, err := resp.SplitArgs(line)
	if err != nil || len(args) == 0 {
		return ""
	}
	endSpace := isSpaceByte(line[len(line)-1])
	words := make([]string, len(args))
	for i, a := range args {
		words[i] = string(a)
	}
	if !endSpace && len(words) > 1 {
		words = words[:len(words)-1] // the word being typed is not matched yet
	}
	// A lone word is matched as soon as it names a command, as redis-cli 7.0 does.
	c := d.Lookup(words)
	if c == nil || len(words) < c.Words {
		return ""
	}
	hint := commandHint(c, words[c.Words:])
	if hint == "" {
		return ""
	}
	if !endSpace {
		hint = " " + hint
	}
	return hint
}

func isSpaceByte(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f'
}

// commandHint matches the argument words against the command's argument docs and
// renders what is left.
func commandHint(c *CommandDoc, words []string) string {
	if c.Args == nil {
		return ""
	}
	ms := newMatches(c.Args)
	if matchArgs(words, ms) != len(words) {
		return ""
	}
	var b strings.Builder
	hintArgs(&b, ms, " ")
	return strings.TrimRight(b.String(), " ")
}

// match is the matching state of one argument: how many words it took, and whether
// its token, its value and all of it were typed.
type match struct {
	arg     *Arg
	matched int
	token   bool
	name    bool
	all     bool
	sub     []*match
}

func newMatches(args []Arg) []*match {
	ms := make([]*match, len(args))
	for i := range args {
		ms[i] = &match{arg: &args[i], sub: newMatches(args[i].Args)}
	}
	return ms
}

// clear forgets what the argument and its parts matched.
func (m *match) clear() {
	m.matched, m.token, m.name, m.all = 0, false, false, false
	for _, s := range m.sub {
		s.clear()
	}
}

// matchArgs matches as many words as it can against a list of arguments and returns
// how many it matched; 0 when a required argument does not match. Consecutive
// optional arguments may come in any order.
func matchArgs(words []string, ms []*match) int {
	next := 0
	for i := 0; next < len(words) && i < len(ms); i++ {
		if ms[i].arg.Optional {
			last := i
			for last < len(ms) && ms[last].arg.Optional {
				last++
			}
			next += matchOptionalArgs(words[next:], ms[i:last])
			i = last - 1
			continue
		}
		n := matchArg(words[next:], ms[i])
		if n == 0 {
			return 0
		}
		next += n
	}
	return next
}

// matchOptionalArgs matches words against a run of optional arguments in any order.
// An argument matched before the last one counts as complete, so that the hint does
// not show its rest.
func matchOptionalArgs(words []string, ms []*match) int {
	next, last := 0, -1
	for next < len(words) {
		n, which := matchOneOptionalArg(words[next:], ms)
		if n == 0 {
			break
		}
		if last != -1 {
			ms[last].all = true
		}
		last = which
		next += n
	}
	return next
}

// matchOneOptionalArg matches the next words against the first optional argument not
// matched yet that takes them.
func matchOneOptionalArg(words []string, ms []*match) (n, which int) {
	for i, m := range ms {
		if m.matched != 0 {
			continue
		}
		if n := matchArg(words, m); n != 0 {
			return n, i
		}
	}
	return 0, -1
}

// matchArg matches the next words against one argument, as many times as it may be
// repeated, and returns how many words it took.
func matchArg(words []string, m *match) int {
	once := matchArgOnce(words, m)
	if !m.arg.Multiple {
		return once
	}
	total := once
	for m.all && total < len(words) {
		m.clear()
		if m.arg.Token != "" && !m.arg.MultipleToken {
			// The token comes once, before the first value only.
			once = matchNoTokenArg(words[total:], m)
			if m.matched != 0 {
				m.token = true
			}
		} else {
			once = matchArgOnce(words[total:], m)
		}
		total += once
	}
	m.all = false // more repetitions may follow
	return total
}

// matchArgOnce matches the argument's token, if it has one, then its value.
func matchArgOnce(words []string, m *match) int {
	if len(words) == 0 {
		return 0
	}
	if m.arg.Token != "" {
		if !strings.EqualFold(m.arg.Token, words[0]) {
			return 0
		}
		m.token, m.matched = true, 1
		if m.arg.Type == "pure-token" {
			m.all = true
			return 1
		}
		if len(words) == 1 {
			return 1
		}
		words = words[1:]
	}
	if matchNoTokenArg(words, m) == 0 {
		return 0
	}
	return m.matched
}

// matchNoTokenArg matches the value of an argument: its parts for a block, one of
// its choices for a oneof, a number for a numeric type, any word otherwise.
func matchNoTokenArg(words []string, m *match) int {
	if len(words) == 0 {
		return m.matched
	}
	switch m.arg.Type {
	case "block":
		m.matched += matchArgs(words, m.sub)
		m.all = true
		for _, s := range m.sub {
			if !s.all {
				m.all = false
			}
		}
	case "oneof":
		for _, s := range m.sub {
			if matchArg(words, s) != 0 {
				m.matched += s.matched
				m.all = s.all
				break
			}
		}
	case "integer", "unix-time":
		if leadingInteger(words[0]) {
			m.matched++
			m.name, m.all = true, true
		} else {
			m.matched, m.name = 0, false
		}
	case "double":
		if leadingDouble(words[0]) {
			m.matched++
			m.name, m.all = true, true
		} else {
			m.matched, m.name = 0, false
		}
	default:
		m.matched++
		m.name, m.all = true, true
	}
	return m.matched
}

// leadingInteger reports whether s starts with an integer, as sscanf("%lld") sees it.
func leadingInteger(s string) bool {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	return s != "" && s[0] >= '0' && s[0] <= '9'
}

// leadingDouble reports whether s starts with a floating-point number, as
// sscanf("%lf") sees it: digits, a point and digits, or inf and nan.
func leadingDouble(s string) bool {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	switch {
	case s == "":
		return false
	case s[0] >= '0' && s[0] <= '9':
		return true
	case s[0] == '.':
		return len(s) > 1 && s[1] >= '0' && s[1] <= '9'
	}
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "inf") || strings.HasPrefix(l, "nan")
}

// hintArgs renders the unmatched parts of a list of arguments joined by sep. A run of
// optional arguments shows first the one being typed, then, unless a required
// argument after the run has been reached, the others.
func hintArgs(b *strings.Builder, ms []*match, sep string) {
	mark := b.Len()
	separate := func(last bool) {
		if b.Len() > mark && !last {
			b.WriteString(sep)
			mark = b.Len()
		}
	}
	for i := 0; i < len(ms); i++ {
		if !ms[i].arg.Optional {
			hintArg(b, ms[i])
			separate(i == len(ms)-1)
			continue
		}
		j, incomplete := i, -1
		for ; j < len(ms) && ms[j].arg.Optional; j++ {
			if ms[j].matched != 0 && !ms[j].all {
				hintArg(b, ms[j])
				separate(i == len(ms)-1)
				incomplete = j
			}
		}
		if j == len(ms) || ms[j].matched == 0 {
			for ; i < j; i++ {
				if i != incomplete {
					hintArg(b, ms[i])
					separate(i == len(ms)-1)
				}
			}
		}
		i = j - 1
	}
}

// hintArg renders the unmatched part of one argument.
func hintArg(b *strings.Builder, m *match) {
	if m.all {
		return
	}
	a := m.arg
	bracket := a.Optional && m.matched == 0
	if bracket {
		b.WriteString("[")
	}
	if a.Token != "" && !m.token {
		b.WriteString(orEmpty(a.Token))
		if a.Type != "pure-token" {
			b.WriteString(" ")
		}
	}
	switch a.Type {
	case "oneof":
		if m.matched == 0 {
			hintArgs(b, m.sub, "|")
		} else {
			for _, s := range m.sub {
				if s.matched != 0 {
					hintArg(b, s)
				}
			}
		}
	case "block":
		hintArgs(b, m.sub, " ")
	case "pure-token":
	default:
		if !m.name {
			b.WriteString(orEmpty(a.label()))
		}
	}
	hintRepeat(b, m)
	if bracket {
		b.WriteString("]")
	}
}

// hintRepeat renders the repetition of a repeated argument: " [TOKEN name ...]". It
// always comes last in the argument's hint, so its matching state can be cleared.
func hintRepeat(b *strings.Builder, m *match) {
	a := m.arg
	if !a.Multiple {
		return
	}
	m.clear()
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	b.WriteString("[")
	if a.MultipleToken {
		b.WriteString(orEmpty(a.Token))
		if a.Type != "pure-token" {
			b.WriteString(" ")
		}
	}
	switch a.Type {
	case "oneof":
		hintArgs(b, m.sub, "|")
	case "block":
		hintArgs(b, m.sub, " ")
	case "pure-token":
	default:
		b.WriteString(orEmpty(a.label()))
	}
	b.WriteString(" ...]")
}

// orEmpty shows an empty word as "", as redis-cli does for MIGRATE's empty key.
func orEmpty(s string) string {
	if s == "" {
		return strconv.Quote("")
	}
	return s
}
