/* webhook.h — webhook delivery: a thread that POSTs the deliveries queued in Redis to
 * subscribers' URLs, signed with the subscription's secret, retried with back-off
 * and jitter, and turned into dead letters when they keep failing.
 *
 * The queue is the Redis layout named in ls_keys.h: a hash per delivery
 * (ls:wh:d:<id>), a due set per origin (ls:wh:due:<origin>) scored by next attempt
 * time, the index ls:wh:next of origins by their earliest score, and the dead set
 * ls:wh:dead. The notification service enqueues with WEBHOOK_LUA inside its own
 * scripts. A delivery being sent is leased (its due score moved to the lease end),
 * so one a stopped or killed process had in flight is sent again later: delivery is
 * at least once, and receivers de-duplicate by the Lodestone-Delivery-Id header. */
#ifndef WEBHOOK_H
#define WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "ls_config.h"
#include "ls_keys.h"
#include "ls_proto.h"
#include "ls_store.h"

/* Lua source defining
 *   local function webhook_enqueue(id, url, sub, nid, body, origin, now_ms) -> 0 or 1
 * A string literal: write LS_SCRIPT (WEBHOOK_LUA "...body..."). Queues a delivery
 * due at now_ms with no attempts made, in the due set of origin (webhook_origin of
 * the url, or "invalid"); returns 0 and changes nothing when the delivery exists
 * already (a replayed batch), else 1. */
#define WEBHOOK_LUA                                                                                \
    "local function webhook_enqueue(id, url, sub, nid, body, origin, now_ms)\n"                    \
    "  local key = '" LS_KEY_WEBHOOK "' .. id\n"                                                   \
    "  if redis.call('EXISTS', key) == 1 then return 0 end\n"                                      \
    "  redis.call('HSET', key, 'url', url, 'sub', sub, 'nid', nid, 'body', body,\n"                \
    "             'attempts', 0, 'first', now_ms, 'origin', origin)\n"                             \
    "  redis.call('ZADD', '" LS_KEY_WEBHOOK_DUE "' .. origin, now_ms, id)\n"                       \
    "  redis.call('ZADD', '" LS_KEY_WEBHOOK_NEXT "', 'LT', now_ms, origin)\n"                      \
    "  return 1\n"                                                                                 \
    "end\n"

/* The longest delivery id: it travels in the Lodestone-Delivery-Id header. */
#define WEBHOOK_ID_MAX 200

/* "https://" + a 253-byte host name + ":65535", with room. */
#define WEBHOOK_ORIGIN_MAX 320

/* Writes "scheme://host:port" of an http or https URL, lower case, into out (len
 * bytes; WEBHOOK_ORIGIN_MAX is enough): the unit the per-origin cap counts and the
 * due sets are keyed by. -1 when the URL does not parse, has another scheme, or
 * does not fit. */
int webhook_origin(const char *url, char *out, size_t len);

typedef struct _webhook_t webhook_t;

/* Counters since webhook_new; in_flight is the number of requests open now. */
typedef struct {
    uint64_t delivered;         /* answered 2xx */
    uint64_t attempts_failed;   /* any other answer, or no answer */
    uint64_t retries_scheduled; /* failures put back in the due set */
    uint64_t dead;              /* deliveries that became dead letters */
    uint64_t dropped;           /* deliveries of deleted subscriptions */
    unsigned in_flight;
} webhook_stats_t;

/* Connects to config->redis_url (waiting up to a few seconds) and starts the
 * delivery thread. The configuration is copied. NULL when Redis cannot be reached
 * or resources run out (logged). */
webhook_t *webhook_new(const ls_config_t *config);
/* Stops the thread within about a second; requests in flight are abandoned (their
 * leases expire and they are sent again later). Nulls *self_p; safe twice. */
void webhook_destroy(webhook_t **self_p);

/* A snapshot of the counters; callable from any thread. */
void webhook_stats(webhook_t *self, webhook_stats_t *out);

/* "t=" + 20 digits at most + ",v1=" + 64 hex + NUL fits. */
#define WEBHOOK_SIGNATURE_MAX 96

/* Writes the Lodestone-Signature header value into out (WEBHOOK_SIGNATURE_MAX
 * bytes): "t=<t>,v1=<hex>", hex being the lowercase HMAC-SHA256 of "<t>.<body>"
 * keyed with the secret. */
void webhook_signature(const char *secret, size_t secret_len, long long t, const void *body,
                       size_t len, char *out);

/* Fills out with up to limit dead letters (0 = 100), newest first, of one
 * subscription ("" = all); out->total counts all that match. The letters are heap
 * allocated: release them with webhook_dead_list_clear. Returns 0, or -1 on a store
 * failure (out is then empty). */
int webhook_dead_list(ls_store_t *store, const char *subscription_id, size_t limit,
                      Lodestone__V1__DeadLetterList *out);
void webhook_dead_list_clear(Lodestone__V1__DeadLetterList *list);

/* Puts dead letters back in their origin's due set at now_ms with their attempts
 * reset (the last error is kept), each in one atomic step. ids NULL or n 0 = every
 * dead letter of the subscription ("" = of all). Ids that are not dead letters of
 * the subscription are skipped. Returns how many were replayed, or -1 on a store
 * failure (the letters before it stay replayed). */
long webhook_dead_replay(ls_store_t *store, const char *subscription_id, const char *const *ids,
                         size_t n, int64_t now_ms);

#endif
