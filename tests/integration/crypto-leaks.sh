#!/usr/bin/env bash
# An encrypted repository holds nothing readable: a marker string from the
# source data, a file name and an xattr name are found nowhere in it (grep
# -ra over every object, the packs included), no object is named by, or
# carries, the plain SHA-256 of a chunk, and the local catalog is for its
# owner only. The same data in an unencrypted repository shows all three, so
# the test can fail. A running backup's lock object does not show its host.
. "$(dirname "$0")/lib.sh"

marker="MARKER-7f3a9c-ledger-balance"
fname="zz-secret-file-name-4411.txt"
xname="user.zz-secret-xattr-name-9902"
mkdir -p "$T/src/dir"
{
	for i in $(seq 1 2000); do echo "$marker line $i"; done
} >"$T/src/dir/$fname"
setfattr -n "$xname" -v "some value" "$T/src/dir/$fname"
# One small file: one chunk, whose plain SHA-256 we know.
printf 'a single small chunk of user data %s\n' "$marker" >"$T/src/small"
plain_sha=$(sha256sum "$T/src/small" | cut -c1-64)

# holds_bytes DIR HEX: true when some file under DIR holds the bytes HEX.
holds_bytes() {
	python3 - "$1" "$2" <<'PY'
import os, sys
root, want = sys.argv[1], bytes.fromhex(sys.argv[2])
for d, _, files in os.walk(root):
    for f in files:
        with open(os.path.join(d, f), "rb") as fh:
            if want in fh.read():
                print(os.path.join(d, f))
                sys.exit(0)
sys.exit(1)
PY
}

info "an unencrypted repository shows the marker and the plain hash"
# "$BUILD/cairn" itself: lib.sh makes "cairn init --no-encryption" encrypted.
"$BUILD/cairn" init -r "$T/plain" --no-encryption --compression none
"$BUILD/cairn" backup -r "$T/plain" --member m "$T/src"
grep -rqa -- "$marker" "$T/plain" || fail "the marker is not in the unencrypted repository"
holds_bytes "$T/plain" "$plain_sha" >/dev/null ||
	fail "the plain SHA-256 of the small chunk is not in the unencrypted repository"

info "an encrypted repository shows none of them"
export CAIRN_PASSWORD="$TEST_PASSWORD"
"$BUILD/cairn" init -r "$T/repo" --kdf-params "$TEST_KDF" --compression none
"$BUILD/cairn" backup -r "$T/repo" --member m "$T/src"
for s in "$marker" "$fname" "$xname" "zz-secret" "$plain_sha"; do
	if grep -rla -- "$s" "$T/repo"; then
		fail "'$s' is readable in the encrypted repository"
	fi
done
if find "$T/repo" -name "*$plain_sha*" | grep -q .; then
	fail "an object is named by the plain SHA-256 of a chunk"
fi
# The plain hash as bytes (envelope headers carry a hash) is nowhere either.
if where=$(holds_bytes "$T/repo" "$plain_sha"); then
	fail "$where holds the plain SHA-256 of a chunk"
fi
# It still restores, of course.
"$BUILD/cairn" restore -r "$T/repo" m/latest --target "$T/out"
tree_equal "$T/src" "$T/out"
assert_eq "$xname" "$(getfattr --absolute-names -d "$T/out/dir/$fname" | sed -n 's/=.*//p' | grep zz)" \
	"the xattr came back"

info "a running backup's lock shows neither host name nor pid"
# The dump command runs while the backup holds its shared lock (the backup
# starts it, then takes the lock): it waits for a lock object, up to 20 s,
# and copies the lock objects aside for the checks below.
# shellcheck disable=SC2016 # expanded by the sh that runs it
copy_locks='for i in $(seq 400); do
	[ -n "$(ls "$1/locks" 2>/dev/null)" ] && break
	sleep 0.05
done
cp -r "$1/locks" "$2" && echo dumped' 
"$BUILD/cairn" backup -r "$T/repo" --member dump --stdin dump.txt -- \
	sh -c "$copy_locks" sh "$T/repo" "$T/locks-seen"
n=$(find "$T/locks-seen" -type f | wc -l)
[ "$n" -ge 1 ] || fail "no lock object was there while the backup ran"
host=$(hostname)
if grep -rla -- "$host" "$T/locks-seen"; then
	fail "a lock object shows the host name '$host'"
fi
"$BUILD/cairn" init -r "$T/plain-lock" --no-encryption
"$BUILD/cairn" backup -r "$T/plain-lock" --member dump --stdin dump.txt -- \
	sh -c "$copy_locks" sh "$T/plain-lock" "$T/plain-locks-seen"
grep -rqa -- "$host" "$T/plain-locks-seen" ||
	fail "the unencrypted repository's lock does not show the host name (the check above could not fail)"

info "the local catalog: mode 0600 in a 0700 directory"
for f in "$CAIRN_CACHE_DIR"/*/catalog.db*; do
	assert_eq 600 "$(stat -c %a "$f")" "mode of $f"
done
for d in "$CAIRN_CACHE_DIR"/*/; do
	assert_eq 700 "$(stat -c %a "$d")" "mode of $d"
done

info "without the password nothing is listed"
unset CAIRN_PASSWORD
expect_status 1 "$BUILD/cairn" snapshots -r "$T/repo"
assert_contains "$ERR" "the repository is encrypted and no password was given"
assert_contains "$ERR" "hint: set CAIRN_PASSWORD"
