/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "http/body.h"
#include "http/unixsock.h"
#include "util/log.h"

/* How long a reader waits for a fresh snapshot: a harvest takes
 * milliseconds; a tick stuck behind a slow one is the case this bounds. */
#define FRESH_WAIT_S 5

struct unixsock {
	struct MHD_Daemon *daemon;
	const char *path;
	int group;		/* gid, or -1: mode 0600 */
	int fd;			/* the listening socket until the daemon owns it */
	int wake;		/* eventfd: a fresh snapshot is asked for */
	int bound;		/* the file is ours to remove */
	pthread_mutex_t lock;
	pthread_cond_t done;
	uint64_t asked, served;	/* fresh asks numbered; those up to served answered */
	struct body *latest, *previous, *fresh;
};

static const char octet[] = "application/vnd.odtrace.snapshot";

static enum MHD_Result text(struct MHD_Connection *c, unsigned int status, const char *msg)
{
	return body__send(c, status, "text/plain; charset=utf-8", (void *)msg, strlen(msg),
			  MHD_RESPMEM_PERSISTENT);
}

/* Blocks this connection's thread until the main loop has harvested. */
static enum MHD_Result fresh(struct unixsock *u, struct MHD_Connection *c)
{
	struct timespec until;
	uint64_t ticket, one = 1;
	int answered;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += FRESH_WAIT_S;
	pthread_mutex_lock(&u->lock);
	ticket = ++u->asked;
	/* fails only when the counter is full: the main loop is woken already */
	(void)!write(u->wake, &one, sizeof(one));
	while (u->served < ticket &&
	       pthread_cond_timedwait(&u->done, &u->lock, &until) != ETIMEDOUT)
		;
	answered = u->served >= ticket;
	pthread_mutex_unlock(&u->lock);
	if (!answered)
		return text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "the agent took no snapshot within 5s; try again\n");
	return body__reply(c, &u->lock, &u->fresh, MHD_HTTP_OK, octet);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **state)
{
	struct unixsock *u = cls;
	struct body *const *which = NULL;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, "GET"))
		return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
	if (!strcmp(url, "/v1/snapshot/fresh"))
		return fresh(u, c);
	if (!strcmp(url, "/v1/snapshot"))
		which = &u->latest;
	else if (!strcmp(url, "/v1/snapshot/previous"))
		which = &u->previous;
	else
		return text(c, MHD_HTTP_NOT_FOUND,
			    "try /v1/snapshot, /v1/snapshot/previous or /v1/snapshot/fresh\n");
	pthread_mutex_lock(&u->lock);
	if (!*which) {
		pthread_mutex_unlock(&u->lock);
		return text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no snapshot yet: the agent is starting\n");
	}
	pthread_mutex_unlock(&u->lock);
	return body__reply(c, &u->lock, which, MHD_HTTP_OK, octet);
}

/* Whether an agent answers at path: then it is not ours to replace. */
static int answers(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	ok = !connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	return ok;
}

/* Checked at once, before seconds of attaching, and again at the bind. */
static int taken(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (!answers(&sa))
		return 0;
	log_error("another odtrace agent serves %s: one agent per node (stop it, or give this one "
		  "--socket PATH or --socket none)", path);
	return -1;
}

int unixsock__open(struct unixsock **out, const char *path, const char *group)
{
	struct unixsock *u = calloc(1, sizeof(*u));
	struct group *g;

	if (!u)
		return -1;
	*out = u;
	u->fd = u->wake = -1;
	u->group = -1;
	u->path = path;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->done, NULL);
	if (path[0] != '/' || strlen(path) > UNIXSOCK_MAX_PATH - 1) {
		log_error("--socket %s: expected an absolute path of at most %d bytes (or none)", path,
			  UNIXSOCK_MAX_PATH - 1);
		return -1;
	}
	if (group) {
		char *end;
		long id = strtol(group, &end, 10);

		if ((g = getgrnam(group)))
			u->group = g->gr_gid;
		else if (*group && !*end && id >= 0)
			u->group = id;
		else {
			log_error("--socket-group %s: no such group (a name from /etc/group or a gid)", group);
			return -1;
		}
	}
	if (taken(path))
		return -1;
	if ((u->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		log_error("cannot make an eventfd for the socket: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int unixsock__bind(struct unixsock *u)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[UNIXSOCK_MAX_PATH + 1];
	struct stat st;
	mode_t old;
	int err;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", u->path);
	snprintf(dir, sizeof(dir), "%s", u->path);
	/* its directory: made if missing (/run is a tmpfs, empty at boot) */
	if (mkdir(dirname(dir), 0755) && errno != EEXIST) {
		log_error("cannot make %s for --socket %s: %s", dir, u->path, strerror(errno));
		return -1;
	}
	if (!lstat(u->path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("--socket %s: the file exists and is not a socket; remove it or choose "
				  "another path", u->path);
			return -1;
		}
		if (taken(u->path))
			return -1;
		unlink(u->path);	/* what an agent that died left behind */
	}
	u->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* created with no access beyond the owner's, never wider for an
	 * instant; then opened to the group if one is given */
	old = umask(0177);
	err = u->fd < 0 || bind(u->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (err) {
		log_error("cannot make the socket %s: %s", u->path, strerror(errno));
		return -1;
	}
	u->bound = 1;
	if (u->group >= 0 && (chown(u->path, -1, u->group) || chmod(u->path, 0660))) {
		log_error("--socket-group: cannot give %s to group %d: %s", u->path, u->group,
			  strerror(errno));
		return -1;
	}
	if (listen(u->fd, 16)) {
		log_error("cannot listen on %s: %s", u->path, strerror(errno));
		return -1;
	}
	return 0;
}

int unixsock__serve(struct unixsock *u)
{
	/* A thread per reader: one waiting for a fresh snapshot must not hold
	 * up another reading the last one. Readers are a few CLIs. */
	u->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
				     MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, u,
				     MHD_OPTION_LISTEN_SOCKET, u->fd,
				     MHD_OPTION_CONNECTION_LIMIT, 16u,
				     MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!u->daemon) {
		log_error("cannot serve on %s (see libmicrohttpd's message above)", u->path);
		return -1;
	}
	u->fd = -1;	/* the daemon's now */
	return 0;
}

int unixsock__wake_fd(const struct unixsock *u)
{
	return u ? u->wake : -1;
}

uint64_t unixsock__asked(struct unixsock *u)
{
	uint64_t n, ticket;

	if (!u)
		return 0;
	(void)!read(u->wake, &n, sizeof(n));	/* EAGAIN: no new asks; the counters say */
	pthread_mutex_lock(&u->lock);
	ticket = u->asked > u->served ? u->asked : 0;
	pthread_mutex_unlock(&u->lock);
	return ticket;
}

void unixsock__fresh(struct unixsock *u, uint64_t ticket, char *data, size_t len)
{
	struct body *b = body__new(&u->lock, data, len);

	if (b)
		body__swap(&u->lock, &u->fresh, b);
	pthread_mutex_lock(&u->lock);
	if (b && ticket > u->served)
		u->served = ticket;
	pthread_cond_broadcast(&u->done);
	pthread_mutex_unlock(&u->lock);
}

void unixsock__publish(struct unixsock *u, char *data, size_t len)
{
	struct body *b = body__new(&u->lock, data, len), *old;

	if (!b)
		return;
	pthread_mutex_lock(&u->lock);
	old = u->previous;
	u->previous = u->latest;
	u->latest = b;
	pthread_mutex_unlock(&u->lock);
	if (old)
		body__put(old);
}

void unixsock__stop(struct unixsock *u)
{
	if (!u)
		return;
	if (u->daemon)
		MHD_stop_daemon(u->daemon);
	if (u->fd >= 0)
		close(u->fd);
	if (u->wake >= 0)
		close(u->wake);
	if (u->bound)
		unlink(u->path);
	if (u->latest)
		body__put(u->latest);
	if (u->previous)
		body__put(u->previous);
	if (u->fresh)
		body__put(u->fresh);
	free(u);
}
