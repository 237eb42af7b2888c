#!/usr/bin/env bash
# cairnfs leaves cleanly: on fusermount3 -u, SIGTERM and SIGINT it unmounts
# and exits 0, also right after serving reads; 'cairn mount' mounts the same
# way in the background.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src/d"
random_bytes 8M data >"$T/src/d/data"
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m --time 2026-11-22T205328Z "$T/src"

for how in fusermount TERM INT; do
	info "stop by $how"
	mount_repo "$T/repo" "$T/mnt"
	cmp "$T/src/d/data" "$T/mnt/snapshots/m/latest/d/data" || fail "data differs"
	case $how in
	fusermount) unmount_repo "$T/mnt" ;;
	*) stop_repo "$how" "$T/mnt" ;;
	esac
	[ -z "$(ls -A "$T/mnt")" ] || fail "the mount point is not empty after stopping by $how"
done

info "stop by SIGTERM while a reader holds a file open"
mount_repo "$T/repo" "$T/mnt"
exec 7<"$T/mnt/snapshots/m/latest/d/data"
head -c 1000 <&7 >/dev/null
stop_repo TERM "$T/mnt"
exec 7<&-

info "cairn mount"
mkdir -p "$T/mnt2"
mnt2=$(realpath "$T/mnt2")
expect_status 0 timeout 30 "$BUILD/cairn" mount -r "$T/repo" "$mnt2"
until=$(deadline_in "$MOUNT_DEADLINE")
while ! is_mounted "$mnt2"; do
	[ "$(now)" -lt "$until" ] || fail "cairn mount returned but $mnt2 is not mounted"
	sleep 0.05
done
cmp "$T/src/d/data" "$mnt2/snapshots/m/2026-11-22T205328Z/d/data" || fail "data differs under cairn mount"
fusermount3 -u "$mnt2" || fail "fusermount3 -u of the cairn mount failed"
! is_mounted "$mnt2" || fail "$mnt2 still mounted"
