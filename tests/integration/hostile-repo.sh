#!/usr/bin/env bash
# A repository forged by someone who can write the bucket (tests/forge-repo.py:
# huge counts, a ratio bomb, a chain of 20,000 directories, duplicate names,
# set-id and device entries, chunks whose lengths and packs lie, a header
# whose tree is missing, xattrs at their limits) never crashes cairn or the
# mount, nor makes them use much memory: ls, find, diff, restore, export and
# check over each snapshot exit 0 or 1 (with a message), peak below a bound,
# and a mount serves the rest and answers EIO for what is broken. Text from
# the forged headers (host, tags) reaches the terminal escaped. Packs whose
# trailers lie are named by check; a snapshot list that names a snapshot
# twice is not believed (every snapshot is listed once).
. "$(dirname "$0")/lib.sh"

RSS_MAX_KIB=$((160 * 1024))
case "$BUILD" in *-asan)
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
	RSS_MAX_KIB=$((400 * 1024))
	;;
esac
CASES="huge-counts ratio-bomb deep-chain dup-names setid-devices lying-lengths missing-tree huge-xattrs"

mkdir -p "$T/src/d"
echo "good data" >"$T/src/d/file"
"$BUILD/cairn" init -r "$T/repo" --no-encryption # forgeries need a plain repository
cairn backup -r "$T/repo" --member good --time 2026-11-22T205328Z "$T/src"
for c in $CASES; do
	python3 "$SRC/tests/forge-repo.py" "$T/repo" "$c" || fail "cannot forge $c"
done
python3 "$SRC/tests/forge-repo.py" "$T/repo" lying-trailer >"$T/forged-packs" ||
	fail "cannot forge lying-trailer"
python3 "$SRC/tests/forge-repo.py" "$T/repo" dup-listing || fail "cannot forge dup-listing"

# bounded CMD...: CMD exits with a status of its contract (0 or 1; find and
# diff also 2), never by a signal or the timeout, says why when it fails,
# and peaks below RSS_MAX_KIB. Sets STATUS, OUT, ERR.
bounded() {
	local trouble=1
	case " $* " in *" find "* | *" diff "*) trouble=2 ;; esac
	run_cmd timeout 60 /usr/bin/time -f 'peak-kib %M' -o "$T/time" "$@"
	local peak
	peak=$(awk '/^peak-kib/ { print $2 }' "$T/time" 2>/dev/null)
	[ "$STATUS" -le "$trouble" ] ||
		fail "exit $STATUS from: $* (stderr: $(printf '%s' "$ERR" | tail -n 5))"
	[ "$STATUS" -ne "$trouble" ] || [ -n "$ERR" ] || fail "exit $STATUS without a message from: $*"
	[ -n "$peak" ] && [ "$peak" -lt "$RSS_MAX_KIB" ] || fail "$* peaked at $((${peak:-0} / 1024)) MiB"
	case "$OUT$ERR" in
	*$'\033'*) fail "an escape character reached the terminal from: $*" ;;
	esac
}

info "listing snapshots with forged headers"
bounded "$BUILD/cairn" snapshots -r "$T/repo"
assert_eq 0 "$STATUS" "cairn snapshots over forged headers"
assert_matches "$OUT" 'tag\\033' "a forged tag is shown escaped"
for c in good $CASES; do
	assert_eq 1 "$(printf '%s\n' "$OUT" | grep -c "^$c ")" "snapshots of $c listed"
done

for c in $CASES; do
	info "$c"
	bounded "$BUILD/cairn" ls -r "$T/repo" "$c/latest"
	bounded "$BUILD/cairn" find -r "$T/repo" --member "$c" '*'
	bounded "$BUILD/cairn" diff -r "$T/repo" "$c/latest" good/latest
	bounded "$BUILD/cairn" restore -r "$T/repo" "$c/latest" --target "$T/out-$c" \
		--no-same-owner --no-setuid --no-devices --xattrs=user
	bounded bash -c '"$0" export -r "$1" "$2" >"$3"' "$BUILD/cairn" "$T/repo" "$c/latest" \
		"$T/out-$c.tar"
	case "$c" in
	huge-counts | ratio-bomb | deep-chain | dup-names | missing-tree)
		bounded "$BUILD/cairn" ls -r "$T/repo" "$c/latest"
		assert_eq 1 "$STATUS" "ls of the $c snapshot fails"
		;;
	esac
done

info "restored safely: no set-id bits, no devices"
[ -z "$(find "$T/out-setid-devices" -perm /6000 -o -type b -o -type c)" ] ||
	fail "set-id files or devices were restored: $(ls -l "$T/out-setid-devices")"

info "check names the damage and stays bounded"
bounded "$BUILD/cairn" check -r "$T/repo"
assert_eq 1 "$STATUS" "check of a forged repository"
[ "$(wc -l <"$T/forged-packs")" = 2 ] || fail "forge-repo made no packs"
while read -r p; do
	assert_contains "$OUT$ERR" "${p#packs/}" "check names the pack whose trailer lies"
done <"$T/forged-packs"
bounded "$BUILD/cairn" check -r "$T/repo" --read-data
assert_eq 1 "$STATUS" "check --read-data of a forged repository"

info "the mount serves the good snapshot and answers EIO for the forged ones"
mount_repo "$T/repo" "$T/mnt"
pid=${MOUNT_PID[$(realpath "$T/mnt")]}
for c in $CASES; do
	ls -laR "$T/mnt/snapshots/$c/" >/dev/null 2>&1 || true
	find "$T/mnt/snapshots/$c/" -type f -exec cat {} + >/dev/null 2>&1 || true
	daemon_alive "$T/mnt" || fail "the daemon died on $c"
done
[ -z "$(find "$T/mnt/snapshots/setid-devices/" -perm /6000 -print -quit 2>/dev/null)" ] ||
	findmnt -no OPTIONS "$T/mnt" | grep -q nosuid || fail "set-id files in a mount without nosuid"
assert_matches "$(findmnt -no OPTIONS "$T/mnt")" "nodev" "the mount is nodev"
expect_status 1 cat "$T/mnt/snapshots/lying-lengths/latest/missing-pack"
assert_matches "$ERR" "Input/output error" "a chunk in a missing pack"
expect_status 2 ls "$T/mnt/snapshots/ratio-bomb/latest/"
assert_matches "$ERR" "Input/output error" "a ratio-bomb tree"
cmp "$T/src/d/file" "$T/mnt/snapshots/good/latest/d/file" || fail "the good snapshot reads wrong"
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
info "cairnfs peak resident memory: $((hwm / 1024)) MiB"
[ "$hwm" -lt "$RSS_MAX_KIB" ] || fail "cairnfs peaked at $((hwm / 1024)) MiB"
unmount_repo "$T/mnt"
