#!/usr/bin/env bash
# The load test over the benchmark's real datasets (tests/bench/make-dataset.sh
# `small`, 100,000 files, and `large`, five big files with holes): 32 readers
# at once through one mount, while a backup of another member and a forget
# --prune of a third run on the same repository. Between them the readers
# walk the whole tree (find, compared with the source's listing), read every
# file of `small` and every file of `large` whole (checksums compared with
# the source's), and make random reads of `large` compared byte for byte.
# No error, no wrong byte, the daemon alive, its peak memory (VmHWM) within
# its cache budget plus 32 MiB over an idle daemon; prints the throughput.
. "$(dirname "$0")/lib.sh"
# shellcheck source=../lib-load.sh
. "$SRC/tests/lib-load.sh"

CACHE_MIB=64
READERS=32
SLACK_MIB=32
case "$BUILD" in *-asan)
	# The bound is the plain build's; under ASan the shadow memory, the
	# redzones and the allocator's per-thread caches of sixteen threads
	# that allocate for 100k files add to it (271 MiB seen at idle 22).
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
	SLACK_MIB=256
	;;
esac

info "datasets: small and large (make-dataset.sh)"
mkdir -p "$T/src" "$T/other" "$T/old"
"$SRC/tests/bench/make-dataset.sh" small "$T/src/small" >/dev/null
"$SRC/tests/bench/make-dataset.sh" large "$T/src/large" >/dev/null
random_bytes 8M other >"$T/other/o"
random_bytes 4M old >"$T/old/o"
(cd "$T/src" && find . -printf '%y %P\n' | sort >"$T/listing")
(cd "$T/src" && find small -type f | sort >"$T/small-files")
(cd "$T/src" && find large -type f | sort >"$T/large-files")
[ "$(wc -l <"$T/small-files")" -ge 100000 ] || fail "the small dataset has too few files"
for n in $(seq 0 $((READERS - 1))); do
	awk -v n="$n" -v r="$READERS" 'NR % r == n' "$T/small-files" >"$T/part.$n"
	(cd "$T/src" && xargs -d '\n' sha256sum <"$T/part.$n" >"$T/sums.$n")
done
(cd "$T/src" && xargs -d '\n' sha256sum <"$T/large-files" >"$T/sums.large")
mapfile -t large <"$T/large-files"

cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member data --time 2026-12-01T000000Z "$T/src"
cairn backup -r "$T/repo" --member old --time 2026-11-21T000000Z "$T/old"
cairn backup -r "$T/repo" --member old --time 2026-11-22T000000Z "$T/old"
mount_repo "$T/repo" "$T/mnt" "cache_size=${CACHE_MIB}M"
pid=${MOUNT_PID[$(realpath "$T/mnt")]}
idle=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
snap="$T/mnt/snapshots/data/2026-12-01T000000Z"

# reader K (1..32, n = K - 1): every reader checks its 1/32 of small's
# files; n 0-3 also walk the whole tree, 4-8 each read one file of large
# whole, and the rest make 32 random 16 KiB reads of large. Writes the
# bytes it read to $T/bytes.n.
reader() {
	local n=$(($1 - 1)) bytes=0 k f off
	if [ "$n" -lt 4 ]; then
		(cd "$snap" && find . -printf '%y %P\n' | sort) >"$T/walk.$n"
		cmp -s "$T/listing" "$T/walk.$n" ||
			{ echo "reader $n: the tree differs from the source's"; return 1; }
	fi
	(cd "$snap" && sha256sum -c --quiet "$T/sums.$n") || return 1
	bytes=$(cd "$T/src" && xargs -d '\n' stat -c %s <"$T/part.$n" | awk '{ s += $1 } END { print s + 0 }')
	if [ "$n" -ge 4 ] && [ "$n" -lt $((4 + ${#large[@]})) ]; then
		f=${large[$((n - 4))]}
		(cd "$snap" && grep -F "  $f" "$T/sums.large" | sha256sum -c --quiet) || return 1
		bytes=$((bytes + $(stat -c %s "$T/src/$f")))
	elif [ "$n" -ge $((4 + ${#large[@]})) ]; then
		for k in $(seq 1 32); do
			f=${large[$(((n + k) % ${#large[@]}))]}
			off=$(((n * 7919 + k * 104729) % ($(stat -c %s "$T/src/$f") / 4096 - 4)))
			cmp <(dd if="$snap/$f" bs=4k skip="$off" count=4 status=none) \
				<(dd if="$T/src/$f" bs=4k skip="$off" count=4 status=none) ||
				{ echo "reader $n: $f at block $off differs"; return 1; }
		done
		bytes=$((bytes + 32 * 16384))
	fi
	echo "$bytes" >"$T/bytes.$n"
}

load_churn "$READERS" reader
load_verdict "$(cat "$T"/bytes.* | awk '{ s += $1 } END { printf "%d", s }')" "$pid" "$idle" "$CACHE_MIB" "$SLACK_MIB"
unmount_repo "$T/mnt"
