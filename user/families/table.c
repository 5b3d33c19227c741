/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Every probe family, in the order they are opened, harvested and shown. A
 * family used by another's open (runq by sys, pg by net) is opened first on
 * demand (families__use), so this order is presentation only. */
#include <stddef.h>
#include "families/family.h"

#define FAMILIES(X) X(pg) X(lock) X(sys) X(runq) X(net) X(events)

#define DECLARE(name) extern const struct family name##_family;
#define ROW(name) &name##_family,
FAMILIES(DECLARE)
const struct family *const family_table[] = { FAMILIES(ROW) NULL };
