#!/usr/bin/env bash
# cairn prune after forget: deletes the packs only forgotten snapshots used,
# repacks a pack that is mostly garbage (rewriting the snapshots that still
# use part of it), deletes the trees of forgotten snapshots, and leaves
# every remaining snapshot restorable (compared through the mount with the
# sources they were taken from) and check-clean with --read-data. A second
# prune finds nothing to do.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
cairn init -r "$R" --no-encryption
pack_bytes() {
	du -sb "$R/packs" | cut -f1
}

random_bytes 4M common >"$T/common"
# S1 holds common and 6 MiB of its own in one pack: after S1 is forgotten
# that pack is 60% garbage, so it is repacked. S2's pack holds only its own
# 3 MiB: wholly garbage, deleted. S3 and S4 stay, and so does member n,
# which shares S4's data.
for i in 1 2 3 4; do
	mkdir -p "$T/src$i/sub"
	cp "$T/common" "$T/src$i/common"
	size=3M
	[ "$i" = 1 ] && size=6M
	random_bytes "$size" "unique-$i" >"$T/src$i/sub/unique"
	echo "snapshot $i" >"$T/src$i/note"
	ln -s note "$T/src$i/link"
	cairn backup -r "$R" --member m --time "2026-01-0${i}T000000Z" "$T/src$i"
done
cairn backup -r "$R" --member n --time 2026-01-05T000000Z "$T/src4"
expect_status 0 cairn check -r "$R" --read-data
before=$(pack_bytes)
trees_before=$(ls "$R/trees" | wc -l)

# The catalog of a host that will not see the prune: it knows the packs
# prune is about to delete.
cp -a "$CAIRN_CACHE_DIR" "$T/cache-stale"

info "forget S1 and S2; prune reclaims their unique data"
expect_status 0 cairn forget -r "$R" --keep-last 2
assert_eq 3 "$(ls "$R/snapshots" | wc -l)" "snapshot headers after forget"
expect_status 0 cairn prune -r "$R" --dry-run
assert_contains "$ERR" "would repack 1 mostly unused packs"
assert_contains "$ERR" "would delete 2 packs" # S2's, and S1's once repacked
assert_eq "$before" "$(pack_bytes)" "pack bytes after prune --dry-run"
expect_status 0 cairn prune -r "$R"
assert_contains "$ERR" "repack 1 mostly unused packs"
assert_contains "$ERR" "rewrote 3 snapshots"
assert_contains "$ERR" "reclaimed"
after=$(pack_bytes)
info "pack bytes: $before before, $after after"
# 6 MiB of S1 and 3 MiB of S2 are gone; nothing else is.
[ "$after" -lt $((before - 8 * 1048576)) ] || fail "prune reclaimed $((before - after)) bytes, expected more than 8 MiB"
[ "$after" -gt $((10 * 1048576)) ] || fail "prune left $after bytes, less than the 10 MiB still in use"
# Two forgotten snapshots' trees, and the replaced trees of the rewritten ones.
assert_eq 2 "$(ls "$R/trees" | wc -l)" "trees after prune (m/S3 and m/S4 = n, which has the same tree)"
[ "$trees_before" -gt 2 ] || fail "there were only $trees_before trees before"
assert_eq "" "$(ls "$R/locks")" "locks left behind"

info "the remaining snapshots check clean and restore exactly"
expect_status 0 cairn check -r "$R" --read-data
assert_eq "" "$OUT" "check output after prune"
assert_eq "m 2026-01-03T000000Z
m 2026-01-04T000000Z
n 2026-01-05T000000Z" "$(cairn snapshots -r "$R" | awk 'NR > 1 { print $1, $2 }')" "snapshots after prune"
export CAIRN_CACHE_DIR="$T/cache-fresh" # what a fresh machine sees
mount_repo "$R" "$T/mnt"
tree_equal "$T/src3" "$T/mnt/snapshots/m/2026-01-03T000000Z"
tree_equal "$T/src4" "$T/mnt/snapshots/m/2026-01-04T000000Z"
tree_equal "$T/src4" "$T/mnt/snapshots/n/2026-01-05T000000Z"
assert_eq "2026-01-03T000000Z
2026-01-04T000000Z" "$(snapshot_dirs "$T/mnt" m)" "snapshot directories of m"
unmount_repo "$T/mnt"

info "a second prune finds nothing left to delete"
expect_status 0 cairn prune -r "$R"
assert_contains "$ERR" "delete 0 packs (0 B) and 0 trees"
assert_eq "$after" "$(pack_bytes)" "pack bytes after a second prune"
expect_status 0 cairn check -r "$R" --read-data

info "a backup after prune deduplicates against what survived"
packs_before=$(find "$R/packs" -type f | wc -l)
cairn backup -r "$R" --member m --time 2026-01-06T000000Z "$T/src4"
assert_eq "$packs_before" "$(find "$R/packs" -type f | wc -l)" "packs after backing up S4's data again"
expect_status 0 cairn check -r "$R" --read-data

info "a host whose catalog predates the prune does not reuse deleted packs"
export CAIRN_CACHE_DIR="$T/cache-stale"
cairn backup -r "$R" --member m --time 2026-01-07T000000Z "$T/src1"
expect_status 0 cairn check -r "$R" --read-data
assert_eq "" "$OUT" "check output after a backup from a stale catalog"
mount_repo "$R" "$T/mnt"
tree_equal "$T/src1" "$T/mnt/snapshots/m/2026-01-07T000000Z"
unmount_repo "$T/mnt"
