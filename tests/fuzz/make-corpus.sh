#!/usr/bin/env bash
# make-corpus.sh - regenerates the seed inputs in tests/fuzz/corpus/<target>/.
#
#   tests/fuzz/make-corpus.sh [BUILD]     (default: build; run `make` first)
#
# Builds a small repository with BUILD/cairn (init --no-encryption, then
# backups of a tree with small and multi-chunk files, an empty file, symlinks,
# xattrs, a hardlink, a fifo and an empty directory), and copies its objects
# into the corpus: whole objects for fuzz-envelope, packs for
# fuzz-pack-trailer, and the verified raw payloads (taken apart by
# tests/fuzz/unwrap.c, linked with BUILD/libcairn.a, which must be a build
# without sanitizers) for the payload decoders. Handmade edge cases follow:
# empty, truncated, trailing bytes, huge counts, wrong versions.
#
# Generated files are named repo-* and edge-*, and are replaced on every run;
# found-* files (inputs a libFuzzer run turned up, added by hand) are kept.
# Object ids, times and the repository id are random, so a run changes every
# repo-* file; commit the result only when the corpus should change.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
CORPUS=$SRC/tests/fuzz/corpus
TARGETS="envelope tree snapshot-header pack-trailer index config listing s3-list http-headers
files-cache"
# tar-names has hand-written seeds only (seed-*), which this script leaves alone.

if [ ! -x "$BUILD/cairn" ] || [ ! -f "$BUILD/libcairn.a" ]; then
	echo "make-corpus: no $BUILD/cairn or $BUILD/libcairn.a (run make first)" >&2
	exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/cairn-corpus.XXXXXX")
trap 'rm -rf "$T"' EXIT
export CAIRN_CACHE_DIR="$T/cache" LC_ALL=C TZ=UTC
unset CAIRN_REPO

PKGS="fuse3 sqlite3 libzstd libcurl libcrypto libarchive"
# shellcheck disable=SC2046,SC2086 # lists of flags and packages
${CC:-cc} -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -pthread -O1 -g -I"$SRC/store" \
	-o "$T/unwrap" "$SRC/tests/fuzz/unwrap.c" "$BUILD/libcairn.a" $(pkg-config --libs $PKGS)
unwrap() { "$T/unwrap" "$@"; }
cairn() { "$BUILD/cairn" "$1" -q "${@:2}"; }

for t in $TARGETS; do
	mkdir -p "$CORPUS/$t"
	rm -f "$CORPUS/$t"/repo-* "$CORPUS/$t"/edge-*
done

# --- little-endian bytes for handmade inputs ---------------------------------
# shellcheck disable=SC2059 # the format is the escaped bytes
le32() {
	local v=$1
	printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((v & 255)) $(((v >> 8) & 255)) \
		$(((v >> 16) & 255)) $(((v >> 24) & 255)))"
}
le64() {
	le32 $(($1 & 0xffffffff))
	le32 $((($1 >> 32) & 0xffffffff))
}
zeros() { head -c "$1" /dev/zero; }
# truncated NAME SRC DIR: the first half and all but the last byte of SRC.
truncated() {
	local size
	size=$(stat -c %s "$2")
	head -c $((size / 2)) "$2" >"$3/edge-$1-half"
	head -c $((size - 1)) "$2" >"$3/edge-$1-short"
	{ cat "$2"; printf 'x'; } >"$3/edge-$1-trailing"
}

# --- a repository ------------------------------------------------------------
R=$T/repo
D=$T/data
mkdir -p "$D/etc/conf.d" "$D/var/empty" "$D/bin"
printf 'hello\n' >"$D/etc/motd"
printf 'x' >"$D/etc/one-byte"
: >"$D/etc/empty"
printf 'key = "value"\n' >"$D/etc/conf.d/app.conf"
# a compressible multi-chunk file, so a tree has extents and a pack has chunks
seq 1 30000 | sed 's/$/ replica quorum commit/' >"$D/var/log.txt"
head -c 3000 /dev/urandom >"$D/bin/tool"
ln "$D/etc/motd" "$D/etc/motd.hardlink"
ln -s motd "$D/etc/motd.link"
ln -s ../etc/conf.d/app.conf "$D/bin/app.conf"
mkfifo "$D/var/fifo"
chmod 0750 "$D/bin"
setfattr -n user.comment -v 'backed up' "$D/etc/motd"
setfattr -n user.empty "$D/etc/one-byte"
setfattr -n user.a -v 1 "$D/bin/tool"
setfattr -n user.b -v 2 "$D/bin/tool"
touch -h -d '2026-01-02 03:04:05.123456789' "$D/etc/motd" "$D/etc/motd.link"

cairn init -r "$R" --no-encryption --chunk-size 16K
cp "$R/snapshot-list" "$T/listing-0"
cairn backup -r "$R" --member replica-0 --time 2026-11-22T205328Z --tag nightly "$D"
cp "$R/snapshot-list" "$T/listing-1"
printf 'changed\n' >>"$D/etc/motd"
cairn backup -r "$R" --member replica-0 --time 2026-11-23T205328Z --tag nightly --tag v2 "$D"
mkdir "$T/empty"
cairn backup -r "$R" --member session-db --time 1970-01-01 "$T/empty"
cp "$R/snapshot-list" "$T/listing-3"
for f in "$CAIRN_CACHE_DIR"/*/files/*; do
	cp "$f" "$CORPUS/files-cache/repo-${f##*/}"
done
F=$CORPUS/files-cache
: >"$F/edge-empty"
printf 'CAIRNFC2' >"$F/edge-magic-only"
{ printf 'CAIRNFC2'; head -c 36 /dev/zero; printf '\377\377\377\377\377\377\377\177'; } >"$F/edge-huge-count"
{ printf 'CAIRNFC2'; head -c 32 /dev/zero; printf '\377\377\377\177'; } >"$F/edge-huge-packs"
head -c 100 "$F/repo-replica-0" >"$F/edge-truncated"
{ cat "$F/repo-replica-0"; printf 'x'; } >"$F/edge-trailing"

R2=$T/repo-none
cairn init -r "$R2" --no-encryption --compression none

# copy_objects DIR PREFIX NAME: whole objects under R/DIR into fuzz-envelope,
# their payloads into the corpus of target NAME.
copy_objects() {
	local i=0 f
	for f in "$R"/"$1"/*; do
		cp "$f" "$CORPUS/envelope/repo-$2-$i"
		unwrap payload "$f" "$CORPUS/$3/repo-$2-$i"
		i=$((i + 1))
	done
}
copy_objects snapshots snapshot snapshot-header
copy_objects trees tree tree
copy_objects index index index
cp "$R/config" "$CORPUS/envelope/repo-config"
unwrap payload "$R/config" "$CORPUS/config/repo-config"
cp "$R2/config" "$CORPUS/envelope/repo-config-none"
unwrap payload "$R2/config" "$CORPUS/config/repo-config-none"
for n in 0 1 3; do
	cp "$T/listing-$n" "$CORPUS/envelope/repo-listing-$n"
	unwrap payload "$T/listing-$n" "$CORPUS/listing/repo-listing-$n"
done
i=0
for f in "$R"/packs/*/*; do
	cp "$f" "$CORPUS/pack-trailer/repo-pack-$i"
	unwrap pack "$f" "$T/pack-$i"
	cp "$T/pack-$i-trailer" "$CORPUS/pack-trailer/repo-trailer-$i"
	i=$((i + 1))
done
# a few chunk envelopes (compressed and stored raw), not all of them
for f in "$T"/pack-*-chunk-[012]; do
	[ -f "$f" ] && cp "$f" "$CORPUS/envelope/repo-${f##*/}"
done

# --- envelope edge cases -----------------------------------------------------
E=$CORPUS/envelope
: >"$E/edge-empty"
truncated config "$R/config" "$E"
head -c 48 "$R/config" >"$E/edge-header-only"
: >"$T/nothing"
for k in 1 2 3 4 5 6 7; do
	unwrap seal "$k" 0 "$T/nothing" "$E/edge-empty-payload-kind-$k"
done
seq 1 2000 >"$T/text"
unwrap seal 2 3 "$T/text" "$E/edge-zstd-chunk"
unwrap seal 2 0 "$T/text" "$E/edge-raw-chunk"
# A lock (version 1, shared, pid, created, refreshed, host, machine key) and
# one with empty names; prune-pending sets (version 1, count, then kind, id,
# since per entry), with three entries and with none. Backups remove their
# locks and prune-pending exists only mid-prune, so they are written here.
blob() { le32 ${#1}; printf '%s' "$1"; }
{ le32 1; printf '\x01'; le32 4242; le64 1795000000; le64 1795000300
  blob backup-host-1; blob 3f1c0e9a-boot-id/4026531836; } >"$T/lock"
unwrap seal 8 0 "$T/lock" "$E/repo-lock-shared"
{ le32 1; printf '\x02'; le32 7; le64 1795000000; le64 1795000000; le32 0; le32 0; } >"$T/lock"
unwrap seal 8 0 "$T/lock" "$E/edge-lock-empty-names"
{ le32 1; le32 3
  for k in 1 2 1; do
	# shellcheck disable=SC2059 # the formats are escaped bytes
	printf "\\x0$k"
	# shellcheck disable=SC2059
	printf "$(printf '%s' "$k" | sha256sum | cut -c1-64 | sed 's/../\\x&/g')"
	le64 $((1795000000 + k))
  done; } >"$T/pending"
unwrap seal 9 3 "$T/pending" "$E/repo-pending-3"
{ le32 1; le32 0; } >"$T/pending"
unwrap seal 9 0 "$T/pending" "$E/edge-pending-empty"
# header fields: unknown kind, flags, version, reserved byte, encrypted,
# a zstd frame claiming the largest raw length, raw != stored uncompressed
# shellcheck disable=SC2059 # $1 is escaped bytes
hdr() { printf 'CRN\x1e'; printf "$1"; le32 "$2"; le32 "$3"; zeros 32; }
{ hdr '\x01\x08\x00\x00' 0 0; } >"$E/edge-kind-8"
{ hdr '\x01\x02\x04\x00' 0 0; } >"$E/edge-unknown-flag"
{ hdr '\x02\x02\x00\x00' 0 0; } >"$E/edge-version-2"
{ hdr '\x01\x02\x00\x01' 0 0; } >"$E/edge-reserved-set"
{ hdr '\x01\x02\x02\x00' 4 4; printf 'abcd'; } >"$E/edge-encrypted"
{ hdr '\x01\x04\x01\x00' 16 $((1 << 30)); zstd -q -c <"$T/nothing" | head -c 16; } >"$E/edge-zstd-huge-raw"
{ hdr '\x01\x04\x00\x00' 4 5; printf 'abcd'; } >"$E/edge-raw-len-mismatch"
{ hdr '\x01\x04\x01\x00' 4294967295 4294967295; } >"$E/edge-max-lengths"

# --- tree edge cases ---------------------------------------------------------
TR=$CORPUS/tree
: >"$TR/edge-empty"
truncated tree "$CORPUS/tree/repo-tree-0" "$TR"
# header: version, n_packs, n_chunks, n_inodes, n_dirents, n_xattrs, n_extents
tree_hdr() { le32 1; le32 "$1"; le32 "$2"; le32 "$3"; le32 "$4"; le32 "$5"; le64 "$6"; }
# inode: type, perm, uid, gid, mtime, nsec, size, rdev, target blob, n_xattrs, n_extents
root_inode() { printf '\x01'; le32 493; le32 0; le32 0; le64 0; le32 0; le64 0; le64 0; le32 0; le32 0; le32 0; }
{ tree_hdr 0 0 1 0 0 0; root_inode; } >"$TR/edge-root-only"
{ tree_hdr 0 0 4294967295 0 0 0; root_inode; } >"$TR/edge-huge-inodes"
{ tree_hdr 4294967295 4294967295 4294967295 4294967295 4294967295 -1; root_inode; } >"$TR/edge-huge-all"
{ le32 2; tree_hdr 0 0 1 0 0 0 | tail -c +5; root_inode; } >"$TR/edge-version-2"
# a root that names itself: a cycle
{ tree_hdr 0 0 1 1 0 0; root_inode; le32 0; le32 0; le32 1; printf 'a'; } >"$TR/edge-root-cycle"

# --- snapshot header edge cases ----------------------------------------------
SH=$CORPUS/snapshot-header
: >"$SH/edge-empty"
truncated header "$CORPUS/snapshot-header/repo-snapshot-0" "$SH"
{ le32 1; le32 4294967295; printf 'm'; } >"$SH/edge-huge-member"
# version, member, time, tree id, host, tags (count given), counts, root
sh_body() {
	le32 1; le32 1; printf 'm'; le64 0; le32 0; zeros 32; le32 0; le32 "$1"
}
sh_tail() { zeros 32; le32 1; le32 493; le32 0; le32 0; le32 2; le64 0; le32 0; }
{ sh_body 0; sh_tail; } >"$SH/edge-minimal"
{ sh_body 4294967295; sh_tail; } >"$SH/edge-huge-tags"
{ sh_body 1; le32 1; printf ','; sh_tail; } >"$SH/edge-comma-tag"

# --- pack trailer edge cases -------------------------------------------------
PT=$CORPUS/pack-trailer
: >"$PT/edge-empty"
truncated pack "$CORPUS/pack-trailer/repo-pack-0" "$PT"
{ le32 0; printf 'CPK1'; } >"$PT/edge-footer-only"
{ le32 4294967295; printf 'CPK1'; } >"$PT/edge-huge-trailer-len"
le32 0 >"$PT/edge-payload-no-entries"
{ le32 4294967295; zeros 48; } >"$PT/edge-payload-huge-count"
{ le32 1; zeros 32; le64 4048; le32 48; le32 1; } >"$PT/edge-payload-last-entry"
{ le32 1; zeros 32; le64 4049; le32 48; le32 1; } >"$PT/edge-payload-past-end"
{ le32 1; zeros 32; le64 -1; le32 48; le32 1; } >"$PT/edge-payload-offset-wraps"

# --- index edge cases --------------------------------------------------------
IX=$CORPUS/index
: >"$IX/edge-empty"
truncated index "$CORPUS/index/repo-index-0" "$IX"
{ le32 1; le32 0; } >"$IX/edge-no-packs"
{ le32 1; le32 4294967295; zeros 36; } >"$IX/edge-huge-packs"
{ le32 1; le32 1; zeros 32; le32 4294967295; zeros 48; } >"$IX/edge-huge-entries"
{ le32 1; le32 1; zeros 32; le32 1; zeros 32; le64 -48; le32 48; le32 1; } >"$IX/edge-offset-wraps"
{ le32 2; le32 0; } >"$IX/edge-version-2"

# --- config edge cases -------------------------------------------------------
CF=$CORPUS/config
: >"$CF/edge-empty"
truncated config "$CORPUS/config/repo-config" "$CF"
cfg() { le32 "$1"; zeros 16; le32 "$2"; le32 "$3"; le32 "$4"; le32 "$5"; le32 "$6"; le32 "$7"; }
cfg 1 4096 16384 65536 3 16777216 0 >"$CF/edge-version-1"
cfg 3 4096 16384 65536 3 16777216 0 >"$CF/edge-version-3"
cfg 2 4096 16384 65536 3 16777216 1 >"$CF/edge-encrypted"
cfg 2 4096 16383 65536 3 16777216 0 >"$CF/edge-avg-not-pow2"
cfg 2 4096 16384 65536 4294967295 16777216 0 >"$CF/edge-negative-level"
cfg 2 4096 16384 65536 3 4096 0 >"$CF/edge-pack-below-max-chunk"
cfg 2 4096 4096 4096 0 4096 0 >"$CF/edge-smallest"

# --- listing edge cases ------------------------------------------------------
LS=$CORPUS/listing
: >"$LS/edge-empty"
truncated listing "$CORPUS/listing/repo-listing-3" "$LS"
{ le32 2; le32 4294967295; zeros 36; } >"$LS/edge-huge-count"
{ le32 2; le32 2; printf '\xff%.0s' {1..32}; le32 0; zeros 32; le32 0; } >"$LS/edge-unsorted"
{ le32 2; le32 2; zeros 32; le32 0; zeros 32; le32 0; } >"$LS/edge-twice"
{ le32 2; le32 1; zeros 32; le32 5; printf 'hello'; } >"$LS/edge-header-not-its-id"
{ le32 2; le32 1; zeros 32; le32 4294967295; } >"$LS/edge-huge-header"
{ le32 1; le32 0; } >"$LS/edge-version-1"
{ le32 3; le32 0; } >"$LS/edge-version-3"

# --- S3 ListObjectsV2 replies (handmade after the AWS documentation) ----------
S3=$CORPUS/s3-list
: >"$S3/edge-empty"
s3_page() {
	printf '<?xml version="1.0" encoding="UTF-8"?>\n'
	printf '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
	printf '<Name>bucket</Name><Prefix>%s</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>' "$1"
	printf '<IsTruncated>%s</IsTruncated>' "$2"
	shift 2
	for k in "$@"; do
		printf '<Contents><Key>%s</Key><LastModified>2026-11-22T20:53:28.000Z</LastModified>' "$k"
		printf '<ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>182</Size>'
		printf '<StorageClass>STANDARD</StorageClass></Contents>'
	done
}
{ s3_page index/ false index/e3ffe93c480fa61d7759e32d53e523c9534669f60f28acafd527c836b946442b \
	index/0a; printf '</ListBucketResult>'; } >"$S3/edge-index-page"
{ s3_page repo/one/snapshots/ true repo/one/snapshots/1fc8 repo/one/snapshots/3ac7
  printf '<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>'
  printf '</ListBucketResult>'; } >"$S3/edge-truncated-page"
{ s3_page '' false 'a&amp;b&lt;&gt;&quot;&apos;' 'x&#65;&#x42;' 'bad&#0;' 'bad&zz;'
  printf '</ListBucketResult>'; } >"$S3/edge-entities"
{ s3_page '' false x index/ repo/one/ 'INDEX/AB' 'index//a' 'index/../x'
  printf '</ListBucketResult>'; } >"$S3/edge-odd-keys"
{ s3_page '' true index/a; printf '</ListBucketResult>'; } >"$S3/edge-truncated-no-token"
{ s3_page '' false; printf '<Contents><Key>a</Key>'; } >"$S3/edge-unterminated"
{ s3_page '' false; printf '<Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>'; } \
	>"$S3/edge-bad-size"
printf '<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>' >"$S3/edge-error"

# --- HTTP reply headers ------------------------------------------------------
H=$CORPUS/http-headers
: >"$H/edge-empty"
hdrs() { printf 'HTTP/1.1 206 Partial Content\r\nServer: test\r\n%s\r\n\r\n' "$1"; }
hdrs $'Content-Range: bytes 0-99/1000\r\nContent-Length: 100' >"$H/edge-range"
hdrs $'content-range:\tbytes 5-5/6 \r\nContent-Length: 1' >"$H/edge-range-tab"
hdrs 'Content-Range: bytes */1000' >"$H/edge-range-unsatisfied"
hdrs 'Content-Range: bytes 0-99/*' >"$H/edge-range-unknown-total"
hdrs 'Content-Range: bytes 100-99/1000' >"$H/edge-range-backwards"
hdrs 'Content-Range: bytes 0-18446744073709551615/18446744073709551616' >"$H/edge-range-overflow"
hdrs 'Content-Length: 18446744073709551615' >"$H/edge-length-max"
printf 'bytes 0-0/1' >"$H/edge-bare-value"

for t in $TARGETS; do
	printf '%-16s %3d files %7d bytes\n' "$t" "$(find "$CORPUS/$t" -type f | wc -l)" \
		"$(find "$CORPUS/$t" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')"
done
