#!/usr/bin/env python3
"""s3-upload.py DIR BUCKET/PREFIX - copy every file under DIR to an S3 bucket.

The benchmark (tests/bench/run.sh) needs restic's repository on the Swift S3
server, but restic (minio-go) uploads over plain HTTP with aws-chunked
streaming signatures, which Swift 2.30's s3api refuses ("Transfering payloads
in multiple chunks using aws-chunked is not supported"). So restic writes its
repository to a local directory and this copies it, file for file, with one
ordinary SigV4-signed PUT each (the payload's SHA-256 in the signature);
restic then reads it over S3 like any other. Endpoint and credentials come
from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION.
"""
import datetime
import hashlib
import hmac
import http.client
import os
import sys
import urllib.parse


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: s3-upload.py DIR BUCKET/PREFIX")
    top, dest = sys.argv[1], sys.argv[2].strip("/")
    endpoint = urllib.parse.urlsplit(os.environ["AWS_ENDPOINT_URL"])
    if endpoint.scheme != "http":
        sys.exit("s3-upload: only http:// endpoints (the benchmark's own server)")
    region = os.environ.get("AWS_REGION", "us-east-1")
    key_id = os.environ["AWS_ACCESS_KEY_ID"]
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port or 80, timeout=120)
    n = total = 0
    for root, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                body = f.read()
            rel = os.path.relpath(path, top).replace(os.sep, "/")
            uri = urllib.parse.quote(f"/{dest}/{rel}", safe="/-_.~")
            now = datetime.datetime.now(datetime.timezone.utc)
            amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
            digest = hashlib.sha256(body).hexdigest()
            signed = "host;x-amz-content-sha256;x-amz-date"
            canonical = (f"PUT\n{uri}\n\nhost:{endpoint.netloc}\nx-amz-content-sha256:{digest}\n"
                         f"x-amz-date:{amz_date}\n\n{signed}\n{digest}")
            scope = f"{day}/{region}/s3/aws4_request"
            to_sign = (f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n"
                       + hashlib.sha256(canonical.encode()).hexdigest())
            k = ("AWS4" + secret).encode()
            for part in (day, region, "s3", "aws4_request"):
                k = sign(k, part)
            signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
            conn.request("PUT", uri, body=body, headers={
                "Host": endpoint.netloc,
                "x-amz-content-sha256": digest,
                "x-amz-date": amz_date,
                "Authorization": (f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, "
                                  f"SignedHeaders={signed}, Signature={signature}"),
            })
            resp = conn.getresponse()
            answer = resp.read()
            if resp.status != 200:
                sys.exit(f"s3-upload: PUT {uri} failed: HTTP {resp.status} {answer[:300]!r}")
            n += 1
            total += len(body)
    print(f"s3-upload: {n} files, {total} bytes to {dest}/")


if __name__ == "__main__":
    main()
