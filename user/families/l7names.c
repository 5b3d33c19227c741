/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "contract/net_abi.h"
#include "families/l7names.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The Redis commands clients send day to day (strings, keys, hashes, lists,
 * sets, sorted sets, streams, pub/sub, scripting, transactions, connection
 * and server); the rest are "other". */
static const char *const commands[] = {
	"APPEND", "DECR", "DECRBY", "GET", "GETDEL", "GETEX", "GETRANGE", "GETSET", "INCR",
	"INCRBY", "INCRBYFLOAT", "MGET", "MSET", "MSETNX", "PSETEX", "SET", "SETEX", "SETNX",
	"SETRANGE", "STRLEN", "LCS",
	"COPY", "DEL", "DUMP", "EXISTS", "EXPIRE", "EXPIREAT", "EXPIRETIME", "KEYS", "MOVE",
	"OBJECT", "PERSIST", "PEXPIRE", "PEXPIREAT", "PTTL", "RANDOMKEY", "RENAME", "RENAMENX",
	"RESTORE", "SCAN", "SORT", "TOUCH", "TTL", "TYPE", "UNLINK",
	"HDEL", "HEXISTS", "HGET", "HGETALL", "HINCRBY", "HINCRBYFLOAT", "HKEYS", "HLEN", "HMGET",
	"HMSET", "HRANDFIELD", "HSCAN", "HSET", "HSETNX", "HSTRLEN", "HVALS",
	"BLMOVE", "BLMPOP", "BLPOP", "BRPOP", "BRPOPLPUSH", "LINDEX", "LINSERT", "LLEN", "LMOVE",
	"LMPOP", "LPOP", "LPOS", "LPUSH", "LPUSHX", "LRANGE", "LREM", "LSET", "LTRIM", "RPOP",
	"RPOPLPUSH", "RPUSH", "RPUSHX",
	"SADD", "SCARD", "SDIFF", "SDIFFSTORE", "SINTER", "SINTERCARD", "SINTERSTORE",
	"SISMEMBER", "SMEMBERS", "SMISMEMBER", "SMOVE", "SPOP", "SRANDMEMBER", "SREM", "SSCAN",
	"SUNION", "SUNIONSTORE",
	"BZPOPMAX", "BZPOPMIN", "ZADD", "ZCARD", "ZCOUNT", "ZDIFF", "ZINCRBY", "ZINTER",
	"ZINTERSTORE", "ZLEXCOUNT", "ZMSCORE", "ZPOPMAX", "ZPOPMIN", "ZRANDMEMBER", "ZRANGE",
	"ZRANGEBYLEX", "ZRANGEBYSCORE", "ZRANGESTORE", "ZRANK", "ZREM", "ZREMRANGEBYLEX",
	"ZREMRANGEBYRANK", "ZREMRANGEBYSCORE", "ZREVRANGE", "ZREVRANGEBYSCORE", "ZREVRANK",
	"ZSCAN", "ZSCORE", "ZUNION", "ZUNIONSTORE",
	"XACK", "XADD", "XAUTOCLAIM", "XCLAIM", "XDEL", "XGROUP", "XINFO", "XLEN", "XPENDING",
	"XRANGE", "XREAD", "XREADGROUP", "XREVRANGE", "XTRIM",
	"PFADD", "PFCOUNT", "PFMERGE",
	"GEOADD", "GEODIST", "GEOPOS", "GEOSEARCH",
	"BITCOUNT", "BITFIELD", "BITOP", "BITPOS", "GETBIT", "SETBIT",
	"PSUBSCRIBE", "PUBLISH", "PUBSUB", "PUNSUBSCRIBE", "SPUBLISH", "SUBSCRIBE", "UNSUBSCRIBE",
	"EVAL", "EVALSHA", "EVALSHA_RO", "EVAL_RO", "FCALL", "FUNCTION", "SCRIPT",
	"DISCARD", "EXEC", "MULTI", "UNWATCH", "WATCH",
	"AUTH", "CLIENT", "ECHO", "HELLO", "PING", "QUIT", "RESET", "SELECT",
	"BGSAVE", "COMMAND", "CONFIG", "DBSIZE", "FLUSHALL", "FLUSHDB", "INFO", "LASTSAVE",
	"MEMORY", "ROLE", "SLOWLOG", "TIME", "WAIT", "CLUSTER", "READONLY",
};

/* Odoo's exception classes (odoo.exceptions, odoo.http), by the last
 * dotted component of the name a JSON-RPC error carries. */
static const char *const rpc_classes[] = {
	"UserError", "ValidationError", "AccessError", "AccessDenied", "MissingError",
	"RedirectWarning", "CacheMiss", "SessionExpiredException", "except_orm", "Warning",
};

/* XML-RPC faultCode 1..4 (odoo/service/wsgi_server.py), by RPC_FAULT + code. */
static const char *const faults[] = { "ServerError", "UserError", "AccessDenied", "AccessError" };

struct named {
	uint64_t id;
	const char *name;
};

static struct named by_command[COUNT(commands)], by_class[COUNT(rpc_classes)];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static uint64_t fnv64(const char *s)
{
	uint64_t h = FNV64_INIT;

	while (*s)
		h = fnv64__byte(h, (uint8_t)*s++);
	return net__id64(h);
}

static uint32_t fnv32(const char *s)
{
	uint32_t h = NET_FNV32_INIT;

	while (*s)
		h = net__fnv32(h, (uint8_t)*s++);
	return net__id32(h);
}

static int by_id(const void *a, const void *b)
{
	uint64_t x = ((const struct named *)a)->id, y = ((const struct named *)b)->id;

	return x < y ? -1 : x > y;
}

/* The ids are the kernel's, so they are computed once, then searched. */
static void build(void)
{
	for (size_t i = 0; i < COUNT(commands); i++)
		by_command[i] = (struct named){ fnv64(commands[i]), commands[i] };
	for (size_t i = 0; i < COUNT(rpc_classes); i++)
		by_class[i] = (struct named){ fnv32(rpc_classes[i]), rpc_classes[i] };
	qsort(by_command, COUNT(by_command), sizeof(by_command[0]), by_id);
	qsort(by_class, COUNT(by_class), sizeof(by_class[0]), by_id);
}

static const char *lookup(const struct named *table, size_t n, uint64_t id)
{
	const struct named *hit;

	pthread_once(&once, build);
	hit = bsearch(&(struct named){ .id = id }, table, n, sizeof(*table), by_id);
	return hit ? hit->name : "other";
}

const char *l7names__method(uint8_t method)
{
	static const char *const names[HTTP__METHODS] = {
		[HTTP_OTHER] = "other", [HTTP_GET] = "GET", [HTTP_POST] = "POST", [HTTP_PUT] = "PUT",
		[HTTP_PATCH] = "PATCH", [HTTP_DELETE] = "DELETE", [HTTP_HEAD] = "HEAD",
		[HTTP_OPTIONS] = "OPTIONS", [HTTP_CONNECT] = "CONNECT", [HTTP_TRACE] = "TRACE",
	};

	return method < HTTP__METHODS ? names[method] : "other";
}

const char *l7names__command(uint64_t id)
{
	return lookup(by_command, COUNT(by_command), id);
}

const char *l7names__rpc_error(uint32_t detail)
{
	if (detail == RPC_NONE)
		return "";
	if (detail >= RPC_HASHED)
		return lookup(by_class, COUNT(by_class), detail);
	if (detail > RPC_FAULT && detail - RPC_FAULT <= COUNT(faults))
		return faults[detail - RPC_FAULT - 1];
	return "ServerError";	/* RPC_UNREAD, or a faultCode Odoo does not define */
}

const char *l7names__status(uint8_t proto, uint16_t status, char *buf, size_t len)
{
	if (proto != NET_HTTP)
		return status ? "error" : "ok";
	if (!status)
		return "none";
	if (status < 100 || status > 999)
		return "other";
	snprintf(buf, len, "%u", status);
	return buf;
}

uint64_t l7names__route_id(const char *text)
{
	return fnv64(text);
}
