#!/usr/bin/env bash
# libcurl is loaded when an http:// or s3:// repository is first opened, not
# linked (store/backend/curl-load.c): cairn and cairnfs name no libcurl in
# their dynamic section, a local repository works where libcurl cannot be
# loaded, and a remote one then fails with an error that names the library
# and how to install it.
. "$(dirname "$0")/lib.sh"
trap cleanup EXIT

info "cairn and cairnfs do not link libcurl"
for b in cairn cairnfs; do
	needed=$(readelf -d "$BUILD/$b" | awk '/\(NEEDED\)/ { print $NF }')
	[ -n "$needed" ] || fail "readelf found no NEEDED entries in $BUILD/$b"
	case $needed in
	*libcurl*) fail "$b links libcurl: $(echo "$needed" | tr '\n' ' ')" ;;
	esac
done

info "a local repository needs no libcurl"
mkdir -p "$T/badlib" "$T/src"
echo "not a shared library" >"$T/badlib/libcurl.so.4"
echo hello >"$T/src/a"
"$BUILD/cairn" init -q -r "$T/repo" --no-encryption
"$BUILD/cairn" backup -q -r "$T/repo" --member m --time 2026-11-22T205328Z "$T/src"
expect_status 0 env LD_LIBRARY_PATH="$T/badlib" "$BUILD/cairn" snapshots -r "$T/repo"
assert_contains "$OUT" 2026-11-22T205328Z
expect_status 0 env LD_LIBRARY_PATH="$T/badlib" "$BUILD/cairn" restore -r "$T/repo" m/latest --target "$T/out"
assert_eq hello "$(cat "$T/out/a")"

info "a remote one says libcurl could not be loaded, and how to get it"
for url in http://127.0.0.1:9/repo s3://bucket/repo; do
	expect_status 1 env LD_LIBRARY_PATH="$T/badlib" AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s \
		AWS_ENDPOINT_URL=http://127.0.0.1:9 "$BUILD/cairn" snapshots -r "$url"
	assert_contains "$ERR" "cannot load libcurl, which http:// and s3:// repositories need"
	assert_contains "$ERR" "badlib/libcurl.so.4"
	assert_contains "$ERR" "apt-get install libcurl4"
done
mkdir -p "$T/mnt"
expect_status 1 env LD_LIBRARY_PATH="$T/badlib" "$BUILD/cairnfs" http://127.0.0.1:9/repo "$T/mnt" -f
assert_contains "$ERR" "cannot load libcurl"
