/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* What a USDT probe hit costs here (a uprobe on a nop): the pg family's
 * default hooks take two per statement, and in some virtualized guests a
 * hit costs µs. */
#ifndef ODTRACE_TRAPCOST_H
#define ODTRACE_TRAPCOST_H

/* From which cost of a hit check and the agent suggest --pg-hooks socket.
 * On this project's VM a hit costs 5-6 µs and the default agent held
 * pgbench -S at 0.76 of agent-off; without an exception round trip through
 * a hypervisor a hit costs well under 1 µs. */
#define TRAPCOST_SLOW_US 1.0

/* µs one hit adds to a call, measured now (~10 ms here), or -1 if the
 * probe could not be loaded or attached (errno says why). */
double trapcost__us(void);

#endif
