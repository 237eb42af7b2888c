#!/usr/bin/env bash
# cairn rehearse of the full test tree (every entry type: sparse files,
# hardlinks, devices, fifos, xattrs, names in any bytes, odd modes): clean
# as root, so restore and the comparison agree on everything; clean as an
# unprivileged user it finds no difference, counts the owners and device
# nodes it cannot restore as excused, and names the one file (mode 0000) it
# cannot read back, exiting 1 with the result "unverified".
. "$(dirname "$0")/lib.sh"

FULL_TREE_BIG=0 make_full_tree "$T/src"
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m1 --time 2026-11-22T205328Z "$T/src"

info "as root: clean"
mkdir -p "$T/tmp"
expect_status 0 env TMPDIR="$T/tmp" "$BUILD/cairn" rehearse -r "$T/repo" m1/latest
assert_eq "" "$OUT"
assert_contains "$ERR" ": clean"
! grep -q excused <<<"$ERR" || fail "root was excused something: $ERR"

info "as nobody: owners and devices excused, a mode 0000 file unverified"
chmod 0755 "$T"
mkdir "$T/nobody-home" "$T/nobody-cache" "$T/nobody-tmp"
chown nobody:nogroup "$T/nobody-cache" "$T/nobody-tmp"
expect_status 1 setpriv --reuid=nobody --regid=nogroup --clear-groups \
	env CAIRN_CACHE_DIR="$T/nobody-cache" HOME="$T/nobody-home" TMPDIR="$T/nobody-tmp" \
	"$BUILD/cairn" rehearse -r "$T/repo" m1/latest --json
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["result"]=="unverified" and d["unreadable"]==1 and d["damaged"]==0 and d["excused"]>0 and not d["differences"], d' <<<"$OUT" ||
	fail "bad result as nobody: $OUT"
assert_contains "$ERR" "this user cannot restore"
assert_contains "$ERR" "modes/0000'"
assert_eq 1 "$(grep -c "cannot read" <<<"$ERR")" "more than one file unreadable: $ERR"
assert_eq "" "$(ls -A "$T/nobody-tmp")" "the scratch directory was left behind"
