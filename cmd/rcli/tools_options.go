package main

import (
	"bytes"
	"strconv"
	"strings"
)

// toolOptions are the flags of the operator tools: the cluster manager (--cluster and
// --cluster-*), the key analysis modes (--bigkeys, --memkeys, --hotkeys) and the live
// views (--stat, --latency, --latency-history). They are parsed by parseToolFlag.
type toolOptions struct {
	// clusterCmd is the --cluster subcommand; "" when --cluster is not given.
	clusterCmd string
	// clusterArgs are the subcommand's arguments: the words after it up to the next
	// option, or (when there were none) the first run of words after a later option.
	clusterArgs    []string
	clusterArgsSet bool
	cluster        clusterFlags

	bigkeys        bool
	memkeys        bool
	memkeysSamples int
	hotkeys        bool
	stat           bool
	latency        bool
	history        bool // --latency-history
}

// clusterFlags are the --cluster-* options, as redis-cli reads them (numbers with
// atoi/atof: a bad number is 0).
type clusterFlags struct {
	replicas             int
	yes                  bool
	from, to             string
	slots                int
	timeout              int
	pipeline             int
	replace              bool
	weights              []string
	useEmptyMasters      bool
	threshold            float64
	thresholdSet         bool
	simulate             bool
	slave                bool
	masterID             string
	onlyMasters          bool
	onlyReplicas         bool
	searchMultipleOwners bool
	fixUnreachable       bool
}

// parseToolFlag parses the tool flag at args[*i], advancing *i past its values. It
// reports whether the flag is a tool flag; err is a bad command line.
func (o *options) parseToolFlag(args []string, i *int) (bool, error) {
	arg := args[*i]
	t := &o.tools
	value := func() (string, bool) {
		if *i+1 >= len(args) {
			return "", false
		}
		*i++
		return args[*i], true
	}
	bad := func() error { return usagef("Unrecognized option or bad number of args for: '%s'", arg) }
	number := func(dst *int) error {
		v, ok := value()
		if !ok {
			return bad()
		}
		*dst = cAtoi(v)
		return nil
	}
	text := func(dst *string) error {
		v, ok := value()
		if !ok {
			return bad()
		}
		*dst = v
		return nil
	}
	c := &t.cluster
	switch arg {
	case "--cluster":
		if t.clusterCmd != "" || *i+1 >= len(args) {
			// As redis-cli: --cluster without a subcommand, or twice, shows the usage.
			var b bytes.Buffer
			writeUsage(&b)
			return true, &usageError{msg: strings.TrimSuffix(b.String(), "\n")}
		}
		*i++
		t.clusterCmd = args[*i]
		j := *i + 1
		for j < len(args) && !strings.HasPrefix(args[j], "-") {
			j++
		}
		if j > *i+1 {
			t.clusterArgs = append([]string(nil), args[*i+1:j]...)
			t.clusterArgsSet = true
			*i = j - 1
		}
		return true, nil
	case "--cluster-replicas":
		return true, number(&c.replicas)
	case "--cluster-master-id", "--cluster-primary-id":
		return true, text(&c.masterID)
	case "--cluster-from":
		return true, text(&c.from)
	case "--cluster-to":
		return true, text(&c.to)
	case "--cluster-from-user", "--cluster-from-pass":
		var ignored string // import only, which rcli does not offer yet
		return true, text(&ignored)
	case "--cluster-from-askpass", "--cluster-copy":
		return true, nil
	case "--cluster-weight":
		if *i+1 >= len(args) {
			return true, bad()
		}
		if c.weights != nil {
			return true, usagef("WARNING: you cannot use --cluster-weight more than once.\n" +
				"You can set more weights by adding them as a space-separated list, ie:\n" +
				"--cluster-weight n1=w n2=w")
		}
		for *i+1 < len(args) && !strings.HasPrefix(args[*i+1], "--") && strings.Contains(args[*i+1], "=") {
			*i++
			c.weights = append(c.weights, args[*i])
		}
		return true, nil
	case "--cluster-slots":
		return true, number(&c.slots)
	case "--cluster-timeout":
		return true, number(&c.timeout)
	case "--cluster-pipeline":
		return true, number(&c.pipeline)
	case "--cluster-threshold":
		v, ok := value()
		if !ok {
			return true, bad()
		}
		c.threshold, c.thresholdSet = cAtof(v), true
		return true, nil
	case "--cluster-yes":
		c.yes = true
	case "--cluster-simulate":
		c.simulate = true
	case "--cluster-replace":
		c.replace = true
	case "--cluster-slave", "--cluster-replica":
		c.slave = true
	case "--cluster-use-empty-masters", "--cluster-use-empty-primaries":
		c.useEmptyMasters = true
	case "--cluster-search-multiple-owners":
		c.searchMultipleOwners = true
	case "--cluster-fix-with-unreachable-masters", "--cluster-fix-with-unreachable-primaries":
		c.fixUnreachable = true
	case "--cluster-only-masters", "--cluster-only-primaries":
		c.onlyMasters = true
	case "--cluster-only-replicas":
		c.onlyReplicas = true
	case "--bigkeys":
		t.bigkeys = true
	case "--memkeys":
		t.memkeys = true
	case "--memkeys-samples":
		t.memkeys = true
		return true, number(&t.memkeysSamples)
	case "--hotkeys":
		t.hotkeys = true
	case "--stat":
		t.stat = true
	case "--latency":
		t.latency = true
	case "--latency-history":
		t.latency, t.history = true, true
	default:
		return false, nil
	}
	return true, nil
}

// clusterWord takes a word that is not an option while the cluster manager is parsing:
// the first run of such words becomes the subcommand's arguments when none followed
// it; later ones are ignored, as in redis-cli.
func (o *options) clusterWord(args []string, i *int) {
	t := &o.tools
	if t.clusterArgsSet {
		return
	}
	j := *i + 1
	for j < len(args) && !strings.HasPrefix(args[j], "-") {
		j++
	}
	t.clusterArgs = append([]string(nil), args[*i:j]...)
	t.clusterArgsSet = true
	*i = j - 1
}

// cAtoi parses like C's atoi: leading spaces, a sign, digits; anything else ends it.
func cAtoi(s string) int {
	s = strings.TrimLeft(s, " \t\n\r\v\f")
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(s[:end])
	return n
}

// cAtof parses like C's atof: the longest leading number, 0 when there is none.
func cAtof(s string) float64 {
	s = strings.TrimSpace(s)
	for end := len(s); end > 0; end-- {
		if f, err := strconv.ParseFloat(s[:end], 64); err == nil {
			return f
		}
	}
	return 0
}
