#!/usr/bin/env bash
# The mount and snapshot-listing integration tests, unchanged, against the S3
# backend (OpenStack Swift with s3api on loopback): see tests/remote-backends.sh.
: "${SRC:?SRC must name the repository root (tests/run-tests.sh sets it)}"
exec bash "$SRC/tests/remote-backends.sh" s3
