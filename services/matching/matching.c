/* matching.c — the matching service's journal consumer, list keeping and queries.
 *
 * Instance i of N owns the match lists of the entities whose id hashes to i. Every
 * instance indexes every change (candidates can be anyone); for a change to entity
 * X an instance recomputes the lists it owns that X can affect: X's own, those of
 * X's candidates, and those that listed X before (ls:listed:<X>). All list edits,
 * the match-journal entries and the checkpoint are written by one Lua script, so a
 * kill at any moment neither loses nor repeats a match event. */
#include "matching.h"

#include <czmq.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "index.h"
#include "ls_codec.h"
#include "ls_entity.h"
#include "ls_follower.h"
#include "ls_journal.h"
#include "ls_keys.h"
#include "ls_log.h"
#include "ls_rpc.h"
#include "ls_service.h"
#include "ls_taxonomy.h"
#include "ls_util.h"
#include "score.h"

#define S_KEY_LISTED "ls:listed:" /* set: the entities whose lists hold this id */

struct _matching_t {
    const ls_config_t *config;
    match_config_t model;
    ls_store_t *store;
    ls_taxonomy_t *taxonomy;
    match_index_t *index;
    ls_follower_t *follower;
    zsock_t *router;
    zsock_t *sub;
    zsock_t *push;
    char checkpoint[64];
    uint64_t events;
};

/* KEYS: checkpoint, match stream, match counter. ARGV[1]: the change seq; then
 * operations: "S" subject candidate match | "D" subject candidate | "E" event.
 * Returns the sequence numbers of the appended events, or {-1} when this change
 * was applied before. */
static ls_script_t s_apply_script = LS_SCRIPT(
    LS_JOURNAL_LUA "local done = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
                   "if done >= tonumber(ARGV[1]) then return {-1} end\n"
                   "local seqs = {}\n"
                   "local i = 2\n"
                   "while i <= #ARGV do\n"
                   "  local op = ARGV[i]\n"
                   "  if op == 'S' then\n"
                   "    redis.call('HSET', 'ls:matches:' .. ARGV[i+1], ARGV[i+2], ARGV[i+3])\n"
                   "    redis.call('SADD', 'ls:listed:' .. ARGV[i+2], ARGV[i+1])\n"
                   "    i = i + 4\n"
                   "  elseif op == 'D' then\n"
                   "    redis.call('HDEL', 'ls:matches:' .. ARGV[i+1], ARGV[i+2])\n"
                   "    redis.call('SREM', 'ls:listed:' .. ARGV[i+2], ARGV[i+1])\n"
                   "    i = i + 3\n"
                   "  else\n"
                   "    seqs[#seqs + 1] = journal_append(KEYS[2], KEYS[3], ARGV[i+1])\n"
                   "    i = i + 2\n"
                   "  end\n"
                   "end\n"
                   "redis.call('SET', KEYS[1], ARGV[1])\n"
                   "return seqs\n");

/* ---------------------------------------------------------------------------
 * The write plan for one change: arguments for the script, all owned here. */

typedef struct {
    zlistx_t *args;   /* zchunk_t * in order */
    zlistx_t *events; /* zchunk_t * packed MatchEvent, in append order */
} s_plan_t;

static void s_chunk_destroy(void **item)
{
    zchunk_destroy((zchunk_t **)item);
}

static void s_plan_init(s_plan_t *plan)
{
    plan->args = zlistx_new();
    plan->events = zlistx_new();
    zlistx_set_destructor(plan->args, s_chunk_destroy);
    zlistx_set_destructor(plan->events, s_chunk_destroy);
}

static void s_plan_free(s_plan_t *plan)
{
    zlistx_destroy(&plan->args);
    zlistx_destroy(&plan->events);
}

static void s_plan_str(s_plan_t *plan, const char *text)
{
    zlistx_add_end(plan->args, zchunk_new(text, strlen(text)));
}

static void s_plan_msg(s_plan_t *plan, const ProtobufCMessage *msg, bool event)
{
    size_t len = 0;
    uint8_t *data = ls_codec_pack_buffer(msg, &len);
    zlistx_add_end(plan->args, zchunk_new(data, len));
    if (event)
        zlistx_add_end(plan->events, zchunk_new(data, len));
    free(data);
}

static void s_plan_event(s_plan_t *plan, Lodestone__V1__MatchEvent__Kind kind, ls_match_pb *match,
                         uint64_t change_seq)
{
    ls_match_event_pb event = LODESTONE__V1__MATCH_EVENT__INIT;
    event.kind = kind;
    event.match = match;
    event.change_seq = change_seq;
    s_plan_str(plan, "E");
    s_plan_msg(plan, &event.base, true);
}

/* ---------------------------------------------------------------------------
 * Lists */

static void s_today(char *out, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, len, "%Y-%m-%d", &tm);
}

/* Reads the stored list of subject: candidate id -> Match (owned by the hash). */
static zhashx_t *s_read_list(matching_t *self, const char *subject)
{
    redisReply *reply = ls_store_command(self->store, "HGETALL " LS_KEY_MATCHES "%s", subject);
    if (!reply)
        return NULL;
    zhashx_t *list = zhashx_new();
    zhashx_set_destructor(list, (zhashx_destructor_fn *)match_destroy);
    if (reply->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
            redisReply *value = reply->element[i + 1];
            ls_match_pb *m =
                lodestone__v1__match__unpack(NULL, value->len, (const uint8_t *)value->str);
            if (m)
                zhashx_insert(list, reply->element[i]->str, m);
        }
    freeReplyObject(reply);
    return list;
}

static bool s_same_match(const ls_match_pb *a, const ls_match_pb *b)
{
    return fabs(a->score - b->score) < 1e-9 && strcmp(a->summary, b->summary) == 0 &&
           strcmp(a->candidate_name, b->candidate_name) == 0;
}

/* Recomputes subject's list and plans the edits and events against the stored one. */
static int s_replan(matching_t *self, const char *subject, uint64_t change_seq, const char *today,
                    s_plan_t *plan)
{
    zhashx_t *old = s_read_list(self, subject);
    if (!old)
        return -1;
    const match_entity_t *record = match_index_lookup(self->index, subject);
    zlistx_t *top = record ? match_top(self->index, record, &self->model, today) : zlistx_new();
    int64_t now = ls_now_ms();
    for (ls_match_pb *m = zlistx_first(top); m; m = zlistx_next(top)) {
        m->at = now;
        ls_match_pb *before = zhashx_lookup(old, m->candidate_id);
        if (!before || !s_same_match(before, m)) {
            s_plan_str(plan, "S");
            s_plan_str(plan, subject);
            s_plan_str(plan, m->candidate_id);
            s_plan_msg(plan, &m->base, false);
            s_plan_event(plan,
                         before ? LODESTONE__V1__MATCH_EVENT__KIND__CHANGED
                                : LODESTONE__V1__MATCH_EVENT__KIND__NEW,
                         m, change_seq);
        }
        zhashx_delete(old, m->candidate_id);
    }
    for (ls_match_pb *gone = zhashx_first(old); gone; gone = zhashx_next(old)) {
        s_plan_str(plan, "D");
        s_plan_str(plan, subject);
        s_plan_str(plan, gone->candidate_id);
        gone->at = now;
        s_plan_event(plan, LODESTONE__V1__MATCH_EVENT__KIND__GONE, gone, change_seq);
    }
    zlistx_destroy(&top);
    zhashx_destroy(&old);
    return 0;
}

static bool s_owned(matching_t *self, const char *id)
{
    return ls_partition_of(id, (unsigned)self->config->matching_partitions) ==
           (unsigned)self->config->matching_partition;
}

static void s_collect(const match_entity_t *candidate, void *arg)
{
    zhashx_insert((zhashx_t *)arg, candidate->id, (void *)1);
}

/* The ids whose lists a change of id can affect: itself, its candidates, and those
 * that listed it. */
static int s_affected(matching_t *self, const char *id, zhashx_t *affected)
{
    zhashx_insert(affected, id, (void *)1);
    const match_entity_t *record = match_index_lookup(self->index, id);
    if (record) {
        match_index_candidates(self->index, record, LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME,
                               s_collect, affected);
        match_index_candidates(self->index, record,
                               LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY, s_collect,
                               affected);
    }
    redisReply *reply = ls_store_command(self->store, "SMEMBERS " S_KEY_LISTED "%s", id);
    if (!reply)
        return -1;
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++)
        zhashx_insert(affected, reply->element[i]->str, (void *)1);
    freeReplyObject(reply);
    return 0;
}

/* Updates the index with the change; an older version than the one held (replay
 * after a restart that rebuilt from newer state) leaves the index as it is. */
static void s_index_change(matching_t *self, ls_change_event_pb *change)
{
    const match_entity_t *held = match_index_lookup(self->index, change->entity_id);
    if (held && held->version > change->version)
        return;
    if (change->op == LODESTONE__V1__CHANGE_EVENT__OP__UPSERT && ls_change_event_meta(change) == 0)
        match_index_upsert(self->index, change->entity);
    else
        match_index_remove(self->index, change->entity_id);
}

static int s_execute(matching_t *self, uint64_t seq, s_plan_t *plan)
{
    size_t argc = 3 + 1 + zlistx_size(plan->args);
    const char **argv = calloc(argc, sizeof *argv);
    size_t *lens = calloc(argc, sizeof *lens);
    char seq_text[24];
    snprintf(seq_text, sizeof seq_text, "%llu", (unsigned long long)seq);
    const char *fixed[] = {self->checkpoint, LS_JOURNAL_MATCHES.stream, LS_JOURNAL_MATCHES.seq_key,
                           seq_text};
    size_t n = 0;
    for (; n < 4; n++) {
        argv[n] = fixed[n];
        lens[n] = strlen(fixed[n]);
    }
    for (zchunk_t *c = zlistx_first(plan->args); c; c = zlistx_next(plan->args), n++) {
        argv[n] = (const char *)zchunk_data(c);
        lens[n] = zchunk_size(c);
    }
    redisReply *reply = ls_store_eval(self->store, &s_apply_script, 3, (int)n, argv, lens);
    int rc = -1;
    if (reply && reply->type == REDIS_REPLY_ARRAY) {
        rc = 0;
        bool replay = reply->elements == 1 && reply->element[0]->integer == -1;
        zchunk_t *event = zlistx_first(plan->events);
        for (size_t i = 0; !replay && i < reply->elements && event; i++) {
            ls_journal_send(self->push, &LS_JOURNAL_MATCHES, (uint64_t)reply->element[i]->integer,
                            zchunk_data(event), zchunk_size(event));
            self->events++;
            event = zlistx_next(plan->events);
        }
    } else
        LS_WARN("applying change %llu failed: %s", (unsigned long long)seq,
                reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                          : ls_store_error(self->store));
    if (reply)
        freeReplyObject(reply);
    free(argv);
    free(lens);
    return rc;
}

static int s_apply(ls_follower_t *follower, uint64_t seq, const uint8_t *payload, size_t len,
                   void *arg)
{
    matching_t *self = arg;
    const char *reason = NULL;
    ls_change_event_pb *change = (ls_change_event_pb *)ls_codec_unpack(
        &lodestone__v1__change_event__descriptor, payload, len,
        (size_t)self->config->max_message_bytes, &reason);
    if (!change || !*change->entity_id) {
        LS_ERROR("change journal entry %llu is unusable (%s); skipped", (unsigned long long)seq,
                 change ? "no entity id" : reason);
        if (change)
            lodestone__v1__change_event__free_unpacked(change, NULL);
        return ls_follower_commit(follower, seq);
    }
    s_index_change(self, change);
    zhashx_t *affected = zhashx_new();
    int rc = s_affected(self, change->entity_id, affected);
    char today[16];
    s_today(today, sizeof today);
    s_plan_t plan;
    s_plan_init(&plan);
    for (void *it = zhashx_first(affected); rc == 0 && it; it = zhashx_next(affected)) {
        const char *id = zhashx_cursor(affected);
        if (s_owned(self, id))
            rc = s_replan(self, id, seq, today, &plan);
    }
    if (rc == 0)
        rc = s_execute(self, seq, &plan);
    s_plan_free(&plan);
    zhashx_destroy(&affected);
    lodestone__v1__change_event__free_unpacked(change, NULL);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Start-up: the index is rebuilt from the stored entities. */

static int s_rebuild(matching_t *self)
{
    const char *kinds[] = {"sme", "investor", "opportunity"};
    int64_t started = ls_mono_ms();
    size_t loaded = 0;
    for (int k = 0; k < 3; k++) {
        redisReply *ids =
            ls_store_command(self->store, "ZRANGE " LS_KEY_INDEX "kind:%s 0 -1", kinds[k]);
        if (!ids)
            return -1;
        for (size_t i = 0; ids->type == REDIS_REPLY_ARRAY && i < ids->elements; i++) {
            ls_entity_pb *entity = NULL;
            if (ls_entity_load(self->store, ids->element[i]->str, false, &entity) == 0) {
                match_index_upsert(self->index, entity);
                lodestone__v1__entity__free_unpacked(entity, NULL);
                loaded++;
            }
        }
        freeReplyObject(ids);
    }
    LS_INFO("index rebuilt: %zu entities read, %zu active, in %lld ms", loaded,
            match_index_size(self->index), (long long)(ls_mono_ms() - started));
    return 0;
}

/* ---------------------------------------------------------------------------
 * Queries */

static int s_by_score(const void *a, const void *b)
{
    const ls_match_pb *x = *(ls_match_pb *const *)a, *y = *(ls_match_pb *const *)b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->candidate_id, y->candidate_id);
}

static void s_handle_matches(matching_t *self, ls_rpc_request_t *req)
{
    const Lodestone__V1__GetMatches *q = req->request->matches;
    if (!*q->entity_id || strlen(q->entity_id) > 64) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INVALID,
                            "matches.entityId: is required and at most 64 bytes");
        return;
    }
    redisReply *exists = ls_store_command(self->store, "EXISTS " LS_KEY_ENTITY "%s", q->entity_id);
    zhashx_t *list = exists ? s_read_list(self, q->entity_id) : NULL;
    if (!list) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                            "the store is unavailable; retry");
    } else if (exists->type != REDIS_REPLY_INTEGER || exists->integer == 0) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__NOT_FOUND,
                            "no entity %s", q->entity_id);
    } else {
        size_t n = zhashx_size(list);
        ls_match_pb **items = calloc(n ? n : 1, sizeof *items);
        size_t i = 0;
        for (ls_match_pb *m = zhashx_first(list); m; m = zhashx_next(list))
            items[i++] = m;
        qsort(items, n, sizeof *items, s_by_score);
        size_t limit = q->limit ? q->limit : (size_t)self->config->top_k;
        Lodestone__V1__MatchList result = LODESTONE__V1__MATCH_LIST__INIT;
        result.entity_id = q->entity_id;
        result.matches = items;
        result.n_matches = n < limit ? n : limit;
        ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
        reply.body_case = LODESTONE__V1__REPLY__BODY_MATCHES;
        reply.matches = &result;
        ls_rpc_reply(self->router, req, &reply);
        free(items);
    }
    if (exists)
        freeReplyObject(exists);
    zhashx_destroy(&list);
}

static void s_handle_ping(matching_t *self, ls_rpc_request_t *req)
{
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    Lodestone__V1__Pong pong = LODESTONE__V1__PONG__INIT;
    pong.service = "matching";
    pong.version = LS_VERSION_TEXT;
    pong.seq = ls_follower_position(self->follower);
    pong.instance = (uint64_t)self->config->matching_partition;
    pong.instances = (uint64_t)self->config->matching_partitions;
    if (ls_journal_latest(self->store, &LS_JOURNAL_CHANGES, &pong.journal_latest)) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                            "the store is unavailable");
        return;
    }
    reply.body_case = LODESTONE__V1__REPLY__BODY_PONG;
    reply.pong = &pong;
    ls_rpc_reply(self->router, req, &reply);
}

static void s_dispatch(matching_t *self, ls_rpc_request_t *req)
{
    switch (req->request->body_case) {
    case LODESTONE__V1__ENVELOPE__BODY_PING:
        s_handle_ping(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_MATCHES:
        s_handle_matches(self, req);
        break;
    default:
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNSUPPORTED,
                            "matching does not serve this request");
    }
}

/* ---------------------------------------------------------------------------
 * Life cycle */

matching_t *matching_new(const ls_config_t *config)
{
    matching_t *self = calloc(1, sizeof *self);
    char err[512];
    self->config = config;
    self->model = match_config_default();
    self->model.threshold = config->threshold;
    self->model.top_k = (size_t)config->top_k;
    snprintf(self->checkpoint, sizeof self->checkpoint, LS_KEY_CHECKPOINT "matching:%ld-of-%ld",
             config->matching_partition, config->matching_partitions);
    self->taxonomy = ls_taxonomy_load(config->data_dir, err, sizeof err);
    if (!self->taxonomy) {
        LS_ERROR("cannot load taxonomies: %s", err);
        matching_destroy(&self);
        return NULL;
    }
    self->store = ls_store_new(config->redis_url, -1, err, sizeof err);
    if (!self->store) {
        LS_ERROR("%s", err);
        matching_destroy(&self);
        return NULL;
    }
    self->index = match_index_new(self->taxonomy);
    self->follower =
        ls_follower_new(self->store, &LS_JOURNAL_CHANGES, self->checkpoint, s_apply, self);
    self->router = zsock_new(ZMQ_ROUTER);
    self->sub = zsock_new(ZMQ_SUB);
    self->push = zsock_new(ZMQ_PUSH);
    if (!self->index || !self->follower || !self->router || !self->sub || !self->push) {
        matching_destroy(&self);
        return NULL;
    }
    zsock_set_maxmsgsize(self->router, config->max_message_bytes);
    zsock_set_maxmsgsize(self->sub, config->max_message_bytes);
    zsock_set_rcvhwm(self->sub, 100000);
    zsock_set_sndhwm(self->push, 100000);
    zsock_set_subscribe(self->sub, LS_JOURNAL_CHANGES.name);
    if (zsock_bind(self->router, "%s", config->matching_bind) < 0 ||
        zsock_connect(self->sub, "%s", config->registry_pub_endpoint) < 0 ||
        zsock_connect(self->push, "%s", config->notification_pull_endpoint) < 0) {
        LS_ERROR("cannot bind %s or connect %s, %s: %s", config->matching_bind,
                 config->registry_pub_endpoint, config->notification_pull_endpoint,
                 zmq_strerror(zmq_errno()));
        matching_destroy(&self);
        return NULL;
    }
    LS_INFO("matching instance %ld of %ld ready: queries on %s, changes from %s, events to %s",
            config->matching_partition, config->matching_partitions, config->matching_bind,
            config->registry_pub_endpoint, config->notification_pull_endpoint);
    return self;
}

void matching_destroy(matching_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    matching_t *self = *self_p;
    zsock_destroy(&self->router);
    zsock_destroy(&self->sub);
    zsock_destroy(&self->push);
    ls_follower_destroy(&self->follower);
    match_index_destroy(&self->index);
    ls_store_destroy(&self->store);
    ls_taxonomy_destroy(&self->taxonomy);
    free(self);
    *self_p = NULL;
}

static void s_tick(matching_t *self)
{
    ls_follower_tick(self->follower);
    uint64_t latest = 0;
    if (ls_journal_latest(self->store, &LS_JOURNAL_MATCHES, &latest) == 0)
        ls_journal_send_heartbeat(self->push, &LS_JOURNAL_MATCHES, latest);
}

static void s_on_request(void *arg, ls_rpc_request_t *req)
{
    s_dispatch(arg, req);
}

static void s_on_input(void *arg, zmsg_t *msg)
{
    matching_t *self = arg;
    ls_follower_on_message(self->follower, msg);
}

static void s_on_tick(void *arg)
{
    s_tick(arg);
}

int matching_run(matching_t *self)
{
    /* Subscribed already (Clone pattern): rebuild, then catch up from the checkpoint. */
    while (!zsys_interrupted && (s_rebuild(self) || ls_follower_start(self->follower)))
        zclock_sleep(1000);
    ls_service_loop_t loop = {.router = self->router,
                              .max_bytes = (size_t)self->config->max_message_bytes,
                              .on_request = s_on_request,
                              .input = self->sub,
                              .on_input = s_on_input,
                              .tick_ms = self->config->heartbeat_ms,
                              .on_tick = s_on_tick,
                              .arg = self};
    int rc = ls_service_run(&loop);
    LS_INFO("matching stopping after %llu match events", (unsigned long long)self->events);
    return rc;
}
