#!/usr/bin/env bash
# A hostile server cannot make cairn buffer without bound or loop forever:
# an endless config over HTTP, a 64 MiB one, an S3 listing that answers
# every continuation token with a new one (with the same key, or with no
# keys), each fails within seconds with a clear error and a peak memory far
# below what the server sent; and an S3 error <Message> carrying a newline
# and terminal escape sequences reaches stderr escaped.
. "$(dirname "$0")/lib.sh"

RSS_MAX_KIB=$((200 * 1024))
case "$BUILD" in *-asan) RSS_MAX_KIB=$((600 * 1024)) ;; esac

cairn init -r "$T/www/repo" --no-encryption
HOSTILE_PID=
hostile_start() {
	rm -f "$T/port"
	python3 "$SRC/tests/hostile-server.py" --mode "$1" --directory "$T/www" \
		--port-file "$T/port" 0 2>"$T/hostile.log" &
	HOSTILE_PID=$!
	local until
	until=$(deadline_in 10)
	while [ ! -s "$T/port" ]; do
		kill -0 "$HOSTILE_PID" 2>/dev/null || fail "the hostile server died: $(cat "$T/hostile.log")"
		[ "$(now)" -lt "$until" ] || fail "the hostile server did not start"
		sleep 0.05
	done
	PORT=$(cat "$T/port")
}
hostile_stop() {
	[ -n "$HOSTILE_PID" ] || return 0
	kill "$HOSTILE_PID" 2>/dev/null || true
	wait "$HOSTILE_PID" 2>/dev/null || true
	HOSTILE_PID=
}
trap 'hostile_stop; cleanup' EXIT

# bounded STATUS CMD...: CMD exits with STATUS, within 60 s, peaking below
# RSS_MAX_KIB; sets OUT and ERR.
bounded() {
	local want=$1
	shift
	expect_status "$want" timeout 60 /usr/bin/time -f 'peak-kib %M' -o "$T/time" "$@"
	local peak
	peak=$(awk '/^peak-kib/ { print $2 }' "$T/time")
	info "peak RSS $((peak / 1024)) MiB: $*"
	[ "$peak" -lt "$RSS_MAX_KIB" ] || fail "$* peaked at $((peak / 1024)) MiB"
}

export AWS_ACCESS_KEY_ID=hostile AWS_SECRET_ACCESS_KEY=hostile AWS_REGION=us-east-1
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3

info "an endless config over HTTP"
hostile_start endless-config
bounded 1 "$BUILD/cairn" snapshots -r "http://127.0.0.1:$PORT/x/repo"
assert_matches "$ERR" "larger than [0-9]+ bytes" "the endless config is refused"
hostile_stop

info "a 64 MiB config (announced) over HTTP and S3"
hostile_start huge-config
bounded 1 "$BUILD/cairn" snapshots -r "http://127.0.0.1:$PORT/x/repo"
assert_matches "$ERR" "larger than [0-9]+ bytes" "the huge config over HTTP"
bounded 1 "$BUILD/cairn" snapshots -r s3://bkt/repo --s3-endpoint "http://127.0.0.1:$PORT"
assert_matches "$ERR" "larger than [0-9]+ bytes" "the huge config over S3"
hostile_stop

info "an S3 listing that never ends"
hostile_start endless-list
bounded 1 "$BUILD/cairn" snapshots -r s3://bkt/repo --s3-endpoint "http://127.0.0.1:$PORT"
assert_matches "$ERR" "again or out of order" "the repeated key is caught"
hostile_stop
hostile_start empty-list
bounded 1 "$BUILD/cairn" snapshots -r s3://bkt/repo --s3-endpoint "http://127.0.0.1:$PORT"
assert_matches "$ERR" "page after page without keys" "empty pages without end are caught"
hostile_stop

info "an S3 error message with control characters"
hostile_start escape-error
bounded 1 "$BUILD/cairn" snapshots -r s3://bkt/repo --s3-endpoint "http://127.0.0.1:$PORT"
esc=$(printf '\033')
case "$ERR" in
*"$esc"*) fail "an escape character reached stderr: $(printf '%s' "$ERR" | od -c | head)" ;;
esac
assert_matches "$ERR" 'Access Denied\\n' "the newline is shown escaped"
assert_eq 1 "$(printf '%s\n' "$ERR" | grep -c 'all is well')" "the message stays on one line"
hostile_stop
