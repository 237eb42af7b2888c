#!/bin/sh
# check-layers.sh - fail when an #include crosses the layering in store/README.
#
# Each folder of store/ may include only its own headers and those of the
# folders below it; a *-internal.h header only from its own folder; only
# store/ talks to SQLite, libcurl, zstd, libcrypto and libarchive, and only
# fs/ to libfuse. Prints every violation as FILE:LINE: message and exits 1
# when there is any. Run from the top of the tree (the Makefile does).
set -eu

allowed() {
	case "$1" in
	base) echo "base" ;;
	format) echo "base format" ;;
	backend) echo "base backend" ;;
	catalog) echo "base format catalog" ;;
	repo) echo "base format backend catalog repo" ;;
	ops) echo "base format backend catalog repo ops" ;;
	fs | tools) echo "base format backend catalog repo ops" ;;
	tests) echo "base format backend catalog repo ops fs" ;;
	*) echo "" ;;
	esac
}

status=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
complain() {
	echo "$1: $2" >&2
	status=1
}

for f in $(find store fs tools tests/unit tests/fuzz -name '*.[ch]' | sort); do
	case "$f" in
	store/*/*) layer=$(echo "$f" | cut -d/ -f2) ;;
	store/*) complain "$f" "a module at store/'s top: move it into the folder of its layer"; continue ;;
	*) layer=$(echo "$f" | cut -d/ -f1) ;;
	esac
	ok=$(allowed "$layer")
	grep -n '^#[[:space:]]*include' "$f" | while IFS= read -r line; do
		n=${line%%:*}
		inc=$(echo "$line" | sed -n 's/.*include[[:space:]]*["<]\([^">]*\)[">].*/\1/p')
		case "$line" in
		*'"'*)
			case "$inc" in
			*/*)
				dir=${inc%%/*}
				case " $ok " in
				*" $dir "*) ;;
				*) echo "$f:$n: layer '$layer' may not include \"$inc\" (it may include: $ok)" ;;
				esac
				case "$inc" in
				*-internal.h)
					[ "$layer" = "$dir" ] || [ "$layer" = tests ] ||
						echo "$f:$n: \"$inc\" is internal to store/$dir/"
					;;
				esac
				;;
			*)
				# In store/ every include names its folder, so that each line
				# states a dependency; elsewhere a bare name is a header beside
				# the file (fs.h, cmd.h, unit.h).
				case "$f" in
				store/*) echo "$f:$n: \"$inc\": name its folder (\"$layer/$inc\")" ;;
				*) [ -f "$(dirname "$f")/$inc" ] ||
					echo "$f:$n: \"$inc\" names no header beside it: name its folder" ;;
				esac
				;;
			esac
			;;
		*)
			case "$layer:$inc" in
			fs:sqlite3.h | fs:curl/* | fs:zstd.h | fs:openssl/* | fs:archive*.h | \
				tools:sqlite3.h | tools:curl/* | tools:zstd.h | tools:openssl/* | tools:archive*.h | \
				tools:fuse*)
				echo "$f:$n: only store/ talks to <$inc>" ;;
			base:fuse* | format:fuse* | backend:fuse* | catalog:fuse* | repo:fuse* | ops:fuse*)
				echo "$f:$n: only fs/ talks to <$inc>" ;;
			esac
			;;
		esac
	done
done >"$out" 2>&1

if [ -s "$out" ]; then
	cat "$out" >&2
	status=1
fi
[ "$status" -eq 0 ] || echo "check-layers: includes cross the layering of store/README" >&2
exit "$status"
