#!/usr/bin/env bash
# startup.sh times `rcli -p PORT PING` against `redis-cli -p PORT PING` as whole
# processes, alternating one run of each, against a throwaway redis-server on a free
# loopback port, and prints both medians and their ratio (issue 3's target: <= 1.2x).
#
# Usage: bench/startup/startup.sh [RUNS]     (default 300 runs of each)
# Environment: RCLI (a prebuilt rcli; default: build ./cmd/rcli), REDIS_SERVER and
# REDIS_CLI (default: from PATH). With hyperfine installed, it also runs hyperfine.
set -euo pipefail

runs=${1:-300}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
redis_server=${REDIS_SERVER:-$(command -v redis-server)}
redis_cli=${REDIS_CLI:-$(command -v redis-cli)}
work=$(mktemp -d)
server_pid=""

cleanup() {
	if [[ -n $server_pid ]]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

rcli=${RCLI:-}
if [[ -z $rcli ]]; then
	rcli=$work/rcli
	(cd "$root" && go build -o "$rcli" ./cmd/rcli)
fi

# A free port: nothing answers on it.
port=""
for _ in $(seq 50); do
	p=$((20000 + RANDOM % 40000))
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		port=$p
		break
	fi
done
[[ -n $port ]] || { echo "startup.sh: no free port found" >&2; exit 1; }

"$redis_server" --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
	--dir "$work" --logfile "$work/redis.log" &
server_pid=$!
for _ in $(seq 200); do
	if [[ $("$redis_cli" -p "$port" PING 2>/dev/null) == PONG ]]; then
		break
	fi
	sleep 0.05
done
[[ $("$redis_cli" -p "$port" PING) == PONG ]] || { echo "startup.sh: redis-server did not start" >&2; exit 1; }
[[ $("$rcli" -p "$port" PING) == PONG ]] || { echo "startup.sh: rcli cannot PING" >&2; exit 1; }

# Elapsed microseconds of one run, timed with bash's own clock (no extra process).
elapsed_us() {
	local start=$EPOCHREALTIME
	"$@" >/dev/null
	local end=$EPOCHREALTIME
	echo $(( (10#${end/./} - 10#${start/./}) ))
}

# Warm the page cache for both binaries.
for _ in $(seq 10); do "$redis_cli" -p "$port" PING >/dev/null; "$rcli" -p "$port" PING >/dev/null; done

: >"$work/redis-cli.us"
: >"$work/rcli.us"
for i in $(seq "$runs"); do
	if (( i % 2 )); then
		elapsed_us "$redis_cli" -p "$port" PING >>"$work/redis-cli.us"
		elapsed_us "$rcli" -p "$port" PING >>"$work/rcli.us"
	else
		elapsed_us "$rcli" -p "$port" PING >>"$work/rcli.us"
		elapsed_us "$redis_cli" -p "$port" PING >>"$work/redis-cli.us"
	fi
done

median() { sort -n "$1" | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
m_cli=$(median "$work/redis-cli.us")
m_rcli=$(median "$work/rcli.us")
printf 'runs:             %d of each, alternating\n' "$runs"
printf 'redis-cli median: %8.0f us\n' "$m_cli"
printf 'rcli median:      %8.0f us\n' "$m_rcli"
awk -v a="$m_rcli" -v b="$m_cli" 'BEGIN {printf "ratio rcli/redis-cli: %.2fx (target <= 1.20x)\n", a/b}'

if command -v hyperfine >/dev/null; then
	hyperfine --warmup 10 --runs "$runs" -N \
		"$redis_cli -p $port PING" "$rcli -p $port PING"
fi
