#!/usr/bin/env bash
# cairn restore recreates a tree with every kind of entry exactly (rsync
# -aHAX --checksum finds nothing to do), keeps sparse files sparse, checks
# what it wrote with --verify, refuses a non-empty target without
# --overwrite, and with it replaces the snapshot's entries, removes leftover
# temporary names and leaves other files alone.
. "$(dirname "$0")/lib.sh"

make_full_tree "$T/src"
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m1 --time 2026-11-22T205328Z "$T/src"

info "restore --verify into a new directory"
expect_status 0 cairn restore -r "$T/repo" m1/latest --target "$T/out" --verify
assert_contains "$ERR" "restored m1/2026-11-22T205328Z into '$T/out'"
n_files=$(find "$T/src" -type f -printf '%i\n' | sort -u | wc -l)
assert_matches "$ERR" "verified $n_files files: [0-9.]+ MiB of data read back match" \
	"--verify reports every file and the bytes it checked"
tree_equal "$T/src" "$T/out"

info "sparse files stay sparse"
for f in sparse.img sparse-tail.img all-hole.img; do
	src_blocks=$(stat -c %b "$T/src/$f")
	out_blocks=$(stat -c %b "$T/out/$f")
	[ "$out_blocks" -le "$src_blocks" ] ||
		fail "$f takes $out_blocks blocks restored, $src_blocks in the source"
done
[ "$(stat -c %b "$T/out/all-hole.img")" -eq 0 ] || fail "all-hole.img got blocks"

info "hardlinks are links, and the target took the root's metadata"
assert_eq "$(stat -c %i "$T/out/links/a/three")" "$(stat -c %i "$T/out/links/b/c/three-too")"
assert_eq 3 "$(stat -c %h "$T/out/links/b/three")"
assert_eq "$(stat -c '%a %Y' "$T/src")" "$(stat -c '%a %Y' "$T/out")" "mode and mtime of the target"

info "a non-empty target is refused without --overwrite"
echo mine >"$T/out/mine.txt"
echo changed >"$T/out/small.txt"
expect_status 1 cairn restore -r "$T/repo" m1/latest --target "$T/out"
assert_contains "$ERR" "the target '$T/out' is not empty"
assert_contains "$ERR" "hint:"
assert_eq changed "$(cat "$T/out/small.txt")" "a refused restore changed a file"
expect_status 1 cairn restore -r "$T/repo" m1/latest --target "$T/src/small.txt"
assert_contains "$ERR" "$T/src/small.txt"

info "--overwrite replaces the snapshot's entries and leaves other files alone"
rm -rf "$T/out/links/b"
ln -s /etc "$T/out/links/b"
touch "$T/out/.cairn-restore.999.1" "$T/out/names/.cairn-restore.999.2"
expect_status 0 cairn restore -r "$T/repo" m1/latest --target "$T/out" --overwrite
assert_eq mine "$(cat "$T/out/mine.txt")" "--overwrite removed a file the snapshot does not have"
[ ! -e "$T/out/.cairn-restore.999.1" ] && [ ! -e "$T/out/names/.cairn-restore.999.2" ] ||
	fail "leftover temporary names survived a restore with --overwrite"
[ -d "$T/out/links/b" ] && [ ! -L "$T/out/links/b" ] || fail "links/b is not a directory again"
assert_empty_output rsync -aHAX --checksum --dry-run --itemize-changes --exclude=/mine.txt \
	"$T/src/" "$T/out/"

info "an unknown snapshot names what exists"
expect_status 1 cairn restore -r "$T/repo" m2/latest --target "$T/none"
assert_contains "$ERR" "no member 'm2'"
[ ! -e "$T/none" ] || fail "a failed restore created its target"
expect_status 2 cairn restore -r "$T/repo" m1/latest
assert_contains "$ERR" "--target"
