#!/usr/bin/env bash
# The daemon's descriptors and memory stay flat over 10,000 open, read and
# close cycles through the mount (across many files, with the kernel's page
# cache dropped so reads reach the daemon): after a warm-up round, the
# descriptors grow by no more than a few new worker threads' catalog
# connections (a leak per cycle would be thousands) and VmRSS by less than
# 16 MiB.
. "$(dirname "$0")/lib.sh"

CYCLES=10000
RSS_GROWTH_KIB=$((16 * 1024))
case "$BUILD" in *-asan)
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
	RSS_GROWTH_KIB=$((48 * 1024))
	;;
esac

mkdir -p "$T/src"
for i in $(seq 0 99); do
	random_bytes 20k "f$i" >"$T/src/f$i"
done
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m --time 2026-11-22T205328Z "$T/src"
mount_repo "$T/repo" "$T/mnt" cache_size=8M
snap="$T/mnt/snapshots/m/2026-11-22T205328Z"
pid=${MOUNT_PID[$(realpath "$T/mnt")]}

# cycles N: N opens, reads and closes, spread over the files, in one python
# process (a shell loop would spend its time forking).
cycles() {
	python3 - "$snap" "$1" <<'PY'
import os, sys
snap, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    fd = os.open(os.path.join(snap, "f%d" % (i % 100)), os.O_RDONLY)
    os.pread(fd, 4096, (i * 4096) % 16384)
    os.close(fd)
    if i % 1000 == 999:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1")
PY
}
fds() { find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }

cycles 1000 || fail "the warm-up round failed"
fd0=$(fds)
rss0=$(rss)
cycles "$CYCLES" || fail "$CYCLES cycles failed"
fd1=$(fds)
rss1=$(rss)
info "descriptors $fd0 -> $fd1, VmRSS $((rss0 / 1024)) -> $((rss1 / 1024)) MiB over $CYCLES cycles"
# libfuse starts worker threads as load needs them (10 at most by default),
# and each opens its own catalog connection (the database, -wal and -shm).
[ "$fd1" -le $((fd0 + 30)) ] || fail "the daemon's descriptors grew from $fd0 to $fd1"
[ $((rss1 - rss0)) -lt "$RSS_GROWTH_KIB" ] || fail "VmRSS grew by $(((rss1 - rss0) / 1024)) MiB"
daemon_alive "$T/mnt" || fail "the daemon died"
unmount_repo "$T/mnt"
