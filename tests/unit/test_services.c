/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* --service specs: what is accepted, what each value becomes, what is refused. */
#include <string.h>
#include "check.h"
#include "families/services.h"

static char seen[512];
static int budget;

static int add(void *ctx, const char *name, unsigned port, const char *comm)
{
	size_t n = strlen(seen);

	(void)ctx;
	if (!budget--)
		return 1;
	if (comm)
		snprintf(seen + n, sizeof(seen) - n, "%s/comm:%s ", name, comm);
	else
		snprintf(seen + n, sizeof(seen) - n, "%s/%u ", name, port);
	return 0;
}

static void ok(const char *spec, const char *want)
{
	char err[160] = "";
	int rc;

	seen[0] = '\0';
	budget = 100;
	rc = services__parse(spec, err, sizeof(err), add, NULL);
	CHECK(rc == 0, "%s: refused: %s", spec, err);
	CHECK(!strcmp(seen, want), "%s: got '%s', want '%s'", spec, seen, want);
}

static void bad(const char *spec, const char *why)
{
	char err[160] = "";
	int rc = services__parse(spec, err, sizeof(err), NULL, NULL);

	CHECK(rc == -1, "%s: accepted", spec);
	CHECK(strstr(err, why) != NULL, "%s: said '%s', want '%s'", spec, err, why);
}

int main(void)
{
	ok("redis=6379", "redis/6379 ");
	ok("traefik=80,443,comm:traefik", "traefik/80 traefik/443 traefik/comm:traefik ");
	ok("api=65535", "api/65535 ");
	ok("a=1,,2", "a/1 a/2 ");		/* an empty value is no value */
	bad("redis", "expected NAME=PORT");
	bad("=6379", "expected NAME=PORT");
	bad("redis=", "has no port or process name");
	bad("redis=,", "has no port or process name");
	bad("redis=0", "'0' is neither a port");
	bad("redis=65536", "'65536' is neither a port");
	bad("redis=63x9", "'63x9' is neither a port");
	bad("ingress=comm:", "1 to 15 characters");
	bad("ingress=comm:a-name-too-long-for-comm", "1 to 15 characters");
	bad("a-name-longer-than-thirty-two-chars=1", "expected NAME=PORT");
	{
		char err[160];

		budget = 1;
		seen[0] = '\0';
		CHECK(services__parse("x=1,2", err, sizeof(err), add, NULL) == -1 &&
		      strstr(err, "too many"), "a full table is refused: %s", err);
	}
	return checks_done("services");
}
