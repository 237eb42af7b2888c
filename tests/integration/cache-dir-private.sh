#!/usr/bin/env bash
# The catalog cache and the disk cache are places only their user can
# change: without HOME (and the other variables) there is no /tmp fallback
# but an error naming CAIRN_CACHE_DIR; a cache directory, or a directory
# above it, that another user owns or that is a symlink is refused, as is
# one below a directory others may write; what cairn creates is 0700,
# catalog.db 0600 (an old 0644 one is narrowed, and so is a directory of
# the user's that others could write); a disk cache in such a place is not
# used.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src"
echo data >"$T/src/file"
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m --time 2026-11-22T205328Z "$T/src"

info "no HOME, no XDG_CACHE_HOME, no CAIRN_CACHE_DIR: an error, no /tmp fallback"
rm -rf /tmp/.cache/cairn.i13-probe
expect_status 1 env -u HOME -u XDG_CACHE_HOME -u CAIRN_CACHE_DIR "$BUILD/cairn" snapshots -r "$T/repo"
assert_matches "$ERR" "no cache directory" "the missing cache directory is named"
assert_matches "$ERR" "hint: set CAIRN_CACHE_DIR" "the fix is named"

info "a cache directory another user made first"
mkdir -m 1777 "$T/shared"
mkdir "$T/shared/theirs"
chown 65534:65534 "$T/shared/theirs"
CAIRN_CACHE_DIR="$T/shared/theirs" expect_status 1 "$BUILD/cairn" snapshots -r "$T/repo"
assert_matches "$ERR" "belongs to uid 65534" "a cache directory of uid 65534"
[ -z "$(ls -A "$T/shared/theirs")" ] || fail "cairn wrote into a directory of another user"
CAIRN_CACHE_DIR="$T/shared/theirs/sub" expect_status 1 "$BUILD/cairn" snapshots -r "$T/repo"
assert_matches "$ERR" "neither root nor you" "a directory of uid 65534 above the cache"

info "a symlink, and a directory others may write"
mkdir -m 700 "$T/real"
ln -s "$T/real" "$T/shared/link"
chown -h 65534:65534 "$T/shared/link" # another user's link; root's would be trusted
CAIRN_CACHE_DIR="$T/shared/link" expect_status 1 "$BUILD/cairn" snapshots -r "$T/repo"
assert_matches "$ERR" "is a symbolic link" "a symlinked cache directory"
mkdir -m 777 "$T/open"
chmod 777 "$T/open"
mkdir -p "$T/open/below"
CAIRN_CACHE_DIR="$T/open/below" expect_status 1 "$BUILD/cairn" snapshots -r "$T/repo"
assert_matches "$ERR" "may be changed by other users" "below a world-writable directory"
info "a cache directory of ours that others could write is narrowed (an emptyDir is 0777)"
CAIRN_CACHE_DIR="$T/open" expect_status 0 "$BUILD/cairn" snapshots -r "$T/repo"
assert_matches "$ERR" "was writable by other users" "the narrowing is said"
assert_eq 700 "$(stat -c %a "$T/open")" "mode of the narrowed cache directory"

info "what cairn creates is private, and an old catalog is narrowed"
export CAIRN_CACHE_DIR="$T/mine/cache"
(umask 022 && expect_status 0 "$BUILD/cairn" snapshots -r "$T/repo")
db=$(find "$T/mine" -name catalog.db)
[ -n "$db" ] || fail "no catalog.db under $T/mine"
assert_eq 600 "$(stat -c %a "$db")" "mode of catalog.db"
for d in "$T/mine" "$T/mine/cache" "$(dirname "$db")"; do
	assert_eq 700 "$(stat -c %a "$d")" "mode of $d"
done
chmod 644 "$db"
chmod 755 "$(dirname "$db")"
expect_status 0 "$BUILD/cairn" ls -r "$T/repo" m/latest
assert_eq 600 "$(stat -c %a "$db")" "an old 0644 catalog.db is narrowed"
assert_eq 700 "$(stat -c %a "$(dirname "$db")")" "an old 0755 cache directory is narrowed"
chmod 777 "$(dirname "$db")"
expect_status 0 "$BUILD/cairn" ls -r "$T/repo" m/latest
assert_eq 700 "$(stat -c %a "$(dirname "$db")")" "a world-writable directory of the repository is narrowed"
rm -f "$db"
ln -s "$T/real/elsewhere.db" "$db"
expect_status 1 "$BUILD/cairn" ls -r "$T/repo" m/latest
assert_matches "$ERR" "symbolic link" "catalog.db as a symlink"
[ ! -e "$T/real/elsewhere.db" ] || fail "the catalog was created through a symlink"
rm -f "$db"

info "a disk cache in a place others control is not used"
mount_repo "$T/repo" "$T/mnt" "disk_cache=$T/shared/link"
cmp "$T/src/file" "$T/mnt/snapshots/m/2026-11-22T205328Z/file" || fail "the file differs"
unmount_repo "$T/mnt"
assert_matches "$(cat "${MOUNT_LOG[$(realpath "$T/mnt")]}")" "disk cache.*symbolic link" \
	"the daemon says why the disk cache is off"
[ -z "$(ls -A "$T/real")" ] || fail "the disk cache wrote through a symlink"
mount_repo "$T/repo" "$T/mnt" "disk_cache=$T/mine/dc"
cmp "$T/src/file" "$T/mnt/snapshots/m/2026-11-22T205328Z/file" || fail "the file differs"
unmount_repo "$T/mnt"
assert_eq 700 "$(stat -c %a "$T/mine/dc")" "mode of the disk cache"
for s in "$T"/mine/dc/*/; do
	assert_eq 700 "$(stat -c %a "$s")" "mode of shard $s"
done
