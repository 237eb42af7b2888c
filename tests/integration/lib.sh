# lib.sh - sourced by every integration test (tests/integration/*.sh).
#
# Gives each test a private directory $T (removed on exit) with its own
# catalog cache ($CAIRN_CACHE_DIR), helpers that run the real binaries from
# $BUILD, and a FUSE mount helper that waits for the mount against a deadline
# and fails at once when the daemon dies. One EXIT trap unmounts whatever is
# still mounted under $T, stops the daemons this test started and removes $T,
# tolerating each step's failure so that cleanup never hides the real error.
#
# Needs: BUILD (absolute build directory) and SRC (repository root), both set
# by tests/run-tests.sh. Tests run as root: they mount, mknod and chown.
#
# CAIRN_TEST_BACKEND picks where the repositories a test names as local paths
# under $T really live, so the same test runs unchanged against each backend
# (tests/remote-backends.sh, run by integration/remote-s3.sh and remote-http.sh):
#   local  (the default) they are those directories.
#   s3     they are s3://$S3_BUCKET/<test>-<random>/<path under $T>, on the
#          Swift server of a runner that exported CAIRN_TEST_S3_RUNNING=1 and
#          the AWS_* variables, else on one this test starts. After a command
#          that writes, everything but the packs is mirrored back into the
#          local directory (tests/s3tool.py), so a test that looks at the
#          repository's objects still finds them.
#   http   they are created and written locally, and every reader (cairn
#          snapshots, cairn ls, ..., mount_repo) is given the URL of the same
#          directory on a static HTTP server (tests/http-range-server.py)
#          serving $T.
# Only `cairn ...` and mount_repo translate; a test that runs "$BUILD/cairn"
# itself uses the local path.

set -eu
set -o pipefail

: "${BUILD:?BUILD must name the build directory (tests/run-tests.sh sets it)}"
: "${SRC:?SRC must name the repository root (tests/run-tests.sh sets it)}"

TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d "${TMPDIR:-/tmp}/cairn-$TEST_NAME.XXXXXX")
export CAIRN_CACHE_DIR="$T/cache"
export XDG_CACHE_HOME="$T/xdg-cache"
export HOME="$T/home"
mkdir -p "$HOME"
unset CAIRN_REPO CAIRN_PASSWORD CAIRN_PASSWORD_FILE CAIRN_NEW_PASSWORD

# CAIRN_TEST_ENCRYPTION=1 (the default) runs every test on encrypted
# repositories, as users get them: `cairn init ... --no-encryption` through
# the cairn function below creates an encrypted repository instead, with
# cheap scrypt parameters, and every command and cairnfs find the password in
# $CAIRN_PASSWORD. Tests that run "$BUILD/cairn" init themselves keep what
# they ask for; CAIRN_TEST_ENCRYPTION=0 runs a test as it is written
# (tests/integration/crypto-plain.sh runs the mount and restore tests so).
CAIRN_TEST_ENCRYPTION=${CAIRN_TEST_ENCRYPTION:-1}
TEST_PASSWORD="correct horse battery staple $$"
TEST_KDF=16,1,1
if [ "$CAIRN_TEST_ENCRYPTION" = 1 ]; then
	export CAIRN_PASSWORD="$TEST_PASSWORD"
fi
export LC_ALL=C TZ=UTC

# Seconds a mount or unmount may take before the test fails.
MOUNT_DEADLINE=${MOUNT_DEADLINE:-20}

declare -A MOUNT_PID=() # mount point -> pid of its cairnfs
declare -A MOUNT_LOG=() # mount point -> the daemon's stderr
N_MOUNTS=0

# --- failing and asserting ----------------------------------------------------

# fail MSG...: ends the test with MSG and where it was called from.
fail() {
	local where="${BASH_SOURCE[1]:-?}:${BASH_LINENO[0]:-?}"
	echo "FAIL ($TEST_NAME, ${where##*/}): $*" >&2
	exit 1
}

# info MSG...: progress for the test log.
info() {
	echo "--- $*" >&2
}

# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() {
	if [ "$1" != "$2" ]; then
		local where="${BASH_SOURCE[1]:-?}:${BASH_LINENO[0]:-?}"
		echo "FAIL ($TEST_NAME, ${where##*/}): ${3:-values differ}" >&2
		echo "  expected: $(printf '%q' "$1")" >&2
		echo "  actual:   $(printf '%q' "$2")" >&2
		exit 1
	fi
}

# assert_empty_output CMD...: CMD must succeed and print nothing at all.
assert_empty_output() {
	local out st=0
	out=$("$@" 2>&1) || st=$?
	if [ "$st" -ne 0 ] || [ -n "$out" ]; then
		local where="${BASH_SOURCE[1]:-?}:${BASH_LINENO[0]:-?}"
		echo "FAIL ($TEST_NAME, ${where##*/}): expected no output and exit 0 from: $*" >&2
		echo "  exit status: $st" >&2
		printf '%s\n' "$out" | head -n 100 | sed 's/^/  | /' >&2
		exit 1
	fi
}

# assert_contains HAYSTACK NEEDLE [WHAT]: a fixed-string match.
assert_contains() {
	if ! grep -qF -- "$2" <<<"$1"; then
		local where="${BASH_SOURCE[1]:-?}:${BASH_LINENO[0]:-?}"
		echo "FAIL ($TEST_NAME, ${where##*/}): ${3:-output lacks '$2'}" >&2
		printf '%s\n' "$1" | head -n 50 | sed 's/^/  | /' >&2
		exit 1
	fi
}

# assert_matches HAYSTACK ERE [WHAT]: an extended regex, case-insensitive.
assert_matches() {
	if ! grep -qiE -- "$2" <<<"$1"; then
		local where="${BASH_SOURCE[1]:-?}:${BASH_LINENO[0]:-?}"
		echo "FAIL ($TEST_NAME, ${where##*/}): ${3:-output does not match /$2/}" >&2
		printf '%s\n' "$1" | head -n 50 | sed 's/^/  | /' >&2
		exit 1
	fi
}

# run_cmd CMD...: runs CMD without tripping set -e; leaves its exit status in
# $STATUS, its stdout in $OUT and its stderr in $ERR.
run_cmd() {
	local o e
	o="$T/.out.$$" e="$T/.err.$$"
	STATUS=0
	"$@" >"$o" 2>"$e" </dev/null || STATUS=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
	rm -f "$o" "$e"
}

# expect_status N CMD...: CMD must exit with status N; sets OUT and ERR.
expect_status() {
	local want=$1
	shift
	run_cmd "$@"
	if [ "$STATUS" -ne "$want" ]; then
		local where="${BASH_SOURCE[1]:-?}:${BASH_LINENO[0]:-?}"
		echo "FAIL ($TEST_NAME, ${where##*/}): expected exit $want, got $STATUS from: $*" >&2
		printf '%s\n' "$OUT" | head -n 30 | sed 's/^/  stdout| /' >&2
		printf '%s\n' "$ERR" | head -n 30 | sed 's/^/  stderr| /' >&2
		exit 1
	fi
}

# --- the backend under test ---------------------------------------------------

CAIRN_TEST_BACKEND=${CAIRN_TEST_BACKEND:-local}
case "$CAIRN_TEST_BACKEND" in
local | s3 | http) ;;
*)
	echo "CAIRN_TEST_BACKEND must be local, s3 or http, not '$CAIRN_TEST_BACKEND'" >&2
	exit 2
	;;
esac
if [ "$CAIRN_TEST_BACKEND" != local ]; then
	# shellcheck source=../lib-s3.sh
	. "$SRC/tests/lib-s3.sh"
fi

# repo_url PATH [write]: where the repository a test calls PATH lives for the
# backend under test (PATH itself when it is not under $T). With "write", the
# place a writing command goes to (for http, the local directory).
repo_url() {
	local path=$1 rel
	case "$path" in
	"$T"/*) rel=${path#"$T"/} ;;
	*)
		echo "$path"
		return
		;;
	esac
	case "$CAIRN_TEST_BACKEND" in
	s3) echo "s3://$S3_BUCKET/$S3_TEST_PREFIX/$rel" ;;
	http) if [ "${2:-}" = write ]; then echo "$path"; else echo "$HTTP_URL/$rel"; fi ;;
	*) echo "$path" ;;
	esac
}

case "$CAIRN_TEST_BACKEND" in
s3)
	S3_TEST_PREFIX="$TEST_NAME-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
	if [ "${CAIRN_TEST_S3_RUNNING:-}" != 1 ]; then
		s3_start "$T/swift"
		_backend_stop() {
			s3_stop
		}
	fi
	: "${S3_BUCKET:?the runner that set CAIRN_TEST_S3_RUNNING must export S3_BUCKET}"
	: "${AWS_ENDPOINT_URL:?the runner that set CAIRN_TEST_S3_RUNNING must export AWS_ENDPOINT_URL}"
	;;
http)
	http_start "$T"
	_backend_stop() {
		http_stop
	}
	;;
esac

# --- the binaries -------------------------------------------------------------

# cairn ARGS...: the cairn under test, with the repository of -r/--repo
# translated for the backend under test (see CAIRN_TEST_BACKEND above).
cairn() {
	if [ "$CAIRN_TEST_ENCRYPTION" = 1 ] && [ "${1:-}" = init ]; then
		local e=() x
		for x in "$@"; do
			if [ "$x" = --no-encryption ]; then
				e+=(--kdf-params "$TEST_KDF")
			else
				e+=("$x")
			fi
		done
		set -- "${e[@]}"
	fi
	if [ "$CAIRN_TEST_BACKEND" = local ]; then
		"$BUILD/cairn" "$@"
		return
	fi
	local how=read args=() a next=0 st=0 mirror=
	case "${1:-}" in
	init | backup | import | forget | prune | key) how=write ;;
	esac
	for a in "$@"; do
		if [ "$next" = 1 ]; then
			args+=("$(repo_url "$a" "$how")")
			[ "$how" = write ] && mirror=$a
			next=0
			continue
		fi
		case "$a" in
		-r | --repo) next=1 ;;
		esac
		args+=("$a")
	done
	"$BUILD/cairn" "${args[@]}" || st=$?
	if [ "$CAIRN_TEST_BACKEND" = s3 ] && [ -n "$mirror" ] && [ "$mirror" != "$(repo_url "$mirror")" ]; then
		mkdir -p "$mirror"
		s3tool mirror "$S3_BUCKET" "$S3_TEST_PREFIX/${mirror#"$T"/}" "$mirror" --skip packs/ ||
			fail "cannot mirror $(repo_url "$mirror") into $mirror"
	fi
	return "$st"
}

# now: seconds since the epoch with microseconds, for deadlines.
now() {
	echo "${EPOCHREALTIME/./}"
}

# deadline_in SECONDS: the now() value SECONDS from now.
deadline_in() {
	echo $(($(now) + $1 * 1000000))
}

# is_mounted MNT: true while a FUSE filesystem is mounted on MNT (absolute,
# canonical path).
is_mounted() {
	awk -v m="$1" '
		{ for (i = 7; i <= NF && $i != "-"; i++) ; }
		$5 == m && $(i + 1) ~ /^fuse/ { found = 1 }
		END { exit !found }' /proc/self/mountinfo
}

# mount_repo REPO MNT [OPTS]: mounts REPO on MNT with cairnfs -f in the
# background (OPTS goes to -o) and returns once the kernel lists the mount.
# Fails at once if the daemon exits first, and after MOUNT_DEADLINE seconds.
# Sets MOUNT_PID[MNT] and LAST_PID.
mount_repo() {
	local repo mnt=$2 opts=${3:-}
	repo=$(repo_url "$1")
	[ "$repo" = "$1" ] || info "mounting $repo"
	mkdir -p "$mnt"
	mnt=$(realpath "$mnt")
	is_mounted "$mnt" && fail "'$mnt' is already mounted"
	N_MOUNTS=$((N_MOUNTS + 1))
	local log="$T/cairnfs.$N_MOUNTS.log"
	if [ -n "$opts" ]; then
		"$BUILD/cairnfs" "$repo" "$mnt" -f -o "$opts" </dev/null >"$log" 2>&1 &
	else
		"$BUILD/cairnfs" "$repo" "$mnt" -f </dev/null >"$log" 2>&1 &
	fi
	local pid=$!
	MOUNT_PID[$mnt]=$pid
	MOUNT_LOG[$mnt]=$log
	LAST_PID=$pid
	local until
	until=$(deadline_in "$MOUNT_DEADLINE")
	while ! is_mounted "$mnt"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			local st=0
			wait "$pid" || st=$?
			unset "MOUNT_PID[$mnt]"
			echo "cairnfs log:" >&2
			sed 's/^/  | /' "$log" >&2
			fail "cairnfs $repo $mnt exited with status $st before mounting"
		fi
		[ "$(now)" -lt "$until" ] ||
			fail "'$mnt' not mounted after ${MOUNT_DEADLINE}s (log: $(cat "$log"))"
		sleep 0.05
	done
}

# daemon_alive MNT: true while the cairnfs serving MNT runs and MNT is mounted.
daemon_alive() {
	local mnt
	mnt=$(realpath "$1")
	local pid=${MOUNT_PID[$mnt]:-}
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && is_mounted "$mnt"
}

# wait_daemon MNT: waits (against the deadline) for the daemon of MNT to exit
# and fails unless it exited 0 and left nothing mounted.
wait_daemon() {
	local mnt=$1 pid=${MOUNT_PID[$1]:-} until st=0
	[ -n "$pid" ] || fail "no cairnfs of ours serves '$mnt'"
	until=$(deadline_in "$MOUNT_DEADLINE")
	while kill -0 "$pid" 2>/dev/null; do
		[ "$(now)" -lt "$until" ] || fail "cairnfs of '$mnt' still runs ${MOUNT_DEADLINE}s after unmounting"
		sleep 0.05
	done
	wait "$pid" || st=$?
	unset "MOUNT_PID[$mnt]"
	if [ "$st" -ne 0 ]; then
		echo "cairnfs log:" >&2
		sed 's/^/  | /' "${MOUNT_LOG[$mnt]}" >&2
		fail "cairnfs of '$mnt' exited with status $st, not 0"
	fi
	! is_mounted "$mnt" || fail "'$mnt' is still mounted after its daemon exited"
}

# unmount_repo MNT: fusermount3 -u, then the daemon must exit 0.
unmount_repo() {
	local mnt
	mnt=$(realpath "$1")
	fusermount3 -u "$mnt" || fail "fusermount3 -u '$mnt' failed"
	wait_daemon "$mnt"
}

# stop_repo SIGNAL MNT: stops the daemon of MNT with SIGNAL; it must unmount
# and exit 0.
stop_repo() {
	local sig=$1 mnt
	mnt=$(realpath "$2")
	local pid=${MOUNT_PID[$mnt]:-}
	[ -n "$pid" ] || fail "no cairnfs of ours serves '$mnt'"
	kill -s "$sig" "$pid"
	wait_daemon "$mnt"
}

# Stops the servers of the backend under test; redefined below.
# The backend cases above define their own _backend_stop; the default stops
# nothing (a later definition would replace theirs and leak their servers).
if ! declare -F _backend_stop >/dev/null; then
	_backend_stop() {
		:
	}
fi

cleanup() {
	local st=$?
	set +e
	trap - EXIT INT TERM HUP
	# Everything mounted under $T, ours or started by 'cairn mount'.
	local m
	for m in $(awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	local pid until
	for m in "${!MOUNT_PID[@]}"; do
		pid=${MOUNT_PID[$m]}
		until=$(deadline_in 5)
		while kill -0 "$pid" 2>/dev/null && [ "$(now)" -lt "$until" ]; do
			sleep 0.05
		done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ "$st" -ne 0 ]; then
		for m in "$T"/cairnfs.*.log; do
			[ -s "$m" ] || continue
			echo "--- ${m##*/}:" >&2
			tail -n 30 "$m" | sed 's/^/  | /' >&2
		done
	fi
	_backend_stop
	rm -rf "$T" 2>/dev/null || echo "warning: could not remove $T" >&2
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- data ---------------------------------------------------------------------

# random_bytes SIZE SEED: SIZE bytes (dd suffixes: 4M) of fast, deterministic
# incompressible data (AES-CTR of zeros under a key derived from SEED).
random_bytes() {
	local key
	key=$(printf '%s' "cairn-$2" | sha256sum | cut -c1-32)
	head -c "$1" /dev/zero |
		openssl enc -aes-128-ctr -nosalt -K "$key" -iv 00000000000000000000000000000000 2>/dev/null
}

# text_bytes SIZE SEED: SIZE bytes of compressible, log-like text.
text_bytes() {
	awk -v n="$(numfmt --from=iec "$1")" -v seed="$2" 'BEGIN {
		srand(seed)
		split("alpha beta gamma delta block commit replica vote quorum peer", w, " ")
		for (i = 0; total < n; i++) {
			line = sprintf("2026-11-22T20:%02d:%02d.%06dZ INFO %s %s height=%d hash=%08x\n",
				int(i / 60) % 60, i % 60, i % 1000000, w[int(rand() * 10) + 1],
				w[int(rand() * 10) + 1], i, int(rand() * 4294967295))
			if (total + length(line) > n)
				line = substr(line, 1, n - total)
			printf "%s", line
			total += length(line)
		}
	}'
}

# make_full_tree DIR: every kind of entry a snapshot must reproduce. Set
# FULL_TREE_BIG=0 to leave out the 300 MiB file where a test does not need it.
make_full_tree() {
	local d=$1 i
	mkdir -p "$d"
	d=$(realpath "$d")

	# Regular files: small, empty, compressible, incompressible, big.
	echo "hello, cairn" >"$d/small.txt"
	: >"$d/empty"
	printf x >"$d/one-byte"
	text_bytes 6M 1 >"$d/text.log"
	random_bytes 5M random >"$d/random.bin"
	{ random_bytes 3M mixed-a; text_bytes 2M 2; random_bytes 1M mixed-b; } >"$d/mixed.bin"
	if [ "${FULL_TREE_BIG:-1}" = 1 ]; then
		# 300 MiB: random blocks interleaved with a repeated one, so
		# both new and deduplicated chunks are in it.
		{
			for i in $(seq 1 10); do
				random_bytes 20M "big-$i"
				random_bytes 10M big-repeated
			done
		} >"$d/big.bin"
	fi

	# Sparse: 1 GiB apparent, 4 MiB data regions at the start, in the
	# middle and at the very end; a second file that ends in a hole.
	truncate -s 1G "$d/sparse.img"
	for i in 0 100 517 1020; do
		random_bytes 4M "sparse-$i" |
			dd of="$d/sparse.img" bs=1M seek="$i" conv=notrunc iflag=fullblock status=none
	done
	truncate -s 64M "$d/sparse-tail.img"
	random_bytes 1M sparse-tail |
		dd of="$d/sparse-tail.img" bs=1M seek=8 conv=notrunc iflag=fullblock status=none
	truncate -s 10M "$d/all-hole.img"

	# Hardlinks: nlink 2 in one directory, nlink 3 across directories.
	mkdir -p "$d/links/a" "$d/links/b/c"
	echo "linked twice" >"$d/links/two"
	ln "$d/links/two" "$d/links/two-again"
	echo "linked three times" >"$d/links/a/three"
	ln "$d/links/a/three" "$d/links/b/three"
	ln "$d/links/a/three" "$d/links/b/c/three-too"
	random_bytes 256K linked-big >"$d/links/big"
	ln "$d/links/big" "$d/links/a/big"

	# Symlinks: relative, absolute, dangling, to a directory, long target.
	mkdir -p "$d/symlinks"
	ln -s ../small.txt "$d/symlinks/relative"
	ln -s /etc/hostname "$d/symlinks/absolute"
	ln -s does/not/exist "$d/symlinks/dangling"
	ln -s ../links "$d/symlinks/to-dir"
	ln -s "$(printf 'x/%.0s' $(seq 1 1000))end" "$d/symlinks/long-target"

	# Special files.
	mkdir -p "$d/special"
	mkfifo "$d/special/fifo"
	mknod "$d/special/null-chr" c 1 3
	mknod "$d/special/loop-blk" b 7 200
	mknod -m 0640 "$d/special/odd-chr" c 250 65537

	# Extended attributes, on files, directories and a symlink-free file
	# with a binary value.
	mkdir -p "$d/xattrs"
	echo "file with xattrs" >"$d/xattrs/file"
	setfattr -n user.color -v blue "$d/xattrs/file"
	setfattr -n user.empty -v "" "$d/xattrs/file"
	setfattr -n user.binary -v 0x00ff7f80010203fe "$d/xattrs/file"
	setfattr -n user.dir-note -v "on a directory" "$d/xattrs"
	random_bytes 4000 xattr-big | od -An -tx1 | tr -d ' \n' >"$T/.xv"
	setfattr -n user.big -v "0x$(cat "$T/.xv")" "$d/xattrs/file"
	rm -f "$T/.xv"

	# Names in any bytes but '/' and NUL.
	mkdir -p "$d/names"
	echo ff >"$d/names/"$'\xff\xfe-name'
	echo nl >"$d/names/"$'with\nnewline and  spaces '
	echo long >"$d/names/$(printf 'n%.0s' $(seq 1 255))"
	echo star >"$d/names/*?[]\\\"'"
	echo dash >"$d/names/-leading-dash"
	echo utf8 >"$d/names/ünïcødé-日本"
	mkdir "$d/names/"$'\x01\x7f-dir'
	echo in >"$d/names/"$'\x01\x7f-dir/in'

	# Deep nesting and an empty directory.
	local deep="$d/deep"
	for i in $(seq 1 40); do
		deep="$deep/d$i"
	done
	mkdir -p "$deep" "$d/empty-dir"
	echo bottom >"$deep/bottom"

	# Modes and owners.
	mkdir -p "$d/modes"
	echo a >"$d/modes/0600" && chmod 0600 "$d/modes/0600"
	echo b >"$d/modes/0755" && chmod 0755 "$d/modes/0755"
	echo c >"$d/modes/04755" && chmod 04755 "$d/modes/04755"
	echo d >"$d/modes/02750" && chmod 02750 "$d/modes/02750"
	echo e >"$d/modes/0000" && chmod 0000 "$d/modes/0000"
	mkdir "$d/modes/sticky" && chmod 01777 "$d/modes/sticky"
	mkdir "$d/modes/dir0700" && chmod 0700 "$d/modes/dir0700"
	echo f >"$d/modes/owned"
	chown 1234:5678 "$d/modes/owned" "$d/modes/04755" "$d/modes/sticky"
	chown -h 4321:8765 "$d/symlinks/relative"
	chmod 02750 "$d/modes/02750" # chown clears set-id bits
	chmod 04755 "$d/modes/04755"

	# Times with nanoseconds, on files and symlinks, then directories
	# last, since creating entries changes a directory's mtime.
	touch -h -d '2021-03-04 05:06:07.123456789' "$d/small.txt" "$d/symlinks/relative"
	touch -d '1999-12-31 23:59:59.999999999' "$d/empty"
	touch -d '1970-01-01 00:00:00.000000001' "$d/one-byte"
	touch -d '2038-01-19 03:14:08.5' "$d/text.log"
	i=0
	while IFS= read -r -d '' dir; do
		i=$((i + 1))
		touch -d "@$((1600000000 + i * 3607)).$(printf '%09d' $((i * 7919)))" "$dir"
	done < <(find "$d" -depth -type d -print0)
	chmod 0750 "$d"
}

# snapshot_dirs MNT MEMBER: the snapshot directory names of MEMBER, one a line.
snapshot_dirs() {
	ls -1 "$1/snapshots/$2" | grep -v '^latest$' || true
}

# tree_equal SRC DST: SRC and DST hold the same names, bytes and metadata.
tree_equal() {
	assert_empty_output rsync -aHAX --checksum --dry-run --itemize-changes "$1/" "$2/"
}
