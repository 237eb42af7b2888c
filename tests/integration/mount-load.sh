#!/usr/bin/env bash
# 32 readers at once through one mount (find, whole files, random reads),
# every byte compared with the source, while a backup of another member and
# a forget --prune of a third run on the same repository: no error, no wrong
# byte, the daemon alive, and its peak memory within its cache budget plus
# 32 MiB (and the size of an idle daemon). Prints the readers' throughput.
. "$(dirname "$0")/lib.sh"
# shellcheck source=../lib-load.sh
. "$SRC/tests/lib-load.sh"

CACHE_MIB=16
READERS=32
SLACK_MIB=32
case "$BUILD" in *-asan)
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
	SLACK_MIB=160
	;;
esac

info "data: small files and large ones"
mkdir -p "$T/src/small" "$T/src/large" "$T/other" "$T/old"
for i in $(seq 0 199); do random_bytes $((1 + i % 7))k "s$i" >"$T/src/small/s$i"; done
for i in 0 1 2 3; do random_bytes 6M "l$i" >"$T/src/large/l$i"; done
random_bytes 4M other >"$T/other/o"
random_bytes 4M old >"$T/old/o"
(cd "$T/src" && find . -type f -printf '%P\n' | sort >"$T/files" && xargs sha256sum <"$T/files" >"$T/sums")

cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member data --time 2026-11-22T205328Z "$T/src"
cairn backup -r "$T/repo" --member old --time 2026-11-21T000000Z "$T/old"
cairn backup -r "$T/repo" --member old --time 2026-11-22T000000Z "$T/old"
mount_repo "$T/repo" "$T/mnt" "cache_size=${CACHE_MIB}M"
pid=${MOUNT_PID[$(realpath "$T/mnt")]}
idle=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
snap="$T/mnt/snapshots/data/2026-11-22T205328Z"

reader() {
	local n=$1 f
	find "$snap" >/dev/null || return 1
	(cd "$snap" && sha256sum -c --quiet "$T/sums") || return 1
	# random reads: 64 slices of the large files, compared with the source
	for k in $(seq 1 64); do
		f=large/l$(((n + k) % 4))
		local off=$((((n * 7919 + k * 104729) % 6000) * 1024))
		cmp <(dd if="$snap/$f" bs=4k skip=$((off / 4096)) count=4 status=none) \
			<(dd if="$T/src/$f" bs=4k skip=$((off / 4096)) count=4 status=none) || return 1
	done
}

load_churn "$READERS" reader
load_verdict $(($(du -sb "$T/src" | cut -f1) * READERS)) "$pid" "$idle" "$CACHE_MIB" "$SLACK_MIB"
unmount_repo "$T/mnt"
