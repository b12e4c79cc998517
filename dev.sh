#!/usr/bin/env bash
# callwarden's one entry point for a fresh Debian 12 machine:
#   ./dev.sh run [callwardend options]   install what is missing, build, run on loopback
#   ./dev.sh test                        install what is missing, build, pass every test
#   ./dev.sh bench                       the benchmark (see docs/benchmark.md)
set -euo pipefail
cd "$(dirname "$0")"

DEPS=(build-essential cmake pkg-config libevent-dev libsqlite3-dev libconfig-dev check
      libcjson-dev python3 sqlite3 clang-format systemd
      kamailio kamailio-utils-modules kamailio-extra-modules)

# Only the benchmark needs these (run (h) drives the HTTP API with wrk).
BENCH_DEPS=(wrk)

install_deps() {
	local missing=() p sudo=""
	for p in "${DEPS[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "dev.sh: installing ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
}

build() {
	local dir=$1
	shift
	cmake -S . -B "$dir" "$@" >/dev/null
	cmake --build "$dir" -j"$(nproc)"
}

check_format() {
	local bad
	bad=$(clang-format --dry-run --Werror lib/*.[ch] daemon/*.[ch] ctl/*.[ch] bench/*.[ch] \
		tests/*.c 2>&1 | grep -c 'error:' || true)
	if [ "$bad" != 0 ]; then
		echo "dev.sh: files not formatted per .clang-format (run clang-format -i):"
		clang-format --dry-run lib/*.[ch] daemon/*.[ch] ctl/*.[ch] bench/*.[ch] tests/*.c 2>&1 |
			grep 'error:\|warning:' | cut -d: -f1 | sort -u
		return 1
	fi
}

case "${1:-}" in
run)
	shift
	install_deps
	build build
	exec ./build/callwardend "$@"
	;;
test)
	install_deps
	check_format
	echo "== build with -Wall -Wextra -Werror, run the suite"
	build build -DCW_WERROR=ON
	ctest --test-dir build --output-on-failure -j2
	echo "== the same suite under AddressSanitizer and UBSan"
	build build-asan -DCW_WERROR=ON -DCW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir build-asan --output-on-failure -j2
	;;
bench)
	shift
	install_deps "${BENCH_DEPS[@]}"
	exec bench/run.sh "$@"
	;;
*)
	echo "usage: ./dev.sh run [callwardend options] | test | bench" >&2
	exit 2
	;;
esac
