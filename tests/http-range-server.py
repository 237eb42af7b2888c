#!/usr/bin/env python3
"""A static file server with byte ranges, for testing cairn's HTTP backend.

python3 -m http.server answers every GET with the whole file (it ignores
Range), so this is http.server's handler with single-range support added:
"Range: bytes=A-B", "bytes=A-" and "bytes=-N" get 206 with Content-Range,
a range starting at or past the end gets 416 with "Content-Range: bytes */SIZE",
and anything else (several ranges, a malformed header) gets the whole file,
as RFC 9110 allows. HEAD sends the same headers without the body. Connections
are kept alive (HTTP/1.1) and served by one thread each.

Usage: http-range-server.py [--bind ADDR] [--directory DIR] [--port-file FILE] [PORT]
With PORT 0 the kernel picks a free port; --port-file FILE receives the port
once the server is listening, so a caller can wait for the file instead of
racing for a port.
"""

import argparse
import functools
import http.server
import os
import re
import sys

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        if self.server.verbose:
            super().log_message(format, *args)

    def parse_range(self, size):
        """(first, last) of a single satisfiable range, "unsatisfiable", or None for the whole file."""
        header = self.headers.get("Range")
        if header is None:
            return None
        m = RANGE_RE.match(header.strip())
        if not m or (m.group(1) == "" and m.group(2) == ""):
            return None
        if m.group(1) == "":  # the last N bytes
            n = int(m.group(2))
            if n == 0:
                return "unsatisfiable"
            return (max(0, size - n), size - 1)
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else size - 1
        if last < first:
            return None
        if first >= size:
            return "unsatisfiable"
        return (first, min(last, size - 1))

    def send_head(self):
        self.remaining = None  # the handler lives as long as the connection
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            return super().send_head()
        try:
            f = open(path, "rb")
        except OSError:
            self.send_error(404, "File not found")
            return None
        try:
            size = os.fstat(f.fileno()).st_size
            rng = self.parse_range(size)
            if rng == "unsatisfiable":
                f.close()
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % size)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if rng is None:
                first, last = 0, size - 1
                self.send_response(200)
            else:
                first, last = rng
                self.send_response(206)
                self.send_header("Content-Range", "bytes %d-%d/%d" % (first, last, size))
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(last - first + 1))
            self.end_headers()
            f.seek(first)
            self.remaining = last - first + 1
            return f
        except BaseException:
            f.close()
            raise

    def copyfile(self, source, outputfile):
        left = self.remaining
        if left is None:  # a directory listing from the base class
            return super().copyfile(source, outputfile)
        while left > 0:
            chunk = source.read(min(left, 1 << 16))
            if not chunk:
                break
            outputfile.write(chunk)
            left -= len(chunk)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    verbose = False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--directory", default=os.getcwd())
    ap.add_argument("--port-file")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("port", nargs="?", type=int, default=8000)
    args = ap.parse_args()

    handler = functools.partial(RangeHandler, directory=args.directory)
    with Server((args.bind, args.port), handler) as httpd:
        httpd.verbose = args.verbose
        if args.port_file:
            tmp = args.port_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % httpd.server_address[1])
            os.rename(tmp, args.port_file)
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
