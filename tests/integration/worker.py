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
"""
import os
import select
import socket
import sys
import time


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
    else:
        sys.exit(f"unknown mode {mode}")
