#!/usr/bin/env bash
# fresh-machine.sh - what a machine with nothing but REPO pays to look at a
# remote repository: requests and bytes of a fresh `cairn snapshots` and of a
# fresh mount plus `ls -l` of one snapshot (empty cache directory each time),
# for a repository of 100 snapshots on S3 (OpenStack Swift with s3api on
# loopback) and the same repository over HTTP (tests/http-range-server.py);
# then the sequential read throughput of a 256 MiB file through a fresh mount
# of each (dd bs=1M, first read).
#
# Usage: tests/bench/fresh-machine.sh [BUILD]   (default build; needs Swift
# installed, as `make check` does). Prints a table on stdout; the counts come
# from `cairn -v` and the line cairnfs logs when it unmounts.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
# shellcheck source=../lib-s3.sh
. "$SRC/tests/lib-s3.sh"

W=$(mktemp -d "${TMPDIR:-/tmp}/cairn-fresh-machine.XXXXXX")
MNT=$W/mnt
cleanup() {
	set +e
	mountpoint -q "$MNT" && fusermount3 -u "$MNT"
	[ -z "${CAIRNFS_PID:-}" ] || wait "$CAIRNFS_PID" 2>/dev/null
	http_stop
	s3_stop
	rm -rf "$W"
}
trap cleanup EXIT
export LC_ALL=C TZ=UTC HOME=$W/home XDG_CACHE_HOME=$W/xdg
mkdir -p "$HOME" "$MNT"
say() {
	echo "fresh-machine: $*" >&2
}

say "building a local repository of 100 snapshots (4 members x 25)"
python3 - "$W/src" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(1)
for d in range(40):
    for f in range(25):
        p = os.path.join(root, f"dir{d:02d}", f"file{f:02d}.dat")
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as fh:
            fh.write(rng.randbytes(rng.randrange(100, 16384)))
PY
"$BUILD/cairn" init -q -r "$W/repo" --no-encryption
export CAIRN_CACHE_DIR=$W/cache-build
for i in $(seq 0 99); do
	member=member$((i % 4))
	# each backup changes a few files, like a day of work
	python3 -c "
import random, sys
rng = random.Random($i)
for _ in range(5):
    p = f'$W/src/dir{rng.randrange(40):02d}/file{rng.randrange(25):02d}.dat'
    open(p, 'wb').write(rng.randbytes(rng.randrange(100, 16384)))"
	ts=$(date -u -d "2026-01-01 + $i hours" +%Y-%m-%dT%H%M%SZ)
	"$BUILD/cairn" backup -q -r "$W/repo" --member "$member" --time "$ts" "$W/src"
done
say "a 256 MiB file for the throughput measurement"
mkdir -p "$W/big"
head -c 256M /dev/zero | openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f \
	-iv 00000000000000000000000000000000 2>/dev/null >"$W/big/bigfile"
"$BUILD/cairn" backup -q -r "$W/repo" --member big --time 2026-02-01T000000Z "$W/big"
n_objects=$(find "$W/repo" -type f | wc -l)
repo_bytes=$(du -sb "$W/repo" | cut -f1)

say "starting Swift and copying the repository into it (like aws s3 sync)"
s3_start "$W/swift"
s3tool sync "$W/repo" "$S3_BUCKET" bench/repo
http_start "$W"

# counts LINE: "REQUESTS BYTES_IN" from a "backend: N requests (...), X in" line.
counts() {
	sed -n 's/.*backend: \([0-9]*\) requests.*, \([0-9.]* [KMGT]*i*B\) in.*/\1 requests, \2/p;
		s/.*backend: \([0-9]*\) requests.*, \([0-9]*\) bytes in.*/\1 requests, \2 bytes/p' <<<"$1"
}
secs() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f s", b - a }'
}

# mount_fresh URL: mounts URL on $MNT with an empty cache, cairnfs in the
# foreground with its log in $W/cairnfs.log.
mount_fresh() {
	rm -rf "$CAIRN_CACHE_DIR"
	"$BUILD/cairnfs" "$1" "$MNT" -f >"$W/cairnfs.log" 2>&1 &
	CAIRNFS_PID=$!
	until mountpoint -q "$MNT"; do
		kill -0 "$CAIRNFS_PID" 2>/dev/null || {
			cat "$W/cairnfs.log" >&2
			exit 1
		}
		sleep 0.02
	done
}
unmount() {
	fusermount3 -u "$MNT"
	wait "$CAIRNFS_PID"
	CAIRNFS_PID=
}

echo "repository: 101 snapshots (100 of 1,000 small files, 1 of a 256 MiB file), $n_objects objects, $((repo_bytes / 1024 / 1024)) MiB"
printf '%-5s %-34s %s\n' backend measurement cost
for backend in s3 http; do
	case $backend in
	s3) url="s3://$S3_BUCKET/bench/repo" ;;
	http) url="$HTTP_URL/repo" ;;
	esac
	export CAIRN_CACHE_DIR=$W/cache-$backend

	rm -rf "$CAIRN_CACHE_DIR"
	t0=$EPOCHREALTIME
	"$BUILD/cairn" snapshots -v -r "$url" >"$W/snapshots.out" 2>"$W/snapshots.err"
	t1=$EPOCHREALTIME
	n=$(grep -cE ' [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{6}Z ' "$W/snapshots.out" || true)
	[ "$n" -eq 101 ] || {
		echo "cairn snapshots listed $n snapshots, not 101:" >&2
		cat "$W/snapshots.out" "$W/snapshots.err" >&2
		exit 1
	}
	printf '%-5s %-34s %s, %s\n' $backend "fresh cairn snapshots" \
		"$(counts "$(cat "$W/snapshots.err")")" "$(secs "$t0" "$t1")"

	t0=$EPOCHREALTIME
	mount_fresh "$url"
	ls -l "$MNT/snapshots/member2/2026-01-03T020000Z/dir07" >/dev/null
	t1=$EPOCHREALTIME
	unmount
	printf '%-5s %-34s %s, %s\n' $backend "fresh mount + ls -l of one snapshot" \
		"$(counts "$(cat "$W/cairnfs.log")")" "$(secs "$t0" "$t1")"

	mount_fresh "$url"
	t0=$EPOCHREALTIME
	dd if="$MNT/snapshots/big/latest/bigfile" of=/dev/null bs=1M 2>"$W/dd.err"
	t1=$EPOCHREALTIME
	cmp "$MNT/snapshots/big/latest/bigfile" "$W/big/bigfile"
	unmount
	printf '%-5s %-34s %s (%s)\n' $backend "dd bs=1M of 256 MiB, fresh mount" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f MiB/s", 256 / (b - a) }')" \
		"$(counts "$(cat "$W/cairnfs.log")")"
done
