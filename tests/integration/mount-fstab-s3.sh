#!/usr/bin/env bash
# An S3 repository through an fstab line and mount(8), with the credentials
# only in a file (credentials_file=, profile=, mode 0600): nothing in the
# environment, and no secret in the daemon's argv or in mountinfo; without
# the file the mount fails. Runs in a mount namespace of its own, as
# mount-fstab.sh does, so that mount.fuse3 finds cairnfs in /usr/local/sbin.
if [ -z "${CAIRN_MOUNT_NS:-}" ]; then
	exec env CAIRN_MOUNT_NS=1 unshare --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
# shellcheck source=../lib-s3.sh
. "$SRC/tests/lib-s3.sh"
_backend_stop() {
	s3_stop
}

mkdir -p "$T/sbin"
ln -s "$BUILD/cairnfs" "$T/sbin/cairnfs"
mount --bind "$T/sbin" /usr/local/sbin

s3_start "$T/swift"
REPO="s3://$S3_BUCKET/fstab/repo"
mkdir -p "$T/src"
random_bytes 300K data >"$T/src/data"
"$BUILD/cairn" init -r "$REPO" --no-encryption
"$BUILD/cairn" backup -r "$REPO" --member replica-0 --time 2026-11-22T205328Z "$T/src"

printf '[backup]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$T/credentials"
chmod 600 "$T/credentials"
endpoint=$AWS_ENDPOINT_URL
secret=$AWS_SECRET_ACCESS_KEY
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_PROFILE
export AWS_CONFIG_FILE=$T/no-config AWS_SHARED_CREDENTIALS_FILE=$T/no-credentials

MNT=$T/mnt
mkdir -p "$MNT"
opts="allow_other,_netdev,nofail,x-systemd.automount,s3_endpoint=$endpoint,cache_dir=$T/mount-cache,timeout=20"
printf '%s %s fuse.cairnfs %s,credentials_file=%s,profile=backup 0 0\n' \
	"$REPO" "$MNT" "$opts" "$T/credentials" >"$T/fstab"

info "the fstab line mounts, with credentials from the file only"
expect_status 0 mount -T "$T/fstab" "$MNT"
cmp "$T/src/data" "$MNT/snapshots/replica-0/latest/data" || fail "the mounted file differs"
pid=$(pgrep -f "^cairnfs $REPO" | head -n 1)
[ -n "$pid" ] || fail "no cairnfs process for $REPO"
cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
assert_contains "$cmdline" "credentials_file=$T/credentials"
! grep -qF -- "$secret" <<<"$cmdline" || fail "the secret is in cairnfs's argv"
mounts=$(cat /proc/self/mountinfo)
! grep -qF -- "$secret" <<<"$mounts" || fail "the secret is in mountinfo"
umount "$MNT" || fail "umount failed"

info "without the credentials file the mount fails, and says why"
printf '%s %s fuse.cairnfs %s 0 0\n' "$REPO" "$MNT" "$opts" >"$T/fstab"
run_cmd mount -T "$T/fstab" "$MNT"
[ "$STATUS" -ne 0 ] || fail "mounted without credentials"
! is_mounted "$(realpath "$MNT")" || fail "mounted without credentials"
assert_matches "$ERR" "credential"
