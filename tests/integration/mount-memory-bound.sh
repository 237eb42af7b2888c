#!/usr/bin/env bash
# The daemon's peak memory stays within its cache budget plus 32 MiB under
# what a new user does first: read large files once, end to end (more than
# the budget), then walk a tree of many small files on the same mount (ls
# -lR, find, tar), then read the large files again from a dropped page
# cache and at random offsets. Every byte read must be right.
. "$(dirname "$0")/lib.sh"

CACHE_MIB=32
RSS_SLACK_MIB=32
case "$BUILD" in
*-asan)
	# AddressSanitizer's quarantine, shadow memory and allocator metadata
	# are not the daemon's: as in mount-read-pressure.sh.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
	RSS_SLACK_MIB=128
	;;
esac

info "source: two files of twice the budget each, and 6,000 small files"
mkdir -p "$T/src/big" "$T/src/tree"
text_bytes 64M text >"$T/src/big/text.log"
random_bytes 64M rnd >"$T/src/big/random.bin"
python3 - "$T/src/tree" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(15)
for d in range(60):
    sub = os.path.join(root, "d%02d" % d, "s%d" % (d % 7))
    os.makedirs(sub)
    for f in range(100):
        n = min(16384, int(rng.lognormvariate(6.5, 1.5)))
        with open(os.path.join(sub, "f%03d" % f), "wb") as fh:
            fh.write(rng.randbytes(n // 2) + b"x" * (n - n // 2))
PY

cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m --time 2026-12-03T120000Z "$T/src"
mount_repo "$T/repo" "$T/mnt" "cache_size=${CACHE_MIB}M"
snap="$T/mnt/snapshots/m/2026-12-03T120000Z"
pid=${MOUNT_PID[$(realpath "$T/mnt")]}
# peak: the daemon's VmHWM in KiB, shown as MiB.
peak() {
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
	[ -n "$hwm" ] || fail "no VmHWM for cairnfs pid $pid"
	info "peak resident memory so far: $((hwm / 1024)) MiB"
}

info "each large file read once, end to end"
for f in text.log random.bin; do
	cmp "$T/src/big/$f" "$snap/big/$f" || fail "big/$f differs"
done

peak
info "then a walk of the small files on the same mount"
assert_eq "$(cd "$T/src/tree" && ls -lR --time-style=full-iso . | grep -v '^total')" \
	"$(cd "$snap/tree" && ls -lR --time-style=full-iso . | grep -v '^total')" "ls -lR of the tree"
assert_eq "$(cd "$T/src/tree" && find . | sort)" "$(cd "$snap/tree" && find . | sort)" "find"
assert_eq "$(cd "$T/src/tree" && tar cf - --sort=name . | sha256sum)" \
	"$(cd "$snap/tree" && tar cf - --sort=name . | sha256sum)" "tar of the tree"

peak
info "the large files again, from the daemon, and at random offsets"
echo 1 >/proc/sys/vm/drop_caches
cmp "$T/src/big/text.log" "$snap/big/text.log" || fail "big/text.log differs on the second read"
peak
echo 1 >/proc/sys/vm/drop_caches
python3 - "$T/src/big" "$snap/big" <<'PY' || fail "random reads through the mount differ"
import os, random, sys
src, mnt = sys.argv[1], sys.argv[2]
rnd = random.Random(3)
for name in ["text.log", "random.bin"]:
    a = os.open(os.path.join(src, name), os.O_RDONLY)
    b = os.open(os.path.join(mnt, name), os.O_RDONLY)
    size = os.fstat(a).st_size
    for _ in range(300):
        off, ln = rnd.randrange(0, size), rnd.choice([4096, 65536, 1 << 20])
        if os.pread(a, ln, off) != os.pread(b, ln, off):
            sys.exit(f"{name} at {off} ({ln} bytes) differs")
    os.close(a)
    os.close(b)
PY

info "the daemon's peak memory: within the budget and ${RSS_SLACK_MIB} MiB"
peak
[ "$hwm" -le $(((CACHE_MIB + RSS_SLACK_MIB) * 1024)) ] ||
	fail "cairnfs peaked at $((hwm / 1024)) MiB with cache_size=${CACHE_MIB}M (at most $((CACHE_MIB + RSS_SLACK_MIB)) MiB)"
daemon_alive "$T/mnt" || fail "the daemon died"
unmount_repo "$T/mnt"
