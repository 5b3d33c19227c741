# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""What the bench/ scripts share: reading /proc, cgroups and /metrics, the
agent's life cycle, kernel.bpf_stats_enabled, the agent's maps, building the
C helpers, and printing tables. Standard library only (Debian's python3)."""
import ctypes
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
BPF_STATS = "/proc/sys/kernel/bpf_stats_enabled"


class Fail(Exception):
    """A clear, expected failure: printed without a traceback."""


def logger(prog):
    def log(msg):
        print(prog + ": " + msg, file=sys.stderr, flush=True)
    return log


def out(msg=""):
    print(msg, flush=True)


def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no log)\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_busy(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def version(argv):
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, timeout=10)
        return r.stdout.strip().splitlines()[0] if r.stdout.strip() else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


# -- /proc ---------------------------------------------------------------

def cgroup2_mount():
    """Mount point of the cgroup v2 hierarchy (/sys/fs/cgroup, or
    /sys/fs/cgroup/unified on hybrid hosts), or None."""
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 3 and fields[2] == "cgroup2":
                    return fields[1].replace("\\040", " ")
    except OSError:
        pass
    return None


def read_kv(path):
    """A flat-keyed cgroup file (cpu.stat, cgroup.events) as {key: int}."""
    d = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(" ")
            try:
                d[k] = int(v)
            except ValueError:
                pass
    return d


def proc_stat_cpu():
    """(steal, total) from the `cpu` line of /proc/stat, in USER_HZ ticks.
    total is user+nice+system+idle+iowait+irq+softirq+steal (guest time is
    already inside user and nice)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu "):
                v = [int(x) for x in line.split()[1:9]]
                v += [0] * (8 - len(v))
                return v[7], sum(v)
    return 0, 0


def proc_cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds (None once
    it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def proc_mem_kib(pid):
    """{"VmRSS": kB, "VmHWM": kB, ...} from /proc/PID/status."""
    d = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k.startswith("Vm") or k.startswith("Rss"):
                d[k] = int(v.split()[0])
    return d


def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def others_running(comms, exclude=()):
    """[(pid, comm)] of processes whose name is in comms, but for exclude."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) in exclude or int(pid) == os.getpid():
            continue
        try:
            with open("/proc/%s/comm" % pid) as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm in comms:
            found.append((int(pid), comm))
    return found


# -- /metrics ------------------------------------------------------------

METRIC_RE = re.compile(r'^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$')
LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def samples(text):
    """[(name, {label: value}, float)] of a Prometheus text exposition."""
    got = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        g = METRIC_RE.match(line)
        if not g:
            continue
        try:
            v = float(g.group(3))
        except ValueError:
            continue
        got.append((g.group(1), dict(LABEL_RE.findall(g.group(2) or "")), v))
    return got


def metric_sum(text, name, **want):
    """Sum of the samples of metric `name` whose labels include `want`."""
    total = 0.0
    for line in text.splitlines():
        g = METRIC_RE.match(line)
        if not g or g.group(1) != name:
            continue
        lab = dict(LABEL_RE.findall(g.group(2) or ""))
        if all(lab.get(k) == v for k, v in want.items()):
            try:
                total += float(g.group(3))
            except ValueError:
                pass
    return total


def histogram_names(text):
    """Names of the metrics declared `histogram` in the exposition."""
    return set(re.findall(r"^# TYPE (\S+) histogram$", text, re.M))


def events_recorded(text):
    """Latency observations the agent recorded, all families: the sum of
    every histogram's _count but the agent's own export timings."""
    names = {n + "_count" for n in histogram_names(text) if not n.startswith("odtrace_export_")}
    return sum(v for n, _, v in samples(text) if n in names)


def drops(text):
    """{reason: count} of odtrace_dropped_total."""
    return {lab.get("reason", ""): v for n, lab, v in samples(text) if n == "odtrace_dropped_total"}


# -- statistics and output -----------------------------------------------

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, spec="%.1f", none="–"):
    return none if v is None else spec % v


def rng(xs, spec="%.1f"):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "–"
    return (spec + " .. " + spec) % (min(xs), max(xs))


class Report:
    """Tables and headings as plain text or, with markdown, for RESULTS.md."""

    def __init__(self, markdown):
        self.markdown = markdown

    def table(self, head, rows, align):
        """align: one of 'l'/'r' per column."""
        if self.markdown:
            out("| " + " | ".join(head) + " |")
            out("|" + "|".join(":---" if c == "l" else "---:" for c in align) + "|")
            for row in rows:
                out("| " + " | ".join(row) + " |")
        else:
            w = [max(len(x) for x in col) for col in zip(head, *rows)]
            line = lambda cells: "  ".join(c.ljust(w[i]) if align[i] == "l" else c.rjust(w[i])
                                           for i, c in enumerate(cells)).rstrip()
            out(line(head))
            out(line(["-" * n for n in w]))
            for row in rows:
                out(line(row))
        out()

    def heading(self, text, level=4):
        out(("#" * level + " " if self.markdown else "") + text)
        out()

    def para(self, text):
        out(text)
        out()

    def block(self, lines):
        """Key: value lines, fenced in Markdown."""
        if self.markdown:
            out("```")
        for line in lines:
            out(line)
        if self.markdown:
            out("```")
        out()

    def warnings(self, warnings):
        if warnings:
            out("Warnings during the run:")
            out()
            for w in warnings:
                out("- " + w.replace("\n", " "))
            out()


def commit():
    """Short HEAD of the repository, marked when the tree has changes."""
    try:
        c = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           universal_newlines=True).stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               universal_newlines=True).stdout.strip()
        return c + (" (working tree has uncommitted changes)" if dirty else "")
    except OSError:
        return "unknown"


def host_lines():
    """The header lines every report starts with: kernel and CPUs."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return ["command:  %s" % shlex.join([sys.argv[0]] + sys.argv[1:]),
            "kernel:   %s (%s)" % (platform.release(), platform.machine()),
            "cpus:     %d (nproc), %s" % (os.cpu_count() or 0, cpu),
            "odtrace:  %s" % commit()]


# -- building the C helpers ----------------------------------------------

def build(tmp, src, name, *flags):
    """cc -O2 bench/SRC into TMP/NAME; returns the path."""
    path = os.path.join(tmp, name)
    r = subprocess.run(["cc", "-O2", "-Wall", "-o", path, os.path.join(REPO, "bench", src)]
                       + list(flags), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if r.returncode != 0:
        raise Fail("cc -O2 bench/%s failed:\n%s" % (src, r.stdout))
    return path


def build_loadgen(tmp):
    return build(tmp, "loadgen.c", "loadgen", "-I/usr/include/postgresql", "-lpq")


def build_http_worker(tmp):
    """bench/http_worker.c, named `odoo`: the agent's default --worker and
    its odoo service by name."""
    return build(tmp, "http_worker.c", "odoo")


def private_copy(odtrace, tmp):
    """(path, sha256 prefix) of a copy: others may rebuild ./odtrace while
    a benchmark runs."""
    import hashlib
    path = os.path.join(tmp, "odtrace")
    shutil.copy2(odtrace, path)
    with open(path, "rb") as f:
        return path, hashlib.sha256(f.read()).hexdigest()[:12]


# -- processes -----------------------------------------------------------

class Procs:
    """Processes started here, stopped in reverse order by stop_all()."""

    def __init__(self, log):
        self.log = log
        self.procs = []     # [(name, Popen, stop signal)]

    def start(self, name, argv, logpath, ready=None, cpu=None, timeout=15,
              stop_sig=signal.SIGTERM, **kw):
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu)] + list(argv)
        with open(logpath, "w") as logf:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                 start_new_session=True, **kw)
        self.procs.append((name, p, stop_sig))
        deadline = time.monotonic() + timeout
        while ready:
            if p.poll() is not None:
                raise Fail("%s exited %d before it answered:\n%s" % (name, p.returncode, tail(logpath)))
            try:
                if ready():
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise Fail("%s did not answer within %d s:\n%s" % (name, timeout, tail(logpath)))
            time.sleep(0.05)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        """Signals p's process group (it runs in a session of its own)."""
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.log("pid %d did not stop within %d s of %s: killing it"
                         % (p.pid, timeout, signal.Signals(sig).name))
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            except OSError:
                pass
        self.procs = [x for x in self.procs if x[1] is not p]

    def stop_all(self):
        for name, p, sig in reversed(list(self.procs)):
            self.stop(p, sig)


def redis_ping(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
        s.sendall(b"PING\r\n")
        return s.recv(64).startswith(b"+PONG")


def http_ok(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=1) as r:
        return r.status == 200


def start_redis(procs, tmp, port, cpu=None):
    if port_busy(port):
        raise Fail("something already listens on 127.0.0.1:%d: pass another --redis-port" % port)
    return procs.start("redis-server", ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                        "--save", "", "--appendonly", "no", "--dir", tmp],
                       os.path.join(tmp, "redis.log"), lambda: redis_ping(port), cpu=cpu)


def start_http_worker(procs, tmp, binary, port, cpu=None, **kw):
    if port_busy(port):
        raise Fail("something already listens on 127.0.0.1:%d: pass another --web-port" % port)
    return procs.start("http_worker", [binary, str(port)], os.path.join(tmp, "odoo.log"),
                       lambda: http_ok(port), cpu=cpu, **kw)


def service_port(default):
    """The service's default port when free (the agent measures it with no
    --service), else a free one (the caller passes --service)."""
    return default if not port_busy(default) else free_port()


def run_client(argv, timeout=600, cpu=None, **kw):
    """Runs argv to the end; returns its stdout (and stderr)."""
    if cpu is not None:
        argv = ["taskset", "-c", str(cpu)] + list(argv)
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout,
                       start_new_session=True, **kw)
    if r.returncode != 0:
        raise Fail("%s exited %d:\n%s" % (shlex.join(argv), r.returncode, r.stdout))
    return r.stdout


def loadgen_counts(text):
    """{kind: (done, failed)} and (visits, skipped) from loadgen's output."""
    kinds = {m.group(1): (int(m.group(2)), int(m.group(3)))
             for m in re.finditer(r"^(\w+) done (\d+) failed (\d+)$", text, re.M)}
    m = re.search(r"^visits (\d+) skipped (\d+)$", text, re.M)
    if not m:
        raise Fail("cannot parse loadgen's output:\n" + text)
    return kinds, (int(m.group(1)), int(m.group(2)))


# -- the agent -----------------------------------------------------------

class Agent:
    """One `odtrace run`, waited for on /healthz, stopped with SIGINT."""

    def __init__(self, argv, port, logpath, log, verbose=False):
        self.argv = list(argv) + ["--listen", "127.0.0.1:%d" % port]
        self.port = port
        self.logpath = logpath
        self.log = log
        self.verbose = verbose
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid

    def get(self, path, timeout=5):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path),
                                    timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")

    def metrics(self):
        return self.get("/metrics")[1]

    def start(self, timeout=60):
        if port_busy(self.port):
            raise Fail("something already listens on 127.0.0.1:%d: pass another --port" % self.port)
        with open(self.logpath, "w") as logf:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=logf,
                                         stderr=logf, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                rc, self.proc = self.proc.returncode, None
                raise Fail("odtrace exited %d before /healthz answered:\n%s" % (rc, tail(self.logpath)))
            try:
                if self.get("/healthz", timeout=2)[0] == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise Fail("odtrace /healthz did not answer on 127.0.0.1:%d within %d s:\n%s"
                           % (self.port, timeout, tail(self.logpath)))
            time.sleep(0.05)

    def next_harvest(self, timeout=30, poll=0.2):
        """Waits until /metrics changes (the agent read its maps again);
        returns (monotonic time, text)."""
        first = self.metrics()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(poll)
            text = self.metrics()
            if text != first:
                return time.monotonic(), text
        raise Fail("odtrace's /metrics did not change within %d s" % timeout)

    def stop(self, check=True, timeout=30):
        p, self.proc = self.proc, None
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            if check:
                raise Fail("odtrace did not exit within %d s of SIGINT:\n%s" % (timeout, tail(self.logpath)))
            return
        if self.verbose:
            self.log("agent log:\n" + tail(self.logpath, 200).rstrip())
        if check and rc != 0:
            raise Fail("odtrace exited %d after SIGINT (expected 0):\n%s" % (rc, tail(self.logpath)))


# -- kernel.bpf_stats_enabled and the agent's programs and maps ------------

class BpfStats:
    """Switches kernel.bpf_stats_enabled and puts back what was there."""

    def __init__(self):
        with open(BPF_STATS) as f:
            self.orig = f.read().strip()
        self.prev = None

    def set(self, v):
        if self.prev is None:
            self.prev = self.orig
        with open(BPF_STATS, "w") as f:
            f.write(v + "\n")

    def restore(self):
        if self.prev is not None:
            with open(BPF_STATS, "w") as f:
                f.write(self.prev + "\n")
            self.prev = None


def fd_object_ids(pid, key):
    """Ids of the eBPF objects (key: map_id or prog_id) a process holds fds of."""
    ids = set()
    d = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(d):
        try:
            with open(os.path.join(d, fd)) as f:
                m = re.search(r"^%s:\s+(\d+)$" % key, f.read(), re.M)
        except OSError:
            continue
        if m:
            ids.add(int(m.group(1)))
    return ids


def bpftool_progs(ids):
    """{id: prog} from `bpftool prog show -j`, for the given program ids."""
    r = subprocess.run(["bpftool", "prog", "show", "-j"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    if r.returncode != 0:
        raise Fail("bpftool prog show -j exited %d: %s" % (r.returncode, r.stderr.strip()))
    return {p["id"]: p for p in json.loads(r.stdout) if p["id"] in ids}


_libc = ctypes.CDLL(None, use_errno=True)
_NR_BPF = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
BPF_MAP_GET_NEXT_KEY, BPF_MAP_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD = 4, 14, 15
# Map types whose entries can be walked with BPF_MAP_GET_NEXT_KEY and that
# grow: hash, percpu_hash, lru_hash, lru_percpu_hash. Arrays are full from
# the start; task and socket storage live and die with their task or socket.
HASH_TYPES = {1, 5, 9, 10}


def _bpf(cmd, attr):
    r = _libc.syscall(_NR_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    if r < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return r


def map_entries(map_id):
    """(name, type, entries) of a hash map, by id; entries None for other types."""
    attr = (ctypes.c_uint8 * 128)()
    ctypes.c_uint32.from_buffer(attr, 0).value = map_id
    fd = _bpf(BPF_MAP_GET_FD_BY_ID, attr)
    try:
        info = (ctypes.c_uint8 * 256)()
        attr = (ctypes.c_uint8 * 128)()
        ctypes.c_uint32.from_buffer(attr, 0).value = fd
        ctypes.c_uint32.from_buffer(attr, 4).value = ctypes.sizeof(info)
        ctypes.c_uint64.from_buffer(attr, 8).value = ctypes.addressof(info)
        _bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
        mtype, key_size = (ctypes.c_uint32.from_buffer(info, o).value for o in (0, 8))
        name = bytes(info[24:40]).split(b"\0")[0].decode()
        if mtype not in HASH_TYPES:
            return name, mtype, None
        key, nxt = (ctypes.c_uint8 * key_size)(), (ctypes.c_uint8 * key_size)()
        attr = (ctypes.c_uint8 * 128)()
        ctypes.c_uint32.from_buffer(attr, 0).value = fd
        ctypes.c_uint64.from_buffer(attr, 8).value = 0     # NULL: the first key
        ctypes.c_uint64.from_buffer(attr, 16).value = ctypes.addressof(nxt)
        n = 0
        while True:
            try:
                _bpf(BPF_MAP_GET_NEXT_KEY, attr)
            except OSError as e:
                if e.errno == 2:    # ENOENT: past the last key
                    return name, mtype, n
                raise
            n += 1
            ctypes.memmove(key, nxt, key_size)
            ctypes.c_uint64.from_buffer(attr, 8).value = ctypes.addressof(key)
    finally:
        os.close(fd)


def agent_map_entries(pid):
    """{name: entries} of the hash maps the agent holds (summed by name)."""
    if _NR_BPF is None:
        raise Fail("counting map entries: no bpf syscall number for %s" % platform.machine())
    got = {}
    for i in sorted(fd_object_ids(pid, "map_id")):
        try:
            name, mtype, n = map_entries(i)
        except OSError:
            continue        # freed since: the agent let it go
        if n is not None:
            got[name] = got.get(name, 0) + n
    return got


# -- cgroups ---------------------------------------------------------------

class CgroupTree:
    """<mount>/<name>: a cgroup v2 group made here, with children; remove()
    kills whatever is inside and removes the lot."""

    def __init__(self, name, log):
        self.mount = cgroup2_mount()
        if not self.mount:
            raise Fail("no cgroup v2 file system in /proc/self/mounts (cgroup2): needed for tenants")
        self.path = os.path.join(self.mount, name)
        self.log = log
        try:
            os.mkdir(self.path)
        except OSError as e:
            raise Fail("cannot create cgroup %s: %s" % (self.path, e))

    def child(self, name):
        return os.path.join(self.path, name)

    def add(self, name):
        os.mkdir(self.child(name))

    def enter(self, name=None):
        """preexec_fn: the child moves itself into the group before exec."""
        procs = os.path.join(self.child(name) if name else self.path, "cgroup.procs")

        def enter():
            with open(procs, "w") as f:
                f.write(str(os.getpid()))
        return enter

    def populated(self, name=None):
        try:
            return read_kv(os.path.join(self.child(name) if name else self.path,
                                        "cgroup.events")).get("populated", 0) != 0
        except OSError:
            return False

    def remove_child(self, name):
        """rmdir; False while a process is still inside (EBUSY)."""
        try:
            os.rmdir(self.child(name))
            return True
        except FileNotFoundError:
            return True
        except OSError:
            return False

    def remove(self):
        if not self.path or not os.path.isdir(self.path):
            return
        if self.populated():
            self.log("killing the processes left in cgroup %s" % self.path)
            try:
                with open(os.path.join(self.path, "cgroup.kill"), "w") as f:
                    f.write("1")
            except OSError as e:
                self.log("could not write %s/cgroup.kill: %s" % (self.path, e))
            deadline = time.monotonic() + 5
            while self.populated() and time.monotonic() < deadline:
                time.sleep(0.05)
        for d, subdirs, _ in sorted(os.walk(self.path), key=lambda x: -x[0].count("/")):
            try:
                os.rmdir(d)
            except OSError as e:
                self.log("could not remove cgroup %s: %s" % (d, e))
        self.path = None


def run_main(prog, needs, body, cleanup):
    """The common main: root, tools on PATH, signals turned into a clean
    exit, Fail printed without a traceback, cleanup always; returns the exit
    code (body's return value, 1 on Fail, 130 on a signal)."""
    log = logger(prog)
    if os.geteuid() != 0:
        log("needs root (it loads eBPF programs and makes cgroups): run it with sudo")
        return 1
    for tool, hint in needs:
        if shutil.which(tool) is None:
            log("%s not found%s" % (tool, hint))
            return 1

    def on_signal(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    rc = 0
    try:
        rc = body()
    except KeyboardInterrupt as e:
        log("interrupted (%s): cleaning up" % (e.args[0] if e.args else "SIGINT"))
        rc = 130
    except Fail as e:
        log("error: %s" % str(e).rstrip())
        rc = 1
    finally:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)    # a second Ctrl-C must not skip cleanup
        cleanup()
    return rc


def agent_sample(pid, maps=True):
    """The agent's footprint now: CPU seconds, VmRSS and VmHWM (KiB), open
    fds and, with maps, {hash map name: entries}."""
    mem = proc_mem_kib(pid)
    return dict(t=time.monotonic(), cpu=proc_cpu_seconds(pid), rss=mem["VmRSS"],
                hwm=mem["VmHWM"], fds=proc_fds(pid),
                maps=agent_map_entries(pid) if maps else {})


def write_lines(path, lines):
    """Replaces path atomically (loadgen re-reads its tenants file when a
    new one is renamed over it)."""
    with open(path + ".new", "w") as f:
        f.write("".join(x + "\n" for x in lines))
    os.rename(path + ".new", path)


def label_values(text, label, prefix="odtrace_"):
    """Distinct values of a label over every sample."""
    return {lab[label] for n, lab, _ in samples(text) if label in lab and n.startswith(prefix)}
