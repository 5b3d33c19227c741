# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The processes `make demo` runs, standing in for Odoo and Traefik.

  odoo PGDIR PGPORT DB REDIS_PORT SQL REDIS_CMDS USER_ERROR_EVERY
      a worker serving HTTP on a free port (printed first): each request runs
      SQL in database DB (unix socket in PGDIR) and the next of REDIS_CMDS
      ("CMD ARG|CMD ARG", in turn) on Redis, as an Odoo request reads the
      database and its cache; a POST is a JSON-RPC call answered with a
      result, or every USER_ERROR_EVERY-th (0: never) with a UserError
  traefik ROUTES
      a reverse proxy on a free port (printed first): a request for host
      NAME goes to the worker of ROUTES "NAME=PORT,NAME=PORT"; run it as
      "traefik" so the net family knows it by name
  load TRAEFIK_PORT NAME=RATE=METHOD=PATH,...
      requests through the proxy, RATE per second per tenant, until killed
  recount PGDIR PGPORT DB HOLD EVERY
      every EVERY seconds, locks table stock for HOLD seconds (a stock recount)

Standard library plus psycopg2 (Debian's python3, as `make demo` runs it)."""
import http.client
import http.server
import itertools
import json
import signal
import socket
import sys
import threading
import time


def redis(port, *args):
    """One command over RESP on a fresh connection per thread, its reply."""
    local = redis.__dict__.setdefault("local", threading.local())
    if not hasattr(local, "sock"):
        local.sock = socket.create_connection(("127.0.0.1", port))
        local.buf = b""
    cmd = f"*{len(args)}\r\n" + "".join(f"${len(str(a))}\r\n{a}\r\n" for a in args)
    local.sock.sendall(cmd.encode())
    while b"\r\n" not in local.buf:
        local.buf += local.sock.recv(4096)
    line, local.buf = local.buf.split(b"\r\n", 1)
    if line[:1] == b"$" and int(line[1:]) >= 0:  # a bulk string: its body too
        need = int(line[1:]) + 2
        while len(local.buf) < need:
            local.buf += local.sock.recv(4096)
        line, local.buf = local.buf[:need - 2], local.buf[need:]
    return line


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # The client hung up: the demo stops the load generator, then the
        # proxy, with requests in flight. Their upstreams (workers, Redis)
        # stop after them, so a ConnectionError is the client's; an answer
        # to nobody is no error, as for werkzeug. Anything else: the traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(handler_cls):
    srv = Server(("127.0.0.1", 0), handler_cls)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


def user_error(request_id):
    """A UserError as Odoo's JSON-RPC dispatcher answers it: HTTP 200,
    the exception's class in error.data.name."""
    message = "The stock is not available for this picking."
    return {"jsonrpc": "2.0", "id": request_id, "error": {
        "code": 200, "message": "Odoo Server Error",
        "data": {"name": "odoo.exceptions.UserError", "debug": "", "message": message,
                 "arguments": [message], "context": {}}}}


def odoo(pgdir, pgport, db, redis_port, sql, redis_cmds, user_error_every):
    import psycopg2
    local = threading.local()
    lock = threading.Lock()
    cmds = itertools.cycle(c.split() for c in redis_cmds.split("|"))
    calls = itertools.count(1)
    every = int(user_error_every)

    class Worker(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def work(self):
            if not hasattr(local, "conn"):
                local.conn = psycopg2.connect(host=pgdir, port=pgport, dbname=db, user="postgres")
                local.conn.autocommit = True
            with local.conn.cursor() as cur:
                cur.execute(sql)
            with lock:
                cmd = next(cmds)
            redis(int(redis_port), *cmd)

        def answer(self, body, ctype):
            # headers, then the body in a send of its own, as werkzeug does
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self.work()
            self.answer(b"ok\n", "text/plain")

        def do_POST(self):
            call = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self.work()
            with lock:
                n = next(calls)
            reply = (user_error(call["id"]) if every and n % every == 0
                     else {"jsonrpc": "2.0", "id": call["id"], "result": True})
            self.answer(json.dumps(reply).encode(), "application/json")

        def log_message(self, *args):
            pass

    serve(Worker)


def traefik(routes):
    upstream = dict(r.split("=") for r in routes.split(","))

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            conn = http.client.HTTPConnection("127.0.0.1", int(upstream[self.headers["Host"]]),
                                              timeout=30)
            conn.request(self.command, self.path, body=body if self.command == "POST" else None,
                         headers={"Content-Type": self.headers.get("Content-Type", "text/plain")})
            r = conn.getresponse()
            body = r.read()
            conn.close()
            self.send_response(r.status)
            self.send_header("Content-Type", r.getheader("Content-Type", "text/plain"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = forward

        def log_message(self, *args):
            pass

    serve(Proxy)


def load(port, specs):
    def one(name, rate, method, path):
        conn, n = None, 0
        while True:
            start = time.monotonic()
            n += 1
            body = None
            if method == "POST":  # a JSON-RPC call, as Odoo's web client posts it
                model, fn = path.rsplit("/", 2)[1:]
                body = json.dumps({"jsonrpc": "2.0", "method": "call", "id": n, "params": {
                    "model": model, "method": fn, "args": [[n]], "kwargs": {}}}).encode()
            try:
                conn = conn or http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
                conn.request(method, path, body=body,
                             headers={"Host": name, "Content-Type": "application/json"})
                conn.getresponse().read()
            except (OSError, http.client.HTTPException):
                conn = None
            time.sleep(max(0, 1 / rate - (time.monotonic() - start)))

    for spec in specs.split(","):
        name, rate, method, path = spec.split("=")
        threading.Thread(target=one, args=(name, float(rate), method, path), daemon=True).start()
    threading.Event().wait()


def recount(pgdir, pgport, db, hold, every):
    import psycopg2
    conn = psycopg2.connect(host=pgdir, port=pgport, dbname=db, user="postgres")
    with conn.cursor() as cur:
        while True:
            time.sleep(float(every))
            cur.execute("LOCK TABLE stock IN ACCESS EXCLUSIVE MODE")
            time.sleep(float(hold))
            conn.commit()


if __name__ == "__main__":
    # Ctrl-C reaches the whole demo: end without a traceback, the demo
    # cleans up after us
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    {"odoo": odoo, "traefik": traefik, "load": load, "recount": recount}[sys.argv[1]](*sys.argv[2:])
