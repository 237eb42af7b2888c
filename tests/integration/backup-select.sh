#!/usr/bin/env bash
# Selecting what a backup takes, as cairn(1) documents it: --exclude
# (basename patterns, anchored patterns, '**', directories only),
# --exclude-file, --files-from (entries, their ancestors, comments),
# --exclude-caches (CACHEDIR.TAG with the signature, and one without it)
# and --one-file-system (a tmpfs mounted inside the tree is stored empty).
. "$(dirname "$0")/lib.sh"

src="$T/src"
mkdir -p "$src/app/logs" "$src/app/data/tmp" "$src/app/cache" "$src/fake-cache" \
	"$src/etc/nginx" "$src/var/lib/app" "$src/var/lib/other" "$src/mnt"
for f in app/main.c app/main.o app/logs/a.log app/data/db app/data/tmp/x app/data/tmp.keep \
	etc/nginx/nginx.conf etc/passwd var/lib/app/state var/lib/other/junk top.txt \
	app/cache/blob fake-cache/blob; do
	echo "$f" >"$src/$f"
done
printf 'Signature: 8a477f597d28d172789f06886806bc55\n# a cache\n' >"$src/app/cache/CACHEDIR.TAG"
printf 'Signature: not the right one\n' >"$src/fake-cache/CACHEDIR.TAG"

repo="$T/repo"
cairn init -r "$repo" --no-encryption
n=0
# snapshot_paths ARGS...: backs up $src with ARGS, prints the snapshot's paths.
snapshot_paths() {
	n=$((n + 1))
	expect_status 0 cairn backup -r "$repo" --member "m$n" "$@" "$src"
	rm -rf "$T/out"
	cairn restore -r "$repo" "m$n/latest" --target "$T/out" 2>/dev/null
	(cd "$T/out" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort)
}
lines() { printf '%s\n' "$@"; }

info "--exclude: a basename anywhere, an anchored path, '**', a directory-only pattern"
got=$(snapshot_paths --exclude '*.o' --exclude /app/data/tmp --exclude 'var/**/junk' \
	--exclude 'logs/' --exclude 'tmp.keep/')
assert_eq "$(lines app app/cache app/cache/CACHEDIR.TAG app/cache/blob app/data app/data/db \
	app/data/tmp.keep app/main.c etc etc/nginx etc/nginx/nginx.conf etc/passwd fake-cache \
	fake-cache/CACHEDIR.TAG fake-cache/blob mnt top.txt var var/lib var/lib/app \
	var/lib/app/state var/lib/other)" "$got" "paths after --exclude"

info "--exclude-file: one pattern a line, comments and blank lines ignored"
printf '# build outputs\n*.o\n\n  main.c  \n/var\n' >"$T/excludes"
got=$(snapshot_paths --exclude-file "$T/excludes")
assert_eq "" "$(grep -E '(^|/)main\.[co]$|^var' <<<"$got" || true)" "excluded by the file"
assert_contains "$got" "etc/nginx/nginx.conf"

info "--files-from: listed paths, their ancestors, nothing else"
printf '# what the package ships\n/etc/nginx\n\nvar/lib/app/state\n./top.txt\n' >"$T/include"
got=$(snapshot_paths --files-from "$T/include")
assert_eq "$(lines etc etc/nginx etc/nginx/nginx.conf top.txt var var/lib var/lib/app \
	var/lib/app/state)" "$got" "paths with --files-from"

info "--files-from and --exclude together"
got=$(snapshot_paths --files-from "$T/include" --exclude nginx.conf)
assert_eq "$(lines etc etc/nginx top.txt var var/lib var/lib/app var/lib/app/state)" "$got" \
	"paths with --files-from and --exclude"

info "an include list that names nothing, or climbs out, is refused"
printf '# nothing\n\n' >"$T/empty-list"
expect_status 2 cairn backup -r "$repo" --member x --files-from "$T/empty-list" "$src"
printf 'ok\n../etc\n' >"$T/bad-list"
expect_status 2 cairn backup -r "$repo" --member x --files-from "$T/bad-list" "$src"
assert_contains "$ERR" "line 2"

info "--exclude-caches: only a tag with the signature counts; the tag itself stays"
got=$(snapshot_paths --exclude-caches)
assert_contains "$got" "app/cache/CACHEDIR.TAG"
assert_contains "$got" "fake-cache/blob"
if grep -qx app/cache/blob <<<"$got"; then fail "the cache directory's contents were stored"; fi

info "--one-file-system: a mount inside the tree is stored as an empty directory"
mount -t tmpfs -o size=4m tmpfs "$src/mnt"
echo other-fs >"$src/mnt/inside"
got=$(snapshot_paths)
assert_contains "$got" "mnt/inside"
got=$(snapshot_paths --one-file-system)
assert_contains "$got" "mnt"
if grep -qx mnt/inside <<<"$got"; then fail "--one-file-system crossed into the tmpfs"; fi
umount "$src/mnt"
