/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Route texts by id: what an event's bytes must be to be kept, the bound,
 * lookups across the table's growth. */
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "families/routes.h"

int main(void)
{
	struct routes r = { .max = 1000 };
	char text[16] = "/web/login", full[8] = "12345678", bin[16] = "/a\x80z";
	const char *got;
	int lost = 0;

	CHECK(routes__add(&r, 42, text, sizeof(text)) == ROUTES_KEPT, "a route is kept");
	got = routes__text(&r, 42);
	CHECK(got && !strcmp(got, "/web/login"), "and found by id: %s", got);
	CHECK(routes__text(&r, 43) == NULL, "another id: no text");
	CHECK(routes__add(&r, 42, "/other", 7) == ROUTES_KEPT && !strcmp(routes__text(&r, 42), "/web/login"),
	      "an id sent again keeps its first text");
	CHECK(routes__add(&r, 44, full, sizeof(full)) == ROUTES_INVALID, "no NUL within the event");
	CHECK(routes__add(&r, 45, bin, sizeof(bin)) == ROUTES_INVALID, "a byte above ASCII");
	CHECK(routes__add(&r, 46, "/a\tb", 5) == ROUTES_INVALID, "a control byte");
	CHECK(routes__add(&r, 47, "", 1) == ROUTES_INVALID, "empty");
	CHECK(routes__add(&r, 0, "/x", 3) == ROUTES_INVALID, "id 0 is no id");
	CHECK(routes__text(&r, 44) == NULL && routes__text(&r, 45) == NULL, "the invalid are not kept");

	/* grows past its first slots; full at max */
	for (uint64_t id = 100; id < 1100; id++) {
		snprintf(text, sizeof(text), "/r/%llu", (unsigned long long)id);
		lost += routes__add(&r, id * 0x9e3779b97f4a7c15ull, text, sizeof(text)) != ROUTES_KEPT;
	}
	CHECK(lost == 1 && r.n == 1000, "bounded: %d of 1000 not kept, %d kept", lost, r.n);
	got = routes__text(&r, 500 * 0x9e3779b97f4a7c15ull);
	CHECK(got && !strcmp(got, "/r/500"), "found after growth: %s", got);
	CHECK(routes__text(&r, 1099 * 0x9e3779b97f4a7c15ull) == NULL, "the one past the bound");
	CHECK(routes__add(&r, 42, "/web/login", 11) == ROUTES_KEPT, "a known one, when full");
	routes__free(&r);
	CHECK(routes__text(&r, 42) == NULL, "freed: empty");

	r.max = 2;
	routes__pin_unknown(&r, 7);
	CHECK(routes__add(&r, 7, "/late", 6) == ROUTES_KEPT && routes__text(&r, 7) == NULL,
	      "shown as unknown: a text that comes later is not taken");
	CHECK(routes__add(&r, 8, "/b", 3) == ROUTES_KEPT && r.n == 2, "a pinned id takes a place");
	routes__pin_unknown(&r, 9);
	CHECK(routes__add(&r, 9, "/c", 3) == ROUTES_FULL, "full: neither pinned nor named");
	routes__free(&r);
	return checks_done("routes");
}
