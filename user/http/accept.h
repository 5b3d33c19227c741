/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* A scrape's Accept header, as /metrics reads it: text or protobuf. */
#ifndef ODTRACE_ACCEPT_H
#define ODTRACE_ACCEPT_H

/*
 * Whether a scrape's Accept prefers the protobuf exposition to text, by
 * their q (RFC 9110 section 12.5.1): Prometheus names protobuf first, at
 * the highest q, when it scrapes native histograms, and text after it. A
 * tie goes to protobuf, which was named; no Accept, or one naming neither,
 * gets text as before. An element longer than any a scraper sends is
 * skipped.
 */
int accept__prefers_proto(const char *accept);

#endif
