# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The processes `make demo` runs, standing in for Odoo and Traefik.

  odoo PGDIR PGPORT DB REDIS_PORT SQL REDIS_CMD
      a worker serving HTTP on a free port (printed first): each request runs
      SQL in database DB (unix socket in PGDIR) and REDIS_CMD on Redis, as an
      Odoo request reads the database and its cache
  traefik ROUTES
      a reverse proxy on a free port (printed first): /NAME/... goes to the
      worker of ROUTES "NAME=PORT,NAME=PORT"; run it as "traefik" so the
      net family knows it by name
  load TRAEFIK_PORT NAME=RATE,...
      requests through the proxy, RATE per second per tenant, until killed
  recount PGDIR PGPORT DB HOLD EVERY
      every EVERY seconds, locks table stock for HOLD seconds (a stock recount)

Standard library plus psycopg2 (Debian's python3, as `make demo` runs it)."""
import http.client
import http.server
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


def serve(handler_cls):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


def odoo(pgdir, pgport, db, redis_port, sql, redis_cmd):
    import psycopg2
    local = threading.local()

    class Worker(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if not hasattr(local, "conn"):
                local.conn = psycopg2.connect(host=pgdir, port=pgport, dbname=db, user="postgres")
                local.conn.autocommit = True
            with local.conn.cursor() as cur:
                cur.execute(sql)
            redis(int(redis_port), *redis_cmd.split())
            body = b"ok\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    serve(Worker)


def traefik(routes):
    upstream = dict(r.split("=") for r in routes.split(","))

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            name = self.path.split("/")[1]
            conn = http.client.HTTPConnection("127.0.0.1", int(upstream[name]), timeout=30)
            conn.request("GET", self.path)
            r = conn.getresponse()
            body = r.read()
            conn.close()
            self.send_response(r.status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    serve(Proxy)


def load(port, rates):
    def one(name, rate):
        conn = None
        while True:
            start = time.monotonic()
            try:
                conn = conn or http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
                conn.request("GET", f"/{name}/web")
                conn.getresponse().read()
            except (OSError, http.client.HTTPException):
                conn = None
            time.sleep(max(0, 1 / rate - (time.monotonic() - start)))

    for spec in rates.split(","):
        name, rate = spec.split("=")
        threading.Thread(target=one, args=(name, float(rate)), daemon=True).start()
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
