/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "http/accept.h"

/* s without the blanks around it (s is written to). */
static char *trim(char *s)
{
	char *e;

	s += strspn(s, " \t");
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

int accept__prefers_proto(const char *accept)
{
	double proto = 0, text = 0;
	const char *next;
	char buf[256];

	for (const char *s = accept; s && *s; s = next) {
		size_t n = strcspn(s, ",");
		char *rest = buf, *type, *param;
		int family = 0, delimited = 0;
		double q = 1;

		next = s[n] ? s + n + 1 : s + n;
		if (n >= sizeof(buf))
			continue;
		memcpy(buf, s, n);
		buf[n] = '\0';
		type = trim(strsep(&rest, ";"));
		while ((param = strsep(&rest, ";"))) {
			char *v = strchr(param, '=');
			size_t len;

			if (!v)
				continue;
			*v++ = '\0';
			param = trim(param);
			v = trim(v);
			len = strlen(v);
			if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
				v[len - 1] = '\0';
				v++;
			}
			if (!strcasecmp(param, "q"))
				q = strtod(v, NULL);
			else if (!strcasecmp(param, "proto"))
				family = !strcmp(v, "io.prometheus.client.MetricFamily");
			else if (!strcasecmp(param, "encoding"))
				delimited = !strcmp(v, "delimited");
		}
		if (!strcasecmp(type, "application/vnd.google.protobuf") && family && delimited) {
			if (q > proto)
				proto = q;
		} else if (!strcasecmp(type, "text/plain") || !strcasecmp(type, "text/*") ||
			   !strcmp(type, "*/*")) {
			if (q > text)
				text = q;
		}
	}
	return proto > 0 && proto >= text;
}
