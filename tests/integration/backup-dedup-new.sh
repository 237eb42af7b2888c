#!/usr/bin/env bash
# A first backup stores duplicate data once, also when the copies are big
# new files whose chunks are hashed on the compression threads and only
# checked for duplicates when they come back: two identical 6 MiB files and
# a third sharing their first half add about 9 MiB, not 18; the snapshot
# verifies (check --read-data) and restores byte for byte. A small chunk
# size gives many chunks in flight at once.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src/a" "$T/src/b"
random_bytes 6M same >"$T/src/a/one.bin"
cp "$T/src/a/one.bin" "$T/src/b/two.bin"
{ head -c 3M "$T/src/a/one.bin"; random_bytes 3M tail; } >"$T/src/b/half.bin"

repo="$T/repo"
"$BUILD/cairn" init -r "$repo" --chunk-size 64K 2>/dev/null
expect_status 0 "$BUILD/cairn" backup -r "$repo" --member m --json "$T/src"
added=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["bytes_added"])' "$OUT")
chunks=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["chunks"], d["chunks_new"])' "$OUT")
info "added $added bytes; chunks (all, new): $chunks"
mib=1048576
[ "$added" -ge $((9 * mib - mib / 2)) ] || fail "added $added bytes, less than the 9 MiB of distinct data"
[ "$added" -le $((9 * mib + mib)) ] || fail "added $added bytes: duplicates were stored again"

expect_status 0 "$BUILD/cairn" check -r "$repo" --read-data
"$BUILD/cairn" restore -r "$repo" m/latest --target "$T/out" 2>/dev/null
tree_equal "$T/src" "$T/out"
