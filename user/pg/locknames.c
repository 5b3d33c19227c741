/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdio.h>
#include "pg/locknames.h"

#define COUNT(a) ((int)(sizeof(a) / sizeof(*(a))))

/* LockTagTypeNames of lockfuncs.c: 9.5 added "spectoken", 13 inserted
 * "frozenid" at 2 (moving page and tuple), 16 appended "applytransaction". */
static const char *const types_95[] = {
	"relation", "extend", "page", "tuple", "transactionid", "virtualxid", "spectoken",
	"object", "userlock", "advisory",
};
static const char *const types_13[] = {
	"relation", "extend", "frozenid", "page", "tuple", "transactionid", "virtualxid",
	"spectoken", "object", "userlock", "advisory", "applytransaction",
};

const char *locknames__type(int major, int type, char *buf, size_t len)
{
	if (major >= 13 && type >= 0 && type < COUNT(types_13))
		return types_13[type];
	/* a 9.x server prints as 9: 9.5 and 9.6 are the ones still seen */
	if (major >= 9 && major < 13 && type >= 0 && type < COUNT(types_95))
		return types_95[type];
	snprintf(buf, len, "type%d", type);
	return buf;
}

uint32_t locknames__relation_types(int major)
{
	if (major >= 13)
		return 1u << 0 | 1u << 1 | 1u << 3 | 1u << 4;
	if (major >= 9)
		return 1u << 0 | 1u << 1 | 1u << 2 | 1u << 3;
	return 1u << 0 | 1u << 1;	/* unknown: the two that never moved */
}

const char *locknames__mode(int mode)
{
	static const char *const modes[] = {
		"NoLock", "AccessShareLock", "RowShareLock", "RowExclusiveLock",
		"ShareUpdateExclusiveLock", "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock",
		"AccessExclusiveLock",
	};

	return mode >= 0 && mode < COUNT(modes) ? modes[mode] : "unknown";
}
