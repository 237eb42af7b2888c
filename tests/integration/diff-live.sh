#!/usr/bin/env bash
# cairn diff SNAP DIR compares a snapshot with a live directory: metadata
# always, file data only with --content (a change that keeps size and mtime
# is found only then), and a sparse file whose holes were filled in is
# still the same content. The second argument is a directory when it
# starts with / or ./, or names a directory and no snapshot.
. "$(dirname "$0")/lib.sh"

src=$T/src
mkdir -p "$src/d/sub" "$src/x"
echo hello >"$src/d/hello.txt"
random_bytes 2M data >"$src/d/data.bin"
echo meta >"$src/d/meta.txt"
echo owner >"$src/d/owner.txt"
echo gone >"$src/d/sub/gone.txt"
ln -s hello.txt "$src/d/link"
echo x >"$src/x/file"
setfattr -n user.k -v one "$src/x/file"
truncate -s 8M "$src/sparse.img"
random_bytes 1M sparse | dd of="$src/sparse.img" bs=1M seek=3 conv=notrunc status=none
echo "outside" >"$T/outside"
ln "$T/outside" "$src/linked-outside" # nlink 2, one name outside the tree

cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m --time 2026-01-01T000000Z "$src"

info "unchanged: exit 0 with and without --content"
expect_status 0 cairn diff -r "$T/repo" m/latest "$src"
assert_eq "" "$OUT"
assert_contains "$ERR" "--content" "the note that data was not read"
expect_status 0 cairn diff -r "$T/repo" --content m/latest "$src"
assert_eq "" "$OUT"
grep -qF "not read" <<<"$ERR" && fail "--content still says data was not read: $ERR"

info "a sparse file with its holes filled is the same content"
cp --sparse=never "$src/sparse.img" "$T/filled.img"
touch -r "$src/sparse.img" "$T/filled.img"
cp -a "$src" "$T/copy"
mv "$T/filled.img" "$T/copy/sparse.img"
[ "$(stat -c %b "$T/copy/sparse.img")" -gt "$(stat -c %b "$src/sparse.img")" ] ||
	fail "the copy is still sparse"
rm "$T/copy/linked-outside" && cp -a "$src/linked-outside" "$T/copy/linked-outside"
touch -r "$src" "$T/copy"
expect_status 0 cairn diff -r "$T/repo" --content m/latest "$T/copy"
assert_eq "" "$OUT" "filled holes, and a hardlink count that differs"

info "data changed with size and mtime kept: found only with --content"
t=$(stat -c %y "$src/d/data.bin")
printf 'XYZ' | dd of="$src/d/data.bin" bs=1 seek=1000000 conv=notrunc status=none
touch -d "$t" "$src/d/data.bin"
expect_status 0 cairn diff -r "$T/repo" m/latest "$src"
assert_eq "" "$OUT" "without --content"
expect_status 1 cairn diff -r "$T/repo" --content m/latest "$src"
assert_eq "M  /d/data.bin  (content)  2.0 MiB" "$OUT"
t=$(stat -c %y "$src/sparse.img")
printf 'h' | dd of="$src/sparse.img" bs=1 seek=100 conv=notrunc status=none
touch -d "$t" "$src/sparse.img"
expect_status 1 cairn diff -r "$T/repo" --content m/latest "$src"
assert_contains "$OUT" "M  /sparse.img  (content)  8.0 MiB" "a byte written into a hole"

info "metadata changes are found without --content"
t=$(stat -c %y "$src/d")
chmod 0600 "$src/d/meta.txt"
chown 4321:8765 "$src/d/owner.txt"
touch -d '2022-02-02 02:02:02.25' "$src/d/hello.txt"
ln -sfn meta.txt "$src/d/link"
setfattr -n user.k -v two "$src/x/file"
rm "$src/d/sub/gone.txt"
echo new >"$src/d/new.txt"
touch -d "$t" "$src/d"
expect_status 1 cairn diff -r "$T/repo" m/latest "$src"
info "cairn diff:
$OUT"
assert_eq "M  /d/hello.txt  (mtime)  6 B
M  /d/link  (target, mtime)  symlink
M  /d/meta.txt  (mode)  5 B
+  /d/new.txt  4 B
M  /d/owner.txt  (owner)  6 B
M  /d/sub  (mtime)  dir
-  /d/sub/gone.txt  5 B
M  /x/file  (xattrs)  2 B" "$(grep -v '^M  /  ' <<<"$OUT")"

info "--json"
expect_status 1 cairn diff -r "$T/repo" --json --content m/latest "$src"
printf '%s' "$OUT" >"$T/d.json"
python3 - "$T/d.json" "$src" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["directory"] == sys.argv[2] and doc["content_compared"] is True, doc
by = {e["path"]: e for e in doc["differences"]}
assert by["/d/data.bin"]["changes"] == ["content"], by["/d/data.bin"]
assert by["/d/new.txt"]["status"] == "added" and by["/d/new.txt"]["old"] is None
assert by["/d/sub/gone.txt"]["status"] == "removed" and by["/d/sub/gone.txt"]["new"] is None
assert by["/d/meta.txt"]["old"]["mode"] == "0644" and by["/d/meta.txt"]["new"]["mode"] == "0600"
assert by["/d/owner.txt"]["new"]["uid"] == 4321
assert doc["added"] == 1 and doc["removed"] == 1 and doc["errors"] == 0, doc
PY

info "a PATH compares one subtree on both sides"
expect_status 1 cairn diff -r "$T/repo" m/latest "$src" d/sub
assert_eq "M  /d/sub  (mtime)  dir
-  /d/sub/gone.txt  5 B" "$OUT"
expect_status 2 cairn diff -r "$T/repo" m/latest "$src" x/../d/sub
assert_contains "$ERR" "'..'"

info "which second arguments are directories"
mkdir -p "$T/cwd/m/latest"
cd "$T/cwd"
# "m/latest" is a snapshot and a directory here: the snapshot wins, with a warning
expect_status 0 cairn diff -r "$T/repo" m/latest m/latest
assert_contains "$ERR" "./m/latest"
# with ./ it is the (empty) directory
expect_status 1 cairn diff -r "$T/repo" m/latest ./m/latest
assert_contains "$OUT" "-  /d  dir"
# a relative name that is no snapshot but a directory
ln -s "$src" here
expect_status 0 cairn diff -r "$T/repo" m/latest here d/data.bin
cd "$T"
expect_status 2 cairn diff -r "$T/repo" m/latest ./no-such-dir
assert_contains "$ERR" "no-such-dir"
expect_status 2 cairn diff -r "$T/repo" m/latest no-such-thing
assert_contains "$ERR" "no-such-thing"
assert_contains "$ERR" "directory"

info "every kind of entry: a snapshot equals its source, data included"
FULL_TREE_BIG=0 make_full_tree "$T/full"
cairn backup -r "$T/repo" --member full --time 2026-02-01T000000Z "$T/full"
expect_status 0 cairn diff -r "$T/repo" --content full/latest "$T/full"
assert_eq "" "$OUT" "full tree against its source"
cairn backup -r "$T/repo" --member full --time 2026-02-02T000000Z "$T/full"
expect_status 0 cairn diff -r "$T/repo" full/2026-02-01T000000Z full/latest
assert_eq "" "$OUT" "two snapshots of the full tree"
setfattr -n user.color -v red "$T/full/xattrs/file"
printf '\x01' | dd of="$T/full/sparse.img" bs=1 seek=$((600 * 1048576)) conv=notrunc status=none
touch -d '2001-01-01' "$T/full/names/-leading-dash" "$T/full/names/"$'with\nnewline and  spaces '
expect_status 1 cairn diff -r "$T/repo" --content full/latest "$T/full"
assert_eq 'M  /names/-leading-dash  (mtime)  5 B
M  /names/with\nnewline\ and\ \ spaces\   (mtime)  3 B
M  /sparse.img  (content, mtime)  1.0 GiB
M  /xattrs/file  (xattrs)  17 B' "$OUT"
