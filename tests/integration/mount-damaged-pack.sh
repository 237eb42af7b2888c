#!/usr/bin/env bash
# A pack with a flipped byte, a truncated pack and a missing pack each give
# EIO on the file whose data they hold, within bounded time, never wrong
# bytes; every other file still reads correctly and the daemon stays up; once
# the packs are repaired the same files read correctly without a remount.
. "$(dirname "$0")/lib.sh"

cairn init -r "$T/repo" --no-encryption
list_packs() {
	(cd "$T/repo" && find packs -type f | sort)
}
# One backup per file, each of a new 2 MiB file, so each file's data lies in
# packs of its own backup.
for f in A B C D; do
	rm -rf "$T/src"
	mkdir -p "$T/src"
	random_bytes 2M "file-$f" >"$T/src/$f"
	cp "$T/src/$f" "$T/$f.orig"
	list_packs >"$T/packs.before"
	cairn backup -r "$T/repo" --member "m$f" --time 2026-11-22T205328Z "$T/src"
	comm -13 "$T/packs.before" <(list_packs) >"$T/packs.$f"
	[ -s "$T/packs.$f" ] || fail "the backup of $f wrote no pack"
done
mkdir -p "$T/saved"
cp -a "$T/repo/packs" "$T/saved/"

info "damage: flip a byte in A's packs, truncate B's, delete C's"
while read -r p; do
	python3 - "$T/repo/$p" <<'PY'
import os, random, sys
path = sys.argv[1]
size = os.path.getsize(path)
off = random.Random(size).randrange(min(size // 2, 1 << 20))  # inside chunk data, not the trailer
with open(path, "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0x5a]))
print(f"flipped byte {off} of {path}", file=sys.stderr)
PY
done <"$T/packs.A"
while read -r p; do
	truncate -s $(($(stat -c %s "$T/repo/$p") / 3)) "$T/repo/$p"
done <"$T/packs.B"
while read -r p; do
	rm "$T/repo/$p"
done <"$T/packs.C"

# A fresh catalog cache, so nothing read before the damage is reused.
export CAIRN_CACHE_DIR="$T/cache-after"
mount_repo "$T/repo" "$T/mnt"
snap() {
	echo "$T/mnt/snapshots/m$1/2026-11-22T205328Z/$1"
}

# expect_eio F: reading F fails with EIO within 60 s, and what was read
# before the error is a prefix of the original.
expect_eio() {
	local st=0
	timeout 60 cat "$(snap "$1")" >"$T/read.$1" 2>"$T/err.$1" || st=$?
	[ "$st" -ne 124 ] || fail "reading damaged $1 did not finish within 60 s"
	[ "$st" -ne 0 ] || fail "reading $1 from a damaged pack succeeded"
	assert_contains "$(cat "$T/err.$1")" "Input/output error" "reading damaged $1"
	cmp -n "$(stat -c %s "$T/read.$1")" "$T/read.$1" "$T/$1.orig" ||
		fail "reading damaged $1 returned wrong bytes before failing"
}
for round in 1 2; do
	info "round $round: A, B and C give EIO; D reads correctly"
	expect_eio A
	expect_eio B
	expect_eio C
	cmp "$(snap D)" "$T/D.orig" || fail "D differs though its pack is intact"
	daemon_alive "$T/mnt" || fail "cairnfs died after EIO"
done
# Listing and stat still work for the damaged files.
assert_eq 2097152 "$(stat -c %s "$(snap A)")" "size of damaged A"

info "repair the packs: the same mount reads A, B and C correctly"
rm -rf "$T/repo/packs"
cp -a "$T/saved/packs" "$T/repo/"
for f in A B C D; do
	timeout 60 cmp "$(snap "$f")" "$T/$f.orig" || fail "$f does not read correctly after repair"
done
unmount_repo "$T/mnt"
