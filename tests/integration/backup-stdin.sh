#!/usr/bin/env bash
# cairn backup --stdin NAME stores standard input as one file NAME;
# --stdin NAME -- CMD ARG... stores CMD's standard output (no shell: the
# arguments arrive as they are), passes its stderr through, and writes the
# snapshot only when CMD exits 0. A failing, killed or missing command
# leaves no snapshot and exit status 1 naming what happened.
. "$(dirname "$0")/lib.sh"

cairn init -r "$T/repo" --no-encryption
random_bytes 20M dump >"$T/dump.bin"
count() {
	cairn snapshots -r "$T/repo" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

info "--stdin NAME from a pipe"
cat "$T/dump.bin" | cairn backup -r "$T/repo" --member db --stdin db.dump
info "--stdin NAME -- CMD: the command's output, its stderr passed through"
cat >"$T/dumper" <<'SH'
#!/bin/sh
echo "dumper: starting ($# args: $1|$2)" >&2
cat "$3"
SH
chmod +x "$T/dumper"
expect_status 0 cairn backup -r "$T/repo" --member db2 --stdin "pg.sql" -- "$T/dumper" 'a b' '$HOME;*' "$T/dump.bin"
assert_contains "$ERR" "dumper: starting (3 args: a b|\$HOME;*)"
info "an empty stream is an empty file"
expect_status 0 bash -c '"$0" backup -r "$1" --member empty --stdin nothing </dev/null' "$BUILD/cairn" "$T/repo"
assert_eq 3 "$(count)"

mount_repo "$T/repo" "$T/mnt"
cmp "$T/dump.bin" "$T/mnt/snapshots/db/latest/db.dump" || fail "--stdin stored other bytes"
cmp "$T/dump.bin" "$T/mnt/snapshots/db2/latest/pg.sql" || fail "-- CMD stored other bytes"
assert_eq "db.dump" "$(ls "$T/mnt/snapshots/db/latest")"
assert_eq "600 0" "$(stat -c '%a %s' "$T/mnt/snapshots/empty/latest/nothing")"
unmount_repo "$T/mnt"

info "a command that fails, is killed or is missing: no snapshot, exit 1"
expect_status 1 cairn backup -r "$T/repo" --member bad --stdin x -- sh -c 'head -c 5000000 /dev/zero; echo oops >&2; exit 3'
assert_contains "$ERR" "oops"
assert_contains "$ERR" "'sh' exited with status 3; no snapshot was written"
expect_status 1 cairn backup -r "$T/repo" --member bad --stdin x -- sh -c 'kill -9 $$'
assert_contains "$ERR" "'sh' was killed by signal 9"
expect_status 1 cairn backup -r "$T/repo" --member bad --stdin x -- false
assert_contains "$ERR" "'false' exited with status 1"
expect_status 1 cairn backup -r "$T/repo" --member bad --stdin x -- /no/such/command
assert_contains "$ERR" "cannot run '/no/such/command'"
assert_eq 3 "$(count)" "no snapshot from a failed dump"

info "usage errors"
expect_status 2 cairn backup -r "$T/repo" --member bad --stdin a/b
expect_status 2 cairn backup -r "$T/repo" --member bad --stdin x "$T/dump.bin"
expect_status 2 cairn backup -r "$T/repo" --member bad --stdin x --
expect_status 2 cairn backup -r "$T/repo" --member bad --stdin x --tar -
expect_status 1 script -qec "$BUILD/cairn backup -r $T/repo --member bad --stdin x" /dev/null
assert_contains "$OUT" "refusing to read 'x' from a terminal"
assert_eq 3 "$(count)"
expect_status 0 cairn check -r "$T/repo"
