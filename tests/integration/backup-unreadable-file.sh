#!/usr/bin/env bash
# A file or directory the backup cannot read is reported by path on stderr,
# the backup exits 3, and the rest of the snapshot is written and readable.
. "$(dirname "$0")/lib.sh"

# The backup runs as nobody, so mode 000 keeps it out.
chmod 0755 "$T"
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/nonexistent CAIRN_CACHE_DIR="$T/nobody-cache" "$@"
}
mkdir -p "$T/src/sub" "$T/src/closed-dir" "$T/repo-parent" "$T/nobody-cache"
echo readable >"$T/src/readable.txt"
echo also >"$T/src/sub/also.txt"
echo secret >"$T/src/secret.txt"
echo hidden >"$T/src/closed-dir/hidden.txt"
random_bytes 1M big >"$T/src/sub/big.bin"
chown -R 65534:65534 "$T/src" "$T/repo-parent" "$T/nobody-cache"
chmod 0000 "$T/src/secret.txt" "$T/src/closed-dir"
# nobody has a cache of its own: root refuses a cache directory that
# another user may change (cairn(1), FILES).

as_nobody "$BUILD/cairn" init -r "$T/repo-parent/repo" --no-encryption
expect_status 3 as_nobody "$BUILD/cairn" backup -r "$T/repo-parent/repo" --member m \
	--time 2026-11-22T205328Z "$T/src"
assert_contains "$ERR" "secret.txt" "stderr names the unreadable file"
assert_contains "$ERR" "closed-dir" "stderr names the unreadable directory"
assert_matches "$ERR" "permission denied" "stderr says why"
assert_eq "" "$OUT" "stdout of a backup"
if grep -q readable.txt <<<"$ERR"; then
	fail "stderr names a file that was read: $ERR"
fi

info "the snapshot exists and holds everything else"
run_cmd cairn snapshots -r "$T/repo-parent/repo"
assert_contains "$OUT" "2026-11-22T205328Z" "cairn snapshots lists the partial backup"
mount_repo "$T/repo-parent/repo" "$T/mnt"
s="$T/mnt/snapshots/m/2026-11-22T205328Z"
assert_eq readable "$(cat "$s/readable.txt")" "readable.txt"
assert_eq also "$(cat "$s/sub/also.txt")" "sub/also.txt"
cmp "$T/src/sub/big.bin" "$s/sub/big.bin" || fail "sub/big.bin differs"
[ ! -e "$s/secret.txt" ] || fail "the unreadable file is in the snapshot: $(ls -l "$s/secret.txt")"
[ ! -e "$s/closed-dir/hidden.txt" ] || fail "a file inside the unreadable directory is in the snapshot"
unmount_repo "$T/mnt"

info "a readable tree backs up with exit 0"
chmod 0644 "$T/src/secret.txt"
chmod 0755 "$T/src/closed-dir"
expect_status 0 as_nobody "$BUILD/cairn" backup -r "$T/repo-parent/repo" --member m \
	--time 2026-11-22T205329Z "$T/src"
