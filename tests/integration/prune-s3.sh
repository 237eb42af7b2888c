#!/usr/bin/env bash
# check, forget and prune against a real S3 server (Swift with s3api on
# loopback), and check over plain HTTP, which cannot list: the same results
# as on a local directory. A forgotten snapshot's unique data is deleted
# from the bucket, the rest checks clean with --read-data and reads back
# exactly through the mount; damage found over S3 and HTTP names the file.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-s3.sh"
trap 'st=$?; s3_stop; http_stop; (exit $st); cleanup' EXIT

s3_start "$T/s3"
R="s3://$S3_BUCKET/repo"
cairn init -r "$R" --no-encryption
for i in 1 2 3; do
	mkdir -p "$T/src$i"
	random_bytes 2M shared >"$T/src$i/shared"
	random_bytes 3M "unique-$i" >"$T/src$i/unique"
	cairn backup -r "$R" --member m --time "2026-03-0${i}T000000Z" "$T/src$i"
done
expect_status 0 cairn check -r "$R" --read-data
assert_eq "" "$OUT" "check of a clean S3 repository"

info "forget the oldest and prune: its unique pack leaves the bucket"
expect_status 0 cairn forget -r "$R" --keep-last 2 --prune
assert_matches "$OUT" "remove +m/2026-03-01T000000Z"
assert_contains "$ERR" "reclaimed"
assert_matches "$ERR" "delete 1 packs \\(3\\.[0-9] MiB\\)|repack 1 mostly unused packs"
expect_status 0 cairn check -r "$R" --read-data
assert_eq "" "$OUT" "check after prune"
mount_repo "$R" "$T/mnt"
tree_equal "$T/src2" "$T/mnt/snapshots/m/2026-03-02T000000Z"
tree_equal "$T/src3" "$T/mnt/snapshots/m/2026-03-03T000000Z"
assert_eq "2026-03-02T000000Z
2026-03-03T000000Z" "$(snapshot_dirs "$T/mnt" m)" "snapshots after prune"
unmount_repo "$T/mnt"

info "check over HTTP, which cannot list, reads what the snapshots use"
mkdir -p "$T/local-src"
random_bytes 2M over-http >"$T/local-src/file"
cairn init -r "$T/local" --no-encryption
cairn backup -r "$T/local" --member h --time 2026-03-04T000000Z "$T/local-src"
http_start "$T/local"
expect_status 0 cairn check -r "$HTTP_URL" --read-data
assert_contains "$ERR" "checked 1 snapshots and 1 packs"
pack=$(cd "$T/local" && find packs -type f)
rm "$T/local/$pack"
expect_status 1 cairn check -r "$HTTP_URL"
assert_contains "$OUT" "error: pack '$pack' is missing"
assert_contains "$OUT" "h/2026-03-04T000000Z: /file"
# Prune and forget need a writable repository.
expect_status 1 cairn prune -r "$HTTP_URL"
expect_status 1 cairn forget -r "$HTTP_URL" --keep-last 1
