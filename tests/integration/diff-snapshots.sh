#!/usr/bin/env bash
# cairn diff SNAP SNAP agrees with diff -r over the two snapshots mounted:
# every path diff -r reports (differing, only in one, of another type) is
# in cairn's report, and the files whose content changed are exactly those
# diff -r finds differing. Each kind of change is named as it should be,
# identical snapshots exit 0 with no output, different ones exit 1, and a
# PATH limits the comparison to a subtree.
. "$(dirname "$0")/lib.sh"

src=$T/src
mkdir -p "$src/keep" "$src/gone-dir/inner" "$src/to-file" "$src/xa"
echo same >"$src/keep/same.txt"
echo "content before" >"$src/keep/same-size.txt"
echo short >"$src/keep/grows.txt"
random_bytes 3M grow >"$src/keep/big.bin"
echo mode >"$src/keep/mode.txt"
echo owner >"$src/keep/owner.txt"
echo touch >"$src/keep/touched.txt"
echo gone >"$src/gone.txt"
echo "in gone dir" >"$src/gone-dir/inner/deep.txt"
echo "was a file" >"$src/to-dir"
echo "in a dir" >"$src/to-file/child"
ln -s keep/same.txt "$src/link"
echo x >"$src/xa/file"
setfattr -n user.k -v one "$src/xa/file"
echo linked >"$src/keep/linked"
echo "a name with spaces" >"$src/keep/with  spaces.txt"
touch -d '2020-01-01 00:00:00' "$src"/keep/*.txt "$src/keep/big.bin"

cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m --time 2026-01-01T000000Z "$src"
cairn backup -r "$T/repo" --member m --time 2026-01-02T000000Z "$src"

info "identical snapshots: exit 0, nothing printed"
expect_status 0 cairn diff -r "$T/repo" m/2026-01-01T000000Z m/2026-01-02T000000Z
assert_eq "" "$OUT" "diff of two backups of an unchanged tree"
expect_status 0 cairn diff -r "$T/repo" m/latest m/latest
assert_eq "" "$OUT" "a snapshot against itself"

info "mutating the tree"
printf 'content AFTER!\n' >"$src/keep/same-size.txt" # same size, new data
echo "much longer than before" >"$src/keep/grows.txt"
printf 'XYZ' | dd of="$src/keep/big.bin" bs=1 seek=1500000 conv=notrunc status=none
chmod 0600 "$src/keep/mode.txt"
chown 1234:5678 "$src/keep/owner.txt"
touch -d '2021-06-06 06:06:06.5' "$src/keep/touched.txt"
rm "$src/gone.txt"
rm -r "$src/gone-dir"
mkdir -p "$src/added-dir/sub"
echo new >"$src/added-dir/sub/new.txt"
echo new >"$src/added.txt"
rm "$src/to-dir" && mkdir "$src/to-dir" && echo child >"$src/to-dir/child"
rm -r "$src/to-file" && echo "now a file" >"$src/to-file"
ln -sfn keep/grows.txt "$src/link"
setfattr -n user.k -v two "$src/xa/file"
ln "$src/keep/linked" "$src/keep/linked-too"
echo "spaces changed" >"$src/keep/with  spaces.txt"
# restore the times of files whose metadata must not change
touch -d '2020-01-01 00:00:00' "$src/keep/same-size.txt" "$src/keep/mode.txt" \
	"$src/keep/owner.txt" "$src/keep/big.bin"
cairn backup -r "$T/repo" --member m --time 2026-01-03T000000Z "$src"

A=m/2026-01-02T000000Z
B=m/2026-01-03T000000Z
expect_status 1 cairn diff -r "$T/repo" "$A" "$B"
text=$OUT
info "cairn diff:
$text"
# line PATH: the one output line of PATH.
line() {
	local l
	l=$(grep -F -- "  $1  " <<<"$text" || true)
	[ "$(grep -c . <<<"$l")" -eq 1 ] || fail "expected one line for '$1', got: '$l'"
	echo "$l"
}
assert_eq "M  /keep/same-size.txt  (content)  15 B" "$(line /keep/same-size.txt)"
assert_eq "M  /keep/grows.txt  (content, mtime)  6 B -> 24 B" "$(line /keep/grows.txt)"
assert_eq "M  /keep/big.bin  (content)  3.0 MiB" "$(line /keep/big.bin)"
assert_eq "M  /keep/mode.txt  (mode)  5 B" "$(line /keep/mode.txt)"
assert_eq "M  /keep/owner.txt  (owner)  6 B" "$(line /keep/owner.txt)"
assert_eq "M  /keep/touched.txt  (mtime)  6 B" "$(line /keep/touched.txt)"
assert_eq "-  /gone.txt  5 B" "$(line /gone.txt)"
assert_eq "-  /gone-dir  dir" "$(line /gone-dir)"
assert_eq "-  /gone-dir/inner/deep.txt  12 B" "$(line /gone-dir/inner/deep.txt)"
assert_eq "+  /added-dir/sub/new.txt  4 B" "$(line /added-dir/sub/new.txt)"
assert_eq "+  /added.txt  4 B" "$(line /added.txt)"
assert_eq "M  /to-dir  (type)  11 B -> dir" "$(line /to-dir)"
assert_eq "+  /to-dir/child  6 B" "$(line /to-dir/child)"
assert_eq "M  /to-file  (type)  dir -> 11 B" "$(line /to-file)"
assert_eq "-  /to-file/child  9 B" "$(line /to-file/child)"
assert_matches "$(line /link)" '^M  /link  \(target, mtime\)  symlink$'
assert_matches "$(line /xa/file)" '^M  /xa/file  \((mtime, )?xattrs\)  2 B$'
assert_matches "$(line /keep/linked)" '^M  /keep/linked  \((mtime, )?links\)  7 B$'
assert_eq "M  /keep/with\ \ spaces.txt  (content, mtime)  19 B -> 15 B" \
	"$(line '/keep/with\ \ spaces.txt')"
grep -qF "/keep/same.txt" <<<"$text" && fail "unchanged same.txt is reported"
# a directory comes before its contents, and names in byte order
assert_eq "/added-dir
/added-dir/sub
/added-dir/sub/new.txt
/added.txt" "$(grep -oE '/added[^ ]*' <<<"$text")" "order of the added entries"

info "against diff -r over the mounted snapshots"
mount_repo "$T/repo" "$T/mnt"
ma=$T/mnt/snapshots/$A
mb=$T/mnt/snapshots/$B
st=0
diff -rq --no-dereference "$ma" "$mb" >"$T/diff-r.out" 2>&1 || st=$?
[ "$st" -eq 1 ] || fail "diff -r exited $st: $(cat "$T/diff-r.out")"
expect_status 1 cairn diff -r "$T/repo" --json "$A" "$B"
printf '%s' "$OUT" >"$T/cairn.json"
python3 - "$ma" "$mb" "$T/diff-r.out" "$T/cairn.json" <<'PY'
import json, re, sys

ma, mb, out, cj = sys.argv[1:]
reported, content = set(), set()
def rel(p, root):
    assert p == root or p.startswith(root + "/"), (p, root)
    return p[len(root):] or "/"
for l in open(out).read().splitlines():
    m = re.fullmatch(r"Only in (.*): (.*)", l)
    if m:
        d = m.group(1)
        root = ma if d.startswith(ma) else mb
        p = rel(d, root).rstrip("/") + "/" + m.group(2)
        reported.add(p.replace("//", "/"))
        continue
    m = re.fullmatch(re.escape("Files " + ma) + r"(.*) and " + re.escape(mb) + r"(.*) differ", l)
    if m and m.group(1) == m.group(2):
        reported.add(m.group(1)); content.add(m.group(1)); continue
    m = re.fullmatch(re.escape("Symbolic links " + ma) + r"(.*) and " + re.escape(mb) + r"(.*) differ", l)
    if m and m.group(1) == m.group(2):
        reported.add(m.group(1)); continue
    m = re.fullmatch(re.escape("File " + ma) + r"(.*) is a .* while file " + re.escape(mb) + r"(.*) is a .*", l)
    if m and m.group(1) == m.group(2):
        reported.add(m.group(1)); continue
    sys.exit(f"unexpected diff -r line: {l!r}")
doc = json.load(open(cj))
entries = doc["differences"]
cairn_paths = {e["path"] for e in entries}
cairn_content = {e["path"] for e in entries if "content" in e["changes"]}
missing = reported - cairn_paths
if missing:
    sys.exit(f"diff -r reports {sorted(missing)} which cairn diff does not")
if content != cairn_content:
    sys.exit(f"content changes differ: diff -r {sorted(content)}, cairn {sorted(cairn_content)}")
if len(content) < 4 or len(reported) < 10:
    sys.exit(f"the mutation did not show: {sorted(reported)}")
if doc["changed"] + doc["added"] + doc["removed"] != len(entries):
    sys.exit("the counts do not add up")
print(f"diff -r: {len(reported)} paths, all in cairn's {len(cairn_paths)}; "
      f"content changes agree: {sorted(content)}")
PY

info "a PATH limits the comparison"
expect_status 1 cairn diff -r "$T/repo" "$A" "$B" keep
grep -vE '^[-+M]  /keep(/|  )' <<<"$OUT" && fail "output outside /keep: $OUT"
assert_contains "$OUT" "/keep/grows.txt"
expect_status 0 cairn diff -r "$T/repo" "$A" "$B" keep/same.txt
assert_eq "" "$OUT"
expect_status 1 cairn diff -r "$T/repo" "$A" "$B" added-dir
assert_eq "+  /added-dir  dir
+  /added-dir/sub  dir
+  /added-dir/sub/new.txt  4 B" "$OUT" "a subtree only in the second snapshot"
expect_status 2 cairn diff -r "$T/repo" "$A" "$B" no/such/path
assert_contains "$ERR" "no/such/path"

info "trouble exits 2"
expect_status 2 cairn diff -r "$T/repo" "$A" m/1999-01-01T000000Z
assert_contains "$ERR" "2026-01-01T000000Z"
expect_status 2 cairn diff -r "$T/repo" "$A"
expect_status 2 cairn diff -r "$T/repo" --content "$A" "$B"
assert_contains "$ERR" "--content"
unmount_repo "$T/mnt"
