/* notification.c — turns match events and new postings into notifications.
 *
 * Two journal followers feed it: the match journal (matching's events) and the
 * change journal (new opportunity postings for filter subscriptions). For each
 * batch of entries it plans every delivery — inbox entries, webhook deliveries,
 * digest items — and writes them together with the follower's checkpoint in one
 * Lua step, so a kill at any moment neither loses nor repeats a delivery; the
 * live feed (PUB) is sent after that step. Webhooks are sent by webhook.c from
 * the queue this step fills; digests are flushed on the tick.
 *
 * Who receives what (docs/notification.md):
 *   - an entity's own match events go to its inbox and to the feed topic
 *     "to/<entity>/" (and "region/<NUTS>/"), unless a subscription whose recipient
 *     is the entity itself governs them;
 *   - every subscription an event reaches delivers it on the subscription's
 *     channels, under the id "<event id>-<subscription id>", or adds it to the
 *     subscription's digest. */
#include "notification.h"

#include <czmq.h>
#include <limits.h>
#include <string.h>

#include "digest.h"
#include "interest.h"
#include "ls_codec.h"
#include "ls_entity.h"
#include "ls_follower.h"
#include "ls_journal.h"
#include "ls_json.h"
#include "ls_keys.h"
#include "ls_log.h"
#include "ls_metrics.h"
#include "ls_rpc.h"
#include "ls_service.h"
#include "ls_taxonomy.h"
#include "ls_util.h"
#include "subs.h"
#include "webhook.h"

#define S_CHECKPOINT LS_KEY_CHECKPOINT "notification"
#define S_CHECKPOINT_POSTINGS LS_KEY_CHECKPOINT "notification-postings"
#define S_BATCH_MAX 256         /* journal entries delivered per Redis step */
#define S_DIGEST_ITEMS_MAX 1000 /* items one digest lists; more are counted */
#define S_DIGEST_ITEMS_MAX_TEXT "1000"
#define S_INBOX_LIMIT_MAX 1000
#define S_REPLAY_IDS_MAX 1000 /* delivery ids one ReplayDeadLetters may name */

struct _notification_t {
    const ls_config_t *config;
    ls_taxonomy_t *taxonomy;
    ls_store_t *store;
    ls_guard_t *guard;
    ls_follower_t *follower; /* the match journal */
    ls_follower_t *postings; /* the change journal */
    subs_t *subs;
    webhook_t *webhook;
    zsock_t *router;
    zsock_t *pull;
    zsock_t *changes; /* SUB to the registry's change feed */
    zsock_t *pub;
    zhashx_t *declined; /* pair "a|b" -> ls_interest_pb: the DECLINED pairs, for reopening */
    interest_config_t interest;
    int64_t next_trim; /* of the interest journal, which no follower trims */
    uint64_t delivered;
    ls_metrics_t *metrics;
    ls_metric_t *notes; /* by channel and outcome (docs/metrics.md) */
    ls_metric_t *webhook_attempts_failed;
    ls_metric_t *webhook_retries;
    ls_metric_t *webhook_in_flight;
};

/* ---------------------------------------------------------------------------
 * The delivery step. ARGV: last seq, now (ms), inbox bound, then per journal
 * entry: seq, number of operations, operations:
 *   I recipient packed-notification                    an inbox entry
 *   W delivery-id url subscription-id nid body origin  a webhook delivery
 *   G subscription-id packed-item period-end           a digest item
 *   X pair expected-version version packed             a declined pair reopened (interest)
 * Entries at or below the stored checkpoint are skipped (a replayed batch). */

/* clang-format off */
/* Stream ids "<ms>-<n>" compared as numbers; a malformed b counts as the smallest. */
#define S_STREAM_ID_LUA                                                                     \
    "local function stream_id_gt(a, b)\n"                                                   \
    "  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')\n"                                \
    "  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')\n"                                \
    "  if not bms then return true end\n"                                                   \
    "  ams, aseq, bms, bseq = tonumber(ams), tonumber(aseq), tonumber(bms), tonumber(bseq)\n" \
    "  return ams > bms or (ams == bms and aseq > bseq)\n"                                  \
    "end\n"

#define S_OPS_LUA                                                                           \
    LS_JOURNAL_LUA                                                                          \
    WEBHOOK_LUA                                                                             \
    S_STREAM_ID_LUA                                                                         \
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
    "  if redis.call('LLEN', key) < " S_DIGEST_ITEMS_MAX_TEXT " then\n"                     \
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

/* KEYS: checkpoint. ARGV as above. Returns the operations written. */
static ls_script_t s_deliver_script =
    LS_SCRIPT(S_OPS_LUA "local done = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
                        "local written = run_ops(4, #ARGV, ARGV[2], tonumber(ARGV[3]), done)\n"
                        "if tonumber(ARGV[1]) > done then redis.call('SET', KEYS[1], ARGV[1]) end\n"
                        "return written\n");

/* A digest flush. ARGV: subscription id, the period end it was due at, items
 * taken, the next period's end, now, inbox bound, then one entry of operations
 * (seq 1) delivering the digest. Skipped (returns -1) when the due time moved. */
static ls_script_t s_flush_script =
    LS_SCRIPT(S_OPS_LUA "local sub, due = ARGV[1], ARGV[2]\n"
                        "local score = redis.call('ZSCORE', '" LS_KEY_DIGEST_DUE "', sub)\n"
                        "if not score or tonumber(score) ~= tonumber(due) then return -1 end\n"
                        "local written = run_ops(7, #ARGV, ARGV[5], tonumber(ARGV[6]), 0)\n"
                        "local key = '" LS_KEY_DIGEST "' .. sub\n"
                        "redis.call('LTRIM', key, tonumber(ARGV[3]), -1)\n"
                        "redis.call('HDEL', '" LS_KEY_DIGEST_OVERFLOW "', sub)\n"
                        "if redis.call('LLEN', key) > 0 then\n"
                        "  redis.call('ZADD', '" LS_KEY_DIGEST_DUE "', ARGV[4], sub)\n"
                        "else\n"
                        "  redis.call('ZREM', '" LS_KEY_DIGEST_DUE "', sub)\n"
                        "end\n"
                        "return written\n");

/* A plan: the script's arguments and the feed messages to send after it. */
typedef struct {
    zlistx_t *args;     /* zchunk_t */
    zlistx_t *feed;     /* zmsg_t */
    zlistx_t *reopened; /* pair keys reopened by the plan: no longer declined once done */
    size_t ops;         /* operations of the current entry */
    void *ops_at;       /* its count argument, filled in when the entry ends */
    size_t inbox, webhook, digest; /* operations by channel, for the metrics */
} s_plan_t;

static void s_chunk_destructor(void **item)
{
    zchunk_destroy((zchunk_t **)item);
}

static void s_msg_destructor(void **item)
{
    zmsg_destroy((zmsg_t **)item);
}

static void s_plan_init(s_plan_t *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->args = zlistx_new();
    zlistx_set_destructor(plan->args, s_chunk_destructor);
    plan->feed = zlistx_new();
    zlistx_set_destructor(plan->feed, s_msg_destructor);
    plan->reopened = zlistx_new();
    zlistx_set_duplicator(plan->reopened, (zlistx_duplicator_fn *)strdup);
    zlistx_set_destructor(plan->reopened, (zlistx_destructor_fn *)zstr_free);
}

static void s_plan_free(s_plan_t *plan)
{
    zlistx_destroy(&plan->args);
    zlistx_destroy(&plan->feed);
    zlistx_destroy(&plan->reopened);
}

static void s_arg(s_plan_t *plan, const void *data, size_t len)
{
    zlistx_add_end(plan->args, zchunk_new(data, len));
}

static void s_arg_str(s_plan_t *plan, const char *text)
{
    s_arg(plan, text, strlen(text));
}

static void s_arg_u64(s_plan_t *plan, uint64_t value)
{
    char text[24];
    snprintf(text, sizeof text, "%llu", (unsigned long long)value);
    s_arg_str(plan, text);
}

/* Starts the operations of journal entry seq. */
static void s_entry_begin(s_plan_t *plan, uint64_t seq)
{
    s_arg_u64(plan, seq);
    plan->ops_at = zlistx_add_end(plan->args, zchunk_new("0", 1));
    plan->ops = 0;
}

static void s_entry_end(s_plan_t *plan)
{
    char text[24];
    snprintf(text, sizeof text, "%zu", plan->ops);
    zchunk_t *count = zlistx_handle_item(plan->ops_at);
    zchunk_set(count, text, strlen(text));
}

static void s_op_inbox(s_plan_t *plan, const char *recipient, const uint8_t *packed, size_t len)
{
    s_arg_str(plan, "I");
    s_arg_str(plan, recipient);
    s_arg(plan, packed, len);
    plan->ops++;
    plan->inbox++;
}

static void s_feed(s_plan_t *plan, const char *topic, const uint8_t *packed, size_t len)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, topic);
    zmsg_addmem(msg, packed, len);
    zlistx_add_end(plan->feed, msg);
}

#define S_FAILED LLONG_MIN

/* Runs a plan's script with the fixed arguments in front (fixed_lens NULL: they
 * are strings). Returns the reply's integer, or S_FAILED (logged). */
static long long s_execute(notification_t *self, ls_script_t *script, int nkeys,
                           const char *const *fixed, const size_t *fixed_lens, size_t n_fixed,
                           s_plan_t *plan)
{
    size_t argc = n_fixed + zlistx_size(plan->args);
    const char **argv = calloc(argc, sizeof *argv);
    size_t *lens = calloc(argc, sizeof *lens);
    size_t n = 0;
    for (; n < n_fixed; n++) {
        argv[n] = fixed[n];
        lens[n] = fixed_lens ? fixed_lens[n] : strlen(fixed[n]);
    }
    for (zchunk_t *c = zlistx_first(plan->args); c; c = zlistx_next(plan->args), n++) {
        argv[n] = (const char *)zchunk_data(c);
        lens[n] = zchunk_size(c);
    }
    redisReply *reply = ls_store_eval(self->store, script, nkeys, (int)n, argv, lens);
    long long rc = S_FAILED;
    if (reply && reply->type == REDIS_REPLY_INTEGER)
        rc = reply->integer;
    else
        LS_WARN("delivery step failed: %s", reply && reply->type == REDIS_REPLY_ERROR
                                                ? reply->str
                                                : ls_store_error(self->store));
    if (reply)
        freeReplyObject(reply);
    free(argv);
    free(lens);
    return rc;
}

/* Counts a plan written by its step (a batch replayed after a restart counts again). */
static void s_count(notification_t *self, s_plan_t *plan)
{
    ls_series_add(ls_metric_with(self->notes, "inbox", "written"), plan->inbox);
    ls_series_add(ls_metric_with(self->notes, "feed", "published"), zlistx_size(plan->feed));
    ls_series_add(ls_metric_with(self->notes, "webhook", "queued"), plan->webhook);
    ls_series_add(ls_metric_with(self->notes, "digest", "item"), plan->digest);
}

static void s_send_feed(notification_t *self, s_plan_t *plan)
{
    for (zmsg_t *msg = zlistx_first(plan->feed); msg; msg = zlistx_next(plan->feed)) {
        zmsg_t *copy = zmsg_dup(msg);
        zmsg_send(&copy, self->pub);
    }
}

/* ---------------------------------------------------------------------------
 * Periods of digests (digest.h); LODESTONE_DIGEST_DAY_S shortens the day in tests. */

static bool s_weekly(const ls_subscription_pb *sub)
{
    return sub->digest == LODESTONE__V1__SUBSCRIPTION__DIGEST__DIGEST_WEEKLY;
}

static int64_t s_day_ms(const notification_t *self)
{
    return (int64_t)self->config->digest_day_s * 1000;
}

static int64_t s_period_ms(const notification_t *self, ls_subscription_pb *sub)
{
    return digest_period_ms(s_day_ms(self), s_weekly(sub));
}

static int64_t s_period_end(const notification_t *self, ls_subscription_pb *sub, int64_t now)
{
    return digest_period_end(s_day_ms(self), s_weekly(sub), now);
}

/* ---------------------------------------------------------------------------
 * Notifications for a subscription */

/* Delivers note (its id and recipient set) on sub's channels, or adds it to sub's
 * digest. item describes it for a digest. */
static void s_deliver_channels(s_plan_t *plan, ls_subscription_pb *sub, ls_notification_pb *note)
{
    size_t len;
    uint8_t *packed = ls_codec_pack_buffer(&note->base, &len);
    const ls_channels_pb *c = sub->channels;
    if (c && c->inbox)
        s_op_inbox(plan, note->recipient, packed, len);
    if (c && *c->webhook_url) {
        char *body = ls_json_dumps(&note->base);
        /* Subscriptions hold valid URLs; "invalid" makes a dead letter of another. */
        char origin[WEBHOOK_ORIGIN_MAX];
        if (webhook_origin(c->webhook_url, origin, sizeof origin))
            snprintf(origin, sizeof origin, "invalid");
        s_arg_str(plan, "W");
        s_arg_str(plan, note->id); /* the delivery id */
        s_arg_str(plan, c->webhook_url);
        s_arg_str(plan, sub->id);
        s_arg_str(plan, note->id);
        s_arg_str(plan, body ? body : "{}");
        s_arg_str(plan, origin);
        plan->ops++;
        plan->webhook++;
        free(body);
    }
    if (c && c->feed) {
        char topic[160];
        snprintf(topic, sizeof topic, "to/%s/", note->recipient);
        s_feed(plan, topic, packed, len);
    }
    free(packed);
}

static void s_deliver_sub(notification_t *self, s_plan_t *plan, ls_subscription_pb *sub,
                          ls_notification_pb *note, Lodestone__V1__DigestItem *item)
{
    if (sub->digest == LODESTONE__V1__SUBSCRIPTION__DIGEST__DIGEST_NONE) {
        s_deliver_channels(plan, sub, note);
        return;
    }
    size_t len;
    uint8_t *packed = ls_codec_pack_buffer(&item->base, &len);
    s_arg_str(plan, "G");
    s_arg_str(plan, sub->id);
    s_arg(plan, packed, len);
    s_arg_u64(plan, (uint64_t)s_period_end(self, sub, ls_now_ms()));
    plan->ops++;
    plan->digest++;
    free(packed);
}

/* ---------------------------------------------------------------------------
 * Match events */

static const char *s_kind_word(Lodestone__V1__MatchEvent__Kind kind)
{
    switch (kind) {
    case LODESTONE__V1__MATCH_EVENT__KIND__NEW:
        return "New match";
    case LODESTONE__V1__MATCH_EVENT__KIND__CHANGED:
        return "Match updated";
    default:
        return "Match withdrawn";
    }
}

/* The text of a match event; the caller frees it. */
static char *s_match_text(const ls_match_event_pb *event)
{
    const ls_match_pb *m = event->match;
    const char *name = *m->candidate_name ? m->candidate_name : m->candidate_id;
    if (event->kind == LODESTONE__V1__MATCH_EVENT__KIND__GONE)
        return zsys_sprintf("%s: %s (%s) is no longer a match", s_kind_word(event->kind), name,
                            m->candidate_id);
    return zsys_sprintf("%s: %s (%s), score %.2f. %s", s_kind_word(event->kind), name,
                        m->candidate_id, m->score, m->summary);
}

typedef struct {
    notification_t *self;
    s_plan_t *plan;
    ls_notification_pb *note; /* the default notification, re-addressed per subscription */
    const char *base_id;
} s_route_t;

static void s_route_match(const ls_subscription_pb *csub, void *arg)
{
    s_route_t *r = arg;
    ls_subscription_pb *sub = (ls_subscription_pb *)csub;
    char id[200];
    snprintf(id, sizeof id, "%s-%s", r->base_id, sub->id);
    ls_notification_pb note = *r->note;
    note.id = id;
    note.recipient = sub->recipient;
    note.subscription_id = sub->id;
    Lodestone__V1__DigestItem item = LODESTONE__V1__DIGEST_ITEM__INIT;
    item.notification_id = id;
    item.text = note.text;
    item.match = note.event->match;
    s_deliver_sub(r->self, r->plan, sub, &note, &item);
}

/* The pair key "a|b" (a < b) of two entity ids, into key. */
static void s_pair_key(const char *x, const char *y, char *key, size_t len)
{
    const char *a, *b;
    interest_order(x, y, &a, &b);
    snprintf(key, len, "%s|%s", a, b);
}

/* A declined pair whose match comes back or moves materially reopens, in the same
 * step as the event's deliveries (operation X). */
static void s_plan_reopen(notification_t *self, s_plan_t *plan, const ls_match_event_pb *event)
{
    if (zhashx_size(self->declined) == 0)
        return;
    char pair[300];
    s_pair_key(event->match->subject_id, event->match->candidate_id, pair, sizeof pair);
    const ls_interest_pb *held = zhashx_lookup(self->declined, pair);
    if (!held)
        return;
    ls_interest_pb state = *held;
    if (interest_on_match(&state, event->kind, event->match->score, &self->interest) !=
        INTEREST_CHANGED)
        return;
    for (const char *p = zlistx_first(plan->reopened); p; p = zlistx_next(plan->reopened))
        if (strcmp(p, pair) == 0)
            return; /* both lists' events of one change: once is enough */
    uint64_t expected = state.version;
    state.version++;
    state.updated_at = ls_now_ms();
    size_t len;
    uint8_t *packed = ls_codec_pack_buffer(&state.base, &len);
    s_arg_str(plan, "X");
    s_arg_str(plan, pair);
    s_arg_u64(plan, expected);
    s_arg_u64(plan, state.version);
    s_arg(plan, packed, len);
    plan->ops++;
    free(packed);
    zlistx_add_end(plan->reopened, pair);
}

/* Plans the notifications of match journal entry seq; false when it is unusable
 * (logged; it is recorded as done with its batch so the journal moves on). */
static bool s_plan_match(notification_t *self, uint64_t seq, const uint8_t *payload, size_t len,
                         s_plan_t *plan)
{
    const char *reason = NULL;
    ls_match_event_pb *event =
        (ls_match_event_pb *)ls_codec_unpack(&lodestone__v1__match_event__descriptor, payload, len,
                                             (size_t)self->config->max_message_bytes, &reason);
    if (!event || !event->match || !subs_recipient_valid(event->match->subject_id)) {
        LS_ERROR("match journal entry %llu is unusable (%s); skipped", (unsigned long long)seq,
                 event ? "no usable recipient in it" : reason);
        if (event)
            lodestone__v1__match_event__free_unpacked(event, NULL);
        return false;
    }
    char id[32];
    snprintf(id, sizeof id, "n-%llu", (unsigned long long)seq);
    char *text = s_match_text(event);
    ls_notification_pb note = LODESTONE__V1__NOTIFICATION__INIT;
    note.id = id;
    note.kind = LODESTONE__V1__NOTIFICATION__KIND__MATCH;
    note.recipient = event->match->subject_id;
    note.match_seq = seq;
    note.event = event;
    note.text = text;
    note.at = ls_now_ms();
    s_entry_begin(plan, seq);
    if (!subs_replaces_default(self->subs, note.recipient)) {
        size_t n;
        uint8_t *packed = ls_codec_pack_buffer(&note.base, &n);
        s_op_inbox(plan, note.recipient, packed, n);
        char topic[160];
        snprintf(topic, sizeof topic, "to/%s/", note.recipient);
        s_feed(plan, topic, packed, n);
        if (event->subject && *event->subject->region) {
            snprintf(topic, sizeof topic, "region/%s/", event->subject->region);
            s_feed(plan, topic, packed, n);
        }
        free(packed);
    }
    s_route_t route = {self, plan, &note, id};
    subs_for_event(self->subs, event, s_route_match, &route);
    s_plan_reopen(self, plan, event);
    s_entry_end(plan);
    zstr_free(&text);
    lodestone__v1__match_event__free_unpacked(event, NULL);
    return true;
}

/* Delivers a batch of journal entries through plan_entry and the checkpoint in one
 * Lua step, then sends the feed. */
static int s_deliver_batch(notification_t *self, ls_follower_t *follower,
                           const ls_follower_entry_t *entries, size_t count,
                           bool (*plan_entry)(notification_t *, uint64_t, const uint8_t *, size_t,
                                              s_plan_t *))
{
    s_plan_t plan;
    s_plan_init(&plan);
    for (size_t i = 0; i < count; i++)
        plan_entry(self, entries[i].seq, entries[i].payload, entries[i].len, &plan);
    char last[24], now[24], bound[24];
    snprintf(last, sizeof last, "%llu", (unsigned long long)entries[count - 1].seq);
    snprintf(now, sizeof now, "%lld", (long long)ls_now_ms());
    snprintf(bound, sizeof bound, "%ld", self->config->inbox_max);
    const char *fixed[] = {ls_follower_checkpoint_key(follower), last, now, bound};
    long long written = s_execute(self, &s_deliver_script, 1, fixed, NULL, 4, &plan);
    if (written >= 0) {
        s_send_feed(self, &plan);
        s_count(self, &plan);
        self->delivered += (uint64_t)written;
        for (const char *pair = zlistx_first(plan.reopened); pair;
             pair = zlistx_next(plan.reopened))
            zhashx_delete(self->declined, pair);
    }
    s_plan_free(&plan);
    return written >= 0 ? 0 : -1;
}

static int s_apply_matches(ls_follower_t *follower, const ls_follower_entry_t *entries,
                           size_t count, void *arg)
{
    return s_deliver_batch(arg, follower, entries, count, s_plan_match);
}

/* ---------------------------------------------------------------------------
 * Postings: opportunities seen for the first time (version 1), active and open */

static const char *s_opportunity_kind_name(Lodestone__V1__Opportunity__Kind kind)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&lodestone__v1__opportunity__kind__descriptor, kind);
    return v ? v->name : "opportunity";
}

typedef struct {
    notification_t *self;
    s_plan_t *plan;
    ls_notification_pb *note;
    uint64_t seq;
} s_posting_route_t;

static void s_route_posting(const ls_subscription_pb *csub, void *arg)
{
    s_posting_route_t *r = arg;
    ls_subscription_pb *sub = (ls_subscription_pb *)csub;
    char id[200];
    snprintf(id, sizeof id, "p-%llu-%s", (unsigned long long)r->seq, sub->id);
    ls_notification_pb note = *r->note;
    note.id = id;
    note.recipient = sub->recipient;
    note.subscription_id = sub->id;
    Lodestone__V1__DigestItem item = LODESTONE__V1__DIGEST_ITEM__INIT;
    item.notification_id = id;
    item.text = note.text;
    item.opportunity_id = note.posting->id;
    s_deliver_sub(r->self, r->plan, sub, &note, &item);
}

static bool s_plan_posting(notification_t *self, uint64_t seq, const uint8_t *payload, size_t len,
                           s_plan_t *plan)
{
    const char *reason = NULL;
    ls_change_event_pb *change = (ls_change_event_pb *)ls_codec_unpack(
        &lodestone__v1__change_event__descriptor, payload, len,
        (size_t)self->config->max_message_bytes, &reason);
    if (!change) {
        LS_ERROR("change journal entry %llu is unusable (%s); skipped", (unsigned long long)seq,
                 reason);
        return false;
    }
    s_entry_begin(plan, seq);
    if (change->op == LODESTONE__V1__CHANGE_EVENT__OP__ERASE &&
        subs_recipient_valid(change->entity_id)) {
        /* Erasure: the entity's inbox goes (and inbox_add writes none for its
         * tombstone, so match events still on their way do not bring it back). */
        s_arg_str(plan, "Z");
        s_arg_str(plan, change->entity_id);
        plan->ops++;
    }
    ls_opportunity_pb *o =
        change->entity && change->entity->body_case == LODESTONE__V1__ENTITY__BODY_OPPORTUNITY
            ? change->entity->opportunity
            : NULL;
    if (change->op == LODESTONE__V1__CHANGE_EVENT__OP__UPSERT && o && change->version == 1 &&
        ls_change_event_meta(change) == 0 &&
        o->state == LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_ACTIVE &&
        o->status == LODESTONE__V1__OPPORTUNITY__STATUS__OPEN) {
        ls_contact_pb *contact = o->contact;
        o->contact = NULL; /* personal data does not travel in postings */
        char id[32];
        snprintf(id, sizeof id, "p-%llu", (unsigned long long)seq);
        char *text = zsys_sprintf("New posting: %s (%s), %s in %s", o->title, o->id,
                                  s_opportunity_kind_name(o->kind), *o->region ? o->region : "-");
        ls_notification_pb note = LODESTONE__V1__NOTIFICATION__INIT;
        note.id = id;
        note.kind = LODESTONE__V1__NOTIFICATION__KIND__POSTING;
        note.recipient = "";
        note.posting = o;
        note.text = text;
        note.at = ls_now_ms();
        if (*o->region) {
            size_t n;
            uint8_t *packed = ls_codec_pack_buffer(&note.base, &n);
            char topic[160];
            snprintf(topic, sizeof topic, "region/%s/", o->region);
            s_feed(plan, topic, packed, n);
            free(packed);
        }
        s_posting_route_t route = {self, plan, &note, seq};
        subs_for_posting(self->subs, o, s_route_posting, &route);
        zstr_free(&text);
        o->contact = contact;
    }
    s_entry_end(plan);
    lodestone__v1__change_event__free_unpacked(change, NULL);
    return true;
}

static int s_apply_postings(ls_follower_t *follower, const ls_follower_entry_t *entries,
                            size_t count, void *arg)
{
    return s_deliver_batch(arg, follower, entries, count, s_plan_posting);
}

/* ---------------------------------------------------------------------------
 * Digests: on the tick, each subscription whose period has ended gets one
 * notification listing its items, written with the items' removal in one step. */

static void s_flush_one(notification_t *self, const char *sub_id, int64_t due)
{
    ls_subscription_pb *sub = (ls_subscription_pb *)subs_get(self->subs, sub_id);
    if (!sub) { /* unsubscribed after the items came: nothing to deliver to */
        redisReply *r = ls_store_command(self->store, "ZREM %s %s", LS_KEY_DIGEST_DUE, sub_id);
        if (r)
            freeReplyObject(r);
        return;
    }
    char key[200];
    snprintf(key, sizeof key, LS_KEY_DIGEST "%s", sub_id);
    redisReply *items =
        ls_store_command(self->store, "LRANGE %s 0 %d", key, S_DIGEST_ITEMS_MAX - 1);
    redisReply *overflow =
        ls_store_command(self->store, "HGET %s %s", LS_KEY_DIGEST_OVERFLOW, sub_id);
    if (!items || items->type != REDIS_REPLY_ARRAY) {
        if (items)
            freeReplyObject(items);
        if (overflow)
            freeReplyObject(overflow);
        return; /* the store is down: the digest stays due */
    }
    size_t n = items->elements;
    Lodestone__V1__DigestItem **list = calloc(n + 1, sizeof *list);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        const char *reason = NULL;
        list[kept] = (Lodestone__V1__DigestItem *)ls_codec_unpack(
            &lodestone__v1__digest_item__descriptor, items->element[i]->str, items->element[i]->len,
            (size_t)self->config->max_message_bytes, &reason);
        if (list[kept])
            kept++;
        else
            LS_WARN("digest of %s: an item is unusable (%s); left out", sub_id, reason);
    }
    long long more = overflow && overflow->type == REDIS_REPLY_STRING ? atoll(overflow->str) : 0;
    int64_t period = s_period_ms(self, sub);
    char label[32], id[200], at[24], taken[24], next[24], now_text[24], bound[24];
    digest_period_label(s_weekly(sub), due - period, label, sizeof label);
    snprintf(id, sizeof id, "d-%s-%lld", sub_id, (long long)due);
    char *text = zsys_sprintf(
        "%s digest for %s: %zu notification%s%s",
        sub->digest == LODESTONE__V1__SUBSCRIPTION__DIGEST__DIGEST_WEEKLY ? "Weekly" : "Daily",
        label, kept + (size_t)more, kept + (size_t)more == 1 ? "" : "s",
        more ? " (the first ones listed)" : "");
    ls_notification_pb note = LODESTONE__V1__NOTIFICATION__INIT;
    note.id = id;
    note.kind = LODESTONE__V1__NOTIFICATION__KIND__DIGEST;
    note.recipient = sub->recipient;
    note.subscription_id = sub->id;
    note.text = text;
    note.at = ls_now_ms();
    note.digest = list;
    note.n_digest = kept;
    note.digest_period = label;
    s_plan_t plan;
    s_plan_init(&plan);
    s_entry_begin(&plan, 1);
    s_deliver_channels(&plan, sub, &note);
    s_entry_end(&plan);
    int64_t now = ls_now_ms();
    snprintf(at, sizeof at, "%lld", (long long)due);
    snprintf(taken, sizeof taken, "%zu", n);
    snprintf(next, sizeof next, "%lld",
             (long long)(due + period > now ? due + period : s_period_end(self, sub, now)));
    snprintf(now_text, sizeof now_text, "%lld", (long long)now);
    snprintf(bound, sizeof bound, "%ld", self->config->inbox_max);
    const char *fixed[] = {sub_id, at, taken, next, now_text, bound};
    if (s_execute(self, &s_flush_script, 0, fixed, NULL, 6, &plan) >= 0) {
        s_send_feed(self, &plan);
        s_count(self, &plan);
        ls_series_add(ls_metric_with(self->notes, "digest", "sent"), 1);
        self->delivered++;
    }
    s_plan_free(&plan);
    zstr_free(&text);
    for (size_t i = 0; i < kept; i++)
        lodestone__v1__digest_item__free_unpacked(list[i], NULL);
    free(list);
    freeReplyObject(items);
    if (overflow)
        freeReplyObject(overflow);
}

static void s_flush_digests(notification_t *self)
{
    redisReply *due =
        ls_store_command(self->store, "ZRANGEBYSCORE %s -inf %lld WITHSCORES LIMIT 0 16",
                         LS_KEY_DIGEST_DUE, (long long)ls_now_ms());
    for (size_t i = 0; due && due->type == REDIS_REPLY_ARRAY && i + 1 < due->elements; i += 2)
        s_flush_one(self, due->element[i]->str, atoll(due->element[i + 1]->str));
    if (due)
        freeReplyObject(due);
}

/* ---------------------------------------------------------------------------
 * Requests */

static void s_reply_body(notification_t *self, ls_rpc_request_t *req, ls_reply_pb *reply)
{
    ls_rpc_reply(self->router, req, reply);
}

/* The publisher of req, or NULL after answering FORBIDDEN. */
static const char *s_publisher(notification_t *self, ls_rpc_request_t *req)
{
    const char *publisher = ls_service_publisher(self->config, req);
    if (!publisher)
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__FORBIDDEN,
                            "publisher: this connection may not act as '%.64s'",
                            req->request->publisher);
    return publisher;
}

static bool s_admin(notification_t *self, const char *publisher)
{
    return strcmp(publisher, self->config->admin_publisher) == 0;
}

/* What publisher may do with the entity of this id. An erased entity's tombstone
 * counts as no entity; the admin publisher owns every entity. */
typedef enum {
    S_STORE_DOWN = -1,
    S_NO_ENTITY = 0,
    S_OWNED = 1,
    S_OTHERS = 2,
} s_access_t;

static s_access_t s_entity_access(notification_t *self, const char *publisher, const char *id)
{
    redisReply *r = ls_store_command(self->store, "HMGET %s%s owner state", LS_KEY_ENTITY, id);
    s_access_t access = S_STORE_DOWN;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        redisReply *owner = r->element[0], *state = r->element[1];
        if (owner->type != REDIS_REPLY_STRING ||
            (state->type == REDIS_REPLY_STRING && strcmp(state->str, "2") == 0))
            access = S_NO_ENTITY;
        else
            access =
                strcmp(owner->str, publisher) == 0 || s_admin(self, publisher) ? S_OWNED : S_OTHERS;
    }
    if (r)
        freeReplyObject(r);
    return access;
}

static void s_unavailable(notification_t *self, ls_rpc_request_t *req)
{
    ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                        "the store is unavailable; retry later");
}

/* KEYS: none. ARGV: idempotency key ("" = none), id, owner, packed (no secret),
 * secret. Returns the id stored for the idempotency key when it was used before,
 * else the new id. */
static ls_script_t s_subscribe_script = LS_SCRIPT(
    "if ARGV[1] ~= '' then\n"
    "  local earlier = redis.call('GET', ARGV[1])\n"
    "  if earlier then return earlier end\n"
    "end\n"
    "local id, owner = ARGV[2], ARGV[3]\n"
    "redis.call('SET', '" LS_KEY_SUB "' .. id, ARGV[4])\n"
    "if ARGV[5] ~= '' then redis.call('SET', '" LS_KEY_SUB_SECRET "' .. id, ARGV[5]) end\n"
    "redis.call('SADD', '" LS_KEY_SUBS "', id)\n"
    "redis.call('SADD', '" LS_KEY_SUBS_OWNER "' .. owner, id)\n"
    "if ARGV[1] ~= '' then redis.call('SET', ARGV[1], id, 'EX', 86400) end\n"
    "return id\n");

/* ARGV: id, owner. Removes the subscription, its secret (pending webhook deliveries
 * are dropped when they find none) and its digest. */
static ls_script_t s_unsubscribe_script =
    LS_SCRIPT("local id, owner = ARGV[1], ARGV[2]\n"
              "redis.call('DEL', '" LS_KEY_SUB "' .. id, '" LS_KEY_SUB_SECRET "' .. id,\n"
              "           '" LS_KEY_DIGEST "' .. id)\n"
              "redis.call('SREM', '" LS_KEY_SUBS "', id)\n"
              "redis.call('SREM', '" LS_KEY_SUBS_OWNER "' .. owner, id)\n"
              "redis.call('ZREM', '" LS_KEY_DIGEST_DUE "', id)\n"
              "redis.call('HDEL', '" LS_KEY_DIGEST_OVERFLOW "', id)\n"
              "return 1\n");

static void s_handle_subscribe(notification_t *self, ls_rpc_request_t *req)
{
    const char *publisher = s_publisher(self, req);
    if (!publisher)
        return;
    ls_subscription_pb *asked = req->request->subscribe->subscription;
    ls_subscription_pb empty = LODESTONE__V1__SUBSCRIPTION__INIT;
    if (!asked)
        asked = &empty;
    ls_errors_t *errors = ls_errors_new();
    subs_validate(asked, self->taxonomy, errors);
    if (ls_errors_count(errors) == 0 && *asked->entity_id) {
        s_access_t access = s_entity_access(self, publisher, asked->entity_id);
        if (access == S_STORE_DOWN) {
            ls_errors_destroy(&errors);
            s_unavailable(self, req);
            return;
        }
        if (access == S_NO_ENTITY)
            ls_errors_add(errors, "entityId", "no entity %.64s", asked->entity_id);
        else if (access == S_OTHERS)
            ls_errors_add(errors, "entityId", "%.64s belongs to another publisher",
                          asked->entity_id);
    }
    /* Whoever may read an inbox is decided by its recipient: an entity's inbox is its
     * owner's, and any other name belongs to the first publisher that uses it. An id
     * that could be an entity's (sme-, inv-, opp-) must be an entity it owns. */
    if (ls_errors_count(errors) == 0) {
        s_access_t access = s_entity_access(self, publisher, asked->recipient);
        const char *claimed = subs_recipient_owner(self->subs, asked->recipient);
        if (access == S_STORE_DOWN) {
            ls_errors_destroy(&errors);
            s_unavailable(self, req);
            return;
        }
        bool admin = s_admin(self, publisher);
        if (access == S_OTHERS)
            ls_errors_add(errors, "recipient", "%.64s is an entity of another publisher",
                          asked->recipient);
        else if (access == S_NO_ENTITY && ls_entity_kind_of_id(asked->recipient) !=
                                              LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_UNSPECIFIED)
            ls_errors_add(errors, "recipient",
                          "%.64s looks like an entity id but there is no such entity",
                          asked->recipient);
        else if (access == S_NO_ENTITY && claimed && strcmp(claimed, publisher) != 0 && !admin)
            ls_errors_add(errors, "recipient", "%.64s is used by another publisher",
                          asked->recipient);
    }
    if (ls_errors_count(errors) == 0 &&
        subs_count_of_owner(self->subs, publisher) >= SUBS_PER_OWNER_MAX)
        ls_errors_add(errors, "subscription", "a publisher has at most %d subscriptions",
                      SUBS_PER_OWNER_MAX);
    if (ls_errors_count(errors)) {
        ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
        ls_status_pb status = LODESTONE__V1__STATUS__INIT;
        ls_errors_fill(errors, &status);
        reply.status = &status;
        s_reply_body(self, req, &reply);
        ls_errors_destroy(&errors);
        return;
    }
    ls_errors_destroy(&errors);
    redisReply *next = ls_store_command(self->store, "INCR %ssub", LS_KEY_NEXT);
    if (!next || next->type != REDIS_REPLY_INTEGER) {
        if (next)
            freeReplyObject(next);
        s_unavailable(self, req);
        return;
    }
    char id[32];
    snprintf(id, sizeof id, "sub-%lld", next->integer);
    freeReplyObject(next);
    ls_subscription_pb sub = *asked;
    ls_channels_pb channels = *asked->channels;
    const char *secret = channels.webhook_secret;
    channels.webhook_secret = "";
    sub.channels = &channels;
    sub.id = id;
    sub.owner = (char *)publisher;
    sub.created_at = ls_now_ms();
    size_t len;
    uint8_t *packed = ls_codec_pack_buffer(&sub.base, &len);
    char idem[512] = "";
    if (*req->request->request_id)
        snprintf(idem, sizeof idem, LS_KEY_IDEM_NOTIFICATION "%s:%s", publisher,
                 req->request->request_id);
    const char *argv[] = {idem, id, publisher, (const char *)packed, secret};
    size_t lens[] = {strlen(idem), strlen(id), strlen(publisher), len, strlen(secret)};
    redisReply *r = ls_store_eval(self->store, &s_subscribe_script, 0, 5, argv, lens);
    if (!r || r->type != REDIS_REPLY_STRING) {
        if (r)
            freeReplyObject(r);
        free(packed);
        s_unavailable(self, req);
        return;
    }
    if (strcmp(r->str, id) == 0) { /* new: index it (a copy of its own) */
        ls_subscription_pb *copy = (ls_subscription_pb *)ls_codec_unpack(
            &lodestone__v1__subscription__descriptor, packed, len, SIZE_MAX, NULL);
        if (copy)
            subs_put(self->subs, copy);
        LS_INFO("subscription %s for %s created by %s", id, sub.recipient, publisher);
    }
    const ls_subscription_pb *stored = subs_get(self->subs, r->str);
    freeReplyObject(r);
    free(packed);
    if (!stored) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INTERNAL,
                            "the subscription was stored but is not loaded");
        return;
    }
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_SUBSCRIPTION;
    reply.subscription = (ls_subscription_pb *)stored; /* held without its secret */
    s_reply_body(self, req, &reply);
}

typedef struct {
    const ls_subscription_pb **items;
    size_t count, capacity;
} s_sub_list_t;

static void s_collect_sub(const ls_subscription_pb *sub, void *arg)
{
    s_sub_list_t *l = arg;
    if (l->count == l->capacity) {
        l->capacity = l->capacity ? l->capacity * 2 : 16;
        l->items = realloc(l->items, l->capacity * sizeof *l->items);
    }
    l->items[l->count++] = sub;
}

static void s_handle_list(notification_t *self, ls_rpc_request_t *req)
{
    const char *publisher = s_publisher(self, req);
    if (!publisher)
        return;
    s_sub_list_t l = {0};
    subs_of_owner(self->subs, publisher, req->request->subscriptions->recipient, s_collect_sub, &l);
    Lodestone__V1__SubscriptionList reply_list = LODESTONE__V1__SUBSCRIPTION_LIST__INIT;
    reply_list.subscriptions = (ls_subscription_pb **)l.items; /* held without secrets */
    reply_list.n_subscriptions = l.count;
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_SUBSCRIPTIONS;
    reply.subscriptions = &reply_list;
    s_reply_body(self, req, &reply);
    free(l.items);
}

static void s_handle_unsubscribe(notification_t *self, ls_rpc_request_t *req)
{
    const char *publisher = s_publisher(self, req);
    if (!publisher)
        return;
    const char *id = req->request->unsubscribe->id;
    const ls_subscription_pb *sub = subs_get(self->subs, id);
    if (!sub) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__NOT_FOUND,
                            "id: no subscription %.64s", id);
        return;
    }
    if (strcmp(sub->owner, publisher) != 0 && !s_admin(self, publisher)) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__FORBIDDEN,
                            "id: %.64s belongs to another publisher", id);
        return;
    }
    const char *argv[] = {sub->id, sub->owner};
    size_t lens[] = {strlen(sub->id), strlen(sub->owner)};
    redisReply *r = ls_store_eval(self->store, &s_unsubscribe_script, 0, 2, argv, lens);
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        if (r)
            freeReplyObject(r);
        s_unavailable(self, req);
        return;
    }
    freeReplyObject(r);
    LS_INFO("subscription %s deleted by %s", id, publisher);
    subs_remove(self->subs, id);
    ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__OK, "deleted");
}

/* True when publisher may read recipient's inbox: the admin, the owner of the entity
 * of that id, or the owner of a subscription with that recipient. -1: store down. */
typedef struct {
    const char *recipient;
    bool found;
} s_recipient_t;

static void s_has_recipient(const ls_subscription_pb *sub, void *arg)
{
    s_recipient_t *r = arg;
    r->found = r->found || strcmp(sub->recipient, r->recipient) == 0;
}

static int s_may_read(notification_t *self, const char *publisher, const char *recipient)
{
    if (s_admin(self, publisher))
        return 1;
    s_recipient_t r = {recipient, false};
    subs_of_owner(self->subs, publisher, recipient, s_has_recipient, &r);
    if (r.found)
        return 1;
    s_access_t access = s_entity_access(self, publisher, recipient);
    return access == S_STORE_DOWN ? -1 : access == S_OWNED;
}

static bool s_cursor_valid(const char *cursor)
{
    if (!*cursor)
        return true;
    size_t digits = strspn(cursor, "0123456789");
    if (digits == 0 || digits > 20 || cursor[digits] != '-')
        return false;
    size_t seq = strspn(cursor + digits + 1, "0123456789");
    return seq > 0 && seq <= 20 && cursor[digits + 1 + seq] == '\0';
}

/* KEYS: inbox, ack key, dropped key. ARGV: ack ("" = none), since ("" = after the
 * acknowledged cursor), limit. Acknowledging never moves the cursor back, and
 * removes the acknowledged entries. Returns {entries, ack, pending, dropped}. */
static ls_script_t s_inbox_script =
    LS_SCRIPT(S_STREAM_ID_LUA
              "local ack = redis.call('GET', KEYS[2]) or '0-0'\n"
              "if ARGV[1] ~= '' and stream_id_gt(ARGV[1], ack) then\n"
              "  ack = ARGV[1]\n"
              "  redis.call('SET', KEYS[2], ack)\n"
              "  local ms, seq = string.match(ack, '^(%d+)-(%d+)$')\n"
              "  redis.call('XTRIM', KEYS[1], 'MINID', ms .. '-' .. (tonumber(seq) + 1))\n"
              "end\n"
              "local since = ARGV[2]\n"
              "if since == '' or stream_id_gt(ack, since) then since = ack end\n"
              "local entries = redis.call('XRANGE', KEYS[1], '(' .. since, '+', 'COUNT', ARGV[3])\n"
              "local pending = #redis.call('XRANGE', KEYS[1], '(' .. ack, '+', 'COUNT', 1)\n"
              "if pending > 0 then pending = redis.call('XLEN', KEYS[1]) end\n"
              "return {entries, ack, pending, tonumber(redis.call('GET', KEYS[3]) or '0')}\n");

static void s_handle_inbox(notification_t *self, ls_rpc_request_t *req)
{
    const char *publisher = s_publisher(self, req);
    if (!publisher)
        return;
    Lodestone__V1__ReadInbox *q = req->request->inbox;
    ls_errors_t *errors = ls_errors_new();
    if (!subs_recipient_valid(q->recipient))
        ls_errors_add(errors, "recipient", "1 to %d characters of letters, digits and . _ : @ -",
                      SUBS_RECIPIENT_MAX);
    if (!s_cursor_valid(q->since))
        ls_errors_add(errors, "since", "a cursor as returned in nextCursor (\"<ms>-<n>\")");
    if (!s_cursor_valid(q->ack))
        ls_errors_add(errors, "ack", "a cursor as returned in nextCursor (\"<ms>-<n>\")");
    if (q->limit > S_INBOX_LIMIT_MAX)
        ls_errors_add(errors, "limit", "at most %d", S_INBOX_LIMIT_MAX);
    if (ls_errors_count(errors)) {
        ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
        ls_status_pb status = LODESTONE__V1__STATUS__INIT;
        ls_errors_fill(errors, &status);
        reply.status = &status;
        s_reply_body(self, req, &reply);
        ls_errors_destroy(&errors);
        return;
    }
    ls_errors_destroy(&errors);
    int may = s_may_read(self, publisher, q->recipient);
    if (may < 0) {
        s_unavailable(self, req);
        return;
    }
    if (!may) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__FORBIDDEN,
                            "recipient: %s is neither an entity nor a subscription recipient of "
                            "publisher %.64s",
                            q->recipient, publisher);
        return;
    }
    char inbox[200], ack_key[200], dropped_key[200], limit[16];
    snprintf(inbox, sizeof inbox, LS_KEY_INBOX "%s", q->recipient);
    snprintf(ack_key, sizeof ack_key, LS_KEY_INBOX_ACK "%s", q->recipient);
    snprintf(dropped_key, sizeof dropped_key, LS_KEY_INBOX_DROPPED "%s", q->recipient);
    snprintf(limit, sizeof limit, "%u", q->limit ? q->limit : 100);
    const char *argv[] = {inbox, ack_key, dropped_key, q->ack, q->since, limit};
    size_t lens[6];
    for (size_t i = 0; i < 6; i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = ls_store_eval(self->store, &s_inbox_script, 3, 6, argv, lens);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
        r->element[0]->type != REDIS_REPLY_ARRAY) {
        if (r && r->type == REDIS_REPLY_ERROR)
            LS_WARN("inbox %s: %s", q->recipient, r->str);
        if (r)
            freeReplyObject(r);
        s_unavailable(self, req);
        return;
    }
    redisReply *entries = r->element[0];
    ls_notification_pb **notes = calloc(entries->elements + 1, sizeof *notes);
    size_t n = 0;
    const char *last = "";
    for (size_t i = 0; i < entries->elements; i++) {
        redisReply *e = entries->element[i]; /* [id, [field, value]] */
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[1]->elements != 2)
            continue;
        last = e->element[0]->str;
        redisReply *value = e->element[1]->element[1];
        notes[n] = (ls_notification_pb *)ls_codec_unpack(&lodestone__v1__notification__descriptor,
                                                         value->str, value->len, SIZE_MAX, NULL);
        if (notes[n])
            n++;
    }
    Lodestone__V1__Inbox box = LODESTONE__V1__INBOX__INIT;
    box.recipient = q->recipient;
    box.notifications = notes;
    box.n_notifications = n;
    box.next_cursor = (char *)last;
    box.acked = r->element[1]->type == REDIS_REPLY_STRING ? r->element[1]->str : "";
    box.pending = r->element[2]->type == REDIS_REPLY_INTEGER ? (uint64_t)r->element[2]->integer : 0;
    box.dropped = r->element[3]->type == REDIS_REPLY_INTEGER ? (uint64_t)r->element[3]->integer : 0;
    box.bound = (uint64_t)self->config->inbox_max;
    if (strcmp(box.acked, "0-0") == 0)
        box.acked = "";
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_INBOX;
    reply.inbox = &box;
    s_reply_body(self, req, &reply);
    for (size_t i = 0; i < n; i++)
        lodestone__v1__notification__free_unpacked(notes[i], NULL);
    free(notes);
    freeReplyObject(r);
}

/* Dead letters: of one subscription its owner may see and replay; all of them only
 * the admin. */
static bool s_may_see_letters(notification_t *self, ls_rpc_request_t *req, const char *publisher,
                              const char *sub_id)
{
    if (s_admin(self, publisher))
        return true;
    const ls_subscription_pb *sub = *sub_id ? subs_get(self->subs, sub_id) : NULL;
    if (!*sub_id)
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__FORBIDDEN,
                            "subscriptionId: name one of your subscriptions (only %s sees all)",
                            self->config->admin_publisher);
    else if (!sub)
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__NOT_FOUND,
                            "subscriptionId: no subscription %.64s", sub_id);
    else if (strcmp(sub->owner, publisher) != 0)
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__FORBIDDEN,
                            "subscriptionId: %.64s belongs to another publisher", sub_id);
    else
        return true;
    return false;
}

static void s_handle_dead_letters(notification_t *self, ls_rpc_request_t *req)
{
    const char *publisher = s_publisher(self, req);
    Lodestone__V1__ListDeadLetters *q = req->request->dead_letters;
    if (!publisher || !s_may_see_letters(self, req, publisher, q->subscription_id))
        return;
    Lodestone__V1__DeadLetterList list = LODESTONE__V1__DEAD_LETTER_LIST__INIT;
    size_t limit = q->limit ? (q->limit > 1000 ? 1000 : q->limit) : 100;
    if (webhook_dead_list(self->store, q->subscription_id, limit, &list)) {
        s_unavailable(self, req);
        return;
    }
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_DEAD_LETTERS;
    reply.dead_letters = &list;
    s_reply_body(self, req, &reply);
    webhook_dead_list_clear(&list);
}

static void s_handle_replay(notification_t *self, ls_rpc_request_t *req)
{
    const char *publisher = s_publisher(self, req);
    Lodestone__V1__ReplayDeadLetters *q = req->request->replay;
    if (!publisher || !s_may_see_letters(self, req, publisher, q->subscription_id))
        return;
    if (q->n_delivery_ids > S_REPLAY_IDS_MAX) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INVALID,
                            "deliveryIds: at most %d at a time (none: every dead letter)",
                            S_REPLAY_IDS_MAX);
        return;
    }
    long n =
        webhook_dead_replay(self->store, q->subscription_id, (const char *const *)q->delivery_ids,
                            q->n_delivery_ids, ls_now_ms());
    if (n < 0) {
        s_unavailable(self, req);
        return;
    }
    LS_INFO("%ld dead letters replayed by %s", n, publisher);
    Lodestone__V1__Replayed replayed = LODESTONE__V1__REPLAYED__INIT;
    replayed.count = (uint64_t)n;
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_REPLAYED;
    reply.replayed = &replayed;
    s_reply_body(self, req, &reply);
}

/* ---------------------------------------------------------------------------
 * Expression of interest (interest.h): requests, timers, introductions */

/* KEYS: none. ARGV: pair, expected version, version, packed state, reminder time,
 * expiry time ("0": none), declined ("1"/"0"), now, inbox bound, then one entry of
 * operations delivering the notices. Returns -1 when the state changed meanwhile. */
static ls_script_t s_interest_script =
    LS_SCRIPT(S_OPS_LUA "if not interest_store(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5],\n"
                        "                      ARGV[6], ARGV[7]) then return -1 end\n"
                        "return run_ops(10, #ARGV, ARGV[8], tonumber(ARGV[9]), 0)\n");

static const char *s_entity_name(const ls_entity_pb *e)
{
    switch (e->body_case) {
    case LODESTONE__V1__ENTITY__BODY_SME:
        return e->sme->name;
    case LODESTONE__V1__ENTITY__BODY_INVESTOR:
        return e->investor->name;
    case LODESTONE__V1__ENTITY__BODY_OPPORTUNITY:
        return *e->opportunity->title ? e->opportunity->title : e->opportunity->organisation;
    default:
        return "";
    }
}

static const char *s_entity_owner_of(const ls_entity_pb *e)
{
    switch (e->body_case) {
    case LODESTONE__V1__ENTITY__BODY_SME:
        return e->sme->owner;
    case LODESTONE__V1__ENTITY__BODY_INVESTOR:
        return e->investor->owner;
    case LODESTONE__V1__ENTITY__BODY_OPPORTUNITY:
        return e->opportunity->owner;
    default:
        return "";
    }
}

/* The contact an introduction may carry: an SME's or investor's when it consented
 * to sharing it; an opportunity's always (it was published with the call). */
static ls_contact_pb *s_shared_contact(const ls_entity_pb *e)
{
    switch (e->body_case) {
    case LODESTONE__V1__ENTITY__BODY_SME:
        return e->sme->consent_share_contact ? e->sme->contact : NULL;
    case LODESTONE__V1__ENTITY__BODY_INVESTOR:
        return e->investor->consent_share_contact ? e->investor->contact : NULL;
    case LODESTONE__V1__ENTITY__BODY_OPPORTUNITY:
        return e->opportunity->contact;
    default:
        return NULL;
    }
}

typedef struct {
    notification_t *self;
    s_plan_t *plan;
    ls_notification_pb *note;
} s_entity_route_t;

static void s_route_entity(const ls_subscription_pb *csub, void *arg)
{
    s_entity_route_t *r = arg;
    ls_subscription_pb *sub = (ls_subscription_pb *)csub;
    char id[300];
    snprintf(id, sizeof id, "%s-%s", r->note->id, sub->id);
    ls_notification_pb note = *r->note;
    note.id = id;
    note.recipient = sub->recipient;
    note.subscription_id = sub->id;
    s_deliver_channels(r->plan, sub, &note); /* at once, also for digest subscriptions */
}

/* Delivers note (id set) to an entity as its own match events are: its inbox and
 * feed unless an entity subscription for itself replaces them, and every entity
 * subscription of it. */
static void s_deliver_entity(notification_t *self, s_plan_t *plan, const char *entity,
                             ls_notification_pb *note)
{
    note->recipient = (char *)entity;
    if (!subs_replaces_default(self->subs, entity)) {
        size_t len;
        uint8_t *packed = ls_codec_pack_buffer(&note->base, &len);
        s_op_inbox(plan, entity, packed, len);
        char topic[160];
        snprintf(topic, sizeof topic, "to/%s/", entity);
        s_feed(plan, topic, packed, len);
        free(packed);
    }
    s_entity_route_t route = {self, plan, note};
    subs_of_entity(self->subs, entity, s_route_entity, &route);
}

/* Plans one notice: its notification, with the other side's name and, for an
 * introduction, its contact when shared (else the regional system to ask). */
static void s_plan_notice(notification_t *self, s_plan_t *plan, ls_interest_pb *state,
                          const interest_notice_t *notice)
{
    ls_entity_pb *other = NULL;
    ls_entity_load(self->store, notice->other, true, &other); /* NULL: erased since */
    const char *name = other ? s_entity_name(other) : notice->other;
    char id[300];
    snprintf(id, sizeof id, "i-%s-%s-v%llu-%s", state->a, state->b,
             (unsigned long long)state->version, notice->to);
    ls_notification_pb note = LODESTONE__V1__NOTIFICATION__INIT;
    Lodestone__V1__Introduction intro = LODESTONE__V1__INTRODUCTION__INIT;
    note.id = id;
    note.at = ls_now_ms();
    note.interest = state;
    char *text = NULL;
    switch (notice->what) {
    case INTEREST_TELL_REQUEST:
        note.kind = LODESTONE__V1__NOTIFICATION__KIND__INTEREST;
        text = zsys_sprintf("%s (%s) is interested in your match (score %.2f). Answer before "
                            "the request expires: interested or not interested.",
                            name, notice->other, state->score);
        break;
    case INTEREST_TELL_REMINDER:
        note.kind = LODESTONE__V1__NOTIFICATION__KIND__INTEREST_REMINDER;
        text = zsys_sprintf("Reminder: %s (%s) is waiting for your answer; the request "
                            "expires soon.",
                            name, notice->other);
        break;
    case INTEREST_TELL_EXPIRED:
        note.kind = LODESTONE__V1__NOTIFICATION__KIND__INTEREST_EXPIRED;
        text = zsys_sprintf("The interest between you and %s (%s) expired unanswered.", name,
                            notice->other);
        break;
    case INTEREST_TELL_INTRODUCTION: {
        note.kind = LODESTONE__V1__NOTIFICATION__KIND__INTRODUCTION;
        ls_contact_pb *contact = other ? s_shared_contact(other) : NULL;
        intro.other_id = (char *)notice->other;
        intro.other_name = (char *)name;
        intro.other_kind = ls_entity_kind_of_id(notice->other);
        intro.score = state->score;
        intro.contact = contact;
        intro.contact_shared = contact != NULL;
        intro.via = contact || !other ? "" : (char *)s_entity_owner_of(other);
        note.introduction = &intro;
        text = contact ? zsys_sprintf("You and %s (%s) are both interested: meet them. Contact: "
                                      "%s %s %s.",
                                      name, notice->other, contact->name, contact->email,
                                      contact->phone)
                       : zsys_sprintf("You and %s (%s) are both interested. They have not "
                                      "consented to share their contact: %s, their regional "
                                      "system, makes the introduction.",
                                      name, notice->other, intro.via);
        break;
    }
    }
    note.text = text;
    s_deliver_entity(self, plan, notice->to, &note);
    zstr_free(&text);
    if (other)
        lodestone__v1__entity__free_unpacked(other, NULL);
}

/* Stores state (it was at version `expected`) with its notices delivered, in one
 * step, and keeps the declined pairs in memory. Returns 1 when stored, 0 when the
 * state changed meanwhile, -1 on a store failure. */
static int s_interest_commit(notification_t *self, ls_interest_pb *state, uint64_t expected,
                             const interest_notice_t *notices, size_t n)
{
    state->version = expected + 1;
    s_plan_t plan;
    s_plan_init(&plan);
    s_entry_begin(&plan, 1);
    for (size_t i = 0; i < n; i++)
        s_plan_notice(self, &plan, state, &notices[i]);
    s_entry_end(&plan);
    size_t len;
    uint8_t *packed = ls_codec_pack_buffer(&state->base, &len);
    char pair[300], expected_text[24], version[24], remind[24], expire[24], now[24], bound[24];
    s_pair_key(state->a, state->b, pair, sizeof pair);
    snprintf(expected_text, sizeof expected_text, "%llu", (unsigned long long)expected);
    snprintf(version, sizeof version, "%llu", (unsigned long long)state->version);
    snprintf(remind, sizeof remind, "%lld", (long long)interest_remind_at(state, &self->interest));
    snprintf(expire, sizeof expire, "%lld", (long long)interest_expire_at(state));
    snprintf(now, sizeof now, "%lld", (long long)ls_now_ms());
    snprintf(bound, sizeof bound, "%ld", self->config->inbox_max);
    bool declined = state->state == LODESTONE__V1__INTEREST__STATE__DECLINED;
    const char *fixed[] = {
        pair, expected_text, version, (const char *)packed, remind, expire, declined ? "1" : "0",
        now,  bound};
    size_t lens[9];
    for (size_t i = 0; i < 9; i++)
        lens[i] = i == 3 ? len : strlen(fixed[i]);
    long long rc = s_execute(self, &s_interest_script, 0, fixed, lens, 9, &plan);
    if (rc >= 0) {
        s_send_feed(self, &plan);
        self->delivered += (uint64_t)rc;
        if (declined) {
            ls_interest_pb *copy = (ls_interest_pb *)ls_codec_unpack(
                &lodestone__v1__interest__descriptor, packed, len, SIZE_MAX, NULL);
            if (copy)
                zhashx_update(self->declined, pair, copy);
        } else
            zhashx_delete(self->declined, pair);
    }
    free(packed);
    s_plan_free(&plan);
    return rc >= 0 ? 1 : rc == S_FAILED ? -1 : 0;
}

/* Reads the pair's state into *out (unpacked; the caller frees it) or NULL when it
 * has none. Returns 0, or -1 on a store failure or a corrupt record. */
static int s_interest_load(notification_t *self, const char *pair, ls_interest_pb **out)
{
    *out = NULL;
    redisReply *r = ls_store_command(self->store, "HGET %s%s d", LS_KEY_EOI, pair);
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        if (r)
            freeReplyObject(r);
        return -1;
    }
    int rc = 0;
    if (r->type == REDIS_REPLY_STRING) {
        *out = (ls_interest_pb *)ls_codec_unpack(&lodestone__v1__interest__descriptor, r->str,
                                                 r->len, SIZE_MAX, NULL);
        rc = *out ? 0 : -1;
        if (rc)
            LS_ERROR("interest %s is corrupt", pair);
    }
    freeReplyObject(r);
    return rc;
}

/* The score of the current match of subject and candidate (either list), or -1
 * when they are not matched; -2 on a store failure. */
static double s_match_score(notification_t *self, const char *subject, const char *candidate)
{
    const char *pairs[2][2] = {{subject, candidate}, {candidate, subject}};
    for (int i = 0; i < 2; i++) {
        redisReply *r =
            ls_store_command(self->store, "HGET %s%s %s", LS_KEY_MATCHES, pairs[i][0], pairs[i][1]);
        if (!r)
            return -2;
        double score = -1;
        if (r->type == REDIS_REPLY_STRING) {
            ls_match_pb *m = (ls_match_pb *)ls_codec_unpack(&lodestone__v1__match__descriptor,
                                                            r->str, r->len, SIZE_MAX, NULL);
            if (m) {
                score = m->score;
                lodestone__v1__match__free_unpacked(m, NULL);
            }
        }
        freeReplyObject(r);
        if (score >= 0)
            return score;
    }
    return -1;
}

static void s_reply_interest(notification_t *self, ls_rpc_request_t *req, ls_interest_pb *state)
{
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_INTEREST;
    reply.interest = state;
    s_reply_body(self, req, &reply);
}

/* Checks the publisher may act for subject; answers and returns false otherwise. */
static bool s_acts_for(notification_t *self, ls_rpc_request_t *req, const char *publisher,
                       const char *subject, const char *candidate)
{
    if (!*subject || strlen(subject) > 64 || !*candidate || strlen(candidate) > 64 ||
        strcmp(subject, candidate) == 0) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INVALID,
                            "subjectId, candidateId: two different entity ids are required");
        return false;
    }
    s_access_t access = s_entity_access(self, publisher, subject);
    if (access == S_STORE_DOWN)
        s_unavailable(self, req);
    else if (access == S_NO_ENTITY)
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__NOT_FOUND,
                            "subjectId: no entity %.64s", subject);
    else if (access == S_OTHERS)
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__FORBIDDEN,
                            "subjectId: %.64s belongs to another publisher", subject);
    else
        return true;
    return false;
}

static void s_handle_interest(notification_t *self, ls_rpc_request_t *req)
{
    const char *publisher = s_publisher(self, req);
    Lodestone__V1__ExpressInterest *q = req->request->interest;
    if (!publisher || !s_acts_for(self, req, publisher, q->subject_id, q->candidate_id))
        return;
    double score = s_match_score(self, q->subject_id, q->candidate_id);
    if (score < -1.5) {
        s_unavailable(self, req);
        return;
    }
    if (score < 0) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__FAILED_PRECONDITION,
                            "%.64s and %.64s are not matched: interest is expressed in a "
                            "current match",
                            q->subject_id, q->candidate_id);
        return;
    }
    char pair[300];
    s_pair_key(q->subject_id, q->candidate_id, pair, sizeof pair);
    for (int attempt = 0; attempt < 3; attempt++) {
        ls_interest_pb *held = NULL;
        if (s_interest_load(self, pair, &held)) {
            s_unavailable(self, req);
            return;
        }
        ls_interest_pb state = LODESTONE__V1__INTEREST__INIT;
        if (held)
            state = *held;
        else
            interest_order(q->subject_id, q->candidate_id, (const char **)&state.a,
                           (const char **)&state.b);
        uint64_t expected = state.version;
        interest_notice_t notices[2];
        size_t n = 0;
        const char *refusal = NULL;
        interest_result_t result =
            interest_answer(&state, q->subject_id, q->interested, score, ls_now_ms(),
                            &self->interest, notices, &n, &refusal);
        int rc = 1;
        if (result == INTEREST_REFUSED)
            ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__FAILED_PRECONDITION,
                                "%s", refusal);
        else if (result == INTEREST_UNCHANGED)
            s_reply_interest(self, req, &state);
        else if ((rc = s_interest_commit(self, &state, expected, notices, n)) == 1) {
            LS_INFO("interest %s: %s says %s", pair, q->subject_id,
                    q->interested ? "interested" : "not interested");
            s_reply_interest(self, req, &state);
        } else if (rc < 0)
            s_unavailable(self, req);
        if (held)
            lodestone__v1__interest__free_unpacked(held, NULL);
        if (rc != 0)
            return;
        /* 0: changed meanwhile (another instance): read it again */
    }
    ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__CONFLICT,
                        "the pair kept changing; retry");
}

static void s_handle_get_interest(notification_t *self, ls_rpc_request_t *req)
{
    const char *publisher = s_publisher(self, req);
    Lodestone__V1__GetInterest *q = req->request->get_interest;
    if (!publisher || !s_acts_for(self, req, publisher, q->subject_id, q->candidate_id))
        return;
    char pair[300];
    s_pair_key(q->subject_id, q->candidate_id, pair, sizeof pair);
    ls_interest_pb *held = NULL;
    if (s_interest_load(self, pair, &held)) {
        s_unavailable(self, req);
        return;
    }
    ls_interest_pb fresh = LODESTONE__V1__INTEREST__INIT;
    interest_order(q->subject_id, q->candidate_id, (const char **)&fresh.a,
                   (const char **)&fresh.b);
    s_reply_interest(self, req, held ? held : &fresh);
    if (held)
        lodestone__v1__interest__free_unpacked(held, NULL);
}

/* Reminders and expiries that are due, at most 32 of each per tick. */
static void s_interest_timers(notification_t *self)
{
    const char *sets[] = {LS_KEY_EOI_REMIND, LS_KEY_EOI_EXPIRE};
    for (int s = 0; s < 2; s++) {
        redisReply *due = ls_store_command(self->store, "ZRANGEBYSCORE %s -inf %lld LIMIT 0 32",
                                           sets[s], (long long)ls_now_ms());
        for (size_t i = 0; due && due->type == REDIS_REPLY_ARRAY && i < due->elements; i++) {
            const char *pair = due->element[i]->str;
            ls_interest_pb *held = NULL;
            if (s_interest_load(self, pair, &held) || !held) {
                if (!held) { /* a stale entry: nothing to remind of */
                    redisReply *r = ls_store_command(self->store, "ZREM %s %s", sets[s], pair);
                    if (r)
                        freeReplyObject(r);
                }
                continue;
            }
            ls_interest_pb state = *held;
            interest_notice_t notices[2];
            size_t n = 0;
            if (interest_on_timer(&state, ls_now_ms(), &self->interest, notices, &n) ==
                INTEREST_CHANGED)
                s_interest_commit(self, &state, held->version, notices, n);
            else { /* nothing due after all: put the pair where its state says */
                int64_t at =
                    s == 0 ? interest_remind_at(held, &self->interest) : interest_expire_at(held);
                redisReply *r = at ? ls_store_command(self->store, "ZADD %s %lld %s", sets[s],
                                                      (long long)at, pair)
                                   : ls_store_command(self->store, "ZREM %s %s", sets[s], pair);
                if (r)
                    freeReplyObject(r);
            }
            lodestone__v1__interest__free_unpacked(held, NULL);
        }
        if (due)
            freeReplyObject(due);
    }
}

/* The declined pairs, for reopening when their match changes. */
static int s_load_declined(notification_t *self)
{
    redisReply *pairs = ls_store_command(self->store, "SMEMBERS %s", LS_KEY_EOI_DECLINED);
    if (!pairs || pairs->type != REDIS_REPLY_ARRAY) {
        if (pairs)
            freeReplyObject(pairs);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < pairs->elements && rc == 0; i++) {
        ls_interest_pb *held = NULL;
        rc = s_interest_load(self, pairs->element[i]->str, &held);
        if (held)
            zhashx_update(self->declined, pairs->element[i]->str, held);
    }
    freeReplyObject(pairs);
    return rc;
}

static void s_handle_ping(notification_t *self, ls_rpc_request_t *req)
{
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    Lodestone__V1__Pong pong = LODESTONE__V1__PONG__INIT;
    pong.service = "notification";
    pong.version = LS_VERSION_TEXT;
    pong.seq = ls_follower_position(self->follower);
    pong.instances = 1;
    if (ls_journal_latest(self->store, &LS_JOURNAL_MATCHES, &pong.journal_latest)) {
        s_unavailable(self, req);
        return;
    }
    reply.body_case = LODESTONE__V1__REPLY__BODY_PONG;
    reply.pong = &pong;
    s_reply_body(self, req, &reply);
}

static void s_handle(notification_t *self, ls_rpc_request_t *req)
{
    switch (req->request->body_case) {
    case LODESTONE__V1__ENVELOPE__BODY_PING:
        s_handle_ping(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_SUBSCRIBE:
        s_handle_subscribe(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_SUBSCRIPTIONS:
        s_handle_list(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_UNSUBSCRIBE:
        s_handle_unsubscribe(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_INBOX:
        s_handle_inbox(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_DEAD_LETTERS:
        s_handle_dead_letters(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_REPLAY:
        s_handle_replay(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_INTEREST:
        s_handle_interest(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_GET_INTEREST:
        s_handle_get_interest(self, req);
        break;
    default:
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNSUPPORTED,
                            "notification does not serve this request");
    }
}

/* ---------------------------------------------------------------------------
 * Life cycle */

/* Loads every subscription from Redis. Returns 0, or -1 when the store failed. */
static int s_load_subs(notification_t *self)
{
    redisReply *ids = ls_store_command(self->store, "SMEMBERS %s", LS_KEY_SUBS);
    if (!ids || ids->type != REDIS_REPLY_ARRAY) {
        if (ids)
            freeReplyObject(ids);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < ids->elements && rc == 0; i++) {
        const char *id = ids->element[i]->str;
        redisReply *packed = ls_store_command(self->store, "GET %s%s", LS_KEY_SUB, id);
        if (!packed)
            rc = -1;
        else if (packed->type == REDIS_REPLY_STRING) {
            const char *reason = NULL;
            ls_subscription_pb *sub =
                (ls_subscription_pb *)ls_codec_unpack(&lodestone__v1__subscription__descriptor,
                                                      packed->str, packed->len, SIZE_MAX, &reason);
            if (sub && sub->channels)
                subs_put(self->subs, sub);
            else {
                LS_ERROR("subscription %s is unusable (%s); not served", id,
                         reason ? reason : "no channels");
                if (sub)
                    lodestone__v1__subscription__free_unpacked(sub, NULL);
            }
        }
        if (packed)
            freeReplyObject(packed);
    }
    freeReplyObject(ids);
    return rc;
}

/* Postings are new to subscribers from the first start on: a first start begins
 * at the change journal's end rather than notifying the whole history. */
static int s_postings_origin(notification_t *self)
{
    uint64_t latest = 0;
    if (ls_journal_latest(self->store, &LS_JOURNAL_CHANGES, &latest))
        return -1;
    redisReply *r = ls_store_command(self->store, "SET %s %llu NX", S_CHECKPOINT_POSTINGS,
                                     (unsigned long long)latest);
    int rc = r && r->type != REDIS_REPLY_ERROR ? 0 : -1;
    if (r)
        freeReplyObject(r);
    return rc;
}

static void s_interest_destructor(void **item)
{
    if (*item)
        lodestone__v1__interest__free_unpacked(*item, NULL);
    *item = NULL;
}

/* The service's own metrics; the loop adds requests, health and the followers'. */
static int s_metrics_new(notification_t *self)
{
    static const char *const pairs[][2] = {{"inbox", "written"},  {"feed", "published"},
                                           {"webhook", "queued"}, {"webhook", "delivered"},
                                           {"webhook", "dead"},   {"webhook", "dropped"},
                                           {"digest", "item"},    {"digest", "sent"}};
    self->metrics = ls_metrics_new("notification");
    self->notes = ls_metrics_counter(self->metrics, "lodestone_notifications_total",
                                     "Notifications by channel and outcome", "channel,outcome");
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        ls_metric_with(self->notes, pairs[i][0], pairs[i][1]);
    self->webhook_attempts_failed =
        ls_metrics_counter(self->metrics, "lodestone_webhook_attempts_failed_total",
                           "Webhook attempts answered other than 2xx, or not answered", NULL);
    self->webhook_retries =
        ls_metrics_counter(self->metrics, "lodestone_webhook_retries_total",
                           "Failed webhook deliveries scheduled for another attempt", NULL);
    self->webhook_in_flight = ls_metrics_gauge(self->metrics, "lodestone_webhook_in_flight",
                                               "Webhook requests open now", NULL);
    return self->webhook_in_flight ? 0 : -1;
}

/* Copies the webhook thread's counters into the metrics. */
static void s_webhook_metrics(notification_t *self)
{
    webhook_stats_t st;
    if (!self->webhook)
        return;
    webhook_stats(self->webhook, &st);
    ls_series_set(ls_metric_with(self->notes, "webhook", "delivered"), (double)st.delivered);
    ls_series_set(ls_metric_with(self->notes, "webhook", "dead"), (double)st.dead);
    ls_series_set(ls_metric_with(self->notes, "webhook", "dropped"), (double)st.dropped);
    ls_series_set(ls_metric_with(self->webhook_attempts_failed), (double)st.attempts_failed);
    ls_series_set(ls_metric_with(self->webhook_retries), (double)st.retries_scheduled);
    ls_series_set(ls_metric_with(self->webhook_in_flight), st.in_flight);
}

notification_t *notification_new(const ls_config_t *config)
{
    notification_t *self = calloc(1, sizeof *self);
    char err[512];
    self->config = config;
    self->taxonomy = ls_taxonomy_load(config->data_dir, err, sizeof err);
    if (!self->taxonomy) {
        LS_ERROR("%s", err);
        notification_destroy(&self);
        return NULL;
    }
    self->subs = subs_new(self->taxonomy);
    self->declined = zhashx_new();
    zhashx_set_destructor(self->declined, s_interest_destructor);
    self->interest =
        (interest_config_t){config->interest_ttl_s * 1000, config->interest_reminder_s * 1000,
                            config->interest_material_delta};
    self->store = ls_store_new(config->redis_url, -1, err, sizeof err);
    if (!self->store) {
        LS_ERROR("%s", err);
        notification_destroy(&self);
        return NULL;
    }
    self->follower = ls_follower_new(self->store, &LS_JOURNAL_MATCHES, S_CHECKPOINT, NULL, self);
    self->postings =
        ls_follower_new(self->store, &LS_JOURNAL_CHANGES, S_CHECKPOINT_POSTINGS, NULL, self);
    if (self->follower) {
        ls_follower_set_batch(self->follower, s_apply_matches, S_BATCH_MAX);
        ls_follower_set_trim(self->follower, (uint64_t)config->journal_keep);
    }
    if (self->postings) {
        ls_follower_set_batch(self->postings, s_apply_postings, S_BATCH_MAX);
        ls_follower_set_trim(self->postings, (uint64_t)config->journal_keep);
    }
    self->guard = ls_guard_new(config, err, sizeof err);
    if (!self->guard) {
        LS_ERROR("%s", err);
        notification_destroy(&self);
        return NULL;
    }
    self->router = zsock_new(ZMQ_ROUTER);
    self->pull = zsock_new(ZMQ_PULL);
    self->pub = zsock_new(ZMQ_PUB);
    self->changes = zsock_new(ZMQ_SUB);
    if (!self->follower || !self->postings || !self->router || !self->pull || !self->pub ||
        !self->changes || s_metrics_new(self)) {
        notification_destroy(&self);
        return NULL;
    }
    /* The feed faces subscribers as the router faces clients; the PULL of match events
     * and the SUB of changes stay inside the deployment's network. */
    ls_guard_secure(self->guard, self->router);
    ls_guard_secure(self->guard, self->pub);
    zsock_set_maxmsgsize(self->router, config->max_message_bytes);
    zsock_set_maxmsgsize(self->pull, config->max_message_bytes);
    zsock_set_maxmsgsize(self->changes, config->max_message_bytes);
    zsock_set_rcvhwm(self->changes, 100000);
    zsock_set_sndhwm(self->pub, 100000);
    zsock_set_subscribe(self->changes, LS_JOURNAL_CHANGES.name);
    if (zsock_bind(self->router, "%s", config->notification_bind) < 0 ||
        zsock_bind(self->pull, "%s", config->notification_pull_bind) < 0 ||
        zsock_bind(self->pub, "%s", config->notification_pub_bind) < 0 ||
        zsock_connect(self->changes, "%s", config->registry_pub_endpoint) < 0) {
        LS_ERROR("cannot bind %s, %s, %s or connect to %s: %s", config->notification_bind,
                 config->notification_pull_bind, config->notification_pub_bind,
                 config->registry_pub_endpoint, zmq_strerror(zmq_errno()));
        notification_destroy(&self);
        return NULL;
    }
    LS_INFO("notification ready: requests on %s, match events on %s, feed on %s, changes from %s",
            config->notification_bind, config->notification_pull_bind,
            config->notification_pub_bind, config->registry_pub_endpoint);
    return self;
}

void notification_destroy(notification_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    notification_t *self = *self_p;
    webhook_destroy(&self->webhook);
    zsock_destroy(&self->router);
    zsock_destroy(&self->pull);
    zsock_destroy(&self->pub);
    zsock_destroy(&self->changes);
    ls_guard_destroy(&self->guard);
    ls_follower_destroy(&self->follower);
    ls_follower_destroy(&self->postings);
    ls_store_destroy(&self->store);
    subs_destroy(&self->subs);
    zhashx_destroy(&self->declined);
    ls_taxonomy_destroy(&self->taxonomy);
    ls_metrics_destroy(&self->metrics);
    free(self);
    *self_p = NULL;
}

static void s_on_request(void *arg, ls_rpc_request_t *req)
{
    s_handle(arg, req);
}

/* Feeds the live message and those already waiting behind it, then delivers them
 * as one batch: under load one Redis step carries many events. */
static void s_drain(ls_follower_t *follower, zsock_t *sock, zmsg_t *msg)
{
    ls_follower_on_message(follower, msg);
    for (size_t n = 1; n < S_BATCH_MAX && (zsock_events(sock) & ZMQ_POLLIN); n++) {
        zmsg_t *next = zmsg_recv(sock);
        if (!next)
            break;
        ls_follower_on_message(follower, next);
        zmsg_destroy(&next);
    }
    ls_follower_flush(follower);
}

static void s_on_input(void *arg, zmsg_t *msg)
{
    notification_t *self = arg;
    s_drain(self->follower, self->pull, msg);
}

static void s_on_changes(void *arg, zmsg_t *msg)
{
    notification_t *self = arg;
    s_drain(self->postings, self->changes, msg);
}

static int s_on_tick(void *arg)
{
    notification_t *self = arg;
    int more = ls_follower_tick(self->follower) > 0;
    more = (ls_follower_tick(self->postings) > 0) || more;
    s_flush_digests(self);
    s_interest_timers(self);
    s_webhook_metrics(self);
    if (ls_mono_ms() >= self->next_trim) {
        self->next_trim = ls_mono_ms() + 10000;
        ls_journal_trim(self->store, &LS_JOURNAL_INTEREST, (uint64_t)self->config->journal_keep);
    }
    return more;
}

int notification_run(notification_t *self)
{
    /* The Clone pattern: the PULL and SUB sockets are connected before the catch-up,
     * so nothing sent meanwhile is missed; duplicates are dropped by the followers. */
    while (!zsys_interrupted &&
           (s_load_subs(self) || s_load_declined(self) || s_postings_origin(self) ||
            ls_follower_start(self->follower) || ls_follower_start(self->postings)))
        zclock_sleep(1000);
    if (zsys_interrupted)
        return 0;
    LS_INFO("%zu subscriptions loaded", subs_count(self->subs));
    while (!zsys_interrupted && !(self->webhook = webhook_new(self->config)))
        zclock_sleep(1000); /* logged by webhook_new; Redis answered a moment ago */
    ls_service_loop_t loop = {.router = self->router,
                              .config = self->config,
                              .guard = self->guard,
                              .max_bytes = (size_t)self->config->max_message_bytes,
                              .on_request = s_on_request,
                              .input = self->pull,
                              .on_input = s_on_input,
                              .input2 = self->changes,
                              .on_input2 = s_on_changes,
                              .tick_ms = self->config->heartbeat_ms,
                              .on_tick = s_on_tick,
                              .arg = self,
                              .metrics = self->metrics,
                              .http_bind = self->config->notification_http_bind,
                              .store = self->store,
                              .followers = {{self->follower, LS_JOURNAL_MATCHES.name},
                                            {self->postings, LS_JOURNAL_CHANGES.name}}};
    int rc = ls_service_run(&loop);
    LS_INFO("notification stopping after %llu notifications", (unsigned long long)self->delivered);
    return rc;
}
