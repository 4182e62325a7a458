package repl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rcli-dev/rcli/internal/resp"
)

// HistoryLimit is how many lines the history file keeps, the most recent ones.
const HistoryLimit = 1000

// History is the shell's history file. rcli writes it itself, rewriting it whole with
// mode 0600 after each line as redis-cli does, rather than letting the line editor
// append to it (chzyer/readline would create it world-readable). A line equal to the
// one before it is not added, and a line that carries a secret is never written (see
// Sensitive). A History is used by one goroutine.
type History struct {
	path  string
	lines []string
}

// HistoryPath returns where the history file lives: $RCLI_HISTFILE, else
// $REDISCLI_HISTFILE, else ~/.rcli_history. It returns "" when history is off: the
// chosen path is /dev/null, or there is no home directory to put it in.
func HistoryPath(getenv func(string) string) string {
	for _, name := range []string{"RCLI_HISTFILE", "REDISCLI_HISTFILE"} {
		if p := getenv(name); p != "" {
			if p == os.DevNull {
				return ""
			}
			return p
		}
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".rcli_history")
	}
	return ""
}

// OpenHistory reads the history file at path, which need not exist yet. An empty
// path gives a History that remembers lines in memory only.
func OpenHistory(path string) (*History, error) {
	h := &History{path: path}
	if path == "" {
		return h, nil
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return h, nil
	case err != nil:
		return h, fmt.Errorf("repl: read history: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			h.lines = append(h.lines, line)
		}
	}
	if len(h.lines) > HistoryLimit {
		h.lines = h.lines[len(h.lines)-HistoryLimit:]
	}
	return h, nil
}

// Lines returns the lines of the history, oldest first.
func (h *History) Lines() []string { return h.lines }

// Add records a line typed at the prompt and rewrites the file. Blank lines, a line
// equal to the last one, and lines that Sensitive flags are left out; so is a line
// that holds a newline, which the file could not keep as one line.
func (h *History) Add(line string) error {
	if strings.TrimSpace(line) == "" || strings.ContainsAny(line, "\r\n") || Sensitive(line) {
		return nil
	}
	if n := len(h.lines); n > 0 && h.lines[n-1] == line {
		return nil
	}
	h.lines = append(h.lines, line)
	if len(h.lines) > HistoryLimit {
		h.lines = h.lines[len(h.lines)-HistoryLimit:]
	}
	return h.save()
}

// save rewrites the file: a temporary file with mode 0600 in the same directory,
// renamed over the old one, so that a crash never leaves half a history and the file
// is never readable by others, not even for an instant. A symbolic link is followed,
// so the file it points to is the one replaced.
func (h *History) save() error {
	if h.path == "" {
		return nil
	}
	path := followLinks(h.path)
	var b strings.Builder
	for _, l := range h.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".rcli_history-*")
	if err != nil {
		return fmt.Errorf("repl: write history: %w", err)
	}
	// CreateTemp makes the file 0600 already; Chmod makes sure whatever the umask.
	err = tmp.Chmod(0o600)
	if _, werr := tmp.WriteString(b.String()); err == nil {
		err = werr
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("repl: write history %s: %w", path, err)
	}
	return nil
}

// followLinks returns the file a chain of symbolic links ends at, even when that
// file does not exist yet.
func followLinks(path string) string {
	for i := 0; i < 16; i++ {
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			return path
		}
		target, err := os.Readlink(path)
		if err != nil {
			return path
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		path = target
	}
	return path
}

// Sensitive reports whether a line carries a secret and must stay out of the history
// file, as redis-cli's isSensitiveCommand decides, and a little more:
//
//	AUTH ...
//	HELLO ... AUTH user password ...
//	ACL SETUSER | GETUSER | DELUSER ...
//	CONFIG SET with a password setting among its names (requirepass, masterauth,
//	    masteruser, tls-key-file-pass, tls-client-key-file-pass, or any name that
//	    holds "pass" or "auth")
//	MIGRATE ... AUTH password | AUTH2 user password ...
//	SENTINEL ... auth-pass | auth-user | sentinel-pass | sentinel-user ...
//
// each also after a repeat count ("3 AUTH ..."). A line whose quoting is broken is
// judged on its words as they stand, so an open quote cannot smuggle a secret into
// the file.
func Sensitive(line string) bool {
	var words []string
	if args, err := resp.SplitArgs(line); err == nil {
		for _, a := range args {
			words = append(words, string(a))
		}
	} else {
		for _, w := range strings.Fields(line) {
			words = append(words, strings.Trim(w, `"'`))
		}
	}
	if len(words) > 1 {
		if _, isNumber, _ := parseRepeat([]byte(words[0])); isNumber {
			words = words[1:]
		}
	}
	if len(words) == 0 {
		return false
	}
	is := func(i int, names ...string) bool {
		if i >= len(words) {
			return false
		}
		for _, n := range names {
			if strings.EqualFold(words[i], n) {
				return true
			}
		}
		return false
	}
	anyFrom := func(from int, names ...string) bool {
		for i := from; i < len(words); i++ {
			if is(i, names...) {
				return true
			}
		}
		return false
	}
	switch {
	case is(0, "auth"):
		return true
	case is(0, "hello"):
		return anyFrom(1, "auth")
	case is(0, "acl"):
		return is(1, "setuser", "getuser", "deluser")
	case is(0, "config"):
		if !is(1, "set") {
			return false
		}
		for i := 2; i < len(words); i++ {
			n := strings.ToLower(words[i])
			switch {
			case n == "masteruser", strings.Contains(n, "pass"), strings.Contains(n, "auth"):
				return true
			}
		}
		return false
	case is(0, "migrate"):
		return anyFrom(1, "auth", "auth2")
	case is(0, "sentinel"):
		return anyFrom(1, "auth-pass", "auth-user", "sentinel-pass", "sentinel-user")
	}
	return false
}
