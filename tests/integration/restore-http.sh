#!/usr/bin/env bash
# ls, restore and export read a repository published by a static web server
# (the read-only HTTP backend) as they read a local one, with a catalog
# rebuilt from nothing.
. "$(dirname "$0")/lib.sh"
# shellcheck source=../lib-s3.sh
. "$SRC/tests/lib-s3.sh"
trap 'st=$?; http_stop; (exit $st); cleanup' EXIT

FULL_TREE_BIG=0 make_full_tree "$T/src"
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m1 --time 2026-11-22T205328Z "$T/src"
http_start "$T/repo" || fail "cannot start the HTTP server"
export CAIRN_CACHE_DIR="$T/http-cache"

info "ls over HTTP"
expect_status 0 cairn ls -r "$HTTP_URL" m1/latest links -R
assert_eq "$(cd "$T/src/links" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort)" "$OUT"

info "restore over HTTP"
expect_status 0 cairn restore -r "$HTTP_URL" m1/2026-11-22T205328Z --target "$T/out" --verify
tree_equal "$T/src" "$T/out"

info "export over HTTP"
mkdir "$T/x"
cairn export -r "$HTTP_URL" m1/latest names | tar -xpf - -C "$T/x"
tree_equal "$T/src/names" "$T/x"
