#!/usr/bin/env bash
# cairn backup --tar makes the snapshot that `tar -x` makes of the same
# stream: GNU tar (--format=posix --xattrs --sparse, gzip, through stdin;
# --format=gnu with long names and old-style sparse entries, bzip2), bsdtar
# (pax, xz) and zstd. The full tree has hardlinks, xattrs, nanosecond
# mtimes, sparse files, devices, odd owners and names that are not UTF-8.
# The mount is compared with the extracted stream by rsync -aHAX --checksum
# (the extraction keeps numeric owners, as cairn does), holes stay holes,
# the same data as a directory backup is stored once, and a truncated or
# garbage stream fails with no snapshot.
. "$(dirname "$0")/lib.sh"

FULL_TREE_BIG=0 make_full_tree "$T/src"
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member dir --time 2026-11-22T000000Z "$T/src"

GNU_X=(tar --xattrs --xattrs-include='*' --numeric-owner -xpf -)
BSD_X=(env LC_ALL=C.UTF-8 bsdtar --xattrs --numeric-owner -xpf -)

# ingest MEMBER COMPRESS EXTRACT-ARRAY-NAME CREATE...: creates the stream,
# backs it up through cairn's stdin, extracts the same bytes with the given
# tar, and records where the extraction went.
ingest() {
	local member=$1 compress=$2 xname=$3
	shift 3
	"$@" 2>"$T/$member.create.err" | $compress >"$T/$member.stream"
	info "$member: $* | $compress | cairn backup --tar -"
	"$BUILD/cairn" backup -r "$T/repo" --member "$member" --tar - <"$T/$member.stream" 2>"$T/$member.err" ||
		fail "cairn backup --tar of $member failed: $(cat "$T/$member.err")"
	local -n x=$xname
	mkdir "$T/x-$member"
	$compress -dc <"$T/$member.stream" | (cd "$T/x-$member" && "${x[@]}" 2>/dev/null) ||
		fail "${x[0]} -x of the $member stream failed"
}

ingest gnu-posix "gzip -1" GNU_X \
	tar -C "$T/src" --format=posix --xattrs --xattrs-include='*' --sparse -cf - .
ingest gnu-old "bzip2 -1" GNU_X tar -C "$T/src" --format=gnu --sparse -cf - .
ingest bsd-pax "xz -0" BSD_X env LC_ALL=C.UTF-8 bsdtar -C "$T/src" --format=pax --xattrs -cf - .
# bsdtar -x leaves the times of the directory it extracts into alone, where
# GNU tar gives it those of the stream's "./" entry, as cairn does.
touch -h -r "$T/src" "$T/x-bsd-pax"
ingest gnu-zstd "zstd -q -1" GNU_X \
	tar -C "$T/src" --format=posix --xattrs --xattrs-include='*' --sparse -cf - .

mount_repo "$T/repo" "$T/mnt"
for m in gnu-posix gnu-old bsd-pax gnu-zstd; do
	info "$m: the mount equals tar -x of the stream"
	tree_equal "$T/x-$m" "$T/mnt/snapshots/$m/latest"
done
info "the extractions are the source tree (so nothing was lost on either side)"
tree_equal "$T/src" "$T/x-gnu-posix"
tree_equal "$T/src" "$T/x-bsd-pax"
snap=$T/mnt/snapshots/gnu-posix/latest
assert_eq "$(getfattr --absolute-names -d -m- -e hex "$T/src/xattrs/file" | tail -n +2)" \
	"$(getfattr --absolute-names -d -m- -e hex "$snap/xattrs/file" | tail -n +2)" "xattrs of a file"
assert_eq "$(stat -c '%y %u:%g %a %h' "$T/src/small.txt" "$T/src/links/a/three")" \
	"$(stat -c '%y %u:%g %a %h' "$snap/small.txt" "$snap/links/a/three")" "times, owners, links"
for f in sparse.img sparse-tail.img all-hole.img; do
	[ "$(stat -c %b "$snap/$f")" -le $(($(stat -c %b "$T/src/$f") + 8)) ] ||
		fail "$f is not sparse in the snapshot: $(stat -c %b "$snap/$f") blocks"
done
unmount_repo "$T/mnt"

info "a tar of a tree stores (almost) nothing beyond a backup of the tree itself"
stored=$(cairn snapshots -r "$T/repo" --json | python3 -c '
import json, sys
print(sum(s["stored"] for s in json.load(sys.stdin) if s["member"] == "gnu-posix"))')
[ "$stored" -lt 1048576 ] || fail "the tar of the backed-up tree stored $stored new bytes"

info "truncated, garbage and empty streams: exit 1, no snapshot"
before=$(cairn snapshots -r "$T/repo" | wc -l)
head -c 3000000 "$T/gnu-posix.stream" >"$T/truncated.tar.gz"
expect_status 1 cairn backup -r "$T/repo" --member bad --tar "$T/truncated.tar.gz"
assert_contains "$ERR" "cannot read tar stream '$T/truncated.tar.gz'"
{ gzip -dc "$T/gnu-posix.stream" || true; } | head -c 5000000 >"$T/truncated.tar"
expect_status 1 cairn backup -r "$T/repo" --member bad --tar "$T/truncated.tar"
assert_contains "$ERR" "cannot read tar stream"
random_bytes 100K garbage >"$T/garbage"
expect_status 1 cairn backup -r "$T/repo" --member bad --tar "$T/garbage"
assert_contains "$ERR" "cannot read tar stream '$T/garbage'"
: >"$T/empty.tar"
expect_status 1 cairn backup -r "$T/repo" --member bad --tar "$T/empty.tar"
assert_contains "$ERR" "holds no entries"
expect_status 1 cairn backup -r "$T/repo" --member bad --tar "$T/no-such.tar"
assert_contains "$ERR" "cannot open '$T/no-such.tar'"
expect_status 2 cairn backup -r "$T/repo" --member bad --tar "$T/empty.tar" "$T/src"
assert_eq "$before" "$(cairn snapshots -r "$T/repo" | wc -l)" "no snapshot from a bad stream"
expect_status 0 cairn check -r "$T/repo"
