#!/usr/bin/env bash
# Secrets stay secret: the repository password and the S3 secret key, both
# random for this run, of an encrypted repository on a real S3 server, appear
#   - in no process's argv, and the password in no process's environment,
#     while a backup runs its hooks and its dump command (those children do
#     not inherit $CAIRN_PASSWORD, and cairn wipes it from its own
#     environment once read) and while cairnfs serves a mount;
#   - in no log (cairn -v -v, cairnfs's output) and no error message (a
#     wrong password, a wrong secret key, a password file others can read);
#   - nowhere in the cache directory (catalog, files cache) and in no object
#     of the bucket;
#   - in no core file: cairn and cairnfs killed by SIGSEGV with core dumps
#     allowed leave none, where a control process does leave one.
. "$(dirname "$0")/lib.sh"
# shellcheck source=../lib-s3.sh
. "$SRC/tests/lib-s3.sh"

old_core_pattern=$(cat /proc/sys/kernel/core_pattern)
_backend_stop() {
	printf '%s\n' "$old_core_pattern" >/proc/sys/kernel/core_pattern
	s3_stop
}

hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
pw="pw-$(hex 12)"
S3_SECRET="sk-$(hex 12)"
s3_start "$T/swift"
secret=$AWS_SECRET_ACCESS_KEY
[ "$secret" = "$S3_SECRET" ] || fail "the S3 peer did not take the secret key"
REPO="s3://$S3_BUCKET/secrets/repo"
printf '%s\n' "$pw" >"$T/pw.needle"
printf '%s\n%s\n' "$pw" "$secret" >"$T/both.needle"

# no_secret WHAT FILE...: neither secret in the files (binary included).
no_secret() {
	local what=$1
	shift
	if grep -qaF -- "$pw" "$@" 2>/dev/null; then fail "the password is in $what"; fi
	if grep -qaF -- "$secret" "$@" 2>/dev/null; then fail "the S3 secret key is in $what"; fi
}

mkdir -p "$T/src"
random_bytes 3M data >"$T/src/data"
echo "small file" >"$T/src/small"

export CAIRN_PASSWORD=$pw
info "init and a backup at -v -v, with hooks and a dump command that look for the secrets"
# While the hooks and the dump command run, every process's argv is searched
# for both secrets and every environment for the password; the needles come
# from files, so the searching processes' own argv holds neither.
scan="grep -laFf $T/both.needle /proc/[0-9]*/cmdline; grep -laFf $T/pw.needle /proc/[0-9]*/environ"
cairn init -v -v -r "$REPO" --kdf-params "$TEST_KDF" 2>"$T/init.log"
cairn backup -v -v -r "$REPO" --member files --time 2026-12-01T000000Z \
	--before "($scan) >$T/before.found 2>/dev/null; cat /proc/\$PPID/environ >$T/before.parent-env" \
	--after "($scan) >$T/after.found 2>/dev/null; cat /proc/self/environ >$T/after.env" \
	"$T/src" 2>"$T/backup.log"
cairn backup -v -v -r "$REPO" --member db --time 2026-12-01T000000Z --stdin dump.env -- \
	sh -c "($scan) >$T/dump.found 2>/dev/null; cat /proc/self/environ; cat /proc/\$PPID/environ" \
	2>"$T/dump.log"
for f in before after dump; do
	[ -f "$T/$f.found" ] || fail "the $f command did not run"
	[ ! -s "$T/$f.found" ] || fail "while the $f command ran, a secret was in: $(tr '\n' ' ' <"$T/$f.found")"
done
[ -s "$T/after.env" ] || fail "the --after hook saw no environment"
# (the AWS keys are the operator's own environment, which hooks keep)
if grep -qaF -- "$pw" "$T/before.parent-env" "$T/after.env"; then
	fail "the password is in the environment of cairn or of its hooks"
fi
grep -qaF "AWS_SECRET_ACCESS_KEY=" "$T/after.env" || fail "the hook lost the rest of the environment"
no_secret "cairn's logs" "$T/init.log" "$T/backup.log" "$T/dump.log"
[ -s "$T/backup.log" ] || fail "the backup logged nothing at -v -v"

info "the dump's stored environments (its own and cairn's) hold no password"
mount_repo "$REPO" "$T/mnt"
stored="$T/mnt/snapshots/db/latest/dump.env"
[ -s "$stored" ] || fail "the dump stored nothing"
grep -qaF "AWS_ACCESS_KEY_ID=" "$stored" || fail "the stored dump is not the environment"
if grep -qaF -- "$pw" "$stored"; then fail "the password reached the dump command"; fi
cmp "$T/src/data" "$T/mnt/snapshots/files/latest/data" || fail "the mounted file differs"

info "a running cairnfs (cairn mount, password from the environment): not in its argv or environment"
mkdir -p "$T/mnt2"
expect_status 0 "$BUILD/cairn" mount -r "$REPO" "$T/mnt2"
pid=$(pgrep -f "^cairnfs $REPO $T/mnt2" | head -n 1)
[ -n "$pid" ] || fail "no cairnfs process for $T/mnt2"
cmp "$T/src/small" "$T/mnt2/snapshots/files/latest/small" || fail "the second mount serves wrong bytes"
no_secret "cairnfs's argv" "/proc/$pid/cmdline"
if grep -qaF -- "$pw" "/proc/$pid/environ"; then fail "the password is in cairnfs's environment"; fi
fusermount3 -u "$T/mnt2"
no_secret "cairnfs's logs" "$T"/cairnfs.*.log

info "error messages: a wrong password, a wrong secret key, a password file others can read"
wrong_pw="wrong-$(hex 8)"
CAIRN_PASSWORD=$wrong_pw expect_status 1 "$BUILD/cairn" snapshots -r "$REPO"
assert_contains "$ERR" "wrong password, or no key of this repository matches it"
if grep -qF -- "$wrong_pw" <<<"$ERR$OUT"; then fail "the error shows the wrong password"; fi
wrong_sk="wrong-$(hex 8)"
AWS_SECRET_ACCESS_KEY=$wrong_sk CAIRN_CACHE_DIR=$T/cache2 expect_status 1 "$BUILD/cairn" snapshots -v -v -r "$REPO"
assert_matches "$ERR" "credential|signature|refused"
if grep -qF -- "$wrong_sk" <<<"$ERR$OUT"; then fail "the error shows the wrong secret key"; fi
printf '%s\n' "$pw" >"$T/pw-open"
chmod 644 "$T/pw-open"
expect_status 1 env -u CAIRN_PASSWORD "$BUILD/cairn" snapshots -r "$REPO" --password-file "$T/pw-open"
assert_contains "$ERR" "chmod"
no_secret "the refusal of a readable password file" <(printf '%s' "$ERR$OUT")

info "the cache directory and the bucket hold neither secret"
[ -n "$(find "$CAIRN_CACHE_DIR" -type f)" ] || fail "the cache directory is empty"
no_secret "the cache directory" -r "$CAIRN_CACHE_DIR"
[ -n "$(find "$T/swift/node" -type f -name '*.data')" ] || fail "the bucket's objects are not under $T/swift/node"
no_secret "the bucket's objects" -r "$T/swift/node"

info "core files: none from cairn or cairnfs, though a control process leaves one"
mkdir -p "$T/cores"
printf '%s\n' "$T/cores/core.%e.%p" >/proc/sys/kernel/core_pattern
(
	ulimit -c unlimited
	exec sleep 60
) &
ctl=$!
sleep 0.2
kill -SEGV "$ctl"
wait "$ctl" || true
ls "$T/cores"/core.sleep.* >/dev/null 2>&1 ||
	fail "a control process killed by SIGSEGV left no core in $T/cores: cores cannot be checked here"
rm -f "$T/cores"/*

mkdir -p "$T/mnt3"
(
	ulimit -c unlimited
	exec "$BUILD/cairnfs" "$REPO" "$T/mnt3" -f
) >"$T/segv-daemon.log" 2>&1 &
daemon=$!
until=$(deadline_in 30)
while ! is_mounted "$(realpath "$T/mnt3")"; do
	kill -0 "$daemon" 2>/dev/null || fail "cairnfs exited: $(cat "$T/segv-daemon.log")"
	[ "$(now)" -lt "$until" ] || fail "$T/mnt3 not mounted after 30 s"
	sleep 0.05
done
cat "$T/mnt3/snapshots/files/latest/small" >/dev/null # the key is in use
kill -SEGV "$daemon"
wait "$daemon" || true
fusermount3 -uz "$T/mnt3" 2>/dev/null || true

mkfifo "$T/never"
(
	ulimit -c unlimited
	exec "$BUILD/cairn" backup -r "$REPO" --member slow --stdin slow -- cat "$T/never"
) >"$T/segv-backup.log" 2>&1 &
backup=$!
until=$(deadline_in 30)
while ! pgrep -P "$backup" -x cat >/dev/null; do
	kill -0 "$backup" 2>/dev/null || fail "the backup exited: $(cat "$T/segv-backup.log")"
	[ "$(now)" -lt "$until" ] || fail "the backup did not start its dump command"
	sleep 0.05
done
kill -SEGV "$backup"
wait "$backup" || true
pkill -f "cat $T/never" || true
left=$(ls "$T/cores")
[ -z "$left" ] || fail "core files were written: $left"
