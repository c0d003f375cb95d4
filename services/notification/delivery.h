/* delivery.h — the delivery step: every notification is written by gathering its
 * operations (inbox entries, webhook deliveries, digest items, reopened interest
 * pairs, erased inboxes) into a plan, journal entry by journal entry, and running
 * the plan in one Lua step together with what the caller's script adds (the
 * follower's checkpoint, a digest's removal, an interest state). A kill at any
 * moment therefore neither loses nor repeats a delivery. The plan's feed messages
 * are sent only after the step succeeded.
 *
 * A script runs the plan with run_ops(first ARGV index, last, now, inbox bound,
 * done): per journal entry, its seq, its number of operations, then each operation:
 *   I recipient packed-notification                    an inbox entry
 *   W delivery-id url subscription-id nid body origin  a webhook delivery
 *   G subscription-id packed-item period-end           a digest item
 *   X pair expected-version version packed             a declined pair reopened
 *   Z entity-id                                        an erased entity's inbox
 * Entries at or below done (the stored checkpoint) are skipped: a replayed batch.
 * DELIVERY_OPS_LUA defines run_ops with what it calls (inbox_add, digest_add,
 * interest_store, which eoi.c's script calls too, webhook_enqueue from webhook.h,
 * journal_append from ls_journal.h); write LS_SCRIPT (DELIVERY_OPS_LUA "...body...").
 * DELIVERY_STREAM_ID_LUA defines stream_id_gt, the order of inbox cursors. */
#ifndef NOTIFICATION_DELIVERY_H
#define NOTIFICATION_DELIVERY_H

#include <czmq.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "ls_journal.h"
#include "ls_keys.h"
#include "ls_proto.h"
#include "ls_store.h"
#include "subs.h"
#include "webhook.h"

#define DELIVERY_DIGEST_MAX 1000 /* items one digest lists; more are counted */
#define DELIVERY_DIGEST_MAX_TEXT "1000"

/* clang-format off */
/* Stream ids "<ms>-<n>" compared as numbers; a malformed b counts as the smallest. */
#define DELIVERY_STREAM_ID_LUA                                                              \
    "local function stream_id_gt(a, b)\n"                                                   \
    "  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')\n"                                \
    "  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')\n"                                \
    "  if not bms then return true end\n"                                                   \
    "  ams, aseq, bms, bseq = tonumber(ams), tonumber(aseq), tonumber(bms), tonumber(bseq)\n" \
    "  return ams > bms or (ams == bms and aseq > bseq)\n"                                  \
    "end\n"

#define DELIVERY_OPS_LUA                                                                    \
    LS_JOURNAL_LUA                                                                          \
    WEBHOOK_LUA                                                                             \
    DELIVERY_STREAM_ID_LUA                                                                  \
    "local function inbox_add(recipient, packed, bound)\n"                                  \
    "  if redis.call('HGET', '" LS_KEY_ENTITY "' .. recipient, 'state') == '2' then\n"     \
    "    return\n" /* an erased entity (its tombstone) keeps no inbox */                    \
    "  end\n"                                                                               \
    "  local key = '" LS_KEY_INBOX "' .. recipient\n"                                       \
    "  redis.call('XADD', key, '*', 'n', packed)\n"                                         \
    "  local over = redis.call('XLEN', key) - bound\n"                                      \
    "  if over > 0 then\n"                                                                  \
    "    local ack = redis.call('GET', '" LS_KEY_INBOX_ACK "' .. recipient) or '0-0'\n"     \
    "    local dropped = 0\n"                                                               \
    "    for _, e in ipairs(redis.call('XRANGE', key, '-', '+', 'COUNT', over)) do\n"       \
    "      if stream_id_gt(e[1], ack) then dropped = dropped + 1 end\n"                     \
    "    end\n"                                                                             \
    "    redis.call('XTRIM', key, 'MAXLEN', bound)\n"                                       \
    "    if dropped > 0 then\n"                                                             \
    "      redis.call('INCRBY', '" LS_KEY_INBOX_DROPPED "' .. recipient, dropped)\n"        \
    "    end\n"                                                                             \
    "  end\n"                                                                               \
    "end\n"                                                                                 \
    "local function digest_add(sub, item, period_end)\n"                                    \
    "  local key = '" LS_KEY_DIGEST "' .. sub\n"                                            \
    "  if redis.call('LLEN', key) < " DELIVERY_DIGEST_MAX_TEXT " then\n"                    \
    "    redis.call('RPUSH', key, item)\n"                                                  \
    "  else\n"                                                                              \
    "    redis.call('HINCRBY', '" LS_KEY_DIGEST_OVERFLOW "', sub, 1)\n"                      \
    "  end\n"                                                                               \
    "  redis.call('ZADD', '" LS_KEY_DIGEST_DUE "', 'NX', period_end, sub)\n"                \
    "end\n"                                                                                 \
    "local function interest_store(pair, expected, version, packed, remind, expire,\n"      \
    "                              declined)\n"                                             \
    "  local key = '" LS_KEY_EOI "' .. pair\n"                                              \
    "  if tonumber(redis.call('HGET', key, 'v') or '0') ~= tonumber(expected) then\n"      \
    "    return false\n"                                                                    \
    "  end\n"                                                                               \
    "  redis.call('HSET', key, 'v', version, 'd', packed)\n"                                \
    "  journal_append('" LS_KEY_JOURNAL_INTEREST "', '" LS_KEY_SEQ_INTEREST "', packed)\n"   \
    "  if remind ~= '0' then redis.call('ZADD', '" LS_KEY_EOI_REMIND "', remind, pair)\n"   \
    "  else redis.call('ZREM', '" LS_KEY_EOI_REMIND "', pair) end\n"                        \
    "  if expire ~= '0' then redis.call('ZADD', '" LS_KEY_EOI_EXPIRE "', expire, pair)\n"   \
    "  else redis.call('ZREM', '" LS_KEY_EOI_EXPIRE "', pair) end\n"                        \
    "  if declined == '1' then redis.call('SADD', '" LS_KEY_EOI_DECLINED "', pair)\n"       \
    "  else redis.call('SREM', '" LS_KEY_EOI_DECLINED "', pair) end\n"                      \
    "  return true\n"                                                                       \
    "end\n"                                                                                 \
    "local function run_ops(i, last, now, bound, done)\n"                                   \
    "  local written = 0\n"                                                                 \
    "  while i <= last do\n"                                                                \
    "    local seq, n = tonumber(ARGV[i]), tonumber(ARGV[i + 1])\n"                         \
    "    i = i + 2\n"                                                                       \
    "    for _ = 1, n do\n"                                                                 \
    "      local t, fresh = ARGV[i], seq > done\n"                                          \
    "      if t == 'I' then\n"                                                              \
    "        if fresh then inbox_add(ARGV[i + 1], ARGV[i + 2], bound) end\n"                \
    "        i = i + 3\n"                                                                   \
    "      elseif t == 'W' then\n"                                                          \
    "        if fresh then\n"                                                               \
    "          webhook_enqueue(ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4],\n"       \
    "                          ARGV[i + 5], ARGV[i + 6], now)\n"                            \
    "        end\n"                                                                         \
    "        i = i + 7\n"                                                                   \
    "      elseif t == 'Z' then\n"                                                          \
    "        if fresh then\n"                                                               \
    "          redis.call('DEL', '" LS_KEY_INBOX "' .. ARGV[i + 1],\n"                      \
    "                     '" LS_KEY_INBOX_ACK "' .. ARGV[i + 1],\n"                         \
    "                     '" LS_KEY_INBOX_DROPPED "' .. ARGV[i + 1])\n"                     \
    "        end\n"                                                                         \
    "        i = i + 2\n"                                                                   \
    "      elseif t == 'X' then\n"                                                          \
    "        if fresh then\n"                                                               \
    "          interest_store(ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4],\n"        \
    "                         '0', '0', '0')\n"                                             \
    "        end\n"                                                                         \
    "        i = i + 5\n"                                                                   \
    "      else\n"                                                                          \
    "        if fresh then digest_add(ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]) end\n"         \
    "        i = i + 4\n"                                                                   \
    "      end\n"                                                                           \
    "      if fresh then written = written + 1 end\n"                                       \
    "    end\n"                                                                             \
    "  end\n"                                                                               \
    "  return written\n"                                                                    \
    "end\n"
/* clang-format on */

/* A plan: the script's arguments and the feed messages to send after it. Fill it
 * with delivery_plan_init, release it with delivery_plan_free. */
typedef struct {
    zlistx_t *args;     /* zchunk_t */
    zlistx_t *feed;     /* zmsg_t */
    zlistx_t *reopened; /* pair keys reopened by the plan: no longer declined once done */
    size_t ops;         /* operations of the current entry */
    void *ops_at;       /* its count argument, filled in when the entry ends */
    size_t inbox, webhook, digest; /* operations by channel, for the metrics */
} delivery_plan_t;

void delivery_plan_init(delivery_plan_t *plan);
void delivery_plan_free(delivery_plan_t *plan);

/* The operations of journal entry seq go between these two. */
void delivery_entry_begin(delivery_plan_t *plan, uint64_t seq);
void delivery_entry_end(delivery_plan_t *plan);

/* An inbox entry of recipient (packed: a notification). */
void delivery_inbox(delivery_plan_t *plan, const char *recipient, const uint8_t *packed,
                    size_t len);
/* A message on the live feed, sent after the step. */
void delivery_feed(delivery_plan_t *plan, const char *topic, const uint8_t *packed, size_t len);
/* An item of subscription sub_id's digest for the period ending at period_end. */
void delivery_digest(delivery_plan_t *plan, const char *sub_id,
                     const Lodestone__V1__DigestItem *item, int64_t period_end);
/* The removal of an erased entity's inbox, its cursor and its count of drops. */
void delivery_erase(delivery_plan_t *plan, const char *entity_id);
/* A declined pair reopened: state (packed at its new version) replaces the stored
 * one if that is still at expected. False when the plan reopens the pair already. */
bool delivery_reopen(delivery_plan_t *plan, const char *pair, uint64_t expected,
                     const ls_interest_pb *state);

/* note (its id and recipient set) on sub's channels: inbox, webhook, feed. */
void delivery_channels(delivery_plan_t *plan, const ls_subscription_pb *sub,
                       ls_notification_pb *note);
/* The default delivery of note to its recipient: the inbox and the feed topic
 * "to/<recipient>/", and "region/<region>/" too when region is not empty. */
void delivery_default(delivery_plan_t *plan, ls_notification_pb *note, const char *region);
/* out: note re-addressed to sub, under the id "<note id>-<sub id>" written into id
 * (len bytes). out borrows from note, sub and id. */
void delivery_readdress(const ls_notification_pb *note, const ls_subscription_pb *sub, char *id,
                        size_t len, ls_notification_pb *out);
/* note (id set) to entity as its own match events go: by default unless an entity
 * subscription for itself replaces that, and at once (digests or not) on the
 * channels of every entity subscription of it. */
void delivery_to_entity(delivery_plan_t *plan, const subs_t *subs, const char *entity,
                        ls_notification_pb *note);

#define DELIVERY_FAILED LLONG_MIN

/* Runs script with the fixed arguments (fixed_lens NULL: they are strings) in front
 * of the plan's. Returns the reply's integer, or DELIVERY_FAILED (logged). */
long long delivery_execute(ls_store_t *store, ls_script_t *script, int nkeys,
                           const char *const *fixed, const size_t *fixed_lens, size_t n_fixed,
                           const delivery_plan_t *plan);
/* Sends the plan's feed messages (after its step succeeded). */
void delivery_send_feed(const delivery_plan_t *plan, zsock_t *pub);

#endif
