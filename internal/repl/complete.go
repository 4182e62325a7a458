package repl

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/resp"
)

// Limits of key completion: a big keyspace must never stall the prompt.
const (
	keyScanTime  = 300 * time.Millisecond // the whole SCAN, every node included
	keyScanCount = 1000                   // SCAN's COUNT hint per call
	keyScanMax   = 200                    // candidates kept
)

// errEnoughKeys stops a completion SCAN once it has found keyScanMax keys.
var errEnoughKeys = errors.New("repl: enough keys")

// Complete returns what Tab may insert at the end of before, the text left of the
// cursor: the rest of each candidate, and the length in runes of the word being
// completed. It completes command names and subcommands (in the case of what was
// typed: "hge" gives "hgetall", "HGE" "HGETALL"), help topics after "help" (commands
// and @groups), and key names where the command's key specs put a key, found with a
// SCAN bounded in time and count. Keys that would need quoting are not offered.
func (s *Shell) Complete(before string) (suffixes []string, wordLen int) {
	d := s.currentDocs()
	if d == nil {
		return nil, 0
	}
	trimmed := strings.TrimLeft(before, " \t")
	if len(trimmed) >= 5 && strings.EqualFold(trimmed[:5], "help ") {
		topic := strings.TrimLeft(trimmed[5:], " \t")
		if strings.ContainsAny(topic, `"'`) {
			return nil, 0
		}
		return completeFrom(helpTopics(d), topic, lastWord(topic))
	}
	args, err := resp.SplitArgs(before)
	if err != nil {
		return nil, 0
	}
	words := make([]string, len(args))
	for i, a := range args {
		words[i] = string(a)
	}
	cur := ""
	if before != "" && !isSpaceByte(before[len(before)-1]) && len(words) > 0 {
		cur, words = words[len(words)-1], words[:len(words)-1]
		if lastWord(before) != cur {
			return nil, 0 // a quoted word: leave it alone
		}
	}
	switch len(words) {
	case 0:
		return completeFrom(commandNames(d), cur, cur)
	case 1:
		if c := d.find(strings.ToUpper(words[0])); c != nil && c.Container {
			caseRef := cur
			if !hasLetter(caseRef) {
				caseRef = words[0]
			}
			return completeFrom(subcommandNames(d, c.Name), cur, caseRef)
		}
	}
	return s.completeKey(words, cur)
}

// completeFrom returns the rest of every name that starts with prefix (ignoring
// case), cased like caseRef, and the length of prefix's last word.
func completeFrom(names []string, prefix, caseRef string) ([]string, int) {
	var out []string
	for _, n := range names {
		if len(n) >= len(prefix) && strings.EqualFold(n[:len(prefix)], prefix) {
			out = append(out, caseLike(n[len(prefix):], caseRef))
		}
	}
	return out, len([]rune(lastWord(prefix)))
}

// caseLike puts s in the case of ref: lower when ref has a lower-case letter, else
// upper, as redis-cli inserts names.
func caseLike(s, ref string) string {
	if strings.ToUpper(ref) != ref {
		return strings.ToLower(s)
	}
	return strings.ToUpper(s)
}

func hasLetter(s string) bool {
	return strings.ToUpper(s) != strings.ToLower(s)
}

// lastWord returns the text after the last space.
func lastWord(s string) string {
	if i := strings.LastIndexAny(s, " \t"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// commandNames returns the names of commands (not subcommands).
func commandNames(d *Docs) []string {
	var out []string
	for _, c := range d.Commands {
		if c.Words == 1 {
			out = append(out, c.Name)
		}
	}
	return out
}

// subcommandNames returns the second words of a container's subcommands.
func subcommandNames(d *Docs, container string) []string {
	var out []string
	for _, c := range d.Commands {
		if rest, ok := strings.CutPrefix(c.Name, container+" "); ok && c.Words == 2 {
			out = append(out, rest)
		}
	}
	return out
}

// helpTopics returns what "help" completes: every command and subcommand name, and
// every group as "@group".
func helpTopics(d *Docs) []string {
	out := make([]string, 0, len(d.Commands)+len(d.Groups))
	for _, c := range d.Commands {
		out = append(out, c.Name)
	}
	for _, g := range d.Groups {
		out = append(out, "@"+g)
	}
	return out
}

// completeKey completes a key name when the word being typed is where the command's
// key specs put a key.
func (s *Shell) completeKey(words []string, cur string) ([]string, int) {
	s.mu.Lock()
	cl, db, baseDB, auth := s.cl, s.st.db, s.opts.Pool.DB, s.st.auth
	s.mu.Unlock()
	if cl == nil || len(words) == 0 {
		return nil, 0
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.base), keyScanTime)
	defer cancel()
	if !isKeyPosition(ctx, cl, words, cur) {
		return nil, 0
	}
	pattern := globEscape(cur) + "*"
	var keys []string
	collect := func(key []byte) error {
		k := string(key)
		if strings.HasPrefix(k, cur) && !needsQuoting(k) && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
		if len(keys) >= keyScanMax {
			return errEnoughKeys
		}
		return nil
	}
	if cl.IsCluster() {
		_ = cl.Scan(ctx, cluster.ScanOptions{Match: pattern, Count: keyScanCount}, collect)
	} else {
		scanNode(ctx, cl, db != baseDB, db, auth, pattern, collect)
	}
	slices.Sort(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k[len(cur):]
	}
	return out, len([]rune(cur))
}

// isKeyPosition reports whether the word after words (cur, being typed) is a key of
// the command, by the server's key specs. The arguments after it are not known yet,
// so placeholders are added until the specs can be applied.
func isKeyPosition(ctx context.Context, cl *cluster.Client, words []string, cur string) bool {
	spec, err := cl.Spec(ctx, words[0])
	if err != nil || spec == nil {
		return false
	}
	idx := len(words)
	args := make([][]byte, 0, idx+4)
	for _, w := range words {
		args = append(args, []byte(w))
	}
	args = append(args, []byte(cur))
	for pad := 0; pad < 4; pad++ {
		if pos, err := spec.KeyPositions(args); err == nil {
			return slices.Contains(pos, idx)
		}
		args = append(args, []byte("x"))
	}
	return false
}

// scanNode walks a standalone server's keyspace with SCAN for completion, in the
// session's database, until fn stops it, the keyspace ends or ctx expires.
func scanNode(ctx context.Context, cl *cluster.Client, selectDB bool, db int, auth [][]byte, pattern string, fn func([]byte) error) {
	addr := cl.SeedAddr()
	c, err := cl.Acquire(ctx, addr)
	if err != nil {
		return
	}
	defer cl.Release(addr, c)
	if len(auth) > 0 {
		if v, err := c.Do(ctx, resp.Command{Args: append([][]byte{[]byte("AUTH")}, auth...)}); err != nil || v.Kind == resp.Error {
			return
		}
	}
	if selectDB {
		if v, err := c.Do(ctx, resp.NewCommand("SELECT", strconv.Itoa(db))); err != nil || v.Kind == resp.Error {
			return
		}
	}
	cursor := "0"
	for {
		v, err := c.Do(ctx, resp.NewCommand("SCAN", cursor, "MATCH", pattern, "COUNT", strconv.Itoa(keyScanCount)))
		if err != nil || v.Kind != resp.Array || len(v.Elems) != 2 {
			return
		}
		for _, k := range v.Elems[1].Elems {
			if fn(k.Str) != nil {
				return
			}
		}
		if cursor = v.Elems[0].Text(); cursor == "0" {
			return
		}
	}
}

// globEscape escapes the characters SCAN's MATCH treats as a pattern.
func globEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// needsQuoting reports whether a key cannot be typed as it is: it holds a space, a
// quote, a backslash or a byte that is not printable ASCII.
func needsQuoting(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '\\' {
			return true
		}
	}
	return k == ""
}
