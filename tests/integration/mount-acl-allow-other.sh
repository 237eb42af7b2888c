#!/usr/bin/env bash
# With allow_other, a second user (uid 65534) sees what the backed-up ACLs
# let it see, not merely the mode bits: a 0644 file whose ACL names that user
# with no rights is refused, as is a 0624 file whose ACL grants the user's
# group read but masks it away; a plain 0644 file and a file whose ACL grants
# the user read stay readable. Files of a snapshot without any ACL stay
# readable to others (the kernel's ACL check must not trip over the answer
# for "no ACL here").
. "$(dirname "$0")/lib.sh"

id -u 65534 >/dev/null 2>&1 || fail "this test needs a user with uid 65534 (nobody)"
as_nobody() {
	setpriv --reuid 65534 --regid 65534 --clear-groups "$@"
}
# entry TAG PERM ID: one ACL entry in the kernel's xattr layout (all LE).
entry() {
	printf '%02x00%02x00%s' "$1" "$2" "$3"
}
ANY=ffffffff
NOBODY=feff0000 # 65534
acl() {
	local a=0x02000000 e
	for e in "$@"; do a=$a$e; done
	echo "$a"
}

chmod 755 "$T" # the second user must reach the mount point
mkdir -p "$T/src" "$T/plain"
for f in denied masked granted open; do echo "secret $f" >"$T/src/$f"; done
chmod 644 "$T/src/denied" "$T/src/open" "$T/src/granted"
chmod 624 "$T/src/masked"
# user::rw- user:65534:--- group::r-- mask::r-- other::r--
setfattr -n system.posix_acl_access -v "$(acl "$(entry 1 6 $ANY)" "$(entry 2 0 $NOBODY)" \
	"$(entry 4 4 $ANY)" "$(entry 16 4 $ANY)" "$(entry 32 4 $ANY)")" "$T/src/denied"
# user::rw- group::--- group:65534:r-- mask::-w- other::r-- (an all-zero
# mask would leave the group bits 0, and Linux then checks mode bits alone)
setfattr -n system.posix_acl_access -v "$(acl "$(entry 1 6 $ANY)" "$(entry 4 0 $ANY)" \
	"$(entry 8 4 $NOBODY)" "$(entry 16 2 $ANY)" "$(entry 32 4 $ANY)")" "$T/src/masked"
# user::rw- user:65534:r-- group::--- mask::r-- other::---
setfattr -n system.posix_acl_access -v "$(acl "$(entry 1 6 $ANY)" "$(entry 2 4 $NOBODY)" \
	"$(entry 4 0 $ANY)" "$(entry 16 4 $ANY)" "$(entry 32 0 $ANY)")" "$T/src/granted"
chmod 755 "$T/src"
echo "readable" >"$T/plain/file"
chmod 644 "$T/plain/file"
# The source file system enforces the same: the test's expectations are right.
expect_status 1 as_nobody cat "$T/src/denied"
expect_status 1 as_nobody cat "$T/src/masked"
expect_status 0 as_nobody cat "$T/src/granted"

cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member acl --time 2026-11-22T205328Z "$T/src"
cairn backup -r "$T/repo" --member plain --time 2026-11-22T205328Z "$T/plain"
mount_repo "$T/repo" "$T/mnt" allow_other
snap="$T/mnt/snapshots/acl/2026-11-22T205328Z"

info "a snapshot without ACLs: others read by mode"
expect_status 0 as_nobody cat "$T/mnt/snapshots/plain/2026-11-22T205328Z/file"
assert_eq "readable" "$OUT" "a 0644 file without an ACL"

info "ACLs are enforced for another user"
expect_status 0 as_nobody cat "$snap/open"
expect_status 1 as_nobody cat "$snap/denied"
assert_matches "$ERR" "Permission denied" "user:65534:--- on a 0644 file"
expect_status 1 as_nobody cat "$snap/masked"
assert_matches "$ERR" "Permission denied" "a group entry masked away on a 0624 file"
expect_status 0 as_nobody cat "$snap/granted"
assert_eq "secret granted" "$OUT" "user:65534:r-- on a file others may not read"
info "the owner still reads everything"
cat "$snap/denied" "$snap/masked" >/dev/null || fail "root cannot read its files"
daemon_alive "$T/mnt" || fail "the daemon died"
unmount_repo "$T/mnt"
