#!/usr/bin/env bash
# Builds a Release callwardend and cwbench, prefills a database with flagged callers, runs the
# target loads against a daemon on 127.0.0.1 and prints the figures beside the targets.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/run.sh [--only LIST] [--callers N] [--seconds S] [--warmup S] [--threads T]
                    [--lifecycle-seconds S] [--numbers N] [--port P] [--keep]

Runs, on one daemon with the prefilled database:
  (a) call.offered, 16 connections x 64 pipelined        target >= 60,000 decisions/s
  (b) call.offered, 16 connections, no pipelining        target p99 < 2 ms
  (c) lifecycle (offered, answered, ended per call), 16 connections x LIFECYCLE_PIPELINE:
      first paced at LIFECYCLE_RATE calls/s              target: that rate, p99 < 2 ms
      then as fast as the daemon answers                 target >= 30,000 calls/s
  (h) HTTP: GET /v1/route with wrk, 64 connections,
      half flagged callers, every call logged           target >= 45,000 decisions/s
and on a second daemon with an empty database:
  (d) distinct: every call from a new number, N calls    target: memory stays flat

  --only LIST   runs to do, comma-separated from a,b,c,d,s,h (env ONLY, default a,b,c,d,s,h)
  --callers N   flagged callers to prefill (env CALLERS, default 1000000)
  --seconds S   measured seconds of (a) and (b) (env SECONDS, default 10)
  --warmup S    unmeasured seconds before (a), (b), (c) (env WARMUP, default 2)
  --threads T   load generator threads (env THREADS, default 1)
  --lifecycle-seconds S  measured seconds of each (c) run (env LIFECYCLE_SECONDS, default 60)
  --numbers N   distinct numbers of (d) (env NUMBERS, default 10000000)
  --port P      listen on 127.0.0.1:P instead of a free port (env PORT)
  --keep        keep the temporary directory (databases, daemon logs)
Environment only: LIFECYCLE_PIPELINE (default 16), LIFECYCLE_RATE (default 30000; 0 skips the
paced run and judges latency on the other), DISTINCT_PIPELINE (default 16), DISTINCT_RATE (calls/s,
default 0: as fast as possible), DISTINCT_SECONDS (longest (d) may take, default 600), BUILD_DIR
(default build-bench), DAEMON (the daemon binary to run, default BUILD_DIR/callwardend),
WRK_THREADS (wrk threads of (h), default 1), HTTP_DRY_RUN (1: (h) only decides, dry_run=1,
nothing counted or logged; informational, for comparing with lookup-only responders).
Exit status: 0 when every run completed without errors and met its target, 2 when a target was
missed, 1 on any failure.
EOF
}

# bash counts SECONDS up from the start of the shell, so read the caller's value from the
# environment rather than from the variable.
env_seconds=$(printenv SECONDS || true)
ONLY=${ONLY:-a,b,c,d,s,h}
CALLERS=${CALLERS:-1000000}
DURATION=${env_seconds:-10}
WARMUP=${WARMUP:-2}
THREADS=${THREADS:-1}
LIFECYCLE_SECONDS=${LIFECYCLE_SECONDS:-60}
LIFECYCLE_PIPELINE=${LIFECYCLE_PIPELINE:-16}
LIFECYCLE_RATE=${LIFECYCLE_RATE:-30000}
NUMBERS=${NUMBERS:-10000000}
DISTINCT_PIPELINE=${DISTINCT_PIPELINE:-16}
DISTINCT_RATE=${DISTINCT_RATE:-0}
DISTINCT_SECONDS=${DISTINCT_SECONDS:-600}
PORT=${PORT:-0}
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--only) ONLY=$2; shift 2 ;;
	--callers) CALLERS=$2; shift 2 ;;
	--seconds) DURATION=$2; shift 2 ;;
	--warmup) WARMUP=$2; shift 2 ;;
	--threads) THREADS=$2; shift 2 ;;
	--lifecycle-seconds) LIFECYCLE_SECONDS=$2; shift 2 ;;
	--numbers) NUMBERS=$2; shift 2 ;;
	--port) PORT=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

want() {
	case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac
}
for r in ${ONLY//,/ }; do
	case $r in a | b | c | d | s | h) ;; *) echo "--only: '$r' is not one of a,b,c,d,s,h" >&2; exit 2 ;; esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
daemon=${DAEMON:-$build/callwardend}
policy=$root/config/policy.conf

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
daemon_log=
daemon_status=
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
	local st=0
	wait "$daemon_pid" || st=$?
	daemon_pid=
	# The worst exit status of all daemons of this benchmark.
	if [ -z "$daemon_status" ] || [ "$st" -ne 0 ]; then
		daemon_status=$st
	fi
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

# Starts callwardend on database $1 with log $2; sets daemon_pid and port.
start_daemon() {
	daemon_log=$2
	echo "== starting callwardend on $1"
	# The daemon runs in the temporary directory so that nothing lands in the source tree.
	: >"$daemon_log"
	(cd "$tmp" && exec "$daemon" --listen "127.0.0.1:$PORT" --unix "" --http "127.0.0.1:0" \
		--db "$1" --policy "$policy") 2>"$daemon_log" &
	daemon_pid=$!
	port=
	# Start-up replays the last hour of the call log, which takes a while after (c).
	for _ in $(seq 600); do
		if ! kill -0 "$daemon_pid" 2>/dev/null; then
			echo "callwardend exited during startup:" >&2
			cat "$daemon_log" >&2
			daemon_pid=
			exit 1
		fi
		if grep -q 'callwardend: ready' "$daemon_log"; then
			port=$(sed -n 's/.*listening on tcp 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
				"$daemon_log" | head -n1)
			http_port=$(sed -n 's/.*listening on http 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
				"$daemon_log" | head -n1)
			break
		fi
		sleep 0.1
	done
	if [ -z "$port" ]; then
		echo "callwardend did not report a tcp port within 60 s:" >&2
		cat "$daemon_log" >&2
		exit 1
	fi
	echo "callwardend pid $daemon_pid on 127.0.0.1:$port"
}

# Ends the benchmark when the daemon died during a run.
check_daemon_alive() {
	if ! kill -0 "$daemon_pid" 2>/dev/null; then
		echo "callwardend died during the run:" >&2
		tail -n 20 "$daemon_log" >&2
		daemon_pid=
		exit 1
	fi
}

# run_load VAR LIMIT ARGS...: one cwbench run of at most LIMIT seconds; its report goes to the
# terminal and into VAR. Progress lines (stderr) go straight to the terminal.
run_load() {
	local var=$1 limit=$2 out rc=0
	shift 2
	echo "== cwbench load $*"
	out=$(timeout "$limit" "$build/cwbench" load --tcp "127.0.0.1:$port" --threads "$THREADS" \
		--pid "$daemon_pid" "$@") || rc=$?
	echo "$out"
	printf -v "$var" '%s' "$out"
	if [ "$rc" -ne 0 ]; then
		echo "cwbench failed (status $rc)" >&2
		failed=1
	fi
	if grep -q 'shutting down' "$daemon_log"; then
		echo "callwardend was told to stop during the run, by a signal from outside" \
			"the benchmark:" >&2
		tail -n 3 "$daemon_log" >&2
		exit 1
	fi
	check_daemon_alive
}

# run_wrk VAR LIMIT: run (h), wrk against GET /v1/route on the daemon's HTTP listener (a
# warm-up, then the measured run); wrk's report goes to the terminal and into VAR.
run_wrk() {
	local var=$1 limit=$2 out rc=0
	local args=(-t "${WRK_THREADS:-1}" -c 64 --latency -s "$root/bench/route.lua"
		"http://127.0.0.1:$http_port/")
	if ! command -v wrk >/dev/null; then
		echo "wrk is not installed (./dev.sh bench installs it: apt-get install wrk)" >&2
		failed=1
		return
	fi
	echo "== wrk ${args[*]} -d ${DURATION}s (after ${WARMUP}s warm-up)"
	CALLERS=$CALLERS DRY_RUN=${HTTP_DRY_RUN:-0} timeout "$limit" wrk "${args[@]}" \
		-d "${WARMUP}s" >/dev/null || rc=$?
	out=$(CALLERS=$CALLERS DRY_RUN=${HTTP_DRY_RUN:-0} timeout "$limit" wrk "${args[@]}" \
		-d "${DURATION}s") || rc=$?
	echo "$out"
	printf -v "$var" '%s' "$out"
	# Every request must have been answered 200: a decision.
	if [ "$rc" -ne 0 ] || ! printf '%s\n' "$out" | grep -q '^wrk_report ' ||
		[ "$(field "$out" non2xx)" != 0 ] || [ "$(field "$out" read_errors)" != 0 ] ||
		[ "$(field "$out" connect_errors)" != 0 ] || [ "$(field "$out" timeouts)" != 0 ]; then
		echo "wrk failed or got errors (status $rc)" >&2
		failed=1
	fi
	check_daemon_alive
}

# The value of key=... in a report (first match), without its unit.
field() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1 | sed 's/[a-zA-Z\/%]*$//'
}
# The same, unit kept.
field_raw() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1
}
# The rest of the line that starts with "  $2" in report $1.
line_of() {
	printf '%s\n' "$1" | sed -n "s/^  $2 *//p" | head -n1
}
verdict() { # verdict EXPR VALUE: "met" when awk's EXPR holds for v=VALUE
	if [ -z "$2" ]; then
		echo "?"
	else
		awk -v v="$2" "BEGIN { print ($1) ? \"met\" : \"MISSED\" }"
	fi
}

failed=0
limit_ab=$((${DURATION%.*} + ${WARMUP%.*} + 60))
limit_c=$((${LIFECYCLE_SECONDS%.*} + ${WARMUP%.*} + 60))
out_a='' out_b='' out_c='' out_cl='' out_d='' out_sa='' out_sb='' out_h=''
# Each group of runs gets a daemon of its own on a fresh copy of the prefilled database: a run
# does not inherit the calls another one left open (offered-only runs never end theirs).
fresh_daemon() {
	cp "$tmp/prefill.db" "$tmp/$1.db"
	start_daemon "$tmp/$1.db" "$tmp/daemon-$1.log"
}
if want a || want b || want c || want s || want h; then
	echo "== prefilling $CALLERS callers"
	"$build/cwbench" prefill --db "$tmp/prefill.db" --callers "$CALLERS"
fi
if want a || want b || want s; then
	fresh_daemon offered
	if want a; then
		run_load out_a "$limit_ab" --conns 16 --pipeline 64 --seconds "$DURATION" \
			--warmup "$WARMUP" --callers "$CALLERS"
	fi
	if want b; then
		run_load out_b "$limit_ab" --conns 16 --pipeline 1 --seconds "$DURATION" \
			--warmup "$WARMUP" --callers "$CALLERS"
	fi
	if want s; then
		# (a) and (b) again beside a subscriber to every topic that never reads.
		run_load out_sa "$limit_ab" --conns 16 --pipeline 64 --seconds "$DURATION" \
			--warmup "$WARMUP" --callers "$CALLERS" --stalled-subscribers 1
		run_load out_sb "$limit_ab" --conns 16 --pipeline 1 --seconds "$DURATION" \
			--warmup "$WARMUP" --callers "$CALLERS" --stalled-subscribers 1
	fi
	stop_daemon
fi
if want h; then
	fresh_daemon http
	run_wrk out_h "$limit_ab"
	stop_daemon
fi
if want c; then
	fresh_daemon lifecycle
	# The paced run first: the unpaced one ends with a call-log backlog that the daemon is
	# still writing for a few seconds.
	if [ "$LIFECYCLE_RATE" != 0 ]; then
		run_load out_cl "$limit_c" --mode lifecycle --conns 16 \
			--pipeline "$LIFECYCLE_PIPELINE" --rate "$LIFECYCLE_RATE" \
			--seconds "$LIFECYCLE_SECONDS" --warmup "$WARMUP" \
			--callers "$CALLERS" --progress 10
	fi
	run_load out_c "$limit_c" --mode lifecycle --conns 16 \
		--pipeline "$LIFECYCLE_PIPELINE" --seconds "$LIFECYCLE_SECONDS" \
		--warmup "$WARMUP" --callers "$CALLERS" --progress 10
	stop_daemon
fi
if want d; then
	# A daemon of its own on an empty database, so that its memory at the start is the bare
	# daemon and what it holds at the end is what the distinct callers cost.
	start_daemon "$tmp/distinct.db" "$tmp/daemon-distinct.log"
	run_load out_d $((${DISTINCT_SECONDS%.*} + 60)) --mode distinct --conns 16 \
		--pipeline "$DISTINCT_PIPELINE" --rate "$DISTINCT_RATE" --numbers "$NUMBERS" \
		--seconds "$DISTINCT_SECONDS" --policy "$policy"
	stop_daemon
fi

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
echo
echo "== callwarden benchmark: $(nproc) CPUs (${cpu:-unknown}), runs $ONLY, generator threads $THREADS"
fmt='%-38s %-34s %-16s %s\n'
printf "$fmt" "configuration" "measured" "target" "result"
verdicts=
if [ -n "$out_a" ]; then
	v=$(verdict 'v >= 60000' "$(field "$out_a" rate)")
	verdicts="$verdicts $v"
	printf "$fmt" "(a) 16 conns x 64 pipelined, $(field "$out_a" seconds) s" \
		"$(field "$out_a" rate) decisions/s" ">= 60000/s" "$v"
	printf "$fmt" "    latency p99" "$(field_raw "$out_a" p99)"
fi
if [ -n "$out_b" ]; then
	v=$(verdict 'v < 2.0' "$(field "$out_b" p99)")
	verdicts="$verdicts $v"
	printf "$fmt" "(b) 16 conns, no pipelining, $(field "$out_b" seconds) s" "p99 $(field_raw "$out_b" p99)" \
		"< 2 ms" "$v"
	printf "$fmt" "    rate" "$(field "$out_b" rate) decisions/s"
fi
if [ -n "$out_sa" ]; then
	v=$(verdict 'v >= 60000' "$(field "$out_sa" rate)")
	verdicts="$verdicts $v"
	printf "$fmt" "(s) (a) + 1 stalled subscriber" "$(field "$out_sa" rate) decisions/s" \
		">= 60000/s" "$v"
	v=$(verdict 'v < 2.0' "$(field "$out_sb" p99)")
	verdicts="$verdicts $v"
	printf "$fmt" "(s) (b) + 1 stalled subscriber" "p99 $(field_raw "$out_sb" p99)" "< 2 ms" "$v"
	printf "    stalled subscriber: %s\n" "$(line_of "$out_sb" "stalled_subscribers=1")"
fi
if [ -n "$out_h" ]; then
	v=$(verdict 'v >= 45000' "$(field "$out_h" rate)")
	verdicts="$verdicts $v"
	printf "$fmt" "(h) HTTP /v1/route$([ "${HTTP_DRY_RUN:-0}" = 1 ] && echo ' dry_run'), wrk 64 conns, $(field "$out_h" seconds) s" \
		"$(field "$out_h" rate) decisions/s" ">= 45000/s" "$v"
	printf "$fmt" "    latency p50 / p99 / max" "$(field_raw "$out_h" p50) / $(field_raw \
		"$out_h" p99) / $(field_raw "$out_h" max)"
fi
if [ -n "$out_cl" ]; then
	# Paced: the rate asked for (within 1%), with decisions answered within 2 ms at p99.
	v=$(verdict "v >= $LIFECYCLE_RATE * 0.99" "$(field "$out_cl" calls_rate)")
	verdicts="$verdicts $v"
	printf "$fmt" "(c) lifecycle 16 x $LIFECYCLE_PIPELINE at $LIFECYCLE_RATE/s, $(field "$out_cl" seconds) s" \
		"$(field "$out_cl" calls_rate) calls/s" ">= $LIFECYCLE_RATE/s" "$v"
	printf "$fmt" "    events" "$(field "$out_cl" events_rate) events/s"
	printf "$fmt" "    slowest second" "$(field "$out_cl" per_second_min) calls"
	v=$(verdict 'v < 2.0' "$(field "$out_cl" p99)")
	verdicts="$verdicts $v"
	printf "$fmt" "    decision p99" "$(field_raw "$out_cl" p99)" "< 2 ms" "$v"
	printf "$fmt" "    decision p50 / p999 / max" "$(field_raw "$out_cl" p50) / $(field_raw \
		"$out_cl" p999) / $(field_raw "$out_cl" max)"
	printf "$fmt" "    all events p50 / p99" "$(field_raw "$out_cl" events_p50) / $(field_raw \
		"$out_cl" events_p99)"
	printf "$fmt" "    CPU daemon / cwbench / others" "$(field_raw "$out_cl" daemon_cpu) / \
$(field_raw "$out_cl" cwbench_cpu) / $(field_raw "$out_cl" others_cpu)"
fi
if [ -n "$out_c" ]; then
	v=$(verdict 'v >= 30000' "$(field "$out_c" calls_rate)")
	verdicts="$verdicts $v"
	printf "$fmt" "(c) lifecycle 16 x $LIFECYCLE_PIPELINE unpaced, $(field "$out_c" seconds) s" \
		"$(field "$out_c" calls_rate) calls/s" ">= 30000/s" "$v"
	printf "$fmt" "    events" "$(field "$out_c" events_rate) events/s" ">= 90000/s"
	printf "$fmt" "    slowest second" "$(field "$out_c" per_second_min) calls"
	if [ -z "$out_cl" ]; then
		v=$(verdict 'v < 2.0' "$(field "$out_c" p99)")
		verdicts="$verdicts $v"
	else
		v=
	fi
	printf "$fmt" "    decision p50 / p99 / p999" "$(field_raw "$out_c" p50) / $(field_raw \
		"$out_c" p99) / $(field_raw "$out_c" p999)" "${v:+< 2 ms}" "$v"
	printf "$fmt" "    CPU daemon / cwbench / others" "$(field_raw "$out_c" daemon_cpu) / \
$(field_raw "$out_c" cwbench_cpu) / $(field_raw "$out_c" others_cpu)"
fi
if [ -n "$out_d" ]; then
	a25=$(field "$out_d" at_25%)
	a100=$(field "$out_d" at_100%)
	# Flat: after the first quarter of the numbers (when every bounded table is long full)
	# the daemon's own memory grows by less than 10% + 16 MiB.
	v=$(verdict 'v' "$(awk -v a="$a25" -v b="$a100" \
		'BEGIN { if (a == "" || b == "") print ""; else print (b <= a * 1.1 + 16) }')")
	verdicts="$verdicts $v"
	printf "$fmt" "(d) distinct numbers" "$(field "$out_d" calls_sent) calls sent" \
		"$NUMBERS"
	printf "$fmt" "    rate, time" "$(field "$out_d" calls_rate) calls/s, $(field "$out_d" seconds) s"
	printf "$fmt" "    daemon RssAnon at 25% / 100%" "${a25:-?} / ${a100:-?} MiB" "flat" "$v"
	printf "$fmt" "    daemon RssAnon peak" "$(field_raw "$out_d" daemon_rss_anon_peak)"
	printf '    %s\n' "start: $(line_of "$out_d" daemon_memory_start)"
	printf '    %s\n' "end:   $(line_of "$out_d" daemon_memory_end)"
	printf '    %s\n' "tables: $(line_of "$out_d" daemon_tables_end)"
	printf '    %s\n' "$(line_of "$out_d" 'budget:' | sed 's/^/budget: /')"
fi
echo "daemon exit status after SIGTERM: ${daemon_status:-?}"

if [ "$failed" -ne 0 ] || [ "${daemon_status:-1}" -ne 0 ]; then
	exit 1
fi
case "$verdicts" in *MISSED* | *"?"*) exit 2 ;; esac
exit 0
