#!/usr/bin/env bash
# Four backups of different members into one repository at the same time,
# as four processes (as from four hosts: each has its own cache), on a local
# directory and on S3: all succeed, all four snapshots appear, the data they
# share counts once among the distinct chunks, and check --read-data finds nothing wrong.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-s3.sh"
trap 'st=$?; s3_stop; (exit $st); cleanup' EXIT

for i in 0 1 2 3; do
	mkdir -p "$T/src$i/data"
	random_bytes 3M shared >"$T/src$i/data/shared.sst"
	random_bytes 2M "unique-$i" >"$T/src$i/data/own.sst"
	for j in $(seq 1 30); do echo "replica $i file $j" >"$T/src$i/data/small-$j"; done
done

# concurrent REPO: four backups at once, each with its own cache directory.
concurrent() {
	local repo=$1 pids=() i st
	cairn init -r "$repo" --no-encryption
	for i in 0 1 2 3; do
		CAIRN_CACHE_DIR="$T/cache-$i-${repo//[^a-z0-9]/}" \
			"$BUILD/cairn" backup -r "$repo" --member "replica-$i" "$T/src$i" \
			>"$T/out-$i" 2>"$T/err-$i" &
		pids+=($!)
	done
	for i in 0 1 2 3; do
		st=0
		wait "${pids[$i]}" || st=$?
		[ "$st" -eq 0 ] || fail "backup $i into $repo exited $st: $(cat "$T/err-$i")"
	done
	expect_status 0 cairn snapshots -r "$repo" --json
	python3 - "$OUT" <<'PY'
import json, sys
snaps = json.loads(sys.argv[1])
members = sorted(s["member"] for s in snaps)
assert members == ["replica-0", "replica-1", "replica-2", "replica-3"], members
PY
	expect_status 0 cairn check -r "$repo" --read-data
	expect_status 0 cairn stats -r "$repo" --json
	python3 - "$OUT" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
M = 1 << 20
# the shared 3 MiB is one set of distinct chunks; racing backups may each
# have stored a copy of it (prune repacks such duplicates away)
assert s["unique_bytes"] <= 3 * M + 4 * 2 * M + 4096, s
assert s["stored_bytes"] <= 4 * 5 * M + 65536, s
PY
}

info "local directory"
concurrent "$T/repo"

info "S3"
s3_start "$T/s3"
concurrent "s3://$S3_BUCKET/repo"
