/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The YAML configuration file (--config): every key is also a flag, and a
 * flag wins over the file. */
#ifndef ODTRACE_CONFIG_H
#define ODTRACE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "families/settings.h"

#define CONFIG_GRACE_MS (5 * 60 * 1000)
#define CONFIG_FLUSH_MS 5000		/* the last export at exit */

/* Validates a value of a family's key as the file would (section "pg", key
 * "hooks"), for the flag that sets it: 0, or -1 with why (no value in it). */
int config__check(const char *section, const char *key, const char *value, char *why, size_t len);

/*
 * Reads path into c and installs its tenant rules, all or nothing: on any
 * error nothing is applied (the rules and strings of the file loaded before
 * stay), and err says "path:line:column: what". The strings stay valid
 * until config__release (those of the files loaded before this one) or
 * config__free.
 */
int config__load(const char *path, struct config *c, char *err, size_t len);
/* "0".."3", the scale of /metrics' classic buckets, as the fine buckets
 * each holds (1 << (3 - scale)) into *step; -1 for anything else. */
int config__classic_step(const char *s, int *step);
/* Fills what dst left unset from src (flags first, then the file). */
void config__merge(struct config *dst, const struct config *src);
/* The effective configuration as YAML, defaults included. */
void config__print(const struct config *c, FILE *out);
/* A copy of s that lives as long as the last file loaded (NULL: NULL). */
const char *config__own(const char *s);
/* Frees the strings of the files loaded before the last one. */
void config__release(void);
void config__free(void);

#endif
