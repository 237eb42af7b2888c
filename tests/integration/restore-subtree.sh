#!/usr/bin/env bash
# cairn restore SNAP PATH restores just that subtree: a directory's contents
# into the target (which takes the directory's metadata), anything else
# into the target under its own name. Paths that do not resolve, pass
# through a non-directory or climb with '..' are refused with exit 1.
. "$(dirname "$0")/lib.sh"

FULL_TREE_BIG=0 make_full_tree "$T/src"
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m1 --time 2026-11-22T205328Z "$T/src"

info "a directory: its contents, hardlinks included"
expect_status 0 cairn restore -r "$T/repo" m1/latest links --target "$T/links"
tree_equal "$T/src/links" "$T/links"
assert_eq "$(stat -c %i "$T/links/a/three")" "$(stat -c %i "$T/links/b/c/three-too")" \
	"hardlinks inside the subtree"
[ ! -e "$T/links/small.txt" ] && [ ! -e "$T/links/links" ] || fail "more than the subtree came back"

info "leading, trailing and doubled slashes, '.' components, names in any bytes"
expect_status 0 cairn restore -r "$T/repo" m1/latest //./names/ --target "$T/names"
tree_equal "$T/src/names" "$T/names"
expect_status 0 cairn restore -r "$T/repo" m1/latest "names/"$'\x01\x7f-dir' --target "$T/odd"
tree_equal "$T/src/names/"$'\x01\x7f-dir' "$T/odd"

info "a file, a symlink and a sparse file come back under their own names"
expect_status 0 cairn restore -r "$T/repo" m1/latest xattrs/file --target "$T/one"
assert_eq "file" "$(ls -A "$T/one")"
assert_empty_output rsync -aHAX --checksum --dry-run --itemize-changes "$T/src/xattrs/file" "$T/one/"
expect_status 0 cairn restore -r "$T/repo" m1/latest symlinks/relative --target "$T/one" --overwrite
assert_eq "../small.txt" "$(readlink "$T/one/relative")"
assert_eq "4321:8765" "$(stat -c %u:%g "$T/one/relative")" "owner of a restored symlink"
expect_status 0 cairn restore -r "$T/repo" m1/latest sparse.img --target "$T/one" --overwrite
cmp "$T/src/sparse.img" "$T/one/sparse.img" || fail "sparse.img differs"
[ "$(stat -c %b "$T/one/sparse.img")" -le "$(stat -c %b "$T/src/sparse.img")" ] ||
	fail "sparse.img is not sparse"

info "paths that do not resolve"
expect_status 1 cairn restore -r "$T/repo" m1/latest no/such --target "$T/x"
assert_contains "$ERR" "no 'no/such' in snapshot m1/2026-11-22T205328Z"
expect_status 1 cairn restore -r "$T/repo" m1/latest small.txt/x --target "$T/x"
assert_contains "$ERR" "'small.txt' is not a directory"
expect_status 1 cairn restore -r "$T/repo" m1/latest ../etc --target "$T/x"
assert_contains "$ERR" "'..' is not allowed"
expect_status 1 cairn restore -r "$T/repo" m1/latest symlinks/to-dir/a --target "$T/x"
assert_contains "$ERR" "'symlinks/to-dir' is not a directory"
[ ! -e "$T/x" ] || fail "a failed restore created its target"
