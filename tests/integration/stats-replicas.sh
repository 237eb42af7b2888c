#!/usr/bin/env bash
# Four replicas of one node, shaped like tests/bench/make-dataset.sh
# "replicas" but small: identical SST files, a few files of their own. Backed
# up as four members, they take little more than one replica's space, and
# cairn stats shows raw size, stored size and their ratio per member and in
# total.
. "$(dirname "$0")/lib.sh"

MiB=1048576
for i in 0 1 2 3; do
	d="$T/replica-$i/chaindata"
	mkdir -p "$d"
	for n in 1 2 3 4 5 6; do random_bytes 1M "sst-$n" >"$d/00000$n.sst"; done
	random_bytes 192K "own-$i" >"$d/00010$i.sst"
	random_bytes 32K "wal-$i" >"$d/000200.log"
	echo "MANIFEST-00000$i" >"$d/CURRENT"
	echo "replica $i" >"$d/IDENTITY"
	printf '{"node": %d}\n' "$i" >"$T/replica-$i/node_key.json"
	printf 'listen = "0.0.0.0:30303"\n' >"$T/replica-$i/config.toml"
done
repo="$T/repo"
cairn init -r "$repo" --no-encryption
for i in 0 1 2 3; do
	cairn backup -r "$repo" --member "replica-$i" "$T/replica-$i"
done

expect_status 0 cairn stats -r "$repo" --json
printf '%s' "$OUT" >"$T/stats.json"
python3 - "$T/stats.json" "$MiB" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); M = int(sys.argv[2])
members = {m["member"]: m for m in s["per_member"]}
assert sorted(members) == ["replica-%d" % i for i in range(4)], members
one = members["replica-0"]
for m in members.values():
    assert m["snapshots"] == 1, m
    assert 6 * M < m["raw_bytes"] < 7 * M, m
    assert m["stored_bytes"] <= m["raw_bytes"] + 64 * 1024, m
    assert 0.95 <= m["ratio"] <= 1.05, m   # random data: no compression, no dedup within
assert s["raw_bytes"] == sum(m["raw_bytes"] for m in members.values()), s
# four members: little more than one replica's space
assert s["stored_bytes"] <= 1.15 * one["stored_bytes"], (s["stored_bytes"], one)
assert s["ratio"] >= 3.4, s
print("raw %d, stored %d, one replica stored %d, ratio %.2f" %
      (s["raw_bytes"], s["stored_bytes"], one["stored_bytes"], s["ratio"]), file=sys.stderr)
PY

info "the text form has a row per member and a total"
expect_status 0 cairn stats -r "$repo"
for i in 0 1 2 3; do assert_matches "$OUT" "^replica-$i +1 +6\\.[0-9] MiB +6\\.[0-9] MiB +1\\.00"; done
assert_matches "$OUT" "^total +4 +2[45]\\.[0-9] MiB +[67]\\.[0-9] MiB +3\\.[0-9]+"
