#!/usr/bin/env bash
# cairn export streams a pax archive that GNU tar extracts into the exact
# tree (names in any bytes, hardlinks, xattrs, nanosecond mtimes, devices,
# and sparse files that stay sparse); --format tar gives a GNU tar archive
# without xattrs, holes or sub-second times; a subtree exports alone; a
# terminal stdout is refused, and a reader that goes away is reported.
. "$(dirname "$0")/lib.sh"

make_full_tree "$T/src"
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m1 --time 2026-11-22T205328Z "$T/src"

info "export | tar xf - (pax)"
mkdir "$T/x"
cairn export -r "$T/repo" m1/latest | (cd "$T/x" && tar --xattrs --xattrs-include='*' -xpf - 2>"$T/tar.err") ||
	fail "cairn export | tar -x failed: $(cat "$T/tar.err")"
tree_equal "$T/src" "$T/x"
for f in sparse.img sparse-tail.img all-hole.img; do
	[ "$(stat -c %b "$T/x/$f")" -le "$(stat -c %b "$T/src/$f")" ] ||
		fail "$f is not sparse after GNU tar: $(stat -c %b "$T/x/$f") blocks, $(stat -c %b "$T/src/$f") in the source"
done

info "the archive holds the sparse file's data only, and names what it holds"
cairn export -r "$T/repo" m1/latest >"$T/all.tar"
size=$(stat -c %s "$T/all.tar")
data=$(du -B1 --apparent-size -s --exclude=sparse.img --exclude=sparse-tail.img --exclude=all-hole.img "$T/src" | cut -f1)
[ "$size" -lt $((data + 64 * 1048576)) ] || fail "the archive takes $size bytes for $data bytes of data"
tar -tvf "$T/all.tar" >"$T/list" 2>/dev/null
assert_contains "$(cat "$T/list")" "./links/two-again link to ./links/two"
assert_matches "$(cat "$T/list")" "^h.* \\./links/b/c/three-too link to \\./links/a/three$"
assert_matches "$(cat "$T/list")" "^crw-r----- 0/0 +250,65537 .* \\./special/odd-chr$"

info "--format tar: GNU format, no xattrs or holes, and it says so"
mkdir "$T/g"
cairn export -r "$T/repo" m1/latest --format tar 2>"$T/export.err" | (cd "$T/g" && tar -xpf -) ||
	fail "GNU format export did not extract"
assert_contains "$(cat "$T/export.err")" "the tar format keeps no xattrs"
assert_contains "$(cat "$T/export.err")" "sparse files were written in full"
assert_empty_output rsync -rlpgoDH --checksum --dry-run --itemize-changes "$T/src/" "$T/g/"
assert_eq "$(stat -c %Y "$T/src/small.txt")" "$(stat -c %Y "$T/g/small.txt")" "mtime to the second"

info "a subtree, and a single file"
mkdir "$T/sub"
cairn export -r "$T/repo" m1/latest links | tar -xpf - -C "$T/sub"
tree_equal "$T/src/links" "$T/sub"
assert_eq "file" "$(cairn export -r "$T/repo" m1/latest xattrs/file | tar -tf -)"

info "refusals and failures"
expect_status 1 script -qec "$BUILD/cairn export -r $T/repo m1/latest" /dev/null
assert_contains "$OUT" "refusing to write a tar archive to a terminal"
expect_status 1 cairn export -r "$T/repo" m1/latest no/such
assert_contains "$ERR" "no 'no/such'"
expect_status 2 cairn export -r "$T/repo" m1/latest --format zip
st=0
cairn export -r "$T/repo" m1/latest 2>"$T/pipe.err" | head -c 1000 >/dev/null || st=$?
assert_eq 1 "$st" "export into a reader that goes away"
assert_contains "$(cat "$T/pipe.err")" "the reader went away"
