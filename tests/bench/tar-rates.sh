#!/usr/bin/env bash
# tar-rates.sh BUILD [DIR] - how fast cairn ingests tar streams and imports
# archives, beside a backup of the same tree from its directory. A
# benchmark, not a test: it prints MB/s (of the tree's apparent size; 1 MB =
# 10^6 bytes) and asserts nothing.
#
# DIR is the tree to use (default: one made here, ~430 MB: six 50 MB random
# files, 100 MB of log-like text, 2000 files of 20 KB). Each row backs the
# tree up into a fresh local repository, with a warm page cache:
#   dir         cairn backup DIR
#   tar file    cairn backup --tar T.tar              (an uncompressed archive)
#   tar pipe    tar cf - -C DIR . | cairn backup --tar -
#   tar.gz      cairn backup --tar T.tar.gz           (gzip -6 made by GNU tar)
#   import      cairn import --member m T.tar.gz      (the same, through import)
#   stdin       cairn backup --stdin f < one 300 MB file of the tree, concatenated
set -euo pipefail

BUILD=$(cd "${1:?usage: tar-rates.sh BUILD [DIR]}" && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/cairn-tar-rates.XXXXXX")
trap 'rm -rf "$W"' EXIT
export CAIRN_CACHE_DIR=$W/cache LC_ALL=C TZ=UTC

if [ -n "${2:-}" ]; then
	D=$(cd "$2" && pwd)
else
	D=$W/data
	mkdir -p "$D/many"
	for i in 1 2 3 4 5 6; do head -c 50M /dev/urandom >"$D/rand$i.bin"; done
	awk 'BEGIN { for (i = 0; i < 1500000; i++)
		printf "2026-11-22T20:%02d:%02d INFO block height=%d hash=%08x peer=%d\n",
			i % 60, i % 60, i, (i * 2654435761) % 4294967296, i % 97 }' >"$D/log.txt"
	for i in $(seq 1 2000); do head -c 20000 /dev/urandom >"$D/many/f$i"; done
fi
size=$(du -sb --apparent-size "$D" | cut -f1)
tar -C "$D" -cf "$W/t.tar" .
tar -C "$D" -czf "$W/t.tar.gz" .
cat "$D"/*.bin >"$W/one.bin"
one=$(stat -c %s "$W/one.bin")
cat "$W/t.tar" "$W/t.tar.gz" "$W/one.bin" >/dev/null # warm

n=0
row() { # row NAME BYTES CMD...
	local name=$1 bytes=$2 start end
	shift 2
	n=$((n + 1))
	"$BUILD/cairn" init -r "$W/repo$n" --no-encryption >/dev/null 2>&1
	start=$(date +%s.%N)
	"$@" >/dev/null 2>"$W/err" || { echo "$name failed: $(cat "$W/err")" >&2; return 1; }
	end=$(date +%s.%N)
	awk -v n="$name" -v b="$bytes" -v s="$start" -v e="$end" \
		'BEGIN { printf "%-10s %8.1f s %8.1f MB/s\n", n, e - s, b / (e - s) / 1e6 }'
}
R() { echo "-r $W/repo$((n + 1))"; }

echo "tree: $D, $((size / 1000000)) MB apparent; $(nproc) cores"
row dir "$size" "$BUILD/cairn" backup $(R) --member m "$D"
row "tar file" "$size" "$BUILD/cairn" backup $(R) --member m --tar "$W/t.tar"
row "tar pipe" "$size" bash -c 'tar -C "$1" -cf - . | "$2" backup -r "$3" --member m --tar -' \
	_ "$D" "$BUILD/cairn" "$W/repo$((n + 1))"
row tar.gz "$size" "$BUILD/cairn" backup $(R) --member m --tar "$W/t.tar.gz"
row import "$size" "$BUILD/cairn" import $(R) --member m "$W/t.tar.gz"
row stdin "$one" bash -c '"$1" backup -r "$2" --member m --stdin f <"$3"' \
	_ "$BUILD/cairn" "$W/repo$((n + 1))" "$W/one.bin"
