#!/usr/bin/env bash
# cairn import --layout DIR turns DIR/<member>/<timestamp>.tar.gz into one
# snapshot per archive, at the time in its name, in time order; an empty
# and a truncated archive are named, import nothing, and make the command
# exit 1 after importing the rest; a second run adds nothing. cairn import
# --member M ARCHIVE... takes --time, else the name's time, else the mtime.
# Run against S3 too (import-s3.sh sets CAIRN_TEST_BACKEND=s3).
. "$(dirname "$0")/lib.sh"

L=$T/layout
mkdir -p "$L/member1" "$L/member2" "$T/data"
# three generations of member1's data, one of member2's
for gen in 1 2 3; do
	rm -rf "$T/data/m1" && mkdir -p "$T/data/m1/chain"
	random_bytes 2M base >"$T/data/m1/chain/base.db"
	random_bytes 256K "gen-$gen" >"$T/data/m1/chain/gen.db"
	echo "generation $gen" >"$T/data/m1/VERSION"
	ln "$T/data/m1/VERSION" "$T/data/m1/VERSION.link"
	touch -d "2026-11-2${gen} 10:00:00.25" "$T/data/m1/VERSION" "$T/data/m1/chain"
	cp -r "$T/data/m1" "$T/data/m1-gen$gen"
done
tar -C "$T/data/m1-gen1" -czf "$L/member1/2026-11-20T205328Z.tar.gz" .
tar -C "$T/data/m1-gen2" -czf "$L/member1/20261121-081500.tar.gz" .
tar -C "$T/data/m1-gen3" -cf - . | gzip >"$L/member1/backup-1795380808.tgz"
mkdir -p "$T/data/m2/files" && random_bytes 1M m2 >"$T/data/m2/files/blob"
tar -C "$T/data/m2" -czf "$L/member2/2026-11-22_20-53-28.tar.gz" .
: >"$L/member2/2026-11-23T000000Z.tar.gz"                    # the script failed at once
head -c 200000 "$L/member1/20261121-081500.tar.gz" >"$L/member2/2026-11-24T000000Z.tar.gz" # cut short
echo notes >"$L/member2/README"
cairn init -r "$T/repo" --no-encryption

info "first import: everything but the empty and the truncated archive"
expect_status 1 cairn import -r "$T/repo" --layout "$L"
assert_contains "$ERR" "'$L/member2/2026-11-23T000000Z.tar.gz' is not imported"
assert_contains "$ERR" "'$L/member2/2026-11-24T000000Z.tar.gz' is not imported"
assert_contains "$ERR" "4 archives imported"
assert_contains "$ERR" "2 failed"
assert_contains "$ERR" "README' is not named like a tar archive"
names() {
	cairn snapshots -r "$T/repo" --json | python3 -c '
import json, sys
print(" ".join(s["member"] + "/" + s["timestamp"] for s in json.load(sys.stdin)))'
}
want="member1/2026-11-20T205328Z member1/2026-11-21T081500Z member1/2026-11-22T205328Z member2/2026-11-22T205328Z"
assert_eq "$want" "$(names)"

info "the snapshots are what tar -x makes of each archive"
mount_repo "$T/repo" "$T/mnt"
tree_equal "$T/data/m1-gen1" "$T/mnt/snapshots/member1/2026-11-20T205328Z"
tree_equal "$T/data/m1-gen3" "$T/mnt/snapshots/member1/2026-11-22T205328Z"
tree_equal "$T/data/m2" "$T/mnt/snapshots/member2/latest"
assert_eq "generation 2" "$(cat "$T/mnt/snapshots/member1/2026-11-21T081500Z/VERSION")"
unmount_repo "$T/mnt"

info "second import adds nothing (the broken archives still fail)"
expect_status 1 cairn import -r "$T/repo" --layout "$L"
assert_contains "$ERR" "0 archives imported"
assert_contains "$ERR" "4 already imported"
assert_contains "$ERR" "is already imported as member1/2026-11-20T205328Z; skipped"
assert_eq "$want" "$(names)"

info "a repaired archive is imported on the next run"
cp "$L/member1/20261121-081500.tar.gz" "$L/member2/2026-11-24T000000Z.tar.gz"
rm "$L/member2/2026-11-23T000000Z.tar.gz"
expect_status 0 cairn import -r "$T/repo" --layout "$L"
assert_contains "$ERR" "1 archives imported"
assert_contains "$(names)" "member2/2026-11-24T000000Z"

info "import --member: --time, the name's time, else the mtime"
cp "$L/member2/2026-11-22_20-53-28.tar.gz" "$T/no-time-here.tar.gz"
touch -d '2025-01-02 03:04:05' "$T/no-time-here.tar.gz"
expect_status 0 cairn import -r "$T/repo" --member other "$T/no-time-here.tar.gz" \
	"$L/member1/2026-11-20T205328Z.tar.gz"
assert_contains "$(names)" "other/2025-01-02T030405Z other/2026-11-20T205328Z"
expect_status 0 cairn import -r "$T/repo" --member third --time 2020-01-01T000000Z "$T/no-time-here.tar.gz"
assert_contains "$(names)" "third/2020-01-01T000000Z"
expect_status 2 cairn import -r "$T/repo" --layout "$L" --member x
expect_status 2 cairn import -r "$T/repo" --member other
expect_status 1 cairn import -r "$T/repo" --member other "$T/missing.tar"
assert_contains "$ERR" "cannot import '$T/missing.tar'"
expect_status 0 cairn check -r "$T/repo"
