#!/usr/bin/python3
"""`make demo`: a local PostgreSQL with two tenants whose statements differ in
latency, and `odtrace trace` showing each tenant's histogram.

Everything it starts (the cluster, the agent, the load) is stopped and its
files removed on exit, on error and on Ctrl-C."""
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pglab import Cluster  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECONDS = 12

# tenant database -> (what its users do, statement, pause between statements)
TENANTS = {
    "acme_logistics": ("barcode scans: short lookups", "SELECT pg_sleep(0.004)", 0.02),
    "globex_distribution": ("stock valuation reports", "SELECT pg_sleep(0.12)", 0.05),
}


def drive(cluster, db, sql, pause, stop):
    conn = cluster.connect(db)
    with conn.cursor() as cur:
        while not stop.is_set():
            cur.execute(sql)
            time.sleep(pause)
    conn.close()


def main():
    if os.geteuid() != 0:
        sys.exit("make demo: needs root (eBPF); run: sudo make demo")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    print("== starting a throwaway PostgreSQL 15 cluster", flush=True)
    cluster = Cluster()
    stop = threading.Event()
    workers, trace = [], None
    try:
        cluster.start()
        cluster.create_databases(*TENANTS)
        print(f"   port {cluster.port}, socket dir {cluster.dir}")
        for db, (what, sql, _) in TENANTS.items():
            print(f"   tenant {db:22} {what}: {sql}")
        print(f"== odtrace trace --duration {SECONDS}s (load runs meanwhile)", flush=True)
        trace = subprocess.Popen([os.path.join(REPO, "odtrace"), "trace", "--duration",
                                  f"{SECONDS}s"])
        time.sleep(1)  # attached before the first statement
        for db, (_, sql, pause) in TENANTS.items():
            t = threading.Thread(target=drive, args=(cluster, db, sql, pause, stop))
            t.start()
            workers.append(t)
        rc = trace.wait(SECONDS + 30)
        print("\n== each tenant's database got its own histogram: the slow one is globex.")
        print("   next: `sudo ./odtrace run` serves the same as Prometheus metrics on "
              "127.0.0.1:9472/metrics")
        return rc
    finally:
        stop.set()
        for t in workers:
            t.join(5)
        if trace and trace.poll() is None:
            trace.send_signal(signal.SIGINT)
            trace.wait(10)
        cluster.stop()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
