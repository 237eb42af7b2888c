#!/usr/bin/env bash
# What every subcommand shares comes from one parser (tools/cli.c), so it
# holds for each of them alike: --help prints the command's usage and the
# common options on stdout and exits 0; -r or $CAIRN_REPO names the
# repository, and naming none is a usage error; --json and --member exist
# only where a command takes them; SNAP resolves the same way everywhere;
# a usage error wins over a missing repository when both apply, in the
# order cmd.h fixes.
. "$(dirname "$0")/lib.sh"

commands="init backup snapshots find diff stats mount check forget prune ls restore export"

info "--help, for every command"
for c in $commands; do
	expect_status 0 cairn "$c" --help
	assert_matches "$OUT" "^usage: cairn $c " "cairn $c --help starts with its usage"
	assert_contains "$OUT" "-r/--repo REPO (or \$CAIRN_REPO)" "cairn $c --help names -r"
	assert_contains "$OUT" "--s3-endpoint URL" "cairn $c --help names the backend options"
	assert_eq "" "$ERR" "cairn $c --help writes nothing to stderr"
done

info "no repository named"
for c in init snapshots check prune stats mount; do
	expect_status 2 cairn "$c"
	assert_contains "$ERR" "cairn $c: no repository given (use -r REPO or set CAIRN_REPO)" \
		"cairn $c without a repository says how to name one"
	assert_contains "$ERR" "usage: cairn $c " "and shows the usage"
done

cairn init -r "$T/repo" --no-encryption
mkdir -p "$T/src/d"
echo hello >"$T/src/a"
echo x >"$T/src/d/b"
cairn backup -r "$T/repo" --member m --time 2026-01-01T000000Z "$T/src"
echo more >"$T/src/c"
cairn backup -r "$T/repo" --member m --time 2026-01-02T000000Z "$T/src"

info "\$CAIRN_REPO stands for -r, and -r wins over it"
CAIRN_REPO="$T/repo" expect_status 0 "$BUILD/cairn" snapshots
assert_contains "$OUT" "2026-01-02T000000Z" "CAIRN_REPO names the repository"
CAIRN_REPO="$T/no-such" expect_status 0 "$BUILD/cairn" snapshots -r "$T/repo"
CAIRN_REPO="" expect_status 2 "$BUILD/cairn" snapshots

info "--json and --member only where a command takes them"
for c in snapshots stats; do
	expect_status 0 cairn "$c" -r "$T/repo" --json
	python3 -c 'import json,sys; json.load(sys.stdin)' <<<"$OUT" || fail "cairn $c --json is not JSON"
	expect_status 1 cairn "$c" -r "$T/repo" --member nobody
	assert_contains "$ERR" "no member 'nobody'" "cairn $c --member checks the member"
	assert_contains "$ERR" "members are: m" "and names those there are"
done
for c in check prune restore export; do
	expect_status 2 cairn "$c" -r "$T/repo" --json
	assert_contains "$ERR" "--json" "cairn $c refuses --json"
done
expect_status 2 cairn check -r "$T/repo" --member m
expect_status 2 cairn find -r "$T/repo" --member nobody 'a'
assert_contains "$ERR" "no member 'nobody'" "find checks --member too (and exits 2)"

info "SNAP: MEMBER/TIMESTAMP, MEMBER/latest and an id prefix, the same for each command"
id=$(cairn snapshots -r "$T/repo" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"][:8])')
for ref in m/2026-01-02T000000Z m/latest "$id"; do
	expect_status 0 cairn ls -r "$T/repo" "$ref"
	assert_eq "a
c
d" "$OUT" "cairn ls $ref"
	expect_status 0 cairn diff -r "$T/repo" "$ref" m/2026-01-02T000000Z
	rm -rf "$T/out"
	expect_status 0 cairn restore -r "$T/repo" "$ref" d --target "$T/out"
	assert_eq "x" "$(cat "$T/out/b")" "cairn restore $ref d"
	expect_status 0 bash -c "'$BUILD/cairn' export -r '$T/repo' '$ref' d | tar tf -"
done
for c in ls export; do
	expect_status 1 cairn "$c" -r "$T/repo" m/1999-01-01T000000Z
	assert_contains "$ERR" "member 'm' has no snapshot '1999-01-01T000000Z'" "cairn $c names the snapshot"
	assert_contains "$ERR" "its snapshots are: 2026-01-01T000000Z, 2026-01-02T000000Z, latest" \
		"and lists those there are"
	expect_status 1 cairn "$c" -r "$T/repo" nobody/latest
	assert_contains "$ERR" "no member 'nobody'" "cairn $c names the member"
	expect_status 1 cairn "$c" -r "$T/repo" zz
	assert_contains "$ERR" "expected MEMBER/TIMESTAMP, MEMBER/latest or a snapshot id prefix" \
		"cairn $c says what a SNAP is"
done
expect_status 2 cairn diff -r "$T/repo" m/latest nobody/latest
assert_contains "$ERR" "no member 'nobody'" "diff resolves its second SNAP the same way"

info "which usage error comes first"
# Options, then operands the command cannot take, then the repository.
expect_status 2 cairn snapshots extra
assert_contains "$ERR" "unexpected argument 'extra'" "an operand snapshots cannot take comes first"
expect_status 2 cairn find
assert_contains "$ERR" "no pattern given" "find's missing PATTERN comes before the repository"
expect_status 2 cairn ls
assert_contains "$ERR" "no repository given" "ls: the repository comes before SNAP"
expect_status 2 cairn ls -r "$T/repo"
assert_contains "$ERR" "no SNAP given" "ls without SNAP"
expect_status 2 cairn ls -r "$T/repo" m/latest a b
assert_contains "$ERR" "unexpected argument 'b'" "ls with too many operands"
expect_status 2 cairn restore -r "$T/repo" m/latest
assert_contains "$ERR" "--target DIR is required" "restore without --target"
expect_status 2 cairn snapshots --bogus extra
assert_contains "$ERR" "cairn snapshots: unknown option" "an unknown option comes before all"
