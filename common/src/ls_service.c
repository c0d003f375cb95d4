/* ls_service.c — service start-up and the one poll loop every service runs, with
 * its health and request metrics served over HTTP. */
#include "ls_service.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ls_http.h"
#include "ls_log.h"
#include "ls_util.h"

#define S_LINGER_MS 1000 /* bound on closing sockets at shutdown */

int ls_service_init(int argc, char **argv, const char *name, ls_config_t *config)
{
    if (argc > 1) {
        fprintf(stderr, "usage: %s\n(configured by environment variables:)\n\n", argv[0]);
        ls_config_describe(stderr);
        return 2;
    }
    char err[512];
    if (ls_config_load(config, err, sizeof err) ||
        ls_store_use_password_file(config, err, sizeof err)) {
        fprintf(stderr, "lodestone-%s: %s\n", name, err);
        return 2;
    }
    ls_log_init(name, config->log_level);
    zsys_init(); /* installs the SIGINT/SIGTERM handler that sets zsys_interrupted */
    /* On SIGTERM the loop finishes the message in hand and returns; sockets then close
     * with at most this linger, so a stop fits Compose's grace period (15 s). What a
     * PUSH or PUB socket drops then is in the journals, where followers find it. */
    zsys_set_linger(S_LINGER_MS);
    return 0;
}

static bool s_listed(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        size_t item = strcspn(p, ",");
        while (item && p[item - 1] == ' ')
            item--;
        if ((item == 1 && *p == '*') || (item == len && strncmp(p, name, len) == 0))
            return true;
        p += strcspn(p, ",");
        while (*p == ',' || *p == ' ')
            p++;
    }
    return false;
}

const char *ls_service_publisher(const ls_config_t *config, const ls_rpc_request_t *req)
{
    const char *named = req->request->publisher;
    if (*req->publisher)
        return !*named || strcmp(named, req->publisher) == 0 ? req->publisher : NULL;
    const char *publisher = *named ? named : config->publisher;
    if (strcmp(publisher, config->publisher) != 0 &&
        !s_listed(config->trusted_publishers, publisher))
        return NULL;
    return publisher;
}

/* The schema's name of an Envelope body case; "none" for 0 or an unknown one. */
static const char *s_body_name(int body_case)
{
    const ProtobufCFieldDescriptor *field =
        body_case > 0 ? protobuf_c_message_descriptor_get_field(
                            &lodestone__v1__envelope__descriptor, (unsigned)body_case)
                      : NULL;
    return field ? field->name : "none";
}

const char *ls_service_request_type(const ls_envelope_pb *request)
{
    return s_body_name(request ? (int)request->body_case : 0);
}

/* ---------------------------------------------------------------------------
 * Health and metrics of the loop */

/* The request series are kept at hand per body case and status code, so counting a
 * request takes no lock and no search of the family (ls_metric_with does both). */
#define S_CACHED_CASES 64 /* Envelope body field numbers 0 (none) .. 63 */
#define S_CACHED_CODES 16 /* status codes -1 (none) .. 14 */

typedef struct {
    const ls_service_loop_t *loop;
    ls_health_t health;
    ls_http_t *http;
    ls_metric_t *requests;
    ls_metric_t *duration;
    ls_series_t *redis_up;
    ls_series_t *reconnects;
    ls_series_t *ready;
    ls_series_t *lag[2];
    ls_series_t *position[2];
    ls_series_t *gaps[2];
    ls_series_t *duplicates[2];
    ls_series_t *counted[S_CACHED_CASES][S_CACHED_CODES]; /* requests, by case and code + 1 */
    ls_series_t *timed[S_CACHED_CASES];                   /* duration, by case */
    int64_t next_ping;
} s_observer_t;

static void s_observer_register(s_observer_t *self, ls_metrics_t *m)
{
    self->requests =
        ls_metrics_counter(m, "lodestone_requests_total",
                           "Requests answered, by body type and status code", "type,status");
    self->duration = ls_metrics_histogram(
        m, "lodestone_request_duration_seconds",
        "Time from a request's arrival to the end of its handling, by body type", "type", NULL, 0);
    self->ready = ls_metric_with(ls_metrics_gauge(
        m, "lodestone_ready", "1 when /healthz answers 200: Redis answers and followers caught up",
        NULL));
    self->redis_up = ls_metric_with(ls_metrics_gauge(
        m, "lodestone_redis_up", "1 when the last PING of Redis (once per tick) answered", NULL));
    self->reconnects = ls_metric_with(ls_metrics_counter(
        m, "lodestone_redis_reconnects_total",
        "Times the service loop's Redis connection was re-opened after an error", NULL));
    ls_metric_t *lag =
        ls_metrics_gauge(m, "lodestone_journal_lag",
                         "Journal entries not yet applied: latest known - position", "journal");
    ls_metric_t *position = ls_metrics_gauge(
        m, "lodestone_journal_position", "Last journal entry applied (the checkpoint)", "journal");
    ls_metric_t *gaps =
        ls_metrics_counter(m, "lodestone_follower_gaps_filled_total",
                           "Journal entries missed live and read back from the stream", "journal");
    ls_metric_t *duplicates =
        ls_metrics_counter(m, "lodestone_follower_duplicates_total",
                           "Journal entries received again and dropped", "journal");
    for (int i = 0; i < 2; i++) {
        const char *journal = self->loop->followers[i].journal;
        if (!self->loop->followers[i].follower)
            continue;
        self->lag[i] = ls_metric_with(lag, journal ? journal : "");
        self->position[i] = ls_metric_with(position, journal ? journal : "");
        self->gaps[i] = ls_metric_with(gaps, journal ? journal : "");
        self->duplicates[i] = ls_metric_with(duplicates, journal ? journal : "");
    }
}

static void s_observer_start(s_observer_t *self, const ls_service_loop_t *loop)
{
    memset(self, 0, sizeof *self);
    self->loop = loop;
    ls_health_init(&self->health);
    atomic_store(&self->health.redis_ok, loop->store == NULL);
    atomic_store(&self->health.caught_up, true);
    if (loop->metrics)
        s_observer_register(self, loop->metrics);
    char host[256], err[512];
    int port = 0;
    if (!loop->http_bind || !*loop->http_bind)
        return;
    if (ls_http_parse_bind(loop->http_bind, host, sizeof host, &port))
        LS_ERROR("HTTP bind '%s' is not host:port; serving no /healthz or /metrics",
                 loop->http_bind);
    else if (port > 0) {
        self->http = ls_http_new(loop->http_bind, loop->metrics, ls_health_ready, &self->health,
                                 err, sizeof err);
        if (self->http)
            LS_INFO("/healthz and /metrics on http://%s", loop->http_bind);
        else
            LS_ERROR("%s; serving no /healthz or /metrics", err);
    }
}

/* Publishes health and the loop's gauges; PINGs Redis once per tick period. */
static void s_observer_tick(s_observer_t *self)
{
    const ls_service_loop_t *loop = self->loop;
    int64_t now = ls_mono_ms();
    if (loop->store && now >= self->next_ping) {
        self->next_ping = now + loop->tick_ms;
        redisReply *reply = ls_store_command(loop->store, "PING");
        bool ok = reply && reply->type != REDIS_REPLY_ERROR;
        if (reply)
            freeReplyObject(reply);
        atomic_store(&self->health.redis_ok, ok);
        ls_series_set(self->redis_up, ok ? 1 : 0);
        ls_series_set(self->reconnects, (double)ls_store_reconnects(loop->store));
    }
    uint64_t lag = 0;
    for (int i = 0; i < 2; i++) {
        ls_follower_t *follower = loop->followers[i].follower;
        if (!follower)
            continue;
        uint64_t position = ls_follower_position(follower);
        uint64_t latest = ls_follower_known_latest(follower);
        uint64_t behind = latest > position ? latest - position : 0;
        lag += behind;
        ls_series_set(self->lag[i], (double)behind);
        ls_series_set(self->position[i], (double)position);
        ls_series_set(self->gaps[i], (double)ls_follower_gaps_filled(follower));
        ls_series_set(self->duplicates[i], (double)ls_follower_duplicates(follower));
    }
    atomic_store(&self->health.lag, lag);
    atomic_store(&self->health.caught_up, lag == 0);
    atomic_store(&self->health.started, true);
    char reason[64];
    ls_series_set(self->ready, ls_health_ready(&self->health, reason, sizeof reason) ? 1 : 0);
}

static double s_seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Counts and times a request whose body was body_case (0: none, or it did not
 * unpack) and whose answer had status (-1: none). */
static void s_observer_request(s_observer_t *self, int body_case, int status,
                               const struct timespec *start)
{
    if (!self->requests)
        return;
    bool cached =
        body_case >= 0 && body_case < S_CACHED_CASES && status >= -1 && status + 1 < S_CACHED_CODES;
    ls_series_t **counted = cached ? &self->counted[body_case][status + 1] : NULL;
    ls_series_t **timed = cached ? &self->timed[body_case] : NULL;
    ls_series_t *count = counted ? *counted : NULL, *duration = timed ? *timed : NULL;
    if (!count || !duration) {
        const char *type = s_body_name(body_case);
        const char *code =
            status < 0 ? "NONE" : ls_status_name((Lodestone__V1__Status__Code)status);
        count = ls_metric_with(self->requests, type, code);
        duration = ls_metric_with(self->duration, type);
        if (cached) {
            *counted = count;
            *timed = duration;
        }
    }
    ls_series_add(count, 1);
    ls_series_observe(duration, s_seconds_since(start));
}

static void s_observer_stop(s_observer_t *self)
{
    ls_http_destroy(&self->http);
}

/* ---------------------------------------------------------------------------
 * Limits: a token bucket per publisher */

#define S_BUCKETS_MAX 4096 /* publishers tracked; beyond, the table starts afresh */

typedef struct {
    double tokens;
    int64_t at_ms; /* monotonic: when tokens was last brought up to date */
} s_bucket_t;

static void s_bucket_destructor(void **item)
{
    free(*item);
    *item = NULL;
}

/* True when publisher may send one more request now (and takes its token). */
static bool s_admit(zhashx_t *buckets, const ls_config_t *config, const char *publisher)
{
    s_bucket_t *b = zhashx_lookup(buckets, publisher);
    int64_t now = ls_mono_ms();
    if (!b) {
        if (zhashx_size(buckets) >= S_BUCKETS_MAX)
            zhashx_purge(buckets);
        b = calloc(1, sizeof *b);
        if (!b)
            return true; /* out of memory: no limit rather than no service */
        b->tokens = config->rate_burst;
        b->at_ms = now;
        zhashx_insert(buckets, publisher, b);
    }
    b->tokens += (double)(now - b->at_ms) / 1000.0 * config->rate_limit;
    if (b->tokens > config->rate_burst)
        b->tokens = config->rate_burst;
    b->at_ms = now;
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

/* Answers RATE_LIMITED and returns true when req is over its publisher's limit.
 * Pings pass (health checks send them), and so do requests naming a publisher the
 * connection may not act as: the service refuses those itself. */
static bool s_limited(zhashx_t *buckets, const ls_service_loop_t *loop, ls_rpc_request_t *req)
{
    const ls_config_t *config = loop->config;
    if (!config || config->rate_limit <= 0 ||
        req->request->body_case == LODESTONE__V1__ENVELOPE__BODY_PING)
        return false;
    const char *publisher = ls_service_publisher(config, req);
    if (!publisher || s_admit(buckets, config, publisher))
        return false;
    ls_rpc_reply_status(loop->router, req, LODESTONE__V1__STATUS__CODE__RATE_LIMITED,
                        "publisher %.64s: more than %g requests a second (LODESTONE_RATE_LIMIT, "
                        "burst %g); slow down and retry",
                        publisher, config->rate_limit, config->rate_burst);
    return true;
}

int ls_service_run(const ls_service_loop_t *loop)
{
    zpoller_t *poller = zpoller_new(loop->router, NULL);
    zhashx_t *buckets = zhashx_new(); /* publisher -> s_bucket_t */
    zhashx_set_destructor(buckets, s_bucket_destructor);
    if (loop->input)
        zpoller_add(poller, loop->input);
    if (loop->input2)
        zpoller_add(poller, loop->input2);
    s_observer_t observer;
    s_observer_start(&observer, loop);
    int64_t next_tick = ls_mono_ms();
    while (!zsys_interrupted) {
        int64_t now = ls_mono_ms();
        bool more = false;
        if (now >= next_tick) {
            more = loop->on_tick(loop->arg) > 0;
            s_observer_tick(&observer);
            next_tick = more ? now : ls_mono_ms() + loop->tick_ms;
        }
        /* With a backlog, only look at the sockets (requests, health checks) and go on. */
        int64_t wait = more ? 0 : next_tick - ls_mono_ms();
        void *which = zpoller_wait(poller, (int)(wait > 0 ? wait : 0));
        if (zpoller_terminated(poller))
            break;
        if (which && (which == loop->input || which == loop->input2)) {
            zmsg_t *msg = zmsg_recv(which);
            if (msg)
                (which == loop->input ? loop->on_input : loop->on_input2)(loop->arg, msg);
            zmsg_destroy(&msg);
        } else if (which == loop->router) {
            struct timespec start;
            clock_gettime(CLOCK_MONOTONIC, &start);
            ls_rpc_request_t req;
            int rc = ls_rpc_recv(loop->router, loop->max_bytes, &req);
            if (rc < 0)
                break;
            int body_case = req.request ? (int)req.request->body_case : 0;
            if (rc == 0 && (!loop->guard || ls_guard_admit(loop->guard, loop->router, &req)) &&
                !s_limited(buckets, loop, &req))
                loop->on_request(loop->arg, &req);
            s_observer_request(&observer, body_case, req.status, &start);
            ls_rpc_request_free(&req);
        }
    }
    s_observer_stop(&observer);
    zpoller_destroy(&poller);
    zhashx_destroy(&buckets);
    return 0;
}
