#!/usr/bin/env bash
# cairn find lists MEMBER/TIMESTAMP/path for every entry whose name matches
# a glob, over every member and snapshot, ordered by member, time and path;
# --member, --since and --until narrow the snapshots; a pattern with '/'
# matches whole paths; odd names are escaped as ls -b does; exit 0 on a
# match, 1 on none, 2 on trouble. Trees are fetched once, and it says so.
. "$(dirname "$0")/lib.sh"

cairn init -r "$T/repo" --no-encryption
# snap MEMBER TIME: backs up the current $T/src as MEMBER at TIME.
snap() {
	cairn backup -r "$T/repo" --member "$1" --time "$2" "$T/src"
}
mkdir -p "$T/src/etc/sub" "$T/src/logs" "$T/src/names"
echo a >"$T/src/etc/app.conf"
echo b >"$T/src/etc/sub/deep.conf"
echo c >"$T/src/etc/notconf"
echo d >"$T/src/.hidden.conf"
echo e >"$T/src/names/sp ace.conf"
echo f >"$T/src/names/"$'new\nline.conf'
echo g >"$T/src/names/"$'\xff.conf'
echo h >"$T/src/names/ünï.conf"
mkdir "$T/src/dir.conf" # directories match too
snap alpha 2026-01-01T000000Z
echo i >"$T/src/logs/one.log"
snap alpha 2026-01-02T060000Z
rm "$T/src/etc/app.conf"
echo j >"$T/src/logs/two.log"
snap alpha 2026-01-03T000000Z
snap beta 2025-12-31T235959Z

info "a name pattern over every member and snapshot"
expect_status 0 cairn find -r "$T/repo" '*.log'
assert_eq "alpha/2026-01-02T060000Z/logs/one.log
alpha/2026-01-03T000000Z/logs/one.log
alpha/2026-01-03T000000Z/logs/two.log
beta/2025-12-31T235959Z/logs/one.log
beta/2025-12-31T235959Z/logs/two.log" "$OUT"
assert_contains "$ERR" "loading 4 snapshot trees"
expect_status 0 cairn find -r "$T/repo" 'app.con?'
assert_eq "alpha/2026-01-01T000000Z/etc/app.conf
alpha/2026-01-02T060000Z/etc/app.conf" "$OUT" "app.conf is gone from the later snapshots"
assert_eq "" "$ERR" "trees already loaded are not fetched again"

info "ordering and escaping of odd names"
expect_status 0 cairn find -r "$T/repo" --member beta '*.conf'
assert_eq 'beta/2025-12-31T235959Z/.hidden.conf
beta/2025-12-31T235959Z/dir.conf
beta/2025-12-31T235959Z/etc/sub/deep.conf
beta/2025-12-31T235959Z/names/new\nline.conf
beta/2025-12-31T235959Z/names/sp\ ace.conf
beta/2025-12-31T235959Z/names/ünï.conf
beta/2025-12-31T235959Z/names/\377.conf' "$OUT"

info "--since and --until (inclusive, UTC)"
expect_status 0 cairn find -r "$T/repo" --since 2026-01-02 '*.log'
assert_eq "alpha/2026-01-02T060000Z/logs/one.log
alpha/2026-01-03T000000Z/logs/one.log
alpha/2026-01-03T000000Z/logs/two.log" "$OUT"
expect_status 0 cairn find -r "$T/repo" --since 2026-01-02T060000Z --until '2026-01-02 06:00:00' \
	'*.log'
assert_eq "alpha/2026-01-02T060000Z/logs/one.log" "$OUT"
expect_status 0 cairn find -r "$T/repo" --until '2025-12-31 23:59:59' '*.conf'
assert_eq 7 "$(grep -c . <<<"$OUT")" "--until 2025-12-31 23:59:59 keeps only beta's snapshot"
assert_eq "" "$(grep -v '^beta/' <<<"$OUT")"
expect_status 0 cairn find -r "$T/repo" --until 2026-01-01 'app.conf'
assert_eq "alpha/2026-01-01T000000Z/etc/app.conf" "$OUT" "a date is its midnight, included"
expect_status 1 cairn find -r "$T/repo" --since 2027-01-01 '*'
assert_eq "" "$OUT"

info "a pattern with '/' matches whole paths"
expect_status 0 cairn find -r "$T/repo" --member alpha 'etc/*'
assert_eq "alpha/2026-01-01T000000Z/etc/app.conf
alpha/2026-01-01T000000Z/etc/notconf
alpha/2026-01-01T000000Z/etc/sub
alpha/2026-01-01T000000Z/etc/sub/deep.conf
alpha/2026-01-02T060000Z/etc/app.conf
alpha/2026-01-02T060000Z/etc/notconf
alpha/2026-01-02T060000Z/etc/sub
alpha/2026-01-02T060000Z/etc/sub/deep.conf
alpha/2026-01-03T000000Z/etc/notconf
alpha/2026-01-03T000000Z/etc/sub
alpha/2026-01-03T000000Z/etc/sub/deep.conf" "$OUT"
expect_status 0 cairn find -r "$T/repo" --member beta '/etc/sub/*.conf'
assert_eq "beta/2025-12-31T235959Z/etc/sub/deep.conf" "$OUT" "a leading / is dropped"
expect_status 1 cairn find -r "$T/repo" 'sub/deep'

info "--json"
expect_status 0 cairn find -r "$T/repo" --member beta --json '*.conf'
printf '%s' "$OUT" >"$T/f.json"
python3 - "$T/f.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
paths = [e["path"] for e in doc]
assert "names/new\nline.conf" in paths and "names/sp ace.conf" in paths, paths
assert all(e["member"] == "beta" and e["timestamp"] == "2025-12-31T235959Z" for e in doc)
d = [e for e in doc if e["path"] == "dir.conf"][0]
assert d["type"] == "dir", d
f = [e for e in doc if e["path"] == "etc/sub/deep.conf"][0]
assert f["type"] == "file" and f["size"] == 2 and len(f["id"]) == 64, f
PY

info "no match, unknown member, bad arguments"
expect_status 1 cairn find -r "$T/repo" 'nothing-like-this'
assert_eq "" "$OUT"
expect_status 2 cairn find -r "$T/repo" --member gamma '*'
assert_contains "$ERR" "alpha, beta"
expect_status 2 cairn find -r "$T/repo" --since yesterday '*'
assert_contains "$ERR" "yesterday"
expect_status 2 cairn find -r "$T/repo"
expect_status 2 cairn find -r "$T/repo" a b
