#!/usr/bin/env bash
# --before and --after: --before runs before anything is read and a failing
# one means no snapshot; --after always runs once --before has started
# (after a failed --before, after a failed backup, after SIGTERM in the
# middle of a backup) with CAIRN_MEMBER, CAIRN_BACKUP_STATUS and
# CAIRN_SNAPSHOT_ID; the exit status reflects the backup and both hooks.
. "$(dirname "$0")/lib.sh"

BPID=""
stop_backup() {
	touch "$T/release"
	[ -z "$BPID" ] || { kill -9 "$BPID" 2>/dev/null; wait "$BPID" 2>/dev/null; }
	return 0
}
trap 'st=$?; stop_backup; (exit $st); cleanup' EXIT

repo="$T/repo"
mkdir -p "$T/src"
echo hello >"$T/src/file"
cairn init -r "$repo" --no-encryption
after='echo "$CAIRN_MEMBER $CAIRN_BACKUP_STATUS id=$CAIRN_SNAPSHOT_ID" >>"$HOOK_LOG"'
export HOOK_LOG="$T/hook.log"
n_snapshots() { cairn snapshots -r "$repo" --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

info "success: --before runs first, --after sees success and the snapshot id"
expect_status 0 cairn backup -r "$repo" --member m --json \
	--before "echo before >>\"\$HOOK_LOG\"; echo stopped >\"$T/src/marker\"" --after "$after" "$T/src"
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["snapshot_id"])' "$OUT")
assert_eq "before
m success id=$id" "$(cat "$HOOK_LOG")" "hook log after a good backup"
cairn restore -r "$repo" m/latest --target "$T/out" 2>/dev/null
assert_eq stopped "$(cat "$T/out/marker")" "what --before wrote was backed up"

info "a failing --before: nothing backed up, --after still runs, exit 1"
: >"$HOOK_LOG"
before_count=$(n_snapshots)
expect_status 1 cairn backup -r "$repo" --member m --before 'exit 7' --after "$after" "$T/src"
assert_contains "$ERR" "exit status 7"
assert_eq "m failure id=" "$(cat "$HOOK_LOG")" "hook log after a failed --before"
assert_eq "$before_count" "$(n_snapshots)" "snapshots after a failed --before"

info "a failing backup: --after sees failure"
: >"$HOOK_LOG"
expect_status 1 cairn backup -r "$repo" --member m --after "$after" "$T/no-such-dir"
assert_eq "m failure id=" "$(cat "$HOOK_LOG")" "hook log after a failed backup"

info "a failing --after makes a good backup exit 1"
expect_status 1 cairn backup -r "$repo" --member m --after 'exit 3' "$T/src"
assert_contains "$ERR" "--after command failed (exit status 3)"

info "SIGTERM in the middle of a backup: no snapshot, --after runs, exit 1"
cc -shared -fPIC -o "$T/open-gate.so" "$SRC/tests/integration/open-gate.c" -ldl
random_bytes 2M a >"$T/src/aaa"
random_bytes 8M gate >"$T/src/gate-file"
random_bytes 2M z >"$T/src/zzz"
: >"$HOOK_LOG"
before_count=$(n_snapshots)
asan=${ASAN_OPTIONS:-}
[ -z "$asan" ] || asan="$asan:verify_asan_link_order=0"
GATE_REACHED="$T/reached" GATE_RELEASE="$T/release" LD_PRELOAD="$T/open-gate.so" \
	ASAN_OPTIONS="$asan" "$BUILD/cairn" backup -r "$repo" --member m --force-read \
	--before 'true' --after "$after" "$T/src" >"$T/backup.out" 2>"$T/backup.err" </dev/null &
BPID=$!
until_t=$(deadline_in 60)
while [ ! -e "$T/reached" ]; do
	kill -0 "$BPID" 2>/dev/null || fail "the backup exited before the gate: $(cat "$T/backup.err")"
	[ "$(now)" -lt "$until_t" ] || fail "the backup did not reach the gate within 60 s"
	sleep 0.05
done
kill -TERM "$BPID"
touch "$T/release"
st=0
wait "$BPID" || st=$?
BPID=""
assert_eq 1 "$st" "exit status after SIGTERM"
assert_contains "$(cat "$T/backup.err")" "interrupted"
assert_eq "m failure id=" "$(cat "$HOOK_LOG")" "hook log after SIGTERM"
assert_eq "$before_count" "$(n_snapshots)" "snapshots after SIGTERM"
expect_status 0 cairn check -r "$repo"
