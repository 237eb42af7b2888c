#!/usr/bin/env bash
# An unchanged re-backup opens no unchanged file (counted with strace): it
# reuses what the member's latest snapshot recorded for each file whose
# size, mtime, ctime, inode and device are the same, and the snapshot still
# restores byte for byte. A changed file, and with --force-read every file,
# is read again; a file that keeps changing while it is read is reported.
. "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || fail "strace is missing (tests/install-deps.sh installs it)"
mkdir -p "$T/src/a/b" "$T/src/c"
for i in $(seq 1 40); do echo "small file $i" >"$T/src/a/f$i"; done
random_bytes 3M big >"$T/src/a/b/big.bin"
truncate -s 8M "$T/src/c/sparse.img"
random_bytes 1M sp | dd of="$T/src/c/sparse.img" bs=1M seek=3 conv=notrunc status=none
ln "$T/src/a/f1" "$T/src/c/hardlink"
ln -s a/f2 "$T/src/link"
: >"$T/src/empty"
setfattr -n user.kept -v "on a reused file" "$T/src/a/f3"
setfattr -n user.kept -v "on a reused big file" "$T/src/a/b/big.bin"
n_files=43 # f1..f40, big.bin, sparse.img, empty (the hardlink is f1)

repo="$T/repo"
"$BUILD/cairn" init -r "$repo" --no-encryption 2>/dev/null

# opened_files TRACE: the regular files under $T/src that a traced run opened.
opened_files() {
	{ grep -E "open(at)?\(.*\"$T/src/" "$1" || true; } | { grep -v O_DIRECTORY || true; } |
		sed -E 's/.*"([^"]*)".*/\1/' | sort -u
}
# backup_traced NAME ARGS...: a traced backup, its JSON summary in $T/NAME.json.
backup_traced() {
	local name=$1
	shift
	# LeakSanitizer cannot run under ptrace
	expect_status 0 env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -qq -e trace=openat,open -o "$T/$name.trace" "$BUILD/cairn" backup -r "$repo" --member m --json "$@" "$T/src"
	printf '%s' "$OUT" >"$T/$name.json"
}
field() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/$1.json" "$2"
}

info "first backup reads every file"
backup_traced first
assert_eq "$n_files" "$(opened_files "$T/first.trace" | wc -l)" "files the first backup opened"
assert_eq "$n_files" "$(field first files_new)" "new files"

info "unchanged re-backup opens none"
backup_traced second
opened=$(opened_files "$T/second.trace")
[ -z "$opened" ] || fail "the unchanged re-backup opened: $opened"
assert_eq "$n_files" "$(field second files_unchanged)" "unchanged files"
assert_eq 0 "$(field second bytes_read)" "bytes read by an unchanged re-backup"

info "the reused snapshot restores byte for byte, xattrs included"
# The files cache says which files had no xattrs, so an unchanged one is
# not even listed; those that had some keep them. check --read-data
# verifies the pack places the cache gave for every reused chunk.
"$BUILD/cairn" restore -r "$repo" "m/latest" --target "$T/restored" 2>/dev/null
assert_empty_output rsync -aHAX --checksum --dry-run --itemize-changes "$T/src/" "$T/restored/"
assert_eq "on a reused file" "$(getfattr --only-values -n user.kept "$T/restored/a/f3")" "xattr of a reused file"
rm -rf "$T/restored"
expect_status 0 "$BUILD/cairn" check -r "$repo" --read-data

info "an xattr set on an unchanged file (its ctime moves) is stored"
setfattr -n user.new -v "added later" "$T/src/a/f5"
backup_traced second-xattr
assert_eq "$T/src/a/f5" "$(opened_files "$T/second-xattr.trace")" "files opened after setfattr"
"$BUILD/cairn" restore -r "$repo" "m/latest" --target "$T/restored" 2>/dev/null
assert_empty_output rsync -aHAX --checksum --dry-run --itemize-changes "$T/src/" "$T/restored/"
rm -rf "$T/restored"

info "a changed file is read, the others are not"
echo "more" >>"$T/src/a/f7"
touch -d '2020-01-01 00:00:00' "$T/src/a/f8" # same contents, new mtime
backup_traced third
assert_eq "$T/src/a/f7
$T/src/a/f8" "$(opened_files "$T/third.trace")" "files opened after two changes"
assert_eq 2 "$(field third files_changed)" "changed files"
"$BUILD/cairn" restore -r "$repo" "m/latest" --target "$T/restored" 2>/dev/null
assert_empty_output rsync -aHAX --checksum --dry-run --itemize-changes "$T/src/" "$T/restored/"
rm -rf "$T/restored"

info "a file replaced by another with the same size is read"
cp "$T/src/a/f9" "$T/src/a/f9.new"
sed -i 's/9/X/' "$T/src/a/f9.new"
touch -r "$T/src/a/f9" "$T/src/a/f9.new"
mv "$T/src/a/f9.new" "$T/src/a/f9" # same size and mtime: only ctime and inode differ
backup_traced fourth
assert_eq "$T/src/a/f9" "$(opened_files "$T/fourth.trace")" "files opened after a replacement"

info "--force-read reads everything"
backup_traced forced --force-read
assert_eq "$n_files" "$(opened_files "$T/forced.trace" | wc -l)" "files --force-read opened"
assert_eq "$n_files" "$(field forced files_changed)" "changed files with --force-read"

info "a lost files cache costs a full read, nothing else"
rm -rf "$CAIRN_CACHE_DIR"/*/files
backup_traced nocache
assert_eq "$n_files" "$(opened_files "$T/nocache.trace" | wc -l)" "files read without a cache"
assert_eq 0 "$(field nocache bytes_added)" "bytes added when nothing changed"

info "a file that keeps changing while it is read is reported"
mkdir -p "$T/busy"
random_bytes 32M busy >"$T/busy/growing.log"
python3 - "$T/busy/growing.log" "$T/stop-writer" <<'PY' &
import os, sys
path, stop = sys.argv[1], sys.argv[2]
with open(path, "ab", buffering=0) as f:
    while not os.path.exists(stop):
        f.write(b"x" * 512)
PY
writer=$!
until_t=$(deadline_in 20)
while [ "$(stat -c %s "$T/busy/growing.log")" -le $((32 * 1048576)) ]; do
	[ "$(now)" -lt "$until_t" ] || fail "the writer did not start"
done
expect_status 0 "$BUILD/cairn" backup -r "$repo" --member busy --json "$T/busy"
touch "$T/stop-writer"
wait "$writer"
assert_contains "$ERR" "growing.log' changed while being read" "the change is reported by path"
info "what was stored is one version: a prefix of the file the writer only appends to"
"$BUILD/cairn" restore -r "$repo" "busy/latest" --target "$T/busy-restored" 2>/dev/null
size=$(stat -c %s "$T/busy-restored/growing.log")
[ "$size" -ge $((32 * 1048576)) ] || fail "the stored version is shorter than the file was: $size"
cmp -n "$size" "$T/busy-restored/growing.log" "$T/busy/growing.log" ||
	fail "the stored version is not a prefix of the file"

info "a small file (read on a worker thread) changed between fstat and read is read again"
cc -shared -fPIC -o "$T/fstat-gate.so" "$SRC/tests/integration/fstat-gate.c" -ldl
mkdir -p "$T/gated"
for i in 1 2 3; do echo "neighbour $i" >"$T/gated/n$i"; done
printf 'version-1 %04000d\n' 1 >"$T/gated/gate-small"
asan=${ASAN_OPTIONS:-}
[ -z "$asan" ] || asan="$asan:verify_asan_link_order=0"
GATE_REACHED="$T/reached" GATE_RELEASE="$T/release" LD_PRELOAD="$T/fstat-gate.so" \
	ASAN_OPTIONS="$asan" "$BUILD/cairn" backup -r "$repo" --member gated "$T/gated" \
	>"$T/gated.out" 2>"$T/gated.err" </dev/null &
gpid=$!
until_t=$(deadline_in 60)
while [ ! -e "$T/reached" ]; do
	kill -0 "$gpid" 2>/dev/null || fail "the backup ended before the gate: $(cat "$T/gated.err")"
	[ "$(now)" -lt "$until_t" ] || fail "the backup did not reach the gate within 60 s"
	sleep 0.05
done
printf 'version-2 %04000d\n' 2 | dd of="$T/gated/gate-small" conv=notrunc status=none
touch -d '2021-01-01 00:00:00' "$T/gated/gate-small"
touch "$T/release"
st=0
wait "$gpid" || st=$?
assert_eq 0 "$st" "exit status of the gated backup"
assert_contains "$(cat "$T/gated.err")" "gate-small' changed while being read; reading it again"
"$BUILD/cairn" restore -r "$repo" "gated/latest" --target "$T/gated-restored" 2>/dev/null
cmp "$T/gated/gate-small" "$T/gated-restored/gate-small" ||
	fail "the snapshot does not hold the version read after the change"
assert_empty_output rsync -a --checksum --dry-run --itemize-changes "$T/gated/" "$T/gated-restored/"
