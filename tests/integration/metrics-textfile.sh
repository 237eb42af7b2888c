#!/usr/bin/env bash
# --metrics-file on backup, check, prune, restore and rehearse: one file,
# merged across members and commands, that `promtool check metrics` accepts;
# a failed run (also one whose repository cannot be opened) keeps the last
# success time and sets last_success to 0;
# backups of two members writing the file at the same time both land in
# it; nothing but the file (and its lock) is left beside it.
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null ||
	fail "promtool is missing (hint: apt-get install prometheus, or run tests/install-deps.sh)"

R="$T/repo"
M="$T/textfile/cairn.prom"
mkdir -p "$T/textfile" "$T/a" "$T/b"
random_bytes 1M a >"$T/a/data"
random_bytes 1M b >"$T/b/data"

# value METRIC COMMAND MEMBER: the sample's value, or nothing.
value() {
	sed -n "s/^$1{repo=\"[^\"]*\",command=\"$2\",member=\"$3\"} //p" "$M"
}
promcheck() {
	local out
	out=$(promtool check metrics <"$M" 2>&1) || fail "promtool check metrics: $out"
	[ -z "$out" ] || fail "promtool check metrics warns: $out"
}

cairn init -r "$R" --no-encryption
info "backups of two members, each a series"
cairn backup -r "$R" --member alpha --metrics-file "$M" "$T/a"
cairn backup -r "$R" --member beta --metrics-file "$M" "$T/b"
promcheck
assert_eq 1 "$(value cairn_last_success backup alpha)"
assert_eq 1 "$(value cairn_last_success backup beta)"
assert_eq 1048576 "$(value cairn_last_read_bytes backup alpha)" "bytes read"
assert_eq 1 "$(value cairn_last_files backup alpha)"
[ "$(value cairn_last_stored_bytes backup alpha)" -gt 1000000 ] || fail "bytes stored: $(cat "$M")"
[ "$(value cairn_last_added_bytes backup beta)" -eq 1048576 ] || fail "bytes added: $(cat "$M")"
now=$(date +%s)
ts=$(value cairn_last_success_timestamp_seconds backup alpha)
[ "${ts%.*}" -le "$now" ] && [ "${ts%.*}" -gt $((now - 600)) ] || fail "success time $ts, now $now"

info "an unchanged backup adds nothing"
cairn backup -r "$R" --member alpha --metrics-file "$M" "$T/a"
assert_eq 0 "$(value cairn_last_added_bytes backup alpha)"

info "check, prune, restore and rehearse join them"
cairn check -r "$R" --read-data --metrics-file "$M"
cairn prune -r "$R" --metrics-file "$M"
cairn restore -r "$R" alpha/latest --target "$T/restored" --metrics-file "$M"
cairn rehearse -r "$R" beta/latest --metrics-file "$M"
promcheck
assert_eq 1 "$(value cairn_last_success check "")"
[ "$(value cairn_last_read_bytes check "")" -gt 0 ] || fail "check read nothing: $(cat "$M")"
assert_eq 1 "$(value cairn_last_success prune "")"
assert_eq 1 "$(value cairn_last_success restore alpha)"
assert_eq 1 "$(value cairn_last_files restore alpha)"
assert_eq 1 "$(value cairn_last_success rehearse beta)"
assert_eq 1048576 "$(value cairn_last_read_bytes rehearse beta)"
assert_eq 1 "$(value cairn_last_success backup beta)" "beta's backup series survived the others"

info "a failed backup keeps its last success time"
before=$(value cairn_last_success_timestamp_seconds backup alpha)
expect_status 1 cairn backup -r "$R" --member alpha --metrics-file "$M" "$T/no-such-dir"
promcheck
assert_eq 0 "$(value cairn_last_success backup alpha)"
assert_eq "$before" "$(value cairn_last_success_timestamp_seconds backup alpha)"
attempt=$(value cairn_last_attempt_timestamp_seconds backup alpha)
[ "${attempt%.*}" -ge "${before%.*}" ] || fail "attempt $attempt before success $before"
[ "$(value cairn_last_errors backup alpha)" -ge 1 ] || fail "no error counted"

info "a repository that cannot be opened is a failed run of that member"
expect_status 1 cairn backup -r "$T/no-such-repo" --member delta --metrics-file "$M" "$T/a"
assert_eq 0 "$(value cairn_last_success backup delta)"
promcheck

info "a restore of a snapshot that does not exist is a failure of that member"
expect_status 1 cairn restore -r "$R" gamma/latest --target "$T/x" --metrics-file "$M"
assert_eq 0 "$(value cairn_last_success restore gamma)"
[ -z "$(value cairn_last_success_timestamp_seconds restore gamma)" ] ||
	fail "a member that never succeeded has a success time"

info "two backups writing the file at once both land in it"
for i in 1 2 3 4; do
	mkdir -p "$T/c$i" && echo "$i" >"$T/c$i/f"
done
pids=()
for i in 1 2 3 4; do
	cairn backup -r "$R" --member "c$i" --metrics-file "$M" "$T/c$i" 2>/dev/null &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent backup failed"; done
for i in 1 2 3 4; do
	assert_eq 1 "$(value cairn_last_success backup "c$i")" "member c$i lost in a concurrent write"
done
promcheck
assert_eq "cairn.prom cairn.prom.lock" "$(ls "$T/textfile" | tr '\n' ' ' | sed 's/ $//')" \
	"stray files beside the metrics file"

info "a damaged metrics file is rewritten from what can be read, not trusted"
printf 'garbage\ncairn_last_success{repo="x",command="backup",member="q\\z"} 1\n' >>"$M"
cairn check -r "$R" --metrics-file "$M"
promcheck
! grep -q garbage "$M" || fail "a line that is not cairn's survived"
