/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* PostgreSQL client backends, named from the kernel's announcements: the
 * registry every PostgreSQL family resolves its (pid, serial) keys with. */
#ifndef ODTRACE_USER_BACKEND_H
#define ODTRACE_USER_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include "identity/identity.h"

struct bpf_object;
struct backends;

struct backend {
	uint32_t serial;
	uint32_t pid;
	unsigned long long starttime;	/* /proc/PID/stat field 22: tells pid reuse apart */
	int dead;
	unsigned dead_sync;	/* backends__sync calls when it was found dead */
	int fresh;	/* named after the current harvest read its map */
	int walsender;	/* a replication connection (pgtitle__walsender): no session */
	char user[64];
	char database[64];
	struct identity id;	/* its cgroup, and pod where Kubernetes runs it */
	char tenant[64];	/* by the tenant rules (tenant.h) */
	/* The database as series show it: "other", like every raw label, when
	 * the tenant bound folded this backend. */
	char label_db[64];
};

int backends__open(struct backends **out);
struct bpf_object_skeleton;
/* Loads a family's skeleton on the registry's shared maps (the first family
 * loaded provides them); says why it failed. */
int backends__load(struct backends *r, struct bpf_object_skeleton *skel, const char *family);
/* Another ring of a family's, handled wherever the announcements are (by
 * backends__poll and backends__sync): its events name backends. */
int backends__add_ring(struct backends *r, int fd, int (*fn)(void *ctx, void *data, size_t len),
		       void *ctx);
/* Handles announcements for up to timeout_ms; -1 before any family adopted. */
int backends__poll(struct backends *r, int timeout_ms);
/* An fd readable when the rings have events (families__poll); -1: none. */
int backends__poll_fd(struct backends *r);

/*
 * A family's harvest, in this order, keeps exited backends' entries from
 * being lost or counted twice:
 *   backends__sync     names announced backends, notes which ones exited;
 *   (read the family's maps in one pass)
 *   backends__settle   names backends announced meanwhile (fresh: read as live);
 *   backends__find     per entry; backends__final says its entry will not
 *                      change again: fold it and delete it from the map.
 * backends__forget, once per tick after every family, lets the exited go.
 */
void backends__sync(struct backends *r);
void backends__settle(struct backends *r);
/* The backend with that serial; one never announced (its event was dropped)
 * is looked up in /proc while it lives. NULL: it cannot be named. */
const struct backend *backends__find(struct backends *r, uint32_t serial, uint32_t pid);
static inline int backends__final(const struct backend *b) { return b->dead && !b->fresh; }
void backends__forget(struct backends *r);
/* The backends known now (exited ones until backends__forget). */
int backends__list(struct backends *r, struct backend *const **out);
/* The kernel's state of a live backend (struct backend_state, read by
 * pidfd from the shared task storage); -errno if it has none or is gone. */
struct backend_state;
int backends__state(struct backends *r, const struct backend *b, struct backend_state *out);
void backends__close(struct backends *r);

#endif
