#!/usr/bin/env bash
# A restore killed half-way leaves only complete files under their real
# names, and running it again with --overwrite gives the exact tree.
. "$(dirname "$0")/lib.sh"

make_full_tree "$T/src"
cairn init -r "$T/repo" --no-encryption
cairn backup -r "$T/repo" --member m1 --time 2026-11-22T205328Z "$T/src"

info "kill -9 the restore once it has started"
"$BUILD/cairn" restore -r "$T/repo" m1/latest --target "$T/out" --jobs 1 2>"$T/restore.log" &
pid=$!
until=$(deadline_in 60)
until [ -d "$T/out/deep" ]; do
	kill -0 "$pid" 2>/dev/null || fail "the restore ended before it could be interrupted: $(cat "$T/restore.log")"
	[ "$(now)" -lt "$until" ] || fail "the restore did not start within 60s"
	sleep 0.02
done
kill -KILL "$pid" 2>/dev/null || fail "the restore ended before it could be interrupted"
wait "$pid" && fail "the killed restore exited 0"

info "what has its final name is complete"
rsync -aHAX --checksum --dry-run --itemize-changes "$T/src/" "$T/out/" >"$T/diff" 2>&1 || true
[ -s "$T/diff" ] || fail "the restore had finished when it was killed"
python3 - "$T/src" "$T/out" <<'PY'
import os, stat, sys
src, out = (os.fsencode(p) for p in sys.argv[1:3])
n = 0
for d, dirs, files in os.walk(out):
    for f in files:
        p = os.path.join(d, f)
        if not stat.S_ISREG(os.lstat(p).st_mode):
            continue
        rel = os.path.relpath(p, out)
        if f.startswith(b".cairn-restore."):
            continue  # a temporary name: not a final one
        with open(os.path.join(src, rel), "rb") as a, open(p, "rb") as b:
            while True:
                x, y = a.read(1 << 20), b.read(1 << 20)
                if x != y:
                    sys.exit(f"{rel!r} has its final name but not all its content")
                if not x:
                    break
        n += 1
print(f"{n} complete files", file=sys.stderr)
PY
[ ! -e "$T/out/big.bin" ] || cmp -s "$T/src/big.bin" "$T/out/big.bin" || fail "a partial big.bin"

info "a rerun without --overwrite is refused, with it completes"
expect_status 1 cairn restore -r "$T/repo" m1/latest --target "$T/out"
assert_contains "$ERR" "not empty"
expect_status 0 cairn restore -r "$T/repo" m1/latest --target "$T/out" --overwrite --verify
tree_equal "$T/src" "$T/out"
[ -z "$(find "$T/out" -name '.cairn-restore.*')" ] || fail "temporary names are left"
