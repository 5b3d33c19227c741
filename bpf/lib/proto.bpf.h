/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The net family's protocol checks on a client's first byte. Hostile bytes
 * reach them, so tests/fuzz/fuzz_proto.c compiles this very header in
 * userspace (with <linux/types.h> for the __u8 that vmlinux.h gives BPF).
 */
#ifndef ODTRACE_PROTO_BPF_H
#define ODTRACE_PROTO_BPF_H

#include "contract/net_abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* A PostgreSQL client's send is a statement when it starts with a
 * frontend message of one: Query, Parse, Bind, Execute, Sync, Describe,
 * Close, Flush, FunctionCall. The startup packet (a length: 0x00 first),
 * passwords, Terminate and COPY data are not. */
static __always_inline int proto__pg_statement(__u8 b)
{
	return b == 'Q' || b == 'P' || b == 'B' || b == 'E' || b == 'S' || b == 'D' || b == 'C' ||
	       b == 'H' || b == 'F' || b == 0x17 /* TLS application data: cannot tell, timed */;
}

/* Whether a client's first byte can start its service's protocol. TLS
 * (a handshake record, 0x16) cannot be read: timed all the same. */
static __always_inline int proto__speaks(__u8 proto, __u8 b)
{
	if (b == 0x16)
		return 1;
	switch (proto) {
	case NET_RESP:	/* an array of bulk strings, or an inline command */
		return b == '*' || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z');
	case NET_PGWIRE:	/* the startup packet or SSLRequest (a length < 16M), or
				 * any frontend message on a connection opened before
				 * the agent started */
		return b == 0 || proto__pg_statement(b) || b == 'X' || b == 'p' || b == 'd' ||
		       b == 'c' || b == 'f';
	case NET_HTTP:	/* a method: GET, POST, PUT, PATCH, HEAD, DELETE, OPTIONS, CONNECT, TRACE */
		return b == 'G' || b == 'P' || b == 'H' || b == 'D' || b == 'O' || b == 'C' ||
		       b == 'T';
	}
	return 1;
}

/* Whether b (8 bytes) is a PostgreSQL startup packet, SSLRequest,
 * GSSENCRequest or CancelRequest: a length, then protocol 3.0 or one of the
 * codes 80877102..80877104 (0x04d2162e..0x04d21630). */
static __always_inline int proto__pg_startup(const __u8 *b)
{
	return b[0] == 0 && ((b[4] == 0 && b[5] == 3 && b[6] == 0 && b[7] == 0) ||
			     (b[4] == 0x04 && b[5] == 0xd2 && b[6] == 0x16 && b[7] >= 0x2e &&
			      b[7] <= 0x30));
}

#endif
