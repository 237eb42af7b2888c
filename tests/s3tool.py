#!/usr/bin/env python3
"""A small SigV4-signing S3 client for cairn's tests, independent of cairn.

Tests use it to look at and tamper with what cairn stored, through a second
implementation of the protocol, so a bug in cairn's S3 code cannot hide
itself. Credentials, region and endpoint come from the environment only
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL), as
lib-s3.sh exports them; they never appear in argv. Path-style addressing.

Usage:
  s3tool.py mkbucket BUCKET
  s3tool.py ls BUCKET [PREFIX]          keys and sizes, one "KEY SIZE" a line
  s3tool.py get BUCKET KEY > FILE
  s3tool.py put BUCKET KEY < FILE
  s3tool.py rm BUCKET KEY
  s3tool.py sync DIR BUCKET PREFIX      uploads every file under DIR as
      PREFIX/<path under DIR> (what `aws s3 sync` does to publish a copy)
  s3tool.py mirror BUCKET PREFIX DIR [--skip SUBPREFIX]...
      makes DIR hold the objects under PREFIX/ (as files named by the rest of
      the key), leaving out keys under PREFIX/SUBPREFIX; files in DIR that are
      no longer in the bucket are removed, except under a skipped SUBPREFIX.
Exits 1 with the S3 error on stderr when a request fails.
"""

import datetime
import hashlib
import hmac
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def quote(s, safe="-_.~"):
    return urllib.parse.quote(s, safe=safe)


def request(method, bucket, key="", query=None, body=b"", extra=None):
    endpoint = os.environ["AWS_ENDPOINT_URL"].rstrip("/")
    region = os.environ.get("AWS_REGION", "us-east-1")
    host = endpoint.split("://", 1)[1]
    path = "/" + bucket + ("/" + quote(key, safe="-_.~/") if key else "")
    query = sorted((query or {}).items())
    cq = "&".join(f"{quote(k)}={quote(v)}" for k, v in query)
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
    headers.update(extra or {})
    names = sorted(headers)
    signed = ";".join(names)
    canonical = "\n".join([method, path, cq] + [f"{n}:{headers[n].strip()}" for n in names]
                          + ["", signed, payload])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + os.environ["AWS_SECRET_ACCESS_KEY"]).encode()
    for part in (day, region, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={os.environ['AWS_ACCESS_KEY_ID']}"
                                f"/{scope}, SignedHeaders={signed}, Signature={sig}")
    del headers["host"]
    url = endpoint + path + ("?" + cq if cq else "")
    req = urllib.request.Request(url, data=body if method in ("PUT", "POST") else None,
                                 method=method, headers=headers)
    # A freshly started Swift may say 503 for a moment; so may a busy one.
    for attempt in range(40):
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            data = e.read()
            if e.code < 500 or attempt == 39:
                return e.code, data
            time.sleep(0.5)
    raise AssertionError("unreachable")


def check(what, status, data, ok=(200, 204)):
    if status not in ok:
        sys.exit(f"s3tool: {what}: HTTP {status} {data[:300]!r}")


def list_keys(bucket, prefix):
    token = None
    while True:
        q = {"list-type": "2", "prefix": prefix}
        if token:
            q["continuation-token"] = token
        status, data = request("GET", bucket, query=q)
        check(f"list {bucket}/{prefix}", status, data)
        root = ET.fromstring(data)
        for c in root.iter(NS + "Contents"):
            yield c.find(NS + "Key").text, int(c.find(NS + "Size").text)
        if root.findtext(NS + "IsTruncated") != "true":
            return
        token = root.findtext(NS + "NextContinuationToken")


def mirror(bucket, prefix, dest, skips):
    prefix = prefix.strip("/") + "/"
    want = set()
    for key, _ in list_keys(bucket, prefix):
        rel = key[len(prefix):]
        if not rel or any(rel.startswith(s) for s in skips) or ".." in rel.split("/"):
            continue
        want.add(rel)
        path = os.path.join(dest, rel)
        if os.path.exists(path):
            continue  # objects are immutable (snapshot-list is fetched again below)
        status, data = request("GET", bucket, key)
        check(f"get {key}", status, data, ok=(200,))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
    # snapshot-list is rewritten by every backup: fetch it again
    for rel in ("snapshot-list",):
        if rel in want:
            status, data = request("GET", bucket, prefix + rel)
            check(f"get {prefix}{rel}", status, data, ok=(200,))
            with open(os.path.join(dest, rel), "wb") as f:
                f.write(data)
    for root, _, files in os.walk(dest):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), dest)
            if rel not in want and not any(rel.startswith(s) for s in skips):
                os.remove(os.path.join(root, name))


def sync(src, bucket, prefix):
    prefix = prefix.strip("/") + "/"
    for root, _, files in os.walk(src):
        for name in sorted(files):
            path = os.path.join(root, name)
            key = prefix + os.path.relpath(path, src)
            with open(path, "rb") as f:
                status, data = request("PUT", bucket, key, body=f.read())
            check(f"put {key}", status, data)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "mkbucket" and len(args) == 1:
        status, data = request("PUT", args[0])
        check(f"create bucket {args[0]}", status, data, ok=(200, 409))
    elif cmd == "ls" and len(args) in (1, 2):
        for key, size in list_keys(args[0], args[1] if len(args) == 2 else ""):
            print(key, size)
    elif cmd == "get" and len(args) == 2:
        status, data = request("GET", args[0], args[1])
        check(f"get {args[1]}", status, data, ok=(200,))
        sys.stdout.buffer.write(data)
    elif cmd == "put" and len(args) == 2:
        status, data = request("PUT", args[0], args[1], body=sys.stdin.buffer.read())
        check(f"put {args[1]}", status, data)
    elif cmd == "rm" and len(args) == 2:
        status, data = request("DELETE", args[0], args[1])
        check(f"delete {args[1]}", status, data, ok=(200, 204, 404))
    elif cmd == "sync" and len(args) == 3:
        sync(args[0], args[1], args[2])
    elif cmd == "mirror" and len(args) >= 3:
        skips = [args[i + 1] for i in range(3, len(args) - 1) if args[i] == "--skip"]
        mirror(args[0], args[1], args[2], skips)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
