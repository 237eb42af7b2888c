#!/usr/bin/env bash
# cairn backup --tar refuses a hostile archive by the name of its entry and
# writes no snapshot: '../x', '/etc/x', and a symlink to /tmp followed by a
# file through it; with --strip-unsafe it drops those entries instead, each
# reported, and keeps the rest. Nothing is ever written outside the
# repository (the tar is never extracted, but the probe files prove it).
. "$(dirname "$0")/lib.sh"

cairn init -r "$T/repo" --no-encryption
probe="cairn-hostile-$$-$RANDOM"

# hostile NAME ENTRY...: a tar with an ordinary file, then ENTRY... where an
# entry is "file:PATH" or "symlink:PATH:TARGET".
hostile() {
	python3 - "$T/$1.tar" "${@:2}" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    def add_file(name, data=b"x\n"):
        i = tarfile.TarInfo(name); i.size = len(data); i.mtime = 1700000000
        t.addfile(i, io.BytesIO(data))
    add_file("ok.txt", b"fine\n")
    for e in sys.argv[2:]:
        kind, rest = e.split(":", 1)
        if kind == "file":
            add_file(rest)
        else:
            name, target = rest.split(":", 1)
            i = tarfile.TarInfo(name); i.type = tarfile.SYMTYPE; i.linkname = target
            t.addfile(i)
PY
}

hostile dotdot "file:../$probe"
hostile absolute "file:/etc/$probe"
hostile through-symlink "symlink:tmp:/tmp" "file:tmp/$probe"
hostile hardlink-out "file:later"
python3 - "$T/hardlink-out.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "a") as t:
    i = tarfile.TarInfo("escape"); i.type = tarfile.LNKTYPE; i.linkname = "../../etc/passwd"
    t.addfile(i)
PY

for case in dotdot absolute through-symlink hardlink-out; do
	info "$case: refused by name, no snapshot"
	expect_status 1 cairn backup -r "$T/repo" --member m1 --tar "$T/$case.tar"
	assert_contains "$ERR" "refusing entry"
	assert_contains "$ERR" "--strip-unsafe"
	assert_eq "" "$(cairn snapshots -r "$T/repo" --json | python3 -c 'import json,sys; print(" ".join(s["member"] for s in json.load(sys.stdin)))')" \
		"no snapshot after the $case archive"
done
expect_status 1 cairn backup -r "$T/repo" --member m1 --tar "$T/dotdot.tar"
assert_contains "$ERR" "'../$probe': it has a '..' component"
expect_status 1 bash -c '"$0" backup -r "$1" --member m1 --tar - <"$2"' "$BUILD/cairn" "$T/repo" "$T/absolute.tar"
assert_contains "$ERR" "'/etc/$probe': it is an absolute path"
expect_status 1 cairn backup -r "$T/repo" --member m1 --tar "$T/through-symlink.tar"
assert_contains "$ERR" "'tmp/$probe': it leads through a symlink of the archive ('tmp')"
[ ! -e "/tmp/$probe" ] && [ ! -e "/etc/$probe" ] && [ ! -e "$(dirname "$T")/$probe" ] ||
	fail "a hostile entry reached the filesystem"

info "--strip-unsafe drops each unsafe entry, reporting it, and keeps the rest"
expect_status 0 cairn backup -r "$T/repo" --member m1 --strip-unsafe --tar "$T/through-symlink.tar"
assert_contains "$ERR" "dropping entry 'tmp/$probe'"
assert_contains "$ERR" "1 unsafe entries were left out"
expect_status 0 cairn backup -r "$T/repo" --member m2 --strip-unsafe --tar "$T/hardlink-out.tar"
assert_contains "$ERR" "dropping entry 'escape' (a hardlink to '../../etc/passwd')"
mount_repo "$T/repo" "$T/mnt"
assert_eq "ok.txt tmp" "$(ls "$T/mnt/snapshots/m1/latest" | tr '\n' ' ' | sed 's/ $//')"
assert_eq "/tmp" "$(readlink "$T/mnt/snapshots/m1/latest/tmp")"
assert_eq "fine" "$(cat "$T/mnt/snapshots/m1/latest/ok.txt")"
assert_eq "later ok.txt" "$(ls "$T/mnt/snapshots/m2/latest" | tr '\n' ' ' | sed 's/ $//')"
unmount_repo "$T/mnt"

info "an archive of nothing but unsafe entries backs up nothing"
python3 - "$T/only-bad.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    i = tarfile.TarInfo("../only"); i.size = 1
    t.addfile(i, io.BytesIO(b"x"))
PY
expect_status 1 cairn backup -r "$T/repo" --member m3 --strip-unsafe --tar "$T/only-bad.tar"
assert_contains "$ERR" "every entry was dropped as unsafe"
