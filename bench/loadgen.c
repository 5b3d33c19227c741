/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The load generator of bench/budget, bench/bounds and bench/soak, built by
 * them (cc -O2 ... -lpq) into a temp dir. It counts what it did itself, so
 * the scripts can hold the agent's counts against it.
 *
 *   loadgen [OPTIONS] KIND=TARGET...
 *     redis=PORT      SET then GET of a 1-byte value on 127.0.0.1:PORT (RESP)
 *     http=PORT       GET / on 127.0.0.1:PORT, HTTP/1.1 keep-alive
 *     pg=CONNINFO     SELECT 1 through libpq (simple protocol)
 *   -w N      worker processes (default 1), each one connection at a time
 *   -d SEC    run for SEC seconds (default: until SIGTERM or SIGINT)
 *   -R RATE   requests per second, all workers and kinds together (default:
 *             as fast as the servers answer)
 *   -k N      requests per kind per visit (default 100)
 *   -t FILE   tenants, one name a line, re-read when the file is replaced
 *   -g DIR    before each visit, a worker moves itself into cgroup DIR/NAME
 *             of its next tenant, so its new connections are that tenant's
 *   -D        pg: connect to the database named like the tenant
 *
 * A visit is, per kind: connect, k requests (each one waits for its answer),
 * close (pg without -D: one connection for the whole run); then the next visit (without -t, with no tenant). A visit to a tenant
 * whose cgroup has gone, or a kind whose connection is refused (a database
 * dropped), is skipped and counted; no request was sent. Stopping is graceful: a worker
 * finishes the request it is in, so every request either completed (counted
 * as done) or failed (an error or a connection lost; counted apart).
 *
 * Output, once all workers have exited:
 *   KIND done N failed N     per kind given
 *   visits N skipped N
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum kind { REDIS, HTTP, PG, KINDS };
static const char *kind_names[KINDS] = { "redis", "http", "pg" };

struct counts {
	unsigned long long done[KINDS], failed[KINDS], visits, skipped;
};

static const char *target[KINDS];
static int workers = 1, per_visit = 100, pg_db_is_tenant;
static double seconds, rate;
static const char *tenants_file, *cgroup_dir;
static volatile sig_atomic_t stop;
static struct counts cnt;

static char **tenants;
static int n_tenants;
static struct stat tenants_st;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Re-reads the tenants file when it was replaced (the scripts rename a new
 * one over it). */
static void tenants_reload(void)
{
	struct stat st;
	char line[256];
	FILE *f;

	if (stat(tenants_file, &st) || (st.st_ino == tenants_st.st_ino &&
					st.st_mtim.tv_nsec == tenants_st.st_mtim.tv_nsec &&
					st.st_mtim.tv_sec == tenants_st.st_mtim.tv_sec))
		return;
	f = fopen(tenants_file, "r");
	if (!f)
		return;
	for (int i = 0; i < n_tenants; i++)
		free(tenants[i]);
	n_tenants = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = 0;
		if (!*line)
			continue;
		tenants = realloc(tenants, (n_tenants + 1) * sizeof(*tenants));
		tenants[n_tenants++] = strdup(line);
	}
	fclose(f);
	tenants_st = st;
}

static int cgroup_enter(const char *name)
{
	char path[4096], pid[32];
	int fd, n, ok;

	snprintf(path, sizeof(path), "%s/%s/cgroup.procs", cgroup_dir, name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	n = snprintf(pid, sizeof(pid), "%d", getpid());
	ok = write(fd, pid, n) == n;
	close(fd);
	return ok ? 0 : -1;
}

static int tcp_connect(const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(atoi(port)) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

/* Reads exactly n bytes. */
static int recv_all(int fd, char *p, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, p, n, 0);

		if (r <= 0)
			return -1;
		p += r;
		n -= r;
	}
	return 0;
}

static int redis_request(int fd, unsigned long long i)
{
	static const char set[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$1\r\nx\r\n";
	static const char get[] = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
	const char *want = i & 1 ? "$1\r\nx\r\n" : "+OK\r\n";
	char buf[16];
	size_t n = strlen(want);

	if (send_all(fd, i & 1 ? get : set, i & 1 ? sizeof(get) - 1 : sizeof(set) - 1) ||
	    recv_all(fd, buf, n))
		return -1;
	return memcmp(buf, want, n) ? -1 : 0;
}

/* One answer: the header block, then Content-Length bytes of body. */
static int http_request(int fd)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: odoo\r\n\r\n";
	char buf[4096], *end, *cl;
	size_t have = 0, want;
	ssize_t r;

	if (send_all(fd, req, sizeof(req) - 1))
		return -1;
	for (;;) {
		r = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (r <= 0)
			return -1;
		have += r;
		buf[have] = 0;
		end = strstr(buf, "\r\n\r\n");
		if (end)
			break;
		if (have == sizeof(buf) - 1)
			return -1;
	}
	if (strncmp(buf, "HTTP/1.1 200", 12))
		return -1;
	cl = strcasestr(buf, "\r\nContent-Length:");
	want = (end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
	if (want >= sizeof(buf))
		return -1;
	return have < want ? recv_all(fd, buf + have, want - have) : 0;
}

static PGconn *pg_connect(const char *tenant)
{
	const char *keys[] = { "dbname", "dbname", NULL };
	const char *vals[] = { target[PG], tenant, NULL };
	PGconn *c;

	/* expand_dbname: the first dbname is the whole conninfo; a second one
	 * overrides the database it names */
	if (!pg_db_is_tenant || !tenant)
		keys[1] = vals[1] = NULL;
	c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Waits for the next request's slot when paced. */
static void pace(double *next, double interval)
{
	struct timespec t;
	double d, n;

	if (interval <= 0)
		return;
	n = now();
	if (*next < n - 1)
		*next = n;	/* fell behind by over a second: no burst to catch up */
	d = *next - n;
	*next += interval;
	if (d <= 0)
		return;
	t.tv_sec = (time_t)d;
	t.tv_nsec = (long)((d - t.tv_sec) * 1e9);
	nanosleep(&t, NULL);
}

static int finished(double end)
{
	return stop || (end > 0 && now() >= end);
}

/* One kind's share of a visit: connect, up to k requests, close. A pg
 * connection is kept across visits unless its database is the tenant's: the
 * backend's tenant is its database, not our cgroup, and a backend takes
 * milliseconds to start. */
static void visit_kind(enum kind k, const char *tenant, double end, double *next, double interval)
{
	static PGconn *kept;
	PGconn *pg = NULL;
	int fd = -1;

	if (k == PG)
		pg = kept ? kept : pg_connect(tenant);
	else
		fd = tcp_connect(target[k]);
	if (!pg && fd < 0) {
		cnt.skipped++;
		return;
	}
	for (int i = 0; i < per_visit && !finished(end); i++) {
		int bad;

		pace(next, interval);
		if (k == PG) {
			PGresult *r = PQexec(pg, "SELECT 1");

			bad = PQresultStatus(r) != PGRES_TUPLES_OK;
			PQclear(r);
		} else if (k == REDIS) {
			bad = redis_request(fd, cnt.done[k] + cnt.failed[k]);
		} else {
			bad = http_request(fd);
		}
		if (bad) {
			cnt.failed[k]++;
			break;
		}
		cnt.done[k]++;
	}
	if (pg && !pg_db_is_tenant && PQstatus(pg) == CONNECTION_OK) {
		kept = pg;
	} else if (pg) {
		PQfinish(pg);
		kept = NULL;
	}
	if (fd >= 0)
		close(fd);
}

static void worker(int w, int out)
{
	double end = seconds > 0 ? now() + seconds : 0;
	double interval = rate > 0 ? workers / rate : 0, next = now();
	unsigned long pos = 0;
	char line[512];
	int n;

	if (tenants_file) {
		tenants_reload();
		pos = n_tenants ? (unsigned long)w * n_tenants / workers : 0;
	}
	while (!finished(end)) {
		const char *tenant = NULL;

		if (tenants_file) {
			tenants_reload();
			if (!n_tenants) {
				usleep(100000);
				continue;
			}
			tenant = tenants[pos++ % n_tenants];
		}
		cnt.visits++;
		if (tenant && cgroup_dir && cgroup_enter(tenant)) {
			cnt.skipped++;
			continue;
		}
		for (int k = 0; k < KINDS && !finished(end); k++)
			if (target[k])
				visit_kind(k, tenant, end, &next, interval);
	}
	n = snprintf(line, sizeof(line), "%llu %llu %llu %llu %llu %llu %llu %llu\n",
		     cnt.done[REDIS], cnt.failed[REDIS], cnt.done[HTTP], cnt.failed[HTTP],
		     cnt.done[PG], cnt.failed[PG], cnt.visits, cnt.skipped);
	if (write(out, line, n) != n)
		_exit(1);
	_exit(0);
}

static void usage(void)
{
	fprintf(stderr, "usage: loadgen [-w N] [-d SEC] [-R RATE] [-k N] [-t FILE [-g DIR] [-D]] "
			"redis=PORT|http=PORT|pg=CONNINFO...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sigaction act = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	struct counts sum = {};
	pid_t *pids;
	int opt, fds[2], alive = 0;
	FILE *in;

	while ((opt = getopt(argc, argv, "w:d:R:k:t:g:D")) != -1) {
		switch (opt) {
		case 'w': workers = atoi(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 'R': rate = atof(optarg); break;
		case 'k': per_visit = atoi(optarg); break;
		case 't': tenants_file = optarg; break;
		case 'g': cgroup_dir = optarg; break;
		case 'D': pg_db_is_tenant = 1; break;
		default: usage();
		}
	}
	for (int i = optind; i < argc; i++) {
		int k;

		for (k = 0; k < KINDS; k++) {
			size_t n = strlen(kind_names[k]);

			if (!strncmp(argv[i], kind_names[k], n) && argv[i][n] == '=') {
				target[k] = argv[i] + n + 1;
				break;
			}
		}
		if (k == KINDS)
			usage();
	}
	if (optind == argc || workers < 1 || per_visit < 1 || (cgroup_dir && !tenants_file))
		usage();
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	if (pipe(fds))
		return 1;
	pids = calloc(workers, sizeof(*pids));
	for (int w = 0; w < workers; w++) {
		pids[w] = fork();
		if (pids[w] < 0) {
			perror("loadgen: fork");
			stop = 1;
			break;
		}
		if (!pids[w]) {
			close(fds[0]);
			worker(w, fds[1]);
		}
		alive++;
	}
	close(fds[1]);
	/* A SIGTERM sent to this process alone is passed on to the workers:
	 * without SA_RESTART here, it interrupts waitpid. */
	act.sa_flags = 0;
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	for (int forwarded = 0; alive;) {
		pid_t p;

		if (stop && !forwarded) {
			for (int w = 0; w < workers; w++)
				if (pids[w] > 0)
					kill(pids[w], SIGTERM);
			forwarded = 1;
		}
		p = waitpid(-1, NULL, 0);
		if (p > 0)
			alive--;
		else if (errno != EINTR)
			break;
	}
	in = fdopen(fds[0], "r");
	for (;;) {
		unsigned long long v[8];

		if (!in || fscanf(in, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
				  &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
			break;
		for (int k = 0; k < KINDS; k++) {
			sum.done[k] += v[2 * k];
			sum.failed[k] += v[2 * k + 1];
		}
		sum.visits += v[6];
		sum.skipped += v[7];
	}
	for (int k = 0; k < KINDS; k++)
		if (target[k])
			printf("%s done %llu failed %llu\n", kind_names[k], sum.done[k], sum.failed[k]);
	printf("visits %llu skipped %llu\n", sum.visits, sum.skipped);
	return 0;
}
