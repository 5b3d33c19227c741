/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * An HTTP/1.1 server for bench/budget, bench/bounds and bench/soak, built by
 * them (cc -O2) into a temp dir and run under the name `odoo`: the agent's
 * defaults then treat it as an Odoo worker (sys and runq trace it by name;
 * net measures the port it serves when that port is 8069, else the script
 * passes --service odoo=PORT).
 *
 *   http_worker PORT      serve 127.0.0.1:PORT until SIGTERM or SIGINT
 *
 * One process, one epoll loop, keep-alive: every request (a header block
 * ending in an empty line; no bodies) gets the same 3-byte answer. It prints
 * "requests N" on exit. Python's http.server is too slow to load the agent,
 * and nginx is not a dependency.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FD 65536
#define BUF 4096

static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			     "Content-Length: 3\r\n\r\nok\n";

struct conn {
	size_t len;	/* bytes of an unfinished header block */
	char buf[BUF];
};

static struct conn *conns[MAX_FD];
static volatile sig_atomic_t stop;
static unsigned long long requests;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void drop(int ep, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(conns[fd]);
	conns[fd] = NULL;
}

/* Reads what is there; answers every complete request in it, in one write. */
static void serve(int ep, int fd)
{
	struct conn *c = conns[fd];
	char out[BUF];
	size_t n_out = 0;
	ssize_t n = read(fd, c->buf + c->len, sizeof(c->buf) - c->len);

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		drop(ep, fd);
		return;
	}
	c->len += n;
	for (;;) {
		char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		size_t used;

		if (!end)
			break;
		used = end + 4 - c->buf;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		requests++;
		if (n_out + sizeof(answer) - 1 > sizeof(out)) {
			if (write(fd, out, n_out) != (ssize_t)n_out) {
				drop(ep, fd);
				return;
			}
			n_out = 0;
		}
		memcpy(out + n_out, answer, sizeof(answer) - 1);
		n_out += sizeof(answer) - 1;
	}
	if (c->len == sizeof(c->buf)) {
		drop(ep, fd);	/* a header block larger than we accept */
		return;
	}
	if (n_out && write(fd, out, n_out) != (ssize_t)n_out)
		drop(ep, fd);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct epoll_event ev, evs[64];
	struct sigaction act = { .sa_handler = on_signal };
	int one = 1, lfd, ep;

	if (argc != 2 || atoi(argv[1]) <= 0) {
		fprintf(stderr, "usage: http_worker PORT\n");
		return 2;
	}
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	sa.sin_port = htons(atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4096)) {
		fprintf(stderr, "http_worker: cannot listen on 127.0.0.1:%s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	while (!stop) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd != lfd) {
				serve(ep, fd);
				continue;
			}
			while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
				if (fd >= MAX_FD || !(conns[fd] = calloc(1, sizeof(struct conn)))) {
					close(fd);
					continue;
				}
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				ev.events = EPOLLIN;
				ev.data.fd = fd;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			}
		}
	}
	printf("requests %llu\n", requests);
	return 0;
}
