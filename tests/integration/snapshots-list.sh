#!/usr/bin/env bash
# cairn snapshots lists member, timestamp, id, file count and bytes of every
# snapshot, filters by --member, and --json is one parseable JSON document
# with the same facts.
. "$(dirname "$0")/lib.sh"

cairn init -r "$T/repo" --no-encryption
mkdir -p "$T/a/d" "$T/b"
printf '%s' 12345 >"$T/a/five"
random_bytes 100000 a >"$T/a/d/hundred-k"
ln "$T/a/five" "$T/a/d/five-again" # one file, two names
ln -s five "$T/a/link"
: >"$T/a/empty"
printf '%s' 1234567 >"$T/b/seven"
cairn backup -r "$T/repo" --member alpha --time 2026-11-22T205328Z "$T/a"
cairn backup -r "$T/repo" --member alpha --time 2026-11-23T010203Z "$T/b"
cairn backup -r "$T/repo" --member beta --time 2025-01-02T030405Z "$T/b"
(cd "$T/repo/snapshots" && find . -type f | sed 's|.*/||' | sort) >"$T/ids"
assert_eq 3 "$(wc -l <"$T/ids")" "objects under snapshots/"

expect_status 0 cairn snapshots -r "$T/repo"
text=$OUT
info "text output:
$text"
# line_of MEMBER TIMESTAMP: the one output line of that snapshot.
line_of() {
	local l
	l=$(grep -F "$1" <<<"$3" | grep -F "$2" || true)
	[ "$(grep -c . <<<"$l")" -eq 1 ] || fail "expected one line for $1 $2, got: '$l'"
	echo "$l"
}
# check_line LINE FILES BYTES: the line has an id from the repository and
# both counts as words.
check_line() {
	local id_seen=0 w
	for w in $1; do
		[ ${#w} -ge 8 ] && grep -q "^$w" "$T/ids" && id_seen=1
	done
	[ "$id_seen" -eq 1 ] || fail "no snapshot id (a prefix of one in snapshots/) in: $1"
	grep -qwF -- "$2" <<<"$1" || fail "file count $2 missing from: $1"
	grep -qwF -- "$3" <<<"$1" || grep -qwF -- "$4" <<<"$1" ||
		fail "byte count $3 ($4) missing from: $1"
}
check_line "$(line_of alpha 2026-11-22T205328Z "$text")" 3 100005 "97.7 KiB"
check_line "$(line_of alpha 2026-11-23T010203Z "$text")" 1 7 "7 B"
check_line "$(line_of beta 2025-01-02T030405Z "$text")" 1 7 "7 B"
grep -q . <<<"$ERR" && fail "cairn snapshots wrote to stderr: $ERR"

info "--member filters"
expect_status 0 cairn snapshots -r "$T/repo" --member beta
grep -q alpha <<<"$OUT" && fail "--member beta lists alpha: $OUT"
line_of beta 2025-01-02T030405Z "$OUT" >/dev/null
expect_status 0 cairn snapshots -r "$T/repo" --member alpha
grep -q 2025-01-02T030405Z <<<"$OUT" && fail "--member alpha lists beta's snapshot: $OUT"
line_of alpha 2026-11-23T010203Z "$OUT" >/dev/null

info "--json"
expect_status 0 cairn snapshots -r "$T/repo" --json
printf '%s' "$OUT" >"$T/all.json"
python3 -m json.tool "$T/all.json" >/dev/null || fail "--json output does not parse: $OUT"
expect_status 0 cairn snapshots -r "$T/repo" --member alpha --json
printf '%s' "$OUT" >"$T/alpha.json"
python3 - "$T/all.json" "$T/alpha.json" "$T/ids" <<'PY'
import json, sys

ids = open(sys.argv[3]).read().split()

def snapshots(doc):
    """The list of snapshot objects: the document itself or its one list."""
    if isinstance(doc, list):
        return doc
    lists = [v for v in doc.values() if isinstance(v, list)]
    if len(lists) != 1:
        sys.exit(f"no single list of snapshots in {doc!r}")
    return lists[0]

def find(snaps, member, ts):
    hits = [s for s in snaps if s.get("member") == member and
            any(isinstance(v, str) and (v.startswith(ts[:10]) and
                v.replace(":", "").replace("-", "")[:15] == ts.replace("-", "")[:15])
                for v in s.values())]
    if len(hits) != 1:
        sys.exit(f"expected one snapshot {member} {ts}, found {len(hits)} in {snaps!r}")
    return hits[0]

def check(s, files, nbytes):
    sid = s.get("id")
    if not isinstance(sid, str) or sid not in ids:
        sys.exit(f"'id' of {s!r} is not a full snapshot id from the repository")
    if s.get("files") != files:
        sys.exit(f"'files' of {s!r} is not {files}")
    if s.get("bytes") != nbytes:
        sys.exit(f"'bytes' of {s!r} is not {nbytes}")

all_ = snapshots(json.load(open(sys.argv[1])))
if len(all_) != 3:
    sys.exit(f"expected 3 snapshots, got {all_!r}")
check(find(all_, "alpha", "2026-11-22T205328Z"), 3, 100005)
check(find(all_, "alpha", "2026-11-23T010203Z"), 1, 7)
check(find(all_, "beta", "2025-01-02T030405Z"), 1, 7)
if len({s["id"] for s in all_}) != 3:
    sys.exit("snapshot ids are not distinct")
alpha = snapshots(json.load(open(sys.argv[2])))
if sorted(s["member"] for s in alpha) != ["alpha", "alpha"]:
    sys.exit(f"--member alpha --json gave {alpha!r}")
PY
