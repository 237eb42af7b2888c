#!/usr/bin/env bash
# The catalog is only a cache: with $CAIRN_CACHE_DIR deleted, a new mount
# rebuilds it from the repository and shows the same trees.
. "$(dirname "$0")/lib.sh"

FULL_TREE_BIG=0 make_full_tree "$T/src"
mkdir -p "$T/src2"
echo second >"$T/src2/only-in-second"
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m1 --time 2026-11-22T205328Z "$T/src"
cairn backup -r "$T/repo" --member m2 --time 2026-11-22T205329Z "$T/src2"

mount_repo "$T/repo" "$T/mnt"
tree_equal "$T/src" "$T/mnt/snapshots/m1/2026-11-22T205328Z"
tree_equal "$T/src2" "$T/mnt/snapshots/m2/latest"
unmount_repo "$T/mnt"
[ -n "$(ls -A "$CAIRN_CACHE_DIR" 2>/dev/null)" ] || fail "nothing was cached in \$CAIRN_CACHE_DIR ($CAIRN_CACHE_DIR)"
snapshots_before=$(cairn snapshots -r "$T/repo")

info "delete the cache and mount again"
rm -rf "$CAIRN_CACHE_DIR"
mount_repo "$T/repo" "$T/mnt"
assert_eq "m1
m2" "$(ls -A "$T/mnt/snapshots")" "members after the cache was deleted"
tree_equal "$T/src" "$T/mnt/snapshots/m1/2026-11-22T205328Z"
tree_equal "$T/src2" "$T/mnt/snapshots/m2/2026-11-22T205329Z"
unmount_repo "$T/mnt"
[ -n "$(ls -A "$CAIRN_CACHE_DIR" 2>/dev/null)" ] || fail "the cache was not rebuilt in $CAIRN_CACHE_DIR"

info "cairn snapshots rebuilds it too"
rm -rf "$CAIRN_CACHE_DIR"
assert_eq "$snapshots_before" "$(cairn snapshots -r "$T/repo")" "cairn snapshots after the cache was deleted"

info "a cache emptied while not mounted, then a backup into the same repository"
rm -rf "$CAIRN_CACHE_DIR"
echo third >"$T/src2/only-in-second"
cairn backup -r "$T/repo" --member m2 --time 2026-11-22T205330Z "$T/src2"
mount_repo "$T/repo" "$T/mnt"
assert_eq third "$(cat "$T/mnt/snapshots/m2/latest/only-in-second")" "backup after the cache was deleted"
tree_equal "$T/src" "$T/mnt/snapshots/m1/2026-11-22T205328Z"
unmount_repo "$T/mnt"
