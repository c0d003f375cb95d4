/* delivery.c — the delivery step's plan and how it reaches Redis (delivery.h). */
#include "delivery.h"

#include <string.h>

#include "ls_codec.h"
#include "ls_json.h"
#include "ls_log.h"

static void s_chunk_destructor(void **item)
{
    zchunk_destroy((zchunk_t **)item);
}

static void s_msg_destructor(void **item)
{
    zmsg_destroy((zmsg_t **)item);
}

void delivery_plan_init(delivery_plan_t *plan)
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

void delivery_plan_free(delivery_plan_t *plan)
{
    zlistx_destroy(&plan->args);
    zlistx_destroy(&plan->feed);
    zlistx_destroy(&plan->reopened);
}

static void s_arg(delivery_plan_t *plan, const void *data, size_t len)
{
    zlistx_add_end(plan->args, zchunk_new(data, len));
}

static void s_arg_str(delivery_plan_t *plan, const char *text)
{
    s_arg(plan, text, strlen(text));
}

static void s_arg_u64(delivery_plan_t *plan, uint64_t value)
{
    char text[24];
    snprintf(text, sizeof text, "%llu", (unsigned long long)value);
    s_arg_str(plan, text);
}

void delivery_entry_begin(delivery_plan_t *plan, uint64_t seq)
{
    s_arg_u64(plan, seq);
    plan->ops_at = zlistx_add_end(plan->args, zchunk_new("0", 1));
    plan->ops = 0;
}

void delivery_entry_end(delivery_plan_t *plan)
{
    char text[24];
    snprintf(text, sizeof text, "%zu", plan->ops);
    zchunk_t *count = zlistx_handle_item(plan->ops_at);
    zchunk_set(count, text, strlen(text));
}

void delivery_inbox(delivery_plan_t *plan, const char *recipient, const uint8_t *packed, size_t len)
{
    s_arg_str(plan, "I");
    s_arg_str(plan, recipient);
    s_arg(plan, packed, len);
    plan->ops++;
    plan->inbox++;
}

void delivery_feed(delivery_plan_t *plan, const char *topic, const uint8_t *packed, size_t len)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, topic);
    zmsg_addmem(msg, packed, len);
    zlistx_add_end(plan->feed, msg);
}

void delivery_digest(delivery_plan_t *plan, const char *sub_id,
                     const Lodestone__V1__DigestItem *item, int64_t period_end)
{
    size_t len;
    uint8_t *packed = ls_codec_pack_buffer(&item->base, &len);
    s_arg_str(plan, "G");
    s_arg_str(plan, sub_id);
    s_arg(plan, packed, len);
    s_arg_u64(plan, (uint64_t)period_end);
    plan->ops++;
    plan->digest++;
    free(packed);
}

void delivery_erase(delivery_plan_t *plan, const char *entity_id)
{
    s_arg_str(plan, "Z");
    s_arg_str(plan, entity_id);
    plan->ops++;
}

bool delivery_reopen(delivery_plan_t *plan, const char *pair, uint64_t expected,
                     const ls_interest_pb *state)
{
    for (const char *p = zlistx_first(plan->reopened); p; p = zlistx_next(plan->reopened))
        if (strcmp(p, pair) == 0)
            return false;
    size_t len;
    uint8_t *packed = ls_codec_pack_buffer(&state->base, &len);
    s_arg_str(plan, "X");
    s_arg_str(plan, pair);
    s_arg_u64(plan, expected);
    s_arg_u64(plan, state->version);
    s_arg(plan, packed, len);
    plan->ops++;
    free(packed);
    zlistx_add_end(plan->reopened, (void *)pair);
    return true;
}

static void s_webhook(delivery_plan_t *plan, const ls_subscription_pb *sub,
                      const ls_notification_pb *note)
{
    const char *url = sub->channels->webhook_url;
    char *body = ls_json_dumps(&note->base);
    /* Subscriptions hold valid URLs; "invalid" makes a dead letter of another. */
    char origin[WEBHOOK_ORIGIN_MAX];
    if (webhook_origin(url, origin, sizeof origin))
        snprintf(origin, sizeof origin, "invalid");
    s_arg_str(plan, "W");
    s_arg_str(plan, note->id); /* the delivery id */
    s_arg_str(plan, url);
    s_arg_str(plan, sub->id);
    s_arg_str(plan, note->id);
    s_arg_str(plan, body ? body : "{}");
    s_arg_str(plan, origin);
    plan->ops++;
    plan->webhook++;
    free(body);
}

static void s_feed_to(delivery_plan_t *plan, const char *what, const char *name,
                      const uint8_t *packed, size_t len)
{
    char topic[160];
    snprintf(topic, sizeof topic, "%s/%s/", what, name);
    delivery_feed(plan, topic, packed, len);
}

void delivery_channels(delivery_plan_t *plan, const ls_subscription_pb *sub,
                       ls_notification_pb *note)
{
    const ls_channels_pb *c = sub->channels;
    if (!c)
        return;
    size_t len;
    uint8_t *packed = ls_codec_pack_buffer(&note->base, &len);
    if (c->inbox)
        delivery_inbox(plan, note->recipient, packed, len);
    if (*c->webhook_url)
        s_webhook(plan, sub, note);
    if (c->feed)
        s_feed_to(plan, "to", note->recipient, packed, len);
    free(packed);
}

void delivery_default(delivery_plan_t *plan, ls_notification_pb *note, const char *region)
{
    size_t len;
    uint8_t *packed = ls_codec_pack_buffer(&note->base, &len);
    delivery_inbox(plan, note->recipient, packed, len);
    s_feed_to(plan, "to", note->recipient, packed, len);
    if (region && *region)
        s_feed_to(plan, "region", region, packed, len);
    free(packed);
}

void delivery_readdress(const ls_notification_pb *note, const ls_subscription_pb *sub, char *id,
                        size_t len, ls_notification_pb *out)
{
    snprintf(id, len, "%s-%s", note->id, sub->id);
    *out = *note;
    out->id = id;
    out->recipient = sub->recipient;
    out->subscription_id = sub->id;
}

typedef struct {
    delivery_plan_t *plan;
    const ls_notification_pb *note;
} s_entity_route_t;

static void s_route_entity(const ls_subscription_pb *sub, void *arg)
{
    s_entity_route_t *r = arg;
    char id[320];
    ls_notification_pb note;
    delivery_readdress(r->note, sub, id, sizeof id, &note);
    delivery_channels(r->plan, sub, &note); /* at once, also for digest subscriptions */
}

void delivery_to_entity(delivery_plan_t *plan, const subs_t *subs, const char *entity,
                        ls_notification_pb *note)
{
    note->recipient = (char *)entity;
    if (!subs_replaces_default(subs, entity))
        delivery_default(plan, note, NULL);
    s_entity_route_t route = {plan, note};
    subs_of_entity(subs, entity, s_route_entity, &route);
}

long long delivery_execute(ls_store_t *store, ls_script_t *script, int nkeys,
                           const char *const *fixed, const size_t *fixed_lens, size_t n_fixed,
                           const delivery_plan_t *plan)
{
    redisReply *reply =
        ls_store_eval_chunks(store, script, nkeys, fixed, fixed_lens, n_fixed, plan->args);
    long long rc = DELIVERY_FAILED;
    if (reply && reply->type == REDIS_REPLY_INTEGER)
        rc = reply->integer;
    else
        LS_WARN("delivery step failed: %s",
                reply && reply->type == REDIS_REPLY_ERROR ? reply->str : ls_store_error(store));
    if (reply)
        freeReplyObject(reply);
    return rc;
}

void delivery_send_feed(const delivery_plan_t *plan, zsock_t *pub)
{
    for (zmsg_t *msg = zlistx_first(plan->feed); msg; msg = zlistx_next(plan->feed)) {
        zmsg_t *copy = zmsg_dup(msg);
        zmsg_send(&copy, pub);
    }
}
