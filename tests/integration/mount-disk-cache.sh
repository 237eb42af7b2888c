#!/usr/bin/env bash
# cairnfs -o disk_cache=DIR over HTTP: a second mount with the same DIR
# reads a file back without fetching its chunks again; a damaged or
# truncated file in DIR is replaced from the store, never read as data;
# disk_cache_size bounds DIR; a DIR that cannot be created only costs the
# disk cache.
. "$(dirname "$0")/lib.sh"
# shellcheck source=../lib-s3.sh
. "$SRC/tests/lib-s3.sh"
trap 'st=$?; set +e; http_stop; (exit $st); cleanup' EXIT

SIZE_MIB=6

mkdir -p "$T/src"
random_bytes "${SIZE_MIB}M" disk-cache >"$T/src/data.bin"
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m --time 2026-11-22T205328Z "$T/src"
http_start "$T/repo"
export CAIRN_CACHE_DIR=$T/http-cache

# read_mount OPTS: mounts the repository over HTTP with -o OPTS, compares
# the file with the source, unmounts, and sets BYTES_IN and READS to what
# the mount cost (the "backend:" line cairnfs logs at the end) and LOG to
# its log.
read_mount() {
	local line
	mount_repo "$HTTP_URL" "$T/mnt" "$1"
	LOG=${MOUNT_LOG[$(realpath "$T/mnt")]}
	cmp "$T/src/data.bin" "$T/mnt/snapshots/m/2026-11-22T205328Z/data.bin" ||
		fail "the file read through the mount (-o $1) differs from the source"
	unmount_repo "$T/mnt"
	line=$(grep 'backend: ' "$LOG") || fail "no backend line in $(cat "$LOG")"
	READS=$(sed -E 's/.* \(([0-9]+) reads.*/\1/' <<<"$line")
	BYTES_IN=$(sed -E 's/.*, ([0-9]+) bytes in.*/\1/' <<<"$line")
	info "-o $1: $READS reads, $BYTES_IN bytes in"
}

size=$((SIZE_MIB << 20))

info "first mount: chunks come from the store and go to the disk cache"
read_mount "disk_cache=$T/dc"
[ "$BYTES_IN" -ge "$size" ] || fail "the first mount fetched $BYTES_IN bytes, less than the file"
reads1=$READS
[ "$(stat -c %a "$T/dc")" = 700 ] || fail "the disk cache directory is not mode 0700"
n_files=$(find "$T/dc" -type f | wc -l)
[ "$n_files" -ge 2 ] || fail "the disk cache holds $n_files files, expected several chunks"
[ -z "$(find "$T/dc" -type f ! -perm 0600)" ] || fail "disk cache files are not mode 0600"
[ -z "$(find "$T/dc" -name '.tmp-*')" ] || fail "temporary files were left in the disk cache"

info "second mount, same disk cache: no chunk is fetched again"
read_mount "disk_cache=$T/dc"
[ "$BYTES_IN" -lt $((size / 20)) ] ||
	fail "the second mount fetched $BYTES_IN bytes of a $size-byte file (first: reads $reads1)"
[ "$READS" -lt "$reads1" ] || fail "the second mount made $READS reads, the first $reads1"
assert_contains "$(cat "$LOG")" "disk cache: $n_files hits, 0 misses"

info "a damaged and a truncated disk cache file: replaced from the store"
mapfile -t files < <(find "$T/dc" -type f -name '[0-9a-f]*' | sort)
damaged=${files[0]} truncated=${files[1]}
dsize=$(stat -c %s "$damaged")
byte=$(od -An -tu1 -j $((dsize / 2)) -N1 "$damaged" | tr -d ' ')
printf "$(printf '\\%03o' $(((byte + 1) % 256)))" |
	dd of="$damaged" bs=1 seek=$((dsize / 2)) conv=notrunc status=none
cp "$damaged" "$T/damaged.copy"
truncate -s -1 "$truncated"
read_mount "disk_cache=$T/dc"
[ "$BYTES_IN" -gt 0 ] || fail "nothing was fetched again for the damaged files"
[ "$BYTES_IN" -lt "$size" ] || fail "the whole file was fetched again ($BYTES_IN bytes)"
assert_contains "$(cat "$LOG")" "was damaged"
assert_contains "$(cat "$LOG")" "2 rejected"
! cmp -s "$damaged" "$T/damaged.copy" || fail "the damaged disk cache file was kept"
[ "$(stat -c %s "$damaged")" = "$dsize" ] || fail "the damaged file was not stored again"

info "all good again: the next mount fetches nothing"
read_mount "disk_cache=$T/dc"
[ "$BYTES_IN" -lt $((size / 20)) ] || fail "the repaired disk cache still costs $BYTES_IN bytes"

info "disk_cache_size bounds the directory"
bound=$((2 << 20))
read_mount "disk_cache=$T/small,disk_cache_size=2M"
total=$(find "$T/small" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
[ "$total" -le "$bound" ] || fail "the disk cache holds $total bytes, above its bound of $bound"
[ "$total" -gt 0 ] || fail "the bounded disk cache holds nothing"
assert_matches "$(cat "$LOG")" "disk cache: .* [1-9][0-9]* evicted"

info "a disk cache that cannot be created: the mount works without it"
echo file >"$T/not-a-dir"
read_mount "disk_cache=$T/not-a-dir/dc"
assert_contains "$(cat "$LOG")" "going on without it"
[ "$BYTES_IN" -ge "$size" ] || fail "expected a mount without disk cache to fetch the file"

info "bad options are usage errors"
expect_status 2 "$BUILD/cairnfs" "$HTTP_URL" "$T/mnt" -o disk_cache_size=1G
assert_contains "$ERR" "disk_cache_size needs disk_cache=DIR"
expect_status 2 "$BUILD/cairnfs" "$HTTP_URL" "$T/mnt" -o "disk_cache=$T/dc,disk_cache_size=12x"
assert_contains "$ERR" "bad disk_cache_size '12x'"

info "a damaged pack: EIO, and nothing damaged reaches the disk cache"
pack=$(find "$T/repo" -path '*pack*' -type f -size +1M | head -n 1)
[ -n "$pack" ] || fail "no pack found in $(find "$T/repo" -type f)"
cp "$pack" "$T/pack.orig"
psize=$(stat -c %s "$pack")
printf 'XXXXXXXX' | dd of="$pack" bs=1 seek=$((psize / 2)) conv=notrunc status=none
mount_repo "$HTTP_URL" "$T/mnt" "disk_cache=$T/dc3"
LOG=${MOUNT_LOG[$(realpath "$T/mnt")]}
expect_status 1 cp "$T/mnt/snapshots/m/2026-11-22T205328Z/data.bin" "$T/copy.bin"
assert_contains "$ERR" "Input/output error"
unmount_repo "$T/mnt"
assert_contains "$(cat "$LOG")" "is damaged"
cp "$T/pack.orig" "$pack"
read_mount "disk_cache=$T/dc3"
assert_contains "$(cat "$LOG")" " 0 rejected"
