# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Stand-ins for Odoo worker processes, for the sys and runq tests. Each
mode waits for a line on stdin before it starts, so the test can attach the
agent first, and prints "done" when its known work is finished.

  syscalls DIR   50 x time.sleep(0.02), 20 x write+fsync of a file in DIR,
                 3 x rmdir() of a missing directory (ENOENT)
  serve-select   a prefork worker: select() on its listening socket, then
  serve-accept   accept (or block in accept), read a request, 20 ms of work,
                 answer; prints its port first
  waker N        N x (sleep 2 ms, ~3 ms of CPU): an interactive process that
                 needs more than a third of a CPU
  hog            spins on the CPU until killed
  http-upstream MS   an HTTP server answering every GET after MS ms; port first
  http-proxy PORT    a reverse proxy to 127.0.0.1:PORT (run it as "traefik"),
                     one upstream connection per request; port first
  http-get PORT N    N GETs, each on its own connection, then "done"
  redis PORT N CMD.. N times the Redis command CMD (RESP, one connection),
                     waiting for each reply, then "done"
  pg-sleep PORT DB N [HOST]
                     N x SELECT pg_sleep(0.05) over TCP to 127.0.0.1 (psycopg2;
                     HOST a socket directory: a UNIX socket), then "done"

For the L7 tests (odoo_standin.py; ports: 0 for a free one, printed first):
  odoo PORT          an Odoo worker (run it as "odoo"), HTTP/1.1 keep-alive:
                     POST /web/dataset/call_kw/M/F, /web/dataset/call_button,
                     /jsonrpc (JSON-RPC), /xmlrpc/2/object (XML-RPC, int
                     faultCode), GET /web/image/... and any other path; each
                     request answered as its X-Standin-Outcome and
                     X-Standin-Ms headers say (ok, usererror, accessdenied,
                     accesserror, servererror, http500, reset)
  traefik PORT       a reverse proxy to PORT (run it as "traefik"), keep-alive
                     upstream, resetting its client when the upstream resets
  http-script PORT keepalive|new JSON
                     the scripted requests [[method, path, content_type,
                     body, outcome, ms, n], ...] on one keep-alive connection
                     or a connection each; prints the statuses got as JSON
  redis-script PORT SPEC...
                     "N CMD ARG..." N times, "N CMD ARG ; CMD ARG" N bursts
                     (one send each); prints "ok=N error=M" of the replies
  preopen PGPORT DB REDIS_PORT HTTP_PORT BEFORE AFTER
                     opens a PostgreSQL (psycopg2), a Redis and an HTTP
                     keep-alive connection, BEFORE requests on each, "open";
                     on the next line AFTER more on each, "done"
  binary-server      length-prefixed frames echoed back (not HTTP, not RESP)
  binary-client PORT N   N frames to the binary server
"""
import http.client
import http.server
import os
import select
import socket
import sys
import time

import odoo_standin


def started():
    print("ready", flush=True)
    sys.stdin.readline()


def syscalls(directory):
    started()
    for _ in range(50):
        time.sleep(0.02)
    path = os.path.join(directory, f"odtrace-fsync-{os.getpid()}")
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    for _ in range(20):
        os.write(fd, b"x" * 4096)
        os.fsync(fd)
    os.close(fd)
    os.unlink(path)
    for _ in range(3):
        try:
            os.rmdir("/nonexistent/odtrace-test")
        except FileNotFoundError:
            pass
    print("done", flush=True)
    sys.stdin.readline()


def serve(use_select):
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    print(lsock.getsockname()[1], flush=True)
    started()
    while True:
        if use_select:
            select.select([lsock], [], [])
        conn, _ = lsock.accept()
        with conn:
            if not conn.recv(100):
                continue
            time.sleep(0.02)	# the request's work (a database round trip, say)
            conn.sendall(b"ok\n")


def waker(n):
    started()
    for _ in range(n):
        time.sleep(0.002)
        sum(range(350000))
    print("done", flush=True)
    sys.stdin.readline()


def hog():
    started()
    while True:
        pass


class Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def http_server(handler):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    print(srv.server_address[1], flush=True)
    started()
    srv.serve_forever()


def http_upstream(ms):
    class Upstream(Quiet):
        def do_GET(self):
            time.sleep(ms / 1000)
            self.answer(b"order confirmed\n")
    http_server(Upstream)


def http_proxy(port):
    class Proxy(Quiet):
        def do_GET(self):
            up = http.client.HTTPConnection("127.0.0.1", port)
            up.request("GET", self.path)
            self.answer(up.getresponse().read())
            up.close()
    http_server(Proxy)


def http_get(port, n):
    started()
    for _ in range(n):
        c = http.client.HTTPConnection("127.0.0.1", port)
        c.request("GET", "/order")
        c.getresponse().read()
        c.close()
    print("done", flush=True)
    sys.stdin.readline()


def redis(port, n, args):
    started()
    cmd = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", port)) as s:
        for _ in range(n):
            s.sendall(cmd.encode())
            reply = s.recv(4096)
            assert reply[:1] in (b"+", b"$", b":"), reply
    print("done", flush=True)
    sys.stdin.readline()


def pg_sleep(port, db, n, host="127.0.0.1"):
    import psycopg2
    started()
    conn = psycopg2.connect(host=host, port=port, user="postgres", dbname=db)
    conn.autocommit = True	# no BEGIN: n statements exactly
    with conn.cursor() as cur:
        for _ in range(n):
            cur.execute("SELECT pg_sleep(0.05)")
    conn.close()
    print("done", flush=True)
    sys.stdin.readline()


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "syscalls":
        syscalls(sys.argv[2])
    elif mode.startswith("serve-"):
        serve(mode == "serve-select")
    elif mode == "waker":
        waker(int(sys.argv[2]))
    elif mode == "hog":
        hog()
    elif mode == "http-upstream":
        http_upstream(int(sys.argv[2]))
    elif mode == "http-proxy":
        http_proxy(int(sys.argv[2]))
    elif mode == "http-get":
        http_get(int(sys.argv[2]), int(sys.argv[3]))
    elif mode == "pg-sleep":
        pg_sleep(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), *sys.argv[5:6])
    elif mode == "redis":
        redis(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
    elif mode == "odoo":
        odoo_standin.odoo(int(sys.argv[2]))
    elif mode == "traefik":
        odoo_standin.traefik(int(sys.argv[2]))
    elif mode == "http-script":
        odoo_standin.http_script(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif mode == "redis-script":
        odoo_standin.redis_script(int(sys.argv[2]), sys.argv[3:])
    elif mode == "preopen":
        odoo_standin.preopen(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
                             int(sys.argv[6]), int(sys.argv[7]))
    elif mode == "binary-server":
        odoo_standin.binary_server()
    elif mode == "binary-client":
        odoo_standin.binary_client(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit(f"unknown mode {mode}")
