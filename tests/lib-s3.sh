# lib-s3.sh - test peers for the S3 and HTTP backends, sourced by bash test
# scripts (it uses BASH_SOURCE to find its neighbours).
#
#   s3_start DIR    starts OpenStack Swift with s3api (tests/swift-s3.sh) on free
#                   loopback ports with its state in DIR (wiped first), exports
#                   AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=testing
#                   (or $S3_SECRET, for a test that looks for the secret)
#                   AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:PORT,
#                   and creates the bucket $S3_BUCKET (default cairn-test) with a
#                   SigV4-signed PUT. Sets S3_PORT. Takes about 10 s.
#                   Optional, for the benchmark (tests/bench/run.sh): S3_NETNS=NS
#                   runs Swift inside network namespace NS (made by the caller)
#                   and S3_BIND=ADDR makes its S3 port listen on ADDR, a private
#                   address of that namespace, which the endpoint then names.
#   s3_stop         stops it; safe when it never started, and twice.
#   s3_resume       starts the stopped server again on the same port with the
#                   same buckets and objects (to test recovery).
#   s3_proxy_pid    prints the pid of Swift's proxy server, the process that
#                   answers S3 requests (SIGSTOP it to make the store hang).
#   s3tool ARGS     tests/s3tool.py: an independent S3 client (ls, get, put, rm,
#                   mirror) against the running server.
#   proxy_start UPSTREAM_PORT [--tls-cert F --tls-key F]
#                   starts tests/fault-proxy.py in front of 127.0.0.1:UPSTREAM_PORT
#                   on a free port; sets PROXY_PORT and PROXY_PID.
#   proxy_ctl PATH  asks the proxy (e.g. "arm?mode=status-503&count=2",
#                   "clear", "stats"), printing its answer.
#   proxy_stop      stops it; safe when it never started, and twice.
#   http_start DIR  serves DIR read-only with byte ranges (tests/http-range-server.py)
#                   on a free loopback port; exports HTTP_URL=http://127.0.0.1:PORT.
#                   With HTTP_LOG_REQUESTS=1, $HTTP_STATE/log gets a line per request.
#   http_stop       stops it; safe when it never started, and twice.
#
# Each returns non-zero, with the reason on stderr, when it fails. Call the
# stop functions from the caller's EXIT trap. Only loopback addresses are used,
# unless the caller passes S3_BIND.

LIB_S3_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
S3_DIR=
HTTP_PID=
HTTP_STATE=

# Prints "PORT BASE": four consecutive free loopback ports BASE..BASE+3 (the
# three Swift backends and the S3 port), below the kernel's ephemeral range so
# outgoing connections do not take them meanwhile.
_s3_free_ports() {
	python3 - <<'EOF'
import random, socket, sys
for _ in range(500):
    base = random.randrange(20000, 32000)
    socks = []
    try:
        for p in range(base, base + 4):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base + 3, base)
    sys.exit(0)
sys.exit("no four consecutive free ports")
EOF
}

# Creates bucket $1 with a signed CreateBucket (PUT /bucket). Credentials come
# from the environment, never from argv. curl cannot do this: its --user splits
# at the first ':', and Swift's access key ids contain one.
_s3_create_bucket() {
	python3 "$LIB_S3_DIR/s3tool.py" mkbucket "$1"
}

s3_start() {
	local dir=$1 bind=${S3_BIND:-127.0.0.1} ports try
	local -a ns=()
	[ -z "${S3_NETNS:-}" ] || ns=(ip netns exec "$S3_NETNS")
	for try in 1 2 3; do
		ports=$(_s3_free_ports) || return 1
		S3_PORT=${ports% *}
		S3_BASE=${ports#* }
		S3_DIR=$dir
		if D="$dir" PORT="$S3_PORT" BASE="${ports#* }" BIND="$bind" SECRET="${S3_SECRET:-testing}" \
			"${ns[@]}" "$LIB_S3_DIR/swift-s3.sh" start >/dev/null; then
			break
		fi
		s3_stop
		if [ "$try" = 3 ]; then
			echo "lib-s3: swift did not start (3 tries)" >&2
			return 1
		fi
	done
	export AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=${S3_SECRET:-testing} AWS_REGION=us-east-1
	export AWS_ENDPOINT_URL="http://$bind:$S3_PORT"
	unset AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3 AWS_PROFILE
	S3_BUCKET=${S3_BUCKET:-cairn-test}
	_s3_create_bucket "$S3_BUCKET"
}

s3_stop() {
	[ -n "$S3_DIR" ] || return 0
	D="$S3_DIR" "$LIB_S3_DIR/swift-s3.sh" stop || true
	S3_STOPPED_DIR=$S3_DIR
	S3_DIR=
}

s3_resume() {
	[ -n "${S3_STOPPED_DIR:-}" ] || {
		echo "lib-s3: s3_resume without a stopped server" >&2
		return 1
	}
	S3_DIR=$S3_STOPPED_DIR
	D="$S3_DIR" BASE="$S3_BASE" "$LIB_S3_DIR/swift-s3.sh" resume >/dev/null
}

s3tool() {
	python3 "$LIB_S3_DIR/s3tool.py" "$@"
}

s3_proxy_pid() {
	[ -n "$S3_DIR" ] && [ -f "$S3_DIR/pids" ] || return 1
	tail -n 1 "$S3_DIR/pids"
}

http_start() {
	local dir=$1 i
	HTTP_STATE=$(mktemp -d "${TMPDIR:-/tmp}/cairn-http.XXXXXX") || return 1
	python3 "$LIB_S3_DIR/http-range-server.py" --bind 127.0.0.1 --directory "$dir" \
		${HTTP_LOG_REQUESTS:+--verbose} --port-file "$HTTP_STATE/port" 0 2>"$HTTP_STATE/log" &
	HTTP_PID=$!
	for i in $(seq 200); do
		[ -s "$HTTP_STATE/port" ] && break
		if ! kill -0 "$HTTP_PID" 2>/dev/null; then
			echo "lib-s3: the HTTP server died:" >&2
			cat "$HTTP_STATE/log" >&2
			HTTP_PID=
			return 1
		fi
		sleep 0.05
	done
	if [ ! -s "$HTTP_STATE/port" ]; then
		echo "lib-s3: the HTTP server did not start within 10 s" >&2
		return 1
	fi
	export HTTP_URL="http://127.0.0.1:$(cat "$HTTP_STATE/port")"
}

http_stop() {
	if [ -n "$HTTP_PID" ]; then
		kill "$HTTP_PID" 2>/dev/null || true
		wait "$HTTP_PID" 2>/dev/null || true
		HTTP_PID=
	fi
	if [ -n "$HTTP_STATE" ]; then
		rm -rf "$HTTP_STATE"
		HTTP_STATE=
	fi
}

PROXY_PID=
PROXY_STATE=
PROXY_SCHEME=http

proxy_start() {
	local upstream=$1 i
	shift
	PROXY_STATE=$(mktemp -d "${TMPDIR:-/tmp}/cairn-proxy.XXXXXX") || return 1
	PROXY_SCHEME=http
	case " $* " in *" --tls-cert "*) PROXY_SCHEME=https ;; esac
	python3 "$LIB_S3_DIR/fault-proxy.py" --upstream "127.0.0.1:$upstream" \
		--port-file "$PROXY_STATE/port" "$@" ${PROXY_PORT_WANTED:-0} 2>"$PROXY_STATE/log" &
	PROXY_PID=$!
	for i in $(seq 200); do
		[ -s "$PROXY_STATE/port" ] && break
		if ! kill -0 "$PROXY_PID" 2>/dev/null; then
			echo "lib-s3: the fault proxy died:" >&2
			cat "$PROXY_STATE/log" >&2
			PROXY_PID=
			return 1
		fi
		sleep 0.05
	done
	[ -s "$PROXY_STATE/port" ] || {
		echo "lib-s3: the fault proxy did not start within 10 s" >&2
		return 1
	}
	PROXY_PORT=$(cat "$PROXY_STATE/port")
}

proxy_ctl() {
	curl -sfk --max-time 30 "$PROXY_SCHEME://127.0.0.1:$PROXY_PORT/__fault/$1"
}

proxy_stop() {
	if [ -n "$PROXY_PID" ]; then
		kill -CONT "$PROXY_PID" 2>/dev/null || true
		kill "$PROXY_PID" 2>/dev/null || true
		wait "$PROXY_PID" 2>/dev/null || true
		PROXY_PID=
	fi
	if [ -n "$PROXY_STATE" ]; then
		rm -rf "$PROXY_STATE"
		PROXY_STATE=
	fi
}
