#!/usr/bin/env python3
"""A hostile HTTP and S3 server, for testing that cairn bounds what a server
can make it do. It serves the files of --directory as they are (so a real
repository's config decodes), except where --mode says otherwise:

  endless-config   GET .../config streams bytes without end (no length)
  huge-config      GET .../config announces and sends 64 MiB
  endless-list     an S3 ListObjectsV2 reply that is always truncated, with
                   a new continuation token and the same key each time
  empty-list       the same, but pages that list no key at all
  escape-error     every S3 request fails with 400, a <Code> holding an escape
                   sequence and a <Message> holding a
                   newline and a terminal escape sequence

Every reply it sends is counted; on exit (SIGTERM) nothing is written. With
--port-file FILE the port is written there once the server listens (PORT 0
lets the kernel choose). Bounded by design: it stops streaming to a client
after --limit bytes (default 2 GiB) or when the client goes away.

Usage: hostile-server.py --mode MODE [--directory DIR] [--port-file FILE] [PORT]
"""

import argparse
import http.server
import os
import socketserver
import sys
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002
        pass

    def send_bytes(self, status, body, ctype="application/octet-stream"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def stream(self, total=None):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if total is not None:
            self.send_header("Content-Length", str(total))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        block = b"\0" * 65536
        sent = 0
        limit = total if total is not None else self.server.limit
        try:
            while sent < limit:
                n = min(len(block), limit - sent)
                self.wfile.write(block[:n])
                sent += n
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        mode = self.server.mode
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if mode == "escape-error":
            msg = "Access Denied\n\x1b]0;owned\x07\x1b[2Jcairn: all is well"
            body = ("<?xml version=\"1.0\"?><Error><Code>Bad\x1b[31mRequest</Code><Message>"
                    + msg + "</Message></Error>").encode()
            return self.send_bytes(400, body, "application/xml")
        if url.path.endswith("/config") and mode == "endless-config":
            return self.stream()
        if url.path.endswith("/config") and mode == "huge-config":
            return self.stream(64 << 20)
        if "list-type" in query and mode in ("endless-list", "empty-list"):
            self.server.pages += 1
            prefix = query.get("prefix", [""])[0]
            entry = ("<Contents><Key>%s%064x</Key><Size>1</Size></Contents>" % (prefix, 1)
                     if mode == "endless-list" else "")
            body = ("<?xml version=\"1.0\"?><ListBucketResult>%s<IsTruncated>true"
                    "</IsTruncated><NextContinuationToken>t%d</NextContinuationToken>"
                    "</ListBucketResult>" % (entry, self.server.pages)).encode()
            return self.send_bytes(200, body, "application/xml")
        # Anything else: a file of the directory, by its path below the
        # first component (the bucket for S3, the base path for HTTP).
        rel = url.path.lstrip("/").split("/", 1)[-1]
        path = os.path.join(self.server.directory, rel)
        if not rel or ".." in rel.split("/") or not os.path.isfile(path):
            return self.send_bytes(404, b"<Error><Code>NoSuchKey</Code></Error>",
                                   "application/xml")
        with open(path, "rb") as f:
            return self.send_bytes(200, f.read())

    def do_PUT(self):
        self.send_bytes(403, b"<Error><Code>AccessDenied</Code></Error>", "application/xml")

    do_POST = do_PUT
    do_DELETE = do_PUT


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True)
    ap.add_argument("--directory", default=".")
    ap.add_argument("--port-file")
    ap.add_argument("--limit", type=int, default=2 << 30)
    ap.add_argument("port", type=int, nargs="?", default=0)
    a = ap.parse_args()
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.mode, srv.directory, srv.limit, srv.pages = a.mode, a.directory, a.limit, 0
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.rename(a.port_file + ".tmp", a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
