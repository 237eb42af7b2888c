#!/usr/bin/env bash
# cairn ls lists a directory of a snapshot: names one a line (escaped like
# ls -b), -l with mode, links, numeric owner, size, UTC mtime and symlink
# targets, -R the whole subtree by path, --json every field with names that
# are not UTF-8 kept exactly in base64.
. "$(dirname "$0")/lib.sh"

s="$T/src"
mkdir -p "$s/dir/sub"
printf 'hello\n' >"$s/a.txt"
chown 1234:5678 "$s/a.txt"
chmod 0640 "$s/a.txt"
setfattr -n user.color -v blue "$s/a.txt"
echo x >"$s/dir/sub/x"
ln -s a.txt "$s/link"
ln "$s/a.txt" "$s/hard"
echo bad >"$s/bad"$'\xff'"name"
echo nl >"$s/nl"$'\n'"name"
mkfifo "$s/fifo"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$s/sock"
mknod "$s/chr" c 1 3
truncate -s 1G "$s/sparse"
touch -h -d '2021-03-04 05:06:07.123456789' "$s/a.txt" "$s/link" "$s/dir"
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m1 --time 2026-11-22T205328Z "$s"

info "names, sorted by bytes, escaped"
expect_status 0 cairn ls -r "$T/repo" m1/latest
assert_eq "$(printf '%s\n' a.txt 'bad\377name' chr dir fifo hard link 'nl\nname' sock sparse)" "$OUT"

info "-l"
expect_status 0 cairn ls -r "$T/repo" m1/latest -l
assert_contains "$OUT" "-rw-r-----   2  1234  5678            6 2021-03-04 05:06:07 a.txt"
assert_contains "$OUT" "lrwxrwxrwx   1     0     0            5 2021-03-04 05:06:07 link -> a.txt"
assert_contains "$OUT" "drwxr-xr-x   3     0     0"
assert_matches "$OUT" "^crw-r--r--   1     0     0     1,     3 .* chr$"
assert_matches "$OUT" "^prw-r--r-- .* fifo$"
assert_matches "$OUT" " 1073741824 .* sparse$"
assert_matches "$OUT" "^srwxr-xr-x .* sock$"
assert_eq 10 "$(wc -l <<<"$OUT")" "one line per entry"

info "-R, a subdirectory, a single file"
expect_status 0 cairn ls -r "$T/repo" m1/latest dir -R
assert_eq "$(printf '%s\n' sub sub/x)" "$OUT"
expect_status 0 cairn ls -r "$T/repo" m1/latest /dir/sub/
assert_eq "x" "$OUT"
expect_status 0 cairn ls -r "$T/repo" m1/latest a.txt -l
assert_matches "$OUT" "^-rw-r----- .* a\\.txt$"
expect_status 0 cairn ls -r "$T/repo" m1/latest -R
assert_eq 12 "$(wc -l <<<"$OUT")" "-R lists every entry below the root"

info "--json"
expect_status 0 cairn ls -r "$T/repo" m1/latest --json
python3 - "$OUT" <<'PY' || fail "the JSON listing is wrong"
import base64, json, sys
entries = {e["path"]: e for e in json.loads(sys.argv[1])}
a = entries["a.txt"]
assert a["type"] == "file" and a["mode"] == "0640", a
assert a["mode_string"] == "-rw-r-----" and a["uid"] == 1234 and a["gid"] == 5678, a
assert a["size"] == 6 and a["nlink"] == 2, a
assert a["mtime"] == "2021-03-04T05:06:07.123456789Z", a
assert a["mtime_sec"] == 1614834367 and a["mtime_nsec"] == 123456789, a
assert base64.b64decode(a["xattrs"]["user.color"]) == b"blue", a
assert entries["hard"]["inode"] == a["inode"], "hardlinks share an inode"
assert entries["link"]["type"] == "symlink" and entries["link"]["target"] == "a.txt"
bad = [e for e in entries.values() if "name_base64" in e]
assert len(bad) == 1 and base64.b64decode(bad[0]["name_base64"]) == b"bad\xffname", bad
assert entries["nl\nname"]["type"] == "file" and "name_base64" not in entries["nl\nname"]
c = entries["chr"]
assert c["type"] == "char" and c["rdev_major"] == 1 and c["rdev_minor"] == 3, c
assert entries["dir"]["type"] == "dir" and entries["fifo"]["type"] == "fifo"
assert entries["sparse"]["size"] == 1 << 30 and entries["sparse"]["blocks"] == 0
assert entries["sock"]["type"] == "socket"
assert len(entries) == 10, sorted(entries)
PY
expect_status 0 cairn ls -r "$T/repo" m1/latest dir/sub --json
assert_eq "x" "$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["name"])' <<<"$OUT")"
expect_status 0 cairn ls -r "$T/repo" m1/latest dir/sub/x --json -R
assert_eq "x 2" "$(python3 -c 'import json,sys; l = json.load(sys.stdin); print(len(l) * "x", l[0]["size"])' <<<"$OUT")"

info "restore recreates a socket; export leaves it out and says so"
expect_status 0 cairn restore -r "$T/repo" m1/latest --target "$T/out"
[ -S "$T/out/sock" ] || fail "the socket was not restored"
tree_equal "$s" "$T/out"
cairn export -r "$T/repo" m1/latest 2>"$T/export.err" >"$T/all.tar" || fail "export failed: $(cat "$T/export.err")"
assert_contains "$(cat "$T/export.err")" "tar cannot hold sockets: 1 left out"
tar -tf "$T/all.tar" >"$T/list"
assert_contains "$(cat "$T/list")" "./fifo"
! grep -q sock "$T/list" || fail "a socket entry in the archive"

info "errors"
expect_status 1 cairn ls -r "$T/repo" m1/latest nope
assert_contains "$ERR" "no 'nope' in snapshot m1/2026-11-22T205328Z"
expect_status 1 cairn ls -r "$T/repo" m9/latest
assert_contains "$ERR" "no member 'm9'"
expect_status 2 cairn ls -r "$T/repo"
