package cluster

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Redirect is a MOVED or ASK error reply, parsed.
type Redirect struct {
	Ask  bool   // ASK: ask the target once, with ASKING first; MOVED otherwise
	Slot int    // the slot the reply is about
	Addr string // the target as host:port; "" when the server does not know the endpoint
}

// RedirectError reports a MOVED or ASK reply that is not well formed. The command it
// answered did not run, but where it should go is unknown.
type RedirectError struct {
	Reply string // the reply as the server sent it
	Msg   string // what is wrong with it
}

// Error describes the malformed reply.
func (e *RedirectError) Error() string {
	return fmt.Sprintf("cluster: malformed redirect %q: %s", clipReply(e.Reply), e.Msg)
}

// ParseRedirect parses an error reply's text. It reports ok == false when the reply is
// neither MOVED nor ASK. Every form Redis sends is understood:
//   - "MOVED 3999 10.0.0.1:6381";
//   - an IPv6 host without brackets, split at the last colon ("MOVED 1 ::1:6381"), or
//     with them;
//   - an empty host (":6381"), which means the host of the node that answered, given as
//     from (a host:port);
//   - "?" as the host (unknown endpoint), which gives Addr == "": refresh, never dial.
//
// Anything else that starts with MOVED or ASK is a *RedirectError.
func ParseRedirect(reply, from string) (r Redirect, ok bool, err error) {
	kind, rest, _ := strings.Cut(reply, " ")
	switch kind {
	case "MOVED":
	case "ASK":
		r.Ask = true
	default:
		return Redirect{}, false, nil
	}
	fields := strings.Fields(rest)
	if len(fields) != 2 {
		return Redirect{}, true, &RedirectError{Reply: reply, Msg: "want a slot and an address"}
	}
	slot, convErr := strconv.Atoi(fields[0])
	if convErr != nil || slot < 0 || slot >= SlotCount {
		return Redirect{}, true, &RedirectError{Reply: reply, Msg: "bad slot"}
	}
	r.Slot = slot
	endpoint := fields[1]
	colon := strings.LastIndexByte(endpoint, ':')
	if colon < 0 {
		return Redirect{}, true, &RedirectError{Reply: reply, Msg: "address without a port"}
	}
	host, portText := endpoint[:colon], endpoint[colon+1:]
	port, convErr := strconv.Atoi(portText)
	if convErr != nil || port <= 0 || port > 65535 {
		return Redirect{}, true, &RedirectError{Reply: reply, Msg: "bad port"}
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	switch {
	case host == "?":
		return r, true, nil
	case host == "":
		fromHost, _, splitErr := net.SplitHostPort(from)
		if splitErr != nil {
			return Redirect{}, true, &RedirectError{Reply: reply, Msg: "empty host and no answering node to stand for it"}
		}
		host = fromHost
	case strings.ContainsAny(host, " /\\@"):
		return Redirect{}, true, &RedirectError{Reply: reply, Msg: "bad host"}
	}
	r.Addr = net.JoinHostPort(host, portText)
	return r, true, nil
}

func clipReply(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
