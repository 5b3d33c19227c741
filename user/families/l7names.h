/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The label values of net's L7 keys (contract/net_abi.h, struct
 * net_l7_key): the kernel keeps numbers and hashes, userspace names them.
 * Pure functions, unit-tested; hashed names are recognised from fixed
 * lists, and a hash no list has is "other", so an unknown command or
 * exception class cannot add label values.
 */
#ifndef ODTRACE_L7NAMES_H
#define ODTRACE_L7NAMES_H

#include <stddef.h>
#include <stdint.h>

/* enum http_method: "GET", "POST"...; "other" for HTTP_OTHER or out of range. */
const char *l7names__method(uint8_t method);
/* A Redis command's id (net__id64 of the FNV-1a-64 of its upper-cased
 * name): "HGETALL"..., "other" for a command not in the list. */
const char *l7names__command(uint64_t id);
/* net_l7_key.detail of an HTTP request: "" (no RPC error: the label is
 * left out), an Odoo exception class ("UserError"...), "ServerError" for
 * an error whose class is unread or an XML-RPC fault without a class of
 * its own, "other" for a class not in the list. */
const char *l7names__rpc_error(uint32_t detail);
/* The status label: HTTP (proto NET_HTTP) its code, "none" for no answer,
 * "other" outside 100..999; Redis "ok" or "error". buf: 4 bytes at least. */
const char *l7names__status(uint8_t proto, uint16_t status, char *buf, size_t len);
/* A route template's id, as the kernel computes it (net__id64 of the
 * FNV-1a-64 of its bytes). */
uint64_t l7names__route_id(const char *text);

#endif
