/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The bearer token /metrics asks for (--listen-token-file): read from its
 * file, re-read when the file changes, compared in constant time. */
#ifndef ODTRACE_BEARER_H
#define ODTRACE_BEARER_H

#include <pthread.h>
#include <stddef.h>
#include <sys/stat.h>

#define BEARER_MAX 4096

struct bearer {
	char path[4096];	/* a copy: a SIGHUP reload frees the configuration's strings */
	pthread_mutex_t lock;
	struct stat st;		/* of the file the token was read from */
	size_t len;
	char token[BEARER_MAX];
};

/* Reads the token (the file's first line). 0, or -1 with why: the file is
 * unreadable, empty or too long. The token is never in why. */
int bearer__open(struct bearer *b, const char *path, char *why, size_t len);
/* 1 if authorization (the request's header, may be NULL) is "Bearer " and
 * the token, else 0. One stat() per call: a rotated file (a Kubernetes
 * Secret swaps a symlink) is read again; while the new one is unreadable
 * or empty, the old token stays. */
int bearer__check(struct bearer *b, const char *authorization);
void bearer__close(struct bearer *b);

#endif
