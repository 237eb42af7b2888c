# lib-load.sh - the common part of the load tests integration/mount-load.sh
# and integration/mount-load-datasets.sh, sourced after integration/lib.sh.
# Both serve $T/repo on $T/mnt, with a member "old" of two snapshots and a
# directory $T/other to back up.

# load_churn N READER: runs READER 1 .. READER N at once (each one's output
# in $T/reader.K.log), beside a backup of $T/other as member "other" and a
# forget --prune of member "old" keeping one snapshot, on the same
# repository. Fails when any of them fails or the daemon serving $T/mnt
# died. Sets LOAD_US: how long the readers took, in microseconds.
load_churn() {
	local n=$1 reader=$2 k p bpid fpid failed=0 start
	local -a pids=()
	info "$n readers, a backup and a forget --prune at once"
	start=$(now)
	for k in $(seq 1 "$n"); do
		"$reader" "$k" >"$T/reader.$k.log" 2>&1 &
		pids+=($!)
	done
	cairn backup -r "$T/repo" --member other "$T/other" >"$T/backup.log" 2>&1 &
	bpid=$!
	cairn forget -r "$T/repo" --member old --keep-last 1 --prune >"$T/forget.log" 2>&1 &
	fpid=$!
	for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
	LOAD_US=$(($(now) - start))
	wait "$bpid" || fail "the backup failed: $(cat "$T/backup.log")"
	wait "$fpid" || fail "forget --prune failed: $(cat "$T/forget.log")"
	[ "$failed" -eq 0 ] ||
		fail "$failed readers saw an error or a wrong byte: $(cat "$T"/reader.*.log | head -n 20)"
	daemon_alive "$T/mnt" || fail "the daemon died"
}

# load_verdict BYTES PID IDLE_KIB CACHE_MIB SLACK_MIB: prints the readers'
# throughput (BYTES in LOAD_US) and the daemon's peak, which must stay
# below its idle size + the cache + SLACK_MIB; the concurrent backup and
# forget must show in the snapshot list.
load_verdict() {
	local bytes=$1 pid=$2 idle=$3 cache=$4 slack=$5 hwm
	info "readers: $((bytes / 1048576)) MiB in $((LOAD_US / 1000)) ms, $((bytes * 1000000 / LOAD_US / 1048576)) MiB/s"
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
	info "cairnfs VmHWM $((hwm / 1024)) MiB (idle $((idle / 1024)) MiB, cache $cache MiB)"
	[ "$hwm" -lt $((idle + (cache + slack) * 1024)) ] ||
		fail "cairnfs peaked at $((hwm / 1024)) MiB: more than idle + cache + $slack MiB"
	expect_status 0 cairn snapshots -r "$T/repo"
	assert_matches "$OUT" "other" "the concurrent backup is listed"
	assert_eq 1 "$(printf '%s\n' "$OUT" | grep -c '^old ')" "forget kept one snapshot of old"
}
