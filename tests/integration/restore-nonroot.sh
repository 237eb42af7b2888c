#!/usr/bin/env bash
# cairn restore as an unprivileged user: contents, modes, mtimes, symlinks,
# hardlinks, fifos and user.* xattrs come back; owners and device nodes
# cannot, and the restore says so once, listing examples, and exits 0.
. "$(dirname "$0")/lib.sh"

FULL_TREE_BIG=0 make_full_tree "$T/src"
# directories whose mode keeps their owner out
for m in 0555 0000 0100; do
	mkdir "$T/src/modes/dir$m"
	echo "in $m" >"$T/src/modes/dir$m/f"
	chmod "$m" "$T/src/modes/dir$m"
done
touch -d '2020-01-01 00:00:00' "$T/src/modes/dir0555" "$T/src/modes/dir0000" "$T/src/modes/dir0100" "$T/src/modes"
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m1 --time 2026-11-22T205328Z "$T/src"

chmod 0755 "$T"
mkdir "$T/nobody-home" "$T/nobody-cache" "$T/dst"
chown nobody:nogroup "$T/nobody-cache" "$T/dst"
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env CAIRN_CACHE_DIR="$T/nobody-cache" HOME="$T/nobody-home" "$@"
}

info "restore --verify as nobody"
expect_status 0 as_nobody "$BUILD/cairn" restore -r "$T/repo" m1/latest --target "$T/dst/out" --verify
# every inode but the three devices (hardlinks share one)
n_owned=$(($(find "$T/src" -printf '%i\n' | sort -u | wc -l) - 3))
assert_contains "$ERR" "could not set the owner of $n_owned entries (only root can give files away):"
assert_contains "$ERR" "'$T/dst/out/all-hole.img' (0:0)"
assert_matches "$ERR" "could not create 3 device nodes" "a warning about device nodes"
assert_contains "$ERR" "'$T/dst/out/special/null-chr'"
assert_matches "$ERR" "verified [0-9]+ files"
[ "$(grep -c 'could not set the owner' <<<"$ERR")" -eq 1 ] || fail "the owner warning came more than once"

info "contents, modes, mtimes, links, fifos and xattrs match"
assert_empty_output rsync -rlptHXD --checksum --dry-run --itemize-changes \
	--exclude=/special/null-chr --exclude=/special/loop-blk --exclude=/special/odd-chr \
	"$T/src/" "$T/dst/out/"
[ ! -e "$T/dst/out/special/null-chr" ] || fail "a device node appeared"
assert_eq "nobody" "$(stat -c %U "$T/dst/out/modes/owned")" "owner of a restored file"
assert_eq "4755 0 2750" "$(stat -c %a "$T/dst/out/modes/04755" "$T/dst/out/modes/0000" \
	"$T/dst/out/modes/02750" | xargs)" "set-id bits and mode 0000"
assert_eq "$(stat -c %a "$T/src/modes/dir0700")" "$(stat -c %a "$T/dst/out/modes/dir0700")"
[ -p "$T/dst/out/special/fifo" ] || fail "the fifo is missing"

info "again with --overwrite, over files nobody may not write"
expect_status 0 as_nobody "$BUILD/cairn" restore -r "$T/repo" m1/latest --target "$T/dst/out" --overwrite
assert_empty_output rsync -rlptHXD --checksum --dry-run --itemize-changes \
	--exclude=/special/null-chr --exclude=/special/loop-blk --exclude=/special/odd-chr \
	"$T/src/" "$T/dst/out/"
