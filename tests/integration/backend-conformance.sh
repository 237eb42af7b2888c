#!/bin/bash
# backend-conformance.sh - runs the one backend conformance suite
# ($BUILD/tests/test-backend) against every backend: S3 (OpenStack Swift with
# s3api on loopback, which verifies SigV4 signatures), a local directory, and
# HTTP serving that local directory (read-only; the local run's fixtures are
# what it reads). Needs BUILD, the absolute build directory. Exits non-zero
# on any failure; nothing is skipped. The EXIT trap stops the servers and
# removes the private directory whatever happens.
set -euo pipefail

: "${BUILD:?set BUILD to the absolute path of the build directory}"
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../lib-s3.sh
. "$here/lib-s3.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/cairn-backend-conformance.XXXXXX")
cleanup() {
	http_stop
	s3_stop
	rm -rf "$T"
}
trap cleanup EXIT

run() {
	echo "== test-backend $*" >&2
	env "$@" "$BUILD/tests/test-backend"
}

s3_start "$T/s3"
run CAIRN_TEST_BACKEND_URL="s3://$S3_BUCKET/some/prefix"
s3_stop

run CAIRN_TEST_BACKEND_URL="$T/local"
test -s "$T/local/conformance/fixtures/big"

http_start "$T/local"
run CAIRN_TEST_BACKEND_URL="$HTTP_URL/" CAIRN_TEST_BACKEND_READONLY_FROM="$T/local"
echo "backend-conformance: s3, local and http passed" >&2
