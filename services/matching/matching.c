/* matching.c — the matching service: its sockets, the lease of its partition
 * (lease.h), the change-journal follower that feeds the engine (engine.h), and the
 * queries (matches, explain, stats, re-match). Any instance answers queries for any
 * entity: the lists are read from Redis. An instance that finds every partition held
 * is a standby: it answers what needs no index and claims again every second. */
#include "matching.h"

#include <czmq.h>
#include <string.h>

#include "engine.h"
#include "lease.h"
#include "ls_follower.h"
#include "ls_journal.h"
#include "ls_keys.h"
#include "ls_log.h"
#include "ls_rpc.h"
#include "ls_service.h"
#include "ls_taxonomy.h"
#include "ls_util.h"
#include "report.h"

struct _matching_t {
    ls_config_t settings;      /* a copy: the claimed partition is written into it */
    const ls_config_t *config; /* &settings */
    ls_store_t *store;
    ls_taxonomy_t *taxonomy;
    lease_t *lease;
    bool active; /* holds a partition; a standby until then */
    bool failed; /* stopped because the partition passed to another process */
    engine_t engine;
    ls_follower_t *follower;
    ls_guard_t *guard; /* who may ask (CURVE) */
    zsock_t *router;
    zsock_t *sub;
    zsock_t *push;
    int64_t next_beat; /* when the next heartbeat is due, monotonic ms */
    ls_metrics_t *metrics;
    ls_series_t *changes; /* copied from the engine on every tick */
    ls_series_t *events;
};

/* ---------------------------------------------------------------------------
 * Queries */

static int s_by_score(const void *a, const void *b)
{
    const ls_match_pb *x = *(ls_match_pb *const *)a, *y = *(ls_match_pb *const *)b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->candidate_id, y->candidate_id);
}

#define S_NO_ENTITY -2 /* s_stored_list: no entity has that id */

/* Reads subject's stored list, sorted, in one round trip with the check that the
 * entity exists. Returns the count, S_NO_ENTITY, or -1 when the store failed; the
 * caller frees the array and its matches (s_free_stored). */
static long s_stored_list(matching_t *self, const char *subject, ls_match_pb ***out)
{
    char entity[128], matches[128];
    snprintf(entity, sizeof entity, LS_KEY_ENTITY "%s", subject);
    snprintf(matches, sizeof matches, LS_KEY_MATCHES "%s", subject);
    const char *kind[] = {"HGET", entity, "kind"};
    const char *list[] = {"HGETALL", matches};
    *out = NULL;
    if (ls_store_append(self->store, 3, kind, NULL) || ls_store_append(self->store, 2, list, NULL))
        return -1;
    redisReply *found = ls_store_reply(self->store);
    redisReply *reply = found ? ls_store_reply(self->store) : NULL;
    long n = !reply ? -1 : found->type == REDIS_REPLY_STRING ? 0 : S_NO_ENTITY;
    if (found)
        freeReplyObject(found);
    if (n < 0) {
        if (reply)
            freeReplyObject(reply);
        return n;
    }
    ls_match_pb **items = calloc(reply->elements / 2 + 1, sizeof *items);
    for (size_t i = 1; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i += 2) {
        ls_match_pb *m = lodestone__v1__match__unpack(NULL, reply->element[i]->len,
                                                      (const uint8_t *)reply->element[i]->str);
        if (m)
            items[n++] = m;
    }
    freeReplyObject(reply);
    if (n > 1)
        qsort(items, (size_t)n, sizeof *items, s_by_score);
    *out = items;
    return n;
}

static void s_free_stored(ls_match_pb **items, long n)
{
    for (long i = 0; i < n; i++)
        lodestone__v1__match__free_unpacked(items[i], NULL);
    free(items);
}

static bool s_id_ok(matching_t *self, ls_rpc_request_t *req, const char *field, const char *id)
{
    if (*id && strlen(id) <= 64)
        return true;
    ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INVALID,
                        "%s: is required and at most 64 bytes", field);
    return false;
}

/* 1 when id names a stored entity, 0 when not, -1 when the store failed. */
static int s_exists(matching_t *self, const char *id)
{
    redisReply *r = ls_store_command(self->store, "HGET " LS_KEY_ENTITY "%s kind", id);
    int rc = !r ? -1 : r->type == REDIS_REPLY_STRING ? 1 : 0;
    if (r)
        freeReplyObject(r);
    return rc;
}

static bool s_found(matching_t *self, ls_rpc_request_t *req, const char *id)
{
    int rc = s_exists(self, id);
    if (rc == 1)
        return true;
    ls_rpc_reply_status(self->router, req,
                        rc < 0 ? LODESTONE__V1__STATUS__CODE__UNAVAILABLE
                               : LODESTONE__V1__STATUS__CODE__NOT_FOUND,
                        rc < 0 ? "the store is unavailable; retry (%s)" : "no entity %s", id);
    return false;
}

static void s_handle_matches(matching_t *self, ls_rpc_request_t *req)
{
    const Lodestone__V1__GetMatches *q = req->request->matches;
    if (!s_id_ok(self, req, "matches.entityId", q->entity_id))
        return;
    ls_match_pb **items = NULL;
    long n = s_stored_list(self, q->entity_id, &items);
    if (n == S_NO_ENTITY) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__NOT_FOUND,
                            "no entity %s", q->entity_id);
        return;
    }
    if (n < 0) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                            "the store is unavailable; retry");
        return;
    }
    size_t limit = q->limit ? q->limit : (size_t)self->config->top_k;
    size_t offset = q->offset < (size_t)n ? q->offset : (size_t)n;
    Lodestone__V1__MatchList result = LODESTONE__V1__MATCH_LIST__INIT;
    result.entity_id = q->entity_id;
    result.matches = items + offset;
    result.n_matches = (size_t)n - offset < limit ? (size_t)n - offset : limit;
    result.total = (uint32_t)n;
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_MATCHES;
    reply.matches = &result;
    ls_rpc_reply(self->router, req, &reply);
    s_free_stored(items, n);
}

/* True when this instance has an index; a standby answers UNAVAILABLE instead. */
static bool s_indexed(matching_t *self, ls_rpc_request_t *req)
{
    if (self->active)
        return true;
    ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                        "this matching instance is a standby (all %ld partitions are held by "
                        "other instances) and has no index; ask another instance",
                        self->config->matching_partitions);
    return false;
}

/* The instance number reported in pongs and statistics: the partition held, or
 * the number of partitions for a standby (no partition has that number). */
static uint64_t s_instance(const matching_t *self)
{
    return (uint64_t)(self->active ? self->config->matching_partition
                                   : self->config->matching_partitions);
}

static void s_handle_explain(matching_t *self, ls_rpc_request_t *req)
{
    const Lodestone__V1__ExplainPair *q = req->request->explain;
    if (!s_indexed(self, req) || !s_id_ok(self, req, "explain.subjectId", q->subject_id) ||
        !s_id_ok(self, req, "explain.candidateId", q->candidate_id) ||
        !s_found(self, req, q->subject_id) || !s_found(self, req, q->candidate_id))
        return;
    Lodestone__V1__Explanation ex = LODESTONE__V1__EXPLANATION__INIT;
    char why[512] = "", today[16];
    ls_today(today, sizeof today);
    const match_entity_t *a = match_index_lookup(self->engine.index, q->subject_id);
    const match_entity_t *b = match_index_lookup(self->engine.index, q->candidate_id);
    ls_match_pb *m = NULL;
    if (!a || !b)
        snprintf(why, sizeof why,
                 "%s is not active in matching (withdrawn, no consent to be "
                 "matched, or closed)",
                 !a ? q->subject_id : q->candidate_id);
    else
        ex.matched = match_explain(&self->engine.model, a, b, today, &m, why, sizeof why) ==
                     MATCH_EXPLAIN_MATCH;
    ex.match = m;
    ex.why = why;
    size_t n = 0; /* the shown entries of the list, without its reserve */
    match_lists_get(self->engine.lists, q->subject_id, &n);
    n = n < self->engine.model.top_k ? n : self->engine.model.top_k;
    if (engine_owns(&self->engine, q->subject_id))
        ex.listed = match_lists_has(self->engine.lists, q->subject_id, q->candidate_id);
    else { /* another instance keeps that list: ask Redis */
        redisReply *r = ls_store_command(self->store, "HEXISTS " LS_KEY_MATCHES "%s %s",
                                         q->subject_id, q->candidate_id);
        ex.listed = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        if (r)
            freeReplyObject(r);
    }
    if (ex.matched && !ex.listed && engine_owns(&self->engine, q->subject_id)) {
        size_t used = strlen(why);
        snprintf(why + used, sizeof why - used, "; not listed: %zu better matches fill the top %zu",
                 n, (size_t)self->engine.model.top_k);
    }
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_EXPLANATION;
    reply.explanation = &ex;
    ls_rpc_reply(self->router, req, &reply);
    match_destroy(&m);
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* p50 and p99 of the first n values of window (unchanged when n is 0). */
static void s_percentiles(const double *window, size_t n, double *p50, double *p99)
{
    double sorted[ENGINE_LATENCY_WINDOW];
    if (n == 0)
        return;
    memcpy(sorted, window, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, s_cmp_double);
    *p50 = sorted[n / 2];
    *p99 = sorted[(n * 99) / 100];
}

static void s_handle_stats(matching_t *self, ls_rpc_request_t *req)
{
    Lodestone__V1__MatchingStats st = LODESTONE__V1__MATCHING_STATS__INIT;
    st.entities = match_index_size(self->engine.index);
    st.lists = match_lists_count(self->engine.lists);
    st.changes = self->engine.changes;
    st.events = self->engine.events;
    st.candidates_per_change =
        self->engine.changes ? (double)self->engine.scored / (double)self->engine.changes : 0;
    size_t n =
        self->engine.changes < ENGINE_LATENCY_WINDOW ? self->engine.changes : ENGINE_LATENCY_WINDOW;
    s_percentiles(self->engine.latency_us, n, &st.change_p50_us, &st.change_p99_us);
    s_percentiles(self->engine.scoring_us, n, &st.score_p50_us, &st.score_p99_us);
    st.lists_recomputed = self->engine.recomputed;
    st.model_version = MATCH_MODEL_VERSION;
    st.memory_bytes = match_index_memory(self->engine.index);
    st.instance = s_instance(self);
    st.instances = (uint64_t)self->config->matching_partitions;
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_STATS;
    reply.stats = &st;
    ls_rpc_reply(self->router, req, &reply);
}

static void s_handle_ping(matching_t *self, ls_rpc_request_t *req)
{
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    Lodestone__V1__Pong pong = LODESTONE__V1__PONG__INIT;
    pong.service = "matching";
    pong.version = LS_VERSION_TEXT;
    pong.instance = s_instance(self);
    pong.standby = !self->active;
    pong.instances = (uint64_t)self->config->matching_partitions;
    if (ls_journal_latest(self->store, &LS_JOURNAL_CHANGES, &pong.journal_latest)) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                            "the store is unavailable");
        return;
    }
    /* A standby has nothing to apply: it is never behind (lodestonectl wait). */
    pong.seq = self->follower ? ls_follower_position(self->follower) : pong.journal_latest;
    reply.body_case = LODESTONE__V1__REPLY__BODY_PONG;
    reply.pong = &pong;
    ls_rpc_reply(self->router, req, &reply);
}

static void s_handle_rematch(matching_t *self, ls_rpc_request_t *req)
{
    Lodestone__V1__RematchStarted started = LODESTONE__V1__REMATCH_STARTED__INIT;
    if (engine_request_rematch(&self->engine, req->request->rematch->refresh_model,
                               &started.generation)) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNAVAILABLE,
                            "the store is unavailable; retry");
        return;
    }
    LS_INFO("re-match requested: journal entry %llu", (unsigned long long)started.generation);
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_REMATCH;
    reply.rematch = &started;
    ls_rpc_reply(self->router, req, &reply);
}

/* The capability map or the joint-demonstration suggestions, from the index. */
static void s_handle_report(matching_t *self, ls_rpc_request_t *req)
{
    Lodestone__V1__GetReport *q = req->request->report;
    if (!s_indexed(self, req))
        return;
    if (q->kind != LODESTONE__V1__GET_REPORT__KIND__MAP &&
        q->kind != LODESTONE__V1__GET_REPORT__KIND__DEMOS) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INVALID,
                            "kind: MAP or DEMOS");
        return;
    }
    if (*q->material && !ls_taxonomy_material(self->taxonomy, q->material)) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INVALID,
                            "material: unknown material \"%.64s\"", q->material);
        return;
    }
    Lodestone__V1__Report report = LODESTONE__V1__REPORT__INIT;
    char today[16];
    ls_today(today, sizeof today);
    if (q->kind == LODESTONE__V1__GET_REPORT__KIND__MAP) {
        report.body_case = LODESTONE__V1__REPORT__BODY_MAP;
        report.map = report_map(self->engine.index, self->taxonomy);
    } else {
        report.body_case = LODESTONE__V1__REPORT__BODY_DEMOS;
        report.demos = report_demos(self->engine.index, self->taxonomy, &self->engine.model,
                                    q->material, q->limit, today);
    }
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_REPORT;
    reply.report = &report;
    ls_rpc_reply(self->router, req, &reply);
    if (report.body_case == LODESTONE__V1__REPORT__BODY_MAP) /* a oneof: one pointer */
        lodestone__v1__capability_map__free_unpacked(report.map, NULL);
    else
        lodestone__v1__demo_list__free_unpacked(report.demos, NULL);
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
    case LODESTONE__V1__ENVELOPE__BODY_EXPLAIN:
        s_handle_explain(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_STATS:
        s_handle_stats(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_REMATCH:
        s_handle_rematch(self, req);
        break;
    case LODESTONE__V1__ENVELOPE__BODY_REPORT:
        s_handle_report(self, req);
        break;
    default:
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__UNSUPPORTED,
                            "matching does not serve this request");
    }
}

/* ---------------------------------------------------------------------------
 * Life cycle */

static int s_apply(ls_follower_t *follower, uint64_t seq, const uint8_t *payload, size_t len,
                   void *arg)
{
    (void)follower;
    matching_t *self = arg;
    return engine_apply(&self->engine, seq, payload, len);
}

matching_t *matching_new(const ls_config_t *config)
{
    matching_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    char err[512];
    self->settings = *config;
    self->config = &self->settings;
    self->taxonomy = ls_taxonomy_load(config->data_dir, err, sizeof err);
    if (!self->taxonomy) {
        LS_ERROR("cannot load taxonomies: %s", err);
        matching_destroy(&self);
        return NULL;
    }
    self->store = ls_store_new(config->redis_url, -1, err, sizeof err);
    self->push = zsock_new(ZMQ_PUSH);
    /* The engine checks the weights now; it is bound to a partition once one is held. */
    if (!self->store || !self->push ||
        engine_init(&self->engine, self->config, self->store, self->taxonomy, self->push, err,
                    sizeof err) ||
        !(self->lease = lease_new(config, err, sizeof err))) {
        LS_ERROR("%s", err);
        matching_destroy(&self);
        return NULL;
    }
    self->guard = ls_guard_new(config, err, sizeof err);
    if (!self->guard) {
        LS_ERROR("%s", err);
        matching_destroy(&self);
        return NULL;
    }
    self->router = zsock_new(ZMQ_ROUTER);
    self->sub = zsock_new(ZMQ_SUB);
    self->metrics = ls_metrics_new("matching");
    self->changes = ls_metric_with(ls_metrics_counter(
        self->metrics, "lodestone_matching_changes_total", "Registry changes applied", NULL));
    self->events = ls_metric_with(ls_metrics_counter(
        self->metrics, "lodestone_matching_events_total", "Match events emitted", NULL));
    if (!self->router || !self->sub || !self->events) {
        matching_destroy(&self);
        return NULL;
    }
    ls_guard_secure(self->guard, self->router);
    zsock_set_maxmsgsize(self->router, config->max_message_bytes);
    zsock_set_maxmsgsize(self->sub, config->max_message_bytes);
    zsock_set_rcvhwm(self->sub, 100000);
    zsock_set_sndhwm(self->push, 100000);
    /* The request socket first: a standby answers pings while it waits. */
    if (zsock_bind(self->router, "%s", config->matching_bind) < 0 ||
        zsock_connect(self->push, "%s", config->notification_pull_endpoint) < 0) {
        LS_ERROR("cannot bind %s or connect %s: %s", config->matching_bind,
                 config->notification_pull_endpoint, zmq_strerror(zmq_errno()));
        matching_destroy(&self);
        return NULL;
    }
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
    ls_guard_destroy(&self->guard);
    ls_follower_destroy(&self->follower);
    engine_destroy(&self->engine);
    lease_destroy(&self->lease); /* after the engine, which borrows its key and token */
    ls_store_destroy(&self->store);
    ls_taxonomy_destroy(&self->taxonomy);
    ls_metrics_destroy(&self->metrics);
    free(self);
    *self_p = NULL;
}

/* True once the partition is no longer this process': its lease was lost or a
 * write was refused by the fence. Logged once. */
static bool s_lost(matching_t *self)
{
    const char *why = "a write was refused: another process holds it now";
    if (!self->failed && !self->engine.fenced && !lease_lost(self->lease, &why))
        return false;
    if (!self->failed)
        LS_ERROR("lost partition %ld of %ld (lease %s): %s; stopping, to claim again on restart",
                 self->config->matching_partition, self->config->matching_partitions,
                 lease_key(self->lease), why);
    self->failed = true;
    return true;
}

/* Ends the service loop once the partition is lost; true then. The loop stops only
 * on interruption, so it is interrupted, and matching_run says why. */
static bool s_stop_if_lost(matching_t *self)
{
    if (!s_lost(self))
        return false;
    zsys_interrupted = 1;
    return true;
}

/* Works off the journal and, once per heartbeat period, tells notification the
 * match journal's latest number. Returns 1 while behind. */
static int s_tick(matching_t *self)
{
    if (s_stop_if_lost(self))
        return 0;
    int more = ls_follower_tick(self->follower) > 0;
    if (s_stop_if_lost(self))
        return 0;
    int64_t now = ls_mono_ms();
    uint64_t latest = 0;
    if (now >= self->next_beat &&
        ls_journal_latest(self->store, &LS_JOURNAL_MATCHES, &latest) == 0) {
        ls_journal_send_heartbeat(self->push, &LS_JOURNAL_MATCHES, latest);
        self->next_beat = now + self->config->heartbeat_ms;
    }
    ls_series_set(self->changes, (double)self->engine.changes);
    ls_series_set(self->events, (double)self->engine.events);
    return more;
}

static void s_on_request(void *arg, ls_rpc_request_t *req)
{
    s_dispatch(arg, req);
}

static void s_on_input(void *arg, zmsg_t *msg)
{
    matching_t *self = arg;
    if (!s_stop_if_lost(self)) /* no more attempts once the fence refused one */
        ls_follower_on_message(self->follower, msg);
}

static int s_on_tick(void *arg)
{
    return s_tick(arg);
}

/* Answers requests as a standby for ms (or until interrupted). Not through the
 * service loop: that one ends only with the process, and a standby goes on to start
 * it once it holds a partition. No rate limits here: a standby serves only cheap
 * requests. */
static void s_standby_serve(matching_t *self, zpoller_t *poller, int64_t ms)
{
    int64_t until = ls_mono_ms() + ms;
    for (int64_t now = ls_mono_ms(); now < until && !zsys_interrupted; now = ls_mono_ms()) {
        void *which = zpoller_wait(poller, (int)(until - now));
        if (zpoller_terminated(poller))
            return;
        if (which != self->router)
            continue;
        ls_rpc_request_t req;
        int rc = ls_rpc_recv(self->router, (size_t)self->config->max_message_bytes, &req);
        if (rc < 0)
            return;
        /* The same check of the key as the service loop makes (ls_security.h). */
        if (rc == 0 && ls_guard_admit(self->guard, self->router, &req))
            s_dispatch(self, &req);
        ls_rpc_request_free(&req);
    }
}

/* Claims a partition; while every one is held, waits as a standby and claims again
 * every second. Returns 0 once one is held (or when interrupted), 1 when refused
 * (another layout lives). */
static int s_claim(matching_t *self)
{
    zpoller_t *poller = zpoller_new(self->router, NULL);
    bool told = false;
    int rc = 0;
    while (!zsys_interrupted) {
        char err[512];
        int partition = lease_claim(self->lease, err, sizeof err);
        if (partition >= 0) {
            self->settings.matching_partition = partition;
            if (told)
                LS_INFO("standby no more: partition %d of %ld is free", partition,
                        self->config->matching_partitions);
            break;
        }
        if (partition == LEASE_LAYOUT) {
            LS_ERROR("%s", err);
            rc = 1;
            break;
        }
        if (partition == LEASE_FAILED)
            LS_WARN("%s; retrying", err);
        else if (!told)
            LS_INFO("standby: all %ld partitions are held by live instances; answering pings "
                    "and match reads, and claiming again every second",
                    self->config->matching_partitions);
        told = told || partition == LEASE_STANDBY;
        s_standby_serve(self, poller, 1000);
    }
    zpoller_destroy(&poller);
    return rc;
}

/* With a partition held: keeps the lease, binds the engine, subscribes, rebuilds the
 * index and catches up. Returns 0, or 1 when the partition was lost meanwhile. */
static int s_activate(matching_t *self)
{
    const ls_config_t *config = self->config;
    engine_bind(&self->engine, lease_key(self->lease), lease_token(self->lease));
    self->follower =
        ls_follower_new(self->store, &LS_JOURNAL_CHANGES, self->engine.checkpoint, s_apply, self);
    if (!self->follower || lease_keep(self->lease)) {
        LS_ERROR("cannot start the follower or the lease renewal thread");
        return 1;
    }
    self->active = true;
    ls_follower_set_trim(self->follower, (uint64_t)config->journal_keep);
    zsock_set_subscribe(self->sub, LS_JOURNAL_CHANGES.name);
    if (zsock_connect(self->sub, "%s", config->registry_pub_endpoint) < 0) {
        LS_ERROR("cannot connect %s: %s", config->registry_pub_endpoint, zmq_strerror(zmq_errno()));
        return 1;
    }
    /* Subscribed already (Clone pattern): rebuild, then catch up from the checkpoint. */
    while (!zsys_interrupted && engine_start(&self->engine)) {
        if (s_lost(self)) /* a fenced write: retrying cannot help */
            return 1;
        zclock_sleep(1000);
    }
    while (!zsys_interrupted && ls_follower_start(self->follower))
        zclock_sleep(1000);
    LS_INFO("matching instance %ld of %ld ready (lease %s, token %s): queries on %s, changes "
            "from %s, events to %s",
            config->matching_partition, config->matching_partitions, lease_key(self->lease),
            lease_token(self->lease), config->matching_bind, config->registry_pub_endpoint,
            config->notification_pull_endpoint);
    return 0;
}

static void s_serve(matching_t *self)
{
    ls_service_loop_t loop = {.router = self->router,
                              .config = self->config,
                              .guard = self->guard,
                              .max_bytes = (size_t)self->config->max_message_bytes,
                              .on_request = s_on_request,
                              .input = self->sub,
                              .on_input = s_on_input,
                              .tick_ms = self->config->heartbeat_ms,
                              .on_tick = s_on_tick,
                              .arg = self,
                              .metrics = self->metrics,
                              .http_bind = self->config->matching_http_bind,
                              .store = self->store,
                              .followers = {{self->follower, LS_JOURNAL_CHANGES.name}}};
    ls_service_run(&loop);
}

int matching_run(matching_t *self)
{
    int rc = s_claim(self);
    if (rc == 0 && !zsys_interrupted)
        rc = s_activate(self);
    if (rc == 0 && !zsys_interrupted)
        s_serve(self);
    /* Every change applied is checkpointed by now: give the partition back at once, so
     * that a standby need not wait for the lease to expire. */
    lease_release(self->lease);
    LS_INFO("matching stopping after %llu match events", (unsigned long long)self->engine.events);
    return rc || self->failed ? 1 : 0;
}
