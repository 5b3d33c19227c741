/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The agent's socket: `odtrace run` serves its snapshots on a UNIX socket
 * (default /run/odtrace/odtrace.sock, mode 0600, or 0660 with a group), and
 * `top` and `trace` read them instead of loading a second set of probes.
 * HTTP/1.x, as Docker's and Cilium's agents serve their CLIs:
 *   GET /v1/snapshot            the last interval's snapshot (wire.h)
 *   GET /v1/snapshot/previous   the one before it
 *   GET /v1/snapshot/fresh      one taken now: the agent harvests at once
 *                               (asks that arrive together share a harvest)
 * The file's mode is the access control: whoever may connect reads
 * everything the agent knows, as root would.
 */
#ifndef ODTRACE_UNIXSOCK_H
#define ODTRACE_UNIXSOCK_H

#include <stddef.h>
#include <stdint.h>

#define UNIXSOCK_DEFAULT "/run/odtrace/odtrace.sock"
#define UNIXSOCK_MAX_PATH 107	/* sun_path, with its NUL */

struct unixsock;

/* Checks the path and the group (NULL: none, mode 0600). 0, or -1 after
 * one sentence naming the flag and the fix. */
int unixsock__open(struct unixsock **out, const char *path, const char *group);
/* Creates the socket file (and its directory), before capabilities are
 * dropped; refuses when another agent answers there, and replaces a file
 * a dead one left. 0, or -1 after saying so. */
int unixsock__bind(struct unixsock *u);
/* Starts serving on libmicrohttpd's threads (after the drop). 0 or -1. */
int unixsock__serve(struct unixsock *u);
/* Readable when a reader asks for a fresh snapshot; agent__wait polls it. */
int unixsock__wake_fd(const struct unixsock *u);
/* The asks waiting for a fresh snapshot: 0 if none, else a ticket to pass
 * to unixsock__fresh once the snapshot taken from now on is ready. */
uint64_t unixsock__asked(struct unixsock *u);
/* Answers the asks up to ticket with data (malloc'd: the socket's now). */
void unixsock__fresh(struct unixsock *u, uint64_t ticket, char *data, size_t len);
/* The interval's snapshot (malloc'd: the socket's now); the last one
 * becomes /previous. */
void unixsock__publish(struct unixsock *u, char *data, size_t len);
/* Stops serving and removes the file. */
void unixsock__stop(struct unixsock *u);

#endif
