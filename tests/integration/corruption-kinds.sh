#!/usr/bin/env bash
# Each kind of metadata object damaged each way (a flipped byte, truncated,
# deleted, swapped for another valid object of its kind): a tree or a
# snapshot header of member a makes the commands about a fail naming the
# object, leaves b listable, restorable and readable through a mount (where
# a's snapshot gives EIO), and makes check exit 1 naming it (a deleted
# header looks like a forgotten snapshot: check sees the published list
# name it); a damaged index
# object costs nothing but deduplication (check reports it); a damaged
# config stops every command with a message that says so. (Packs: see
# check-damage.sh and skeleton-damaged-pack.sh.)
. "$(dirname "$0")/lib.sh"

R="$T/repo"
mkdir -p "$T/a" "$T/b"
random_bytes 64k a >"$T/a/file"
random_bytes 64k b >"$T/b/file"
"$BUILD/cairn" init -r "$R" --no-encryption # objects read and swapped as plain bytes
cairn backup -r "$R" --member a --time 2026-11-22T205328Z "$T/a"
cairn backup -r "$R" --member b --time 2026-11-22T205328Z "$T/b"

# object_of KIND MEMBER: the path of the snapshot header ("snapshots") or
# tree ("trees") of MEMBER's snapshot, read from the headers themselves.
object_of() {
	python3 - "$R" "$1" "$2" <<'PY'
import os, subprocess, sys
repo, kind, member = sys.argv[1:]
for name in sorted(os.listdir(os.path.join(repo, "snapshots"))):
    path = os.path.join(repo, "snapshots", name)
    obj = open(path, "rb").read()
    payload = obj[48:]
    if obj[6] & 1:
        payload = subprocess.run(["zstd", "-dc"], input=payload, stdout=subprocess.PIPE,
                                 check=True).stdout
    n = int.from_bytes(payload[4:8], "little")
    if payload[8:8 + n].decode() != member:
        continue
    tree = payload[8 + n + 12:8 + n + 12 + 32].hex()
    print(path if kind == "snapshots" else os.path.join(repo, "trees", tree))
PY
}

damage() { # FILE MODE OTHER
	local f=$1 mode=$2 other=$3
	cp "$f" "$T/saved"
	case "$mode" in
	flip) printf 'X' | dd of="$f" bs=1 seek=60 conv=notrunc status=none ;;
	truncate) truncate -s 40 "$f" ;;
	delete) rm -f "$f" ;;
	swap) cp "$other" "$f" ;;
	esac
	rm -rf "$CAIRN_CACHE_DIR"
}
repair() { cp "$T/saved" "$1"; rm -rf "$CAIRN_CACHE_DIR"; }

for kind in trees snapshots; do
	fa=$(object_of "$kind" a)
	fb=$(object_of "$kind" b)
	[ -f "$fa" ] && [ -f "$fb" ] && [ "$fa" != "$fb" ] || fail "cannot find the $kind objects of a and b"
	for mode in flip truncate delete swap; do
		info "$kind of a: $mode"
		damage "$fa" "$mode" "$fb"
		run_cmd cairn ls -r "$R" a/latest
		[ "$STATUS" -eq 1 ] || [ "$kind" = snapshots ] || fail "ls of a with its tree damaged ($mode) exited $STATUS"
		expect_status 0 cairn ls -r "$R" b/latest
		assert_eq file "$OUT" "b lists"
		rm -rf "$T/out"
		expect_status 0 cairn restore -r "$R" b/latest --target "$T/out"
		cmp "$T/b/file" "$T/out/file" || fail "b restores wrong"
		if [ "$mode" = delete ] && [ "$kind" = snapshots ]; then
			# A deleted header is a forgotten snapshot, but for the
			# published list, which still names it.
			run_cmd cairn check -r "$R"
			assert_matches "$OUT$ERR" "snapshot list .* out of date" "check sees the list name a gone snapshot"
		else
			expect_status 1 cairn check -r "$R"
			assert_matches "$OUT$ERR" "${fa##*/}" "check names the damaged object"
		fi
		if [ "$kind" = trees ]; then
			mount_repo "$R" "$T/mnt"
			expect_status 1 cat "$T/mnt/snapshots/a/latest/file"
			cmp "$T/b/file" "$T/mnt/snapshots/b/latest/file" || fail "b reads wrong through the mount"
			daemon_alive "$T/mnt" || fail "the daemon died"
			unmount_repo "$T/mnt"
		fi
		repair "$fa"
	done
done

info "an index object: only deduplication is lost"
ix=$(find "$R/index" -type f | head -n 1)
for mode in flip truncate delete; do
	damage "$ix" "$mode" ""
	expect_status 0 cairn ls -r "$R" a/latest
	expect_status 0 cairn backup -r "$R" --member a "$T/a"
	run_cmd cairn check -r "$R"
	[ "$mode" = delete ] || { [ "$STATUS" -eq 1 ] && assert_matches "$OUT$ERR" "${ix##*/}" "check names the index"; }
	repair "$ix"
done

info "the config"
for mode in flip truncate delete; do
	damage "$R/config" "$mode" ""
	expect_status 1 cairn snapshots -r "$R"
	assert_matches "$ERR" "config|no repository" "a damaged config is named ($mode)"
	repair "$R/config"
done
expect_status 0 cairn check -r "$R"
