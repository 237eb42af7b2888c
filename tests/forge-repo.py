#!/usr/bin/env python3
"""Forges hostile objects into a local cairn repository, for the hostile
repository suite (tests/integration/hostile-repo.sh).

An attacker who can write the bucket can write any object with a valid
envelope and hash (without encryption nothing else stops them), so every
object forged here is well framed: the envelope's SHA-256 matches, and
snapshot headers name their trees by the trees' real ids. What is hostile is
the content. Layouts: man/cairn-repository.5 and store/format/*.c.

Usage: forge-repo.py REPO CASE     adds snapshot CASE/2026-01-02T030405Z

Cases:
  huge-counts    a 100-byte tree claiming 2^32-1 inodes, dirents and extents
  ratio-bomb     a zstd tree of a few KB that claims 64 MiB
  deep-chain     20,000 nested one-byte directories (65 KB of tree)
  dup-names      two entries of one name in a directory
  setid-devices  a setuid-root file, a setgid file, a world-writable block
                 device and a char device (a valid tree)
  lying-lengths  files whose chunks lie: in a pack that does not exist, past
                 the end of a real pack, with a stored length that is not
                 the real one
  missing-tree   a header whose tree does not exist
  huge-xattrs    64 xattrs of 64 KiB on one file (a 4 MiB tree, stored raw)

Cases that forge other objects, adding no snapshot:
  lying-trailer  two packs, each named by the SHA-256 of its bytes, whose
                 trailers lie: one lists entries past the end, over the
                 trailer and overlapping each other; one claims 2^32-1
                 entries in a 48-byte payload
  dup-listing    the snapshot list again, with its first entry twice (forge
                 it after the snapshots)
"""

import hashlib
import os
import struct
import subprocess
import sys
import tempfile

MAGIC = b"CRN\x1e"
KIND_PACK_TRAILER, KIND_TREE, KIND_SNAPSHOT, KIND_LISTING = 3, 4, 5, 7
DIR, FILE, SYMLINK, FIFO, CHR, BLK, SOCK = 1, 2, 3, 4, 5, 6, 7


def blob(b):
    return struct.pack("<I", len(b)) + b


def envelope(kind, raw, compress=False):
    payload, flags = raw, 0
    if compress:
        with tempfile.NamedTemporaryFile() as f:
            f.write(raw)
            f.flush()
            payload = subprocess.run(["zstd", "-q", "-3", "-c", f.name], check=True,
                                     stdout=subprocess.PIPE).stdout
        flags = 1
    return (MAGIC + bytes([1, kind, flags, 0]) + struct.pack("<II", len(payload), len(raw))
            + hashlib.sha256(raw).digest() + payload)


def inode(type_, perm=0o755, uid=0, gid=0, size=0, rdev=0, target=b"", n_xattrs=0,
          n_extents=0):
    return (struct.pack("<BIIIqIQQ", type_, perm, uid, gid, 1767323045, 0, size, rdev)
            + blob(target) + struct.pack("<II", n_xattrs, n_extents))


def tree(inodes, dirents, packs=(), chunks=(), xattrs=(), extents=(), counts=None):
    """inodes: encoded records; dirents: (parent, inode, name), sorted here."""
    dirents = sorted(dirents, key=lambda d: (d[0], d[2]))
    n = counts or (len(packs), len(chunks), len(inodes), len(dirents), len(xattrs),
                   len(extents))
    out = struct.pack("<IIIIIIQ", 1, *n)
    out += b"".join(packs)
    out += b"".join(struct.pack("<32sIQII", *c) for c in chunks)
    out += b"".join(inodes)
    out += b"".join(blob(k) + blob(v) for k, v in xattrs)
    out += b"".join(struct.pack("<QI", *e) for e in extents)
    out += b"".join(struct.pack("<II", p, i) + blob(name) for p, i, name in dirents)
    return out


def header(member, tree_id, n_inodes, root_nlink=2):
    return (struct.pack("<I", 1) + blob(member.encode()) + struct.pack("<qI", 1767323045, 0)
            + tree_id + blob(b"forger\x1b[2J") + struct.pack("<I", 1) + blob(b"tag\x1b]0;x\x07")
            + struct.pack("<QQQQ", 1, 1, 0, 0) + struct.pack("<I", n_inodes)
            + struct.pack("<IIII", 0o755, 0, 0, root_nlink) + struct.pack("<qI", 1767323045, 0))


def put(repo, name, data):
    path = os.path.join(repo, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.rename(path + ".tmp", path)


def add_snapshot(repo, member, tree_raw, n_inodes, compress=True, write_tree=True):
    tree_id = hashlib.sha256(tree_raw).digest()
    if write_tree:
        put(repo, "trees/" + tree_id.hex(), envelope(KIND_TREE, tree_raw, compress))
    h = header(member, tree_id, n_inodes)
    put(repo, "snapshots/" + hashlib.sha256(h).hexdigest(), envelope(KIND_SNAPSHOT, h))


def a_real_pack(repo):
    base = os.path.join(repo, "packs")
    for d in sorted(os.listdir(base)):
        for p in sorted(os.listdir(os.path.join(base, d))):
            return bytes.fromhex(p), os.path.getsize(os.path.join(base, d, p))
    sys.exit("forge-repo: no pack in %s (back something up first)" % repo)


def case_tree(repo, case):
    root = inode(DIR)
    if case == "huge-counts":
        raw = tree([root], [], counts=(0, 0, 0xFFFFFFFF, 0xFFFFFFFF, 0, 0xFFFFFFFF))
        raw += b"\0" * 64
        return raw, 1, True
    if case == "ratio-bomb":
        return b"\1\0\0\0" + b"\0" * (64 << 20), 1, True
    if case == "deep-chain":
        n = 20000
        return tree([root] + [inode(DIR)] * n, [(i, i + 1, b"d") for i in range(n)]), n + 1, True
    if case == "dup-names":
        raw = tree([root, inode(FILE, 0o644), inode(FILE, 0o644)], [])
        # written unsorted-safe by hand: two dirents (0, 1, "a"), (0, 2, "a")
        raw = raw[:16] + struct.pack("<I", 2) + raw[20:]
        raw += struct.pack("<II", 0, 1) + blob(b"a") + struct.pack("<II", 0, 2) + blob(b"a")
        return raw, 3, True
    if case == "setid-devices":
        inodes = [root, inode(FILE, 0o4755), inode(FILE, 0o2755, gid=0),
                  inode(BLK, 0o666, rdev=(8 << 8) | 0), inode(CHR, 0o666, rdev=(1 << 8) | 3)]
        dirents = [(0, 1, b"suid"), (0, 2, b"sgid"), (0, 3, b"sda"), (0, 4, b"mem")]
        return tree(inodes, dirents), len(inodes), True
    if case == "lying-lengths":
        real, size = a_real_pack(repo)
        missing = hashlib.sha256(b"no such pack").digest()
        h = hashlib.sha256(b"chunk").digest()
        packs = [real, missing]
        chunks = [(h, 1, 0, 1000, 4096),             # in a pack that does not exist
                  (h, 0, size + 4096, 1000, 4096),   # past the end of a real pack
                  (h, 0, 0, 64, 4096)]               # a stored length that is not the real one
        inodes = [root] + [inode(FILE, 0o644, size=4096, n_extents=1) for _ in range(3)]
        extents = [(0, 0), (0, 1), (0, 2)]
        dirents = [(0, 1, b"missing-pack"), (0, 2, b"past-end"), (0, 3, b"wrong-length")]
        return tree(inodes, dirents, packs, chunks, extents=extents), 4, True
    if case == "missing-tree":
        return tree([root], []), 1, False
    if case == "huge-xattrs":
        xattrs = [(b"user.x%02d" % i, bytes([i]) * 65536) for i in range(64)]
        inodes = [root, inode(FILE, 0o644, n_xattrs=64)]
        return tree(inodes, [(0, 1, b"f")], xattrs=xattrs), 2, False
    sys.exit("forge-repo: unknown case '%s'" % case)


def put_pack(repo, data):
    """Stores a pack under its name, and prints the name."""
    name = hashlib.sha256(data).hexdigest()
    put(repo, "packs/%s/%s" % (name[:2], name), data)
    print("packs/%s/%s" % (name[:2], name))


def pack_with_trailer(chunks, payload):
    t = envelope(KIND_PACK_TRAILER, payload)
    return chunks + t + struct.pack("<I", len(t)) + b"CPK1"


def case_lying_trailer(repo):
    real, size = a_real_pack(repo)
    with open(os.path.join(repo, "packs", real.hex()[:2], real.hex()), "rb") as f:
        data = f.read()
    (tlen,) = struct.unpack("<I", data[-8:-4])
    chunks = data[:len(data) - 8 - tlen]
    h = hashlib.sha256(b"chunk").digest()
    entries = [(h, len(chunks) + 4096, 100, 100),   # past the end
               (h, len(chunks) - 10, 200, 100),      # over the trailer
               (h, 0, 64, 64), (h, 32, 64, 64)]      # overlapping
    payload = struct.pack("<I", len(entries)) + b"".join(struct.pack("<32sQII", *e)
                                                         for e in entries)
    put_pack(repo, pack_with_trailer(chunks, payload))
    put_pack(repo, pack_with_trailer(chunks, struct.pack("<I", 0xFFFFFFFF) + b"\0" * 48))


def case_dup_listing(repo):
    with open(os.path.join(repo, "snapshot-list"), "rb") as f:
        obj = f.read()
    flags, (stored, raw_len) = obj[6], struct.unpack("<II", obj[8:16])
    payload = obj[48:48 + stored]
    if flags & 1:
        payload = subprocess.run(["zstd", "-q", "-d", "-c"], input=payload, check=True,
                                 stdout=subprocess.PIPE).stdout
    version, n = struct.unpack("<II", payload[:8])
    (hlen,) = struct.unpack("<I", payload[40:44])
    first = payload[8:44 + hlen]
    raw = struct.pack("<II", version, n + 1) + first + payload[8:]
    put(repo, "snapshot-list", envelope(KIND_LISTING, raw, compress=True))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    repo, case = sys.argv[1], sys.argv[2]
    if case == "lying-trailer":
        return case_lying_trailer(repo)
    if case == "dup-listing":
        return case_dup_listing(repo)
    raw, n_inodes, compress = case_tree(repo, case)
    add_snapshot(repo, case, raw, n_inodes, compress=compress, write_tree=case != "missing-tree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
