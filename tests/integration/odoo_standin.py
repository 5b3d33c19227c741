# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Stand-ins for the L7 tests (HTTP and Redis read by the net family): an
Odoo worker speaking Odoo's wire shapes, a Traefik in front of it, and
clients whose every request the test scripted. worker.py runs them (its
CLI: wait for a line on stdin, print "done"); the modes are listed there.

What a request gets from the Odoo stand-in is chosen by the client, per
request, in two headers the proxy passes on: X-Standin-Outcome (ok,
usererror, accessdenied, accesserror, servererror, http500, reset) and
X-Standin-Ms (how long the "work" takes before the answer)."""
import http.client
import http.server
import json
import socket
import struct
import sys
import threading
import time
import xmlrpc.client

# The exception class an Odoo controller raises for each error outcome, and
# the int faultCode /xmlrpc/2/ turns it into (Odoo's
# odoo/addons/base/controllers/rpc.py, xmlrpc_handle_exception_int: any
# exception that is none of these is faultCode 1 with the traceback as text).
EXCEPTIONS = {
    "usererror": ("odoo.exceptions.UserError", 2),
    "accessdenied": ("odoo.exceptions.AccessDenied", 3),
    "accesserror": ("odoo.exceptions.AccessError", 4),
    "servererror": ("builtins.KeyError", 1),
}
# The text of the errors, which echoes what the request held, as Odoo's
# messages do ("Card 4111... declined"): what the agent must never export.
ERROR_TEXT = "Validation refused for {}"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 56


def started():
    print("ready", flush=True)
    sys.stdin.readline()


class ResettingServer(http.server.ThreadingHTTPServer):
    """A ThreadingHTTPServer that can abort a connection: socketserver ends
    every connection with shutdown(SHUT_WR), a FIN, before close; a
    connection in `resets` is closed with SO_LINGER 0 alone, so the peer
    gets an RST and no answer, like a worker killed mid-request."""
    daemon_threads = True

    def __init__(self, port, handler):
        self.resets = set()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), handler)

    def shutdown_request(self, request):
        with self.lock:
            reset = request in self.resets
            self.resets.discard(request)
        if reset:
            request.close()
        else:
            super().shutdown_request(request)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"	# keep-alive, as werkzeug and Traefik speak it

    def log_message(self, *args):
        pass

    def abort(self):
        """No answer: an RST once the handler returns."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self.server.lock:
            self.server.resets.add(self.connection)
        self.close_connection = True

    def answer(self, status, body, ctype):
        """Headers, then the body in a send of its own, as werkzeug's
        WSGIRequestHandler writes a response."""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))


def jsonrpc_answer(request_id, outcome, said):
    """The body Odoo's JsonRPCDispatcher sends (odoo/http.py, _response and
    handle_error): jsonrpc, id, then result or error; an error's data is
    serialize_exception's dict, name first. HTTP status 200 either way."""
    if outcome == "ok":
        return {"jsonrpc": "2.0", "id": request_id, "result": True}
    name = EXCEPTIONS[outcome][0]
    message = ERROR_TEXT.format(said)
    return {"jsonrpc": "2.0", "id": request_id, "error": {
        "code": 200, "message": "Odoo Server Error",
        "data": {"name": name,
                 "debug": "Traceback (most recent call last):\n  File \"odoo/http.py\", line 1, "
                          f"in _serve_db\n{name}: {message}\n",
                 "message": message, "arguments": [message], "context": {}}}}


def xmlrpc_answer(outcome, said):
    """/xmlrpc/2/'s answer: a methodResponse with the result, or a fault
    with an int faultCode; HTTP status 200 either way."""
    if outcome == "ok":
        return xmlrpc.client.dumps((True,), methodresponse=True)
    name, code = EXCEPTIONS[outcome]
    text = ERROR_TEXT.format(said)
    if code == 1:
        text = f"Traceback (most recent call last):\n{name}: {text}\n"
    return xmlrpc.client.dumps(xmlrpc.client.Fault(code, text), methodresponse=True)


def odoo(port):
    """An Odoo HTTP worker on 127.0.0.1:port (0: a free one, printed)."""
    class Odoo(Handler):
        def work(self):
            time.sleep(int(self.headers.get("X-Standin-Ms") or 0) / 1000)
            return self.headers.get("X-Standin-Outcome") or "ok"

        def do_GET(self):
            outcome = self.work()
            if outcome == "reset":
                return self.abort()
            if outcome == "http500":
                return self.answer(500, b"<h1>Internal Server Error</h1>", "text/html; charset=utf-8")
            if self.path.startswith("/web/image/"):
                return self.answer(200, PNG, "image/png")
            self.answer(200, b"<html>ok</html>", "text/html; charset=utf-8")

        def do_POST(self):
            data = self.body()
            outcome = self.work()
            if outcome == "reset":
                return self.abort()
            if outcome == "http500":
                return self.answer(500, b"<h1>Internal Server Error</h1>", "text/html; charset=utf-8")
            if self.path.startswith("/xmlrpc/"):
                params, _ = xmlrpc.client.loads(data)
                body = xmlrpc_answer(outcome, repr(params)).encode()
                return self.answer(200, body, "text/xml; charset=utf-8")
            req = json.loads(data)
            said = json.dumps(req.get("params", {}))
            body = json.dumps(jsonrpc_answer(req.get("id"), outcome, said), ensure_ascii=False)
            self.answer(200, body.encode(), "application/json")

    srv = ResettingServer(port, Odoo)
    print(srv.server_address[1], flush=True)
    started()
    srv.serve_forever()


HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def traefik(upstream_port):
    """A reverse proxy on a free port (printed) to 127.0.0.1:upstream_port:
    one keep-alive upstream connection per client connection, status and
    body passed through, the client's connection reset when the
    upstream's was."""
    class Proxy(Handler):
        upstream = None

        def forward(self):
            data = self.body() if self.command == "POST" else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if self.upstream is None:
                self.upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
            try:
                self.upstream.request(self.command, self.path, body=data, headers=headers)
                r = self.upstream.getresponse()
                body = r.read()
            except (OSError, http.client.HTTPException):
                self.upstream.close()
                self.upstream = None
                return self.abort()
            self.answer(r.status, body, r.getheader("Content-Type", "application/octet-stream"))

        do_GET = do_POST = forward

        def finish(self):
            super().finish()
            if self.upstream is not None:
                self.upstream.close()

    srv = ResettingServer(0, Proxy)
    print(srv.server_address[1], flush=True)
    started()
    srv.serve_forever()


def http_script(port, mode, script):
    """The requests of script (JSON: [[method, path, content_type, body,
    outcome, ms, n], ...], each n times) to 127.0.0.1:port, on one
    keep-alive connection (mode keepalive; a new one after a reset) or one
    connection per request (mode new). Prints the statuses it got as JSON
    ({"200": 25, "none": 2}: none when the connection ended unanswered)."""
    started()
    got, conn = {}, None
    for method, path, ctype, body, outcome, ms, n in json.loads(script):
        for _ in range(n):
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            headers = {"X-Standin-Outcome": outcome, "X-Standin-Ms": str(ms)}
            if ctype:
                headers["Content-Type"] = ctype
            try:
                # a bytes body goes out in the headers' send (http.client
                # joins them): the body's start is in the request's first send
                conn.request(method, path, body=body.encode() if body is not None else None,
                             headers=headers)
                r = conn.getresponse()
                r.read()
                status = str(r.status)
            except (ConnectionError, http.client.HTTPException):
                status = "none"
                conn.close()
                conn = None
            got[status] = got.get(status, 0) + 1
            if mode == "new" and conn is not None:
                conn.close()
                conn = None
    print(json.dumps(got, sort_keys=True), flush=True)
    print("done", flush=True)
    sys.stdin.readline()


# -- Redis -------------------------------------------------------------------

def resp_command(words):
    return f"*{len(words)}\r\n".encode() + b"".join(
        f"${len(w.encode())}\r\n".encode() + w.encode() + b"\r\n" for w in words)


class RespReader:
    """Reads whole RESP replies off a socket (one per command sent)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("Redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("Redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        """The reply's first line (what tells an error apart), after
        reading the rest of it."""
        line = self.line()
        kind = line[:1]
        if kind in (b"$", b"=", b"!") and int(line[1:]) >= 0:
            self.exact(int(line[1:]))
        elif kind in (b"*", b"%", b"~", b">") and int(line[1:]) > 0:
            for _ in range(int(line[1:]) * (2 if kind == b"%" else 1)):
                self.reply()
        return line


def redis_run(sock, reader, specs):
    """specs: "N CMD ARG..." (N times, each answered before the next), or
    "N CMD ARG ; CMD ARG ..." (N bursts: the commands in one send, then
    their replies). Returns (ok, error) counts of the replies."""
    ok = err = 0
    for spec in specs:
        n, rest = spec.split(" ", 1)
        burst = [part.split() for part in rest.split(";")]
        for _ in range(int(n)):
            sock.sendall(b"".join(resp_command(words) for words in burst))
            for _ in burst:
                if reader.reply()[:1] in (b"-", b"!"):
                    err += 1
                else:
                    ok += 1
    return ok, err


def redis_script(port, specs):
    """redis_run's specs against 127.0.0.1:port on one connection; prints
    the replies' counts ("ok=N error=M")."""
    started()
    with socket.create_connection(("127.0.0.1", port)) as s:
        ok, err = redis_run(s, RespReader(s), specs)
    print(f"ok={ok} error={err}", flush=True)
    print("done", flush=True)
    sys.stdin.readline()


# -- connections opened before the agent -------------------------------------

def preopen(pg_port, db, redis_port, http_port, before, after):
    """A PostgreSQL (psycopg2, TCP), a Redis and an HTTP keep-alive
    connection, opened and used `before` times each once told to, then
    "open"; on the next line, `after` requests on each of them (pg_sleep
    0.05, GET, a call_kw answered in 40 ms), then "done"."""
    import psycopg2
    started()
    pg = psycopg2.connect(host="127.0.0.1", port=pg_port, user="postgres", dbname=db)
    pg.autocommit = True	# no BEGIN: one statement per execute
    cur = pg.cursor()
    rs = socket.create_connection(("127.0.0.1", redis_port))
    reader = RespReader(rs)
    web = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
    body = json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
        "model": "stock.picking", "method": "button_validate", "args": [[7]], "kwargs": {}}})

    def round_of_each():
        cur.execute("SELECT pg_sleep(0.05)")
        redis_run(rs, reader, ["1 GET order:42"])
        web.request("POST", "/web/dataset/call_kw/stock.picking/button_validate", body=body.encode(),
                    headers={"Content-Type": "application/json", "X-Standin-Ms": "40"})
        r = web.getresponse()
        r.read()
        assert r.status == 200, r.status

    for _ in range(before):
        round_of_each()
    print("open", flush=True)
    sys.stdin.readline()
    for _ in range(after):
        round_of_each()
    print("done", flush=True)
    sys.stdin.readline()


# -- a binary protocol --------------------------------------------------------

def binary_server():
    """Frames of a 4-byte big-endian length and a payload, echoed back after
    5 ms: bytes that are neither HTTP nor RESP (nor a TLS record)."""
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    print(lsock.getsockname()[1], flush=True)
    started()

    def serve(conn):
        with conn:
            while True:
                head = conn.recv(4, socket.MSG_WAITALL)
                if len(head) < 4:
                    return
                payload = conn.recv(struct.unpack(">I", head)[0], socket.MSG_WAITALL)
                time.sleep(0.005)
                conn.sendall(head + payload)

    while True:
        conn, _ = lsock.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def binary_client(port, n):
    started()
    with socket.create_connection(("127.0.0.1", port)) as s:
        for i in range(n):
            payload = struct.pack(">HQ", 7, i) + b"\x00\x01\x02"
            frame = struct.pack(">I", len(payload)) + payload
            s.sendall(frame)
            assert s.recv(len(frame), socket.MSG_WAITALL) == frame
    print("done", flush=True)
    sys.stdin.readline()
