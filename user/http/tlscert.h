/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The /metrics server's certificate and key (--listen-cert, --listen-key),
 * handed to GnuTLS at each TLS handshake and read again when either file
 * changes: a renewed certificate (cert-manager, a Secret's update, a mv)
 * is served without a restart. */
#ifndef ODTRACE_TLSCERT_H
#define ODTRACE_TLSCERT_H

#include <gnutls/abstract.h>

/* Reads the pair and checks that the key is the certificate's. 0, or -1
 * after one sentence naming the flag, the file and the fix. One pair per
 * process: GnuTLS's callback carries no pointer of ours. */
int tlscert__open(const char *cert_path, const char *key_path);
/* The pair for a handshake, reading the files again first if either
 * changed (stat()ed at most once a second): libmicrohttpd's
 * MHD_OPTION_HTTPS_CERT_CALLBACK, called on its one thread. */
gnutls_certificate_retrieve_function2 tlscert__retrieve;
void tlscert__close(void);

#endif
