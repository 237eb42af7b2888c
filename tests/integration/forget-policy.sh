#!/usr/bin/env bash
# cairn forget keeps exactly what a retention policy says, over a synthetic
# two-year history of 144 snapshots of member m (and 3 of member other):
#
#   every Monday of 2025 at 20:00                          52
#   the 1st and the 15th of 2025-01 .. 2026-11 at 06:00    46
#   every day of 2026-12 at 06:00                          31
#   2026-12-20 also at 12:00 and 18:00                      2
#   2026-12-31 also at 07:00, 08:00, ..., 18:00 and 18:30  13
#
# The kept sets below were worked out by hand from these dates (2026-12-31
# is a Thursday, in ISO week 2026-W53, which began on Monday 2026-12-28;
# 2026-11-15 is a Sunday, in W46; W47 and W48 hold no snapshot).
. "$(dirname "$0")/lib.sh"

R="$T/repo"
cairn init -r "$R" --no-encryption
mkdir -p "$T/src"
echo "tiny" >"$T/src/file"

stamps() {
	local d
	d=2025-01-06 # a Monday
	while [ "${d:0:4}" = 2025 ]; do
		echo "${d}T200000Z"
		d=$(date -u -d "$d + 7 days" +%F)
	done
	for y in 2025 2026; do
		for m in 01 02 03 04 05 06 07 08 09 10 11 12; do
			[ "$y-$m" = 2026-12 ] && continue
			echo "$y-$m-01T060000Z"
			echo "$y-$m-15T060000Z"
		done
	done
	for d in $(seq -w 1 31); do
		echo "2026-12-${d}T060000Z"
	done
	echo 2026-12-20T120000Z
	echo 2026-12-20T180000Z
	for h in $(seq -w 7 18); do
		echo "2026-12-31T${h}0000Z"
	done
	echo 2026-12-31T183000Z
}
stamps >"$T/stamps"
assert_eq 144 "$(wc -l <"$T/stamps")" "the synthetic history"
info "backing up 144 snapshots of m and 3 of other"
while read -r ts; do
	tag=()
	case "$ts" in
	2025-03-15T060000Z | 2025-07-01T060000Z) tag=(--tag keep) ;;
	esac
	cairn backup -q -r "$R" --member m --time "$ts" "${tag[@]}" "$T/src"
done <"$T/stamps"
for ts in 2024-01-01T000000Z 2025-06-01T000000Z 2026-12-31T120000Z; do
	cairn backup -q -r "$R" --member other --time "$ts" "$T/src"
done
cp -a "$R" "$T/clean"

# names MEMBER: the member's snapshot timestamps, oldest first.
names() {
	cairn snapshots -r "$R" --member "$1" | awk 'NR > 1 { print $2 }'
}
# use_copy N: a fresh copy of the history, with a catalog of its own.
use_copy() {
	rm -rf "$R"
	cp -a "$T/clean" "$R"
	export CAIRN_CACHE_DIR="$T/cache-$1"
}
assert_eq 144 "$(names m | wc -l)" "snapshots of m before forget"

info "no --keep-* option: refused, nothing removed"
expect_status 2 cairn forget -r "$R"
assert_contains "$ERR" "hint:"
assert_eq 144 "$(names m | wc -l)" "snapshots of m after a refused forget"

POLICY=(--keep-last 3 --keep-hourly 6 --keep-daily 10 --keep-weekly 6 --keep-monthly 14 --keep-yearly 3)
# Newest first: last 3 = 12-31 18:30, 18:00, 17:00. Hourly 6 = hours 18
# (18:30), 17, 16, 15, 14, 13. Daily 10 = 12-31 (18:30), 12-30 .. 12-22.
# Weekly 6 = W53 (12-31 18:30), W52 (12-27), W51 (12-20 18:00), W50
# (12-13), W49 (12-06), W46 (11-15). Monthly 14 = 2026-12 (12-31 18:30),
# the 15th of 2026-11 .. 2026-01, then 2025-12 (Monday 12-29 20:00) and
# 2025-11 (Monday 11-24 20:00). Yearly 3 = 2026 (12-31 18:30), 2025
# (12-29 20:00); there is no 2024.
EXPECT_POLICY="2025-11-24T200000Z
2025-12-29T200000Z
2026-01-15T060000Z
2026-02-15T060000Z
2026-03-15T060000Z
2026-04-15T060000Z
2026-05-15T060000Z
2026-06-15T060000Z
2026-07-15T060000Z
2026-08-15T060000Z
2026-09-15T060000Z
2026-10-15T060000Z
2026-11-15T060000Z
2026-12-06T060000Z
2026-12-13T060000Z
2026-12-20T180000Z
2026-12-22T060000Z
2026-12-23T060000Z
2026-12-24T060000Z
2026-12-25T060000Z
2026-12-26T060000Z
2026-12-27T060000Z
2026-12-28T060000Z
2026-12-29T060000Z
2026-12-30T060000Z
2026-12-31T130000Z
2026-12-31T140000Z
2026-12-31T150000Z
2026-12-31T160000Z
2026-12-31T170000Z
2026-12-31T180000Z
2026-12-31T183000Z"

info "--dry-run says what the policy keeps and changes nothing"
expect_status 0 cairn forget -r "$R" --member m "${POLICY[@]}" --dry-run
assert_eq "$EXPECT_POLICY" "$(awk '$1 == "keep" { sub("^m/", "", $2); print $2 }' <<<"$OUT" | sort)" \
	"snapshots --dry-run would keep"
assert_eq 112 "$(awk '$1 == "remove"' <<<"$OUT" | wc -l)" "snapshots --dry-run would remove"
assert_eq 144 "$(names m | wc -l)" "snapshots of m after a dry run"

info "the combined policy keeps exactly the hand-computed 32, and says why"
expect_status 0 cairn forget -r "$R" --member m "${POLICY[@]}"
assert_eq "$EXPECT_POLICY" "$(names m)" "snapshots of m kept by the policy"
assert_matches "$OUT" "keep +m/2026-12-31T183000Z +[0-9a-f]{8} +last, hourly, daily, weekly, monthly, yearly$"
assert_matches "$OUT" "keep +m/2026-12-31T180000Z +[0-9a-f]{8} +last$"
assert_matches "$OUT" "keep +m/2026-12-31T170000Z +[0-9a-f]{8} +last, hourly$"
assert_matches "$OUT" "keep +m/2026-12-27T060000Z +[0-9a-f]{8} +daily, weekly$"
assert_matches "$OUT" "keep +m/2026-11-15T060000Z +[0-9a-f]{8} +weekly, monthly$"
assert_matches "$OUT" "keep +m/2025-12-29T200000Z +[0-9a-f]{8} +monthly, yearly$"
assert_matches "$OUT" "remove +m/2026-12-21T060000Z "
assert_matches "$OUT" "remove +m/2026-12-20T120000Z "
# --member m leaves other alone.
assert_eq "2024-01-01T000000Z
2025-06-01T000000Z
2026-12-31T120000Z" "$(names other)" "snapshots of other after forget --member m"
# The same decision from a fresh catalog: the headers are gone for real.
CAIRN_CACHE_DIR="$T/cache-fresh" cairn snapshots -r "$R" --member m >"$T/fresh"
assert_eq "$EXPECT_POLICY" "$(awk 'NR > 1 { print $2 }' "$T/fresh")" "snapshots seen by a fresh catalog"
expect_status 0 cairn check -r "$R"

info "--keep-within 10d counts from each member's newest snapshot"
use_copy within
expect_status 0 cairn forget -r "$R" --keep-within 10d
# m: newest 12-31 18:30, so everything from 12-21 18:30 on.
EXPECT_WITHIN="$(for d in 22 23 24 25 26 27 28 29 30; do echo "2026-12-${d}T060000Z"; done)
2026-12-31T060000Z
$(for h in $(seq -w 7 18); do echo "2026-12-31T${h}0000Z"; done)
2026-12-31T183000Z"
assert_eq "$EXPECT_WITHIN" "$(names m)" "snapshots of m kept by --keep-within 10d"
assert_eq 23 "$(names m | wc -l)"
assert_eq "2026-12-31T120000Z" "$(names other)" "snapshots of other kept by --keep-within 10d"

info "--keep-tag keeps tagged snapshots whatever their age"
use_copy tag
expect_status 0 cairn forget -r "$R" --member m --keep-tag keep --keep-last 1
assert_eq "2025-03-15T060000Z
2025-07-01T060000Z
2026-12-31T183000Z" "$(names m)" "snapshots of m kept by --keep-tag keep --keep-last 1"
assert_matches "$OUT" "keep +m/2025-03-15T060000Z +[0-9a-f]{8} +tag$"

info "an unknown member is an error that lists the members"
expect_status 1 cairn forget -r "$R" --member nosuch --keep-last 1
assert_contains "$ERR" "no member 'nosuch'"
assert_contains "$ERR" "other"
