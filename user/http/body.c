/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdlib.h>
#include "http/body.h"

struct body *body__new(pthread_mutex_t *lock, char *data, size_t len)
{
	struct body *b = malloc(sizeof(*b));

	if (!b) {
		free(data);
		return NULL;
	}
	*b = (struct body){ .refs = 1, .lock = lock, .len = len, .data = data };
	return b;
}

void body__put(void *cls)
{
	struct body *b = cls;
	int last;

	pthread_mutex_lock(b->lock);
	last = !--b->refs;
	pthread_mutex_unlock(b->lock);
	if (last) {
		free(b->data);
		free(b);
	}
}

void body__swap(pthread_mutex_t *lock, struct body **slot, struct body *b)
{
	struct body *old;

	pthread_mutex_lock(lock);
	old = *slot;
	*slot = b;
	pthread_mutex_unlock(lock);
	if (old)
		body__put(old);
}

/* Queues r as c's response and lets go of it (the connection holds it). */
static enum MHD_Result queue(struct MHD_Connection *c, struct MHD_Response *r, unsigned int status,
			     const char *type)
{
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", type);
	/* /metrics answers text or protobuf by Accept: a cache between the
	 * scraper and the agent must not serve one for the other */
	MHD_add_response_header(r, "Vary", "Accept");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result body__send(struct MHD_Connection *c, unsigned int status, const char *type,
			   void *data, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, data, mode);

	return r ? queue(c, r, status, type) : MHD_NO;
}

enum MHD_Result body__reply(struct MHD_Connection *c, pthread_mutex_t *lock, struct body *const *slot,
			    unsigned int status, const char *type)
{
	struct MHD_Response *r;
	struct body *b;

	pthread_mutex_lock(lock);
	b = *slot;
	if (b)
		b->refs++;
	pthread_mutex_unlock(lock);
	r = b ? MHD_create_response_from_buffer_with_free_callback_cls(b->len, b->data, body__put, b)
	      : MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (b)
			body__put(b);
		return MHD_NO;
	}
	return queue(c, r, status, type);
}
