#!/usr/bin/env bash
# mount(8) and fstab: `mount -t fuse.cairnfs REPO MNT -o ...` and an fstab
# line (mount -T FILE MNT) mount through mount.fuse3, which runs `cairnfs
# REPO MNT -o OPTS`; options only fstab, mount(8) or systemd mean (_netdev,
# nofail, noauto, x-systemd.*, rw, ...) are accepted and ignored, the mount
# stays read-only, umount(8) ends it, an unknown option still fails, and
# credentials_file= is refused when others may read it.
#
# mount(8) runs its helpers without $PATH, so the shell of mount.fuse3 finds
# cairnfs only in the default path (/usr/local/sbin, /usr/local/bin, ...).
# The test runs in a mount namespace of its own, where a directory holding a
# cairnfs symlink is bind-mounted on /usr/local/sbin; the machine's own
# directories are never touched.
if [ -z "${CAIRN_MOUNT_NS:-}" ]; then
	exec env CAIRN_MOUNT_NS=1 unshare --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

command -v mount.fuse3 >/dev/null || [ -x /sbin/mount.fuse3 ] || fail "mount.fuse3 is missing (fuse3)"
mkdir -p "$T/sbin"
ln -s "$BUILD/cairnfs" "$T/sbin/cairnfs"
mount --bind "$T/sbin" /usr/local/sbin

R="$T/repo"
mkdir -p "$T/src/dir"
echo "hello" >"$T/src/dir/hello.txt"
cairn init -r "$R" --no-encryption
cairn backup -r "$R" --member m --time 2026-11-22T205328Z "$T/src"
MNT=$T/mnt
mkdir -p "$MNT"

# unmount MNT: umount(8), and the daemon is gone with the mount.
unmount() {
	umount "$1" || fail "umount $1 failed"
	! is_mounted "$(realpath "$1")" || fail "$1 still mounted after umount"
}

info "mount -t fuse.cairnfs with fstab-only options"
expect_status 0 mount -t fuse.cairnfs "$R" "$MNT" \
	-o allow_other,_netdev,nofail,noauto,users,x-systemd.automount,x-systemd.mount-timeout=30,cache_dir="$T/cache-mount",refresh=5
is_mounted "$(realpath "$MNT")" || fail "not mounted"
assert_eq "hello" "$(cat "$MNT/snapshots/m/latest/dir/hello.txt")"
line=$(grep -F " $(realpath "$MNT") " /proc/self/mountinfo)
assert_contains "$line" "allow_other" "allow_other not applied"
[ -d "$T/cache-mount" ] || fail "cache_dir= was not used for the catalog"
unmount "$MNT"

info "an fstab line, with rw asked for: still read-only"
cat >"$T/fstab" <<EOF
# a comment line
$R $MNT fuse.cairnfs rw,defaults,allow_other,_netdev,nofail,x-systemd.automount,x-systemd.idle-timeout=600,cache_dir=$T/cache-fstab 0 0
EOF
expect_status 0 mount -T "$T/fstab" "$MNT"
assert_eq "hello" "$(cat "$MNT/snapshots/m/2026-11-22T205328Z/dir/hello.txt")"
expect_status 1 touch "$MNT/snapshots/new"
assert_contains "$ERR" "Read-only file system"
line=$(grep -F " $(realpath "$MNT") " /proc/self/mountinfo)
assert_matches "$line" ' ro[, ]' "the mount is not ro"
unmount "$MNT"

info "an unknown option still fails, naming it"
expect_status 2 mount -t fuse.cairnfs "$R" "$MNT" -o no_such_option
! is_mounted "$(realpath "$MNT")" || fail "mounted with an unknown option"
assert_contains "$ERR" "no_such_option"

info "credentials_file= must not be readable by others"
printf '[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n' >"$T/creds"
chmod 644 "$T/creds"
expect_status 2 "$BUILD/cairnfs" "$R" "$MNT" -o credentials_file="$T/creds"
assert_contains "$ERR" "group or others may read it"
! grep -qF "SK" <<<"$ERR" || fail "a secret reached the error message"
chmod 600 "$T/creds"
expect_status 0 mount -t fuse.cairnfs "$R" "$MNT" -o credentials_file="$T/creds",cache_dir="$T/cache-creds"
unmount "$MNT"
