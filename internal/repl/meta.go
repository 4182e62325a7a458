package repl

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/inspect"
)

// docsLoadTime bounds the background load of the server's command docs.
const docsLoadTime = 15 * time.Second

// currentDocs returns the server's command docs once loaded, else the built-in ones.
func (s *Shell) currentDocs() *Docs {
	if d := s.docs.Load(); d != nil {
		return d
	}
	s.fallback.once.Do(func() {
		s.fallback.docs, _ = FallbackDocs() // built in and tested: cannot fail
	})
	return s.fallback.docs
}

// loadDocs starts loading the server's command docs in the background, from the
// disk cache or the server; hints and completion use the built-in docs until then,
// and for good when the server has none to give (they are then trimmed to the
// commands the server's version has).
func (s *Shell) loadDocs(ctx context.Context) {
	s.docs.Store(nil)
	cl := s.cl
	addr := s.promptAddr()
	ctx, cancel := context.WithTimeout(ctx, docsLoadTime)
	done := make(chan struct{})
	s.docsCancel, s.docsDone = cancel, done
	go func() {
		defer close(done)
		defer cancel()
		c, err := cl.Acquire(ctx, addr)
		if err != nil {
			return
		}
		d, version, err := LoadDocs(ctx, c.Do, s.cfg.CacheDir)
		cl.Release(addr, c)
		switch {
		case err == nil:
			s.docs.Store(d)
		case version != "":
			if fb, ferr := FallbackDocs(); ferr == nil {
				s.docs.Store(fb.SinceVersion(version))
			}
		}
	}()
}

// helpDocs returns the docs for help, waiting a little for a load under way.
func (s *Shell) helpDocs(ctx context.Context) *Docs {
	if s.docsDone != nil {
		t := time.NewTimer(3 * time.Second)
		defer t.Stop()
		select {
		case <-s.docsDone:
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return s.currentDocs()
}

// help answers "help", "help <command> [<subcommand>]" and "help @<group>" from the
// command docs, with no round trip of its own.
func (s *Shell) help(ctx context.Context, topic [][]byte) {
	var err error
	if len(topic) == 0 {
		err = WriteGenericHelp(s.out, s.cfg.Version, true)
	} else {
		err = WriteHelp(s.out, s.helpDocs(ctx), topic, s.cfg.Format.Color)
	}
	if err != nil {
		s.complain(fmt.Sprintf("rcli: write stdout: %v", err))
	}
}

// colon runs the shell's own ":" commands: ":set hints|nohints", ":pool-stats",
// ":topology" and ":route KEY...", the last three with an optional "--json".
func (s *Shell) colon(ctx context.Context, args [][]byte) {
	name := strings.ToLower(string(args[0]))
	rest := args[1:]
	asJSON := false
	if n := len(rest); n > 0 && string(rest[n-1]) == "--json" && name != ":set" {
		asJSON, rest = true, rest[:n-1]
	}
	var err error
	switch name {
	case ":pool-stats":
		err = s.poolStats(asJSON)
	case ":topology":
		err = s.topology(ctx, asJSON)
	case ":route":
		err = s.route(ctx, rest, asJSON)
	default:
		pref, perr := ParsePreference(args)
		if perr != nil {
			s.complain(perr.Error())
			return
		}
		s.hints.Store(pref == PrefHints)
		return
	}
	if err != nil {
		s.fail(err)
	}
}

// poolStats prints each node's pool statistics, as `rcli pool-stats` does without a
// probe.
func (s *Shell) poolStats(asJSON bool) error {
	if s.cl == nil {
		return fmt.Errorf("rcli: not connected")
	}
	roles := map[string]string{}
	if !s.cl.IsCluster() {
		roles[s.cl.SeedAddr()] = "standalone"
	} else if t := s.cl.Topology(); t != nil {
		for _, sh := range t.Shards {
			roles[sh.Master.Addr] = "master"
			for _, r := range sh.Replicas {
				roles[r.Addr] = "replica"
			}
		}
	}
	var rows []inspect.PoolRow
	for _, p := range s.cl.Pools() {
		rows = append(rows, inspect.PoolRow{Addr: p.Addr, Role: roles[p.Addr], Stats: p.Stats})
	}
	return inspect.PoolStats(s.out, rows, asJSON)
}

// topology prints the cluster's topology as every node sees it, merged, as `rcli
// topology show` does. Against a server started without -c it asks anyway, so the
// server says whether it is a cluster.
func (s *Shell) topology(ctx context.Context, asJSON bool) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cl := s.cl
	if cl == nil || !cl.IsCluster() {
		opts := s.opts
		opts.Cluster = true
		c, err := cluster.New(opts)
		if err != nil {
			return err
		}
		defer c.Close()
		cl = c
	}
	t, err := cl.Survey(ctx)
	if err != nil {
		return err
	}
	return inspect.Topology(s.out, t, asJSON)
}

// route prints where each key's commands go, as `rcli route` does.
func (s *Shell) route(ctx context.Context, keys [][]byte, asJSON bool) error {
	if len(keys) == 0 {
		s.complain("usage: :route KEY [KEY ...] [--json]")
		return nil
	}
	if s.cl == nil {
		return fmt.Errorf("rcli: not connected")
	}
	if s.cl.IsCluster() && s.cl.Topology() == nil {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := s.cl.Refresh(ctx); err != nil {
			return err
		}
	}
	for i, k := range keys {
		if i > 0 && !asJSON {
			fmt.Fprintln(s.out)
		}
		if err := inspect.Route(s.out, s.cl.RouteKey(string(k)), asJSON); err != nil {
			return err
		}
	}
	return nil
}

// Hint returns the hint for a line being typed (see the package function Hint), or
// "" when hints are off. The line editor calls it on every redraw.
func (s *Shell) Hint(line string) string {
	if !s.hints.Load() {
		return ""
	}
	return Hint(s.currentDocs(), line)
}
