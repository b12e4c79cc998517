#!/usr/bin/env bash
# Builds a Release callwardend and cwbench, prefills a database with flagged callers, runs the two
# target loads against a daemon on 127.0.0.1 and prints the figures beside the targets.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/run.sh [--callers N] [--seconds S] [--warmup S] [--threads T] [--port P] [--keep]

  --callers N   flagged callers to prefill (env CALLERS, default 1000000)
  --seconds S   measured seconds per run (env SECONDS, default 10)
  --warmup S    unmeasured seconds before each run (env WARMUP, default 2)
  --threads T   load generator threads (env THREADS, default 1)
  --port P      listen on 127.0.0.1:P instead of a free port (env PORT)
  --keep        keep the temporary directory (database, daemon log)
Build directory: env BUILD_DIR (default build-bench). Exit status: 0 when both runs completed
without errors and met their targets, 2 when a target was missed, 1 on any failure.
EOF
}

# bash counts SECONDS up from the start of the shell, so read the caller's value from the
# environment rather than from the variable.
env_seconds=$(printenv SECONDS || true)
CALLERS=${CALLERS:-1000000}
DURATION=${env_seconds:-10}
WARMUP=${WARMUP:-2}
THREADS=${THREADS:-1}
PORT=${PORT:-0}
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--callers) CALLERS=$2; shift 2 ;;
	--seconds) DURATION=$2; shift 2 ;;
	--warmup) WARMUP=$2; shift 2 ;;
	--threads) THREADS=$2; shift 2 ;;
	--port) PORT=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}

echo "== building Release into $build"
mkdir -p "$build"
if ! { cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release &&
	cmake --build "$build" -j"$(nproc)" --target callwardend cwbench; } >"$build/bench-build.log" 2>&1; then
	cat "$build/bench-build.log" >&2
	echo "build failed (log: $build/bench-build.log)" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cwbench.XXXXXX")
daemon_pid=
stop_daemon() {
	[ -n "$daemon_pid" ] || return 0
	if kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid"
		for _ in $(seq 100); do
			kill -0 "$daemon_pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$daemon_pid" 2>/dev/null; then
			echo "callwardend did not stop within 10 s of SIGTERM; killing it" >&2
			kill -KILL "$daemon_pid"
		fi
	fi
	daemon_status=0
	wait "$daemon_pid" || daemon_status=$?
	daemon_pid=
}
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	stop_daemon || true
	if [ "$KEEP" = 1 ]; then
		echo "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== prefilling $CALLERS callers"
"$build/cwbench" prefill --db "$tmp/bench.db" --callers "$CALLERS"

echo "== starting callwardend"
# The daemon runs in the temporary directory so that nothing lands in the source tree.
: >"$tmp/daemon.log"
(cd "$tmp" && exec "$build/callwardend" --listen "127.0.0.1:$PORT" --unix "" \
	--db "$tmp/bench.db" --policy "$root/config/policy.conf") 2>"$tmp/daemon.log" &
daemon_pid=$!
port=
for _ in $(seq 200); do
	if ! kill -0 "$daemon_pid" 2>/dev/null; then
		echo "callwardend exited during startup:" >&2
		cat "$tmp/daemon.log" >&2
		daemon_pid=
		exit 1
	fi
	if grep -q 'callwardend: ready' "$tmp/daemon.log"; then
		port=$(sed -n 's/.*listening on tcp 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
			"$tmp/daemon.log" | head -n1)
		break
	fi
	sleep 0.1
done
if [ -z "$port" ]; then
	echo "callwardend did not report a tcp port within 20 s:" >&2
	cat "$tmp/daemon.log" >&2
	exit 1
fi
echo "callwardend pid $daemon_pid on 127.0.0.1:$port"

# One cwbench run; its report goes to the terminal and into the named variable.
run_load() {
	local var=$1 out rc=0
	shift
	echo "== cwbench load $*"
	out=$(timeout $((${DURATION%.*} + ${WARMUP%.*} + 60)) "$build/cwbench" load \
		--tcp "127.0.0.1:$port" --seconds "$DURATION" --warmup "$WARMUP" \
		--callers "$CALLERS" --threads "$THREADS" --pid "$daemon_pid" "$@") || rc=$?
	echo "$out"
	printf -v "$var" '%s' "$out"
	if [ "$rc" -ne 0 ]; then
		echo "cwbench failed (status $rc)" >&2
		failed=1
	fi
	if ! kill -0 "$daemon_pid" 2>/dev/null; then
		echo "callwardend died during the run:" >&2
		tail -n 20 "$tmp/daemon.log" >&2
		daemon_pid=
		exit 1
	fi
}

# The value of key=... on the report's first line, without its unit.
field() {
	printf '%s\n' "$1" | head -n1 | tr ' ' '\n' | sed -n "s/^$2=//p" | sed 's/[a-zA-Z\/%]*$//'
}

failed=0
out_a=
out_b=
run_load out_a --conns 16 --pipeline 64
run_load out_b --conns 16 --pipeline 1
rss=$(printf '%s\n' "$out_b" | head -n1 | tr ' ' '\n' | sed -n 's/^daemon_peak_rss=//p')
stop_daemon

rate_a=$(field "$out_a" rate)
p99_a=$(field "$out_a" p99)
rate_b=$(field "$out_b" rate)
p99_b=$(field "$out_b" p99)
verdict_a=$(awk -v r="${rate_a:-0}" 'BEGIN { print (r >= 60000) ? "met" : "MISSED" }')
verdict_b=$(awk -v p="${p99_b:-999}" 'BEGIN { print (p < 2.0) ? "met" : "MISSED" }')

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
echo
echo "== callwarden benchmark: $(nproc) CPUs (${cpu:-unknown}), $CALLERS flagged callers,"
echo "   ${DURATION} s measured per run after ${WARMUP} s warm-up, generator threads $THREADS"
printf '%-34s %-24s %-18s %s\n' "configuration" "measured" "target" "result"
printf '%-34s %-24s %-18s %s\n' "(a) 16 conns x 64 pipelined" "${rate_a:-?} decisions/s" \
	">= 60000/s" "$verdict_a"
printf '%-34s %-24s\n' "    latency p99" "${p99_a:-?} ms"
printf '%-34s %-24s %-18s %s\n' "(b) 16 conns, no pipelining" "p99 ${p99_b:-?} ms" "< 2 ms" \
	"$verdict_b"
printf '%-34s %-24s\n' "    rate" "${rate_b:-?} decisions/s"
printf '%-34s %-24s\n' "daemon peak RSS (VmHWM)" "${rss:-?}"
echo "daemon exit status after SIGTERM: ${daemon_status:-?}"

if [ "$failed" -ne 0 ] || [ "${daemon_status:-1}" -ne 0 ]; then
	exit 1
fi
if [ "$verdict_a" != met ] || [ "$verdict_b" != met ]; then
	exit 2
fi
exit 0
