# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""`odtrace top`: --once under a known workload, and the live view driven
in tmux (80x24, and 60 columns) like an operator would: sort keys, the
tenant filter, quit, the terminal given back as it was, and every line cut
to the terminal's width; its --help and its usage errors."""
import os
import re
import subprocess
import threading

import pytest

from conftest import ODTRACE, wait_until

# what top's header may hold, in its order
HEADERS = ["TENANT", "STMT/s", "p50", "p99", "LOCK99", "LOCK/s", "REDIS99", "INGR99", "SYS/s",
           "RUNQ99", "ERR%", "EVT"]
# a tenant (cgroup) name longer than a narrow terminal's tenant column, and
# than the 32 characters a pipe's holds
LONG = "globex_distribution_europe_warehouse_03"
SESSION = f"odtrace-top-{os.getpid()}"


def seconds(cell):
    """'50.4ms*' -> 0.0504; '-' -> None."""
    m = re.match(r"^([\d.]+)(us|ms|s)\*?$", cell)
    if not m:
        return None
    return float(m.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1}[m.group(2)]


def statements(pg, db, sql, n):
    conn = pg.connect(db)
    conn.autocommit = True
    with conn.cursor() as cur:
        for _ in range(n):
            cur.execute(sql)
    conn.close()


def rows(text):
    """{tenant: [cells]} of a table top printed."""
    out = {}
    for line in text.splitlines():
        cells = line.split()
        if len(cells) == 12 and cells[0] != "TENANT":
            out[cells[0]] = cells[1:]
    return out


def test_once(pg):
    top = subprocess.Popen([ODTRACE, "top", "--once", "--interval", "5s", "--probes", "pg"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in top.stderr:  # the interval starts once the probes are attached
        if "pg: attached" in line:
            break
    slow = threading.Thread(target=statements, args=(pg, "tenant_a", "SELECT pg_sleep(0.05)", 20))
    slow.start()
    statements(pg, "tenant_b", "SELECT 1", 200)
    slow.join()
    out, err = top.communicate(timeout=30)
    assert top.returncode == 0, err
    assert "\033" not in out, "--once prints no escape sequences"
    lines = out.splitlines()
    assert lines[0].startswith("odtrace top")
    assert lines[1].split()[:4] == ["TENANT", "STMT/s", "p50", "p99"]
    assert lines[1].split()[-1] == "EVT"
    assert all(len(line) <= 80 for line in lines), "fits 80 columns"
    r = rows(out)
    # pg_sleep(0.05): p50 within one fine bucket (9%) of 50 ms
    assert 0.046 <= seconds(r["tenant_a"][1]) <= 0.056, r["tenant_a"]
    assert seconds(r["tenant_b"][1]) < 0.005, r["tenant_b"]
    # 20 and 200 statements in one 5 s interval (other sessions may add some)
    assert float(r["tenant_a"][0]) >= 20 / 5 * 0.9, r
    assert float(r["tenant_b"][0]) >= 200 / 5 * 0.9, r
    # tenant_a's worst column is its statement p99 (50 ms of a 500 ms SLO)
    assert r["tenant_a"][2].endswith("*"), r["tenant_a"]
    # no HTTP or Redis requests whose outcome was read: no error share
    assert r["tenant_a"][-2] == "-", r["tenant_a"]


@pytest.fixture
def tmux(request):
    """(send, screen) of a tmux window, 80x24 unless parametrized with
    (columns, rows). screen() joins wrapped lines: one longer than the
    window wrapped."""
    columns, lines = getattr(request, "param", (80, 24))
    subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, "-x", str(columns),
                    "-y", str(lines), "bash", "--norc"], check=True)

    def send(*keys):
        subprocess.run(["tmux", "send-keys", "-t", SESSION, *keys], check=True)

    def screen():
        return subprocess.run(["tmux", "capture-pane", "-t", SESSION, "-p", "-J"],
                              capture_output=True, text=True, check=True).stdout

    yield send, screen
    subprocess.run(["tmux", "kill-session", "-t", SESSION])


def resize(columns):
    subprocess.run(["tmux", "resize-window", "-t", SESSION, "-x", str(columns)], check=True)


def fits(screen, columns):
    return all(len(line) <= columns for line in screen.splitlines())


def first_tenant(screen):
    names = [line.split()[0] for line in screen.splitlines() if line.startswith("tenant_")]
    return names[0] if names else None


def test_live_view_in_tmux(pg, tmux, tmp_path):
    send, screen = tmux
    stop = threading.Event()

    def load():  # tenant_a: few slow statements; tenant_b: many fast ones
        conn_a, conn_b = pg.connect("tenant_a"), pg.connect("tenant_b")
        for c in (conn_a, conn_b):
            c.autocommit = True
        with conn_a.cursor() as a, conn_b.cursor() as b:
            while not stop.is_set():
                a.execute("SELECT pg_sleep(0.03)")
                for _ in range(20):
                    b.execute("SELECT 1")
    t = threading.Thread(target=load)
    t.start()
    before, after = tmp_path / "stty-before", tmp_path / "stty-after"
    try:
        # the shell creates a redirection's file before stty writes it: the
        # after file appears by rename, complete
        send(f"stty -a > {before}; {ODTRACE} top --interval 1s --probes pg 2>/dev/null; "
             f"echo EXITED $?; stty -a > {after}.part && mv {after}.part {after}", "Enter")
        wait_until(lambda: "tenant_a" in screen() and "tenant_b" in screen(), 30,
                   "both tenants in top")
        assert all(len(line) <= 80 for line in screen().splitlines())
        send("s")  # by statements per second: tenant_b first
        wait_until(lambda: first_tenant(screen()) == "tenant_b", 10, "sorted by STMT/s")
        send("p")  # by p99: tenant_a first
        wait_until(lambda: first_tenant(screen()) == "tenant_a", 10, "sorted by p99")
        send("/")
        wait_until(lambda: "filter (regex" in screen(), 5, "the filter prompt")
        send("_b$", "Enter")
        wait_until(lambda: "filter _b$" in screen() and "tenant_a" not in screen()
                   and "tenant_b" in screen(), 10, "only tenant_b")
        send("q")
        wait_until(lambda: "EXITED 0" in screen(), 10, "top to quit on q")
        wait_until(after.exists, 5, "stty after top")
    finally:
        stop.set()
        t.join(10)
    assert before.read_text() == after.read_text(), "the terminal's modes are restored"
    assert "TENANT" not in screen(), "the main screen is back (top drew on the alternate one)"


@pytest.fixture
def long_tenant(tenants):
    """A worker sleeping 2 ms again and again (blocked syscalls: SYS/s) in
    a cgroup named LONG; top traces that cgroup."""
    tenants.go(tenants.spawn(LONG, "waker", 10 ** 6))
    return tenants.ROOT + "/" + LONG


def row_of(screen):
    """The long-named tenant's row (not the shell's command line)."""
    return [line for line in screen.splitlines() if line.startswith(LONG[:7])]


def top_live(send, cgroup):
    send(f"{ODTRACE} top --interval 1s --probes sys --cgroup {cgroup} 2>/dev/null; "
         "echo EXITED $?", "Enter")


@pytest.mark.parametrize("tmux", [(60, 24)], indirect=True)
def test_narrow_terminal(tmux, long_tenant):
    """60 columns: no line wraps, the header is whole words, the tenant name
    is cut with a marker; wider, the name is whole, even past 32."""
    send, screen = tmux
    cut = LONG[:7] + "~"
    top_live(send, long_tenant)
    wait_until(lambda: row_of(screen()), 30, "the long-named tenant in top")
    s = screen()
    assert fits(s, 60), s
    header = [line.split() for line in s.splitlines() if line.startswith("TENANT")][0]
    assert [h for h in HEADERS if h in header] == header, s
    assert {"TENANT", "p99", "ERR%", "EVT"} <= set(header), s
    assert [line for line in s.splitlines() if line.startswith(cut + " ")], s
    assert "sort p99" in s, "the status line"
    resize(140)
    wait_until(lambda: re.search(rf"^{LONG} ", screen(), re.M), 10, "the whole name at 140")
    assert fits(screen(), 140) and cut not in screen()
    assert [line.split() for line in screen().splitlines()
            if line.startswith("TENANT")][0] == HEADERS, "every column at 140"
    send("q")
    wait_until(lambda: "EXITED 0" in screen(), 10, "top to quit on q")


def test_once_cuts_a_long_name_with_a_marker(long_tenant):
    """A pipe's tenant column holds 32 characters; a longer name ends in ~."""
    once = subprocess.run([ODTRACE, "top", "--once", "--interval", "1s", "--probes", "sys",
                           "--cgroup", long_tenant], capture_output=True, text=True, timeout=60)
    assert once.returncode == 0, once.stderr
    assert [line for line in once.stdout.splitlines()
            if line.startswith(LONG[:31] + "~ ")], once.stdout


@pytest.mark.parametrize("tmux", [(60, 24)], indirect=True)
def test_filter_prompt_on_status_line(tmux, long_tenant):
    """The filter prompt takes the status line, under the rows, and keeps to
    one line however much is typed; a bad regex says what is wrong there."""
    send, screen = tmux
    top_live(send, long_tenant)
    wait_until(lambda: row_of(screen()), 30, "the long-named tenant in top")
    send("/")
    wait_until(lambda: "filter (regex" in screen(), 5, "the filter prompt")
    lines = screen().splitlines()
    row = [i for i, line in enumerate(lines) if line.startswith(LONG[:7])]
    prompt = [i for i, line in enumerate(lines) if line.startswith("filter (regex")]
    assert row and prompt[0] > row[0], "\n".join(lines)
    send("-l", "^globex_distribution")  # longer than the prompt leaves room for
    wait_until(lambda: re.search(r"^filter \(regex.*~.*distribution$", screen(), re.M), 5,
               "the end of what was typed")
    assert fits(screen(), 60) and row_of(screen()), screen()
    send("Enter")
    wait_until(lambda: "filter ^globex_distribution" in screen(), 5, "the filter applied")
    assert row_of(screen())
    send("/", "(", "Enter")
    wait_until(lambda: "bad regular expression" in screen(), 5, "what is wrong with '('")
    assert row_of(screen()) and fits(screen(), 60), screen()
    send("q")
    wait_until(lambda: "EXITED 0" in screen(), 10, "top to quit on q")


def test_help_explains_every_column():
    """Each header top prints starts a line of --help's column legend."""
    once = subprocess.run([ODTRACE, "top", "--once", "--interval", "1s", "--probes", "pg"],
                          capture_output=True, text=True, timeout=60)
    assert once.returncode == 0, once.stderr
    header = once.stdout.splitlines()[1].split()
    assert header == HEADERS
    usage = subprocess.run([ODTRACE, "top", "--help"], capture_output=True, text=True,
                           check=True).stdout
    for h in header:
        assert re.search(rf"^  {re.escape(h)} {{2,}}\S", usage, re.M), f"{h} not explained"


@pytest.mark.parametrize("cmd", ["top", "trace"])
def test_help_lists_each_option_once(cmd):
    usage = subprocess.run([ODTRACE, cmd, "--help"], capture_output=True, text=True,
                           check=True).stdout
    opts = re.findall(r"^  (?:-\w, )?(--[\w-]+)", usage, re.M)
    assert "--probes" in opts and "--tenant-grace" in opts
    assert not {o for o in opts if opts.count(o) > 1}, usage


def test_tenant_regex_says_what_is_wrong():
    """--tenant '(' says why as --worker '(' does, with the usage, exit 2."""
    worker = subprocess.run([ODTRACE, "top", "--worker", "("], capture_output=True, text=True)
    tenant = subprocess.run([ODTRACE, "top", "--tenant", "("], capture_output=True, text=True)
    why = re.search(r"error: --worker '\(': bad regular expression: (.+)", worker.stderr)
    assert worker.returncode == 2 and why, worker.stderr
    assert tenant.returncode == 2, tenant.stderr
    assert f"error: --tenant '(': bad regular expression: {why.group(1)}" in tenant.stderr
    assert "Usage: odtrace top" in tenant.stderr
