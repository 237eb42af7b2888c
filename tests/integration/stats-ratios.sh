#!/usr/bin/env bash
# cairn stats against inputs whose figures are known: two snapshots of one
# 10 MiB random file deduplicate 2:1 and do not compress; log text
# compresses; a sparse file's holes count in raw bytes but not in data
# bytes; packs match the repository's pack objects; and once a snapshot is
# gone, its packs (and a pack nothing knows) are reclaimable, to the byte.
. "$(dirname "$0")/lib.sh"

MiB=1048576
cairn init -r "$T/repo" --no-encryption
mkdir -p "$T/random" "$T/text"
random_bytes 10M ten >"$T/random/ten.bin"
cairn backup -r "$T/repo" --member rnd --time 2026-01-01T000000Z "$T/random"
cairn backup -r "$T/repo" --member rnd --time 2026-01-02T000000Z "$T/random"
(cd "$T/repo" && find packs -type f | sort) >"$T/packs-before"
text_bytes 8M 7 >"$T/text/app.log"
truncate -s 16M "$T/text/sparse.img"
random_bytes 1M sp | dd of="$T/text/sparse.img" bs=1M seek=5 conv=notrunc status=none
cairn backup -r "$T/repo" --member txt --time 2026-01-03T000000Z "$T/text"
(cd "$T/repo" && find packs -type f | sort) >"$T/packs-after"
comm -13 "$T/packs-before" "$T/packs-after" >"$T/txt-packs"
[ -s "$T/txt-packs" ] || fail "the text backup wrote no pack"

# stats_json NAME [ARGS]: cairn stats --json into $T/NAME.json.
stats_json() {
	local name=$1
	shift
	expect_status 0 cairn stats -r "$T/repo" --json "$@"
	printf '%s' "$OUT" >"$T/$name.json"
}
# pack_bytes FILE: the sum of the sizes of the packs listed in FILE.
pack_bytes() {
	local total=0 p
	while read -r p; do
		total=$((total + $(stat -c %s "$T/repo/$p")))
	done <"$1"
	echo "$total"
}

info "one member: 10 MiB of random data, twice"
stats_json rnd --member rnd
info "$(cat "$T/rnd.json")"
python3 - "$T/rnd.json" "$MiB" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); M = int(sys.argv[2])
assert s["member"] == "rnd" and s["snapshots"] == 2 and s["members"] == 1, s
assert s["files"] == 2, s
assert s["raw_bytes"] == 20 * M and s["data_bytes"] == 20 * M, s
assert s["unique_bytes"] == 10 * M, s
assert s["dedup_ratio"] == 2.0, s
assert 0.99 <= s["compression_ratio"] <= 1.0, s
# stored as is, plus an envelope per chunk (48 bytes; 76 encrypted: nonce and tag)
assert 10 * M <= s["stored_bytes"] <= 10 * M + 80 * s["stored_chunks"], s
PY

info "another member: compressible text and a sparse file"
stats_json txt --member txt
python3 - "$T/txt.json" "$MiB" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); M = int(sys.argv[2])
assert s["snapshots"] == 1 and s["files"] == 2, s
assert s["raw_bytes"] == 24 * M, s            # apparent sizes, holes included
assert s["data_bytes"] == 9 * M, s            # the holes are not data
assert s["unique_bytes"] == 9 * M and s["dedup_ratio"] == 1.0, s
assert s["compression_ratio"] > 1.5, s
assert s["stored_bytes"] < 9 * M, s
PY

info "the whole repository"
stats_json all
python3 - "$T/all.json" "$(grep -c . "$T/packs-after")" "$(pack_bytes "$T/packs-after")" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["member"] is None and s["snapshots"] == 3 and s["members"] == 2, s
assert s["packs"] == {"count": int(sys.argv[2]), "bytes": int(sys.argv[3]),
                      "unused": 0, "listed": True}, s
assert s["reclaimable_bytes"] == 0, s
PY
expect_status 0 cairn stats -r "$T/repo"
info "$OUT"
assert_matches "$OUT" '^dedup ratio +1\.[0-9]{2} '
assert_matches "$OUT" '^snapshots +3 \(2 members\)'
assert_matches "$OUT" "^reclaimable +0 B "

info "a snapshot gone: its packs become reclaimable"
txt_id=$(cairn snapshots -r "$T/repo" --member txt --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
rm "$T/repo/snapshots/$txt_id"
stats_json gone
python3 - "$T/gone.json" "$(grep -c . "$T/txt-packs")" "$(pack_bytes "$T/txt-packs")" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["snapshots"] == 2 and s["members"] == 1, s
assert s["packs"]["unused"] == int(sys.argv[2]), s
assert s["reclaimable_bytes"] == int(sys.argv[3]), s
PY

info "a pack no index or snapshot knows is reclaimable whole"
orphan=packs/00/$(printf '0%.0s' $(seq 1 64))
mkdir -p "$T/repo/packs/00"
head -c 12345 /dev/urandom >"$T/repo/$orphan"
stats_json orphan
python3 - "$T/gone.json" "$T/orphan.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert b["packs"]["count"] == a["packs"]["count"] + 1, (a, b)
assert b["packs"]["bytes"] == a["packs"]["bytes"] + 12345, (a, b)
assert b["packs"]["unused"] == a["packs"]["unused"] + 1, (a, b)
assert b["reclaimable_bytes"] == a["reclaimable_bytes"] + 12345, (a, b)
PY

info "errors"
expect_status 2 cairn stats -r "$T/repo" extra
expect_status 1 cairn stats -r "$T/repo" --member nobody
assert_contains "$ERR" "rnd"
