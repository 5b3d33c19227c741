/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* A response body shared by every response sending it, freed with the last
 * one: a snapshot's body is MiBs with thousands of series, too much to copy
 * for each reader. What /metrics and the agent's socket serve. */
#ifndef ODTRACE_BODY_H
#define ODTRACE_BODY_H

#include <microhttpd.h>
#include <pthread.h>
#include <stddef.h>

struct body {
	int refs;		/* under *lock */
	pthread_mutex_t *lock;	/* its server's */
	size_t len;
	char *data;
};

/* A body holding data (malloc'd: the body owns it now); NULL when no
 * memory, data freed then too. */
struct body *body__new(pthread_mutex_t *lock, char *data, size_t len);
/* *slot = b (NULL: none), under lock; the body it held is let go. */
void body__swap(pthread_mutex_t *lock, struct body **slot, struct body *b);
/* Queues *slot (taken under lock; may be NULL: an empty body) as c's
 * response of that status and Content-Type. */
enum MHD_Result body__reply(struct MHD_Connection *c, pthread_mutex_t *lock, struct body *const *slot,
			    unsigned int status, const char *type);
void body__put(void *b);
/* Queues data (len bytes, mode: who frees it) as c's response. */
enum MHD_Result body__send(struct MHD_Connection *c, unsigned int status, const char *type,
			   void *data, size_t len, enum MHD_ResponseMemoryMode mode);

#endif
