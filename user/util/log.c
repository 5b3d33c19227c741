/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "util/log.h"

int log_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && log_verbose < 2)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void log_setup(int verbose)
{
	log_verbose = verbose;
	libbpf_set_print(verbose ? libbpf_print : NULL);
}

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "odtrace: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

#define LOG_FN(name, prefix, cond)			\
	void name(const char *fmt, ...)			\
	{						\
		va_list ap;				\
		if (!(cond))				\
			return;				\
		va_start(ap, fmt);			\
		vlog(prefix, fmt, ap);			\
		va_end(ap);				\
	}

LOG_FN(log_info, "", 1)
LOG_FN(log_warn, "warning: ", 1)
LOG_FN(log_error, "error: ", 1)
LOG_FN(log_debug, "debug: ", log_verbose)
