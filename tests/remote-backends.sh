#!/usr/bin/env bash
# remote-backends.sh s3|http - the mount and snapshot-listing integration
# tests, unchanged, against the S3 backend (OpenStack Swift with s3api on loopback,
# started once for all of them) or against the read-only HTTP backend (each
# test serves its own directory with tests/http-range-server.py). Run by
# tests/integration/remote-s3.sh and remote-http.sh, one test file (and one
# timeout) per backend. lib.sh
# translates the repositories the tests name (see CAIRN_TEST_BACKEND there);
# the tests' own assertions, among them rsync --checksum --itemize-changes
# printing nothing between source and mount, are what must hold.
#
# Like every integration test, they run on encrypted repositories unless
# CAIRN_TEST_ENCRYPTION=0 (lib.sh). restore-full-tree runs against S3 too.
#
# Left out: cli-errors (it checks messages that name local paths),
# mount-unmount and backup-unreadable-file (they run "$BUILD/cairn" on
# local paths themselves), and mount-damaged-pack for S3 (it damages pack
# files in the local directory; over HTTP it runs, since the server serves
# that directory).
set -euo pipefail

: "${BUILD:?set BUILD to the absolute path of the build directory}"
: "${SRC:?set SRC to the repository root}"
# shellcheck source=../lib-s3.sh
. "$SRC/tests/lib-s3.sh"

both="mount-full-tree mount-cache-rebuild snapshots-list
mount-snapshot-names mount-refresh mount-read-only"
http_only="mount-damaged-pack"
s3_only="restore-full-tree"

backend=${1:-}
case "$backend" in
s3 | http) ;;
*)
	echo "usage: $0 s3|http" >&2
	exit 2
	;;
esac
W=$(mktemp -d "${TMPDIR:-/tmp}/cairn-remote-backends.XXXXXX")
cleanup() {
	s3_stop
	rm -rf "$W"
}
trap cleanup EXIT

failed=()
# run BACKEND TEST: one test against one backend, its output shown as it runs.
run() {
	local start st=0
	start=$(date +%s)
	echo "=== $2 against $1" >&2
	CAIRN_TEST_BACKEND=$1 bash "$SRC/tests/integration/$2.sh" || st=$?
	if [ "$st" -eq 0 ]; then
		echo "=== PASS $2 against $1 ($(($(date +%s) - start)) s)" >&2
	else
		echo "=== FAIL $2 against $1: exit $st" >&2
		failed+=("$2 ($1)")
	fi
}

if [ "$backend" = s3 ]; then
	s3_start "$W/s3"
	export CAIRN_TEST_S3_RUNNING=1 S3_BUCKET
	for t in $both $s3_only; do
		run s3 "$t"
	done
else
	for t in $both $http_only; do
		run http "$t"
	done
fi

if [ "${#failed[@]}" -gt 0 ]; then
	printf 'remote-backends: failed: %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "remote-backends: every test passed against $backend" >&2
