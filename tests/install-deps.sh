#!/bin/sh
# install-deps.sh - install the Debian packages cairn builds, tests and demos
# with, when any is missing. Uses apt-get, through sudo when not root. Safe to
# run repeatedly: it does nothing when everything is present.
set -eu

PKGS="build-essential pkg-config clang-format libfuse3-dev fuse3 libsqlite3-dev libzstd-dev
libcurl4-openssl-dev libssl-dev libarchive-dev libcmocka-dev
rsync attr tar libarchive-tools python3 python3-yaml curl ca-certificates procps psmisc iproute2
prometheus systemd strace
swift swift-proxy swift-account swift-container swift-object"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "install-deps: need root or sudo to install:$missing" >&2
	echo "hint: run 'apt-get install$missing' as root, then run make again" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null || $SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
