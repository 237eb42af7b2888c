#!/usr/bin/env bash
# run-libfuzzer.sh - fuzzes the targets in tests/fuzz/ with clang's libFuzzer,
# ASan and UBSan. Not part of `make test`, which only replays the stored
# corpus; run this by hand after changing a decoder.
#
#   tests/fuzz/run-libfuzzer.sh [SECONDS] [TARGET]...   (default: 120, every target)
#   make fuzz FUZZ_SECONDS=N [FUZZ_TARGETS='tree lock']   (the same)
#
# Builds build-fuzz/libcairn.a (or $FUZZ_BUILD/) with coverage hooks, links each target with
# libFuzzer (replay.c is left out) and runs it for SECONDS, reading
# tests/fuzz/corpus/TARGET/ and writing new inputs to build-fuzz/new/TARGET/.
# A crash leaves its input in build-fuzz/crashes/TARGET/ and fails the run;
# fix it, and keep the input as tests/fuzz/corpus/TARGET/found-<what>.
# To keep the few new inputs that add the most coverage (not all of them:
# the stored corpus stays a few dozen small files per target):
#
#   tests/fuzz/keep-new-inputs.py TARGET [MAX]
#
# The memory limit (FUZZ_RSS_MB, 512 by default) is low on purpose: a small
# input that makes a decoder reserve far more than its own size is a bug.
# Targets run one after another, under nice, so they share a busy machine;
# on a loaded one a niced target can stall for seconds, so one input may
# take FUZZ_TIMEOUT seconds (60 by default) before it counts as a hang.
#
# Needs clang with libFuzzer (Debian: apt-get install clang) and pkg-config.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
cd "$SRC"
SECONDS_EACH=${1:-120}
[ $# -gt 0 ] && shift
if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for f in tests/fuzz/fuzz-*.c; do
		t=${f##*/fuzz-}
		targets+=("${t%.c}")
	done
fi

# FUZZ_BUILD picks the build directory (two runs at once need two).
FB=${FUZZ_BUILD:-build-fuzz}
SAN='-fno-sanitize-recover=all -fno-omit-frame-pointer'
make -s -j2 BUILD="$FB" CC=clang CFLAGS='-O1 -g' \
	SAN="-fsanitize=fuzzer-no-link,address,undefined $SAN" "$FB/libcairn.a"
# libcurl is loaded at run time (store/backend/curl-load.c), not linked.
PKGS="fuse3 sqlite3 libzstd libcrypto libarchive"

# A small quarantine, so the RSS limit measures the decoders, not ASan.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0:strict_string_checks=1:detect_stack_use_after_return=1:quarantine_size_mb=16"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
failed=()
for t in "${targets[@]}"; do
	bin=$FB/fuzz-$t
	# shellcheck disable=SC2046,SC2086 # flag lists
	clang -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -pthread -O1 -g -Istore \
		-fsanitize=fuzzer,address,undefined $SAN \
		-o "$bin" "tests/fuzz/fuzz-$t.c" "$FB/libcairn.a" $(pkg-config --libs $PKGS) -ldl
	mkdir -p "$FB/new/$t" "$FB/crashes/$t"
	echo "=== fuzz-$t for ${SECONDS_EACH}s"
	if ! nice -n "${FUZZ_NICE:-19}" "$bin" -max_total_time="$SECONDS_EACH" -timeout="${FUZZ_TIMEOUT:-60}" -rss_limit_mb="${FUZZ_RSS_MB:-512}" \
		-print_final_stats=1 -artifact_prefix="$FB/crashes/$t/" \
		"$FB/new/$t" "tests/fuzz/corpus/$t" 2>"$FB/fuzz-$t.log"; then
		failed+=("$t")
		tail -n 60 "$FB/fuzz-$t.log"
	else
		grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' \
			"$FB/fuzz-$t.log" | tr '\n' ' '
		grep -o 'cov: [0-9]* ft: [0-9]*' "$FB/fuzz-$t.log" | tail -n 1
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "crashed: ${failed[*]} (inputs in build-fuzz/crashes/)" >&2
	exit 1
fi
