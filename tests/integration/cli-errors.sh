#!/usr/bin/env bash
# Error messages and exit statuses are contracts: 2 for usage errors, 1 for
# failures, a "cairn: " prefix, the offending name quoted, and a hint where
# the user can fix it.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src"
echo x >"$T/src/f"

info "a repository that does not exist"
expect_status 1 cairn backup -r "$T/no-such-repo" --member m "$T/src"
assert_contains "$ERR" "$T/no-such-repo" "the message names the repository"
assert_matches "$ERR" "^cairn: " "messages start with 'cairn: '"
assert_matches "$ERR" "no such|not found|does not exist|not a cairn repository|no repository" \
	"the message says the repository is missing"
[ ! -e "$T/no-such-repo" ] || fail "backup created the repository it could not find"
expect_status 1 cairn snapshots -r "$T/no-such-repo"
assert_contains "$ERR" "$T/no-such-repo" "cairn snapshots names the repository"
expect_status 1 cairn snapshots -r "file://$T/no-such-repo"
run_cmd timeout 30 "$BUILD/cairnfs" "$T/no-such-repo" "$T" -f
[ "$STATUS" -ne 0 ] && [ "$STATUS" -ne 124 ] || fail "cairnfs on a missing repository: exit $STATUS"
assert_contains "$ERR" "$T/no-such-repo" "cairnfs names the repository"

info "init without --no-encryption needs a password"
# setsid: no controlling terminal, so no prompt either.
run_cmd env -u CAIRN_PASSWORD setsid -w "$BUILD/cairn" init -r "$T/repo" --kdf-params 16,1,1
assert_eq 1 "$STATUS" "init of an encrypted repository without a password"
assert_contains "$ERR" "no password was given"
assert_contains "$ERR" "hint: set CAIRN_PASSWORD"
[ ! -e "$T/repo/config" ] || fail "init without a password created a repository"

info "init twice"
expect_status 0 cairn init -r "$T/repo" --no-encryption
assert_eq "" "$OUT" "init prints nothing on stdout"
expect_status 1 cairn init -r "$T/repo" --no-encryption
assert_matches "$ERR" "exist" "init over a repository says it exists"
assert_contains "$ERR" "$T/repo" "names the repository"

info "bad member names"
for m in "" "-lead" ".hidden" "_under" "has/slash" "has space" "a:b" "ünï" "..";  do
	expect_status 2 cairn backup -r "$T/repo" --member "$m" "$T/src"
	assert_matches "$ERR" "member" "a bad member name '$m' is reported as such"
	[ -z "$m" ] || assert_contains "$ERR" "'$m'" "the bad member name is quoted"
done
expect_status 2 cairn backup -r "$T/repo" --member "$(printf 'm%.0s' $(seq 1 129))" "$T/src"
expect_status 0 cairn backup -r "$T/repo" --member "$(printf 'm%.0s' $(seq 1 128))" "$T/src"
expect_status 0 cairn backup -r "$T/repo" --member "A0._-z" "$T/src"

info "usage errors exit 2"
expect_status 2 cairn
expect_status 2 cairn no-such-command
assert_contains "$ERR" "no-such-command" "an unknown command is named"
expect_status 2 cairn backup -r "$T/repo" "$T/src"
assert_contains "$ERR" "--member" "backup without --member says so"
expect_status 2 cairn backup -r "$T/repo" --member m
expect_status 2 cairn backup --member m "$T/src"
assert_matches "$ERR" "(-r|--repo|CAIRN_REPO)" "a missing repository names -r or CAIRN_REPO"
expect_status 2 cairn init --no-encryption
expect_status 2 cairn snapshots -r "$T/repo" --no-such-option
assert_contains "$ERR" "--no-such-option" "an unknown option is named"
expect_status 2 cairn snapshots -r
expect_status 2 cairn backup -r "$T/repo" --member m --time "not a time" "$T/src"
assert_contains "$ERR" "not a time" "a bad --time is quoted"
expect_status 2 cairn backup -r "$T/repo" --member m --time 2026-13-40T999999Z "$T/src"
expect_status 2 cairn init -r "$T/repo2" --no-encryption --chunk-size 3X
expect_status 2 cairn init -r "$T/repo2" --no-encryption --chunk-size 1K
expect_status 2 cairn init -r "$T/repo2" --no-encryption --compression zstd:99
expect_status 2 cairn init -r "$T/repo2" --no-encryption --compression gzip
[ ! -e "$T/repo2" ] || fail "init with bad options created $T/repo2"
expect_status 0 cairn init -r "$T/repo2" --no-encryption --chunk-size 64K --compression zstd:19
expect_status 0 cairn backup -r "$T/repo2" --member m "$T/src"

info "failures exit 1"
expect_status 1 cairn backup -r "$T/repo" --member m "$T/no-such-path"
assert_contains "$ERR" "$T/no-such-path" "a missing PATH is named"

info "--help"
expect_status 0 cairn --help
assert_matches "$OUT" "usage" "--help prints usage on stdout"
assert_contains "$OUT" "backup" "--help lists the commands"
assert_eq "" "$ERR" "--help writes nothing to stderr"
expect_status 0 "$BUILD/cairnfs" --help
