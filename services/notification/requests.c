/* requests.c — notification's requests: who may act, subscriptions (subscribe, list,
 * unsubscribe), inboxes (read and acknowledge), dead letters (list, replay), ping,
 * and the dispatch of every request (the interest requests are eoi.c's). Each
 * field a request carries is checked here, and a refusal names the field. */
#include <string.h>

#include "ls_codec.h"
#include "ls_entity.h"
#include "ls_journal.h"
#include "ls_keys.h"
#include "ls_log.h"
#include "ls_service.h"
#include "ls_util.h"
#include "notification_impl.h"

#define S_INBOX_LIMIT_MAX 1000
#define S_REPLAY_IDS_MAX 1000 /* delivery ids one ReplayDeadLetters may name */
#define S_SUB_ID_MAX 64       /* "sub-<n>" */

/* ---------------------------------------------------------------------------
 * Who may act */

const char *requests_publisher(notification_t *self, ls_rpc_request_t *req)
{
    const char *publisher = ls_service_publisher(self->config, req);
    if (!publisher)
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__FORBIDDEN,
                            "publisher: this connection may not act as '%.64s'",
                            req->request->publisher);
    return publisher;
}

static bool s_admin(const notification_t *self, const char *publisher)
{
    return strcmp(publisher, self->config->admin_publisher) == 0;
}

requests_access_t requests_entity_access(notification_t *self, const char *publisher,
                                         const char *id)
{
    redisReply *r = ls_store_command(self->store, "HMGET %s%s owner state", LS_KEY_ENTITY, id);
    requests_access_t access = REQUESTS_STORE_DOWN;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        redisReply *owner = r->element[0], *state = r->element[1];
        if (owner->type != REDIS_REPLY_STRING ||
            (state->type == REDIS_REPLY_STRING && strcmp(state->str, "2") == 0))
            access = REQUESTS_NO_ENTITY;
        else
            access = strcmp(owner->str, publisher) == 0 || s_admin(self, publisher)
                         ? REQUESTS_OWNED
                         : REQUESTS_OTHERS;
    }
    if (r)
        freeReplyObject(r);
    return access;
}

void requests_unavailable(notification_t *self, ls_rpc_request_t *req)
{
    ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                        "the store is unavailable; retry later");
}

/* Answers INVALID with the field errors when there are any; destroys *errors_p
 * either way. True when it answered. */
static bool s_reply_errors(notification_t *self, ls_rpc_request_t *req, ls_errors_t **errors_p)
{
    bool any = ls_errors_count(*errors_p) > 0;
    if (any)
        ls_rpc_reply_errors(self->router, req, *errors_p);
    ls_errors_destroy(errors_p);
    return any;
}

/* ---------------------------------------------------------------------------
 * Subscriptions */

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

/* Whoever may read an inbox is decided by its recipient: an entity's inbox is its
 * owner's, and any other name belongs to the first publisher that uses it. An id
 * that could be an entity's (sme-, inv-, opp-) must be an entity it owns. access:
 * the publisher's access to the entity of that id. */
static void s_check_recipient(notification_t *self, const char *publisher, const char *recipient,
                              requests_access_t access, ls_errors_t *errors)
{
    const char *claimed = subs_recipient_owner(self->subs, recipient);
    if (access == REQUESTS_OTHERS)
        ls_errors_add(errors, "recipient", "%.64s is an entity of another publisher", recipient);
    else if (access == REQUESTS_NO_ENTITY &&
             ls_entity_kind_of_id(recipient) != LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_UNSPECIFIED)
        ls_errors_add(errors, "recipient",
                      "%.64s looks like an entity id but there is no such entity", recipient);
    else if (access == REQUESTS_NO_ENTITY && claimed && strcmp(claimed, publisher) != 0 &&
             !s_admin(self, publisher))
        ls_errors_add(errors, "recipient", "%.64s is used by another publisher", recipient);
}

/* Checks what a valid subscription asks of the store and of the publisher's other
 * subscriptions: its entity is the publisher's, its recipient too, and it has room
 * for one more. Field errors go to errors. -1 when the store failed. */
static int s_check_subscription(notification_t *self, const char *publisher,
                                const ls_subscription_pb *asked, ls_errors_t *errors)
{
    requests_access_t entity = REQUESTS_NO_ENTITY;
    if (*asked->entity_id) {
        entity = requests_entity_access(self, publisher, asked->entity_id);
        if (entity == REQUESTS_STORE_DOWN)
            return -1;
        if (entity == REQUESTS_NO_ENTITY)
            ls_errors_add(errors, "entityId", "no entity %.64s", asked->entity_id);
        else if (entity == REQUESTS_OTHERS)
            ls_errors_add(errors, "entityId", "%.64s belongs to another publisher",
                          asked->entity_id);
        if (ls_errors_count(errors))
            return 0;
    }
    /* An entity subscribed to for itself was looked up already. */
    requests_access_t access = *asked->entity_id && strcmp(asked->recipient, asked->entity_id) == 0
                                   ? entity
                                   : requests_entity_access(self, publisher, asked->recipient);
    if (access == REQUESTS_STORE_DOWN)
        return -1;
    s_check_recipient(self, publisher, asked->recipient, access, errors);
    if (ls_errors_count(errors) == 0 &&
        subs_count_of_owner(self->subs, publisher) >= SUBS_PER_OWNER_MAX)
        ls_errors_add(errors, "subscription", "a publisher has at most %d subscriptions",
                      SUBS_PER_OWNER_MAX);
    return 0;
}

/* Writes asked as a new subscription of publisher (once per request id) and
 * indexes it. Returns the one stored (the earlier one for a retried request), or
 * NULL after answering. */
static const ls_subscription_pb *s_store_subscription(notification_t *self, ls_rpc_request_t *req,
                                                      const char *publisher,
                                                      const ls_subscription_pb *asked)
{
    redisReply *next = ls_store_command(self->store, "INCR %ssub", LS_KEY_NEXT);
    if (!next || next->type != REDIS_REPLY_INTEGER) {
        if (next)
            freeReplyObject(next);
        requests_unavailable(self, req);
        return NULL;
    }
    char id[32];
    snprintf(id, sizeof id, "sub-%lld", next->integer);
    freeReplyObject(next);
    ls_subscription_pb sub = *asked;
    ls_channels_pb channels = *asked->channels;
    const char *secret = channels.webhook_secret;
    channels.webhook_secret = ""; /* kept apart: never returned */
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
    const ls_subscription_pb *stored = NULL;
    if (r && r->type == REDIS_REPLY_STRING) {
        if (strcmp(r->str, id) == 0) { /* new: index it (a copy of its own) */
            ls_subscription_pb *copy = (ls_subscription_pb *)ls_codec_unpack(
                &lodestone__v1__subscription__descriptor, packed, len, SIZE_MAX, NULL);
            if (copy)
                subs_put(self->subs, copy);
            LS_INFO("subscription %s for %s created by %s", id, sub.recipient, publisher);
        }
        stored = subs_get(self->subs, r->str);
        if (!stored)
            ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INTERNAL,
                                "the subscription was stored but is not loaded");
    } else
        requests_unavailable(self, req);
    if (r)
        freeReplyObject(r);
    free(packed);
    return stored;
}

static void s_handle_subscribe(notification_t *self, ls_rpc_request_t *req)
{
    const char *publisher = requests_publisher(self, req);
    if (!publisher)
        return;
    ls_subscription_pb *asked = req->request->subscribe->subscription;
    ls_subscription_pb empty = LODESTONE__V1__SUBSCRIPTION__INIT;
    if (!asked)
        asked = &empty;
    ls_errors_t *errors = ls_errors_new();
    subs_validate(asked, self->taxonomy, errors);
    if (ls_errors_count(errors) == 0 && s_check_subscription(self, publisher, asked, errors)) {
        ls_errors_destroy(&errors);
        requests_unavailable(self, req);
        return;
    }
    if (s_reply_errors(self, req, &errors))
        return;
    const ls_subscription_pb *stored = s_store_subscription(self, req, publisher, asked);
    if (!stored)
        return;
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_SUBSCRIPTION;
    reply.subscription = (ls_subscription_pb *)stored; /* held without its secret */
    ls_rpc_reply(self->router, req, &reply);
}

typedef struct {
    const ls_subscription_pb **items;
    size_t count, capacity;
} s_sub_list_t;

static void s_collect_sub(const ls_subscription_pb *sub, void *arg)
{
    s_sub_list_t *l = arg;
    if (l->count == l->capacity) {
        size_t capacity = l->capacity ? l->capacity * 2 : 16;
        const ls_subscription_pb **items = realloc(l->items, capacity * sizeof *items);
        if (!items)
            return; /* out of memory: the list is cut short */
        l->items = items;
        l->capacity = capacity;
    }
    l->items[l->count++] = sub;
}

static void s_handle_list(notification_t *self, ls_rpc_request_t *req)
{
    const char *publisher = requests_publisher(self, req);
    if (!publisher)
        return;
    const char *recipient = req->request->subscriptions->recipient;
    if (*recipient && !subs_recipient_valid(recipient)) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INVALID,
                            "recipient: none (all), or 1 to %d characters of letters, digits "
                            "and . _ : @ -",
                            SUBS_RECIPIENT_MAX);
        return;
    }
    s_sub_list_t l = {0};
    subs_of_owner(self->subs, publisher, recipient, s_collect_sub, &l);
    Lodestone__V1__SubscriptionList reply_list = LODESTONE__V1__SUBSCRIPTION_LIST__INIT;
    reply_list.subscriptions = (ls_subscription_pb **)l.items; /* held without secrets */
    reply_list.n_subscriptions = l.count;
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_SUBSCRIPTIONS;
    reply.subscriptions = &reply_list;
    ls_rpc_reply(self->router, req, &reply);
    free(l.items);
}

static void s_handle_unsubscribe(notification_t *self, ls_rpc_request_t *req)
{
    const char *publisher = requests_publisher(self, req);
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
        requests_unavailable(self, req);
        return;
    }
    freeReplyObject(r);
    LS_INFO("subscription %s deleted by %s", id, publisher);
    subs_remove(self->subs, id);
    ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__OK, "deleted");
}

/* ---------------------------------------------------------------------------
 * Inboxes */

typedef struct {
    const char *recipient;
    bool found;
} s_recipient_t;

static void s_has_recipient(const ls_subscription_pb *sub, void *arg)
{
    s_recipient_t *r = arg;
    r->found = r->found || strcmp(sub->recipient, r->recipient) == 0;
}

/* True when publisher may read recipient's inbox: the admin, the owner of the entity
 * of that id, or the owner of a subscription with that recipient. -1: store down. */
static int s_may_read(notification_t *self, const char *publisher, const char *recipient)
{
    if (s_admin(self, publisher))
        return 1;
    s_recipient_t r = {recipient, false};
    subs_of_owner(self->subs, publisher, recipient, s_has_recipient, &r);
    if (r.found)
        return 1;
    requests_access_t access = requests_entity_access(self, publisher, recipient);
    return access == REQUESTS_STORE_DOWN ? -1 : access == REQUESTS_OWNED;
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
    LS_SCRIPT(DELIVERY_STREAM_ID_LUA
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

static void s_check_inbox(const Lodestone__V1__ReadInbox *q, ls_errors_t *errors)
{
    if (!subs_recipient_valid(q->recipient))
        ls_errors_add(errors, "recipient", "1 to %d characters of letters, digits and . _ : @ -",
                      SUBS_RECIPIENT_MAX);
    if (!s_cursor_valid(q->since))
        ls_errors_add(errors, "since", "a cursor as returned in nextCursor (\"<ms>-<n>\")");
    if (!s_cursor_valid(q->ack))
        ls_errors_add(errors, "ack", "a cursor as returned in nextCursor (\"<ms>-<n>\")");
    if (q->limit > S_INBOX_LIMIT_MAX)
        ls_errors_add(errors, "limit", "at most %d", S_INBOX_LIMIT_MAX);
}

/* Runs the inbox script for q. Returns its reply (checked), or NULL. */
static redisReply *s_read_inbox(notification_t *self, const Lodestone__V1__ReadInbox *q)
{
    char inbox[200], ack_key[200], dropped_key[200], limit[16];
    snprintf(inbox, sizeof inbox, LS_KEY_INBOX "%s", q->recipient);
    snprintf(ack_key, sizeof ack_key, LS_KEY_INBOX_ACK "%s", q->recipient);
    snprintf(dropped_key, sizeof dropped_key, LS_KEY_INBOX_DROPPED "%s", q->recipient);
    snprintf(limit, sizeof limit, "%u", q->limit ? q->limit : 100);
    const char *argv[] = {inbox, ack_key, dropped_key, q->ack, q->since, limit};
    redisReply *r = ls_store_eval(self->store, &s_inbox_script, 3, 6, argv, NULL);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
        r->element[0]->type == REDIS_REPLY_ARRAY)
        return r;
    if (r && r->type == REDIS_REPLY_ERROR)
        LS_WARN("inbox %s: %s", q->recipient, r->str);
    if (r)
        freeReplyObject(r);
    return NULL;
}

/* Answers with the inbox read by s_read_inbox. */
static void s_reply_inbox(notification_t *self, ls_rpc_request_t *req, const char *recipient,
                          const redisReply *r)
{
    const redisReply *entries = r->element[0];
    ls_notification_pb **notes = calloc(entries->elements + 1, sizeof *notes);
    size_t n = 0;
    const char *last = "";
    for (size_t i = 0; notes && i < entries->elements; i++) {
        const redisReply *e = entries->element[i]; /* [id, [field, value]] */
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[1]->elements != 2)
            continue;
        last = e->element[0]->str;
        const redisReply *value = e->element[1]->element[1];
        notes[n] = (ls_notification_pb *)ls_codec_unpack(&lodestone__v1__notification__descriptor,
                                                         value->str, value->len, SIZE_MAX, NULL);
        if (notes[n])
            n++;
    }
    Lodestone__V1__Inbox box = LODESTONE__V1__INBOX__INIT;
    box.recipient = (char *)recipient;
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
    ls_rpc_reply(self->router, req, &reply);
    for (size_t i = 0; i < n; i++)
        lodestone__v1__notification__free_unpacked(notes[i], NULL);
    free(notes);
}

static void s_handle_inbox(notification_t *self, ls_rpc_request_t *req)
{
    const char *publisher = requests_publisher(self, req);
    if (!publisher)
        return;
    Lodestone__V1__ReadInbox *q = req->request->inbox;
    ls_errors_t *errors = ls_errors_new();
    s_check_inbox(q, errors);
    if (s_reply_errors(self, req, &errors))
        return;
    int may = s_may_read(self, publisher, q->recipient);
    if (may < 0) {
        requests_unavailable(self, req);
        return;
    }
    if (!may) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__FORBIDDEN,
                            "recipient: %s is neither an entity nor a subscription recipient of "
                            "publisher %.64s",
                            q->recipient, publisher);
        return;
    }
    redisReply *r = s_read_inbox(self, q);
    if (!r) {
        requests_unavailable(self, req);
        return;
    }
    s_reply_inbox(self, req, q->recipient, r);
    freeReplyObject(r);
}

/* ---------------------------------------------------------------------------
 * Dead letters */

/* Dead letters: of one subscription its owner may see and replay; all of them only
 * the admin. Answers and returns false otherwise. */
static bool s_may_see_letters(notification_t *self, ls_rpc_request_t *req, const char *publisher,
                              const char *sub_id)
{
    if (strlen(sub_id) > S_SUB_ID_MAX) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INVALID,
                            "subscriptionId: at most %d characters", S_SUB_ID_MAX);
        return false;
    }
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
    const char *publisher = requests_publisher(self, req);
    Lodestone__V1__ListDeadLetters *q = req->request->dead_letters;
    if (!publisher || !s_may_see_letters(self, req, publisher, q->subscription_id))
        return;
    Lodestone__V1__DeadLetterList list = LODESTONE__V1__DEAD_LETTER_LIST__INIT;
    /* webhook_dead_list bounds the limit (0: its default). */
    if (webhook_dead_list(self->store, q->subscription_id, q->limit, &list)) {
        requests_unavailable(self, req);
        return;
    }
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_DEAD_LETTERS;
    reply.dead_letters = &list;
    ls_rpc_reply(self->router, req, &reply);
    webhook_dead_list_clear(&list);
}

/* Answers INVALID and returns false when q names too many deliveries or one that
 * cannot be a delivery id. */
static bool s_replay_ids_valid(notification_t *self, ls_rpc_request_t *req,
                               const Lodestone__V1__ReplayDeadLetters *q)
{
    if (q->n_delivery_ids > S_REPLAY_IDS_MAX) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INVALID,
                            "deliveryIds: at most %d at a time (none: every dead letter)",
                            S_REPLAY_IDS_MAX);
        return false;
    }
    for (size_t i = 0; i < q->n_delivery_ids; i++) {
        size_t len = strlen(q->delivery_ids[i]);
        if (len == 0 || len > WEBHOOK_ID_MAX) {
            ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INVALID,
                                "deliveryIds[%zu]: 1 to %d characters", i, WEBHOOK_ID_MAX);
            return false;
        }
    }
    return true;
}

static void s_handle_replay(notification_t *self, ls_rpc_request_t *req)
{
    const char *publisher = requests_publisher(self, req);
    Lodestone__V1__ReplayDeadLetters *q = req->request->replay;
    if (!publisher || !s_may_see_letters(self, req, publisher, q->subscription_id) ||
        !s_replay_ids_valid(self, req, q))
        return;
    long n =
        webhook_dead_replay(self->store, q->subscription_id, (const char *const *)q->delivery_ids,
                            q->n_delivery_ids, ls_now_ms());
    if (n < 0) {
        requests_unavailable(self, req);
        return;
    }
    LS_INFO("%ld dead letters replayed by %s", n, publisher);
    Lodestone__V1__Replayed replayed = LODESTONE__V1__REPLAYED__INIT;
    replayed.count = (uint64_t)n;
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_REPLAYED;
    reply.replayed = &replayed;
    ls_rpc_reply(self->router, req, &reply);
}

/* ---------------------------------------------------------------------------
 * Dispatch */

static void s_handle_ping(notification_t *self, ls_rpc_request_t *req)
{
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    Lodestone__V1__Pong pong = LODESTONE__V1__PONG__INIT;
    pong.service = "notification";
    pong.version = LS_VERSION_TEXT;
    pong.seq = ls_follower_position(self->follower);
    pong.instances = 1;
    if (ls_journal_latest(self->store, &LS_JOURNAL_MATCHES, &pong.journal_latest)) {
        requests_unavailable(self, req);
        return;
    }
    reply.body_case = LODESTONE__V1__REPLY__BODY_PONG;
    reply.pong = &pong;
    ls_rpc_reply(self->router, req, &reply);
}

void requests_handle(notification_t *self, ls_rpc_request_t *req)
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
        eoi_handle_interest(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_GET_INTEREST:
        eoi_handle_get(self, req);
        break;
    default:
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNSUPPORTED,
                            "notification does not serve this request");
    }
}
