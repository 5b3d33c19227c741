/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdio.h>
#include <string.h>
#include "identity/kpath.h"

static const char *const runtimes[] = { "cri-containerd-", "crio-", "docker-", "containerd-" };

/* Copies src into dst, truncated to fit. */
static void copy(char *dst, size_t len, const char *src)
{
	size_t n = 0;

	for (; n + 1 < len && src[n]; n++)
		dst[n] = src[n];
	dst[n] = '\0';
}

/* Copies the component starting at p (up to '/' or the end) into dst. */
static const char *component(const char *p, char *dst, size_t len)
{
	size_t n = strcspn(p, "/");

	snprintf(dst, len, "%.*s", (int)n, p);
	return p + n;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* "pod<uid>" or "kubepods-<qos>-pod<uid>.slice" (uid with '_' for '-'). */
static int pod_uid(const char *c, char *uid, size_t len)
{
	const char *p = !strncmp(c, "pod", 3) ? c : strstr(c, "-pod");
	char tmp[256];

	if (!p)
		return 0;
	copy(tmp, sizeof(tmp), p + (*p == '-' ? 4 : 3));
	if (ends_with(tmp, ".slice"))
		tmp[strlen(tmp) - 6] = '\0';
	copy(uid, len, tmp);
	for (char *u = uid; *u; u++)
		if (*u == '_')
			*u = '-';
	return strlen(uid) >= 32;	/* a UUID, 36 with dashes */
}

static void container_id(const char *c, char *id, size_t len)
{
	for (size_t i = 0; i < sizeof(runtimes) / sizeof(*runtimes); i++)
		if (!strncmp(c, runtimes[i], strlen(runtimes[i]))) {
			c += strlen(runtimes[i]);
			break;
		}
	char tmp[256];

	copy(tmp, sizeof(tmp), c);
	if (ends_with(tmp, ".scope"))
		tmp[strlen(tmp) - 6] = '\0';
	copy(id, len, tmp);
}

int kpath__from_proc(const char *text, char *out, size_t len)
{
	static const char *const wanted[] = { "", "memory", "cpu", "name=systemd" };

	for (size_t w = 0; w < sizeof(wanted) / sizeof(*wanted); w++) {
		for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
			/* hierarchy-id:controller,list:path */
			const char *c = strchr(line, ':'), *p = c ? strchr(c + 1, ':') : NULL;
			size_t n = p ? strcspn(p + 1, "\n") : 0;
			int match = 0;

			if (!p || !n)
				continue;
			if (!*wanted[w]) {
				match = p == c + 1 && line[0] == '0';
			} else {
				/* one of the comma-separated controllers of the line */
				for (const char *x = c + 1; x < p && !match; x += strcspn(x, ",:") + 1)
					match = (size_t)(strcspn(x, ",:")) == strlen(wanted[w]) &&
						!strncmp(x, wanted[w], strlen(wanted[w]));
			}
			if (match) {
				snprintf(out, len, "%.*s", (int)n, p + 1);
				return 0;
			}
		}
	}
	return -1;
}

int kpath__parse(const char *path, struct kpath *out)
{
	char c[256];
	int in_kubepods = 0, is_pod = 0;

	memset(out, 0, sizeof(*out));
	for (const char *p = path; *p;) {
		if (*p == '/') {
			p++;
			continue;
		}
		p = component(p, c, sizeof(c));
		if (!strcmp(c, "kubepods") || !strcmp(c, "kubepods.slice")) {
			in_kubepods = 1;
			snprintf(out->qos, sizeof(out->qos), "guaranteed");
		} else if (in_kubepods && !is_pod &&
			   (!strcmp(c, "burstable") || !strcmp(c, "kubepods-burstable.slice"))) {
			snprintf(out->qos, sizeof(out->qos), "burstable");
		} else if (in_kubepods && !is_pod &&
			   (!strcmp(c, "besteffort") || !strcmp(c, "kubepods-besteffort.slice"))) {
			snprintf(out->qos, sizeof(out->qos), "besteffort");
		} else if (in_kubepods && !is_pod) {
			is_pod = pod_uid(c, out->pod_uid, sizeof(out->pod_uid));
		} else if (is_pod && !out->container_id[0]) {
			container_id(c, out->container_id, sizeof(out->container_id));
		}
		if (ends_with(c, ".service") || (ends_with(c, ".scope") && !is_pod))
			copy(out->unit, sizeof(out->unit), c);
	}
	if (!is_pod)
		out->qos[0] = '\0';
	return is_pod;
}

int kpath__pod_dir(const char *name, const char *uid, char *ns, size_t ns_len, char *pod,
		   size_t pod_len)
{
	const char *a = strchr(name, '_'), *b = a ? strchr(a + 1, '_') : NULL;

	if (!b || strcmp(b + 1, uid))
		return 0;
	snprintf(ns, ns_len, "%.*s", (int)(a - name), name);
	snprintf(pod, pod_len, "%.*s", (int)(b - a - 1), a + 1);
	return 1;
}

int kpath__container_log(const char *name, const char *pod, const char *ns, const char *cid,
			 char *out, size_t len)
{
	char prefix[160], suffix[96];
	size_t n = strlen(name), p, s;

	snprintf(prefix, sizeof(prefix), "%.63s_%.63s_", pod, ns);
	snprintf(suffix, sizeof(suffix), "-%.80s.log", cid);
	p = strlen(prefix);
	s = strlen(suffix);
	if (n <= p + s || strncmp(name, prefix, p) || strcmp(name + n - s, suffix))
		return 0;
	snprintf(out, len, "%.*s", (int)(n - p - s), name + p);
	return 1;
}
