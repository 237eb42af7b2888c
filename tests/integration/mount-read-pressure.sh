#!/usr/bin/env bash
# Reads through a mount whose chunk cache is far smaller than the data come
# back exact: sequential reads across packs, eight readers of different
# files at once, random reads that seek in the middle of a prefetch, sparse
# files; the daemon's peak memory stays within the cache size plus a
# constant; the kernel's readahead is raised for the mount; security-label
# probes get "not supported" from a snapshot that has none (so GNU ls stops
# asking) and ACL probes "no such attribute" (the kernel enforces ACLs and
# caches that answer per inode), while a snapshot that has them answers them.
. "$(dirname "$0")/lib.sh"

CACHE_MIB=8
RSS_SLACK_MIB=64
case "$BUILD" in
*-asan)
	# AddressSanitizer keeps freed memory in quarantine (256 MiB by default)
	# and adds shadow memory and allocator metadata: turn the quarantine off
	# for this test's daemon and allow for the rest.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
	RSS_SLACK_MIB=128
	;;
esac

info "source: files larger than a pack, compressible and not, sparse"
mkdir -p "$T/src/many"
for i in 0 1 2 3 4 5 6 7; do
	if [ $((i % 2)) -eq 0 ]; then
		random_bytes 12M "f$i" >"$T/src/many/f$i"
	else
		random_bytes 9M "f$i" | base64 -w 76 >"$T/src/many/f$i" # compressible
	fi
done
{
	random_bytes 20M big-a
	random_bytes 12M big-b | base64 -w 100
} >"$T/src/big.bin"
truncate -s 40M "$T/src/sparse.img"
for off in 1 7 19 33; do
	random_bytes 1M "sparse-$off" | dd of="$T/src/sparse.img" bs=1M seek="$off" conv=notrunc status=none
done

cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m --time 2026-11-22T205328Z "$T/src"
mount_repo "$T/repo" "$T/mnt" "cache_size=${CACHE_MIB}M"
snap="$T/mnt/snapshots/m/2026-11-22T205328Z"
pid=${MOUNT_PID[$(realpath "$T/mnt")]}

info "the kernel's readahead for the mount follows -o readahead and the cache"
dev=$(mountpoint -d "$T/mnt")
# readahead defaults to 32M, capped at a quarter of the cache (2M); the
# kernel gets half of that.
assert_eq 1024 "$(cat "/sys/class/bdi/$dev/read_ahead_kb")" "read_ahead_kb of the mount"

info "a sequential read across packs, twice"
cmp "$T/src/big.bin" "$snap/big.bin" || fail "big.bin differs"
echo 1 >/proc/sys/vm/drop_caches # the second read goes to the daemon again
cmp "$T/src/big.bin" "$snap/big.bin" || fail "big.bin differs on the second read"

info "eight readers of different files at once"
pids=()
for i in 0 1 2 3 4 5 6 7; do
	cmp "$T/src/many/f$i" "$snap/many/f$i" &
	pids+=($!)
done
for i in 0 1 2 3 4 5 6 7; do
	wait "${pids[$i]}" || fail "many/f$i differs (a reader running with seven others)"
done

info "sparse file: holes read as zeros, data as data"
cmp "$T/src/sparse.img" "$snap/sparse.img" || fail "sparse.img differs"

info "random reads, and seeks in the middle of a prefetch"
echo 1 >/proc/sys/vm/drop_caches
python3 - "$T/src" "$snap" <<'PY' || fail "random reads through the mount differ"
import os, random, sys
src, mnt = sys.argv[1], sys.argv[2]
rnd = random.Random(7)
files = ["big.bin", "sparse.img"] + [f"many/f{i}" for i in range(8)]
for n in range(400):
    name = rnd.choice(files)
    a = os.open(os.path.join(src, name), os.O_RDONLY)
    b = os.open(os.path.join(mnt, name), os.O_RDONLY)
    size = os.fstat(a).st_size
    # A sequential run long enough to start prefetching, then a seek.
    off = rnd.randrange(0, size)
    for _ in range(rnd.choice([1, 2, 8])):
        ln = rnd.choice([1, 4096, 65536, 1 << 20, 3 << 20])
        x, y = os.pread(a, ln, off), os.pread(b, ln, off)
        if x != y:
            sys.exit(f"{name} at {off} ({ln} bytes) differs")
        off += ln
    os.close(a)
    os.close(b)
PY

info "the daemon's peak memory stays within the cache size and a constant"
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
[ -n "$hwm" ] || fail "no VmHWM for cairnfs pid $pid"
info "peak resident memory: $((hwm / 1024)) MiB"
[ "$hwm" -lt $(((CACHE_MIB + RSS_SLACK_MIB) * 1024)) ] ||
	fail "cairnfs peaked at $((hwm / 1024)) MiB with cache_size=${CACHE_MIB}M"
daemon_alive "$T/mnt" || fail "the daemon died"
unmount_repo "$T/mnt"

info "label probes: unsupported where the snapshot has none; ACLs absent"
mkdir -p "$T/acl"
echo "with an ACL" >"$T/acl/has-acl"
echo "without" >"$T/acl/plain"
# user::rw- user:1234:r-- group::r-- mask::r-- other::r-- (version 2; tag, perm, id)
acl=0x02000000
for entry in 01000600ffffffff 02000400d2040000 04000400ffffffff 10000400ffffffff \
	20000400ffffffff; do
	acl=$acl$entry
done
setfattr -n system.posix_acl_access -v "$acl" "$T/acl/has-acl"
cairn backup -r "$T/repo" --member acl --time 2026-11-22T205328Z "$T/acl"
mount_repo "$T/repo" "$T/mnt"
plain="$snap/many/f0"
with="$T/mnt/snapshots/acl/2026-11-22T205328Z"
expect_status 1 getfattr -h -n security.selinux "$plain"
assert_matches "$ERR" "not supported" "getfattr security.selinux in a snapshot without any"
expect_status 1 getfattr -h -n system.posix_acl_access "$plain"
assert_matches "$ERR" "No such attribute" "getfattr system.posix_acl_access in a snapshot without any"
expect_status 0 getfattr -h -e hex -n system.posix_acl_access "$with/has-acl"
assert_contains "$OUT" "system.posix_acl_access=$acl" "the ACL comes back"
expect_status 1 getfattr -h -n system.posix_acl_access "$with/plain"
assert_matches "$ERR" "no such attribute" "a file without an ACL in a snapshot with one"
expect_status 1 getfattr -h -n user.nothing "$plain"
assert_matches "$ERR" "no such attribute" "other names are simply absent"
assert_matches "$(ls -l "$with/has-acl")" "^-rw-r--r--\\+" "ls -l marks the file with an ACL"
assert_eq "$(cd "$T/src/many" && ls -l --time-style=full-iso | grep -v '^total')" \
	"$(cd "$snap/many" && ls -l --time-style=full-iso | grep -v '^total')" \
	"ls -l of a snapshot without ACLs"
unmount_repo "$T/mnt"
