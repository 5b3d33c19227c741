/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "http/bearer.h"
#include "util/log.h"

/* The first line of path, trailing blanks cut, into b; st is the file's. */
static int load(struct bearer *b, const struct stat *st, char *why, size_t len)
{
	char buf[BEARER_MAX + 1];
	FILE *f = fopen(b->path, "re");
	size_t n;

	if (!f) {
		snprintf(why, len, "cannot read it: %s", strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	n = strcspn(buf, "\r\n");
	if (n == BEARER_MAX) {
		snprintf(why, len, "the token is longer than %d bytes", BEARER_MAX - 1);
		return -1;
	}
	while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	if (!n) {
		snprintf(why, len, "the file is empty");
		return -1;
	}
	memcpy(b->token, buf, n);
	b->len = n;
	b->st = *st;
	return 0;
}

int bearer__open(struct bearer *b, const char *path, char *why, size_t len)
{
	struct stat st;

	memset(b, 0, sizeof(*b));
	snprintf(b->path, sizeof(b->path), "%s", path);
	pthread_mutex_init(&b->lock, NULL);
	if (stat(path, &st)) {
		snprintf(why, len, "cannot read it: %s", strerror(errno));
		return -1;
	}
	return load(b, &st, why, len);
}

static int changed(const struct stat *a, const struct stat *b)
{
	return a->st_dev != b->st_dev || a->st_ino != b->st_ino || a->st_size != b->st_size ||
	       a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec;
}

/* Time depends on the expected token's length only, never on where a
 * guess first differs. */
static int same(const char *want, size_t want_len, const char *got, size_t got_len)
{
	unsigned char diff = want_len != got_len;

	for (size_t i = 0; i < want_len; i++)
		diff |= (unsigned char)want[i] ^ (unsigned char)(i < got_len ? got[i] : 0);
	return !diff;
}

int bearer__check(struct bearer *b, const char *authorization)
{
	static const char scheme[] = "Bearer ";
	const char *got;
	struct stat st;
	char why[128];
	int ok;

	if (!authorization || strncasecmp(authorization, scheme, sizeof(scheme) - 1))
		return 0;
	got = authorization + sizeof(scheme) - 1;
	got += strspn(got, " ");
	pthread_mutex_lock(&b->lock);
	if (!stat(b->path, &st) && changed(&st, &b->st)) {
		if (load(b, &st, why, sizeof(why))) {
			log_warn("--listen-token-file %s changed but %s; still accepting the previous token",
				 b->path, why);
			b->st = st;	/* said once per change */
		} else
			log_info("--listen-token-file %s changed: accepting its new token", b->path);
	}
	ok = same(b->token, b->len, got, strlen(got));
	pthread_mutex_unlock(&b->lock);
	return ok;
}

void bearer__close(struct bearer *b)
{
	pthread_mutex_destroy(&b->lock);
	explicit_bzero(b->token, sizeof(b->token));
}
