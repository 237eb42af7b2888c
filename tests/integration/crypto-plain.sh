#!/usr/bin/env bash
# Every integration test runs on encrypted repositories by default (lib.sh,
# CAIRN_TEST_ENCRYPTION); unencrypted ones must keep working too: the mount,
# restore and damaged-pack tests again, unchanged, with --no-encryption
# meaning what it says.
set -euo pipefail
: "${BUILD:?set BUILD to the absolute path of the build directory}"
: "${SRC:?set SRC to the repository root}"

failed=()
for t in mount-full-tree restore-full-tree mount-damaged-pack; do
	echo "=== $t, unencrypted" >&2
	if CAIRN_TEST_ENCRYPTION=0 bash "$SRC/tests/integration/$t.sh"; then
		echo "=== PASS $t, unencrypted" >&2
	else
		failed+=("$t")
	fi
done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "crypto-plain: failed unencrypted: ${failed[*]}" >&2
	exit 1
fi
