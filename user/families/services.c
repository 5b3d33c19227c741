/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "contract/net_abi.h"
#include "families/services.h"

const char *const services__defaults[] = {
	"postgresql=5432", "redis=6379", "odoo=8069,8072", "traefik=80,443,8080,8443,comm:traefik",
	NULL,
};

int services__parse(const char *spec, char *err, size_t len, services_add_fn *add, void *ctx)
{
	char buf[256], *eq, *save = NULL;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", spec);
	eq = strchr(buf, '=');
	if (!eq || eq == buf || eq - buf >= 32) {
		snprintf(err, len, "expected NAME=PORT[,PORT|comm:PROCESS...], e.g. redis=6379");
		return -1;
	}
	*eq = '\0';
	for (char *v = strtok_r(eq + 1, ",", &save); v; v = strtok_r(NULL, ",", &save), n++) {
		char *end;
		unsigned long port;

		if (!strncmp(v, "comm:", 5)) {
			if (!v[5] || strlen(v + 5) > 15) {
				snprintf(err, len, "'%s': a process name has 1 to 15 characters", v);
				return -1;
			}
			if (add && add(ctx, buf, 0, v + 5))
				goto full;
			continue;
		}
		port = strtoul(v, &end, 10);
		if (*end || !port || port > 65535) {
			snprintf(err, len, "'%s' is neither a port (1-65535) nor comm:PROCESS", v);
			return -1;
		}
		if (add && add(ctx, buf, port, NULL))
			goto full;
	}
	if (!n) {
		snprintf(err, len, "%s has no port or process name", buf);
		return -1;
	}
	return 0;
full:
	snprintf(err, len, "too many services, ports or process names (at most %d, %d, %d)",
		 NET_SERVICES, NET_PORTS, NET_COMMS);
	return -1;
}
