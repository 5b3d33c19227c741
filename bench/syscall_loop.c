/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Helper for bench/sys_overhead, built by the script (cc -O2) into a temp dir.
 *
 *   syscall_loop loop N [gate] N getpid(2) (raw syscall(SYS_getpid): glibc may
 *                              not cache it), then N read(2)s of 1 byte from
 *                              /dev/zero; prints "getpid NS" and "read NS",
 *                              the wall time per call in ns. With gate, it
 *                              first waits for a byte on stdin, then sleeps
 *                              1 ms (see below)
 *   syscall_loop pipe N        N ping-pong round trips between two processes
 *                              over two pipes (perf bench sched pipe's shape,
 *                              for hosts without perf); prints "usecs/op US"
 *   syscall_loop tcp PORT N    N request/answer round trips over one loopback
 *                              TCP connection to 127.0.0.1:PORT, both ends in
 *                              this process (no scheduler in the way: what
 *                              bench/net_overhead adds per request is the net
 *                              family's four program runs and nothing else);
 *                              prints "rtt NS", the wall time per round trip
 *   syscall_loop http PORT N   the same with an Odoo JSON-RPC call on the wire:
 *                              POST /web/dataset/call_kw/stock.picking/
 *                              button_validate with its JSON body, answered
 *                              200 with a JSON-RPC result (headers and body in
 *                              one send each way): what the net family's L7
 *                              parsing adds per HTTP request
 *   syscall_loop spawn CMD...  fork, exec CMD in the child, wait; exits with
 *                              its status
 *
 * Why spawn: odtrace decides whether a task is traced the first time it sees
 * it (a syscall in full mode, a switch-out otherwise) and keeps the answer
 * until its traced set changes. A process moved into the traced cgroup after
 * that would stay untraced, so the script moves this wrapper into the group
 * and the measured process is born inside it, seen first from there.
 *
 * Why gate: a process traced by name (bench/budget runs this loop as `odoo`)
 * joins the traced set at the agent's next /proc rescan, and is decided at
 * its next context switch. The script starts it early, lets the agent rescan,
 * then opens the gate; the 1 ms sleep is that context switch.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "syscall_loop: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int loop(long n, int gate)
{
	char c;
	double t0, t1;
	long warm = n / 10 + 1;
	int fd = open("/dev/zero", O_RDONLY);

	if (fd < 0)
		die("/dev/zero");
	if (gate) {
		if (read(0, &c, 1) != 1)
			die("gate: stdin closed");
		usleep(1000);
	}
	for (long i = 0; i < warm; i++)
		syscall(SYS_getpid);
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		syscall(SYS_getpid);
	t1 = now_ns();
	printf("getpid %.1f\n", (t1 - t0) / n);
	for (long i = 0; i < warm; i++)
		if (read(fd, &c, 1) != 1)
			die("read /dev/zero");
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (read(fd, &c, 1) != 1)
			die("read /dev/zero");
	t1 = now_ns();
	printf("read %.1f\n", (t1 - t0) / n);
	return 0;
}

static int pingpong(long n)
{
	int ab[2], ba[2], st;
	char c = 0;
	double t0, t1;
	pid_t pid;

	if (pipe(ab) || pipe(ba))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		for (long i = 0; i < n; i++)
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			die("ping-pong");
	t1 = now_ns();
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		die("ping-pong child");
	printf("usecs/op %.3f\n", (t1 - t0) / n / 1e3);
	return 0;
}

#define ODOO_BODY "{\"jsonrpc\":\"2.0\",\"method\":\"call\",\"params\":{\"model\":" \
	"\"stock.picking\",\"method\":\"button_validate\",\"args\":[[42]],\"kwargs\":{}},\"id\":7}"
#define ODOO_RESULT "{\"jsonrpc\": \"2.0\", \"id\": 7, \"result\": true}"
#define ODOO_BODY_LEN 128	/* strlen: checked in main */
#define ODOO_RESULT_LEN 43
#define STR_(x) #x
#define STR(x) STR_(x)

static const char *req = "GET k\r\n", *ans = "+v\r\n";

/* One round trip: the client's request, read by the server, its answer, read
 * by the client. Each recv returns what one send sent (TCP_NODELAY, small
 * writes on loopback; checked). */
static void round_trip(int client, int server)
{
	size_t nq = strlen(req), na = strlen(ans);
	char buf[512];

	if (send(client, req, nq, 0) != (ssize_t)nq || recv(server, buf, sizeof(buf), 0) != (ssize_t)nq ||
	    send(server, ans, na, 0) != (ssize_t)na || recv(client, buf, sizeof(buf), 0) != (ssize_t)na)
		die("tcp round trip");
}

static int tcp(int port, long n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s;
	double t0, t1;

	if (l < 0 || c < 0)
		die("socket");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1))
		die("listen");
	if (connect(c, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	s = accept(l, NULL, NULL);
	if (s < 0)
		die("accept");
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (long i = 0; i < n / 10 + 1; i++)
		round_trip(c, s);
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		round_trip(c, s);
	t1 = now_ns();
	printf("rtt %.1f\n", (t1 - t0) / n);
	return 0;
}

static int spawn(char **argv)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (!pid) {
		execvp(argv[0], argv);
		fprintf(stderr, "syscall_loop: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "spawn"))
		return spawn(argv + 2);
	if ((argc == 3 || (argc == 4 && !strcmp(argv[3], "gate"))) && !strcmp(argv[1], "loop") &&
	    atol(argv[2]) > 0)
		return loop(atol(argv[2]), argc == 4);
	if (argc == 3 && !strcmp(argv[1], "pipe") && atol(argv[2]) > 0)
		return pingpong(atol(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "http") && atoi(argv[2]) > 0 && atol(argv[3]) > 0) {
		req = "POST /web/dataset/call_kw/stock.picking/button_validate HTTP/1.1\r\n"
		      "Host: odoo.example.com\r\nContent-Type: application/json\r\n"
		      "Content-Length: " STR(ODOO_BODY_LEN) "\r\n\r\n" ODOO_BODY;
		ans = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		      "Content-Length: " STR(ODOO_RESULT_LEN) "\r\n\r\n" ODOO_RESULT;
		if (strlen(ODOO_BODY) != ODOO_BODY_LEN || strlen(ODOO_RESULT) != ODOO_RESULT_LEN)
			die("ODOO_BODY_LEN, ODOO_RESULT_LEN");
		return tcp(atoi(argv[2]), atol(argv[3]));
	}
	if (argc == 4 && !strcmp(argv[1], "tcp") && atoi(argv[2]) > 0 && atol(argv[3]) > 0)
		return tcp(atoi(argv[2]), atol(argv[3]));
	fprintf(stderr, "usage: syscall_loop loop N [gate] | pipe N | tcp PORT N | http PORT N | spawn CMD [ARG...]\n");
	return 2;
}
