package pubsub

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// EventKind says what happened to some subscriptions.
type EventKind uint8

// The kinds of event. Lost and Moved open a gap, in which messages are missed;
// Restored closes it.
const (
	// Lost: a subscription connection broke (Err says how); its subscriptions are
	// being restored, and messages published until then are missed.
	Lost EventKind = iota
	// Moved: the server dropped shard channels because their slot moved to another
	// master (a migration or a failover); they are being subscribed at the new owner.
	Moved
	// Restored: the subscriptions are in force again at Addr; Gap says how long they
	// were not.
	Restored
	// Retrying: an attempt to restore subscriptions failed (Err); more follow.
	Retrying
	// Dropped: the server refused to restore the subscriptions (Err): they are given up.
	Dropped
)

// String names the kind: "lost", "moved", "restored", "retrying" or "dropped".
func (k EventKind) String() string {
	switch k {
	case Lost:
		return "lost"
	case Moved:
		return "moved"
	case Restored:
		return "restored"
	case Retrying:
		return "retrying"
	case Dropped:
		return "dropped"
	}
	return fmt.Sprintf("event(%d)", k)
}

// Event reports a change in the state of some subscriptions: a gap opening (Lost,
// Moved) or closing (Restored), or the work in between.
type Event struct {
	Kind EventKind
	Addr string         // the node lost or left (Lost, Moved), or now serving (Restored)
	Subs []Subscription // the subscriptions concerned
	Err  error          // why (Lost, Retrying, Dropped)
	Gap  time.Duration  // Restored: how long the subscriptions were not in force
	Time time.Time      // when it happened
}

// String describes the event in one line, for a log or stderr.
func (e Event) String() string {
	subs := describe(e.Subs)
	switch e.Kind {
	case Lost:
		return fmt.Sprintf("pub/sub: lost the connection to %s (%v): %s not in force, messages published until they are restored are missed",
			e.Addr, e.Err, subs)
	case Moved:
		return fmt.Sprintf("pub/sub: %s dropped %s (their slot moved): subscribing at the new owner, messages published meanwhile are missed",
			e.Addr, subs)
	case Restored:
		return fmt.Sprintf("pub/sub: restored %s at %s after a gap of %s", subs, e.Addr, e.Gap.Round(time.Millisecond))
	case Retrying:
		return fmt.Sprintf("pub/sub: restoring %s: %v; retrying", subs, e.Err)
	case Dropped:
		return fmt.Sprintf("pub/sub: gave up %s: %v", subs, e.Err)
	}
	return fmt.Sprintf("pub/sub: %s %s at %s", e.Kind, subs, e.Addr)
}

// describe counts subscriptions by kind, naming them when there are few:
// `2 channels (a, b), 30 shard channels`.
func describe(subs []Subscription) string {
	var byKind [3][]string
	for _, s := range subs {
		if int(s.Kind) < len(byKind) {
			byKind[s.Kind] = append(byKind[s.Kind], s.Name)
		}
	}
	var parts []string
	for k, names := range byKind {
		if len(names) == 0 {
			continue
		}
		noun := Kind(k).String()
		if len(names) > 1 {
			noun += "s"
		}
		part := fmt.Sprintf("%d %s", len(names), noun)
		if len(names) <= 3 {
			sort.Strings(names)
			part += " (" + strings.Join(names, ", ") + ")"
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return "no subscription"
	}
	return strings.Join(parts, ", ")
}
