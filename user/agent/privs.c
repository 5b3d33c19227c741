/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include "agent/config.h"
#include "agent/privs.h"
#include "families/family.h"
#include "util/log.h"

/* Which families need a capability: every one, or those with these needs
 * (families/family.h): uprobes on PostgreSQL binaries are NEEDS_BACKENDS. */
#define ANY_FAMILY (~0u)
#define PG_FAMILIES NEEDS_BACKENDS

/*
 * Which families need each capability to load and attach (start), and which
 * still need it once attached (run), found by dropping one at a time on
 * Linux 6.18 and watching what failed (README "Securing the endpoint" has
 * the table). CAP_SYS_ADMIN would also do for CAP_BPF and CAP_PERFMON;
 * they are listed so that a deployment without it, for sys, runq and net,
 * still starts. Mounting tracefs when it is absent needs CAP_SYS_ADMIN too,
 * at start only: deployments mount the host's.
 */
static const struct need {
	cap_value_t cap;
	unsigned start, run;
	const char *why;
} needs[] = {
	{ CAP_BPF, ANY_FAMILY, 0, "bpf(): creates the maps and loads the programs, at start only" },
	{ CAP_PERFMON, ANY_FAMILY, 0, "tracepoints and tracing programs, attached at start only" },
	{ CAP_SYS_ADMIN, PG_FAMILIES, PG_FAMILIES,
	  "uprobes on PostgreSQL binaries found while running (Linux 6.16 and later require it "
	  "for the uprobe PMU)" },
	{ CAP_SYS_PTRACE, PG_FAMILIES | NEEDS_PROC_FILES, PG_FAMILIES | NEEDS_PROC_FILES,
	  "/proc/PID/exe and /proc/PID/root of PostgreSQL servers of other users and containers, "
	  "found while running; /proc/PID/exe and /proc/PID/cwd of the programs watched processes "
	  "exec (events: release ids)" },
	{ CAP_DAC_READ_SEARCH, ANY_FAMILY, ANY_FAMILY,
	  "open_by_handle_at(): names the cgroups that appear while running (of PostgreSQL "
	  "backends too, which may have exited by then), from their ids" },
};
#define N_NEEDS (sizeof(needs) / sizeof(needs[0]))

static unsigned families_of(unsigned which)
{
	return which == ANY_FAMILY ? family__all() : family__needing(which);
}

int privs__has(int cap)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t c = cap_get_proc();

	if (c)
		cap_get_flag(c, cap, CAP_EFFECTIVE, &v);
	cap_free(c);
	return v == CAP_SET;
}

static int can_bpf(unsigned families, char *why, size_t len)
{
	int admin = privs__has(CAP_SYS_ADMIN);
	int bpf = admin || privs__has(CAP_BPF);
	int perfmon = admin || privs__has(CAP_PERFMON);

	if (!bpf || !perfmon) {
		snprintf(why, len, "odtrace needs CAP_BPF and CAP_PERFMON (it loads eBPF programs); this "
			 "process lacks %s%s%s: %s", bpf ? "" : "CAP_BPF", !bpf && !perfmon ? " and " : "",
			 perfmon ? "" : "CAP_PERFMON",
			 geteuid() ? "run it with sudo" :
			 "it is root, but its capabilities were dropped (capsh, setpriv, systemd's "
			 "CapabilityBoundingSet, a container's securityContext): grant those two");
		return -1;
	}
	/* What works without the others, said once rather than found out
	 * from empty metrics (README "Deploying" has the table); only for
	 * the families asked for. */
	if (!admin && (families & family__needing(PG_FAMILIES)))
		log_warn("no CAP_SYS_ADMIN: pg and lock cannot attach their uprobes on kernels that "
			 "require it for the uprobe PMU (Linux 6.16 and later); sys, runq, net and "
			 "events do not need it");
	if (!privs__has(CAP_DAC_READ_SEARCH))
		log_warn("no CAP_DAC_READ_SEARCH: cgroups cannot be opened by id, so sys, runq and net "
			 "cannot name them and record nothing");
	if (!privs__has(CAP_SYS_PTRACE) && (families & family__needing(PG_FAMILIES)))
		log_warn("no CAP_SYS_PTRACE: PostgreSQL servers of other users and containers "
			 "(/proc/PID/root) are not found");
	if (!privs__has(CAP_SYS_PTRACE) && (families & family__needing(NEEDS_PROC_FILES)))
		log_warn("no CAP_SYS_PTRACE: events' release ids cannot read scripts given by "
			 "relative paths (/proc/PID/cwd)");
	return 0;
}

static int has_btf(void)
{
	return access("/sys/kernel/btf/vmlinux", R_OK) ? -errno : 0;
}

int privs__preflight(unsigned families)
{
	char why[320];

	if (can_bpf(families, why, sizeof(why))) {
		log_error("%s", why);
		return 1;
	}
	if (has_btf()) {
		log_error("this kernel has no BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF=y is "
			  "needed for odtrace's CO-RE programs)");
		return 1;
	}
	return 0;
}

/* "CAP_SYS_ADMIN", as the man pages and the README spell it. */
static const char *cap_name(cap_value_t cap, char *buf, size_t len)
{
	char *name = cap_to_name(cap);

	snprintf(buf, len, "%s", name ? name : "?");
	cap_free(name);
	for (char *p = buf; *p; p++)
		*p = *p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p;
	return buf;
}

void privs__list(FILE *out, unsigned families, int start)
{
	int first = 1;

	for (size_t i = 0; i < N_NEEDS; i++) {
		char name[32];

		if (!(families_of(start ? needs[i].start : needs[i].run) & families))
			continue;
		fprintf(out, "%s%s", first ? "" : " ", cap_name(needs[i].cap, name, sizeof(name)));
		first = 0;
	}
}

/* Every capability but keep out of the bounding set, which takes
 * CAP_SETPCAP: without it (a DaemonSet grants only what the agent uses) the
 * bounding set stays as granted, and no_new_privs with an empty inheritable
 * set still keeps an exec from gaining anything back. */
static int drop_bounding(const cap_value_t *keep, int n_keep)
{
	if (!privs__has(CAP_SETPCAP)) {
		log_debug("privileges: no CAP_SETPCAP, so the bounding set stays as granted");
		return 0;
	}
	for (cap_value_t c = 0; c < cap_max_bits(); c++) {
		int kept = 0;

		for (int i = 0; i < n_keep; i++)
			kept |= keep[i] == c;
		if (!kept && cap_get_bound(c) == 1 && cap_drop_bound(c)) {
			char name[32];

			log_error("cannot drop %s from the bounding set: %s", cap_name(c, name, sizeof(name)),
				  strerror(errno));
			return -1;
		}
	}
	return 0;
}

int privs__drop(unsigned families)
{
	cap_value_t keep[N_NEEDS];
	char names[256] = "";
	int n_keep = 0, err = -1;
	cap_t now = cap_get_proc(), next = cap_init();

	if (!now || !next) {
		log_error("cannot read this process's capabilities: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < N_NEEDS; i++) {
		cap_flag_value_t held = CAP_CLEAR;
		char name[32];

		cap_get_flag(now, needs[i].cap, CAP_PERMITTED, &held);
		if (!(families_of(needs[i].run) & families) || held != CAP_SET)
			continue;
		keep[n_keep++] = needs[i].cap;
		cap_name(needs[i].cap, name, sizeof(name));
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 n_keep > 1 ? ", " : "", name);
		log_debug("privileges: keeping %s: %s", name, needs[i].why);
	}
	if (drop_bounding(keep, n_keep))
		goto out;
	if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient()) {
		log_error("cannot clear the ambient capabilities: %s", strerror(errno));
		goto out;
	}
	if ((n_keep && (cap_set_flag(next, CAP_PERMITTED, n_keep, keep, CAP_SET) ||
			cap_set_flag(next, CAP_EFFECTIVE, n_keep, keep, CAP_SET))) ||
	    cap_set_proc(next)) {
		log_error("cannot drop the capabilities the agent no longer needs: %s", strerror(errno));
		goto out;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		log_error("cannot set no_new_privs: %s", strerror(errno));
		goto out;
	}
	if (n_keep)
		log_info("attached; dropped every capability but %s (-v says why); no_new_privs set",
			 names);
	else
		log_info("attached; dropped every capability; no_new_privs set");
	err = 0;
out:
	cap_free(now);
	cap_free(next);
	return err;
}
