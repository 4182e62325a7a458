package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/resp"
)

// script is a Lua script run by --eval: its text, its SHA1 (computed here, as the
// server computes it) and whether its shebang declares it free of writes.
type script struct {
	body     []byte
	sha      string
	noWrites bool
}

func newScript(body []byte) script {
	sum := sha1.Sum(body)
	return script{body: body, sha: hex.EncodeToString(sum[:]), noWrites: scriptNoWrites(body)}
}

// scriptNoWrites reports whether a script's shebang line ("#!lua flags=no-writes,...")
// declares that it writes nothing, which lets EVAL_RO run it on a replica.
func scriptNoWrites(body []byte) bool {
	line, _, _ := bytes.Cut(body, []byte("\n"))
	rest, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r"), []byte("#!lua"))
	if !ok {
		return false
	}
	for _, field := range strings.Fields(string(rest)) {
		if flags, ok := strings.CutPrefix(field, "flags="); ok {
			for _, f := range strings.Split(flags, ",") {
				if f == "no-writes" {
					return true
				}
			}
		}
	}
	return false
}

// evalMode runs --eval as redis-cli does (the script file, its keys, and after a lone
// "," its arguments), but sends EVALSHA with the script's SHA1 first and the script
// itself (EVAL) only when the server answers NOSCRIPT, so that a script already cached
// costs its hash on the wire, not its text. In cluster mode every key must hash to one
// slot, which is checked before anything is sent (a local CROSSSLOT error, printed as
// the server's would be), and the script runs on that slot's master. Under a replica
// read policy (--read-from) a script whose shebang declares flags=no-writes runs as
// EVALSHA_RO on a replica, falling back to EVAL_RO: Redis 7.0 does not copy the script
// cache to replicas.
func (a *app) evalMode(ctx context.Context) error {
	if err := a.connect(ctx); err != nil {
		return err
	}
	body, err := os.ReadFile(a.opts.eval)
	if err != nil {
		return &usageError{msg: fmt.Sprintf("Can't open file '%s': %s", a.opts.eval, describeFileError(err))}
	}
	sc := newScript(body)
	rest := [][]byte{nil} // the key count, then the keys and the arguments
	keys, comma := 0, false
	for _, w := range a.opts.command {
		if !comma && w == "," {
			comma = true
			continue
		}
		rest = append(rest, []byte(w))
		if !comma {
			keys++
		}
	}
	rest[0] = strconv.AppendInt(nil, int64(keys), 10)
	readOnly := sc.noWrites && a.opts.readFrom != "" && !strings.EqualFold(a.opts.readFrom, "master")
	evalName, shaName := "EVAL", "EVALSHA"
	if readOnly {
		evalName, shaName = "EVAL_RO", "EVALSHA_RO"
	}
	byHash := resp.Command{Args: append([][]byte{[]byte(shaName), []byte(sc.sha)}, rest...)}
	byText := resp.Command{Args: append([][]byte{[]byte(evalName), sc.body}, rest...)}
	for n := int64(0); a.opts.repeat < 0 || n < a.opts.repeat; n++ {
		if n > 0 {
			if err := sleep(ctx, a.opts.interval); err != nil {
				return err
			}
		}
		v, err := a.runScript(ctx, byHash, byText)
		if err != nil {
			return err
		}
		if a.opts.errCode && v.Kind == resp.Error {
			fmt.Fprintf(a.io.Err, "%s\n", v.Str)
			return &exitError{Code: 1}
		}
		if err := a.printReply(byText.Args, v); err != nil {
			return err
		}
	}
	return nil
}

// runScript sends the script by its hash and, on NOSCRIPT, by its text. In cluster
// mode a script whose keys span slots is refused before either is sent.
func (a *app) runScript(ctx context.Context, byHash, byText resp.Command) (resp.Value, error) {
	if a.sess.cl.IsCluster() {
		var cross *cluster.CrossSlotError
		if _, err := a.sess.cl.Locate(ctx, byText); errors.As(err, &cross) {
			cross.Command = "script"
			return resp.ErrorValue(cross.Error()), nil
		}
	}
	v, err := a.sess.Do(ctx, byHash)
	if err != nil || v.Kind != resp.Error || !bytes.HasPrefix(v.Str, []byte("NOSCRIPT")) {
		return v, err
	}
	return a.sess.Do(ctx, byText)
}
