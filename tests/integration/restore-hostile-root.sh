#!/usr/bin/env bash
# Restoring as root recreates what a snapshot says, by default: a setuid
# root file with a file capability, a world-writable block device. With
# --no-same-owner, --no-setuid, --no-devices and --xattrs=user, a snapshot
# from a repository others can write gives none of that: files belong to the
# restoring user, set-id bits are cleared (directories keep setgid), device
# nodes are left out (and counted), and only user.* xattrs are set.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || fail "this test restores as root"
mkdir -p "$T/src/dir"
echo '#!/bin/sh' >"$T/src/suid"
chown 0:0 "$T/src/suid"
chmod 4755 "$T/src/suid"
# cap_net_raw+ep (VFS_CAP_REVISION_2)
setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 "$T/src/suid"
setfattr -n user.note -v kept "$T/src/suid"
mknod -m 666 "$T/src/sda" b 8 0
echo plain >"$T/src/dir/file"
chown 1234:1234 "$T/src/dir/file"
chmod 2755 "$T/src/dir"
chmod 2755 "$T/src/dir/file"

cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m --time 2026-11-22T205328Z "$T/src"

info "by default, as root: faithful"
expect_status 0 cairn restore -r "$T/repo" m/latest --target "$T/faithful"
assert_eq 4755 "$(stat -c %a "$T/faithful/suid")" "the setuid bit by default"
assert_matches "$(getfattr -h -n security.capability "$T/faithful/suid" 2>&1)" \
	"security.capability" "the file capability by default"
assert_eq "block special file" "$(stat -c %F "$T/faithful/sda")" "the device by default"
assert_eq 1234 "$(stat -c %u "$T/faithful/dir/file")" "the owner by default"

info "with every safety option"
expect_status 0 cairn restore -r "$T/repo" m/latest --target "$T/safe" \
	--no-same-owner --no-setuid --no-devices --xattrs=user
assert_matches "$ERR" "3 set-id bits cleared or device nodes left out" "what was left out is said"
assert_eq 755 "$(stat -c %a "$T/safe/suid")" "setuid cleared"
assert_eq 755 "$(stat -c %a "$T/safe/dir/file")" "setgid of a file cleared"
assert_eq 2755 "$(stat -c %a "$T/safe/dir")" "a directory keeps setgid"
expect_status 1 getfattr -h -n security.capability "$T/safe/suid"
assert_eq kept "$(getfattr -h --only-values -n user.note "$T/safe/suid")" "user.* xattrs are kept"
[ ! -e "$T/safe/sda" ] || fail "a device node was created with --no-devices"
assert_eq 0 "$(stat -c %u "$T/safe/dir/file")" "owned by the restoring user"
assert_eq "plain" "$(cat "$T/safe/dir/file")" "contents are restored"

info "a bad --xattrs is a usage error"
expect_status 2 cairn restore -r "$T/repo" m/latest --target "$T/bad" --xattrs=some
