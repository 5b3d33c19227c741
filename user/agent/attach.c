/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "agent/snapshot.h"
#include "agent/attach.h"
#include "families/family.h"
#include "metrics/wire.h"
#include "util/log.h"

#define MAX_RESPONSE (1ull << 30)	/* a snapshot of a million series is ~300 MiB */
#define READ_TIMEOUT_S 15		/* a fresh snapshot waits 5 s at most */

int attach__response(const char *buf, size_t len, int *status, const char **body, size_t *body_len)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *cl;
	char head[4096];
	size_t hlen;

	if (len < 12 || memcmp(buf, "HTTP/1.", 7) || !end)
		return -1;
	if (buf[8] != ' ' || buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
	    buf[11] < '0' || buf[11] > '9')
		return -1;
	*status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	*body = end + 4;
	*body_len = len - (size_t)(*body - buf);
	hlen = (size_t)(end - buf) < sizeof(head) - 1 ? (size_t)(end - buf) : sizeof(head) - 1;
	memcpy(head, buf, hlen);
	head[hlen] = 0;
	for (char *p = head; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	/* a body cut short (the agent stopped while sending) is no snapshot */
	if ((cl = strstr(head, "\r\ncontent-length:"))) {
		char *e;
		unsigned long long n = strtoull(cl + 17, &e, 10);

		if (e == cl + 17 || n != *body_len)
			return -1;
	}
	return 0;
}

static int connect_to(const char *path, int *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = READ_TIMEOUT_S };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		*err = errno;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* The whole response to GET url, malloc'd into *out. */
static int request(const char *path, const char *url, char **out, size_t *len, int *err)
{
	char req[256], *buf = NULL;
	size_t n = 0, cap = 0;
	int fd = connect_to(path, err), k;

	if (fd < 0)
		return -1;
	k = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: odtrace\r\n\r\n", url);
	if (write(fd, req, k) != k) {
		*err = errno;
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *p = cap < MAX_RESPONSE ? realloc(buf, cap ? 2 * cap : 1 << 16) : NULL;

			if (!p) {
				*err = ENOMEM;
				break;
			}
			buf = p;
			cap = cap ? 2 * cap : 1 << 16;
		}
		r = read(fd, buf + n, cap - n);
		if (r > 0) {
			n += r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		*err = r < 0 ? errno : 0;
		break;
	}
	close(fd);
	if (*err) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* The agent's facts, from its snapshot's own family. */
static void facts(struct attach *at, const struct metrics *m)
{
	for (int i = 0; i < m->n_f; i++) {
		const struct metric_family *f = &m->f[i];
		const struct metric_point *p = &m->p[f->first];

		if (strcmp(metrics__str(m, f->name), SNAPSHOT_AGENT) || f->n != 1 || f->n_labels != 6)
			continue;
		snprintf(at->version, sizeof(at->version), "%s", metrics__str(m, p->values[0]));
		snprintf(at->probes, sizeof(at->probes), "%s", metrics__str(m, p->values[1]));
		at->interval_ms = strtoull(metrics__str(m, p->values[2]), NULL, 10);
		at->slow_ms = strtoull(metrics__str(m, p->values[3]), NULL, 10);
		at->pid = atoi(metrics__str(m, p->values[4]));
		snprintf(at->watched, sizeof(at->watched), "%s", metrics__str(m, p->values[5]));
		at->start_ms = (uint64_t)(p->value * 1e3);
	}
}

static int get(struct attach *at, const char *what, struct metrics *m, int *err)
{
	char url[64], *buf, why[256];
	const char *body;
	size_t len, body_len;
	int status;

	snprintf(url, sizeof(url), "/v1/snapshot%s", what);
	if (request(at->path, url, &buf, &len, err))
		return -1;
	if (attach__response(buf, len, &status, &body, &body_len)) {
		free(buf);
		log_error("the agent at %s sent no whole answer (did it stop?); run again", at->path);
		return -2;
	}
	if (status == 503) {
		free(buf);
		return 1;
	}
	if (status != 200 || wire__decode(body, body_len, m, why, sizeof(why))) {
		if (status != 200)
			snprintf(why, sizeof(why), "HTTP status %d for %s", status, url);
		free(buf);
		log_error("cannot read the agent at %s: %s", at->path, why);
		return -2;
	}
	free(buf);
	facts(at, m);
	return 0;
}

int attach__get(struct attach *at, const char *what, struct metrics *m)
{
	int err = 0, rc = get(at, what, m, &err);

	if (rc == -1)
		log_error("the agent at %s stopped answering (%s); run again, standalone if it is gone",
			  at->path, strerror(err));
	return rc < 0 ? -1 : rc;
}

int attach__open(struct attach *at, const char *path, struct metrics *m)
{
	struct stat st;
	int err = 0, rc;

	memset(at, 0, sizeof(*at));
	at->path = path;
	if (stat(path, &st) && errno == ENOENT)
		return 0;
	rc = get(at, "", m, &err);
	if (rc == 1)	/* the agent is starting: one taken now */
		rc = get(at, "/fresh", m, &err);
	if (rc == 0 || rc == -2)
		return rc ? -1 : 1;
	if (rc == 1) {
		log_error("the agent at %s has no snapshot yet; run again in a moment", path);
		return -1;
	}
	if (err == EACCES || err == EPERM) {
		log_error("the agent at %s may not be read by this user (%s): run with sudo, or give "
			  "the agent --socket-group GROUP and join it", path, strerror(err));
		return -1;
	}
	if (err == ECONNREFUSED || err == ENOENT) {
		log_info("no agent answers at %s (one that stopped left it): tracing on our own", path);
		return 0;
	}
	log_error("cannot read the agent at %s: %s (--standalone: trace on our own)", path,
		  strerror(err));
	return -1;
}

void attach__describe(const struct attach *at, char *buf, size_t len)
{
	time_t t = at->start_ms / 1000;
	char since[32];

	strftime(since, sizeof(since), "%H:%M", localtime(&t));
	snprintf(buf, len, "reading the agent at %s (since %s, every %.3gs; odtrace %s, pid %d)",
		 at->path, since, at->interval_ms / 1e3, at->version, at->pid);
}

unsigned attach__families(const struct attach *at, unsigned asked)
{
	const struct family *f;
	unsigned bits = 0;
	char probes[sizeof(at->probes)], *save, *name;

	snprintf(probes, sizeof(probes), "%s", at->probes);
	for (name = strtok_r(probes, ",", &save); name; name = strtok_r(NULL, ",", &save))
		bits |= family__bits(name);
	FAMILY_FOREACH(f, i)
		if ((asked & FAMILY_BIT(i)) && !(bits & FAMILY_BIT(i)))
			log_warn("the agent at %s does not load %s (it loads %s): --standalone traces it",
				 at->path, f->name, at->probes);
	return asked ? bits & asked : bits;
}

int attach__opt(struct attach_opts *ao, int c, const char *arg)
{
	if (c == 'O')
		ao->socket = arg;
	else if (c == 'Z')
		ao->standalone = 1;
	else
		ao->configured |= c != 'p' && c != 'v';
	return c == 'O' || c == 'Z';
}

int attach__start(struct attach *at, const struct attach_opts *ao, const char *config_path,
		  struct metrics *m)
{
	char line[512];
	int rc;

	if (ao->standalone)
		return 0;
	rc = attach__open(at, ao->socket ? ao->socket : UNIXSOCK_DEFAULT, m);
	if (rc <= 0)
		return rc;
	attach__describe(at, line, sizeof(line));
	log_info("%s", line);
	if (ao->configured || config_path)
		log_warn("the agent's settings apply while reading it: options other than --probes "
			 "are ignored (--standalone uses them)");
	return 1;
}
