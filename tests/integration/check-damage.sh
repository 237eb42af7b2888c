#!/usr/bin/env bash
# cairn check finds a flipped byte in a pack (with --read-data), a truncated
# pack, a deleted pack, and a tree that refers to a chunk whose pack is gone;
# for each it exits 1, names the damaged object and the snapshots and files
# it affects, and names no file it does not affect. A clean repository
# checks clean, with and without --read-data.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
cairn init -r "$R" --no-encryption
list_packs() {
	(cd "$R" && find packs -type f | sort)
}
# One backup per file, each of a new 2 MiB file, so each file's data lies
# in packs of its own backup.
for f in A B C; do
	mkdir -p "$T/src-$f/dir"
	random_bytes 2M "file-$f" >"$T/src-$f/dir/$f"
	echo "small $f" >"$T/src-$f/small-$f"
	list_packs >"$T/packs.before"
	cairn backup -r "$R" --member "m$f" --time 2026-11-22T205328Z "$T/src-$f"
	comm -13 "$T/packs.before" <(list_packs) >"$T/packs.$f"
	[ "$(wc -l <"$T/packs.$f")" -eq 1 ] || fail "the backup of $f wrote $(wc -l <"$T/packs.$f") packs, not 1"
done
# Member mE: a first snapshot with E, then one with E and F. E's chunk
# lives only in the first backup's pack, F's only in the second's.
mkdir -p "$T/src-E"
random_bytes 1M file-E >"$T/src-E/E"
list_packs >"$T/packs.before"
cairn backup -r "$R" --member mE --time 2026-11-22T100000Z "$T/src-E"
comm -13 "$T/packs.before" <(list_packs) >"$T/packs.E"
random_bytes 1M file-F >"$T/src-E/F"
cairn backup -r "$R" --member mE --time 2026-11-22T110000Z "$T/src-E"
cp -a "$R" "$T/clean"

# restore_clean: the repository as it was before any damage.
restore_clean() {
	rm -rf "$R"
	cp -a "$T/clean" "$R"
}

info "a clean repository checks clean"
expect_status 0 cairn check -r "$R"
assert_eq "" "$OUT" "check of a clean repository reported something"
assert_contains "$ERR" "no problems found"
expect_status 0 cairn check -r "$R" --read-data
assert_eq "" "$OUT" "check --read-data of a clean repository reported something"
assert_contains "$ERR" "verified"
expect_status 0 cairn check -r "$R" --read-data=50%

info "a flipped byte in A's pack: --read-data finds it and names /dir/A"
PA=$(cat "$T/packs.A")
python3 - "$R/$PA" <<'PY'
import sys
path = sys.argv[1]
with open(path, "r+b") as f:
    f.seek(1000)  # inside the first chunk's data, far from the trailer
    b = f.read(1)
    f.seek(1000)
    f.write(bytes([b[0] ^ 0x5a]))
PY
# The structure is intact: only reading the data can tell.
expect_status 0 cairn check -r "$R"
expect_status 1 cairn check -r "$R" --read-data
assert_contains "$OUT" "error: pack '$PA' is damaged"
assert_contains "$OUT" "mA/2026-11-22T205328Z: /dir/A"
assert_matches "$OUT" "fail verification"
for other in /dir/B /dir/C /small-A; do
	! grep -qF -- "$other" <<<"$OUT" || fail "check names $other, which the flipped byte does not affect"
done
# --read-data=PERCENT reads a random share: at 100% it must find it too.
expect_status 1 cairn check -r "$R" --read-data=100
assert_contains "$OUT" "mA/2026-11-22T205328Z: /dir/A"
restore_clean

info "a truncated pack: check finds it without --read-data and names B's files"
PB=$(cat "$T/packs.B")
truncate -s 500000 "$R/$PB"
expect_status 1 cairn check -r "$R"
assert_contains "$OUT" "error: pack '$PB' is damaged: its trailer is unreadable"
assert_contains "$OUT" "mB/2026-11-22T205328Z: /dir/B"
assert_contains "$OUT" "mB/2026-11-22T205328Z: /small-B"
! grep -qF "/dir/A" <<<"$OUT" || fail "check names A for B's truncated pack"
assert_contains "$ERR" "1 problem found"
restore_clean

info "a deleted pack: check names it missing, and C's files"
PC=$(cat "$T/packs.C")
rm "$R/$PC"
expect_status 1 cairn check -r "$R"
assert_contains "$OUT" "error: pack '$PC' is missing"
assert_contains "$OUT" "mC/2026-11-22T205328Z: /dir/C"
assert_contains "$OUT" "mC/2026-11-22T205328Z: /small-C"
# The index object that listed it is now wrong too: a backup would trust it.
assert_matches "$OUT" "error: index object 'index/[0-9a-f]{64}' names pack '$PC', which is missing"
restore_clean

info "a tree whose chunk is gone: both of mE's snapshots lose E, not F"
PE=$(cat "$T/packs.E")
rm "$R/$PE"
expect_status 1 cairn check -r "$R" --read-data
assert_contains "$OUT" "error: pack '$PE' is missing"
assert_contains "$OUT" "mE/2026-11-22T100000Z: /E"
assert_contains "$OUT" "mE/2026-11-22T110000Z: /E"
! grep -qF ": /F" <<<"$OUT" || fail "check names F, whose pack is intact"
restore_clean

info "several problems at once are each reported"
rm "$R/$PC"
truncate -s 500000 "$R/$PB"
expect_status 1 cairn check -r "$R"
assert_contains "$OUT" "pack '$PC' is missing"
assert_contains "$OUT" "pack '$PB' is damaged"
restore_clean

info "a missing tree and a damaged snapshot header are named"
TREE=$(cd "$R" && ls trees | head -n 1)
rm "$R/trees/$TREE"
expect_status 1 cairn check -r "$R"
assert_contains "$OUT" "error: tree 'trees/$TREE' of snapshot"
assert_contains "$OUT" "the whole snapshot"
restore_clean
SNAP=$(cd "$R" && ls snapshots | head -n 1)
printf 'garbage' >"$R/snapshots/$SNAP"
expect_status 1 cairn check -r "$R"
assert_contains "$OUT" "error: snapshot header 'snapshots/$SNAP' is damaged"
restore_clean

info "after the damage is repaired the repository checks clean again"
expect_status 0 cairn check -r "$R" --read-data
