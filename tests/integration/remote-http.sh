#!/usr/bin/env bash
# The mount and snapshot-listing integration tests, unchanged, against the
# read-only HTTP backend (a static server on loopback): see tests/remote-backends.sh.
: "${SRC:?SRC must name the repository root (tests/run-tests.sh sets it)}"
exec bash "$SRC/tests/remote-backends.sh" http
