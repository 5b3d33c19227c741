#!/usr/bin/python3
"""`make demo`: a local PostgreSQL with two tenants whose statements differ in
latency, one of them also queueing behind a report that locks a table, and
`odtrace trace` showing each tenant's statement and lock-wait histograms.

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
    "acme_logistics": ("barcode scans: short lookups",
                       "SELECT pg_sleep(0.004), qty FROM stock WHERE sku = 42", 0.02),
    "globex_distribution": ("stock valuation reports", "SELECT pg_sleep(0.12)", 0.05),
}


# In acme_logistics a stock recount locks the stock table for LOCK_HOLD
# seconds every LOCK_EVERY seconds; the barcode scans that touch it queue.
LOCK_HOLD, LOCK_EVERY = 0.3, 2.0


def recount(cluster, stop):
    conn = cluster.connect("acme_logistics")
    conn.autocommit = False
    with conn.cursor() as cur:
        while not stop.wait(LOCK_EVERY):
            cur.execute("LOCK TABLE stock IN ACCESS EXCLUSIVE MODE")
            time.sleep(LOCK_HOLD)
            conn.commit()
    conn.close()


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
        cluster.psql("acme_logistics", "CREATE TABLE stock(sku int PRIMARY KEY, qty int); "
                     "INSERT INTO stock SELECT g, 100 FROM generate_series(1, 1000) g")
        print(f"   port {cluster.port}, socket dir {cluster.dir}")
        for db, (what, sql, _) in TENANTS.items():
            print(f"   tenant {db:22} {what}: {sql}")
        print(f"   tenant {'acme_logistics':22} and a stock recount locking table stock "
              f"for {LOCK_HOLD}s every {LOCK_EVERY}s")
        conninfo = f"host={cluster.dir} port={cluster.port} user=postgres"
        print(f"== odtrace trace --probes pg,lock --duration {SECONDS}s --pg-conninfo '{conninfo}' "
              "(load runs meanwhile)", flush=True)
        trace = subprocess.Popen([os.path.join(REPO, "odtrace"), "trace", "--probes", "pg,lock",
                                  "--duration", f"{SECONDS}s", "--pg-conninfo", conninfo])
        time.sleep(1)  # attached before the first statement
        jobs = [(drive, (cluster, db, sql, pause, stop)) for db, (_, sql, pause) in TENANTS.items()]
        for fn, args in jobs + [(recount, (cluster, stop))]:
            t = threading.Thread(target=fn, args=args)
            t.start()
            workers.append(t)
        rc = trace.wait(SECONDS + 30)
        print("\n== each tenant's database got its own histograms: globex's statements are "
              "slow; acme's are fast\n   except those that queued behind the recount's "
              "table lock, which its lock waits show.")
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
