/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The kernel/user contract against what clang -target bpf built, as Tetragon's
 * alignchecker does: for each struct in bpf/contract/, its size and every
 * member's name, offset and size in the BTF of the objects that use it equal
 * sizeof/offsetof as this compiler lays it out; members are fixed-width and
 * leave no hole. The _Static_asserts in the headers pin the same numbers in
 * both compilers; this catches what they cannot see: a struct the objects
 * were built from that differs from the one userspace reads (a stale object,
 * a field the table below or the asserts miss).
 *
 * Usage: test_contract [DIR]: the objects in DIR, by default the bpf/ next to
 * this binary's directory (.output/bpf for .output/tests/test_contract).
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <linux/types.h>
#include "check.h"
#include "contract/backend_abi.h"
#include "contract/common_abi.h"
#include "contract/events_abi.h"
#include "contract/lock_abi.h"
#include "contract/net_abi.h"
#include "contract/pg_abi.h"
#include "contract/runq_abi.h"
#include "contract/sys_abi.h"
#include "contract/traced_abi.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct field {
	const char *name;
	size_t off, size;
};

struct layout {
	const char *name;
	size_t size;
	const char *objects;	/* the objects that use it: its BTF must be there */
	struct field fields[24];
};

#define F(type, f) { #f, offsetof(struct type, f), sizeof(((struct type *)0)->f) }
#define S(type, objects, ...) { #type, sizeof(struct type), objects, { __VA_ARGS__ } }

/* Every member, in order: the BTF must have these and no others. */
static const struct layout layouts[] = {
	S(hist_val, "lock net pg runq sys",
	  F(hist_val, count), F(hist_val, sum_ns), F(hist_val, max_ns)),
	S(backend_event, "lock net pg",
	  F(backend_event, pid), F(backend_event, serial), F(backend_event, cgroup_id),
	  F(backend_event, client_cgroup_id),
	  F(backend_event, title)),
	S(backend_state, "lock net pg",
	  F(backend_state, serial), F(backend_state, client), F(backend_state, pid),
	  F(backend_state, status), F(backend_state, ready), F(backend_state, pad),
	  F(backend_state, status_ns), F(backend_state, statement), F(backend_state, wait)),
	S(pg_statement, "lock net pg",
	  F(pg_statement, start_ns), F(pg_statement, last_text), F(pg_statement, messages),
	  F(pg_statement, sql_prepare), F(pg_statement, sqlstate), F(pg_statement, sk),
	  F(pg_statement, sent_ns), F(pg_statement, fd), F(pg_statement, tgid),
	  F(pg_statement, wire), F(pg_statement, text)),
	S(pg_wire, "net pg",
	  F(pg_wire, skip), F(pg_wire, hdr), F(pg_wire, have), F(pg_wire, lost),
	  F(pg_wire, statements), F(pg_wire, bound)),
	S(pg_parsed_key, "net pg",
	  F(pg_parsed_key, name), F(pg_parsed_key, serial), F(pg_parsed_key, pad)),
	S(pg_slow_event, "pg",
	  F(pg_slow_event, pid), F(pg_slow_event, serial), F(pg_slow_event, duration_ns),
	  F(pg_slow_event, text)),
	S(pg_key, "net pg",
	  F(pg_key, pid), F(pg_key, serial), F(pg_key, metric), F(pg_key, bucket),
	  F(pg_key, sqlstate)),
	S(lock_key, "lock",
	  F(lock_key, pid), F(lock_key, serial), F(lock_key, bucket), F(lock_key, kind),
	  F(lock_key, locktype), F(lock_key, mode), F(lock_key, major), F(lock_key, pad),
	  F(lock_key, tranche)),
	S(lock_rel_key, "lock",
	  F(lock_rel_key, pid), F(lock_rel_key, serial), F(lock_rel_key, dboid),
	  F(lock_rel_key, reloid)),
	S(lock_wait, "lock net pg",
	  F(lock_wait, start_ns), F(lock_wait, field1), F(lock_wait, field2),
	  F(lock_wait, locktype), F(lock_wait, mode), F(lock_wait, major),
	  F(lock_wait, relation), F(lock_wait, pad), F(lock_wait, lwlock_start_ns)),
	S(net_port, "net",
	  F(net_port, port), F(net_port, service)),
	S(net_comm, "net",
	  F(net_comm, comm), F(net_comm, service), F(net_comm, pad)),
	S(net_key, "net",
	  F(net_key, cgroup_id), F(net_key, service), F(net_key, role), F(net_key, metric),
	  F(net_key, bucket), F(net_key, pad)),
	S(net_call, "net",
	  F(net_call, fd), F(net_call, sending), F(net_call, pad), F(net_call, buf)),
	S(net_count_key, "net",
	  F(net_count_key, cgroup_id), F(net_count_key, service), F(net_count_key, pad)),
	S(net_conn, "net",
	  F(net_conn, cgroup_id), F(net_conn, start_ns), F(net_conn, born_ns),
	  F(net_conn, service), F(net_conn, role), F(net_conn, phase), F(net_conn, first),
	  F(net_conn, peeked), F(net_conn, confirmed), F(net_conn, requests), F(net_conn, route),
	  F(net_conn, pending_ns), F(net_conn, detail), F(net_conn, status), F(net_conn, proto),
	  F(net_conn, method), F(net_conn, l7), F(net_conn, kind), F(net_conn, pad),
	  F(net_conn, fd), F(net_conn, admitted), F(net_conn, tgid), F(net_conn, pad2),
	  F(net_conn, last_raw)),
	S(net_l7_key, "net",
	  F(net_l7_key, cgroup_id), F(net_l7_key, route), F(net_l7_key, detail),
	  F(net_l7_key, service), F(net_l7_key, status), F(net_l7_key, role), F(net_l7_key, proto),
	  F(net_l7_key, method), F(net_l7_key, pad), F(net_l7_key, bucket), F(net_l7_key, pad2)),
	S(net_route_key, "net",
	  F(net_route_key, cgroup_id), F(net_route_key, route), F(net_route_key, service),
	  F(net_route_key, role), F(net_route_key, pad)),
	S(net_route_event, "net",
	  F(net_route_event, route), F(net_route_event, text)),
	S(net_special_route, "net",
	  F(net_special_route, route), F(net_special_route, kind), F(net_special_route, pad),
	  F(net_special_route, text)),
	S(runq_key, "runq sys",
	  F(runq_key, cgroup_id), F(runq_key, bucket), F(runq_key, pad)),
	S(sys_key, "sys",
	  F(sys_key, cgroup_id), F(sys_key, nr), F(sys_key, mode), F(sys_key, bucket),
	  F(sys_key, pad)),
	S(sys_error_key, "sys",
	  F(sys_error_key, cgroup_id), F(sys_error_key, nr), F(sys_error_key, err),
	  F(sys_error_key, pad)),
	S(sys_worker, "sys",
	  F(sys_worker, cgroup_id), F(sys_worker, since_ns), F(sys_worker, busy_ns),
	  F(sys_worker, idle_ns), F(sys_worker, tgid), F(sys_worker, idle)),
	S(ev_proc, "events",
	  F(ev_proc, flags), F(ev_proc, killer_tgid), F(ev_proc, killer_parent),
	  F(ev_proc, killer_sig), F(ev_proc, oom), F(ev_proc, pad), F(ev_proc, pad2),
	  F(ev_proc, killer_comm)),
	S(ev_head, "events",
	  F(ev_head, ts_ns), F(ev_head, cgroup_id), F(ev_head, type), F(ev_head, tgid),
	  F(ev_head, ppid), F(ev_head, started), F(ev_head, comm)),
	S(ev_exit, "events",
	  F(ev_exit, h), F(ev_exit, code), F(ev_exit, killer_tgid), F(ev_exit, killer_parent),
	  F(ev_exit, killer_sig), F(ev_exit, oom), F(ev_exit, oom_victim), F(ev_exit, pad),
	  F(ev_exit, killer_comm)),
	S(ev_exec, "events",
	  F(ev_exec, h), F(ev_exec, ino), F(ev_exec, size), F(ev_exec, mtime_sec),
	  F(ev_exec, mtime_nsec), F(ev_exec, dev), F(ev_exec, args_len), F(ev_exec, pad),
	  F(ev_exec, filename), F(ev_exec, interp), F(ev_exec, args)),
	S(traced_task, "runq sys traced",
	  F(traced_task, cgroup_id), F(traced_task, gen), F(traced_task, traced),
	  F(traced_task, idle), F(traced_task, block_nr), F(traced_task, block_ns),
	  F(traced_task, run_delay), F(traced_task, enter_ns), F(traced_task, enter_nr),
	  F(traced_task, run_delay_known)),
	S(traced_needles, "traced",
	  F(traced_needles, word), F(traced_needles, mask), F(traced_needles, first),
	  F(traced_needles, len), F(traced_needles, n), F(traced_needles, pad)),
};

/* The objects the table names, and the hist_bounds table's users. */
static const char *const objects[] = { "check", "events", "lock", "net", "pg", "runq", "sys",
					"traced" };
static const char *const hist_objects = "lock net pg runq sys";

static int nfields(const struct layout *l)
{
	int n = 0;

	while (n < (int)ARRAY_SIZE(l->fields) && l->fields[n].name)
		n++;
	return n;
}

static int listed(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += len)
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || !p[len]))
			return 1;
	return 0;
}

static const struct btf_type *skip_mods(const struct btf *btf, __u32 *id)
{
	const struct btf_type *t = btf__type_by_id(btf, *id);

	while (t && (btf_is_const(t) || btf_is_volatile(t))) {
		*id = t->type;
		t = btf__type_by_id(btf, *id);
	}
	return t;
}

/*
 * A member's type is fixed-width: __u8..__s64 (through arrays), char for
 * text, or another contract struct. Not bool, long, pid_t, an enum.
 */
static int fixed_width(const struct btf *btf, __u32 id, char *why, size_t len)
{
	const struct btf_type *t = skip_mods(btf, &id);
	const char *name;

	while (t && btf_is_array(t)) {
		id = btf_array(t)->type;
		t = skip_mods(btf, &id);
	}
	if (!t) {
		snprintf(why, len, "type %u not in BTF", id);
		return 0;
	}
	name = btf__name_by_offset(btf, t->name_off);
	if (btf_is_typedef(t)) {
		static const char *const ok[] = { "__u8", "__s8", "__u16", "__s16",
						  "__u32", "__s32", "__u64", "__s64" };

		for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
			if (!strcmp(name, ok[i]))
				return 1;
	} else if (btf_is_int(t) && !strcmp(name, "char")) {
		return 1;
	} else if (btf_is_struct(t)) {
		for (size_t i = 0; i < ARRAY_SIZE(layouts); i++)
			if (!strcmp(name, layouts[i].name))
				return 1;
	}
	snprintf(why, len, "%s %s", btf_is_typedef(t) ? "typedef" : btf_is_int(t) ? "int"
		 : btf_is_struct(t) ? "struct" : btf_is_enum(t) ? "enum" : "kind", name);
	return 0;
}

/* One struct in one object's BTF against userspace's layout. */
static void check_layout(const struct btf *btf, const char *obj, const struct layout *l, int id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_member *m = btf_members(t);
	int n = nfields(l), vlen = btf_vlen(t);
	size_t end = 0;

	CHECK(t->size == l->size, "%s: struct %s is %u bytes in BTF, sizeof %zu", obj, l->name,
	      t->size, l->size);
	CHECK(vlen == n, "%s: struct %s has %d members in BTF, %d in the table", obj, l->name,
	      vlen, n);
	for (int i = 0; i < vlen && i < n; i++, m++) {
		const struct field *f = &l->fields[i];
		const char *name = btf__name_by_offset(btf, m->name_off);
		__u32 bits = btf_member_bit_offset(t, i);
		__s64 size = btf__resolve_size(btf, m->type);
		char why[64];

		CHECK(!strcmp(name, f->name), "%s: struct %s member %d is %s in BTF, %s here", obj,
		      l->name, i, name, f->name);
		CHECK(!btf_member_bitfield_size(t, i) && bits == f->off * 8 && size == (__s64)f->size,
		      "%s: %s.%s at bit %u, %lld bytes in BTF; offsetof %zu, sizeof %zu", obj, l->name,
		      f->name, bits, (long long)size, f->off, f->size);
		CHECK(f->off == end, "%s.%s at %zu: a hole after %zu, pad it explicitly", l->name,
		      f->name, f->off, end);
		CHECK(fixed_width(btf, m->type, why, sizeof(why)), "%s.%s: %s is not fixed-width",
		      l->name, f->name, why);
		end = f->off + f->size;
	}
	CHECK(end == l->size, "struct %s: %zu bytes of tail padding, pad it explicitly", l->name,
	      l->size - end);
}

/* .rodata's hist_bounds: the HIST_BUCKETS - 1 __u64 userspace fills (hist__bounds). */
static void check_hist_bounds(const struct btf *btf, const char *obj)
{
	int id = btf__find_by_name_kind(btf, "hist_bounds", BTF_KIND_VAR);
	const struct btf_type *t;
	__u32 tid;

	CHECK(id > 0, "%s: no hist_bounds in BTF", obj);
	if (id <= 0)
		return;
	tid = btf__type_by_id(btf, id)->type;
	t = skip_mods(btf, &tid);
	CHECK(t && btf_is_array(t) && btf_array(t)->nelems == HIST_BUCKETS - 1 &&
	      btf__resolve_size(btf, btf_array(t)->type) == sizeof(__u64),
	      "%s: hist_bounds is not __u64[HIST_BUCKETS - 1]", obj);
}

static void check_object(const char *dir, const char *obj, int seen[])
{
	char path[PATH_MAX];
	struct btf *btf;

	errno = ENAMETOOLONG;
	btf = NULL;
	if (snprintf(path, sizeof(path), "%s/%s.bpf.o", dir, obj) < (int)sizeof(path))
		btf = btf__parse(path, NULL);
	CHECK(btf, "%s: no BTF (%s)", path, strerror(errno));
	if (!btf)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(layouts); i++) {
		const struct layout *l = &layouts[i];
		int id = btf__find_by_name_kind(btf, l->name, BTF_KIND_STRUCT);

		if (id > 0) {
			check_layout(btf, obj, l, id);
			seen[i]++;
		} else {
			CHECK(!listed(l->objects, obj), "%s: struct %s not in its BTF", obj, l->name);
		}
	}
	if (listed(hist_objects, obj))
		check_hist_bounds(btf, obj);
	btf__free(btf);
}

int main(int argc, char **argv)
{
	char dir[PATH_MAX], exe[PATH_MAX];
	int seen[ARRAY_SIZE(layouts)] = { 0 };
	ssize_t n;

	if (argc > 1) {
		snprintf(dir, sizeof(dir), "%s", argv[1]);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
		snprintf(dir, sizeof(dir), "%s/../bpf", dirname(exe));
	}
	for (size_t i = 0; i < ARRAY_SIZE(objects); i++)
		check_object(dir, objects[i], seen);

	/* Every table entry was found somewhere, and every object built was read. */
	for (size_t i = 0; i < ARRAY_SIZE(layouts); i++)
		CHECK(seen[i], "struct %s in no object's BTF", layouts[i].name);
	DIR *d = opendir(dir);

	CHECK(d, "%s: %s", dir, strerror(errno));
	for (struct dirent *e; d && (e = readdir(d));) {
		size_t len = strlen(e->d_name), known = 0;

		if (len < 7 || strcmp(e->d_name + len - 6, ".bpf.o"))
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(objects); i++)
			known |= strlen(objects[i]) == len - 6 &&
				 !strncmp(e->d_name, objects[i], len - 6);
		CHECK(known, "%s/%s: an object this test does not read; add it to objects[]", dir,
		      e->d_name);
	}
	if (d)
		closedir(d);
	return checks_done("test_contract");
}
