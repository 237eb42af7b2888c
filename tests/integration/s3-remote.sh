#!/usr/bin/env bash
# The S3 backend against a real server that verifies signatures (OpenStack
# Swift with s3api), some requests through tests/fault-proxy.py:
#   - a wrong secret is one clear "credentials refused" error naming the
#     operation, the key and the HTTP status, and never the secret;
#   - credentials, region, endpoint and addressing style from the AWS shared
#     files and AWS_PROFILE, and the session token header;
#   - 5xx, 429, resets and truncated bodies are retried, and after the bound
#     give one clear error;
#   - backup uploads packs in parallel on a few reused connections, and every
#     pack is stored before the index, the tree and the snapshot;
#   - TLS: an unknown CA is refused, --cacert and --insecure-tls work, for
#     commands and for the mount;
#   - a fresh machine: a mount from an empty cache, and a second backup from an
#     empty cache that stores almost nothing.
. "$(dirname "$0")/lib.sh"
# shellcheck source=../lib-s3.sh
. "$SRC/tests/lib-s3.sh"
_backend_stop() {
	proxy_stop
	s3_stop
}

s3_start "$T/swift"
REPO="s3://$S3_BUCKET/remote/repo"
proxied() {
	echo "$PROXY_SCHEME://127.0.0.1:$PROXY_PORT"
}
# stat_of EXPR: a value from the proxy's statistics (a Python expression on s).
stat_of() {
	proxy_ctl stats | python3 -c "import json, sys; s = json.load(sys.stdin); print($1)"
}

info "data: enough for several 16 MiB packs"
mkdir -p "$T/src/sub"
for i in 1 2 3 4 5; do
	random_bytes 15M "remote-$i" >"$T/src/sub/file-$i"
done
text_bytes 2M 1 >"$T/src/text.log"
echo small >"$T/src/small"

info "init and backup through the proxy: parallel pack uploads on reused connections"
proxy_start "$S3_PORT"
expect_status 0 cairn init -r "$REPO" --no-encryption --s3-endpoint "$(proxied)"
proxy_ctl reset-stats >/dev/null
# Each PUT takes a second longer, like a far store: chunking outruns uploads.
proxy_ctl "arm?mode=delay-1000&count=1000&method=PUT" >/dev/null
export CAIRN_CACHE_DIR="$T/cache-a"
expect_status 0 cairn backup -v -r "$REPO" --member m --time 2026-11-22T205328Z \
	--s3-endpoint "$(proxied)" "$T/src"
info "$(grep -F 'backend:' <<<"$ERR")"
puts=$(stat_of 's["max_in_flight_by_method"].get("PUT", 0)')
[ "$puts" -ge 2 ] || fail "at most $puts PUT at once: packs were uploaded one after the other"
[ "$puts" -le 4 ] || fail "$puts PUTs at once: more than the bound of 4"
conns=$(stat_of 'len(set(e[6] for e in s["log"]))')
reqs=$(stat_of 'len(s["log"])')
[ "$reqs" -ge 12 ] || fail "only $reqs requests for a backup of 77 MiB"
[ "$conns" -le 4 ] || fail "$conns connections for $reqs requests: not reused, or more than 4 at once"
info "$reqs requests on $conns connections, up to $puts PUTs at once"
proxy_ctl clear >/dev/null

info "write order: every pack stored before the index, the index before the tree, the tree before the snapshot"
proxy_ctl stats | python3 -c '
import json, sys
log = [e for e in json.load(sys.stdin)["log"] if e[2] == "PUT"]
def kind(path):
    for k in ("packs/", "index/", "trees/", "snapshots/", "snapshot-list"):
        if k in path:
            return k
    return None
def last_end(k):
    return max(e[1] for e in log if kind(e[3]) == k)
def first_start(k):
    return min(e[0] for e in log if kind(e[3]) == k)
n_packs = sum(1 for e in log if kind(e[3]) == "packs/")
if n_packs < 4:
    sys.exit(f"only {n_packs} pack PUTs")
order = ["packs/", "index/", "trees/", "snapshots/"]
for a, b in zip(order, order[1:]):
    if last_end(a) > first_start(b):
        sys.exit(f"a PUT of {b} started before every PUT of {a} had finished")
'

info "a wrong secret: one clear 'credentials refused', naming operation, key and status, never the secret"
bad_secret="wrong-Secret-$RANDOM$RANDOM"
export CAIRN_CACHE_DIR="$T/cache-wrong"
for cmd in "snapshots" "backup --member m $T/src"; do
	# shellcheck disable=SC2086
	AWS_SECRET_ACCESS_KEY=$bad_secret expect_status 1 cairn $cmd -r "$REPO"
	assert_contains "$ERR" "credentials refused" "cairn $cmd with a wrong secret"
	assert_contains "$ERR" "get '$REPO/config'" "the message names the operation and the key"
	assert_contains "$ERR" "HTTP 403" "the message names the HTTP status"
	assert_contains "$ERR" "SignatureDoesNotMatch" "the message names S3's error code"
	if grep -qF -e "$bad_secret" -e "$AWS_SECRET_ACCESS_KEY" <<<"$ERR"; then
		fail "a secret appears in the error: $ERR"
	fi
	[ "$(grep -c 'HTTP 403' <<<"$ERR")" -eq 1 ] || fail "not one error: $ERR"
done
AWS_SECRET_ACCESS_KEY=$bad_secret expect_status 1 cairn init -r "s3://$S3_BUCKET/remote/other" \
	--no-encryption
assert_contains "$ERR" "credentials refused"
grep -qF "$bad_secret" <<<"$ERR" && fail "init shows the secret: $ERR"

info "a fresh machine: mount from an empty cache"
export CAIRN_CACHE_DIR="$T/cache-b"
mount_repo "$REPO" "$T/mnt"
tree_equal "$T/src" "$T/mnt/snapshots/m/2026-11-22T205328Z"
unmount_repo "$T/mnt"

info "a second backup of the same data from an empty cache stores almost nothing"
export CAIRN_CACHE_DIR="$T/cache-c"
expect_status 0 cairn backup -v -r "$REPO" --member m --time 2026-11-23T000000Z "$T/src"
line=$(grep -F 'backend:' <<<"$ERR")
info "$line"
out=$(sed -n 's/.*, \([0-9.]* [KMGT]*i*B\) out$/\1/p' <<<"$line")
[ -n "$out" ] || fail "no byte count in: $line"
case "$out" in
*" B" | *" KiB") ;;
*) fail "the second backup of unchanged data wrote $out" ;;
esac
writes=$(sed -n 's/.* (\([0-9]*\) reads, \([0-9]*\) writes.*/\2/p' <<<"$line")
# Its lock (locks/...), tree, snapshot and the snapshot list; never a pack.
[ "$writes" -le 4 ] || fail "the second backup wrote $writes objects (lock, tree, snapshot, list at most)"

info "retries: 503, 500, 429, resets and truncated bodies are retried"
export CAIRN_CACHE_DIR="$T/cache-retry"
for fault in "mode=status-503&count=3" "mode=status-500&count=2" "mode=status-429&count=2" \
	"mode=reset&count=2" "mode=cut&count=2&method=GET"; do
	rm -rf "$CAIRN_CACHE_DIR"
	proxy_ctl clear >/dev/null
	proxy_ctl "arm?$fault" >/dev/null
	expect_status 0 cairn snapshots -r "$REPO" --s3-endpoint "$(proxied)"
	assert_contains "$OUT" "2026-11-23T000000Z" "cairn snapshots with faults $fault"
	assert_contains "$ERR" "trying again" "a retry is reported"
	assert_eq 0 "$(stat_of 's["faults_left"]')" "faults not all served: $fault"
done
info "uploads are retried too"
proxy_ctl clear >/dev/null
proxy_ctl "arm?mode=status-503&count=2&method=PUT" >/dev/null
proxy_ctl "arm?mode=reset&count=1&method=PUT&match=/snapshots/" >/dev/null
mkdir -p "$T/src2"
random_bytes 3M retry-upload >"$T/src2/new"
expect_status 0 cairn backup -r "$REPO" --member retry --time 2026-11-24T000000Z \
	--s3-endpoint "$(proxied)" "$T/src2"
assert_eq 0 "$(stat_of 's["faults_left"]')" "upload faults not all served"
info "ranged reads of packs through a mount, with their bodies cut short"
proxy_ctl clear >/dev/null
proxy_ctl "arm?mode=cut&count=3&match=/packs/" >/dev/null
rm -rf "$CAIRN_CACHE_DIR"
mount_repo "$REPO" "$T/mnt" "s3_endpoint=$(proxied)"
cmp "$T/src2/new" "$T/mnt/snapshots/retry/latest/new" || fail "a file read through cut replies differs"
assert_eq 0 "$(stat_of 's["faults_left"]')" "cut faults not all served"
unmount_repo "$T/mnt"

info "past the bound: one clear error naming the operation, the key and the status"
rm -rf "$CAIRN_CACHE_DIR"
proxy_ctl clear >/dev/null
proxy_ctl reset-stats >/dev/null
proxy_ctl "arm?mode=status-503&count=50" >/dev/null
expect_status 1 cairn snapshots -r "$REPO" --s3-endpoint "$(proxied)"
assert_contains "$ERR" "get '$REPO/config'" "the final error names the operation and the key"
assert_contains "$ERR" "HTTP 503" "the final error names the status"
assert_contains "$ERR" "after 5 attempts" "the final error says it was retried"
assert_eq 5 "$(stat_of 's["faults_served"]')" "attempts for one request (1 + 4 retries)"
proxy_ctl clear >/dev/null
proxy_ctl "arm?mode=reset&count=50" >/dev/null
expect_status 1 cairn snapshots -r "$REPO" --s3-endpoint "$(proxied)"
assert_contains "$ERR" "get '$REPO/config'" "the final error names the operation and the key"
assert_matches "$ERR" "empty reply|connection|reset" "the final error names curl's error"
assert_contains "$ERR" "5 attempts" "the final error counts the attempts"
proxy_ctl clear >/dev/null
proxy_stop

info "the session token is sent (and signed)"
proxy_start "$S3_PORT"
proxy_ctl reset-stats >/dev/null
rm -rf "$CAIRN_CACHE_DIR"
AWS_SESSION_TOKEN=session-token-for-test run_cmd cairn snapshots -r "$REPO" --s3-endpoint "$(proxied)"
assert_eq True "$(stat_of 'all(e[5] for e in s["log"]) and len(s["log"]) > 0')" \
	"every request carries X-Amz-Security-Token"
grep -qF session-token-for-test <<<"$ERR" && fail "the session token appears in messages: $ERR"
proxy_ctl reset-stats >/dev/null
expect_status 0 cairn snapshots -r "$REPO" --s3-endpoint "$(proxied)"
assert_eq False "$(stat_of 'any(e[5] for e in s["log"])')" "a token is sent though none is set"
proxy_stop

info "credentials, region and endpoint from the AWS shared files and AWS_PROFILE"
key_id=$AWS_ACCESS_KEY_ID secret=$AWS_SECRET_ACCESS_KEY endpoint=$AWS_ENDPOINT_URL
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL AWS_REGION AWS_DEFAULT_REGION
export CAIRN_CACHE_DIR="$T/cache-profiles"
mkdir -p "$HOME/.aws"
expect_status 1 cairn snapshots -r "$REPO" --s3-endpoint "$endpoint"
assert_contains "$ERR" "no credentials" "without any credentials"
assert_contains "$ERR" "AWS_ACCESS_KEY_ID" "the hint names the variables"
cat >"$HOME/.aws/credentials" <<EOF
# a comment
[default]
aws_access_key_id = $key_id
aws_secret_access_key = $secret

[other]
aws_access_key_id=$key_id
aws_secret_access_key=not-the-secret
EOF
expect_status 0 cairn snapshots -r "$REPO" --s3-endpoint "$endpoint"
assert_contains "$OUT" "2026-11-23T000000Z" "with ~/.aws/credentials [default]"
AWS_PROFILE=other expect_status 1 cairn snapshots -r "$REPO" --s3-endpoint "$endpoint"
assert_contains "$ERR" "credentials refused" "AWS_PROFILE=other picks the other (wrong) secret"
assert_contains "$ERR" "profile 'other'" "the hint names the profile"
grep -qF not-the-secret <<<"$ERR" && fail "the secret appears in the error: $ERR"
AWS_PROFILE=nowhere expect_status 1 cairn snapshots -r "$REPO" --s3-endpoint "$endpoint"
assert_contains "$ERR" "profile 'nowhere'" "a missing profile is named"
mv "$HOME/.aws/credentials" "$T/elsewhere-credentials"
AWS_SHARED_CREDENTIALS_FILE=$T/elsewhere-credentials expect_status 0 \
	cairn snapshots -r "$REPO" --s3-endpoint "$endpoint"
expect_status 1 cairn snapshots -r "$REPO" --s3-endpoint "$endpoint"

info "the config file: a profile with credentials, region and endpoint_url"
cat >"$T/aws-config" <<EOF
[default]
region = eu-west-1

[profile swift]
region = us-east-1
endpoint_url = $endpoint
aws_access_key_id = $key_id
aws_secret_access_key = $secret

[profile wrong-region]
region = eu-west-1
endpoint_url = $endpoint
aws_access_key_id = $key_id
aws_secret_access_key = $secret

[profile virtual]
region = us-east-1
endpoint_url = http://s3.localhost:$S3_PORT
s3 =
    addressing_style = virtual
aws_access_key_id = $key_id
aws_secret_access_key = $secret
EOF
export AWS_CONFIG_FILE=$T/aws-config
AWS_PROFILE=swift expect_status 0 cairn snapshots -r "$REPO"
assert_contains "$OUT" "2026-11-23T000000Z" "with [profile swift] of AWS_CONFIG_FILE"
AWS_PROFILE=wrong-region expect_status 1 cairn snapshots -r "$REPO"
info "with region eu-west-1: $ERR"
AWS_PROFILE=wrong-region AWS_REGION=us-east-1 expect_status 0 cairn snapshots -r "$REPO"
info "virtual-hosted addressing (s3.addressing_style = virtual), checked by the proxy's log"
AWS_PROFILE=virtual expect_status 0 cairn snapshots -r "$REPO"
assert_contains "$OUT" "2026-11-23T000000Z" "virtual-hosted addressing"
proxy_start "$S3_PORT"
sed -i "s|s3.localhost:$S3_PORT|s3.localhost:$PROXY_PORT|" "$T/aws-config"
rm -rf "$CAIRN_CACHE_DIR"
AWS_PROFILE=virtual expect_status 0 cairn snapshots -r "$REPO"
assert_eq False "$(stat_of 'any(e[3].startswith("/'"$S3_BUCKET"'") for e in s["log"])')" \
	"a request named the bucket in its path though addressing is virtual"
proxy_ctl reset-stats >/dev/null
rm -rf "$CAIRN_CACHE_DIR"
AWS_PROFILE=virtual expect_status 0 cairn snapshots -r "$REPO" --s3-path-style
assert_eq True "$(stat_of 'all(e[3].startswith("/'"$S3_BUCKET"'/") for e in s["log"])')" \
	"--s3-path-style overrides the profile's addressing style"
proxy_stop
unset AWS_CONFIG_FILE AWS_PROFILE
export AWS_ACCESS_KEY_ID=$key_id AWS_SECRET_ACCESS_KEY=$secret AWS_ENDPOINT_URL=$endpoint \
	AWS_REGION=us-east-1

info "TLS: a private CA is refused, then trusted with --cacert; --insecure-tls skips the check"
mkdir -p "$T/tls,dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=cairn test CA" \
	-keyout "$T/tls,dir/ca.key" -out "$T/tls,dir/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
	-keyout "$T/tls,dir/server.key" -out "$T/tls,dir/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$T/tls,dir/ext"
openssl x509 -req -in "$T/tls,dir/server.csr" -CA "$T/tls,dir/ca.pem" -CAkey "$T/tls,dir/ca.key" \
	-CAcreateserial -days 2 -extfile "$T/tls,dir/ext" -out "$T/tls,dir/server.pem" 2>/dev/null
proxy_start "$S3_PORT" --tls-cert "$T/tls,dir/server.pem" --tls-key "$T/tls,dir/server.key"
export CAIRN_CACHE_DIR="$T/cache-tls"
expect_status 1 cairn snapshots -r "$REPO" --s3-endpoint "$(proxied)"
assert_matches "$ERR" "certificate" "an unknown CA is refused, saying why"
expect_status 0 cairn snapshots -r "$REPO" --s3-endpoint "$(proxied)" --cacert "$T/tls,dir/ca.pem"
assert_contains "$OUT" "2026-11-23T000000Z" "with --cacert"
rm -rf "$CAIRN_CACHE_DIR"
expect_status 0 cairn snapshots -r "$REPO" --s3-endpoint "$(proxied)" --insecure-tls
assert_contains "$OUT" "2026-11-23T000000Z" "with --insecure-tls"
info "cairn mount passes --cacert (a path with a comma) and the endpoint on to cairnfs"
rm -rf "$CAIRN_CACHE_DIR"
mkdir -p "$T/mnt-tls"
mnt_tls=$(realpath "$T/mnt-tls")
expect_status 1 timeout 60 "$BUILD/cairn" mount -r "$REPO" --s3-endpoint "$(proxied)" "$mnt_tls"
assert_matches "$ERR" "certificate" "the mount refuses the unknown CA too"
expect_status 0 timeout 60 "$BUILD/cairn" mount -r "$REPO" --s3-endpoint "$(proxied)" \
	--cacert "$T/tls,dir/ca.pem" "$mnt_tls"
is_mounted "$mnt_tls" || fail "cairn mount returned but $mnt_tls is not mounted"
cmp "$T/src2/new" "$mnt_tls/snapshots/retry/latest/new" || fail "a file read over TLS differs"
fusermount3 -u "$mnt_tls"
proxy_stop
