#!/usr/bin/env bash
# run-tests.sh - run cairn's tests against one build directory.
#
#   tests/run-tests.sh BUILD [unit|fuzz|integration]...   (default: all three)
#
# unit         every BUILD/tests/test-* binary (cmocka), with CAIRN_TEST_DATA set
# fuzz         every BUILD/tests/fuzz-*-replay over tests/fuzz/corpus/<target>/
# integration  every tests/integration/*.sh (except lib.sh), one at a time since
#              they mount, with BUILD (absolute) and SRC (the repository root)
#
# Each test runs under a timeout and prints PASS or FAIL with its duration; a
# failing test's output is shown. The exit status is 1 when anything failed
# or a kind of test had nothing to run (a test never skips to go green).
# Under an ASan build (BUILD ending in -asan) leaks and UB abort the test.
set -u

if [ $# -lt 1 ]; then
	echo "usage: $0 BUILD [unit|fuzz|integration]..." >&2
	exit 2
fi
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$1" 2>/dev/null && pwd) || {
	echo "run-tests: no build directory '$1'" >&2
	exit 2
}
shift
kinds=${*:-unit fuzz integration}
for k in $kinds; do
	case "$k" in
	unit | fuzz | integration) ;;
	*)
		echo "run-tests: unknown kind '$k' (unit, fuzz or integration)" >&2
		exit 2
		;;
	esac
done

export CAIRN_TEST_DATA="$SRC/tests/data"
case "$BUILD" in
*-asan)
	export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:allocator_may_return_null=0"
	export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
	;;
esac

UNIT_TIMEOUT=${UNIT_TIMEOUT:-600}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-300}
INTEGRATION_TIMEOUT=${INTEGRATION_TIMEOUT:-900}

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/cairn-tests.XXXXXX")
trap 'rm -rf "$LOGDIR"' EXIT
n_pass=0
n_fail=0
failed=()

# run NAME TIMEOUT CMD...: runs one test, its output captured to a log that is
# printed when it fails.
run() {
	local name=$1 limit=$2 log start end rc
	shift 2
	log="$LOGDIR/$(echo "$name" | tr '/ ' '__').log"
	start=$(date +%s.%N)
	timeout -k 30 "$limit" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	end=$(date +%s.%N)
	local dur
	dur=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
	if [ "$rc" -eq 0 ]; then
		printf 'PASS  %-50s %7ss\n' "$name" "$dur"
		n_pass=$((n_pass + 1))
	else
		local why="exit $rc"
		[ "$rc" -eq 124 ] && why="timed out after ${limit}s"
		printf 'FAIL  %-50s %7ss  (%s)\n' "$name" "$dur" "$why"
		sed 's/^/    | /' "$log" | tail -n 200
		n_fail=$((n_fail + 1))
		failed+=("$name")
	fi
}

# none KIND WHAT: a kind with nothing to run is a failure, not a skip.
none() {
	printf 'FAIL  %-50s %7s  (%s)\n' "$1" "-" "$2"
	n_fail=$((n_fail + 1))
	failed+=("$1")
}

for k in $kinds; do
	case "$k" in
	unit)
		found=0
		for t in "$BUILD"/tests/test-*; do
			[ -f "$t" ] && [ -x "$t" ] || continue
			found=1
			run "unit/${t##*/}" "$UNIT_TIMEOUT" "$t"
		done
		[ "$found" -eq 1 ] || none unit "no $BUILD/tests/test-* binaries (make first)"
		;;
	fuzz)
		found=0
		for src in "$SRC"/tests/fuzz/fuzz-*.c; do
			[ -f "$src" ] || continue
			found=1
			target=${src##*/}
			target=${target%.c}
			bin="$BUILD/tests/$target-replay"
			corpus="$SRC/tests/fuzz/corpus/${target#fuzz-}"
			if [ ! -x "$bin" ]; then
				none "fuzz/$target" "no $bin (make first)"
			elif [ ! -d "$corpus" ]; then
				none "fuzz/$target" "no corpus $corpus"
			else
				run "fuzz/$target" "$FUZZ_TIMEOUT" "$bin" "$corpus"
			fi
		done
		[ "$found" -eq 1 ] || none fuzz "no tests/fuzz/fuzz-*.c"
		;;
	integration)
		found=0
		for t in "$SRC"/tests/integration/*.sh; do
			[ -f "$t" ] || continue
			[ "${t##*/}" = lib.sh ] && continue
			found=1
			run "integration/${t##*/}" "$INTEGRATION_TIMEOUT" \
				env BUILD="$BUILD" SRC="$SRC" bash "$t"
		done
		[ "$found" -eq 1 ] || none integration "no tests/integration/*.sh"
		;;
	esac
done

echo
echo "$n_pass passed, $n_fail failed"
for f in "${failed[@]}"; do
	echo "  failed: $f"
done
[ "$n_fail" -eq 0 ]
