/* registry.c — the registry's request handlers and its atomic write step.
 *
 * An entity is stored as a hash (ls_keys.h): meta fields apart, and "d", the
 * packed body with meta and contact cleared, so that "nothing changed" is a byte
 * comparison and personal data lives only under ls:contact:<id>. */
#include "registry.h"

#include <czmq.h>
#include <string.h>

#include "ls_codec.h"
#include "ls_entity.h"
#include "ls_journal.h"
#include "ls_keys.h"
#include "ls_log.h"
#include "ls_rpc.h"
#include "ls_service.h"
#include "ls_store.h"
#include "ls_taxonomy.h"
#include "ls_util.h"
#include "validate.h"

#define S_MAX_ID 64
#define S_MAX_INDEX_KEYS 200

struct _registry_t {
    const ls_config_t *config;
    ls_store_t *store;
    ls_taxonomy_t *taxonomy;
    zsock_t *router;
    zsock_t *pub;
    uint64_t requests;
};

/* KEYS: entity hash, its index set, contact key, ref key ("" when none), journal
 * stream, journal counter. ARGV: id, expected current version ("0": must not
 * exist), new version, kind, owner, created, updated, ref, body, contact ("": none),
 * change event, then the index keys. Returns the journal sequence number, or
 * {"RACE", current version} when the entity changed since it was read. */
static ls_script_t s_put_script = LS_SCRIPT(
    LS_JOURNAL_LUA
    "local cur = redis.call('HGET', KEYS[1], 'version') or '0'\n"
    "if cur ~= ARGV[2] then return {'RACE', cur} end\n"
    "if KEYS[4] ~= '' then\n"
    "  local named = redis.call('GET', KEYS[4])\n"
    "  if named and named ~= ARGV[1] then return {'RACE', cur} end\n"
    "  redis.call('SET', KEYS[4], ARGV[1])\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'kind', ARGV[4], 'owner', ARGV[5], 'version', ARGV[3],\n"
    "  'created', ARGV[6], 'updated', ARGV[7], 'state', '0', 'ref', ARGV[8], 'd', ARGV[9])\n"
    "if ARGV[10] == '' then redis.call('DEL', KEYS[3])\n"
    "else redis.call('SET', KEYS[3], ARGV[10]) end\n"
    "for _, key in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
    "  redis.call('SREM', key, ARGV[1])\n"
    "end\n"
    "redis.call('DEL', KEYS[2])\n"
    "for i = 12, #ARGV do\n"
    "  redis.call('SADD', ARGV[i], ARGV[1])\n"
    "  redis.call('SADD', KEYS[2], ARGV[i])\n"
    "end\n"
    "return journal_append(KEYS[5], KEYS[6], ARGV[11])\n");

/* What is stored of the entity now (a put reads it before writing). */
typedef struct {
    bool exists;
    char kind[16];
    char owner[128];
    uint64_t version;
    uint64_t created;
    zchunk_t *body;
    zchunk_t *contact;
} s_current_t;

static void s_current_free(s_current_t *cur)
{
    zchunk_destroy(&cur->body);
    zchunk_destroy(&cur->contact);
}

/* Reads the stored record of id. Returns 0, or -1 on a store failure. */
static int s_read_current(registry_t *self, const char *id, s_current_t *cur)
{
    memset(cur, 0, sizeof *cur);
    char key[128], contact_key[128];
    snprintf(key, sizeof key, LS_KEY_ENTITY "%s", id);
    snprintf(contact_key, sizeof contact_key, LS_KEY_CONTACT "%s", id);
    const char *hmget[] = {"HMGET", key, "kind", "owner", "version", "created", "d"};
    const char *get[] = {"GET", contact_key};
    if (ls_store_append(self->store, 7, hmget, NULL) || ls_store_append(self->store, 2, get, NULL))
        return -1;
    redisReply *fields = ls_store_reply(self->store);
    redisReply *contact = fields ? ls_store_reply(self->store) : NULL;
    int rc = -1;
    if (fields && contact && fields->type == REDIS_REPLY_ARRAY && fields->elements == 5) {
        redisReply **f = fields->element;
        rc = 0;
        if (f[4]->type == REDIS_REPLY_STRING) {
            cur->exists = true;
            snprintf(cur->kind, sizeof cur->kind, "%s", f[0]->str ? f[0]->str : "");
            snprintf(cur->owner, sizeof cur->owner, "%s", f[1]->str ? f[1]->str : "");
            if (!f[2]->str || ls_parse_u64(f[2]->str, f[2]->len, &cur->version) || !f[3]->str ||
                ls_parse_u64(f[3]->str, f[3]->len, &cur->created))
                rc = -1;
            cur->body = zchunk_new(f[4]->str, f[4]->len);
            if (contact->type == REDIS_REPLY_STRING)
                cur->contact = zchunk_new(contact->str, contact->len);
        }
    }
    if (fields)
        freeReplyObject(fields);
    if (contact)
        freeReplyObject(contact);
    return rc;
}

/* Looks up the id a publisher's ref names. Returns 0 (id may stay empty), -1 on
 * a store failure. */
static int s_resolve_ref(registry_t *self, const char *owner, const char *ref, char *id,
                         size_t idlen)
{
    id[0] = 0;
    redisReply *reply = ls_store_command(self->store, "GET " LS_KEY_REF "%s:%s", owner, ref);
    if (!reply)
        return -1;
    if (reply->type == REDIS_REPLY_STRING && reply->len < idlen)
        memcpy(id, reply->str, reply->len + 1);
    freeReplyObject(reply);
    return 0;
}

static int s_new_id(registry_t *self, const char *prefix, char *id, size_t idlen)
{
    redisReply *reply = ls_store_command(self->store, "INCR " LS_KEY_NEXT "%s", prefix);
    int rc = reply && reply->type == REDIS_REPLY_INTEGER ? 0 : -1;
    if (rc == 0)
        snprintf(id, idlen, "%s-%lld", prefix, reply->integer);
    if (reply)
        freeReplyObject(reply);
    return rc;
}

/* Index keys for an entity: kind, region, each stage and material. Returns the
 * count; keys are heap strings the caller frees. */
static size_t s_index_keys(ls_entity_pb *entity, const ls_entity_meta_t *meta, char **keys)
{
    size_t n = 0;
    const char *region = "";
    char **lists[2] = {NULL, NULL};
    size_t counts[2] = {0, 0};
    if (entity->body_case == LODESTONE__V1__ENTITY__BODY_SME) {
        region = entity->sme->region;
        lists[0] = entity->sme->stages, counts[0] = entity->sme->n_stages;
        lists[1] = entity->sme->materials, counts[1] = entity->sme->n_materials;
    } else if (entity->body_case == LODESTONE__V1__ENTITY__BODY_INVESTOR) {
        region = entity->investor->region;
        lists[0] = entity->investor->stages, counts[0] = entity->investor->n_stages;
        lists[1] = entity->investor->materials, counts[1] = entity->investor->n_materials;
    } else {
        region = entity->opportunity->region;
        lists[0] = entity->opportunity->stages, counts[0] = entity->opportunity->n_stages;
        lists[1] = entity->opportunity->materials, counts[1] = entity->opportunity->n_materials;
    }
    keys[n++] = zsys_sprintf(LS_KEY_INDEX "kind:%s", meta->kind_name);
    if (*region)
        keys[n++] = zsys_sprintf(LS_KEY_INDEX "region:%s", region);
    const char *facet[2] = {"stage", "material"};
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; i < counts[l] && n < S_MAX_INDEX_KEYS; i++)
            keys[n++] = zsys_sprintf(LS_KEY_INDEX "%s:%s", facet[l], lists[l][i]);
    return n;
}

static void s_publish(registry_t *self, uint64_t seq, const uint8_t *event, size_t len)
{
    if (ls_journal_send(self->pub, &LS_JOURNAL_CHANGES, seq, event, len))
        LS_WARN("publishing change %llu failed; followers will read it from the journal",
                (unsigned long long)seq);
}

typedef struct {
    ls_entity_pb *entity;
    ls_entity_meta_t meta;
    char id[S_MAX_ID + 8];
    uint64_t version;
    int64_t created, now;
    uint8_t *body, *contact, *event;
    size_t body_len, contact_len, event_len;
    char *keys[S_MAX_INDEX_KEYS];
    size_t n_keys;
} s_write_t;

static void s_write_free(s_write_t *w)
{
    free(w->body);
    free(w->contact);
    free(w->event);
    for (size_t i = 0; i < w->n_keys; i++)
        zstr_free(&w->keys[i]);
}

/* Runs the put script. Returns the sequence number, 0 on a race, -1 when the store
 * is unreachable, -2 when the script failed. */
static long long s_write(registry_t *self, s_write_t *w, const char *owner, uint64_t expected)
{
    char key[128], index_set[160], contact_key[128], ref_key[320] = "";
    snprintf(key, sizeof key, LS_KEY_ENTITY "%s", w->id);
    snprintf(index_set, sizeof index_set, LS_KEY_ENTITY "%s" LS_KEY_INDEXES_SUFFIX, w->id);
    snprintf(contact_key, sizeof contact_key, LS_KEY_CONTACT "%s", w->id);
    if (**w->meta.ref)
        snprintf(ref_key, sizeof ref_key, LS_KEY_REF "%s:%s", owner, *w->meta.ref);
    char expected_text[24], version[24], created[24], updated[24], kind[8];
    snprintf(expected_text, sizeof expected_text, "%llu", (unsigned long long)expected);
    snprintf(version, sizeof version, "%llu", (unsigned long long)w->version);
    snprintf(created, sizeof created, "%lld", (long long)w->created);
    snprintf(updated, sizeof updated, "%lld", (long long)w->now);
    snprintf(kind, sizeof kind, "%d", (int)w->meta.kind);

    const char *argv[17 + S_MAX_INDEX_KEYS];
    size_t lens[17 + S_MAX_INDEX_KEYS];
    const char *fixed[] = {key,
                           index_set,
                           contact_key,
                           ref_key,
                           LS_JOURNAL_CHANGES.stream,
                           LS_JOURNAL_CHANGES.seq_key,
                           w->id,
                           expected_text,
                           version,
                           kind,
                           owner,
                           created,
                           updated,
                           *w->meta.ref};
    int argc = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++, argc++) {
        argv[argc] = fixed[i];
        lens[argc] = strlen(fixed[i]);
    }
    argv[argc] = (const char *)w->body, lens[argc++] = w->body_len;
    argv[argc] = w->contact ? (const char *)w->contact : "", lens[argc++] = w->contact_len;
    argv[argc] = (const char *)w->event, lens[argc++] = w->event_len;
    for (size_t i = 0; i < w->n_keys; i++, argc++) {
        argv[argc] = w->keys[i];
        lens[argc] = strlen(w->keys[i]);
    }
    redisReply *reply = ls_store_eval(self->store, &s_put_script, 6, argc, argv, lens);
    long long seq = -1;
    if (reply && reply->type == REDIS_REPLY_INTEGER)
        seq = reply->integer;
    else if (reply && reply->type == REDIS_REPLY_ARRAY)
        seq = 0;
    else if (reply)
        seq = -2; /* a script error: a defect, not an outage */
    if (seq < 0)
        LS_ERROR("put %s: %s", w->id,
                 reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                           : ls_store_error(self->store));
    if (reply)
        freeReplyObject(reply);
    return seq;
}

static void s_reply_put(registry_t *self, ls_rpc_request_t *req, const char *id, uint64_t version,
                        uint64_t seq, bool created)
{
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    Lodestone__V1__PutResult result = LODESTONE__V1__PUT_RESULT__INIT;
    result.id = (char *)id;
    result.version = version;
    result.seq = seq;
    result.created = created;
    result.unchanged = seq == 0;
    reply.body_case = LODESTONE__V1__REPLY__BODY_PUT;
    reply.put = &result;
    ls_rpc_reply(self->router, req, &reply);
}

/* Packs the canonical stored form: no meta, no contact. */
static void s_pack_body(s_write_t *w)
{
    ls_contact_pb *contact = *w->meta.contact;
    *w->meta.contact = NULL;
    ls_entity_set_string(w->meta.id, "");
    ls_entity_set_string(w->meta.owner, "");
    *w->meta.version = 0;
    *w->meta.created_at = *w->meta.updated_at = 0;
    *w->meta.state = LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_ACTIVE;
    w->body = ls_codec_pack_buffer(&w->entity->base, &w->body_len);
    if (contact)
        w->contact = ls_codec_pack_buffer(&contact->base, &w->contact_len);
    *w->meta.contact = contact;
}

static bool s_same(const zchunk_t *stored, const uint8_t *data, size_t len)
{
    if (!stored)
        return len == 0 || data == NULL;
    return zchunk_size((zchunk_t *)stored) == len &&
           memcmp(zchunk_data((zchunk_t *)stored), data, len) == 0;
}

static void s_handle_put(registry_t *self, ls_rpc_request_t *req)
{
    Lodestone__V1__PutEntity *put = req->request->put;
    if (!put->entity) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INVALID,
                            "put.entity: is required");
        return;
    }
    ls_errors_t *errors = ls_errors_new();
    validate_entity(put->entity, self->taxonomy, errors);
    if (ls_errors_count(errors)) {
        ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
        ls_status_pb status = LODESTONE__V1__STATUS__INIT;
        ls_errors_fill(errors, &status);
        reply.status = &status;
        ls_rpc_reply(self->router, req, &reply);
        ls_errors_destroy(&errors);
        return;
    }
    ls_errors_destroy(&errors);

    s_write_t w = {.entity = put->entity};
    ls_entity_meta(w.entity, &w.meta);
    const char *owner = self->config->publisher;
    const char *given = *w.meta.id;
    if (strlen(given) > S_MAX_ID) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INVALID,
                            "%s.id: longer than %d bytes", w.meta.kind_name, S_MAX_ID);
        return;
    }
    if (*given)
        snprintf(w.id, sizeof w.id, "%s", given);
    else if (**w.meta.ref && s_resolve_ref(self, owner, *w.meta.ref, w.id, sizeof w.id)) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                            "the store is unavailable; retry");
        return;
    }
    s_current_t cur;
    if (*w.id && s_read_current(self, w.id, &cur)) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                            "the store is unavailable; retry");
        s_current_free(&cur);
        return;
    }
    if (!*w.id)
        memset(&cur, 0, sizeof cur);
    Lodestone__V1__Status__Code code = LODESTONE__V1__STATUS__CODE__OK;
    char problem[256] = "";
    char kind_text[8];
    snprintf(kind_text, sizeof kind_text, "%d", (int)w.meta.kind);
    if (*given && !cur.exists)
        code = LODESTONE__V1__STATUS__CODE__NOT_FOUND,
        snprintf(problem, sizeof problem, "no entity %s", given);
    else if (cur.exists && strcmp(cur.kind, kind_text) != 0)
        code = LODESTONE__V1__STATUS__CODE__INVALID,
        snprintf(problem, sizeof problem, "%s is not a %s", w.id, w.meta.kind_name);
    else if (cur.exists && strcmp(cur.owner, owner) != 0)
        code = LODESTONE__V1__STATUS__CODE__FORBIDDEN,
        snprintf(problem, sizeof problem, "%s belongs to another publisher", w.id);
    else if (put->expected_version && put->expected_version != cur.version)
        code = LODESTONE__V1__STATUS__CODE__CONFLICT,
        snprintf(problem, sizeof problem, "expected version %llu, current version is %llu",
                 (unsigned long long)put->expected_version, (unsigned long long)cur.version);
    if (code != LODESTONE__V1__STATUS__CODE__OK) {
        ls_rpc_reply_status(self->router, req, code, "%s", problem);
        s_current_free(&cur);
        return;
    }

    s_pack_body(&w);
    if (cur.exists && s_same(cur.body, w.body, w.body_len) &&
        s_same(cur.contact, w.contact, w.contact_len)) {
        s_reply_put(self, req, w.id, cur.version, 0, false);
        s_write_free(&w);
        s_current_free(&cur);
        return;
    }
    if (!cur.exists && s_new_id(self, w.meta.id_prefix, w.id, sizeof w.id)) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                            "the store is unavailable; retry");
        s_write_free(&w);
        s_current_free(&cur);
        return;
    }
    w.now = ls_now_ms();
    w.version = cur.version + 1;
    w.created = cur.exists ? (int64_t)cur.created : w.now;

    /* The change event carries the entity with its meta but never its contact. */
    ls_entity_set_string(w.meta.id, w.id);
    ls_entity_set_string(w.meta.owner, owner);
    *w.meta.version = w.version;
    *w.meta.created_at = w.created;
    *w.meta.updated_at = w.now;
    ls_contact_pb *contact = *w.meta.contact;
    *w.meta.contact = NULL;
    ls_change_event_pb event = LODESTONE__V1__CHANGE_EVENT__INIT;
    event.op = LODESTONE__V1__CHANGE_EVENT__OP__UPSERT;
    event.entity_id = w.id;
    event.kind = w.meta.kind;
    event.version = w.version;
    event.at = w.now;
    event.entity = w.entity;
    w.event = ls_codec_pack_buffer(&event.base, &w.event_len);
    *w.meta.contact = contact;
    w.n_keys = s_index_keys(w.entity, &w.meta, w.keys);

    long long seq = s_write(self, &w, owner, cur.version);
    if (seq > 0) {
        s_reply_put(self, req, w.id, w.version, (uint64_t)seq, !cur.exists);
        s_publish(self, (uint64_t)seq, w.event, w.event_len);
        LS_DEBUG("put %s v%llu seq %lld", w.id, (unsigned long long)w.version, seq);
    } else if (seq == 0)
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__CONFLICT,
                            "%s changed while this request was processed; retry", w.id);
    else if (seq == -2)
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INTERNAL,
                            "writing %s failed; see the registry log", w.id);
    else
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                            "the store is unavailable; retry");
    s_write_free(&w);
    s_current_free(&cur);
}

static void s_handle_get(registry_t *self, ls_rpc_request_t *req)
{
    const char *id = req->request->get->id;
    if (!*id || strlen(id) > S_MAX_ID) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INVALID,
                            "get.id: is required and at most %d bytes", S_MAX_ID);
        return;
    }
    ls_entity_pb *entity = NULL;
    int rc = ls_entity_load(self->store, id, true, &entity);
    if (rc == 1)
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__NOT_FOUND,
                            "no entity %s", id);
    else if (rc < 0)
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                            "the store is unavailable; retry");
    else {
        ls_entity_meta_t meta;
        ls_entity_meta(entity, &meta);
        /* Contact details are personal data: only their owner sees them. */
        if (*meta.contact && strcmp(*meta.owner, self->config->publisher) != 0) {
            lodestone__v1__contact__free_unpacked(*meta.contact, NULL);
            *meta.contact = NULL;
        }
        ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
        reply.body_case = LODESTONE__V1__REPLY__BODY_ENTITY;
        reply.entity = entity;
        ls_rpc_reply(self->router, req, &reply);
        lodestone__v1__entity__free_unpacked(entity, NULL);
    }
}

static void s_handle_ping(registry_t *self, ls_rpc_request_t *req)
{
    uint64_t latest = 0;
    if (ls_journal_latest(self->store, &LS_JOURNAL_CHANGES, &latest)) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                            "the store is unavailable");
        return;
    }
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    Lodestone__V1__Pong pong = LODESTONE__V1__PONG__INIT;
    pong.service = "registry";
    pong.version = LS_VERSION_TEXT;
    pong.seq = latest;
    pong.instances = 1;
    reply.body_case = LODESTONE__V1__REPLY__BODY_PONG;
    reply.pong = &pong;
    ls_rpc_reply(self->router, req, &reply);
}

static void s_dispatch(registry_t *self, ls_rpc_request_t *req)
{
    self->requests++;
    switch (req->request->body_case) {
    case LODESTONE__V1__ENVELOPE__BODY_PING:
        s_handle_ping(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_PUT:
        s_handle_put(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_GET:
        s_handle_get(self, req);
        break;
    default:
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNSUPPORTED,
                            "the registry does not serve this request");
    }
}

static void s_heartbeat(registry_t *self)
{
    uint64_t latest = 0;
    if (ls_journal_latest(self->store, &LS_JOURNAL_CHANGES, &latest) == 0)
        ls_journal_send_heartbeat(self->pub, &LS_JOURNAL_CHANGES, latest);
}

registry_t *registry_new(const ls_config_t *config)
{
    registry_t *self = calloc(1, sizeof *self);
    char err[512];
    self->config = config;
    self->taxonomy = ls_taxonomy_load(config->data_dir, err, sizeof err);
    if (!self->taxonomy) {
        LS_ERROR("cannot load taxonomies: %s", err);
        registry_destroy(&self);
        return NULL;
    }
    self->store = ls_store_new(config->redis_url, -1, err, sizeof err);
    if (!self->store) {
        LS_ERROR("%s", err);
        registry_destroy(&self);
        return NULL;
    }
    self->router = zsock_new(ZMQ_ROUTER);
    self->pub = zsock_new(ZMQ_PUB);
    if (!self->router || !self->pub) {
        registry_destroy(&self);
        return NULL;
    }
    zsock_set_maxmsgsize(self->router, config->max_message_bytes);
    zsock_set_router_mandatory(self->router, 0);
    zsock_set_sndhwm(self->pub, 100000);
    if (zsock_bind(self->router, "%s", config->registry_bind) < 0 ||
        zsock_bind(self->pub, "%s", config->registry_pub_bind) < 0) {
        LS_ERROR("cannot bind %s and %s: %s", config->registry_bind, config->registry_pub_bind,
                 zmq_strerror(zmq_errno()));
        registry_destroy(&self);
        return NULL;
    }
    LS_WARN("serving plain TCP without CURVE on %s (local development mode)",
            config->registry_bind);
    LS_INFO("registry ready: requests on %s, changes published on %s", config->registry_bind,
            config->registry_pub_bind);
    return self;
}

void registry_destroy(registry_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    registry_t *self = *self_p;
    zsock_destroy(&self->router);
    zsock_destroy(&self->pub);
    ls_store_destroy(&self->store);
    ls_taxonomy_destroy(&self->taxonomy);
    free(self);
    *self_p = NULL;
}

static void s_on_request(void *arg, ls_rpc_request_t *req)
{
    s_dispatch(arg, req);
}

static void s_on_tick(void *arg)
{
    s_heartbeat(arg);
}

int registry_run(registry_t *self)
{
    ls_service_loop_t loop = {.router = self->router,
                              .max_bytes = (size_t)self->config->max_message_bytes,
                              .on_request = s_on_request,
                              .tick_ms = self->config->heartbeat_ms,
                              .on_tick = s_on_tick,
                              .arg = self};
    int rc = ls_service_run(&loop);
    LS_INFO("registry stopping after %llu requests", (unsigned long long)self->requests);
    return rc;
}
