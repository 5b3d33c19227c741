/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* What the libFuzzer targets share: turning the fuzzer's bytes into what a
 * parser takes, and the oracles their invariants are checked against. */
#ifndef ODTRACE_FUZZ_H
#define ODTRACE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* An invariant broken: a crash libFuzzer reports, with the input saved. */
#define FUZZ_ASSERT(cond)							\
	do {									\
		if (!(cond)) {							\
			fprintf(stderr, "%s:%d: invariant broken: %s\n",	\
				__FILE__, __LINE__, #cond);			\
			__builtin_trap();					\
		}								\
	} while (0)

/* The bytes as a C string, in a buffer of exactly that size (ASan sees a
 * read past the NUL). An embedded NUL ends it, as it would any C string. */
static inline char *fuzz__cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* The bytes as a file, for parsers that take a path: an in-memory file
 * named by /proc/self/fd. Its fd, to close once done. */
static inline int fuzz__file(const uint8_t *data, size_t size, char *path, size_t len)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

/*
 * Whether s[0..n) holds no counted repetition ({N) and no stacked
 * repetition operators (a+++, a*?): glibc's regcomp takes memory and time
 * exponential in them. Regexes are the operator's own choice (the
 * configuration), not hostile input; the values they match are.
 */
static inline int fuzz__regex_tame(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] == '{' && s[i + 1] >= '0' && s[i + 1] <= '9')
			return 0;
		if (strchr("*+?}", s[i]) && s[i] && s[i + 1] && strchr("*+?{", s[i + 1]))
			return 0;
	}
	return 1;
}

/*
 * Whether s[0..n) is valid UTF-8, by RFC 3629's grammar (section 4), byte
 * ranges and all: a different way from metrics.c's decode-and-check, so
 * that the two keep each other honest.
 */
static inline int fuzz__utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t tail;

		if (c <= 0x7f) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			tail = 1;
		else if (c >= 0xe0 && c <= 0xef)
			tail = 2, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		else if (c >= 0xf0 && c <= 0xf4)
			tail = 3, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		else
			return 0;
		if (i + tail >= n)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t k = 2; k <= tail; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return 0;
		i += tail + 1;
	}
	return 1;
}


/* s as a JSON string's contents, escaped as json.dumps does (ensure_ascii):
 * what a client puts on the wire. out holds 6 * n + 1 bytes. */
static inline size_t fuzz__json_str(char *out, const uint8_t *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			o += sprintf(out + o, "\\%c", s[i]);
		else if (s[i] < 0x20 || s[i] >= 0x7f)
			o += sprintf(out + o, "\\u%04x", s[i]);
		else
			out[o++] = s[i];
	}
	out[o] = 0;
	return o;
}

/* s as XML text, escaped as xmlrpc.client does (&, <, >), without the
 * control characters XML 1.0 has no place for. out holds 5 * n + 1 bytes. */
static inline size_t fuzz__xml_str(char *out, const uint8_t *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			continue;
		if (s[i] == '&')
			o += sprintf(out + o, "&amp;");
		else if (s[i] == '<')
			o += sprintf(out + o, "&lt;");
		else if (s[i] == '>')
			o += sprintf(out + o, "&gt;");
		else
			out[o++] = s[i];
	}
	out[o] = 0;
	return o;
}

#endif
