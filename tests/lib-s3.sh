# lib-s3.sh - test peers for the S3 and HTTP backends, sourced by bash test
# scripts (it uses BASH_SOURCE to find its neighbours).
#
#   s3_start DIR    starts OpenStack Swift with s3api (tests/swift-s3.sh) on free
#                   loopback ports with its state in DIR (wiped first), exports
#                   AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=testing
#                   AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:PORT,
#                   and creates the bucket $S3_BUCKET (default cairn-test) with a
#                   SigV4-signed PUT. Sets S3_PORT. Takes about 10 s.
#                   Optional, for the benchmark (tests/bench/run.sh): S3_NETNS=NS
#                   runs Swift inside network namespace NS (made by the caller)
#                   and S3_BIND=ADDR makes its S3 port listen on ADDR, a private
#                   address of that namespace, which the endpoint then names.
#   s3_stop         stops it; safe when it never started, and twice.
#   http_start DIR  serves DIR read-only with byte ranges (tests/http-range-server.py)
#                   on a free loopback port; exports HTTP_URL=http://127.0.0.1:PORT.
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
	S3_NEW_BUCKET=$1 python3 - <<'EOF'
import datetime, hashlib, hmac, os, sys, urllib.error, urllib.request
endpoint = os.environ["AWS_ENDPOINT_URL"].rstrip("/")
bucket, region = os.environ["S3_NEW_BUCKET"], os.environ["AWS_REGION"]
host = endpoint.split("://", 1)[1]
now = datetime.datetime.now(datetime.timezone.utc)
amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
empty = hashlib.sha256(b"").hexdigest()
signed = "host;x-amz-content-sha256;x-amz-date"
canonical = (f"PUT\n/{bucket}\n\nhost:{host}\nx-amz-content-sha256:{empty}\n"
             f"x-amz-date:{amz_date}\n\n{signed}\n{empty}")
scope = f"{day}/{region}/s3/aws4_request"
to_sign = (f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n"
           + hashlib.sha256(canonical.encode()).hexdigest())
key = ("AWS4" + os.environ["AWS_SECRET_ACCESS_KEY"]).encode()
for part in (day, region, "s3", "aws4_request"):
    key = hmac.new(key, part.encode(), hashlib.sha256).digest()
signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
auth = (f"AWS4-HMAC-SHA256 Credential={os.environ['AWS_ACCESS_KEY_ID']}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}")
req = urllib.request.Request(f"{endpoint}/{bucket}", data=b"", method="PUT", headers={
    "x-amz-content-sha256": empty, "x-amz-date": amz_date, "Authorization": auth})
try:
    with urllib.request.urlopen(req, timeout=60) as r:
        r.read()
except urllib.error.HTTPError as e:
    sys.exit(f"lib-s3: creating bucket '{bucket}' failed: HTTP {e.code} {e.read()[:300]!r}")
EOF
}

s3_start() {
	local dir=$1 bind=${S3_BIND:-127.0.0.1} ports try
	local -a ns=()
	[ -z "${S3_NETNS:-}" ] || ns=(ip netns exec "$S3_NETNS")
	for try in 1 2 3; do
		ports=$(_s3_free_ports) || return 1
		S3_PORT=${ports% *}
		S3_DIR=$dir
		if D="$dir" PORT="$S3_PORT" BASE="${ports#* }" BIND="$bind" \
			"${ns[@]}" "$LIB_S3_DIR/swift-s3.sh" start >/dev/null; then
			break
		fi
		s3_stop
		if [ "$try" = 3 ]; then
			echo "lib-s3: swift did not start (3 tries)" >&2
			return 1
		fi
	done
	export AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
	export AWS_ENDPOINT_URL="http://$bind:$S3_PORT"
	unset AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3 AWS_PROFILE
	S3_BUCKET=${S3_BUCKET:-cairn-test}
	_s3_create_bucket "$S3_BUCKET"
}

s3_stop() {
	[ -n "$S3_DIR" ] || return 0
	D="$S3_DIR" "$LIB_S3_DIR/swift-s3.sh" stop || true
	S3_DIR=
}

http_start() {
	local dir=$1 i
	HTTP_STATE=$(mktemp -d "${TMPDIR:-/tmp}/cairn-http.XXXXXX") || return 1
	python3 "$LIB_S3_DIR/http-range-server.py" --bind 127.0.0.1 --directory "$dir" \
		--port-file "$HTTP_STATE/port" 0 2>"$HTTP_STATE/log" &
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
