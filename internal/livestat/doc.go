// Package livestat is rcli's live views: --stat, a rolling table of keys, memory,
// clients and requests sampled from INFO every interval, and --latency and
// --latency-history, which PING every 10 milliseconds and show the minimum, maximum
// and average round trip, in redis-cli's exact formats (a line rewritten in place on a
// terminal, one raw, CSV or JSON line otherwise).
//
// It owns the sampling loops and the rendering. It reaches servers only through the
// functions it is given (one INFO per node, one PING), so in a cluster --stat sums the
// nodes it is handed into one line per interval; it knows nothing of connections or
// the command line. Every loop ends when its context does (Ctrl-C).
package livestat
