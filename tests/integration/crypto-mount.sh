#!/usr/bin/env bash
# cairnfs on an encrypted repository: the password comes from -o
# password_file= (or 'cairn mount --password-file', or $CAIRN_PASSWORD) and
# never shows in the daemon's /proc/PID/cmdline or its log; a wrong one is
# refused before anything is mounted. A pack with one changed byte fails
# authentication: the file whose chunk it damages gives EIO, exactly that
# file, every other file still reads, and 'cairn check --read-data' names
# the pack and that file.
. "$(dirname "$0")/lib.sh"

pw="mount-test password $$ $RANDOM"
printf '%s\n' "$pw" >"$T/pwfile"
chmod 600 "$T/pwfile"
unset CAIRN_PASSWORD
"$BUILD/cairn" init -r "$T/repo" --kdf-params "$TEST_KDF" --password-file "$T/pwfile"
mkdir -p "$T/src"
# Two files of one chunk each, in one pack.
random_bytes 300K one >"$T/src/one"
random_bytes 300K two >"$T/src/two"
"$BUILD/cairn" backup -r "$T/repo" --password-file "$T/pwfile" --member m \
	--time 2026-11-22T205328Z "$T/src"

info "-o password_file: the password is in neither cmdline nor log"
mount_repo "$T/repo" "$T/mnt" "password_file=$T/pwfile"
pid=$LAST_PID
snap="$T/mnt/snapshots/m/2026-11-22T205328Z"
cmp "$snap/one" "$T/src/one" || fail "one differs through the mount"
tr '\0' ' ' <"/proc/$pid/cmdline" >"$T/cmdline"
assert_contains "$(cat "$T/cmdline")" "password_file=$T/pwfile" "cmdline of cairnfs"
if grep -qF -- "$pw" "$T/cmdline"; then fail "the password is in cairnfs's cmdline"; fi
unmount_repo "$T/mnt"
log=${MOUNT_LOG[$(realpath "$T/mnt")]}
if grep -qF -- "$pw" "$log"; then fail "the password is in cairnfs's log"; fi

info "cairn mount --password-file hands cairnfs the file, not the password"
mkdir -p "$T/mnt2"
"$BUILD/cairn" mount -r "$T/repo" --password-file "$T/pwfile" "$T/mnt2"
mnt2=$(realpath "$T/mnt2")
is_mounted "$mnt2" || fail "cairn mount did not mount"
found=
for p in /proc/[0-9]*; do
	c=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
	case "$c" in *cairnfs*"$mnt2"*) found=$c ;; esac
	if grep -qF -- "$pw" "$p/cmdline" 2>/dev/null; then fail "process ${p#/proc/} has the password in its cmdline: $c"; fi
done
[ -n "$found" ] || fail "no cairnfs serves $mnt2"
cmp "$mnt2/snapshots/m/latest/two" "$T/src/two" || fail "two differs through cairn mount"
fusermount3 -u "$mnt2"

info "a wrong password mounts nothing"
printf 'not it\n' >"$T/badpw"
chmod 600 "$T/badpw"
run_cmd timeout 30 "$BUILD/cairnfs" "$T/repo" "$T/mnt" -f -o "password_file=$T/badpw"
assert_eq 1 "$STATUS" "cairnfs with a wrong password"
assert_contains "$ERR" "wrong password, or no key of this repository matches it"
is_mounted "$(realpath "$T/mnt")" && fail "mounted with a wrong password"

info "tamper with one byte of the pack: EIO for exactly the file it holds"
pack=$(cd "$T/repo" && find packs -type f)
[ "$(echo "$pack" | wc -l)" -eq 1 ] || fail "expected one pack, got: $pack"
# Byte 100 lies inside the first chunk's ciphertext (its envelope starts at 0).
python3 - "$T/repo/$pack" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(100)
    b = f.read(1)
    f.seek(100)
    f.write(bytes([b[0] ^ 0x01]))
PY
export CAIRN_CACHE_DIR="$T/cache-after"
mount_repo "$T/repo" "$T/mnt" "password_file=$T/pwfile"
bad=() good=()
for f in one two; do
	if timeout 60 cat "$snap/$f" >"$T/read.$f" 2>"$T/err.$f"; then
		cmp "$T/read.$f" "$T/src/$f" || fail "$f read wrong bytes"
		good+=("$f")
	else
		assert_contains "$(cat "$T/err.$f")" "Input/output error" "reading $f"
		bad+=("$f")
	fi
done
assert_eq 1 "${#bad[@]}" "files giving EIO (bad: ${bad[*]:-}, good: ${good[*]:-})"
daemon_alive "$T/mnt" || fail "cairnfs died after EIO"
unmount_repo "$T/mnt"

expect_status 1 "$BUILD/cairn" check -r "$T/repo" --password-file "$T/pwfile" --read-data
assert_contains "$OUT$ERR" "$pack" "check names the damaged pack"
assert_contains "$OUT$ERR" "${bad[0]}" "check names the damaged file"
if grep -q "m/2026-11-22T205328Z: .*/${good[0]}\$" <<<"$OUT$ERR"; then
	fail "check names the intact file ${good[0]}: $ERR"
fi
