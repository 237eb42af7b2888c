#!/usr/bin/env bash
# Passwords and keys: a password file that group or others may read is
# refused with the chmod that fixes it; $CAIRN_PASSWORD, --password-file and
# $CAIRN_PASSWORD_FILE all open the repository; a wrong password gets one
# clear message and exit 1; cairn key add, list, remove and passwd, never
# removing the last key, nor the one in use without --force.
. "$(dirname "$0")/lib.sh"

unset CAIRN_PASSWORD
R="$T/repo"
export CAIRN_NEW_PASSWORD=unused
printf 'first password\n' >"$T/pw1"
chmod 600 "$T/pw1"

info "a password file others may read is refused"
cp "$T/pw1" "$T/open"
chmod 644 "$T/open"
expect_status 1 cairn init -r "$R" --kdf-params "$TEST_KDF" --password-file "$T/open"
assert_contains "$ERR" "password file '$T/open' may be read by group or others (mode 0644)"
assert_contains "$ERR" "hint: chmod 600 '$T/open'"
[ ! -e "$R/config" ] || fail "init went ahead with a readable password file"
chmod 640 "$T/open"
expect_status 1 env CAIRN_PASSWORD_FILE="$T/open" "$BUILD/cairn" init -r "$R" --kdf-params "$TEST_KDF"
assert_contains "$ERR" "may be read by group or others"

info "init with a good password file; every source opens it"
expect_status 0 cairn init -r "$R" --kdf-params "$TEST_KDF" --password-file "$T/pw1"
mkdir -p "$T/src"
echo data >"$T/src/f"
cairn backup -r "$R" --password-file "$T/pw1" --member m "$T/src"
expect_status 0 env CAIRN_PASSWORD="first password" "$BUILD/cairn" snapshots -r "$R"
expect_status 0 env CAIRN_PASSWORD_FILE="$T/pw1" "$BUILD/cairn" snapshots -r "$R"

info "a wrong password: one message, exit 1"
expect_status 1 env CAIRN_PASSWORD="second password" "$BUILD/cairn" snapshots -r "$R"
assert_eq "cairn: wrong password, or no key of this repository matches it" "$ERR"
expect_status 1 env CAIRN_PASSWORD="x" "$BUILD/cairn" check -r "$R"
assert_contains "$ERR" "wrong password, or no key of this repository matches it"

export CAIRN_PASSWORD="first password"
info "key list: one key, in use"
expect_status 0 cairn key list -r "$R"
assert_eq 2 "$(wc -l <<<"$OUT")" "header and one key"
first=$(awk 'NR == 2 { print $1 }' <<<"$OUT")
assert_matches "$OUT" "^[0-9a-f]{16} +[0-9T:-]+Z +yes +$(hostname)" "the key's id, date, in use, host"

info "the last key is never removed"
expect_status 1 cairn key remove -r "$R" "$first" --force
assert_contains "$ERR" "is the last key of the repository"

info "key add: a second password opens the same repository"
expect_status 0 env CAIRN_NEW_PASSWORD="second password" "$BUILD/cairn" key add -r "$R" --kdf-params "$TEST_KDF"
expect_status 0 env CAIRN_PASSWORD="second password" "$BUILD/cairn" snapshots -r "$R"
assert_contains "$OUT" "m "
expect_status 0 env CAIRN_PASSWORD="second password" "$BUILD/cairn" key list -r "$R"
assert_eq 3 "$(wc -l <<<"$OUT")" "header and two keys"
second=$(awk '$3 == "yes" { print $1 }' <<<"$OUT")
[ -n "$second" ] && [ "$second" != "$first" ] || fail "the second key is not the one in use: $OUT"

info "the key in use is removed only with --force"
expect_status 1 cairn key remove -r "$R" "$first"
assert_contains "$ERR" "is the one in use"
assert_contains "$ERR" "--force"
expect_status 1 cairn key remove -r "$R" 0123456789abcdef
assert_contains "$ERR" "has no key '0123456789abcdef'"
expect_status 2 cairn key remove -r "$R" nothex
expect_status 0 env CAIRN_PASSWORD="second password" "$BUILD/cairn" key remove -r "$R" "$first"
expect_status 1 cairn snapshots -r "$R"
assert_contains "$ERR" "wrong password"

info "key passwd replaces the key in use"
printf 'third password\n' >"$T/pw3"
chmod 600 "$T/pw3"
expect_status 0 env CAIRN_PASSWORD="second password" "$BUILD/cairn" key passwd -r "$R" \
	--new-password-file "$T/pw3" --kdf-params "$TEST_KDF"
expect_status 1 env CAIRN_PASSWORD="second password" "$BUILD/cairn" snapshots -r "$R"
expect_status 0 cairn snapshots -r "$R" --password-file "$T/pw3"
expect_status 0 cairn key list -r "$R" --password-file "$T/pw3"
assert_eq 2 "$(wc -l <<<"$OUT")" "header and one key after passwd"
expect_status 0 cairn restore -r "$R" --password-file "$T/pw3" m/latest --target "$T/out"
cmp "$T/src/f" "$T/out/f" || fail "restore after passwd differs"

info "a hostile keys object asking for huge scrypt parameters is refused"
cp "$R/keys" "$T/keys.saved"
python3 - "$R/keys" <<'PY'
import hashlib, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
# envelope header 48, version 4, count 4, id 8, created 8, host length 1 + host
h = b[48 + 24]
b[48 + 25 + h] = 40  # log2 N = 40
b[16:48] = hashlib.sha256(b[48:]).digest()  # a well-formed envelope still
open(p, "wb").write(bytes(b))
PY
expect_status 1 cairn snapshots -r "$R" --password-file "$T/pw3"
assert_contains "$ERR" "scrypt parameters out of bounds"
cp "$T/keys.saved" "$R/keys"

info "an unencrypted repository needs no password and has no keys"
"$BUILD/cairn" init -r "$T/plain2" --no-encryption
expect_status 0 env -u CAIRN_PASSWORD "$BUILD/cairn" snapshots -r "$T/plain2"
expect_status 1 cairn key list -r "$T/plain2"
assert_contains "$ERR" "is not encrypted"
