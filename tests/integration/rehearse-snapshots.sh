#!/usr/bin/env bash
# cairn rehearse on a good, a drifted and a damaged snapshot: a good one
# rehearses clean (exit 0, files and bytes reported, the scratch directory
# gone afterwards), and so does a subtree of it; live data that drifted from
# the snapshot (--against) is named path by path, in content and metadata,
# with exit 1; a flipped byte in a pack makes the rehearsal exit 1 naming
# the damaged file and no other. --target must be empty, and --keep leaves
# the restored tree. --metrics-file records each rehearsal.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
src=$T/src
mkdir -p "$src/conf" "$src/data/sub" "$T/tmp"
export TMPDIR=$T/tmp
echo "key = value" >"$src/conf/app.conf"
random_bytes 2M blocks >"$src/data/blocks.bin"
random_bytes 300K other >"$src/data/sub/other.bin"
ln -s ../conf/app.conf "$src/data/conf-link"
setfattr -n user.origin -v test "$src/data/blocks.bin"
chown 1234:5678 "$src/data/sub/other.bin"
chmod 0640 "$src/conf/app.conf"
mkfifo "$src/data/fifo"
ln "$src/data/sub/other.bin" "$src/data/hardlink.bin"

cairn init -r "$R" --no-encryption
cairn backup -r "$R" --member node --time 2026-11-22T205328Z "$src"
cp -a "$R" "$T/clean"

info "a good snapshot rehearses clean, and the scratch directory is removed"
expect_status 0 cairn rehearse -r "$R" node/latest --metrics-file "$T/cairn.prom"
assert_eq "" "$OUT" "a clean rehearsal printed differences"
assert_contains "$ERR" "rehearsed node/2026-11-22T205328Z: 3 files"
assert_contains "$ERR" ": clean"
assert_eq "" "$(ls -A "$T/tmp")" "the scratch directory was left behind"
grep -qE '^cairn_last_success\{repo="[^"]*",command="rehearse",member="node"\} 1$' "$T/cairn.prom" ||
	fail "no successful rehearsal in the metrics: $(cat "$T/cairn.prom")"

info "a subtree rehearses clean; a missing path is an error"
expect_status 0 cairn rehearse -r "$R" node/latest data/sub
assert_contains "$ERR" ": 1 files"
expect_status 0 cairn rehearse -r "$R" node/latest conf/app.conf --json
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["result"]=="clean" and d["files"]==1 and d["differences"]==[], d' <<<"$OUT" ||
	fail "bad --json: $OUT"
expect_status 1 cairn rehearse -r "$R" node/latest no/such/path
assert_eq "" "$(ls -A "$T/tmp")" "a failed rehearsal left a scratch directory"

info "usage errors exit 2"
expect_status 2 cairn rehearse -r "$R"
expect_status 2 cairn rehearse -r "$R" node/latest --against "$src" --target "$T/x"
assert_contains "$ERR" "--against restores nothing"
expect_status 2 cairn rehearse -r "$R" node/latest a b
expect_status 1 cairn rehearse -r "$R" nosuch/latest
assert_contains "$ERR" "node" "the error names the members there are"

info "--target must be empty; --keep leaves the restored tree"
mkdir -p "$T/busy" && echo mine >"$T/busy/precious"
expect_status 1 cairn rehearse -r "$R" node/latest --target "$T/busy"
assert_contains "$ERR" "not empty"
assert_eq "mine" "$(cat "$T/busy/precious")" "the rehearsal touched a non-empty target"
expect_status 0 cairn rehearse -r "$R" node/latest --target "$T/new" --keep
cmp "$src/data/blocks.bin" "$T/new/data/blocks.bin" || fail "--keep did not keep the restored tree"
mkdir -p "$T/empty"
expect_status 0 cairn rehearse -r "$R" node/latest --target "$T/empty"
[ -d "$T/empty" ] && [ -z "$(ls -A "$T/empty")" ] || fail "an existing target was not emptied"

info "live data that still matches: --against is clean"
expect_status 0 cairn rehearse -r "$R" node/latest --against "$src"
assert_eq "" "$OUT"
expect_status 0 cairn rehearse -r "$R" node/latest data --against "$src/data"
assert_eq "" "$OUT" "a subtree against its live directory"

info "drifted live data: every difference named"
t=$(stat -c %y "$src/data/blocks.bin")
printf 'XYZ' | dd of="$src/data/blocks.bin" bs=1 seek=1000000 conv=notrunc status=none
touch -d "$t" "$src/data/blocks.bin" # same size and mtime: only the bytes differ
chmod 0600 "$src/conf/app.conf"
echo new >"$src/data/new.txt"
rm "$src/data/sub/other.bin"
setfattr -n user.origin -v changed "$src/data/blocks.bin"
expect_status 1 cairn rehearse -r "$R" node/latest --against "$src" --metrics-file "$T/cairn.prom"
assert_contains "$OUT" "M  /conf/app.conf  (mode)"
assert_contains "$OUT" "M  /data/blocks.bin  (content, xattrs)"
assert_contains "$OUT" "+  /data/new.txt"
assert_contains "$OUT" "-  /data/sub/other.bin"
assert_contains "$OUT" "M  /data  (mtime)" "a directory whose entries changed"
assert_contains "$OUT" "M  /data/sub  (mtime)"
assert_eq 6 "$(grep -c . <<<"$OUT")" "more differences than the drift: $OUT"
assert_contains "$ERR" "6 differences"
grep -qE '^cairn_last_success\{repo="[^"]*",command="rehearse",member="node"\} 0$' "$T/cairn.prom" ||
	fail "the failed rehearsal is not in the metrics"
grep -qE '^cairn_last_success_timestamp_seconds\{[^}]*member="node"\} [0-9.]+$' "$T/cairn.prom" ||
	fail "the failure dropped the last success time"

info "a damaged snapshot: a flipped byte in the pack names the file it hits"
pack=$(cd "$R" && find packs -type f | head -n 1)
[ "$(cd "$R" && find packs -type f | wc -l)" -eq 1 ] || fail "expected one pack"
# The pack holds blocks.bin's chunks first (the largest file); byte 1000 is
# inside its first chunk.
expect_status 0 cairn ls -r "$R" node/latest data
python3 - "$R/$pack" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(1000)
    b = f.read(1)
    f.seek(1000)
    f.write(bytes([b[0] ^ 0x5a]))
PY
rm -rf "$CAIRN_CACHE_DIR" # no decoded chunk survives in a cache
expect_status 1 cairn rehearse -r "$R" node/latest
assert_contains "$ERR" "blocks.bin"
assert_contains "$ERR" "could not be restored"
assert_contains "$OUT" "/data/blocks.bin"
for other in app.conf other.bin conf-link; do
	! grep -qF -- "$other" <<<"$OUT" || fail "the rehearsal names $other, which the damage does not touch"
done
assert_eq "" "$(ls -A "$T/tmp")" "a damaged rehearsal left a scratch directory"

info "the repository restored: clean again"
rm -rf "$R" && cp -a "$T/clean" "$R"
expect_status 0 cairn rehearse -r "$R" node/latest
