#!/usr/bin/env bash
# A tree with every kind of entry comes back from the mount exactly: names in
# any bytes, modes, owners, nanosecond mtimes, hardlinks, symlinks, devices,
# fifos, xattrs, and sparse files whose holes stay holes.
. "$(dirname "$0")/lib.sh"

make_full_tree "$T/src"
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m1 --time 2026-11-22T205328Z "$T/src"
mount_repo "$T/repo" "$T/mnt"
snap="$T/mnt/snapshots/m1/2026-11-22T205328Z"
[ -d "$snap" ] || fail "no snapshot directory $snap: $(ls -la "$T/mnt/snapshots/m1" 2>&1)"

info "rsync -aHAX --checksum finds no difference"
tree_equal "$T/src" "$snap"
tree_equal "$T/src" "$T/mnt/snapshots/m1/latest"

info "diff -r of the parts that hold no device nodes"
for d in "$T"/src/*; do
	name=${d##*/}
	[ "$name" = special ] && continue
	assert_empty_output diff -r --no-dereference "$d" "$snap/$name"
done

info "lstat of every entry agrees (type, mode, owner, size, nlink, mtime ns, rdev, hardlinks)"
lstat_all() {
	python3 - "$1" <<'PY'
import os, stat, sys
root = os.fsencode(sys.argv[1])
first = {}
for dirpath, dirnames, filenames in os.walk(root):
    dirnames.sort()
    for name in sorted(dirnames + filenames) + ([b""] if dirpath == root else []):
        p = os.path.join(dirpath, name) if name else dirpath
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        link = first.setdefault(st.st_ino, rel) if not stat.S_ISDIR(st.st_mode) else "-"
        size = "-" if stat.S_ISDIR(st.st_mode) else st.st_size
        rdev = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}" \
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "-"
        print(repr(rel), oct(st.st_mode), st.st_uid, st.st_gid, size, st.st_nlink,
              st.st_mtime_ns, rdev, repr(link))
PY
}
lstat_all "$T/src" >"$T/stat.src"
lstat_all "$snap" >"$T/stat.mnt"
[ "$(wc -l <"$T/stat.src")" -ge 90 ] || fail "the source tree walk found too little: $(wc -l <"$T/stat.src")"
assert_empty_output diff "$T/stat.src" "$T/stat.mnt"

info "hardlinks share an inode in the mount"
assert_eq "$(stat -c %i "$snap/links/a/three")" "$(stat -c %i "$snap/links/b/c/three-too")" \
	"hardlinks across directories have different inodes"
assert_eq 3 "$(stat -c %h "$snap/links/b/three")" "nlink of a file with three names"
[ "$(stat -c %i "$snap/links/two")" != "$(stat -c %i "$snap/links/a/three")" ] ||
	fail "distinct files share an inode"

info "symlink targets"
for l in relative absolute dangling to-dir long-target; do
	assert_eq "$(readlink "$T/src/symlinks/$l")" "$(readlink "$snap/symlinks/$l")" "target of $l"
done

info "xattrs (getfattr -d)"
for f in xattrs/file xattrs; do
	assert_eq "$(cd "$T/src" && getfattr -h -d -e hex "$f" 2>&1)" \
		"$(cd "$snap" && getfattr -h -d -e hex "$f" 2>&1)" "xattrs of $f"
done
assert_eq "0x00ff7f80010203fe" "$(cd "$snap" && getfattr -h -e hex -n user.binary xattrs/file |
	sed -n 's/^user.binary=//p')" "binary xattr value"
[ -z "$(getfattr -h -d "$snap/small.txt" 2>&1)" ] || fail "xattrs on a file that had none"

info "sparse files: blocks, du, SEEK_DATA/SEEK_HOLE, and a sparse copy out"
src_blocks=$(stat -c %b "$T/src/sparse.img")
mnt_blocks=$(stat -c %b "$snap/sparse.img")
[ "$mnt_blocks" -le $((src_blocks * 2)) ] ||
	fail "st_blocks of sparse.img in the mount is $mnt_blocks, source $src_blocks"
[ "$mnt_blocks" -ge $((src_blocks / 2)) ] ||
	fail "st_blocks of sparse.img in the mount is $mnt_blocks, below its 16 MiB of data ($src_blocks)"
du_kib=$(du -k "$snap/sparse.img" | cut -f1)
[ "$du_kib" -le 65536 ] || fail "du of the 1 GiB sparse file in the mount says $du_kib KiB"
[ "$(stat -c %b "$snap/all-hole.img")" -eq 0 ] ||
	fail "a file that is all hole has blocks in the mount: $(stat -c %b "$snap/all-hole.img")"

segments() {
	python3 - "$1" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
off, out = 0, []
while off < size:
    try:
        data = os.lseek(fd, off, os.SEEK_DATA)
    except OSError as e:
        if e.errno == 6:  # ENXIO: no data after off
            break
        raise
    hole = os.lseek(fd, data, os.SEEK_HOLE)
    out.append(f"{data}-{hole}")
    off = hole
print(" ".join(out))
PY
}
for f in sparse.img sparse-tail.img all-hole.img random.bin; do
	assert_eq "$(segments "$T/src/$f")" "$(segments "$snap/$f")" "data segments of $f (SEEK_DATA/SEEK_HOLE)"
done
cp --sparse=always "$snap/sparse.img" "$T/sparse-copy.img"
cmp "$T/src/sparse.img" "$T/sparse-copy.img" || fail "sparse copy differs"
copy_blocks=$(stat -c %b "$T/sparse-copy.img")
# A filled hole would be megabytes; ext4 may count an extent-tree block or
# two more in the copy than in the source (seen: 8 sectors), so allow 64.
[ "$copy_blocks" -le $((src_blocks + 64)) ] ||
	fail "cp --sparse=always out of the mount allocated $copy_blocks blocks, the source $src_blocks"
cp --sparse=auto "$snap/sparse-tail.img" "$T/sparse-tail-copy.img"
[ "$(stat -c %b "$T/sparse-tail-copy.img")" -le "$(stat -c %b "$T/src/sparse-tail.img")" ] ||
	fail "cp --sparse=auto out of the mount filled holes"

info "reads at odd offsets and sizes agree"
python3 - "$T/src/big.bin" "$snap/big.bin" <<'PY'
import os, random, sys
a, b = (os.open(p, os.O_RDONLY) for p in sys.argv[1:3])
size = os.fstat(a).st_size
rng = random.Random(7)
for _ in range(300):
    off = rng.randrange(size + 1000)
    n = rng.choice([1, 7, 4095, 4096, 65537, 1 << 20, 3 << 20])
    if os.pread(a, n, off) != os.pread(b, n, off):
        sys.exit(f"pread of {n} bytes at {off} differs")
PY

daemon_alive "$T/mnt" || fail "cairnfs died"
unmount_repo "$T/mnt"
