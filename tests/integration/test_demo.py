# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""`make demo` as a newcomer runs it: it finishes within its 2-minute
budget, its summary names each tenant with its own problem and no address
of the agent it has stopped, its output holds no traceback, and it leaves
nothing behind, also when interrupted with Ctrl-C."""
import glob
import http.server
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time

from conftest import REPO

CGROUP = os.path.join("/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified")
                      else "/sys/fs/cgroup", "odtrace-demo")


def leftovers(tmp_before):
    procs = subprocess.run(["pgrep", "-af", "demo_procs|odtrace top --interval"],
                           capture_output=True, text=True).stdout
    return {"cgroup": os.path.exists(CGROUP), "processes": procs.strip(),
            "files": sorted(set(glob.glob("/tmp/odtrace-demo-*")) - tmp_before)}


def test_make_demo():
    before = set(glob.glob("/tmp/odtrace-demo-*"))
    r = subprocess.run(["make", "-s", "-C", REPO, "demo"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = r.stdout
    summary = out[out.index("== per tenant"):]
    lines = {line.split()[0]: line for line in summary.splitlines()
             if line.startswith("   ") and line.split()}
    assert "LOCK WAITS" in lines["acme_logistics"], summary
    assert "SLOW REDIS" in lines["globex_distribution"], summary
    assert "QUIET" in lines["initech_wholesale"], summary
    assert "RPC ERRORS" in lines["umbrella_pharma"] and "UserError" in lines["umbrella_pharma"], summary
    assert "REDIS ERRORS" in lines["hooli_retail"], summary
    assert "/metrics" in summary
    # the demo's agent is gone when the summary is read: only the address an
    # agent started as the summary says (`sudo odtrace run`) would serve
    assert set(re.findall(r"https?://[^\s),;]+", summary)) <= {"http://127.0.0.1:9472/metrics"}, summary
    assert "sudo odtrace run" in summary
    for line in (out + r.stderr).splitlines():
        assert "Exception occurred" not in line and "Traceback" not in line, r.stderr[-3000:]
    # top showed every tenant, its name whole (a pipe has no width), and traefik's row
    for row in ("acme_logistics", "globex_distribution", "initech_wholesale", "umbrella_pharma",
                "hooli_retail", "ingress"):
        assert any(line.split()[:1] == [row] for line in out.splitlines()), row
    assert leftovers(before) == {"cgroup": False, "processes": "", "files": []}


def test_ctrl_c_cleans_up():
    before = set(glob.glob("/tmp/odtrace-demo-*"))
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(REPO, "scripts", "demo.py")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    for line in p.stdout:
        if "odtrace top" in line:
            break
    os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C sends: the whole foreground group
    p.communicate(timeout=60)
    assert p.returncode == 130
    assert leftovers(before) == {"cgroup": False, "processes": "", "files": []}


def test_proxy_tolerates_clients_hanging_up():
    """The demo stops the load generator first: the traefik stand-in then
    answers requests whose client is gone, or reads from one that reset the
    connection. Neither is worth a traceback on the demo's terminal."""
    class Slow(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            time.sleep(0.2)  # the client hangs up meanwhile
            self.send_response(200)
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"ok\n")

        def log_message(self, *args):
            pass

    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    proxy = subprocess.Popen(["/usr/bin/python3", os.path.join(REPO, "scripts", "demo_procs.py"),
                              "traefik", f"t={upstream.server_address[1]}"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(proxy.stdout.readline())
        request = b"GET /web HTTP/1.1\r\nHost: t\r\n\r\n"
        for _ in range(3):  # gone before the answer: the proxy writes to a closed socket
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(request)
        for _ in range(3):  # a reset while the proxy waits for the next request
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(request)
            s.recv(1)  # the answer's first byte, the rest unread
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        time.sleep(0.5)
        with socket.create_connection(("127.0.0.1", port)) as s:  # and it still serves
            s.sendall(request)
            assert s.recv(100).startswith(b"HTTP/1.1 200"), "no answer"
    finally:
        proxy.terminate()
        _, err = proxy.communicate(timeout=10)
        upstream.shutdown()
    assert "Exception occurred" not in err and "Traceback" not in err, err
