package pubsub

import (
	"fmt"
	"strings"

	"github.com/rcli-dev/rcli/internal/resp"
)

// Kind says what a subscription is to.
type Kind uint8

// The kinds of subscription.
const (
	Channel Kind = iota // a channel (SUBSCRIBE), delivered as "message"
	Pattern             // a glob-style pattern (PSUBSCRIBE), delivered as "pmessage"
	Shard               // a shard channel (SSUBSCRIBE), delivered as "smessage"
)

// String names the kind in words: "channel", "pattern" or "shard channel".
func (k Kind) String() string {
	switch k {
	case Channel:
		return "channel"
	case Pattern:
		return "pattern"
	case Shard:
		return "shard channel"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// command returns the command that subscribes to this kind.
func (k Kind) command() string {
	return [...]string{"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"}[k]
}

// confirmation returns the type of the server's confirmation of a subscription.
func (k Kind) confirmation() string {
	return [...]string{"subscribe", "psubscribe", "ssubscribe"}[k]
}

// cancellation returns the type of the server's confirmation of an unsubscription.
func (k Kind) cancellation() string {
	return [...]string{"unsubscribe", "punsubscribe", "sunsubscribe"}[k]
}

// KindOf reports the kind of subscription a command makes: SUBSCRIBE, PSUBSCRIBE or
// SSUBSCRIBE, in any case.
func KindOf(cmd resp.Command) (Kind, bool) {
	switch {
	case cmd.Is("subscribe"):
		return Channel, true
	case cmd.Is("psubscribe"):
		return Pattern, true
	case cmd.Is("ssubscribe"):
		return Shard, true
	}
	return 0, false
}

// Subscription is one channel, pattern or shard channel subscribed to.
type Subscription struct {
	Kind Kind
	Name string
}

// Message is one value a subscription delivered: a published message, or a
// confirmation returned by Subscribe and Unsubscribe.
type Message struct {
	// Type is the server's name for it: "message", "pmessage" or "smessage" for a
	// published message; "subscribe", "psubscribe", "ssubscribe", "unsubscribe",
	// "punsubscribe" or "sunsubscribe" for a confirmation.
	Type    string
	Pattern string // the pattern that matched, for "pmessage" and the pattern confirmations
	Channel string // the channel, for messages and channel confirmations
	Payload []byte // what was published
	Count   int64  // for a confirmation: how many subscriptions of its group are in force
	Addr    string // the node that delivered it; "" for a confirmation made locally
	// Value is the message as a client on a single connection would have received it:
	// an array in RESP2, a push in RESP3. It is what the CLI prints.
	Value resp.Value
}

// Subscription returns what the message was delivered for: its pattern for a
// "pmessage", else its channel, with the kind that its type implies.
func (m Message) Subscription() Subscription {
	switch m.Type {
	case "pmessage", "psubscribe", "punsubscribe":
		return Subscription{Kind: Pattern, Name: m.Pattern}
	case "smessage", "ssubscribe", "sunsubscribe":
		return Subscription{Kind: Shard, Name: m.Channel}
	}
	return Subscription{Kind: Channel, Name: m.Channel}
}

// parse reads a value from a subscription connection. It reports false for anything
// that is neither a message nor a confirmation (such as a PING's reply).
func parse(v resp.Value) (Message, bool) {
	if v.Kind != resp.Array && v.Kind != resp.Push || len(v.Elems) < 3 {
		return Message{}, false
	}
	e := v.Elems
	if e[0].Kind != resp.BulkString && e[0].Kind != resp.SimpleString {
		return Message{}, false
	}
	m := Message{Type: strings.ToLower(string(e[0].Str)), Value: v}
	switch m.Type {
	case "message", "smessage":
		m.Channel, m.Payload = string(e[1].Str), e[2].Str
	case "pmessage":
		if len(e) < 4 {
			return Message{}, false
		}
		m.Pattern, m.Channel, m.Payload = string(e[1].Str), string(e[2].Str), e[3].Str
	case "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe":
		m.Channel, m.Count = string(e[1].Str), e[2].Int
	case "psubscribe", "punsubscribe":
		m.Pattern, m.Count = string(e[1].Str), e[2].Int
	default:
		return Message{}, false
	}
	return m, true
}

// confirmation makes the confirmation a single connection would have received for a
// subscription (or, with cancel, an unsubscription), in the given protocol.
func confirmation(proto int, s Subscription, cancel bool, count int64) Message {
	typ := s.Kind.confirmation()
	if cancel {
		typ = s.Kind.cancellation()
	}
	kind := resp.Array
	if proto == 3 {
		kind = resp.Push
	}
	m := Message{Type: typ, Count: count}
	if s.Kind == Pattern {
		m.Pattern = s.Name
	} else {
		m.Channel = s.Name
	}
	name := resp.StringValue(s.Name)
	if cancel && s.Name == "" {
		name = resp.NullValue() // unsubscribing from everything while subscribed to nothing
	}
	m.Value = resp.Value{Kind: kind, Elems: []resp.Value{resp.StringValue(typ), name, resp.IntValue(count)}}
	return m
}
