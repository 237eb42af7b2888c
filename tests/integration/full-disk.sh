#!/usr/bin/env bash
# A full disk is an error that says so, and harms nothing: a backup into a
# repository on a small tmpfs that cannot hold it fails naming the lack of
# space, the repository then checks clean, and a backup that fits succeeds;
# a restore onto a small tmpfs fails naming the lack of space too.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/disk" "$T/target" "$T/src/big" "$T/src/small"
random_bytes 24M big >"$T/src/big/file"
random_bytes 1M small >"$T/src/small/file"
mount -t tmpfs -o size=12m tmpfs "$T/disk" || fail "cannot mount a tmpfs"
mount -t tmpfs -o size=4m tmpfs "$T/target" || fail "cannot mount a tmpfs"
trap 'umount "$T/disk" "$T/target" 2>/dev/null || true; cleanup' EXIT

cairn init -r "$T/disk/repo" --no-encryption
info "a backup larger than the disk"
expect_status 1 cairn backup -r "$T/disk/repo" --member m "$T/src/big"
assert_matches "$ERR" "[Nn]o space left on device" "the error names the lack of space"
info "said: $(printf '%s' "$ERR" | grep -i 'space' | head -n 2)"
info "the repository is still valid, and a backup that fits succeeds"
expect_status 0 cairn check -r "$T/disk/repo"
expect_status 0 cairn snapshots -r "$T/disk/repo"
assert_eq 1 "$(printf '%s\n' "$OUT" | wc -l)" "no snapshot of the failed backup"
expect_status 0 cairn backup -r "$T/disk/repo" --member m "$T/src/small"
expect_status 0 cairn check -r "$T/disk/repo" --read-data

info "a restore larger than the target"
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member big --time 2026-11-22T205328Z "$T/src/big"
expect_status 1 cairn restore -r "$T/repo" big/latest --target "$T/target/out"
assert_matches "$ERR" "[Nn]o space left on device" "the restore's error names the lack of space"
