#!/usr/bin/env bash
# run.sh BUILD - what `make bench` runs: cairn's FUSE mount side by side with
# restic's and borg's, the FUSE ceiling (tests/bench/memfs.c: a minimal
# multithreaded FUSE filesystem serving the dataset from memory) and native
# reads of that directory, with what this machine can decode and verify
# (tests/bench/decode-limit.c) beside the first reads; then sequential reads
# over S3 through a link with 10 ms of delay, for cairn and restic; and, with
# BENCH_HUGE=1, a million files. A benchmark, not a test: it asserts nothing
# about speed.
#
# It installs what it lacks (restic, borgbackup with python3-llfuse, fio,
# libfuse3-dev, iproute2; apt-get, through sudo when not root), needs root
# itself (dropping the page cache, network namespaces), generates the datasets
# of make-dataset.sh (large, small) plus two made from `large` (par: eight
# 64 MiB files; s3: text-1.txt and random.bin) and a tiny one (the extra
# snapshots), backs them up with each tool, and measures. Every command is
# printed as it runs ("+ ..."); at the end come the exact versions and one
# table, also written to BUILD/bench-report.txt.
#
# Environment (all optional):
#   BENCH_DIR=DIR          work directory, kept afterwards; datasets already in
#                          DIR/data are reused (default: a mktemp -d dir under
#                          /tmp, removed afterwards)
#   BENCH_RUNS=5           runs of the cheap rows (the median is shown, and the
#                          spread of the samples in a second table)
#   BENCH_SLOW_RUNS=1      runs of the expensive rows: ls -lR, tar, reads over S3
#   BENCH_BACKUP_RUNS=3    runs of the backup rows (each into a new repository,
#                          the source in the page cache)
#   BENCH_SNAPSHOTS=20     snapshots in each local repository when mounting
#                          (borg takes seconds to add each one)
#   BENCH_CAIRN_SNAPSHOTS=100  cairn's repository then grows to this many for
#                          one more row (mounting with many snapshots)
#   BENCH_FIO_RUNTIME=10   seconds fio may run (it also stops after one pass)
#   BENCH_TIMEOUT=600      seconds any one measured command may take
#   BENCH_SYSTEMS="cairn restic borg ceiling native"   columns to measure
#   BENCH_S3=1             0 skips the S3 section
#   BENCH_DELAY_MS=10      the delay the S3 namespace's link adds
#   CAIRNFS_OPTS=          extra -o options for cairnfs (e.g. cache_size=64M)
#   BENCH_HUGE=0           1 adds the `huge` dataset (1,000,000 files in 20,000
#                          directories; generating and backing it up takes many
#                          minutes): backup time and peak RSS, first ls of the
#                          root, ls -lR, daemon RSS, catalog size; cairn, native
#                          and the ceiling only
#   BENCH_LISTING_ONLY=0   1 runs only the section of listing on a fresh machine
#   BENCH_BACKUP_ONLY=0    1 runs only the backups (and, with BENCH_CRYPTO, the
#                          unencrypted backup of large), then prints the table
#                          (requests and mount to first ls, BENCH_CAIRN_SNAPSHOTS)
#   BENCH_CRYPTO_ONLY=0    1 runs only the section of what encryption costs
#                          (backups and first reads of large, encrypted and not,
#                          in alternation), then prints the table
#   BENCH_RESTORE_RUNS=3   runs of each restore row (large and small, each into
#                          a new ext4 on a loop image: cairn restore, restic
#                          restore, borg extract, cp -a out of cairnfs, tar -xzf)
#   BENCH_RESTORE=1        0 skips the restores
#   BENCH_RESTORE_ONLY=0   1 runs only the restores (cairn's repository is made,
#                          untimed, if DIR has none; restic and borg only if their
#                          repositories are in DIR already), then prints the table
#   BENCH_CRYPTO=1         0 skips the unencrypted cairn repository (the rows of what
#                          encryption costs)
set -euo pipefail
export LC_ALL=C TZ=UTC

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$(cd "${1:-build}" 2>/dev/null && pwd) || {
	echo "bench: no build directory '${1:-build}'" >&2
	echo "hint: run 'make bench' (it builds first)" >&2
	exit 2
}
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		echo "bench: needs root (drop_caches, network namespaces); re-running with sudo" >&2
		exec sudo -E "$0" "$@"
	fi
	echo "bench: needs root to drop the page cache and make a network namespace" >&2
	echo "hint: run 'make bench' as root" >&2
	exit 1
fi

RUNS=${BENCH_RUNS:-5}
SLOW_RUNS=${BENCH_SLOW_RUNS:-1}
BACKUP_RUNS=${BENCH_BACKUP_RUNS:-3}
N_SNAPSHOTS=${BENCH_SNAPSHOTS:-20}
N_CAIRN_SNAPSHOTS=${BENCH_CAIRN_SNAPSHOTS:-100}
FIO_RUNTIME=${BENCH_FIO_RUNTIME:-10}
TMO=${BENCH_TIMEOUT:-600}
RESTORE_RUNS=${BENCH_RESTORE_RUNS:-3}
read -r -a SYSTEMS <<<"${BENCH_SYSTEMS-cairn restic borg ceiling native}"
DO_S3=${BENCH_S3:-1}
DELAY_MS=${BENCH_DELAY_MS:-10}
DO_HUGE=${BENCH_HUGE:-0}
DELAY=${DELAY_MS}ms
CAIRNFS_OPTS=${CAIRNFS_OPTS:-}
TS=2026-01-01T000000Z # every cairn snapshot of the datasets
TS2=2026-01-01T000001Z # the unchanged re-backup of small
MOUNT_DEADLINE=120    # seconds a mount may take to show its first listing
BENCH_START=$EPOCHREALTIME
# Root may raise the open-files limit; every daemon started below inherits it.
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
FD_LIMIT=$(ulimit -n)

# --- installing what is missing --------------------------------------------------

PKGS="restic borgbackup python3-llfuse fio libfuse3-dev fuse3 iproute2 iptables
libnetfilter-queue-dev gcc pkg-config curl python3 tar procps util-linux coreutils findutils
libzstd-dev libssl-dev time"
missing=""
for p in $PKGS; do
	case "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
if [ -n "$missing" ]; then
	echo "+ apt-get update && apt-get install -y --no-install-recommends$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null || apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

# --- the work directory and cleanup -------------------------------------------------

if [ -n "${BENCH_DIR:-}" ]; then
	mkdir -p "$BENCH_DIR"
	W=$(cd "$BENCH_DIR" && pwd)
	KEEP=1
else
	W=$(mktemp -d /tmp/cairn-bench.XXXXXX)
	KEEP=
fi
DATA=$W/data
mkdir -p "$DATA" "$W/log" "$W/mnt"
REPORT=$BUILD/bench-report.txt

declare -A MPID=()  # system -> pid of its mount daemon
declare -A R=()     # "row|column" -> samples
declare -A RID=()   # "system:dataset" -> restic snapshot id
declare -A OUTPUT=() # "row|system" -> what the walk printed (a count)
declare -A SAME=()  # system -> what reading the big files through it gave
RESTORED=()         # what each restore's diff against its source found
CHILD=              # process group of the measured command running now
NETNS=
VETH=
NFQ_PID=
DELAY_HOW=
S3_STARTED=

cleanup() {
	local rc=$? sys m
	trap - EXIT INT TERM
	set +e
	if [ -n "$CHILD" ]; then
		kill -TERM -- "-$CHILD" 2>/dev/null
		wait "$CHILD" 2>/dev/null
	fi
	for sys in "${!MPID[@]}"; do
		unmount "$sys"
	done
	# Anything still mounted under the work directory (a daemon that died).
	while read -r m; do
		fusermount3 -uz "$m" 2>/dev/null || umount -l "$m"
	done < <(awk -v p="$W/mnt/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo)
	[ -z "$S3_STARTED" ] || s3_stop
	! mountpoint -q "$W/rt" 2>/dev/null || umount "$W/rt"
	netns_down
	if [ -z "$KEEP" ]; then
		rm -rf "$W"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

# --- printing, timing --------------------------------------------------------------

say() {
	printf '\n== %s   [%s]\n' "$*" "$(awk -v a="$BENCH_START" -v b="$EPOCHREALTIME" \
		'BEGIN { t = b - a; printf "%d:%02d", t / 60, t % 60 }')"
}

# q ARG...: the arguments quoted as a shell would need them.
q() {
	local out="" a
	for a in "$@"; do
		out="$out $(printf '%q' "$a")"
	done
	printf '%s' "${out# }"
}

# run CMD...: prints and runs a command in the foreground.
run() {
	echo "+ $(q "$@")"
	"$@"
}

# elapsed T0: seconds since $EPOCHREALTIME was T0.
elapsed() {
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }'
}

die() {
	echo "bench: $*" >&2
	exit 1
}

# measure DIR SNIPPET: prints SNIPPET and runs it with bash in DIR, in a
# process group of its own (so that the time limit and Ctrl-C end all of
# it), stdout to $W/out, stderr to $W/err. Sets T to the seconds it took and
# RC to its exit status; on failure prints why and sets T=fail.
measure() {
	local dir=$1 cmd=$2 t0
	echo "+ (cd $(q "$dir") && $cmd)"
	t0=$EPOCHREALTIME
	(cd "$dir" && exec setsid -w timeout "$TMO" bash -c "$cmd") >"$W/out" 2>"$W/err" &
	CHILD=$!
	RC=0
	wait "$CHILD" || RC=$?
	CHILD=
	T=$(elapsed "$t0")
	if [ "$RC" -ne 0 ]; then
		echo "   failed (exit $RC$([ "$RC" -eq 124 ] && echo ", over ${TMO} s")): $(tail -n 3 "$W/err")"
		T=fail
	fi
}

# put ROW COLUMN VALUE: one sample of a table cell.
put() {
	R["$1|$2"]="${R["$1|$2"]:-} $3"
}

drop_caches() {
	echo "+ sync; echo 3 > /proc/sys/vm/drop_caches"
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# hwm PID: the process's peak resident set (VmHWM) in MiB.
hwm() {
	awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo fail
}

# put_rss ROW SYSTEM: a sample of the peak RSS of SYSTEM's daemon ($DPID).
# None for native (no daemon) or the ceiling (it holds the whole dataset).
put_rss() {
	[ -n "$DPID" ] && [ "$2" != native ] && [ "$2" != ceiling ] || return 0
	put "$1" "$2" "$(hwm "$DPID")"
}

# --- mounting ------------------------------------------------------------------------

mnt_of() { echo "$W/mnt/$1"; }

# root_of SYSTEM DATASET: the directory where SYSTEM shows the dataset.
root_of() {
	local m
	m=$(mnt_of "$1")
	case $1 in
	cairn | cairn-s3 | cairn-plain) echo "$m/snapshots/$2/$TS" ;;
	restic | restic-s3) echo "$m/ids/${RID[$1:$2]}" ;;
	borg | ceiling) echo "$m/$2" ;;
	native) echo "$DATA/$2" ;;
	esac
}

# mount_cmd SYSTEM: sets MCMD to the command that mounts SYSTEM in the foreground.
mount_cmd() {
	local m
	local -a opts=()
	m=$(mnt_of "$1")
	[ -z "$CAIRNFS_OPTS" ] || opts=(-o "$CAIRNFS_OPTS")
	case $1 in
	cairn)
		MCMD=(env "CAIRN_CACHE_DIR=$W/cache/cairn" "$BUILD/cairnfs" "$W/repo/cairn" "$m" -f
			"${opts[@]}")
		;;
	cairn-s3)
		MCMD=(env "CAIRN_CACHE_DIR=$W/cache/cairn-s3" "$BUILD/cairnfs" "s3://$S3_BUCKET/cairn"
			"$m" -f "${opts[@]}")
		;;
	cairn-plain)
		MCMD=(env "CAIRN_CACHE_DIR=$W/cache/cairn-plain" "$BUILD/cairnfs" "$W/repo/cairn-plain"
			"$m" -f "${opts[@]}")
		;;
	restic) MCMD=(restic -r "$W/repo/restic" mount "$m") ;;
	restic-s3) MCMD=(restic --no-lock -r "s3:$AWS_ENDPOINT_URL/$S3_BUCKET/restic" mount "$m") ;;
	borg) MCMD=(borg mount -f "$W/repo/borg" "$m") ;;
	ceiling) MCMD=("$MEMFS" "$m" "$DATA/$MOUNT_DS") ;;
	esac
}

is_mounted() {
	awk -v p="$1" '$5 == p { f = 1 } END { exit !f }' /proc/self/mountinfo
}

# start_mount SYSTEM DATASET: mounts SYSTEM and waits until `ls` of DATASET's
# snapshot directory succeeds; sets MOUNT_T (seconds from starting the mount
# command) and DPID. Native needs no mount.
start_mount() {
	local sys=$1 ds=$2 m probe t0 s0
	MOUNT_T=
	DPID=
	[ "$sys" != native ] || return 0
	m=$(mnt_of "$sys")
	mkdir -p "$m"
	MOUNT_DS=$ds
	mount_cmd "$sys"
	probe=$(root_of "$sys" "$ds")
	echo "+ $(q "${MCMD[@]}") &   # then: until ls $(q "$probe"); do sleep 0.002; done"
	s0=$EPOCHSECONDS
	t0=$EPOCHREALTIME
	"${MCMD[@]}" >>"$W/log/$sys.log" 2>&1 &
	DPID=$!
	MPID[$sys]=$DPID
	until ls "$probe" >/dev/null 2>&1; do
		if ! kill -0 "$DPID" 2>/dev/null; then
			tail -n 20 "$W/log/$sys.log" >&2
			die "the $sys mount daemon exited before '$probe' could be listed (log: $W/log/$sys.log)"
		fi
		if [ $((EPOCHSECONDS - s0)) -ge "$MOUNT_DEADLINE" ]; then
			die "$sys: '$probe' was not listable $MOUNT_DEADLINE s after mounting"
		fi
		sleep 0.002
	done
	MOUNT_T=$(elapsed "$t0")
}

# unmount SYSTEM: unmounts and waits until its daemon has exited.
unmount() {
	local sys=$1 m pid i
	pid=${MPID[$sys]:-}
	[ -n "$pid" ] || return 0
	m=$(mnt_of "$sys")
	echo "+ fusermount3 -u $(q "$m")"
	for i in $(seq 100); do
		is_mounted "$m" || break
		fusermount3 -u "$m" 2>/dev/null && break
		sleep 0.1
	done
	if is_mounted "$m"; then
		echo "bench: $m stayed busy; detaching it" >&2
		fusermount3 -uz "$m" 2>/dev/null || umount -l "$m" || true
	fi
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "bench: the $sys daemon ($pid) did not exit after unmounting; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	unset "MPID[$sys]"
}

# fresh_mount SYSTEM DATASET: unmounted, page cache dropped, mounted again.
# The FUSE ceiling serves from memory what it loaded when mounting (its
# unmount drops the kernel's cache of the mount), so the page cache is left
# as it is for it: a cold disk would only slow its loading.
fresh_mount() {
	unmount "$1"
	[ "$1" = ceiling ] || drop_caches
	start_mount "$1" "$2"
}

# --- the S3 peer in a network namespace with a delayed link -------------------------

netns_up() {
	local x=$(($$ % 200 + 20))
	NETNS=cairn-bench-$$
	VETH=cbh$$
	HOST_IP=10.231.$x.1
	NS_IP=10.231.$x.2
	run ip netns add "$NETNS"
	run ip link add "$VETH" type veth peer name "cbn$$"
	run ip link set "cbn$$" netns "$NETNS"
	run ip addr add "$HOST_IP/24" dev "$VETH"
	run ip link set "$VETH" up
	run ip -n "$NETNS" addr add "$NS_IP/24" dev "cbn$$"
	run ip -n "$NETNS" link set "cbn$$" up
	run ip -n "$NETNS" link set lo up
	# Every packet sent into the namespace arrives DELAY late, so each round
	# trip to the S3 server (a connection, a request) costs DELAY more. With
	# netem on the host's end of the veth where the kernel has sch_netem;
	# without it, nfq-delay.c holds the packets that the namespace receives
	# from the veth (an iptables NFQUEUE rule) for as long. Not on the
	# namespace's egress: the packets held there would still count against
	# the sending socket (TCP small queues) and starve it.
	if tc qdisc add dev "$VETH" root netem delay "$DELAY" limit 100000 2>/dev/null; then
		echo "+ tc qdisc add dev $VETH root netem delay $DELAY limit 100000"
		DELAY_HOW="by tc netem on the host's end of the veth"
		return
	fi
	echo "   (this kernel has no sch_netem: tc netem fails; using tests/bench/nfq-delay.c instead)"
	# shellcheck disable=SC2046
	run cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$W/nfq-delay" "$SRC/tests/bench/nfq-delay.c" \
		$(pkg-config --cflags --libs libnetfilter_queue)
	rm -f "$W/nfq-ready"
	echo "+ ip netns exec $NETNS $(q "$W/nfq-delay") 0 $DELAY_MS $(q "$W/nfq-ready") &"
	ip netns exec "$NETNS" "$W/nfq-delay" 0 "$DELAY_MS" "$W/nfq-ready" >>"$W/log/nfq-delay.log" 2>&1 &
	NFQ_PID=$!
	for _ in $(seq 100); do
		[ ! -e "$W/nfq-ready" ] || break
		kill -0 "$NFQ_PID" 2>/dev/null || die "nfq-delay failed: $(cat "$W/log/nfq-delay.log")"
		sleep 0.05
	done
	[ -e "$W/nfq-ready" ] || die "nfq-delay did not bind its queue within 5 s"
	run ip netns exec "$NETNS" iptables -A INPUT -i "cbn$$" -j NFQUEUE --queue-num 0
	DELAY_HOW="by tests/bench/nfq-delay.c: this kernel has no sch_netem for tc netem"
}

netns_down() {
	if [ -n "$NFQ_PID" ]; then
		kill -TERM "$NFQ_PID" 2>/dev/null || true
		wait "$NFQ_PID" 2>/dev/null || true
		NFQ_PID=
	fi
	if [ -n "$NETNS" ]; then
		ip netns del "$NETNS" 2>/dev/null || true
		NETNS=
	fi
	if [ -n "$VETH" ]; then
		ip link del "$VETH" 2>/dev/null || true
		VETH=
	fi
}

# --- datasets ------------------------------------------------------------------------

MIB=1048576
gen_datasets() {
	local ds f i
	for ds in large small; do
		if [ ! -e "$DATA/.done-$ds" ]; then
			rm -rf "${DATA:?}/$ds"
			run "$SRC/tests/bench/make-dataset.sh" "$ds" "$DATA/$ds"
			touch "$DATA/.done-$ds"
		fi
	done
	if [ ! -e "$DATA/.done-par" ]; then
		# Eight different 32 MiB files for the parallel readers: 128 MiB into
		# and at the start of each of the four 256 MiB files of `large`.
		rm -rf "$DATA/par"
		mkdir -p "$DATA/par"
		i=0
		for f in text-1.txt log-2.log random.bin db.pages; do
			run dd if="$DATA/large/$f" of="$DATA/par/$i-$f" bs=1M count=32 status=none
			run dd if="$DATA/large/$f" of="$DATA/par/$((i + 1))-$f" bs=1M skip=128 count=32 \
				status=none
			i=$((i + 2))
		done
		touch "$DATA/.done-par"
	fi
	if [ ! -e "$DATA/.done-s3" ]; then
		rm -rf "$DATA/s3"
		mkdir -p "$DATA/s3"
		run cp -p "$DATA/large/text-1.txt" "$DATA/large/random.bin" "$DATA/s3/"
		touch "$DATA/.done-s3"
	fi
	if [ ! -e "$DATA/.done-tiny" ]; then
		rm -rf "$DATA/tiny"
		mkdir -p "$DATA/tiny"
		echo "+ for i in 0..15: seq \$((i * 100)) \$((i * 100 + 99)) > $DATA/tiny/file-\$i"
		for i in $(seq 0 15); do
			seq $((i * 100)) $((i * 100 + 99)) >"$DATA/tiny/file-$i"
		done
		touch "$DATA/.done-tiny"
	fi
}

# --- backups ----------------------------------------------------------------------------

# restic_id SYSTEM DATASET REPO: remembers the id of the snapshot tagged DATASET.
restic_id() {
	RID[$1:$2]=$(restic --no-lock -r "$3" snapshots --json --tag "$2" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[-1]["short_id"])')
	echo "   restic snapshot of $2: ${RID[$1:$2]}"
}

# Each tool's backups run BACKUP_RUNS times, each time into a new repository
# (and a new cache), so the medians and the spread compare like with like;
# the last run's repository is the one measured afterwards.
backup_cairn() {
	local repo=$W/repo/cairn ds i
	export CAIRN_CACHE_DIR=$W/cache/cairn
	for i in $(seq "$BACKUP_RUNS"); do
		rm -rf "$repo" "$CAIRN_CACHE_DIR"
		run "$BUILD/cairn" init -r "$repo" --kdf-params "$CAIRN_KDF"
		for ds in large small; do
			measure "$W" "$(q "$BUILD/cairn") backup -r $(q "$repo") --member $ds --time $TS $(q "$DATA/$ds")"
			put "backup_$ds" cairn "$T"
		done
		# the same data again, page cache warm: what an unchanged re-backup costs
		measure "$W" "$(q "$BUILD/cairn") backup -r $(q "$repo") --member small --time $TS2 $(q "$DATA/small")"
		put rebackup_small cairn "$T"
	done
	run "$BUILD/cairn" backup -r "$repo" --member par --time "$TS" "$DATA/par" >/dev/null
	cairn_tiny 1 $((N_SNAPSHOTS - 4))
	unset CAIRN_CACHE_DIR
}

# crypto_section: what encryption costs cairn, measured in alternation so
# that both sides meet the same machine: BACKUP_RUNS backups of the large
# dataset into a new encrypted repository and then into a new one made with
# --no-encryption (each after a sync, so neither pays for the other's
# writeback), and RUNS pairs of first sequential reads of large's two 256
# MiB files through a fresh mount of the main (encrypted) repository and of
# the unencrypted one. Rows: cmp_* (encrypted) and plain_* (not).
crypto_section() {
	local repo=$W/repo/cairn-plain enc=$W/repo/cairn-crypto f row i
	say "cairn with and without encryption, alternately (the cost of encryption)"
	# As for the backups above: the source in the page cache.
	echo "+ (cd $(q "$DATA/large") && tar cf - . | wc -c) >/dev/null"
	(cd "$DATA/large" && tar cf - . | wc -c) >/dev/null
	for i in $(seq "$BACKUP_RUNS"); do
		export CAIRN_CACHE_DIR=$W/cache/cairn-crypto
		rm -rf "$enc" "$CAIRN_CACHE_DIR"
		run "$BUILD/cairn" init -q -r "$enc" --kdf-params "$CAIRN_KDF"
		run sync
		measure "$W" "$(q "$BUILD/cairn") backup -r $(q "$enc") --member large --time $TS $(q "$DATA/large")"
		put cmp_backup_large cairn "$T"
		export CAIRN_CACHE_DIR=$W/cache/cairn-plain
		rm -rf "$repo" "$CAIRN_CACHE_DIR"
		run "$BUILD/cairn" init -q -r "$repo" --no-encryption
		run sync
		measure "$W" "$(q "$BUILD/cairn") backup -r $(q "$repo") --member large --time $TS $(q "$DATA/large")"
		put plain_backup_large cairn "$T"
	done
	rm -rf "$enc" "$W/cache/cairn-crypto"
	unset CAIRN_CACHE_DIR
	[ "${BENCH_READS:-1}" = 1 ] || return 0
	for f in text-1.txt:seq_c random.bin:seq_i; do
		row=${f#*:}
		f=${f%:*}
		for i in $(seq "$RUNS"); do
			fresh_mount cairn large
			seq_read cairn "$(root_of cairn large)/$f" "cmp_${row}1" cairn
			unmount cairn
			fresh_mount cairn-plain large
			seq_read cairn-plain "$(root_of cairn-plain large)/$f" "plain_${row}1" cairn
		done
		same cairn-plain "$(root_of cairn-plain large)/$f" "$DATA/large/$f"
		unmount cairn-plain
	done
}

# crypto_ratios: encrypted over unencrypted, from crypto_section's
# alternating rows, as rows of the cairn column (backup: time ratio; reads:
# throughput ratio, unencrypted over encrypted), so 1.05 means encryption
# costs 5%.
crypto_ratios() {
	local a b row
	# shellcheck disable=SC2086
	a=$(median ${R["cmp_backup_large|cairn"]:-}) b=$(median ${R["plain_backup_large|cairn"]:-})
	put enc_backup cairn "$(awk -v a="$a" -v b="$b" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.3f", a / b; else print "-" }')"
	for row in seq_c1 seq_i1; do
		# shellcheck disable=SC2086
		a=$(median ${R["cmp_$row|cairn"]:-}) b=$(median ${R["plain_$row|cairn"]:-})
		put "enc_$row" cairn "$(awk -v a="$a" -v b="$b" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.3f", b / a; else print "-" }')"
	done
}

# cairn_tiny FIRST LAST: snapshots FIRST..LAST of the tiny dataset, into cairn's
# repository.
cairn_tiny() {
	local repo=$W/repo/cairn i
	[ "$1" -le "$2" ] || return 0
	echo "+ for i in $1..$2: CAIRN_CACHE_DIR=$(q "$W/cache/cairn") $(q "$BUILD/cairn") backup -r $(q "$repo") --member tiny --time 2025-01-01T\$(hhmm of i)00Z $(q "$DATA/tiny")"
	for i in $(seq "$1" "$2"); do
		CAIRN_CACHE_DIR=$W/cache/cairn "$BUILD/cairn" backup -r "$repo" --member tiny \
			--time "$(printf '2025-01-01T%02d%02d00Z' $((i / 60)) $((i % 60)))" \
			"$DATA/tiny" >/dev/null 2>&1 || die "cairn backup of tiny #$i failed"
	done
}

backup_restic() {
	local repo=$W/repo/restic ds i
	for i in $(seq "$BACKUP_RUNS"); do
		rm -rf "$repo" "$RESTIC_CACHE_DIR"
		run restic -r "$repo" init >/dev/null
		for ds in large small; do
			measure "$DATA/$ds" "restic -r $(q "$repo") backup --host bench --tag $ds ."
			put "backup_$ds" restic "$T"
			restic_id restic "$ds" "$repo"
		done
		measure "$DATA/small" "restic -r $(q "$repo") backup --host bench --tag small-again ."
		put rebackup_small restic "$T"
	done
	measure "$DATA/par" "restic -r $(q "$repo") backup --host bench --tag par ."
	restic_id restic par "$repo"
	echo "+ for i in 1..$((N_SNAPSHOTS - 4)): (cd $(q "$DATA/tiny") && restic -r $(q "$repo") backup --host bench --tag tiny .)"
	for i in $(seq 1 $((N_SNAPSHOTS - 4))); do
		(cd "$DATA/tiny" && restic -r "$repo" backup -q --host bench --tag tiny .) ||
			die "restic backup of tiny #$i failed"
	done
}

backup_borg() {
	local repo=$W/repo/borg ds i
	for i in $(seq "$BACKUP_RUNS"); do
		rm -rf "$repo" "$BORG_BASE_DIR"
		run borg init --encryption none "$repo"
		for ds in large small; do
			measure "$DATA/$ds" "borg create $(q "$repo")::$ds ."
			put "backup_$ds" borg "$T"
		done
		measure "$DATA/small" "borg create $(q "$repo")::small-again ."
		put rebackup_small borg "$T"
	done
	measure "$DATA/par" "borg create $(q "$repo")::par ."
	echo "+ for i in 1..$((N_SNAPSHOTS - 4)): (cd $(q "$DATA/tiny") && borg create $(q "$repo")::tiny-\$i .)"
	for i in $(seq 1 $((N_SNAPSHOTS - 4))); do
		(cd "$DATA/tiny" && borg create "$repo::tiny-$i" .) || die "borg create of tiny #$i failed"
	done
}

# --- the measurements ----------------------------------------------------------------------

# seq_read SYSTEM PATH ROW COLUMN: dd of PATH to /dev/null; a sample of the
# cell in GB/s.
seq_read() {
	local s
	measure "$(dirname "$2")" "dd if=$(q "$(basename "$2")") of=/dev/null bs=1M"
	if [ "$T" = fail ]; then
		put "$3" "$4" fail
		return
	fi
	# dd's own figure is finer than ours; 10^9 bytes per GB.
	s=$(sed -n 's/.* copied, \([0-9.e+-]*\) s,.*/\1/p' "$W/err")
	put "$3" "$4" "$(awk -v b="$(stat -c %s "$2")" -v s="$s" 'BEGIN { printf "%.4f", b / s / 1e9 }')"
	echo "   -> $(tail -n 1 "$W/err")"
}

# same SYSTEM FILE ORIGINAL: notes whether FILE (as SYSTEM shows it) has
# the bytes of ORIGINAL; a fast mount that reads wrong bytes is no result.
same() {
	local v=identical
	[ "$1" != native ] || return 0
	echo "+ cmp $(q "$2") $(q "$3")"
	cmp "$2" "$3" >/dev/null 2>&1 || v="DIFFERENT"
	echo "   -> $v"
	SAME[$1]="${SAME[$1]:-}${SAME[$1]:+, }$(basename "$3") $v"
}

# walk SYSTEM ROW SNIPPET [ROW2]: SNIPPET in the small dataset on a fresh
# mount; with ROW2, again on the same mount.
walk() {
	local row
	fresh_mount "$1" small
	for row in "$2" ${4:+"$4"}; do
		# pipefail: a walk that hit errors (passthrough_ll out of file
		# descriptors, say) is a failed run, not a fast one.
		measure "$(root_of "$1" small)" "set -o pipefail; $3"
		put "$row" "$1" "$T"
		[ "$T" = fail ] || echo "   -> $(cat "$W/out") in $T s"
		OUTPUT["$2|$1"]=$(cat "$W/out")
	done
}

# fio_row SYSTEM: 4 KiB random reads of large/db.pages (8 KiB pages).
fio_row() {
	local sys=$1 f inv=1
	unmount "$sys"
	if [ "$sys" = native ]; then
		# Native is the page cache: the file is read first and not invalidated.
		inv=0
		run cat "$DATA/large/db.pages" >/dev/null
	else
		# The daemon's backing files are warm in the page cache (as after any
		# earlier reading); fio drops the mount's own cache of the file
		# (invalidate=1), so that every read goes to the daemon.
		if [ "$sys" != ceiling ]; then
			echo "+ find $(q "$W/repo/$sys") -type f -exec cat {} + >/dev/null"
			find "$W/repo/$sys" -type f -exec cat {} + >/dev/null
		fi
		start_mount "$sys" large
	fi
	f=$(root_of "$sys" large)/db.pages
	measure "$W" "fio --name=randread --filename=$(q "$f") --readonly --rw=randread --bs=4k --ioengine=psync --iodepth=1 --numjobs=1 --direct=0 --invalidate=$inv --runtime=$FIO_RUNTIME --randrepeat=1 --output-format=json --output=$(q "$W/fio.json")"
	if [ "$T" = fail ]; then
		put fio_iops "$sys" fail
		put fio_p50 "$sys" fail
		put fio_p99 "$sys" fail
	else
		# shellcheck disable=SC2046
		set -- $(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["jobs"][0]["read"]
p = r["clat_ns"]["percentile"]
print("%.0f %.1f %.1f %d" % (r["iops"], p["50.000000"] / 1e3, p["99.000000"] / 1e3, r["total_ios"]))
' "$W/fio.json")
		put fio_iops "$sys" "$1"
		put fio_p50 "$sys" "$2"
		put fio_p99 "$sys" "$3"
		echo "   -> $1 IOPS, p50 $2 us, p99 $3 us over $4 reads"
	fi
	put_rss rss_fio "$sys"
	unmount "$sys"
}

# local_system SYSTEM: every local row for one column.
local_system() {
	local sys=$1 i f row
	say "$sys"
	# The ceiling's mount time is the time it takes to load the dataset.
	if [ "$sys" != native ] && [ "$sys" != ceiling ]; then
		for i in $(seq "$RUNS"); do
			fresh_mount "$sys" small
			put mount "$sys" "$MOUNT_T"
			echo "   -> first listing after $MOUNT_T s"
		done
		unmount "$sys"
	fi
	if [ "$sys" = cairn ] || [ "$sys" = restic ] || [ "$sys" = borg ]; then
		for i in $(seq "$RUNS"); do
			case $sys in
			cairn) run rm -rf "$W/cache/cairn" ;;
			restic) run rm -rf "$RESTIC_CACHE_DIR" ;;
			borg) run rm -rf "$BORG_BASE_DIR/.cache" ;;
			esac
			fresh_mount "$sys" small
			put mount_cold "$sys" "$MOUNT_T"
			echo "   -> first listing after $MOUNT_T s"
			unmount "$sys"
		done
	fi
	# The 2nd runs on the same mount: once.
	for i in $(seq "$RUNS"); do
		walk "$sys" find "find . | wc -l" "$([ "$i" != 1 ] || echo find2)"
	done
	for i in $(seq "$SLOW_RUNS"); do
		walk "$sys" lslr "ls -lR . | wc -l" "$([ "$i" != 1 ] || echo lslr2)"
	done
	for i in $(seq "$SLOW_RUNS"); do
		walk "$sys" tar "tar cf - . | wc -c"
		put_rss rss_walk "$sys"
	done
	unmount "$sys"
	for f in text-1.txt:seq_c random.bin:seq_i; do
		row=${f#*:}
		f=${f%:*}
		for i in $(seq "$RUNS"); do
			fresh_mount "$sys" large
			seq_read "$sys" "$(root_of "$sys" large)/$f" "${row}1" "$sys"
			seq_read "$sys" "$(root_of "$sys" large)/$f" "${row}2" "$sys"
			[ "$row" != seq_c ] || put_rss rss_seq "$sys"
		done
		same "$sys" "$(root_of "$sys" large)/$f" "$DATA/large/$f"
	done
	if [ "$sys" = cairn ]; then
		# What a new user tries: a large file read once, then a walk of
		# another snapshot, on one mount (the memory goal: budget + 32 MiB).
		for i in $(seq "$SLOW_RUNS"); do
			fresh_mount cairn large
			seq_read cairn "$(root_of cairn large)/text-1.txt" seq_c1_walk cairn
			measure "$(root_of cairn small)" "set -o pipefail; ls -lR . | wc -l"
			put_rss rss_seq_walk cairn
		done
	fi
	unmount "$sys"
	for i in $(seq "$RUNS"); do
		fresh_mount "$sys" par
		# shellcheck disable=SC2016
		measure "$(root_of "$sys" par)" 'p=""; for f in *; do dd if="$f" of=/dev/null bs=1M status=none & p="$p $!"; done; rc=0; for x in $p; do wait $x || rc=1; done; exit $rc'
		if [ "$T" = fail ]; then
			put par "$sys" fail
		else
			put par "$sys" "$(awk -v t="$T" -v b=$((8 * 32 * MIB)) 'BEGIN { printf "%.4f", b / t / 1e9 }')"
			echo "   -> 8 x 32 MiB in $T s"
		fi
	done
	unmount "$sys"
	fio_row "$sys"
	if [ "$sys" = cairn ] && [ "$N_CAIRN_SNAPSHOTS" -gt "$N_SNAPSHOTS" ]; then
		cairn_tiny $((N_SNAPSHOTS - 3)) $((N_CAIRN_SNAPSHOTS - 4))
		for i in $(seq "$RUNS"); do
			fresh_mount cairn small
			put mount_many cairn "$MOUNT_T"
			echo "   -> first listing after $MOUNT_T s"
		done
		unmount cairn
	fi
}

# listing_section: what listing costs a fresh machine (issue 15): a
# repository of BENCH_CAIRN_SNAPSHOTS snapshots of a few small files, then
# with an empty cache directory each time the requests of `cairn snapshots`
# (local, by cairn -v; over HTTP, counted by tests/http-range-server.py) and
# of a mount up to its first `ls` over HTTP, and the time from starting
# cairnfs on the local repository to that first `ls`, page cache dropped.
# Self-contained (its own data, repository and server), so
# BENCH_LISTING_ONLY=1 runs it alone.
listing_section() {
	local repo=$W/repo/cairn-list data=$W/listing-data m=$W/mnt/cairn-list i t t0 n pid url
	local log=$W/log/listing-http.log
	say "listing on a fresh machine: $N_CAIRN_SNAPSHOTS snapshots"
	rm -rf "$repo" "$data" "$W/cache/cairn-list"*
	mkdir -p "$data" "$m"
	for i in $(seq 0 15); do
		seq $((i * 100)) $((i * 100 + 99)) >"$data/file-$i"
	done
	run "$BUILD/cairn" init -q -r "$repo" --kdf-params "$CAIRN_KDF"
	echo "+ for i in 1..$N_CAIRN_SNAPSHOTS: cairn backup -q -r $(q "$repo") --member m\$((i % 4)) --time @\$((1767225600 + i * 3600)) $(q "$data")"
	for i in $(seq "$N_CAIRN_SNAPSHOTS"); do
		CAIRN_CACHE_DIR=$W/cache/cairn-list-build "$BUILD/cairn" backup -q -r "$repo" \
			--member "m$((i % 4))" --time "@$((1767225600 + i * 3600))" "$data" ||
			die "backup #$i into $repo failed"
	done
	# shellcheck source=tests/lib-s3.sh disable=SC1091
	. "$SRC/tests/lib-s3.sh"
	echo "+ HTTP_LOG_REQUESTS=1 http_start $(q "$W/repo")   # tests/lib-s3.sh"
	HTTP_LOG_REQUESTS=1 http_start "$W/repo" || die "the HTTP server did not start"
	url=$HTTP_URL/cairn-list
	served() { grep -cE '"(GET|HEAD) ' "$HTTP_STATE/log" || true; }
	for i in $(seq "$RUNS"); do
		run rm -rf "$W/cache/cairn-list"
		n=$(CAIRN_CACHE_DIR=$W/cache/cairn-list "$BUILD/cairn" snapshots -v -r "$repo" 2>&1 \
			>/dev/null | sed -n 's/.*backend: \([0-9]*\) requests.*/\1/p')
		echo "   -> cairn snapshots, local: ${n:-fail} requests"
		put list_req_local cairn "${n:-fail}"
		run rm -rf "$W/cache/cairn-list"
		n=$(served)
		CAIRN_CACHE_DIR=$W/cache/cairn-list "$BUILD/cairn" snapshots -r "$url" >/dev/null ||
			die "cairn snapshots -r $url failed"
		n=$(($(served) - n))
		echo "   -> cairn snapshots over HTTP: $n requests"
		put list_req_http cairn "$n"
		run rm -rf "$W/cache/cairn-list"
		n=$(served)
		echo "+ cairnfs $(q "$url") $(q "$m") -f &   # then: until ls $(q "$m/snapshots/m1"); do sleep 0.002; done"
		CAIRN_CACHE_DIR=$W/cache/cairn-list "$BUILD/cairnfs" "$url" "$m" -f >>"$log" 2>&1 &
		pid=$!
		until ls "$m/snapshots/m1" >/dev/null 2>&1; do
			kill -0 "$pid" 2>/dev/null || die "cairnfs of $url exited (log: $log)"
			sleep 0.002
		done
		n=$(($(served) - n))
		echo "   -> mount and first ls over HTTP: $n requests"
		put list_req_mount cairn "$n"
		fusermount3 -u "$m"
		wait "$pid" || true
		# Locally: catalog gone and page cache dropped, as on a machine
		# that has just booted with nothing but the repository.
		run rm -rf "$W/cache/cairn-list"
		drop_caches
		echo "+ cairnfs $(q "$repo") $(q "$m") -f &   # then: until ls $(q "$m/snapshots/m1"); do sleep 0.002; done"
		t0=$EPOCHREALTIME
		CAIRN_CACHE_DIR=$W/cache/cairn-list "$BUILD/cairnfs" "$repo" "$m" -f >>"$log" 2>&1 &
		pid=$!
		until ls "$m/snapshots/m1" >/dev/null 2>&1; do
			kill -0 "$pid" 2>/dev/null || die "cairnfs of $repo exited (log: $log)"
			sleep 0.002
		done
		t=$(elapsed "$t0")
		echo "   -> first listing after $t s"
		put list_mount cairn "$t"
		fusermount3 -u "$m"
		wait "$pid" || true
	done
	http_stop
}

s3_section() {
	local sys col f row i
	say "S3 through a network namespace with $DELAY of delay"
	# shellcheck source=tests/lib-s3.sh disable=SC1091
	. "$SRC/tests/lib-s3.sh"
	netns_up
	echo "+ S3_NETNS=$NETNS S3_BIND=$NS_IP S3_BUCKET=bench s3_start $(q "$W/s3")   # tests/lib-s3.sh: Swift with s3api"
	S3_STARTED=1
	S3_BUCKET=bench
	S3_NETNS=$NETNS S3_BIND=$NS_IP s3_start "$W/s3" || die "Swift did not start"
	S3_CONNECT=$(curl -s -o /dev/null -w '%{time_connect}' "$AWS_ENDPOINT_URL/healthcheck")
	echo "   endpoint $AWS_ENDPOINT_URL, TCP connect time from here: $S3_CONNECT s"
	export CAIRN_CACHE_DIR=$W/cache/cairn-s3
	rm -rf "$CAIRN_CACHE_DIR"
	run "$BUILD/cairn" init -r "s3://$S3_BUCKET/cairn" --kdf-params "$CAIRN_KDF"
	measure "$W" "$(q "$BUILD/cairn") backup -r s3://$S3_BUCKET/cairn --member s3 --time $TS $(q "$DATA/s3")"
	put s3_backup cairn "$T"
	unset CAIRN_CACHE_DIR
	# restic cannot write to this server (see s3-upload.py): it backs up to a
	# local directory that is then copied into the bucket, and it reads over
	# S3 with --no-lock (a lock would be a write).
	rm -rf "$W/repo/restic-s3"
	run restic -r "$W/repo/restic-s3" init >/dev/null
	measure "$DATA/s3" "restic -r $(q "$W/repo/restic-s3") backup --host bench --tag s3 ."
	run python3 "$SRC/tests/bench/s3-upload.py" "$W/repo/restic-s3" "$S3_BUCKET/restic"
	restic_id restic-s3 s3 "s3:$AWS_ENDPOINT_URL/$S3_BUCKET/restic"
	for sys in cairn-s3 restic-s3; do
		col=${sys%-s3}
		for f in text-1.txt:s3_c random.bin:s3_i; do
			row=${f#*:}
			f=${f%:*}
			for i in $(seq "$SLOW_RUNS"); do
				fresh_mount "$sys" s3
				put s3_mount "$col" "$MOUNT_T"
				echo "   -> first listing after $MOUNT_T s"
				seq_read "$sys" "$(root_of "$sys" s3)/$f" "${row}1" "$col"
				seq_read "$sys" "$(root_of "$sys" s3)/$f" "${row}2" "$col"
			done
			same "$sys" "$(root_of "$sys" s3)/$f" "$DATA/s3/$f"
		done
		unmount "$sys"
	done
	s3_stop
	S3_STARTED=
	netns_down
}

# decode_limit: what all cores decode and verify (zstd and SHA-256) of the
# chunks of text-1.txt and random.bin, as a backup cuts them; the "decode
# limit" cells of the first-read rows.
decode_limit() {
	local f row v
	say "the decode limit: decode-limit over the chunks of large's text and random files"
	for f in text-1.txt:seq_c1 random.bin:seq_i1; do
		row=${f#*:}
		f=${f%:*}
		for i in $(seq "$RUNS"); do
			echo "+ $(q "$W/decode-limit") -p 2 $(q "$DATA/large/$f")"
			"$W/decode-limit" -p 2 "$DATA/large/$f" >"$W/out" || die "decode-limit failed"
			sed 's/^/   /' "$W/out"
			# Per CPU second times the threads (every core): what the
			# cores can do, which a busy machine disturbs far less than
			# the wall clock (also printed).
			v=$(awk '$1 == "decode" { sub("cpu_GBps=", "", $3); sub("threads=", "", $4); printf "%.4f", $3 * $4 }' "$W/out")
			put "$row" limit "$v"
			put "plain_$row" limit "$v"
		done
	done
}

# huge_section: the million files of make-dataset.sh's huge kind, for
# cairn (a repository of its own), native and the ceiling.
huge_section() {
	local repo=$W/repo/cairn-huge sys cat
	say "huge: 1,000,000 files in 20,000 directories"
	if [ ! -e "$DATA/.done-huge" ]; then
		rm -rf "$DATA/huge"
		run "$SRC/tests/bench/make-dataset.sh" huge "$DATA/huge"
		touch "$DATA/.done-huge"
	fi
	if has cairn; then
		export CAIRN_CACHE_DIR=$W/cache/cairn-huge
		rm -rf "$repo" "$CAIRN_CACHE_DIR"
		run "$BUILD/cairn" init -r "$repo" --no-encryption
		drop_caches
		measure "$W" "/usr/bin/time -f 'maxrss_kib=%M' $(q "$BUILD/cairn") backup -r $(q "$repo") --member huge --time $TS $(q "$DATA/huge")"
		put huge_backup cairn "$T"
		[ "$T" = fail ] ||
			put huge_backup_rss cairn "$(awk -F= '/^maxrss_kib=/ { printf "%.1f", $2 / 1024 }' "$W/err")"
		cat=$(du -sk "$CAIRN_CACHE_DIR" | awk '{ printf "%.1f", $1 / 1024 }')
		put huge_catalog cairn "$cat"
		echo "   -> the local catalog (CAIRN_CACHE_DIR): $cat MiB"
		unset CAIRN_CACHE_DIR
	fi
	for sys in cairn ceiling native; do
		has "$sys" || continue
		if [ "$sys" != native ]; then
			unmount "$sys"
			[ "$sys" = ceiling ] || drop_caches
			start_huge "$sys"
		else
			drop_caches
		fi
		measure "$(huge_root "$sys")" "ls >/dev/null"
		put huge_ls "$sys" "$T"
		measure "$(huge_root "$sys")" "set -o pipefail; ls -lR . | wc -l"
		put huge_lslr "$sys" "$T"
		[ "$T" = fail ] || echo "   -> $(cat "$W/out") lines in $T s"
		put_rss huge_rss "$sys"
		[ "$sys" = native ] || unmount "$sys"
	done
}

huge_root() {
	case $1 in
	cairn) echo "$(mnt_of cairn)/snapshots/huge/$TS" ;;
	ceiling) echo "$(mnt_of ceiling)/huge" ;;
	native) echo "$DATA/huge" ;;
	esac
}

# start_huge SYSTEM: mounts the huge dataset (cairn from its own repository).
start_huge() {
	local m
	m=$(mnt_of "$1")
	mkdir -p "$m"
	if [ "$1" = cairn ]; then
		MCMD=(env "CAIRN_CACHE_DIR=$W/cache/cairn-huge" "$BUILD/cairnfs" "$W/repo/cairn-huge" "$m" -f)
		[ -z "$CAIRNFS_OPTS" ] || MCMD+=(-o "$CAIRNFS_OPTS")
	else
		MCMD=("$MEMFS" "$m" "$DATA/huge")
	fi
	echo "+ $(q "${MCMD[@]}") &"
	"${MCMD[@]}" >>"$W/log/$1.log" 2>&1 &
	DPID=$!
	MPID[$1]=$DPID
	# A lookup, not a listing: the first listing is what is measured.
	until [ -d "$(huge_root "$1")" ]; do
		kill -0 "$DPID" 2>/dev/null || die "the $1 mount daemon exited (log: $W/log/$1.log)"
		sleep 0.01
	done
}

# --- restores -----------------------------------------------------------------------------

# new_target: a new ext4 filesystem (a loop image) mounted at $W/rt with an
# empty $W/rt/out, and the page cache dropped: each restore writes into a
# filesystem nothing has touched, and reads a cold repository.
new_target() {
	mountpoint -q "$W/rt" && run umount "$W/rt"
	mkdir -p "$W/rt"
	rm -f "$W/restore.img"
	run truncate -s 8G "$W/restore.img"
	run mkfs.ext4 -q -F "$W/restore.img"
	run mount -o loop "$W/restore.img" "$W/rt"
	mkdir "$W/rt/out"
	drop_caches
}

# restored DATASET LABEL: notes whether $W/rt/out holds what DATASET does.
restored() {
	local v=identical
	echo "+ diff -r --no-dereference $(q "$DATA/$1") $(q "$W/rt/out")"
	diff -r --no-dereference "$DATA/$1" "$W/rt/out" >"$W/diff.out" 2>&1 || v="DIFFERENT ($(head -c 200 "$W/diff.out"))"
	echo "   -> $v"
	RESTORED+=("$2 of $1: $v")
}

# restore_section: restores of large and small from a dropped page cache
# into a new ext4, BENCH_RESTORE_RUNS times each: cairn restore, restic
# restore, borg extract, cp -a out of a fresh cairn mount, and tar -xzf of a
# tar.gz of the same data (made once with tar -czf, kept in DATA) in the
# native column: the archive the restore replaces. The last run of each
# is compared with the source (diff -r).
restore_section() {
	local ds i
	say "restores ($RESTORE_RUNS runs each, into a new ext4 each time, page cache dropped)"
	for ds in large small; do
		if [ ! -e "$DATA/.done-$ds.tar.gz" ]; then
			echo "+ tar -C $(q "$DATA/$ds") -czf $(q "$DATA/$ds.tar.gz") ."
			tar -C "$DATA/$ds" -czf "$DATA/$ds.tar.gz" . || die "tar -czf of $ds failed"
			touch "$DATA/.done-$ds.tar.gz"
		fi
	done
	for ds in large small; do
		for i in $(seq "$RESTORE_RUNS"); do
			if has cairn; then
				new_target
				measure "$W" "CAIRN_CACHE_DIR=$(q "$W/cache/cairn") $(q "$BUILD/cairn") restore -r $(q "$W/repo/cairn") $ds/$TS --target $(q "$W/rt/out")"
				put "restore_$ds" cairn "$T"
				[ "$T" = fail ] || echo "   -> $T s"
				[ "$i" != "$RESTORE_RUNS" ] || restored "$ds" "cairn restore"
				new_target
				fresh_mount cairn "$ds"
				measure "$(root_of cairn "$ds")" "cp -a . $(q "$W/rt/out")"
				put "cpa_$ds" cairn "$T"
				[ "$T" = fail ] || echo "   -> $T s"
				unmount cairn
				[ "$i" != "$RESTORE_RUNS" ] || restored "$ds" "cp -a out of cairnfs"
			fi
			if has restic && [ -n "${RID[restic:$ds]:-}" ]; then
				new_target
				measure "$W" "restic -r $(q "$W/repo/restic") restore ${RID[restic:$ds]} --target $(q "$W/rt/out")"
				put "restore_$ds" restic "$T"
				[ "$T" = fail ] || echo "   -> $T s"
			fi
			if has borg && [ -d "$W/repo/borg" ]; then
				new_target
				measure "$W/rt/out" "borg extract $(q "$W/repo/borg")::$ds"
				put "restore_$ds" borg "$T"
				[ "$T" = fail ] || echo "   -> $T s"
			fi
			if has native; then
				new_target
				measure "$W" "tar -xzf $(q "$DATA/$ds.tar.gz") -C $(q "$W/rt/out")"
				put "restore_$ds" native "$T"
				[ "$T" = fail ] || echo "   -> $T s"
				put "cpa_$ds" native "$T"
				[ "$i" != "$RESTORE_RUNS" ] || restored "$ds" "tar -xzf"
			fi
		done
	done
	run umount "$W/rt"
	rm -f "$W/restore.img"
}

# --- the table ----------------------------------------------------------------------------

# median of the samples, "fail" when any failed, "-" when there are none.
median() {
	printf '%s\n' "$@" | awk '
		$1 == "fail" { failed = 1 }
		$1 ~ /^[0-9.]+$/ { v[n++] = $1 }
		END {
			if (failed) { print "fail"; exit }
			if (n == 0) { print "-"; exit }
			# insertion sort: a handful of samples
			for (i = 1; i < n; i++)
				for (j = i; j > 0 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
			printf "%.6g\n", n % 2 ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2
		}'
}

# spread of the samples: "min-max (+-P%)", P being half the range over the
# median; "-" for fewer than two numbers.
spread() {
	printf '%s\n' "$@" | awk '
		function fmt(x) {
			if (x >= 100) return sprintf("%.0f", x)
			if (x >= 10) return sprintf("%.1f", x)
			if (x >= 1) return sprintf("%.2f", x)
			if (x >= 0.1) return sprintf("%.3f", x)
			return sprintf("%.4f", x)
		}
		$1 ~ /^[0-9.]+$/ { v[n++] = $1 }
		END {
			if (n < 2) { print "-"; exit }
			for (i = 1; i < n; i++)
				for (j = i; j > 0 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
			m = n % 2 ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2
			p = m > 0 ? (v[n - 1] - v[0]) / 2 / m * 100 : 0
			printf "%s-%s(+-%.0f%%)\n", fmt(v[0]), fmt(v[n - 1]), p
		}'
}

# table [spread]: the medians and how cairn compares; with "spread", the
# range of each cell's samples instead.
table() {
	local cols=(cairn restic borg ceiling native limit) id label unit better c v n mode=${1:-median}
	local -a vals
	{
		if [ "$mode" = spread ]; then
			printf 'measurement\tunit\truns\tcairn\trestic\tborg\tFUSE ceiling\tnative\tdecode limit\n'
		else
			printf 'measurement\tunit\truns\tcairn\trestic\tborg\tFUSE ceiling\tnative\tdecode limit\tvs restic\tvs borg\tvs ceiling\tvs native\tof limit\n'
		fi
		while IFS='~' read -r id label unit better; do
			[ -n "$id" ] || continue
			vals=()
			n=0
			for c in "${cols[@]}"; do
				# shellcheck disable=SC2086
				v=$("$mode" ${R["$id|$c"]:-})
				vals+=("$v")
				# shellcheck disable=SC2086
				set -- ${R["$id|$c"]:-}
				[ $# -le "$n" ] || n=$#
			done
			[ "$n" -gt 0 ] || continue
			if [ "$mode" = spread ]; then
				[ "$n" -gt 1 ] || continue
				printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$unit" "$n" "${vals[@]}"
				continue
			fi
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$unit" "$n" \
				"${vals[@]}" "$(ratio "${vals[0]}" "${vals[1]}" "$better")" \
				"$(ratio "${vals[0]}" "${vals[2]}" "$better")" \
				"$(ratio "${vals[0]}" "${vals[3]}" "$better")" \
				"$(ratio "${vals[0]}" "${vals[4]}" "$better")" \
				"$(ratio "${vals[0]}" "${vals[5]}" "$better")"
		done <<EOF
backup_large~backup, large (5 files, 2 GiB)~s~lo
backup_small~backup, small (100k files)~s~lo
rebackup_small~unchanged re-backup, small~s~lo
mount~mount to first ls, $N_SNAPSHOTS snapshots~s~lo
mount_cold~the same, local cache deleted~s~lo
mount_many~mount to first ls, $N_CAIRN_SNAPSHOTS snapshots~s~lo
list_mount~mount to first ls, $N_CAIRN_SNAPSHOTS snapshots, no catalog, page cache cold~s~lo
list_req_local~requests: snapshots, $N_CAIRN_SNAPSHOTS snapshots, no catalog, local~n~lo
list_req_http~requests: the same over HTTP~n~lo
list_req_mount~requests: mount + first ls over HTTP, no catalog~n~lo
find~find, small, 1st on fresh mount~s~lo
find2~find, small, 2nd on that mount~s~lo
lslr~ls -lR, small, 1st on fresh mount~s~lo
lslr2~ls -lR, small, 2nd on that mount~s~lo
tar~tar cf - . | wc -c, small, fresh~s~lo
rss_walk~daemon peak RSS after the tar~MiB~lo
seq_c1~seq read 256 MiB text, 1st~GB/s~hi
seq_c2~seq read 256 MiB text, 2nd~GB/s~hi
seq_i1~seq read 256 MiB random, 1st~GB/s~hi
seq_i2~seq read 256 MiB random, 2nd~GB/s~hi
rss_seq~daemon peak RSS after text x2~MiB~lo
rss_seq_walk~the same, then ls -lR of small~MiB~lo
cmp_backup_large~backup, large, encrypted, alternating with the next~s~lo
plain_backup_large~backup, large, cairn --no-encryption~s~lo
cmp_seq_c1~seq read 256 MiB text, 1st, encrypted, alternating~GB/s~hi
plain_seq_c1~seq read 256 MiB text, 1st, --no-encryption~GB/s~hi
cmp_seq_i1~seq read 256 MiB random, 1st, encrypted, alternating~GB/s~hi
plain_seq_i1~seq read 256 MiB random, 1st, --no-encryption~GB/s~hi
enc_backup~encryption cost: backup large, enc/plain time~x~lo
enc_seq_c1~encryption cost: text 1st read, plain/enc GB/s~x~lo
enc_seq_i1~encryption cost: random 1st read, plain/enc GB/s~x~lo
par~8 parallel readers, 8x32 MiB~GB/s~hi
fio_iops~fio 4 KiB random read, db.pages~IOPS~hi
fio_p50~fio 4 KiB random read p50~us~lo
fio_p99~fio 4 KiB random read p99~us~lo
rss_fio~daemon peak RSS after fio~MiB~lo
restore_large~restore large, new ext4, cache dropped (native: tar -xzf)~s~lo
restore_small~restore small, the same~s~lo
cpa_large~cp -a out of a fresh mount, large (native: tar -xzf)~s~lo
cpa_small~cp -a out of a fresh mount, small (native: tar -xzf)~s~lo
huge_backup~huge (1M files): backup~s~lo
huge_backup_rss~huge: backup peak RSS~MiB~lo
huge_ls~huge: first ls of the root, fresh mount~s~lo
huge_lslr~huge: ls -lR, fresh mount~s~lo
huge_rss~huge: daemon peak RSS after ls -lR~MiB~lo
huge_catalog~huge: catalog size for its snapshot~MiB~lo
s3_backup~S3 +$DELAY: backup, 2 x 256 MiB~s~lo
s3_mount~S3 +$DELAY: mount to first ls~s~lo
s3_c1~S3 +$DELAY: seq read text, 1st~GB/s~hi
s3_c2~S3 +$DELAY: seq read text, 2nd~GB/s~hi
s3_i1~S3 +$DELAY: seq read random, 1st~GB/s~hi
s3_i2~S3 +$DELAY: seq read random, 2nd~GB/s~hi
EOF
	} | awk -F'\t' '
		function fmt(x) {
			if (x !~ /^[0-9.]+$/) return x # words, and spreads like "3.1-3.5(+-6%)"
			if (x >= 100) return sprintf("%.0f", x)
			if (x >= 10) return sprintf("%.1f", x)
			if (x >= 1) return sprintf("%.2f", x)
			if (x >= 0.1) return sprintf("%.3f", x)
			return sprintf("%.4f", x)
		}
		{ for (i = 1; i <= NF; i++) { c[NR, i] = (NR > 1 && i >= 4 && i <= 9) ? fmt($i) : $i
		  if (length(c[NR, i]) > w[i]) w[i] = length(c[NR, i]) } nf = NF }
		END {
			for (r = 1; r <= NR; r++) {
				line = sprintf("%-" w[1] "s", c[r, 1])
				for (i = 2; i <= nf; i++)
					line = line sprintf(i == 2 ? "  %-" w[i] "s" : "  %" w[i] "s", c[r, i])
				print line
			}
		}'
}

# ratio CAIRN OTHER lo|hi: how many times better cairn is (above 1: cairn wins).
ratio() {
	awk -v a="$1" -v b="$2" -v d="$3" 'BEGIN {
		if (a !~ /^[0-9]/ || b !~ /^[0-9]/ || a + 0 == 0 || b + 0 == 0) { print "-"; exit }
		printf "%.2fx\n", d == "lo" ? b / a : a / b }'
}

# checks: what each column's walks printed, and whether it read the right bytes.
checks() {
	local sys
	echo "Checks (the walks' output should agree; restic and borg may differ in tar's"
	echo "bytes, e.g. by how they show hardlinks):"
	for sys in cairn restic borg ceiling native; do
		[ -n "${OUTPUT["find|$sys"]:-}${SAME[$sys]:-}" ] || continue
		printf '  %-8s find %s lines, ls -lR %s lines, tar %s bytes%s\n' "$sys" \
			"${OUTPUT["find|$sys"]:--}" "${OUTPUT["lslr|$sys"]:--}" "${OUTPUT["tar|$sys"]:--}" \
			"${SAME[$sys]:+; against the originals: ${SAME[$sys]}}"
	done
	for sys in cairn-plain cairn-s3 restic-s3; do
		[ -z "${SAME[$sys]:-}" ] || printf '  %-8s against the originals: %s\n' "$sys" "${SAME[$sys]}"
	done
	for sys in "${RESTORED[@]}"; do
		printf '  restored: %s\n' "$sys"
	done
}

versions() {
	local ll
	ll=$(dpkg-query -W -f='${Version}' python3-llfuse 2>/dev/null || echo "not installed")
	echo "cairn:      $("$BUILD/cairn" --version 2>&1 | head -n 1) ($BUILD/cairn, git $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$SRC" diff --quiet HEAD 2>/dev/null || echo ', with local changes'))"
	echo "cairnfs:    $("$BUILD/cairnfs" --version 2>&1 | tr '\n' ' ')"
	echo "restic:     $(restic version)"
	echo "borg:       $(borg --version), FUSE via python3-llfuse $ll (BORG_FUSE_IMPL=$BORG_FUSE_IMPL)"
	echo "fio:        $(fio --version)"
	echo "libfuse:    $(pkg-config --modversion fuse3) (libfuse3-dev $(dpkg-query -W -f='${Version}' libfuse3-dev)), $(fusermount3 --version 2>&1)"
	echo "ceiling:    tests/bench/memfs.c built with $(cc --version | head -n 1)"
	echo "kernel:     $(uname -srvm)"
	echo "machine:    $(nproc) cores, $(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) memory"
	echo "tools:      $(tar --version | head -n 1), $(find . -maxdepth 0 --version | head -n 1), $(command ls --version | head -n 1)"
	echo "swift:      $(dpkg-query -W -f='${Version}' swift-proxy 2>/dev/null || echo "not installed") (S3 peer, tests/swift-s3.sh)"
}

notes() {
	cat <<EOF
How to read it
- Columns: cairn (cairnfs${CAIRNFS_OPTS:+ -o $CAIRNFS_OPTS}, an encrypted repository,
  AES-256-GCM, scrypt --kdf-params $CAIRN_KDF: each command derives the key once, ~30 ms
  here, where the default tuning takes ~1 s);
  restic (restic mount; restic always encrypts; compression auto); borg (borg mount;
  --encryption none; default lz4 compression); FUSE ceiling (tests/bench/memfs.c: the
  dataset loaded into memory at mount and served by a minimal multithreaded low-level
  FUSE filesystem with cairnfs's settings: 1 MiB reads, readdirplus, no opens);
  native (the dataset directory itself); decode limit (tests/bench/decode-limit.c:
  envelope_decode(), i.e. zstd decompression and the SHA-256 check, of the file's
  chunks as a backup cuts them, on all $(nproc) cores: GB/s per CPU second times
  the cores, which other load disturbs far less than the wall clock; without
  encryption, so the --no-encryption rows compare with it directly, and the
  cairn column's also pays for AES-GCM).
- A cell is the median of "runs" runs (for mount to first ls over S3: of every mount
  made there). "fail": a run failed, its error is printed above. "-": not measured.
- "vs X" is how many times better cairn is than X: X's time, latency or memory over
  cairn's, or cairn's throughput or IOPS over X's. Above 1.00x, cairn is ahead.
  Backup goals (issue 11): first backup of small vs restic >= 2.00x, its unchanged
  re-backup vs restic >= 5.00x, first backup of large vs borg >= 1.67x. Encryption
  (issue 12): the "encryption cost" rows at most 1.10.
  "of limit": cairn's first read as a fraction of the decode limit.
- 1st: the first run on a fresh mount, mounted after the page cache was dropped
  (sync; echo 3 > /proc/sys/vm/drop_caches). 2nd: the same again on that mount.
  Native 1st reads the disk, native 2nd the page cache. The FUSE ceiling serves
  from memory (its mount time is its loading, so it has no mount rows): it shows
  the cost of the FUSE path alone.
- mount to first ls: from starting the mount command to the first successful ls of
  the snapshot directory (polled every ~3 ms); tool caches kept (cairn's catalog,
  restic's cache, borg's cache) unless the row says deleted.
- Peak RSS: VmHWM of the mount daemon after the tar walk, after reading the
  256 MiB text file twice, after reading it once and then ls -lR of small on the
  same mount, and after fio.
- fio: psync, iodepth 1, at most one pass over the 256 MiB db.pages and at most
  $FIO_RUNTIME s. The mount is fresh and fio drops the file's pages in it
  (invalidate=1), so every read reaches the daemon, whose backing files are warm.
  Native reads the page cache (invalidate=0).
- Encryption cost: the "--no-encryption" rows are the same backup and reads on a
  repository made with --no-encryption (cairn column), measured in turn with the
  "encrypted, alternating" rows (each backup after a sync, into a new repository);
  the "encryption cost" rows divide encrypted by unencrypted from those pairs
  (1.05x: encryption costs 5%).
- Restores: each into a new ext4 (mkfs on a loop image, mounted at $W/rt), the page
  cache dropped first; cairn restore and cp -a out of a fresh cairnfs mount read the
  cairn repository (catalog kept), restic restore and borg extract their own; native
  is tar -xzf of a tar.gz of the same data (tar -czf, gzip's default level): the
  archive the restore replaces (issue 15 goals: restore >= 2.00x it for large and
  small, cp -a >= 1.50x). The last run of each is compared with its source (diff -r,
  under Checks).
- Datasets: large and small from tests/bench/make-dataset.sh; par: 8 x 32 MiB cut
  from large (cut from 64 MiB to fit the time budget); s3: large's text-1.txt and
  random.bin; tiny: 16 small files, backed up again and again for the extra
  snapshots; huge (only with BENCH_HUGE=1): make-dataset.sh's million files, in a
  cairn repository of its own (catalog size: CAIRN_CACHE_DIR after its backup).
  GB = 10^9 bytes.
- S3: Swift with s3api inside a network namespace whose veth link adds $DELAY
  to every packet sent into it, so each round trip costs $DELAY more
  (${DELAY_HOW:-not run}; a TCP connect took ${S3_CONNECT:-?} s). Only private
  addresses on that veth. restic cannot upload to this server (Swift 2.30 refuses
  minio-go's aws-chunked PUTs over http), so its repository is written to a local
  directory and copied into the bucket (tests/bench/s3-upload.py), and it reads
  over S3 with --no-lock: hence no S3 backup time for restic.
EOF
}

# --- main ---------------------------------------------------------------------------------------

for v in "$RUNS" "$RESTORE_RUNS" "$SLOW_RUNS" "$BACKUP_RUNS" "$N_SNAPSHOTS" "$N_CAIRN_SNAPSHOTS" "$FIO_RUNTIME" "$TMO" "$DELAY_MS"; do
	case $v in
	'' | *[!0-9]*) die "BENCH_* numbers must be whole numbers, not '$v'" ;;
	esac
done
[ "$N_SNAPSHOTS" -ge 3 ] || die "BENCH_SNAPSHOTS must be at least 3 (large, small, par)"
[ -w /proc/sys/vm/drop_caches ] || die "cannot write /proc/sys/vm/drop_caches: first reads would not be cold"
for s in "${SYSTEMS[@]}"; do
	case $s in
	cairn | restic | borg | ceiling | native) ;;
	*) die "unknown system '$s' in BENCH_SYSTEMS (cairn restic borg ceiling native)" ;;
	esac
done
has() {
	local s
	for s in "${SYSTEMS[@]}"; do
		[ "$s" != "$1" ] || return 0
	done
	return 1
}

export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$W/cache/restic
export BORG_BASE_DIR=$W/borg-base BORG_FUSE_IMPL=llfuse
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export BORG_CHECK_I_KNOW_WHAT_I_AM_DOING=NO BORG_DELETE_I_KNOW_WHAT_I_AM_DOING=NO
unset CAIRN_REPO CAIRN_PASSWORD_FILE RESTIC_REPOSITORY BORG_REPO
# cairn's repository is encrypted, like restic's; every cairn command and
# cairnfs read this password. scrypt N = 2^14 (about 30 ms) keeps the
# derivation out of the timed rows' way.
export CAIRN_PASSWORD=bench
CAIRN_KDF=16384,8,1

say "work directory $W${KEEP:+ (kept)}"
echo "runs: $RUNS for the cheap rows; $SLOW_RUNS for ls -lR, tar and the reads over S3; $BACKUP_RUNS for backups; 1 for fio"
echo "snapshots: $N_SNAPSHOTS in each local repository, then $N_CAIRN_SNAPSHOTS in cairn's for one more row"

# report: the versions, both tables, the notes and the checks, on stdout
# and in $REPORT; what was not measured shows as "-".
report() {
	{
		say "versions"
		versions
		say "results ($(awk -v a="$BENCH_START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) / 60 }') minutes in all; this machine was not otherwise idle unless you made it so)"
		table
		echo
		echo "Spread of the samples (min-max, and half the range over the median):"
		table spread
		echo
		notes
		echo
		checks
	} | tee "$REPORT"
	echo
	echo "bench: the report is also in $REPORT"
}

if [ "${BENCH_LISTING_ONLY:-0}" = 1 ]; then
	listing_section
	report
	exit 0
fi

say "the FUSE ceiling (tests/bench/memfs.c) and the decode limit (tests/bench/decode-limit.c)"
MEMFS=$W/memfs
# shellcheck disable=SC2046
run cc -std=gnu11 -O2 -Wall -Wextra -Werror $(pkg-config --cflags fuse3) -o "$MEMFS" \
	"$SRC/tests/bench/memfs.c" $(pkg-config --libs fuse3) -lpthread
[ -e "$BUILD/libcairn.a" ] || die "no $BUILD/libcairn.a (run 'make bench', which builds it)"
# shellcheck disable=SC2046
run cc -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -pthread -I"$SRC/store" \
	-o "$W/decode-limit" "$SRC/tests/bench/decode-limit.c" "$BUILD/libcairn.a" \
	$(pkg-config --libs sqlite3 libzstd libcrypto libarchive) -ldl

say "datasets in $DATA"
gen_datasets

decode_limit

if [ "${BENCH_CRYPTO_ONLY:-0}" = 1 ]; then
	if [ ! -d "$W/repo/cairn/snapshots" ]; then
		say "an encrypted repository of large to read (not timed)"
		export CAIRN_CACHE_DIR=$W/cache/cairn
		rm -rf "$W/repo/cairn" "$CAIRN_CACHE_DIR"
		run "$BUILD/cairn" init -q -r "$W/repo/cairn" --kdf-params "$CAIRN_KDF"
		run "$BUILD/cairn" backup -q -r "$W/repo/cairn" --member large --time "$TS" "$DATA/large"
		unset CAIRN_CACHE_DIR
	fi
	crypto_section
	crypto_ratios
	report
	exit 0
fi

if [ "${BENCH_RESTORE_ONLY:-0}" = 1 ]; then
	if has cairn && [ ! -d "$W/repo/cairn/snapshots" ]; then
		say "a cairn repository of large and small to restore (not timed)"
		export CAIRN_CACHE_DIR=$W/cache/cairn
		rm -rf "$W/repo/cairn" "$CAIRN_CACHE_DIR"
		run "$BUILD/cairn" init -q -r "$W/repo/cairn" --kdf-params "$CAIRN_KDF"
		for ds in large small; do
			run "$BUILD/cairn" backup -q -r "$W/repo/cairn" --member $ds --time "$TS" "$DATA/$ds"
		done
		unset CAIRN_CACHE_DIR
	fi
	if has restic && [ -d "$W/repo/restic" ]; then
		for ds in large small; do
			restic_id restic $ds "$W/repo/restic"
		done
	fi
	restore_section
	report
	exit 0
fi

say "backups ($BACKUP_RUNS runs each, each into a new repository; $((N_SNAPSHOTS - 4)) extra snapshots of tiny are not timed)"
if has cairn; then
	backup_cairn
fi
if has restic; then
	backup_restic
fi
if has borg; then
	backup_borg
fi
if [ "${BENCH_BACKUP_ONLY:-0}" = 1 ]; then
	if has cairn && [ "${BENCH_CRYPTO:-1}" = 1 ]; then
		BENCH_READS=0 crypto_section
		crypto_ratios
	fi
	report
	exit 0
fi

for s in "${SYSTEMS[@]}"; do
	local_system "$s"
done
if has cairn && [ "${BENCH_CRYPTO:-1}" = 1 ]; then
	crypto_section
	crypto_ratios
fi

if [ "${BENCH_RESTORE:-1}" = 1 ]; then
	restore_section
fi

if has cairn; then
	listing_section
fi

if [ "$DO_S3" = 1 ]; then
	s3_section
fi

if [ "$DO_HUGE" = 1 ]; then
	huge_section
fi

report
