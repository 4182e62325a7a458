package format

import "bytes"

// AlwaysRaw reports whether redis-cli prints the reply to cmd raw whatever the output
// mode, because the reply is text meant to be read as it is. cmd[0] is the command's
// name; names and subcommands are matched without regard to case. The commands are:
//
//	INFO ...                   LOLWUT ...
//	DEBUG HTSTATS ...          DEBUG HTSTATS-KEY ...      DEBUG CLIENT-EVICTION ...
//	MEMORY MALLOC-STATS ...    MEMORY DOCTOR ...
//	CLUSTER NODES              CLUSTER INFO               (no further arguments)
//	CLIENT LIST ...            CLIENT INFO ...
//	LATENCY GRAPH event        LATENCY DOCTOR             (exactly these arguments)
//	PROXY INFO ...             (redis-cluster-proxy)
//
// Options.ForCommand applies the rule.
func AlwaysRaw(cmd [][]byte) bool {
	if len(cmd) == 0 {
		return false
	}
	name := cmd[0]
	if is(name, "info") || is(name, "lolwut") {
		return true
	}
	if len(cmd) < 2 {
		return false
	}
	sub := cmd[1]
	switch {
	case is(name, "debug"):
		return is(sub, "htstats") || is(sub, "htstats-key") || is(sub, "client-eviction")
	case is(name, "memory"):
		return is(sub, "malloc-stats") || is(sub, "doctor")
	case is(name, "cluster"):
		return len(cmd) == 2 && (is(sub, "nodes") || is(sub, "info"))
	case is(name, "client"):
		return is(sub, "list") || is(sub, "info")
	case is(name, "latency"):
		return len(cmd) == 3 && is(sub, "graph") || len(cmd) == 2 && is(sub, "doctor")
	case is(name, "proxy"):
		return is(sub, "info")
	}
	return false
}

// is reports whether arg equals the lower-case word, ignoring case.
func is(arg []byte, word string) bool {
	return len(arg) == len(word) && bytes.EqualFold(arg, []byte(word))
}
