#!/usr/bin/env bash
# A backup running while prune runs ends with a valid snapshot.
#
# Member old's only snapshot holds X and Y in one pack; it is forgotten, so
# that pack is garbage. A backup of member m then starts: its tree holds X
# again (it deduplicates against the garbage pack) and 64 MiB of new data
# (it writes packs no index or snapshot names yet), and then it is held,
# by an LD_PRELOAD shim, when it opens gate-file, the middle of its tree.
# Prune runs to the end meanwhile: it must keep both packs, since the
# backup holds a lock taken before they became garbage. Then the backup
# goes on and commits; its snapshot checks clean with --read-data and reads
# back exactly through the mount. A second prune, with nothing running,
# finishes the job and the snapshot still checks clean and reads back.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
BPID=
# Besides lib.sh's cleanup: release and stop a backup still held at the gate.
stop_backup() {
	touch "$T/release"
	[ -z "$BPID" ] || { kill "$BPID" 2>/dev/null; wait "$BPID" 2>/dev/null; }
	return 0
}
trap 'st=$?; stop_backup; (exit $st); cleanup' EXIT

cc -shared -fPIC -o "$T/open-gate.so" "$SRC/tests/integration/open-gate.c" -ldl
cairn init -r "$R" --no-encryption
pack_of() { # pack_of LISTING_BEFORE: the packs added since
	comm -13 "$1" <(cd "$R" && find packs -type f | sort)
}

mkdir -p "$T/old" "$T/src"
random_bytes 3M shared-X >"$T/old/aaa-shared"
random_bytes 4M old-Y >"$T/old/old-only"
(cd "$R" && find packs -type f | sort) >"$T/packs.0"
cairn backup -r "$R" --member old --time 2026-01-01T000000Z "$T/old"
pack_of "$T/packs.0" >"$T/pack.old"
assert_eq 1 "$(wc -l <"$T/pack.old")" "packs written by the backup of old"
PO=$(cat "$T/pack.old")
expect_status 0 cairn forget -r "$R" --member old --keep-tag no-such-tag
assert_eq "" "$(cairn snapshots -r "$R" --member old 2>/dev/null | tail -n +2)" "old's snapshots after forget"

# The backup's tree, in the order it is read: X again, 64 MiB of new data
# (full packs, even with 32 chunks still being compressed), the gate, and
# more.
cp "$T/old/aaa-shared" "$T/src/aaa-shared"
random_bytes 64M new-1 >"$T/src/bbb-new"
random_bytes 4M gate >"$T/src/gate-file"
random_bytes 24M new-2 >"$T/src/zzz-big"
mkdir "$T/src/dir"
echo "small" >"$T/src/dir/small"
(cd "$R" && find packs -type f | sort) >"$T/packs.1"

# gated_backup MEMBER TIME DIR: starts a backup in the background (BPID)
# and returns once it is held at DIR/gate-file, within 120 s.
gated_backup() {
	local asan=${ASAN_OPTIONS:-} until
	[ -z "$asan" ] || asan="$asan:verify_asan_link_order=0"
	rm -f "$T/reached" "$T/release"
	GATE_REACHED="$T/reached" GATE_RELEASE="$T/release" LD_PRELOAD="$T/open-gate.so" \
		ASAN_OPTIONS="$asan" "$BUILD/cairn" backup -r "$R" --member "$1" --time "$2" "$3" \
		>"$T/backup.out" 2>"$T/backup.err" </dev/null &
	BPID=$!
	until=$(deadline_in 120)
	while [ ! -e "$T/reached" ]; do
		kill -0 "$BPID" 2>/dev/null || fail "the backup exited before the gate: $(cat "$T/backup.err")"
		[ "$(now)" -lt "$until" ] || fail "the backup did not reach the gate within 120 s"
		sleep 0.05
	done
	# Packs already handed to the upload threads go on landing while the
	# walker is held; wait for those, so the listing names finished packs.
	while [ -n "$(find "$R/packs" -name '*.tmp.*' 2>/dev/null)" ]; do
		[ "$(now)" -lt "$until" ] || fail "uploads still running 120 s after the gate"
		sleep 0.05
	done
}

info "start the backup; it stops at gate-file"
gated_backup m 2026-02-01T000000Z "$T/src"
# It has written packs of bbb-new and holds a shared lock.
pack_of "$T/packs.1" >"$T/packs.new"
[ -s "$T/packs.new" ] || fail "the held backup has written no pack yet"
[ -n "$(ls "$R/locks")" ] || fail "the running backup holds no lock"

info "prune while the backup is held"
expect_status 0 cairn prune -r "$R"
assert_matches "$ERR" "keep [0-9]+ unreferenced objects .* for 1 running backups"
[ -e "$R/$PO" ] || fail "prune deleted the pack the running backup deduplicated against"
while read -r p; do
	[ -e "$R/$p" ] || fail "prune deleted pack $p, which the running backup wrote"
done <"$T/packs.new"
kill -0 "$BPID" 2>/dev/null || fail "the backup ended while held at the gate"

info "release the backup; it commits a valid snapshot"
touch "$T/release"
st=0
wait "$BPID" || st=$?
BPID=
[ "$st" -eq 0 ] || fail "the backup exited $st: $(cat "$T/backup.err")"
expect_status 0 cairn check -r "$R" --read-data
assert_eq "" "$OUT" "check after the concurrent prune"
mount_repo "$R" "$T/mnt"
tree_equal "$T/src" "$T/mnt/snapshots/m/2026-02-01T000000Z"
unmount_repo "$T/mnt"

info "a second prune, with nothing running, leaves the snapshot whole"
expect_status 0 cairn prune -r "$R"
! grep -q "running backups" <<<"$ERR" || fail "the second prune still waits for a backup: $ERR"
[ -z "$(ls "$R/locks")" ] || fail "locks left behind: $(ls "$R/locks")"
expect_status 0 cairn check -r "$R" --read-data
assert_eq "" "$OUT" "check after the second prune"
export CAIRN_CACHE_DIR="$T/cache-fresh"
mount_repo "$R" "$T/mnt"
tree_equal "$T/src" "$T/mnt/snapshots/m/2026-02-01T000000Z"
unmount_repo "$T/mnt"

info "a backup killed mid-way: its lock is stale at once, prune removes it and its packs"
mkdir "$T/src2"
random_bytes 64M new-3 >"$T/src2/bbb-new"
cp "$T/src/gate-file" "$T/src2/gate-file"
gated_backup killed 2026-02-02T000000Z "$T/src2"
kill -9 "$BPID"
wait "$BPID" 2>/dev/null || true
BPID=
[ -n "$(ls "$R/locks")" ] || fail "the killed backup left no lock"
expect_status 0 cairn check -r "$R" -v
assert_contains "$OUT" "referenced by no snapshot" # what the killed backup wrote
expect_status 0 cairn prune -r "$R"
assert_contains "$ERR" "removed the stale lock"
! grep -q "running backups" <<<"$ERR" || fail "prune waits for a killed backup: $ERR"
[ -z "$(ls "$R/locks")" ] || fail "locks left behind: $(ls "$R/locks")"
expect_status 0 cairn check -r "$R" --read-data -v
! grep -q "referenced by no snapshot" <<<"$OUT" || fail "prune left garbage: $OUT"
assert_eq "m 2026-02-01T000000Z" "$(cairn snapshots -r "$R" | awk 'NR > 1 { print $1, $2 }')" "snapshots at the end"
