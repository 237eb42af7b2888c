#!/usr/bin/env bash
# find, diff and stats over a repository published read-only by a static
# web server (which cannot list): the same answers as from the directory,
# with a catalog built from scratch through HTTP; stats says its pack
# figures come from the catalog.
. "$(dirname "$0")/lib.sh"
# shellcheck source=../lib-s3.sh
. "$SRC/tests/lib-s3.sh"
trap 'st=$?; set +e; http_stop; (exit $st); cleanup' EXIT

mkdir -p "$T/src/etc"
echo one >"$T/src/etc/a.conf"
random_bytes 2M http >"$T/src/data.bin"
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m --time 2026-01-01T000000Z "$T/src"
echo two >"$T/src/etc/a.conf"
echo new >"$T/src/etc/b.conf"
cairn backup -r "$T/repo" --member m --time 2026-01-02T000000Z "$T/src"
cairn backup -r "$T/repo" --member n --time 2026-01-03T000000Z "$T/src"

http_start "$T/repo"
export CAIRN_CACHE_DIR=$T/http-cache # nothing known yet: all through HTTP

info "find"
expect_status 0 cairn find -r "$HTTP_URL" '*.conf'
assert_eq "m/2026-01-01T000000Z/etc/a.conf
m/2026-01-02T000000Z/etc/a.conf
m/2026-01-02T000000Z/etc/b.conf
n/2026-01-03T000000Z/etc/a.conf
n/2026-01-03T000000Z/etc/b.conf" "$OUT"
assert_contains "$ERR" "loading 3 snapshot trees"

info "diff"
expect_status 1 cairn diff -r "$HTTP_URL" m/2026-01-01T000000Z m/latest etc
assert_eq "M  /etc  (mtime)  dir
M  /etc/a.conf  (content, mtime)  4 B
+  /etc/b.conf  4 B" "$OUT"
expect_status 0 cairn diff -r "$HTTP_URL" m/latest n/latest
expect_status 0 cairn diff -r "$HTTP_URL" --content n/latest "$T/src"

info "stats"
expect_status 0 cairn stats -r "$HTTP_URL" --json
printf '%s' "$OUT" >"$T/http.json"
CAIRN_CACHE_DIR=$T/cache expect_status 0 cairn stats -r "$T/repo" --json
printf '%s' "$OUT" >"$T/local.json"
python3 - "$T/http.json" "$T/local.json" <<'PY'
import json, sys
h, l = (json.load(open(p)) for p in sys.argv[1:])
assert h["packs"]["listed"] is False and l["packs"]["listed"] is True, (h, l)
assert h["packs"]["count"] == l["packs"]["count"], (h, l)
for k in ("snapshots", "members", "files", "raw_bytes", "data_bytes", "unique_bytes",
          "stored_bytes", "dedup_ratio", "compression_ratio", "reclaimable_bytes"):
    assert h[k] == l[k], (k, h, l)
PY
expect_status 0 cairn stats -r "$HTTP_URL"
assert_contains "$OUT" "from the catalog"
