/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "contract/backend_abi.h"
#include "families/backend.h"
#include "identity/tenant.h"
#include "pg/pgtitle.h"
#include "util/clock.h"
#include "util/grow.h"
#include "util/log.h"

/* The maps every family's object declares (bpf/lib/backend.bpf.h). */
static const char *const shared_maps[] = { "backends", "backend_events", "backend_serial",
					    "backend_peers" };
#define N_SHARED (sizeof(shared_maps) / sizeof(shared_maps[0]))

struct backends {
	int fds[N_SHARED];	/* -1 until a family adopted */
	struct ring_buffer *events;
	int settling;
	/* backends__sync calls so far, and the count at the tick's first one:
	 * a backend found dead later than that may have entries a family
	 * that harvested earlier in the tick has not read yet */
	unsigned syncs, tick_first_sync;
	int in_tick;
	void *by_serial;	/* tsearch tree of struct backend * */
	struct backend **all;
	int n, cap;
};

static int cmp_serial(const void *a, const void *b)
{
	uint32_t x = ((const struct backend *)a)->serial, y = ((const struct backend *)b)->serial;

	return x < y ? -1 : x > y;
}

static unsigned long long proc_starttime(uint32_t pid)
{
	unsigned long long t = 0;
	char path[64], buf[1024], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')'))) {
		/* after "pid (comm)": state is field 3, starttime field 22 */
		if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			   &t) != 1)
			t = 0;
	}
	fclose(f);
	return t;
}

/* The identity of the backend's client when it runs on this node: over a
 * UNIX socket, unix_cgroup_id (the kernel read its socket's at the
 * announcement); over TCP, as pg_client_state saw it connect. 1, or 0 when
 * not known. */
static int client_identity(const struct backends *r, const char *title, uint64_t unix_cgroup_id,
			   struct identity *out)
{
	struct backend_peer key = {};
	uint64_t cgroup_id = unix_cgroup_id;
	unsigned char a[16];
	char host[128];
	unsigned port;

	if (cgroup_id)
		goto found;
	if (r->fds[3] < 0 || pgtitle__client(title, host, sizeof(host), &port))
		return 0;
	key.port = port;
	if (inet_pton(AF_INET, host, a) == 1) {
		memcpy(key.addr, a, 4);
		key.family = AF_INET;
	} else if (inet_pton(AF_INET6, host, a) == 1) {
		/* an IPv4 client of a dual-stack socket: as the kernel keys it */
		static const unsigned char v4mapped[12] = { [10] = 0xff, [11] = 0xff };
		int mapped = !memcmp(a, v4mapped, sizeof(v4mapped));

		memcpy(key.addr, mapped ? a + 12 : a, mapped ? 4 : 16);
		key.family = mapped ? AF_INET : AF_INET6;
	} else {
		return 0;	/* a name (log_hostname): not looked up */
	}
	if (bpf_map_lookup_elem(r->fds[3], &key, &cgroup_id) || !cgroup_id)
		return 0;
found:
	identity__get(cgroup_id, out);
	return out->cgroup[0] != '\0';
}

/* What tenant rules match on, of a process with identity id (and db). */
static struct tenant_labels labels_of(const struct identity *id, const char *db)
{
	return (struct tenant_labels){ .v = {
		[TL_NAMESPACE] = id->namespace, [TL_POD] = id->pod, [TL_CONTAINER] = id->container,
		[TL_CGROUP] = id->cgroup, [TL_DATABASE] = db,
	} };
}

static void name_tenant(struct backend *b, const struct identity *client)
{
	struct tenant_labels l = labels_of(&b->id, b->database);
	struct tenant_labels c = client ? labels_of(client, "") : (struct tenant_labels){};
	int by_client;

	if (tenant__name_backend(&l, client ? &c : NULL, b->tenant, sizeof(b->tenant), &by_client)) {
		memset(&b->id, 0, sizeof(b->id));
		snprintf(b->label_db, sizeof(b->label_db), "other");
	} else {
		snprintf(b->label_db, sizeof(b->label_db), "%s", b->database);
	}
	log_debug("backend %u: tenant %s, by %s", b->pid, b->tenant,
		  by_client ? "its client's cgroup" : "its own labels");
}

/* cgroup_id 0: not from the kernel; client_cgroup_id: a [local] backend's
 * client's, 0 if not known. */
static struct backend *add(struct backends *r, uint32_t serial, uint32_t pid, uint64_t cgroup_id,
			   uint64_t client_cgroup_id, const char *title)
{
	struct backend *b, **found;
	struct identity client;

	if (grow(&r->all, r->n, &r->cap))
		return NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	if (pgtitle__parse(title, b->user, sizeof(b->user), b->database, sizeof(b->database))) {
		log_debug("pid %u is not a client backend: \"%s\"", pid, title);
		free(b);
		return NULL;
	}
	b->serial = serial;
	b->pid = pid;
	b->walsender = pgtitle__walsender(title);
	/* The kernel's cgroup id is where the backend was at its first event;
	 * /proc is for the ones whose announcement was lost. */
	if (cgroup_id)
		identity__get(cgroup_id, &b->id);
	if (!b->id.cgroup[0])
		identity__of_pid(pid, &b->id);
	name_tenant(b, client_identity(r, title, client_cgroup_id, &client) ? &client : NULL);
	b->starttime = proc_starttime(pid);
	b->dead = !b->starttime;	/* exited before we heard of it */
	b->dead_sync = r->syncs;
	b->fresh = r->settling;
	found = tsearch(b, &r->by_serial, cmp_serial);
	if (!found || *found != b) {
		free(b);
		return found ? *found : NULL;
	}
	r->all[r->n++] = b;
	return b;
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct backend_event *e = data;
	char title[BACKEND_TITLE_LEN + 1];

	if (len < sizeof(*e))
		return 0;
	memcpy(title, e->title, BACKEND_TITLE_LEN);
	title[BACKEND_TITLE_LEN] = '\0';
	add(ctx, e->serial, e->pid, e->cgroup_id, e->client_cgroup_id, title);
	return 0;
}

int backends__open(struct backends **out)
{
	struct backends *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < N_SHARED; i++)
		r->fds[i] = -1;
	*out = r;
	return 0;
}

static int share(struct backends *r, struct bpf_object *obj)
{
	for (size_t i = 0; i < N_SHARED && r->fds[i] >= 0; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, shared_maps[i]);
		int err = m ? bpf_map__reuse_fd(m, r->fds[i]) : -ENOENT;

		if (err)
			return err;
	}
	return 0;
}

static int adopt(struct backends *r, struct bpf_object *obj)
{
	if (r->fds[0] >= 0)
		return 0;
	for (size_t i = 0; i < N_SHARED; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, shared_maps[i]);

		r->fds[i] = m ? dup(bpf_map__fd(m)) : -1;
		if (r->fds[i] < 0)
			return -ENOENT;
	}
	r->events = ring_buffer__new(r->fds[1], on_event, r, NULL);
	return r->events ? 0 : -errno;
}

int backends__load(struct backends *r, struct bpf_object_skeleton *skel, const char *family)
{
	int err = share(r, *skel->obj);

	if (!err)
		err = bpf_object__load_skeleton(skel);
	if (err) {
		log_error("cannot load the %s programs: %s (run `odtrace check`; -v shows the verifier log)",
			  family, strerror(-err));
		return err;
	}
	err = adopt(r, *skel->obj);
	if (err)
		log_error("%s: no backend identity maps: %s", family, strerror(-err));
	return err;
}

int backends__add_ring(struct backends *r, int fd, int (*fn)(void *ctx, void *data, size_t len),
		       void *ctx)
{
	return r->events ? ring_buffer__add(r->events, fd, fn, ctx) : -ENOENT;
}

int backends__poll(struct backends *r, int timeout_ms)
{
	return r->events ? ring_buffer__poll(r->events, timeout_ms) : -1;
}

int backends__poll_fd(struct backends *r)
{
	return r && r->events ? ring_buffer__epoll_fd(r->events) : -1;
}

void backends__sync(struct backends *r)
{
	r->syncs++;
	if (!r->in_tick) {
		r->in_tick = 1;
		r->tick_first_sync = r->syncs;
	}
	if (r->events)
		ring_buffer__consume(r->events);
	/* Deaths decided before the family reads: a dead backend's entries are final. */
	for (int i = 0; i < r->n; i++) {
		struct backend *b = r->all[i];

		if (!b->dead && proc_starttime(b->pid) != b->starttime) {
			b->dead = 1;
			b->dead_sync = r->syncs;
		}
	}
}

/* A backend announces itself before it creates its first entry, so a second
 * look at the ring names every entry just read; the ones named now are read
 * as live this time, whatever their state. */
void backends__settle(struct backends *r)
{
	r->settling = 1;
	if (r->events)
		ring_buffer__consume(r->events);
	r->settling = 0;
}

const struct backend *backends__find(struct backends *r, uint32_t serial, uint32_t pid)
{
	struct backend probe = { .serial = serial }, **found;
	char path[64], title[BACKEND_TITLE_LEN + 1] = "";
	FILE *f;

	found = tfind(&probe, &r->by_serial, cmp_serial);
	if (found)
		return *found;
	/* Its announcement was lost: ask /proc while it lives. */
	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	if (!fgets(title, sizeof(title), f))
		title[0] = '\0';
	fclose(f);
	return add(r, serial, pid, 0, 0, title);
}

void backends__forget(struct backends *r)
{
	int k = 0;

	for (int i = 0; i < r->n; i++) {
		struct backend *b = r->all[i];

		/* Forgotten once every family has read its map since it died: one
		 * that died (or was first heard of, dead) at a later family's sync
		 * waits a tick, or the earlier families would find its entries
		 * unnamed next time (a backend living a few ms, inside one tick). */
		if (backends__final(b) && b->dead_sync <= r->tick_first_sync) {
			tenant__unref(b->tenant, clock__ms());
			tdelete(b, &r->by_serial, cmp_serial);
			free(b);
			continue;
		}
		b->fresh = 0;
		r->all[k++] = b;
	}
	r->n = k;
	r->in_tick = 0;
}

int backends__list(struct backends *r, struct backend *const **out)
{
	*out = r->all;
	return r->n;
}

int backends__state(struct backends *r, const struct backend *b, struct backend_state *out)
{
	int pidfd, err;

	if (r->fds[0] < 0 || b->dead)
		return -ENOENT;
	/* Task storage is keyed by pidfd from userspace. A pid reused since the
	 * backend exited has no state, or one with another serial. */
	pidfd = syscall(SYS_pidfd_open, b->pid, 0);
	if (pidfd < 0)
		return -errno;
	err = bpf_map_lookup_elem(r->fds[0], &pidfd, out) ? -errno : 0;
	close(pidfd);
	if (!err && out->serial != b->serial)
		err = -ESRCH;
	return err;
}

static void free_nothing(void *p)
{
	(void)p;	/* the array owns the nodes */
}

void backends__close(struct backends *r)
{
	if (!r)
		return;
	ring_buffer__free(r->events);
	for (size_t i = 0; i < N_SHARED; i++)
		if (r->fds[i] >= 0)
			close(r->fds[i]);
	for (int i = 0; i < r->n; i++)
		free(r->all[i]);
	tdestroy(r->by_serial, free_nothing);
	free(r->all);
	free(r);
}
