#!/usr/bin/env python3
"""keep-new-inputs.py - after tests/fuzz/run-libfuzzer.sh, copy the few new
inputs that add the most coverage into the stored corpus, so it grows by a
handful of small files instead of everything libFuzzer found.

    tests/fuzz/keep-new-inputs.py TARGET [MAX] [MAX_BYTES]   (defaults: 20, 8192)

libFuzzer merges tests/fuzz/corpus/TARGET/ (first, so what it covers counts
as known) with build-fuzz/new/TARGET/, writing in a control file, for each
input, the coverage features no earlier input had. The MAX new inputs of at
most MAX_BYTES with the most such features are copied as
found-<sha1 prefix>; make-corpus.sh leaves found-* files alone.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    target = sys.argv[1]
    keep = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    max_bytes = int(sys.argv[3]) if len(sys.argv) > 3 else 8192
    binary = os.path.join(SRC, "build-fuzz", "fuzz-" + target)
    corpus = os.path.join(SRC, "tests", "fuzz", "corpus", target)
    new = os.path.join(SRC, "build-fuzz", "new", target)
    if not os.access(binary, os.X_OK) or not os.path.isdir(new):
        sys.exit(f"no {binary} or {new}: run tests/fuzz/run-libfuzzer.sh first")

    known = set()
    for name in os.listdir(corpus):
        with open(os.path.join(corpus, name), "rb") as f:
            known.add(hashlib.sha1(f.read()).hexdigest())

    with tempfile.TemporaryDirectory() as tmp:
        base = os.path.join(tmp, "base")
        shutil.copytree(corpus, base)
        control = os.path.join(tmp, "control")
        subprocess.run([binary, "-merge=1", "-merge_control_file=" + control, base, new],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(control) as f:
            lines = f.read().splitlines()
        n_files, n_first = int(lines[0]), int(lines[1])
        paths = lines[2:2 + n_files]
        gain = {}
        for line in lines[2 + n_files:]:
            if line.startswith("FT "):
                fields = line.split()
                gain[int(fields[1])] = len(fields) - 2

    ranked = []
    for i in range(n_first, n_files):
        path = paths[i]
        size = os.path.getsize(path)
        if gain.get(i, 0) == 0 or size > max_bytes:
            continue
        with open(path, "rb") as f:
            digest = hashlib.sha1(f.read()).hexdigest()
        if digest not in known:
            ranked.append((-gain[i], size, digest, path))
    ranked.sort()
    seen = set()
    kept = 0
    for neg_gain, size, digest, path in ranked:
        if kept == keep or digest in seen:
            continue
        seen.add(digest)
        shutil.copyfile(path, os.path.join(corpus, "found-" + digest[:12]))
        print(f"{target}: found-{digest[:12]}  {size:6d} bytes  +{-neg_gain} features")
        kept += 1
    print(f"{target}: kept {kept} of {len(ranked)} inputs that add coverage")


if __name__ == "__main__":
    main()
