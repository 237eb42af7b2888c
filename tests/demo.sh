#!/bin/sh
# demo.sh BUILD - what `make demo` runs: back up sample data as two members
# with two snapshots each into a local repository under ./demo, mount it,
# and show the tree and a diff between two snapshots. The mount stays up for
# exploring; the script says how to take it down.
set -eu

BUILD=$(cd "${1:-build}" && pwd)
TOP=$(cd "$(dirname "$0")/.." && pwd)
D=$TOP/demo
export CAIRN_CACHE_DIR="$D/cache"

if grep -qs " $D/mnt " /proc/self/mountinfo; then
	fusermount3 -u "$D/mnt" 2>/dev/null || fusermount3 -uz "$D/mnt"
fi
rm -rf "$D"
mkdir -p "$D/data" "$D/mnt"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "sample data: two blockchain-style replicas (tests/bench/make-dataset.sh replicas)"
"$TOP/tests/bench/make-dataset.sh" replicas "$D/data" >/dev/null
du -sh "$D/data"/replica-0 "$D/data"/replica-1

say "cairn init"
"$BUILD/cairn" init -r "$D/repo" --no-encryption

say "first backup of each member"
"$BUILD/cairn" backup -r "$D/repo" --member replica-0 --time 2026-11-22T020000Z "$D/data/replica-0"
"$BUILD/cairn" backup -r "$D/repo" --member replica-1 --time 2026-11-22T020000Z "$D/data/replica-1"

say "the data changes (make-dataset.sh mutate), and a second backup of each"
"$TOP/tests/bench/make-dataset.sh" mutate "$D/data/replica-0" 1 >/dev/null
"$TOP/tests/bench/make-dataset.sh" mutate "$D/data/replica-1" 2 >/dev/null
"$BUILD/cairn" backup -r "$D/repo" --member replica-0 --time 2026-11-23T020000Z "$D/data/replica-0"
"$BUILD/cairn" backup -r "$D/repo" --member replica-1 --time 2026-11-23T020000Z "$D/data/replica-1"

say "cairn snapshots"
"$BUILD/cairn" snapshots -r "$D/repo"
printf 'repository size: %s for %s of data backed up 4 times\n' \
	"$(du -sh "$D/repo" | cut -f1)" "$(du -sh --apparent-size "$D/data" | cut -f1)"

say "cairn mount"
"$BUILD/cairn" mount -r "$D/repo" "$D/mnt"
cd "$D/mnt"
find snapshots -maxdepth 2 | sort | sed 's/^/  /'
echo "  snapshots/replica-0/latest -> $(readlink snapshots/replica-0/latest)"
echo
ls -l snapshots/replica-0/latest/ | head -n 12

say "diff -r between the two snapshots of replica-0, through the mount"
diff -rq snapshots/replica-0/2026-11-22T020000Z snapshots/replica-0/2026-11-23T020000Z || true

say "restore rehearsal: the latest snapshot against the live data"
if diff -r snapshots/replica-0/latest "$D/data/replica-0" >/dev/null; then
	echo "snapshots/replica-0/latest is identical to $D/data/replica-0"
else
	echo "snapshots/replica-0/latest differs from $D/data/replica-0"
	exit 1
fi

say "done"
echo "The repository stays mounted at $D/mnt; look around, then:"
echo "  fusermount3 -u $D/mnt"
