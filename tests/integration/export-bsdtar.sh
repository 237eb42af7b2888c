#!/usr/bin/env bash
# cairn export | bsdtar -x reproduces the tree: names in any bytes,
# hardlinks, xattrs, nanosecond mtimes, devices, fifos, sparse files.
# bsdtar leaves the metadata of a directory that already exists alone,
# so the target's own mtime is the one difference allowed.
. "$(dirname "$0")/lib.sh"

FULL_TREE_BIG=0 make_full_tree "$T/src"
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m1 --time 2026-11-22T205328Z "$T/src"

info "export | bsdtar xf -"
mkdir "$T/x"
cairn export -r "$T/repo" m1/latest | bsdtar -xpf - -C "$T/x" 2>"$T/bsdtar.err" ||
	fail "cairn export | bsdtar -x failed: $(cat "$T/bsdtar.err")"
rsync -aHAX --checksum --dry-run --itemize-changes "$T/src/" "$T/x/" >"$T/diff" 2>&1 ||
	fail "rsync failed: $(cat "$T/diff")"
others=$(grep -v '^\.d\.\.t\.\.\.\.\.\. \./$' "$T/diff" || true)
[ -z "$others" ] || fail "bsdtar's tree differs from the source: $others"
for f in sparse.img sparse-tail.img all-hole.img; do
	[ "$(stat -c %b "$T/x/$f")" -le "$(stat -c %b "$T/src/$f")" ] ||
		fail "$f is not sparse after bsdtar: $(stat -c %b "$T/x/$f") blocks"
done

info "bsdtar reads the entries back as they were"
cairn export -r "$T/repo" m1/latest >"$T/all.tar"
bsdtar -tvf "$T/all.tar" >"$T/list"
assert_contains "$(cat "$T/list")" "./links/b/c/three-too link to ./links/a/three"
assert_contains "$(cat "$T/list")" "./symlinks/relative -> ../small.txt"
grep -q '^p.* \./special/fifo$' "$T/list" || fail "no fifo entry: $(grep fifo "$T/list")"

info "a chunk that cannot be read ends the archive without its end blocks, exit 1"
cp -a "$T/repo" "$T/damaged"
python3 - "$T/damaged/packs" <<'PY'
import os, sys
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(d, f)
        size = os.path.getsize(p)
        with open(p, "r+b") as fp:
            for off in range(64, size, 4096):
                fp.seek(off)
                b = fp.read(1)
                fp.seek(off)
                fp.write(bytes([b[0] ^ 0xff]))
PY
st=0
cairn export -r "$T/damaged" m1/latest >"$T/damaged.tar" 2>"$T/damaged.err" || st=$?
assert_eq 1 "$st" "export of a damaged repository"
assert_matches "$(cat "$T/damaged.err")" "damaged|cannot read"
if tar -tf "$T/damaged.tar" >/dev/null 2>&1; then
	fail "the archive of a failed export reads as complete"
fi
