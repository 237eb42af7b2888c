#!/usr/bin/env bash
# Every attempt to change the mount fails with EROFS, and changes nothing.
. "$(dirname "$0")/lib.sh"

cairn init -r "$T/repo" --no-encryption
mkdir -p "$T/src/dir/sub"
echo content >"$T/src/file"
echo inner >"$T/src/dir/inner"
ln -s file "$T/src/link"
setfattr -n user.k -v v "$T/src/file"
cairn backup -r "$T/repo" --member m --time 2026-11-22T205328Z "$T/src"
mount_repo "$T/repo" "$T/mnt"
s="$T/mnt/snapshots/m/2026-11-22T205328Z"
[ -f "$s/file" ] || fail "no file in the snapshot"

# erofs WHAT CMD...: CMD must fail, saying "Read-only file system".
erofs() {
	local what=$1
	shift
	run_cmd "$@"
	[ "$STATUS" -ne 0 ] || fail "$what succeeded on the read-only mount: $*"
	assert_contains "$ERR" "Read-only file system" "$what: expected EROFS from: $*"
}
erofs "create a file" touch "$s/new"
erofs "touch a file" touch "$s/file"
erofs "set times" touch -d 2020-01-01 "$s/dir"
erofs "mkdir" mkdir "$s/newdir"
erofs "mkdir in a synthetic directory" mkdir "$T/mnt/snapshots/m/new"
erofs "mkdir in /snapshots" mkdir "$T/mnt/snapshots/newmember"
erofs "rm" rm -f "$s/file"
erofs "rmdir" rmdir "$s/dir/sub"
erofs "rm -r" rm -rf "$s/dir"
erofs "rm a snapshot" rm -rf "$T/mnt/snapshots/m/2026-11-22T205328Z"
erofs "rm latest" rm -f "$T/mnt/snapshots/m/latest"
erofs "truncate by redirection" bash -c "echo x > '$s/file'"
erofs "append" bash -c "echo x >> '$s/file'"
erofs "truncate" truncate -s 0 "$s/file"
erofs "mv within" mv "$s/file" "$s/file2"
erofs "mv a directory" mv "$s/dir" "$s/dir2"
erofs "ln" ln "$s/file" "$s/hardlink"
erofs "ln -s" ln -s file "$s/symlink2"
erofs "mkfifo" mkfifo "$s/fifo"
erofs "mknod" mknod "$s/dev" c 1 3
erofs "setfattr" setfattr -n user.new -v 1 "$s/file"
erofs "change an xattr" setfattr -n user.k -v w "$s/file"
erofs "remove an xattr" setfattr -x user.k "$s/file"
erofs "chmod" chmod 0777 "$s/file"
erofs "chown" chown 1:1 "$s/file"
erofs "open for writing" python3 -c "import os, sys; os.open(sys.argv[1], os.O_WRONLY)" "$s/file"
erofs "open read-write" python3 -c "import os, sys; os.open(sys.argv[1], os.O_RDWR)" "$s/file"
erofs "O_CREAT" python3 -c "import os, sys; os.open(sys.argv[1], os.O_RDONLY | os.O_CREAT)" "$s/nope"
erofs "fallocate" fallocate -l 1M "$s/file"

info "nothing changed"
assert_eq content "$(cat "$s/file")" "the file's contents"
tree_equal "$T/src" "$s"
assert_eq v "$(getfattr --only-values -n user.k "$s/file")" "the xattr"
daemon_alive "$T/mnt" || fail "cairnfs died"
unmount_repo "$T/mnt"
