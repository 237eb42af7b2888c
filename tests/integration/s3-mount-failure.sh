#!/usr/bin/env bash
# A mount of an S3 repository when the store stops answering: a read that
# needs the store gives EIO within the -o timeout (hang) or at once
# (refused, or no connection within -o connect_timeout), the daemon stays
# up, files already read stay readable (from the page cache, and from the
# chunk cache once the page cache is dropped), and once the store is back the
# same mount reads everything again.
. "$(dirname "$0")/lib.sh"
# shellcheck source=../lib-s3.sh
. "$SRC/tests/lib-s3.sh"
BLACKHOLE_PID=
_backend_stop() {
	[ -z "$BLACKHOLE_PID" ] || kill "$BLACKHOLE_PID" 2>/dev/null
	proxy_stop
	s3_stop
}

s3_start "$T/swift"
REPO="s3://$S3_BUCKET/failure/repo"
mkdir -p "$T/src"
for f in A B C D E; do
	random_bytes 6M "failure-$f" >"$T/src/$f"
done
cairn init -r "$REPO" --no-encryption
cairn backup -r "$REPO" --member m --time 2026-11-22T205328Z "$T/src"

# expect_eio FILE LIMIT: reading FILE fails with EIO, well within LIMIT
# seconds (the bound the mount options promise, with room for a slow machine).
expect_eio() {
	local start=$EPOCHREALTIME
	run_cmd timeout "$2" cat "$1"
	[ "$STATUS" -ne 124 ] || fail "reading $1 did not end within $2 s"
	[ "$STATUS" -ne 0 ] || fail "reading $1 succeeded though the store is down"
	assert_contains "$ERR" "Input/output error" "reading $1 with the store down"
	info "EIO after $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
}
# from_chunk_cache FILE: FILE reads correctly with its pages dropped from
# the kernel's page cache, so from cairnfs's chunk cache.
from_chunk_cache() {
	dd if="$1" iflag=nocache count=0 status=none
	cmp "$1" "$T/src/${1##*/}" || fail "${1##*/} differs when read from the chunk cache"
}

mount_repo "$REPO" "$T/mnt" "timeout=5,connect_timeout=2,refresh=1"
s="$T/mnt/snapshots/m/2026-11-22T205328Z"
assert_eq "A B C D E" "$(echo $(ls "$s"))" "the snapshot's files"
cmp "$s/A" "$T/src/A" || fail "A differs"

info "the store hangs (Swift's proxy server stopped with SIGSTOP): EIO within the timeout"
proxy=$(s3_proxy_pid)
kill -STOP "$proxy"
expect_eio "$s/B" 60
daemon_alive "$T/mnt" || fail "cairnfs died when the store hung"
cmp "$s/A" "$T/src/A" || fail "A is unreadable while the store hangs"
from_chunk_cache "$s/A"
stat "$s/C" >/dev/null || fail "stat of C while the store hangs"
kill -CONT "$proxy"
cmp "$s/B" "$T/src/B" || fail "B does not read correctly once the store answers again"

info "the store is gone (Swift stopped): EIO at once, then it comes back on the same port"
s3_stop
expect_eio "$s/C" 60
daemon_alive "$T/mnt" || fail "cairnfs died when the store went away"
from_chunk_cache "$s/A"
from_chunk_cache "$s/B"
s3_resume
cmp "$s/C" "$T/src/C" || fail "C does not read correctly after the store restarted"
daemon_alive "$T/mnt" || fail "cairnfs died"
unmount_repo "$T/mnt"

info "no connection can be made (a full accept queue): EIO after connect_timeout per attempt"
proxy_start "$S3_PORT"
mount_repo "$REPO" "$T/mnt2" "s3_endpoint=http://127.0.0.1:$PROXY_PORT,timeout=100,connect_timeout=1,retries=3"
s2="$T/mnt2/snapshots/m/2026-11-22T205328Z"
cmp "$s2/D" "$T/src/D" || fail "D differs"
port=$PROXY_PORT
proxy_stop
python3 - "$port" "$T/blackhole.ready" <<'PY' &
import signal, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(0)
fillers = []
for _ in range(3):  # fill the accept queue: later SYNs are dropped
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(("127.0.0.1", int(sys.argv[1])))
    fillers.append(c)
open(sys.argv[2], "w").close()
signal.pause()
PY
BLACKHOLE_PID=$!
until=$(deadline_in 10)
until [ -e "$T/blackhole.ready" ]; do
	[ "$(now)" -lt "$until" ] || fail "the blackhole listener did not start"
	sleep 0.05
done
# 4 attempts of 1 s plus backoff; without connect_timeout they would take
# 4 x 10 s, past the limit.
expect_eio "$s2/E" 30
daemon_alive "$T/mnt2" || fail "cairnfs died when no connection could be made"
from_chunk_cache "$s2/D"
kill "$BLACKHOLE_PID"
wait "$BLACKHOLE_PID" 2>/dev/null || true
BLACKHOLE_PID=
PROXY_PORT_WANTED=$port proxy_start "$S3_PORT"
cmp "$s2/E" "$T/src/E" || fail "E does not read correctly once connections work again"
unmount_repo "$T/mnt2"
