/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Messages for people: errors name the thing and the fix. */
#ifndef ODTRACE_LOG_H
#define ODTRACE_LOG_H

extern int log_verbose;

void log_setup(int verbose);	/* also routes libbpf output: silent unless -v */
__attribute__((format(printf, 1, 2))) void log_info(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_warn(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_error(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_debug(const char *fmt, ...);

#endif
