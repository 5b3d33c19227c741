/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* `odtrace trace` for the events family: the session's process events, one
 * line each (time, tenant, comm, pid, what happened), and a count per
 * tenant of the exits that were not a clean exit. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "cmd/report.h"

#define TEXT_ROWS 50	/* per report; --json lists every one */

static void when(uint64_t unix_ms, char *out, size_t len)
{
	time_t t = unix_ms / 1000;
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(out, len, "%H:%M:%S", &tm);
	snprintf(out + n, len - n, ".%03u", (unsigned)(unix_ms % 1000));
}

static int clean(const struct ev_record *r)
{
	return strcmp(r->event, "exit") || (!strcmp(r->reason, "exit") && !strcmp(r->detail, "0"));
}

static void json_row(const struct ev_record *r, double secs)
{
	char at[32];
	time_t t = r->unix_ms / 1000;

	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%S", gmtime(&t));
	report__json_head("events", "process_event", secs);
	printf(",\"at\":\"%s.%03uZ\",\"tenant\":", at, (unsigned)(r->unix_ms % 1000));
	report__json_string(r->tenant);
	printf(",\"comm\":");
	report__json_string(r->comm);
	printf(",\"pid\":%u,\"event\":\"%s\",\"reason\":\"%s\",\"detail\":", r->pid, r->event,
	       r->reason);
	report__json_string(r->detail);
	printf("}\n");
}

int report__events(const struct ev_record *all, int n, uint64_t lost, int json, double secs)
{
	int printed = 0, incidents = 0;

	for (int i = 0; i < n; i++) {
		const struct ev_record *r = &all[i];
		char at[32];

		if (json) {
			json_row(r, secs);
			printed++;
			continue;
		}
		incidents += !clean(r);
		if (printed == TEXT_ROWS)
			continue;
		if (!printed)
			printf("\nprocess events (UTC; start, exec: release id; exit: cause):\n");
		when(r->unix_ms, at, sizeof(at));
		printf("  %s  %-16s %-15s %7u  %-5s %s%s%s\n", at, r->tenant, r->comm, r->pid, r->event,
		       strcmp(r->event, "exit") ? "" : r->reason,
		       strcmp(r->event, "exit") || !r->detail[0] ? "" : " ", r->detail);
		printed++;
	}
	if (!json && n > TEXT_ROWS)
		printf("  ... and %d more (--json lists every one)\n", n - TEXT_ROWS);
	if (!json && n)
		printf("  %d event%s, %d of them an exit other than exit 0\n", n, n == 1 ? "" : "s",
		       incidents);
	if (!json && lost)
		printf("  %llu more events not kept for this list (the last %d are): counted in "
		       "/metrics\n", (unsigned long long)lost, EV_LOG_MAX);
	return printed;
}
