#!/usr/bin/env bash
# A snapshot written after mounting shows up within the refresh interval,
# without a remount, and 'latest' moves to it.
. "$(dirname "$0")/lib.sh"

cairn init -r "$T/repo" --no-encryption
mkdir -p "$T/src"
echo one >"$T/src/f"
cairn backup -r "$T/repo" --member m --time 2026-11-22T205328Z "$T/src"
mount_repo "$T/repo" "$T/mnt" refresh=1
assert_eq "2026-11-22T205328Z" "$(snapshot_dirs "$T/mnt" m)" "snapshots before the second backup"

echo two >"$T/src/f"
cairn backup -r "$T/repo" --member m --time 2026-11-23T000000Z "$T/src"
cairn backup -r "$T/repo" --member newcomer --time 2026-11-23T000000Z "$T/src"
until=$(deadline_in 15)
while [ "$(readlink "$T/mnt/snapshots/m/latest")" != 2026-11-23T000000Z ] ||
	[ ! -d "$T/mnt/snapshots/newcomer/2026-11-23T000000Z" ]; do
	[ "$(now)" -lt "$until" ] || fail "new snapshots not visible 15 s after backup with refresh=1:
$(ls -lR "$T/mnt/snapshots" 2>&1 | head -n 20)"
	sleep 0.2
done
assert_eq "2026-11-22T205328Z
2026-11-23T000000Z" "$(snapshot_dirs "$T/mnt" m)" "snapshots after the second backup"
assert_eq two "$(cat "$T/mnt/snapshots/m/latest/f")" "the new snapshot's file"
assert_eq one "$(cat "$T/mnt/snapshots/m/2026-11-22T205328Z/f")" "the old snapshot's file"
unmount_repo "$T/mnt"
