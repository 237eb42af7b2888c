#!/usr/bin/env bash
# /snapshots lists members; each member lists its snapshots by start time
# (YYYY-MM-DDTHHMMSSZ) and a 'latest' symlink to the newest; two backups of
# one member in the same second get a -1 suffix.
. "$(dirname "$0")/lib.sh"

cairn init -r "$T/repo" --no-encryption
# backup MEMBER TIME: backs up a small tree that says which backup it is.
backup() {
	rm -rf "$T/src"
	mkdir -p "$T/src/data"
	echo "$1 $2" >"$T/src/data/which"
	cairn backup -r "$T/repo" --member "$1" --time "$2" "$T/src"
}
# Out of order on purpose: the newest is not the last written.
backup alpha 2026-11-23T010203Z
backup alpha 2026-11-22T205328Z
backup beta 2025-01-02T030405Z
backup beta 2026-11-22T205328Z
backup gamma.db_1-x 2026-11-22T205328Z
backup gamma.db_1-x 2026-11-22T205328Z

mount_repo "$T/repo" "$T/mnt"
assert_eq "snapshots" "$(ls -A "$T/mnt")" "the mount's root"
assert_eq "alpha
beta
gamma.db_1-x" "$(ls -A "$T/mnt/snapshots")" "ls /snapshots"
assert_eq "2026-11-22T205328Z
2026-11-23T010203Z
latest" "$(ls -A "$T/mnt/snapshots/alpha")" "ls /snapshots/alpha"
assert_eq "2025-01-02T030405Z
2026-11-22T205328Z
latest" "$(ls -A "$T/mnt/snapshots/beta")" "ls /snapshots/beta"
assert_eq "2026-11-22T205328Z
2026-11-22T205328Z-1
latest" "$(ls -A "$T/mnt/snapshots/gamma.db_1-x")" "same-second backups get a -1 suffix"

[ -L "$T/mnt/snapshots/alpha/latest" ] || fail "alpha/latest is not a symlink"
assert_eq 2026-11-23T010203Z "$(readlink "$T/mnt/snapshots/alpha/latest")" "alpha/latest"
assert_eq 2026-11-22T205328Z "$(readlink "$T/mnt/snapshots/beta/latest")" "beta/latest"
case "$(readlink "$T/mnt/snapshots/gamma.db_1-x/latest")" in
2026-11-22T205328Z | 2026-11-22T205328Z-1) ;;
*) fail "gamma.db_1-x/latest -> $(readlink "$T/mnt/snapshots/gamma.db_1-x/latest")" ;;
esac

info "each directory holds its own backup"
for s in alpha/2026-11-23T010203Z alpha/2026-11-22T205328Z beta/2025-01-02T030405Z \
	beta/2026-11-22T205328Z; do
	assert_eq "${s%/*} ${s#*/}" "$(cat "$T/mnt/snapshots/$s/data/which")" "contents of $s"
done
assert_eq "alpha 2026-11-23T010203Z" "$(cat "$T/mnt/snapshots/alpha/latest/data/which")" \
	"reading through alpha/latest"
assert_eq "gamma.db_1-x 2026-11-22T205328Z" \
	"$(cat "$T/mnt/snapshots/gamma.db_1-x/2026-11-22T205328Z-1/data/which")" "the -1 snapshot"

info "snapshot directories carry the backed-up root's attributes, and names stay stable"
[ -d "$T/mnt/snapshots/alpha/2026-11-23T010203Z/data" ] || fail "no data directory in the snapshot"
first=$(stat -c %i "$T/mnt/snapshots/alpha/2026-11-22T205328Z")
[ -e "$T/mnt/snapshots/alpha/2026-11-22T205328" ] && fail "a prefix of a snapshot name resolves"
[ -e "$T/mnt/snapshots/nobody" ] && fail "a member that does not exist resolves"
assert_eq "$first" "$(stat -c %i "$T/mnt/snapshots/alpha/2026-11-22T205328Z")" "inode of a snapshot dir"
unmount_repo "$T/mnt"
