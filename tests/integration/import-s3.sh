#!/usr/bin/env bash
# import-layout.sh against the S3 backend (OpenStack Swift with s3api on
# loopback, started by lib.sh): the layout import, its idempotency and the
# mount of what it imported, with the repository in a bucket.
: "${SRC:?SRC must name the repository root (tests/run-tests.sh sets it)}"
CAIRN_TEST_BACKEND=s3 exec bash "$SRC/tests/integration/import-layout.sh"
