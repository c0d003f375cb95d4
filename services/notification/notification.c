/* notification.c — turns match events and new postings into notifications.
 *
 * Two journal followers feed it: the match journal (matching's events) and the
 * change journal (new opportunity postings for filter subscriptions, erasures).
 * Each batch of entries becomes one delivery step (delivery.h): every inbox entry,
 * webhook delivery and digest item of the batch written together with the
 * follower's checkpoint, then the live feed. Webhooks are sent by webhook.c from
 * the queue the step fills; digests are flushed on the tick. The requests are
 * requests.c's, the interest workflow eoi.c's (notification_impl.h).
 *
 * Who receives what (docs/notification.md):
 *   - an entity's own match events go to its inbox and to the feed topic
 *     "to/<entity>/" (and "region/<NUTS>/"), unless a subscription whose recipient
 *     is the entity itself governs them;
 *   - every subscription an event reaches delivers it on the subscription's
 *     channels, under the id "<event id>-<subscription id>", or adds it to the
 *     subscription's digest. */
#include <czmq.h>
#include <string.h>

#include "digest.h"
#include "ls_codec.h"
#include "ls_entity.h"
#include "ls_journal.h"
#include "ls_keys.h"
#include "ls_log.h"
#include "ls_service.h"
#include "ls_util.h"
#include "notification_impl.h"

#define S_CHECKPOINT LS_KEY_CHECKPOINT "notification"
#define S_CHECKPOINT_POSTINGS LS_KEY_CHECKPOINT "notification-postings"
#define S_BATCH_MAX 256 /* journal entries delivered per Redis step */

/* KEYS: checkpoint. ARGV: last seq, now (ms), inbox bound, then the plan. Returns
 * the operations written. */
static ls_script_t s_deliver_script = LS_SCRIPT(
    DELIVERY_OPS_LUA "local done = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
                     "local written = run_ops(4, #ARGV, ARGV[2], tonumber(ARGV[3]), done)\n"
                     "if tonumber(ARGV[1]) > done then redis.call('SET', KEYS[1], ARGV[1]) end\n"
                     "return written\n");

/* A digest flush. ARGV: subscription id, the period end it was due at, items
 * taken, the next period's end, now, inbox bound, then one entry of operations
 * (seq 1) delivering the digest. Skipped (returns -1) when the due time moved. */
static ls_script_t s_flush_script = LS_SCRIPT(
    DELIVERY_OPS_LUA "local sub, due = ARGV[1], ARGV[2]\n"
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

void notification_written(notification_t *self, const delivery_plan_t *plan, uint64_t written)
{
    delivery_send_feed(plan, self->pub);
    ls_series_add(ls_metric_with(self->notes, "inbox", "written"), plan->inbox);
    ls_series_add(ls_metric_with(self->notes, "feed", "published"), zlistx_size(plan->feed));
    ls_series_add(ls_metric_with(self->notes, "webhook", "queued"), plan->webhook);
    ls_series_add(ls_metric_with(self->notes, "digest", "item"), plan->digest);
    self->delivered += written;
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

static int64_t s_period_ms(const notification_t *self, const ls_subscription_pb *sub)
{
    return digest_period_ms(s_day_ms(self), s_weekly(sub));
}

static int64_t s_period_end(const notification_t *self, const ls_subscription_pb *sub, int64_t now)
{
    return digest_period_end(s_day_ms(self), s_weekly(sub), now);
}

/* ---------------------------------------------------------------------------
 * Notifications for the subscriptions an event or a posting reaches */

typedef struct {
    notification_t *self;
    delivery_plan_t *plan;
    const ls_notification_pb *note; /* the event's own, re-addressed per subscription */
} s_route_t;

/* Delivers the note on sub's channels, or adds it to sub's digest. */
static void s_route(const ls_subscription_pb *sub, void *arg)
{
    s_route_t *r = arg;
    char id[200];
    ls_notification_pb note;
    delivery_readdress(r->note, sub, id, sizeof id, &note);
    if (sub->digest == LODESTONE__V1__SUBSCRIPTION__DIGEST__DIGEST_NONE) {
        delivery_channels(r->plan, sub, &note);
        return;
    }
    Lodestone__V1__DigestItem item = LODESTONE__V1__DIGEST_ITEM__INIT;
    item.notification_id = id;
    item.text = note.text;
    if (note.event)
        item.match = note.event->match;
    if (note.posting)
        item.opportunity_id = note.posting->id;
    delivery_digest(r->plan, sub->id, &item, s_period_end(r->self, sub, ls_now_ms()));
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

/* Plans the notifications of match journal entry seq; false when it is unusable
 * (logged; it is recorded as done with its batch so the journal moves on). */
static bool s_plan_match(notification_t *self, uint64_t seq, const uint8_t *payload, size_t len,
                         delivery_plan_t *plan)
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
    ls_notification_pb note = LODESTONE__V1__NOTIFICATION__INIT;
    note.id = id;
    note.kind = LODESTONE__V1__NOTIFICATION__KIND__MATCH;
    note.recipient = event->match->subject_id;
    note.match_seq = seq;
    note.event = event;
    note.text = s_match_text(event);
    note.at = ls_now_ms();
    delivery_entry_begin(plan, seq);
    if (!subs_replaces_default(self->subs, note.recipient))
        delivery_default(plan, &note, event->subject ? event->subject->region : NULL);
    s_route_t route = {self, plan, &note};
    subs_for_event(self->subs, event, s_route, &route);
    eoi_plan_reopen(self, plan, event);
    delivery_entry_end(plan);
    zstr_free(&note.text);
    lodestone__v1__match_event__free_unpacked(event, NULL);
    return true;
}

typedef bool(s_plan_fn)(notification_t *self, uint64_t seq, const uint8_t *payload, size_t len,
                        delivery_plan_t *plan);

/* Delivers a batch of journal entries, each planned by plan_entry, and the
 * checkpoint in one step, then sends the feed. */
static int s_deliver_batch(notification_t *self, ls_follower_t *follower,
                           const ls_follower_entry_t *entries, size_t count, s_plan_fn *plan_entry)
{
    delivery_plan_t plan;
    delivery_plan_init(&plan);
    for (size_t i = 0; i < count; i++)
        plan_entry(self, entries[i].seq, entries[i].payload, entries[i].len, &plan);
    char last[24], now[24], bound[24];
    snprintf(last, sizeof last, "%llu", (unsigned long long)entries[count - 1].seq);
    snprintf(now, sizeof now, "%lld", (long long)ls_now_ms());
    snprintf(bound, sizeof bound, "%ld", self->config->inbox_max);
    const char *fixed[] = {ls_follower_checkpoint_key(follower), last, now, bound};
    long long written = delivery_execute(self->store, &s_deliver_script, 1, fixed, NULL, 4, &plan);
    if (written >= 0) {
        notification_written(self, &plan, (uint64_t)written);
        eoi_reopened(self, &plan);
    }
    delivery_plan_free(&plan);
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

/* The opportunity a change posts, or NULL when it posts none. */
static ls_opportunity_pb *s_posted(ls_change_event_pb *change)
{
    ls_opportunity_pb *o =
        change->entity && change->entity->body_case == LODESTONE__V1__ENTITY__BODY_OPPORTUNITY
            ? change->entity->opportunity
            : NULL;
    if (change->op == LODESTONE__V1__CHANGE_EVENT__OP__UPSERT && o && change->version == 1 &&
        ls_change_event_meta(change) == 0 &&
        o->state == LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_ACTIVE &&
        o->status == LODESTONE__V1__OPPORTUNITY__STATUS__OPEN)
        return o;
    return NULL;
}

/* Plans the notifications of posting o (journal entry seq): the region's feed and
 * the filter subscriptions it passes. */
static void s_plan_posted(notification_t *self, uint64_t seq, ls_opportunity_pb *o,
                          delivery_plan_t *plan)
{
    ls_contact_pb *contact = o->contact;
    o->contact = NULL; /* personal data does not travel in postings */
    char id[32];
    snprintf(id, sizeof id, "p-%llu", (unsigned long long)seq);
    ls_notification_pb note = LODESTONE__V1__NOTIFICATION__INIT;
    note.id = id;
    note.kind = LODESTONE__V1__NOTIFICATION__KIND__POSTING;
    note.recipient = "";
    note.posting = o;
    note.text = zsys_sprintf("New posting: %s (%s), %s in %s", o->title, o->id,
                             s_opportunity_kind_name(o->kind), *o->region ? o->region : "-");
    note.at = ls_now_ms();
    if (*o->region) {
        size_t n;
        uint8_t *packed = ls_codec_pack_buffer(&note.base, &n);
        char topic[160];
        snprintf(topic, sizeof topic, "region/%s/", o->region);
        delivery_feed(plan, topic, packed, n);
        free(packed);
    }
    s_route_t route = {self, plan, &note};
    subs_for_posting(self->subs, o, s_route, &route);
    zstr_free(&note.text);
    o->contact = contact;
}

static bool s_plan_posting(notification_t *self, uint64_t seq, const uint8_t *payload, size_t len,
                           delivery_plan_t *plan)
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
    delivery_entry_begin(plan, seq);
    /* Erasure: the entity's inbox goes (and inbox_add writes none for its tombstone,
     * so match events still on their way do not bring it back). */
    if (change->op == LODESTONE__V1__CHANGE_EVENT__OP__ERASE &&
        subs_recipient_valid(change->entity_id))
        delivery_erase(plan, change->entity_id);
    ls_opportunity_pb *o = s_posted(change);
    if (o)
        s_plan_posted(self, seq, o, plan);
    delivery_entry_end(plan);
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

typedef struct {
    Lodestone__V1__DigestItem **items; /* unpacked */
    size_t count;                      /* usable items */
    size_t taken;                      /* items read, usable or not */
    long long more;                    /* items beyond DELIVERY_DIGEST_MAX, counted only */
} s_digest_t;

static void s_digest_free(s_digest_t *d)
{
    for (size_t i = 0; i < d->count; i++)
        lodestone__v1__digest_item__free_unpacked(d->items[i], NULL);
    free(d->items);
}

/* Reads sub_id's digest items. -1 when the store failed (the digest stays due). */
static int s_digest_read(notification_t *self, const char *sub_id, s_digest_t *d)
{
    memset(d, 0, sizeof *d);
    char key[200];
    snprintf(key, sizeof key, LS_KEY_DIGEST "%s", sub_id);
    redisReply *items =
        ls_store_command(self->store, "LRANGE %s 0 %d", key, DELIVERY_DIGEST_MAX - 1);
    redisReply *overflow =
        ls_store_command(self->store, "HGET %s %s", LS_KEY_DIGEST_OVERFLOW, sub_id);
    int rc = -1;
    if (items && items->type == REDIS_REPLY_ARRAY &&
        (d->items = calloc(items->elements + 1, sizeof *d->items))) {
        rc = 0;
        d->taken = items->elements;
        for (size_t i = 0; i < items->elements; i++) {
            const char *reason = NULL;
            d->items[d->count] = (Lodestone__V1__DigestItem *)ls_codec_unpack(
                &lodestone__v1__digest_item__descriptor, items->element[i]->str,
                items->element[i]->len, (size_t)self->config->max_message_bytes, &reason);
            if (d->items[d->count])
                d->count++;
            else
                LS_WARN("digest of %s: an item is unusable (%s); left out", sub_id, reason);
        }
        d->more = overflow && overflow->type == REDIS_REPLY_STRING ? atoll(overflow->str) : 0;
    }
    if (items)
        freeReplyObject(items);
    if (overflow)
        freeReplyObject(overflow);
    return rc;
}

/* Writes the digest of sub due at `due` and moves it to the next period. */
static void s_flush_one(notification_t *self, const ls_subscription_pb *sub, int64_t due)
{
    s_digest_t d;
    if (s_digest_read(self, sub->id, &d))
        return;
    int64_t period = s_period_ms(self, sub);
    size_t total = d.count + (size_t)d.more;
    char label[32], id[200];
    digest_period_label(s_weekly(sub), due - period, label, sizeof label);
    snprintf(id, sizeof id, "d-%s-%lld", sub->id, (long long)due);
    ls_notification_pb note = LODESTONE__V1__NOTIFICATION__INIT;
    note.id = id;
    note.kind = LODESTONE__V1__NOTIFICATION__KIND__DIGEST;
    note.recipient = sub->recipient;
    note.subscription_id = sub->id;
    note.text =
        zsys_sprintf("%s digest for %s: %zu notification%s%s", s_weekly(sub) ? "Weekly" : "Daily",
                     label, total, total == 1 ? "" : "s", d.more ? " (the first ones listed)" : "");
    note.at = ls_now_ms();
    note.digest = d.items;
    note.n_digest = d.count;
    note.digest_period = label;
    delivery_plan_t plan;
    delivery_plan_init(&plan);
    delivery_entry_begin(&plan, 1);
    delivery_channels(&plan, sub, &note);
    delivery_entry_end(&plan);
    int64_t now = ls_now_ms();
    char at[24], taken[24], next[24], now_text[24], bound[24];
    snprintf(at, sizeof at, "%lld", (long long)due);
    snprintf(taken, sizeof taken, "%zu", d.taken);
    snprintf(next, sizeof next, "%lld",
             (long long)(due + period > now ? due + period : s_period_end(self, sub, now)));
    snprintf(now_text, sizeof now_text, "%lld", (long long)now);
    snprintf(bound, sizeof bound, "%ld", self->config->inbox_max);
    const char *fixed[] = {sub->id, at, taken, next, now_text, bound};
    if (delivery_execute(self->store, &s_flush_script, 0, fixed, NULL, 6, &plan) >= 0) {
        notification_written(self, &plan, 1);
        ls_series_add(ls_metric_with(self->notes, "digest", "sent"), 1);
    }
    delivery_plan_free(&plan);
    zstr_free(&note.text);
    s_digest_free(&d);
}

static void s_flush_digests(notification_t *self)
{
    redisReply *due =
        ls_store_command(self->store, "ZRANGEBYSCORE %s -inf %lld WITHSCORES LIMIT 0 16",
                         LS_KEY_DIGEST_DUE, (long long)ls_now_ms());
    for (size_t i = 0; due && due->type == REDIS_REPLY_ARRAY && i + 1 < due->elements; i += 2) {
        const char *sub_id = due->element[i]->str;
        const ls_subscription_pb *sub = subs_get(self->subs, sub_id);
        if (sub)
            s_flush_one(self, sub, atoll(due->element[i + 1]->str));
        else { /* unsubscribed after the items came: nothing to deliver to */
            redisReply *r = ls_store_command(self->store, "ZREM %s %s", LS_KEY_DIGEST_DUE, sub_id);
            if (r)
                freeReplyObject(r);
        }
    }
    if (due)
        freeReplyObject(due);
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
    requests_handle(arg, req);
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
    eoi_timers(self);
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
           (s_load_subs(self) || eoi_load_declined(self) || s_postings_origin(self) ||
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
