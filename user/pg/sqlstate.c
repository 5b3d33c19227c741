/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <string.h>
#include "contract/pg_abi.h"
#include "pg/sqlstate.h"

int sqlstate__unpack(uint32_t packed, char out[6])
{
	for (int i = 4; i >= 0; i--) {
		uint32_t c = packed % PG_SQLSTATE_BASE;

		if (!c)
			return out[0] = 0, -1;
		out[i] = c <= 10 ? '0' + c - 1 : 'A' + c - 11;
		packed /= PG_SQLSTATE_BASE;
	}
	out[5] = 0;
	if (packed)
		return out[0] = 0, -1;
	return 0;
}

const char *sqlstate__label(uint32_t packed, char out[6])
{
	static const char *const whole[] = { "40001", "40P01", "55P03", "57014" };

	if (sqlstate__unpack(packed, out))
		return "unknown";
	for (size_t i = 0; i < sizeof(whole) / sizeof(*whole); i++)
		if (!strcmp(out, whole[i]))
			return out;
	out[2] = 0;
	return out;
}
