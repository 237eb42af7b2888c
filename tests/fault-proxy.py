#!/usr/bin/env python3
"""A reverse proxy that injects faults between cairn and an S3 or HTTP server.

It forwards every request unchanged (the Host header too, so SigV4
signatures made for the proxy's address still verify upstream) and the
reply unchanged, over kept-alive connections, one thread per client
connection. Faults are armed by requests to the proxy itself:

  GET /__fault/arm?mode=MODE&count=N[&method=M][&match=S]
        the next N requests whose method is M and whose path contains S
        (both optional) get the fault MODE:
          status-CODE  answered with CODE and an S3-style XML error body,
                       without reaching the server (503, 500, 429, 403, ...)
          cut          forwarded; the reply's headers are sent in full but
                       only half of its body, then the connection is closed
          reset        the connection is closed without any reply
          hang         nothing is sent back for 3600 s (a store that hangs)
          delay-MS     forwarded after MS milliseconds (a slow, far store)
  GET /__fault/clear    disarms everything, and ends hanging requests
  GET /__fault/stats    JSON: connections accepted, requests, the highest
                        number of requests in flight at once (overall and by
                        method), faults served, and the log of every forwarded
                        request: [start, end, method, path, status,
                        has_security_token, connection number]
  GET /__fault/reset-stats  clears the counters and the log

With --tls-cert and --tls-key it speaks HTTPS to its clients (the upstream
stays plain HTTP), to test certificate verification. --port-file receives
the port once it listens (PORT 0 lets the kernel pick).

Usage: fault-proxy.py --upstream HOST:PORT [--tls-cert F --tls-key F]
                      [--port-file F] [PORT]
"""

import argparse
import http.client
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade"}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.unhang = threading.Event()
        self.faults = []  # [mode, count, method, match]
        self.reset_stats()

    def reset_stats(self):
        self.connections = 0
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.in_flight_by_method = {}
        self.max_in_flight_by_method = {}
        self.faults_served = 0
        self.log = []

    def take_fault(self, method, path):
        with self.lock:
            for f in self.faults:
                mode, count, fmethod, match = f
                if count > 0 and (not fmethod or fmethod == method) and (not match or match in path):
                    f[1] -= 1
                    self.faults_served += 1
                    return mode
        return None

    def stats(self):
        with self.lock:
            return {
                "connections": self.connections,
                "requests": self.requests,
                "max_in_flight": self.max_in_flight,
                "max_in_flight_by_method": self.max_in_flight_by_method,
                "faults_served": self.faults_served,
                "faults_left": sum(f[1] for f in self.faults),
                "log": self.log,
            }


STATE = State()


class Handler(socketserver.StreamRequestHandler):
    upstream = None  # (host, port)

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()  # here, not in the accepting thread
        super().setup()
        with STATE.lock:
            STATE.connections += 1
            self.number = STATE.connections
        self.conn = None

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        if self.conn:
            self.conn.close()

    def read_request(self):
        line = self.rfile.readline(65537)
        if not line:
            return None
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3:
            return None
        headers = []
        while True:
            h = self.rfile.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        length = 0
        for name, value in headers:
            if name.lower() == "content-length":
                length = int(value)
        body = self.rfile.read(length) if length else b""
        return parts[0], parts[1], headers, body

    def send(self, status, reason, headers, body, close=False):
        out = [f"HTTP/1.1 {status} {reason}\r\n"]
        for name, value in headers:
            out.append(f"{name}: {value}\r\n")
        if close:
            out.append("Connection: close\r\n")
        out.append("\r\n")
        self.wfile.write("".join(out).encode("latin-1") + body)
        self.wfile.flush()

    def control(self, path):
        url = urllib.parse.urlsplit(path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/__fault/arm":
            with STATE.lock:
                STATE.faults.append([q["mode"], int(q.get("count", "1")), q.get("method"),
                                     q.get("match")])
            STATE.unhang.clear()
            body = b"armed\n"
        elif url.path == "/__fault/clear":
            with STATE.lock:
                STATE.faults = []
            STATE.unhang.set()
            body = b"cleared\n"
        elif url.path == "/__fault/stats":
            body = json.dumps(STATE.stats()).encode()
        elif url.path == "/__fault/reset-stats":
            with STATE.lock:
                STATE.reset_stats()
            body = b"reset\n"
        else:
            self.send(404, "Not Found", [("Content-Length", "0")], b"")
            return
        self.send(200, "OK", [("Content-Length", str(len(body)))], body)

    def forward(self, method, path, headers, body):
        """The upstream's reply: (status, reason, headers, body)."""
        for attempt in (1, 2):
            if not self.conn:
                self.conn = http.client.HTTPConnection(*self.upstream, timeout=600)
            try:
                self.conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    if name.lower() not in HOP_BY_HOP:
                        self.conn.putheader(name, value)
                self.conn.endheaders(body if body or method in ("PUT", "POST") else None)
                resp = self.conn.getresponse()
                data = resp.read()
                return resp.status, resp.reason, resp.getheaders(), data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise

    def handle(self):
        while True:
            try:
                req = self.read_request()
            except (OSError, ValueError):
                return
            if req is None:
                return
            method, path, headers, body = req
            if path.startswith("/__fault/"):
                self.control(path)
                continue
            mode = STATE.take_fault(method, path)
            if mode == "reset":
                return  # closes the connection without a reply
            if mode == "hang":
                STATE.unhang.wait(3600)
                return
            if mode and mode.startswith("status-"):
                code = int(mode[7:])
                xml = (f"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>Injected{code}"
                       f"</Code><Message>injected by fault-proxy</Message></Error>").encode()
                self.send(code, "Injected", [("Content-Type", "application/xml"),
                                             ("Content-Length", str(len(xml)))], xml)
                continue
            token = any(n.lower() == "x-amz-security-token" for n, _ in headers)
            with STATE.lock:
                STATE.requests += 1
                STATE.in_flight += 1
                STATE.max_in_flight = max(STATE.max_in_flight, STATE.in_flight)
                n = STATE.in_flight_by_method.get(method, 0) + 1
                STATE.in_flight_by_method[method] = n
                STATE.max_in_flight_by_method[method] = max(
                    STATE.max_in_flight_by_method.get(method, 0), n)
            start = time.time()
            status = 0
            if mode and mode.startswith("delay-"):
                time.sleep(int(mode[6:]) / 1000)
            try:
                status, reason, rheaders, data = self.forward(method, path, headers, body)
            except (http.client.HTTPException, OSError) as e:
                print(f"fault-proxy: upstream failed: {e}", file=sys.stderr)
                return
            finally:
                with STATE.lock:
                    STATE.in_flight -= 1
                    STATE.in_flight_by_method[method] -= 1
                    STATE.log.append([start, time.time(), method, path, status, token,
                                      self.number])
            out = [(n, v) for n, v in rheaders if n.lower() not in HOP_BY_HOP]
            if method != "HEAD":
                # The body was read whole (a chunked reply too, whose
                # Transfer-Encoding is dropped above): give its length, or a
                # client of a kept-alive connection cannot tell where it ends.
                out = [(n, v) for n, v in out if n.lower() != "content-length"]
                out.append(("Content-Length", str(len(data))))
            if mode == "cut":
                self.send(status, reason, out, data[: len(data) // 2], close=True)
                return
            self.send(status, reason, out, data)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, tls):
        self.tls = tls
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        pass  # a client that went away, or a failed TLS handshake


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--port-file")
    ap.add_argument("port", type=int, nargs="?", default=0)
    a = ap.parse_args()
    host, _, port = a.upstream.rpartition(":")
    Handler.upstream = (host, int(port))
    tls = None
    if a.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(a.tls_cert, a.tls_key)
    srv = Server(("127.0.0.1", a.port), Handler, tls)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.replace(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
