#!/usr/bin/env bash
# A fresh machine lists 100 snapshots in O(1) requests: the snapshot list
# carries every header, so `cairn snapshots` with an empty cache directory,
# and a fresh mount up to its first `ls` of a member, cost at most 5
# requests, not one per snapshot. Counted by the HTTP server itself
# (tests/http-range-server.py --verbose logs each request) and, for the
# local backend, which lists like S3, by `cairn -v`. Every writer keeps the
# list whole: backups, import and forget. A list one behind (a snapshot
# committed after it) still shows every snapshot where the backend lists,
# costing one more request; a damaged list costs a request per header but
# loses nothing; a repository of format 1 is refused with a clear message.
. "$(dirname "$0")/lib.sh"
# shellcheck source=../lib-s3.sh
. "$SRC/tests/lib-s3.sh"
_backend_stop() {
	http_stop
}

R=$T/repo
cairn init -r "$R" --no-encryption
info "97 snapshots of db by import --layout, 4 of web by backup, then forget one"
mkdir -p "$T/layout/db" "$T/data"
for i in $(seq 1 97); do
	echo "dump $i" >"$T/data/dump.sql"
	tar -czf "$T/layout/db/$(date -u -d "@$((1767225600 + i * 3600))" +%Y%m%d-%H%M%S).tar.gz" \
		-C "$T/data" dump.sql
done
rm "$T/data/dump.sql"
cairn import -q -r "$R" --layout "$T/layout"
echo web >"$T/data/index.html"
for i in 1 2 3 4; do
	cairn backup -q -r "$R" --member web --time "2026-02-0${i}T000000Z" "$T/data"
done
expect_status 0 cairn forget -r "$R" --member web --keep-last 3
assert_eq 100 "$(find "$R/snapshots" -type f | wc -l)" "snapshots in the repository"

# requests_of OUT ERR: the count of "backend: N requests" that -v printed.
requests_of() {
	sed -n 's/.*backend: \([0-9]*\) requests.*/\1/p' <<<"$1" | tail -n 1
}

info "local backend (it lists, like S3), fresh cache: cairn snapshots"
export CAIRN_CACHE_DIR=$T/cache-local
expect_status 0 cairn snapshots -v -r "$R"
assert_eq 100 "$(grep -cE '^(db|web) ' <<<"$OUT")" "snapshots listed"
n=$(requests_of "$ERR")
info "$n requests"
[ -n "$n" ] && [ "$n" -le 5 ] || fail "cairn snapshots on a fresh cache took $n requests (at most 5): $ERR"

info "HTTP, fresh cache: cairn snapshots, counted by the server"
HTTP_LOG_REQUESTS=1 http_start "$T"
# served: the requests the server has logged so far
served() {
	grep -cE '"(GET|HEAD) ' "$HTTP_STATE/log" || true
}
URL=$HTTP_URL/repo
export CAIRN_CACHE_DIR=$T/cache-http
before=$(served)
expect_status 0 "$BUILD/cairn" snapshots -r "$URL"
assert_eq 100 "$(grep -cE '^(db|web) ' <<<"$OUT")" "snapshots listed over HTTP"
n=$(($(served) - before))
info "$n requests"
[ "$n" -le 5 ] || fail "cairn snapshots over HTTP on a fresh cache took $n requests (at most 5):
$(tail -n "$n" "$HTTP_STATE/log")"

info "HTTP, fresh cache: mount, then ls of a member"
export CAIRN_CACHE_DIR=$T/cache-mount
before=$(served)
mount_repo "$URL" "$T/mnt"
listing=$(ls "$T/mnt/snapshots/db")
n=$(($(served) - before))
assert_eq 98 "$(wc -l <<<"$listing")" "entries of snapshots/db (97 and latest)"
info "$n requests"
[ "$n" -le 5 ] || fail "mount and first ls over HTTP took $n requests (at most 5):
$(tail -n "$n" "$HTTP_STATE/log")"
assert_eq "dump 50" "$(cat "$T/mnt/snapshots/db/$(sed -n 50p <<<"$listing")/dump.sql")" \
	"a file of the 50th snapshot"
unmount_repo "$T/mnt"
export CAIRN_CACHE_DIR=$T/cache-write
expect_status 0 cairn check -r "$R"
! grep -q snapshot-list <<<"$OUT$ERR" || fail "check finds fault with the snapshot list: $OUT$ERR"

info "a list one behind: the listing still shows the new snapshot"
cp "$R/snapshot-list" "$T/list-100"
cairn backup -q -r "$R" --member web --time 2026-02-05T000000Z "$T/data"
cp "$T/list-100" "$R/snapshot-list"
expect_status 0 cairn check -r "$R" # warnings do not fail it
assert_contains "$OUT$ERR" "is out of date (1 snapshots missing from it, 0 in it"
export CAIRN_CACHE_DIR=$T/cache-behind
expect_status 0 cairn snapshots -v -r "$R"
assert_eq 101 "$(grep -cE '^(db|web) ' <<<"$OUT")" "snapshots listed with a list one behind"
n=$(requests_of "$ERR")
[ "$n" -le 6 ] || fail "a list one behind cost $n requests (at most 6)"

info "a damaged list: every header fetched, nothing lost"
printf 'garbage' | dd of="$R/snapshot-list" bs=1 seek=60 conv=notrunc status=none
export CAIRN_CACHE_DIR=$T/cache-damaged
expect_status 0 cairn snapshots -r "$R"
assert_eq 101 "$(grep -cE '^(db|web) ' <<<"$OUT")" "snapshots listed with a damaged list"
expect_status 1 "$BUILD/cairn" snapshots -r "$URL"
assert_contains "$ERR" "snapshot list of '$URL' is damaged"
info "the next writer repairs it, headers and all"
export CAIRN_CACHE_DIR=$T/cache-write
expect_status 0 cairn forget -r "$R" --member web --keep-last 3
export CAIRN_CACHE_DIR=$T/cache-repaired
before=$(served)
expect_status 0 "$BUILD/cairn" snapshots -r "$URL"
assert_eq 100 "$(grep -cE '^(db|web) ' <<<"$OUT")" "snapshots listed over HTTP after forget"
n=$(($(served) - before))
[ "$n" -le 5 ] || fail "after the repair, cairn snapshots over HTTP took $n requests"

info "format 1 is refused"
python3 - "$R/config" <<'PY'
import hashlib, struct, sys
path = sys.argv[1]
obj = open(path, "rb").read()
raw = bytearray(obj[48:])  # a plain, uncompressed config envelope
assert obj[6] == 0 and struct.unpack("<I", raw[:4])[0] == 2
raw[:4] = struct.pack("<I", 1)
open(path, "wb").write(obj[:16] + hashlib.sha256(raw).digest() + bytes(raw))
PY
expect_status 1 cairn snapshots -r "$R"
assert_contains "$ERR" "has format version 1, which this cairn no longer reads"
assert_contains "$ERR" "there is no migration"
