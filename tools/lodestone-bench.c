/* lodestone-bench — how fast the registry stores entities, and how close that is to
 * what Redis allows; and how fast the matching engine follows. Loads a synthetic
 * data set (synth.h) twice:
 *   service: through a running registry (LODESTONE_REGISTRY_ENDPOINT), pipelined
 *            with a window of requests in flight; each reply is one acknowledged
 *            upsert, timed from send to reply;
 *   direct:  the registry's own write path (validate_entity, registry_store_put)
 *            called in a loop on one Redis connection, with no ZeroMQ and no
 *            registry process: the bound the service can approach.
 * The direct phase writes into another database of the same Redis (the URL's /db
 * plus one, or --direct-db), which must be empty, so the phases never see each
 * other's entities. The entities are generated before the clock starts.
 * The matching phase needs registry, matching and notification running: it loads
 * through the registry (the service phase, or reuses its load), waits for matching
 * to apply it, times a full re-match, then sends updates at a fixed rate and times
 * each from the registry's acknowledgement to its first notification.
 * docs/benchmarks.md says how to run it and what it measured. */
#include <czmq.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "ls_client.h"
#include "ls_codec.h"
#include "ls_config.h"
#include "ls_json.h"
#include "ls_keys.h"
#include "ls_rpc.h"
#include "ls_store.h"
#include "ls_taxonomy.h"
#include "ls_util.h"
#include "store.h"
#include "synth.h"
#include "validate.h"

#define S_MAX_FAILURES_SHOWN 5
#define S_POLL_MS 10               /* how often a wait reads the checkpoints */
#define S_LOAD_STALL_S 300         /* matching applied nothing for this long: give up */
#define S_REMATCH_LIMIT_S 3600     /* a full re-match that takes longer: give up */
#define S_E2E_CONTENT_BASE 1000000 /* e2e update i takes the content of this SME + i */
#define S_E2E_WINDOW_US 5000000    /* a notification later than this after the ack: none */
#define S_E2E_SEQ_SLACK 1024       /* journal entries others may write during e2e */

/* both = service + direct (the registry benchmark); all = service, matching, direct. */
typedef enum {
    S_PHASE_BOTH,
    S_PHASE_SERVICE,
    S_PHASE_DIRECT,
    S_PHASE_MATCHING,
    S_PHASE_ALL
} s_phase_t;

typedef struct {
    long smes, opportunities, investors;
    uint64_t seed;
    s_phase_t phase;
    long window;
    long direct_db; /* -1: the URL's database plus one */
    bool json;
    bool emit; /* print the data set as a JSON array instead of measuring */
    long e2e_changes, e2e_rate;
    long matching_pid; /* 0: unknown, no RSS */
    /* Matching and notification started by the bench after the load (their binaries),
     * so that matching starts over data loaded without it. */
    const char *spawn_matching, *spawn_notification;
} s_options_t;

/* What one phase measured. */
typedef struct {
    const char *name;
    bool ran;
    bool complete; /* every entity was answered */
    size_t entities;
    size_t acked; /* answered OK */
    size_t created;
    size_t failed;
    double seconds;
    double cpu_seconds;   /* this process's user + system time in the phase */
    uint32_t *latency_us; /* per answered request */
    size_t n_latency;
    uint32_t p50, p90, p99, max;
    long aof_rewrites; /* Redis AOF rewrites during the phase; -1 unknown */
} s_result_t;

/* Shared by both phases. */
typedef struct {
    s_options_t options;
    ls_config_t config;
    ls_taxonomy_t *taxonomy;
    ls_entity_pb **entities;
    size_t count;
    char run_id[40];      /* makes request ids unique per run (idempotency records) */
    char sent_prefix[64]; /* "bench-<run id>-s": a service request id before its index */
    uint64_t load_seq0;   /* the change journal's latest seq before the service phase */
    int64_t load_started_us, load_ended_us;
} s_bench_t;

/* A matching instance's GetStats answer. */
typedef struct {
    bool ok;
    uint64_t entities, lists, changes, events, memory_bytes, instances, recomputed;
    double candidates_per_change, p50_us, p99_us, score_p50_us, score_p99_us;
} s_stats_t;

/* The end-to-end part of the matching phase; quantiles are p50, p90, p99, max. */
typedef struct {
    bool ran;
    size_t sent, acked, failed, unchanged, notified, missing, early;
    double send_seconds; /* from the first send to the last */
    uint32_t ack_us[4];  /* send to acknowledgement */
    uint32_t e2e_us[4];  /* acknowledgement to the first notification */
    /* The same split by the services' wall-clock stamps (milliseconds): to Match.at,
     * when matching planned the event, and from there to Notification.at. */
    uint32_t matched_us[4], notified_us[4];
} s_e2e_result_t;

typedef struct {
    bool ran, complete;
    uint64_t changes;    /* change-journal entries written by the load */
    double load_seconds; /* first write to matching caught up */
    double lag_seconds;  /* last acknowledgement to matching caught up */
    uint64_t catch_up;   /* entries matching still had to apply when the load ended */
    bool spawned;        /* matching started after the load: load_seconds is its start-up */
    double cpu_matching, cpu_notification; /* spawned: their CPU seconds at the end */
    s_stats_t after_load; /* GetStats; its percentiles are over the load's last changes */
    s_stats_t after_e2e;  /* the same after the end-to-end updates */
    long rss_kb, hwm_kb;  /* the matching process after the load; -1 unknown */
    bool rematched;
    double rematch_seconds;
    /* GetReport MAP and DEMOS over the loaded data: round trip on the bench and the
     * service's own time, ms (the median of 3 calls); -1 when it failed. */
    bool reported;
    double map_ms, map_service_ms, demos_ms, demos_service_ms;
    size_t demos;
    uint64_t generation, rematch_events;
    s_e2e_result_t e2e;
} s_matching_result_t;

static int s_usage(void)
{
    fprintf(stderr,
            "usage: lodestone-bench [--smes N] [--opportunities N] [--investors N] [--seed S]\n"
            "                       [--phase service|direct|both|matching|all] [--window W]\n"
            "                       [--direct-db N] [--e2e-changes N] [--e2e-rate R]\n"
            "                       [--matching-pid PID] [--json] [--emit]\n"
            "  --smes, --opportunities, --investors   data set size [100000, 10000, 2000]\n"
            "  --seed S        generator seed [1]\n"
            "  --phase P       service: through the registry at LODESTONE_REGISTRY_ENDPOINT;\n"
            "                  direct: validate + registry_store_put on LODESTONE_REDIS_URL\n"
            "                  with database --direct-db; both: service, direct [both];\n"
            "                  matching: load through the registry, wait for matching\n"
            "                  (LODESTONE_MATCHING_ENDPOINT), full re-match, then updates\n"
            "                  timed to their notification (LODESTONE_NOTIFICATION_PUB_ENDPOINT);\n"
            "                  all: service, matching, direct\n"
            "  --window W      service requests in flight [64]\n"
            "  --direct-db N   Redis database of the direct phase, must be empty\n"
            "                  [the URL's database + 1]\n"
            "  --e2e-changes N SME updates sent in the end-to-end test [5000]\n"
            "  --e2e-rate R    their rate per second, paced by the clock [1000]\n"
            "  --matching-pid PID  the matching process, to report its memory (VmRSS)\n"
            "  --spawn-matching BIN --spawn-notification BIN\n"
            "                  start these after the load (matching then starts over the\n"
            "                  loaded data) and stop them at the end\n"
            "  --json          also print the results as one JSON object\n"
            "  --emit          print the data set as a JSON array (for lodestonectl put)\n"
            "                  and measure nothing\n");
    return 2;
}

static int s_phase_arg(const char *text, s_phase_t *phase)
{
    if (strcmp(text, "both") == 0)
        *phase = S_PHASE_BOTH;
    else if (strcmp(text, "service") == 0)
        *phase = S_PHASE_SERVICE;
    else if (strcmp(text, "direct") == 0)
        *phase = S_PHASE_DIRECT;
    else if (strcmp(text, "matching") == 0)
        *phase = S_PHASE_MATCHING;
    else if (strcmp(text, "all") == 0)
        *phase = S_PHASE_ALL;
    else
        return -1;
    return 0;
}

static int s_parse_args(int argc, char **argv, s_options_t *o)
{
    *o = (s_options_t){.smes = 100000,
                       .opportunities = 10000,
                       .investors = 2000,
                       .seed = 1,
                       .phase = S_PHASE_BOTH,
                       .window = 64,
                       .direct_db = -1,
                       .e2e_changes = 5000,
                       .e2e_rate = 1000};
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = -1;
        if (strcmp(flag, "--json") == 0) {
            o->json = true;
            continue;
        }
        if (strcmp(flag, "--emit") == 0) {
            o->emit = true;
            continue;
        }
        if (!value)
            return -1;
        if (strcmp(flag, "--smes") == 0)
            rc = bench_long_arg(value, 0, &o->smes);
        else if (strcmp(flag, "--opportunities") == 0)
            rc = bench_long_arg(value, 0, &o->opportunities);
        else if (strcmp(flag, "--investors") == 0)
            rc = bench_long_arg(value, 0, &o->investors);
        else if (strcmp(flag, "--window") == 0)
            rc = bench_long_arg(value, 1, &o->window);
        else if (strcmp(flag, "--direct-db") == 0)
            rc = bench_long_arg(value, 0, &o->direct_db);
        else if (strcmp(flag, "--phase") == 0)
            rc = s_phase_arg(value, &o->phase);
        else if (strcmp(flag, "--e2e-changes") == 0)
            rc = bench_long_arg(value, 1, &o->e2e_changes);
        else if (strcmp(flag, "--e2e-rate") == 0)
            rc = bench_long_arg(value, 1, &o->e2e_rate);
        else if (strcmp(flag, "--matching-pid") == 0)
            rc = bench_long_arg(value, 1, &o->matching_pid);
        else if (strcmp(flag, "--spawn-matching") == 0)
            o->spawn_matching = value, rc = 0;
        else if (strcmp(flag, "--spawn-notification") == 0)
            o->spawn_notification = value, rc = 0;
        else if (strcmp(flag, "--seed") == 0)
            rc = ls_parse_u64(value, strlen(value), &o->seed);
        if (rc) {
            fprintf(stderr, "lodestone-bench: bad %s '%s'\n", flag, value);
            return -1;
        }
        i++;
    }
    return o->smes + o->opportunities + o->investors > 0 ? 0 : -1;
}

/* Microseconds on the wall clock, to compare with the services' millisecond stamps. */
static int64_t s_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* --------------------------------------------------------------------------
 * The data set: SMEs, then opportunities, then investors. */

static int s_generate(s_bench_t *bench)
{
    const s_options_t *o = &bench->options;
    synth_t *synth = synth_new(o->seed, bench->taxonomy);
    if (!synth)
        return -1;
    size_t total = (size_t)(o->smes + o->opportunities + o->investors);
    bench->entities = calloc(total, sizeof *bench->entities);
    for (size_t i = 0; bench->entities && bench->count < total; i++) {
        size_t n = bench->count;
        ls_entity_pb *entity =
            n < (size_t)o->smes ? synth_sme(synth, n)
            : n < (size_t)(o->smes + o->opportunities)
                ? synth_opportunity(synth, n - (size_t)o->smes)
                : synth_investor(synth, n - (size_t)(o->smes + o->opportunities));
        if (!entity)
            break;
        bench->entities[bench->count++] = entity;
    }
    synth_destroy(&synth);
    if (bench->count < total) {
        fprintf(stderr, "lodestone-bench: out of memory generating the data set\n");
        return -1;
    }
    return 0;
}

static void s_free_entities(s_bench_t *bench)
{
    for (size_t i = 0; i < bench->count; i++)
        lodestone__v1__entity__free_unpacked(bench->entities[i], NULL);
    free(bench->entities);
    bench->entities = NULL;
    bench->count = 0;
}

/* Prints the data set as a JSON array, one entity per line. */
static int s_emit(const s_bench_t *bench)
{
    puts("[");
    for (size_t i = 0; i < bench->count; i++) {
        char *text = ls_json_dumps(&bench->entities[i]->base);
        if (!text)
            return -1;
        printf("%s%s\n", text, i + 1 < bench->count ? "," : "");
        free(text);
    }
    puts("]");
    return fflush(stdout) ? -1 : 0;
}

/* --------------------------------------------------------------------------
 * Measuring */

static void s_progress(const s_result_t *r, size_t done, int64_t started_us, int64_t *last_us)
{
    int64_t now = bench_now_us();
    if (now - *last_us < 1000000)
        return;
    *last_us = now;
    double seconds = (double)(now - started_us) / 1e6;
    fprintf(stderr, "%s: %zu of %zu answered, %.0f/s\n", r->name, done, r->entities,
            seconds > 0 ? (double)done / seconds : 0.0);
}

static int s_compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank p50, p90, p99 and max of n values (sorted in place); zeros when n = 0. */
static void s_quantiles(uint32_t *values, size_t n, uint32_t q[4])
{
    memset(q, 0, 4 * sizeof *q);
    if (n == 0)
        return;
    qsort(values, n, sizeof *values, s_compare_u32);
    q[0] = values[(n * 50 + 99) / 100 - 1];
    q[1] = values[(n * 90 + 99) / 100 - 1];
    q[2] = values[(n * 99 + 99) / 100 - 1];
    q[3] = values[n - 1];
}

static void s_percentiles(s_result_t *r)
{
    uint32_t q[4];
    s_quantiles(r->latency_us, r->n_latency, q);
    r->p50 = q[0];
    r->p90 = q[1];
    r->p99 = q[2];
    r->max = q[3];
}

static void s_record(s_result_t *r, int64_t started_us, bool ok, bool created)
{
    int64_t took = bench_now_us() - started_us;
    r->latency_us[r->n_latency++] = took > UINT32_MAX ? UINT32_MAX : (uint32_t)took;
    if (ok) {
        r->acked++;
        r->created += created;
    } else
        r->failed++;
}

static void s_show_failure(const s_result_t *r, size_t index, const char *code, const char *message,
                           const ls_status_pb *status)
{
    if (r->failed > S_MAX_FAILURES_SHOWN)
        return;
    fprintf(stderr, "%s: entity %zu: %s: %s\n", r->name, index, code, message);
    for (size_t i = 0; status && i < status->n_errors; i++)
        fprintf(stderr, "  %s: %s\n", status->errors[i]->field, status->errors[i]->reason);
    if (r->failed == S_MAX_FAILURES_SHOWN)
        fprintf(stderr, "%s: further failures are counted, not shown\n", r->name);
}

/* Redis's AOF rewrites so far; -1 when unknown. */
static long s_aof_rewrites(ls_store_t *store)
{
    return (long)bench_redis_info(store, "persistence", "aof_rewrites");
}

/* --------------------------------------------------------------------------
 * Service phase */

typedef struct {
    ls_client_t *client;
    s_result_t *result;
    int64_t *sent_us; /* per entity; 0 = not in flight */
    size_t next;      /* the next entity to send */
    size_t in_flight;
} s_service_t;

static int s_service_send(s_bench_t *bench, s_service_t *s)
{
    char request_id[LS_CLIENT_MAX_REQUEST_ID + 1];
    snprintf(request_id, sizeof request_id, "%s%zu", bench->sent_prefix, s->next);
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__PutEntity put = LODESTONE__V1__PUT_ENTITY__INIT;
    put.entity = bench->entities[s->next];
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_PUT;
    env.put = &put;
    env.request_id = request_id;
    s->sent_us[s->next] = bench_now_us();
    if (ls_client_send(s->client, &env, NULL)) {
        fprintf(stderr, "service: %s\n", ls_client_error(s->client));
        return -1;
    }
    s->next++;
    s->in_flight++;
    return 0;
}

/* The entity index a reply answers, from its request id; -1 when it is none of ours. */
static long s_reply_index(const s_bench_t *bench, const s_service_t *s, const ls_reply_pb *reply)
{
    size_t prefix = strlen(bench->sent_prefix);
    uint64_t index;
    if (strncmp(reply->request_id, bench->sent_prefix, prefix) != 0 ||
        ls_parse_u64(reply->request_id + prefix, strlen(reply->request_id + prefix), &index) ||
        index >= s->next || s->sent_us[index] == 0)
        return -1;
    return (long)index;
}

static void s_service_reply(s_bench_t *bench, s_service_t *s, ls_reply_pb *reply)
{
    long index = s_reply_index(bench, s, reply);
    if (index < 0)
        return; /* not ours: a late answer from an earlier run */
    bool ok = (!reply->status || reply->status->code == LODESTONE__V1__STATUS__CODE__OK) &&
              reply->body_case == LODESTONE__V1__REPLY__BODY_PUT;
    s_record(s->result, s->sent_us[index], ok, ok && reply->put->created);
    s->sent_us[index] = 0;
    s->in_flight--;
    if (!ok)
        s_show_failure(s->result, (size_t)index,
                       reply->status ? ls_status_name(reply->status->code) : "OK",
                       reply->status ? reply->status->message : "not a put reply", reply->status);
}

static int s_service_loop(s_bench_t *bench, s_service_t *s)
{
    int64_t started = bench_now_us(), last = started;
    while (s->result->n_latency < bench->count && !zsys_interrupted) {
        while (s->in_flight < (size_t)bench->options.window && s->next < bench->count)
            if (s_service_send(bench, s))
                return -1;
        ls_reply_pb *reply = ls_client_recv(s->client, bench->config.timeout_ms);
        if (!reply) {
            fprintf(stderr, "service: %s; %zu requests in flight were not answered\n",
                    ls_client_error(s->client), s->in_flight);
            return -1;
        }
        s_service_reply(bench, s, reply);
        lodestone__v1__reply__free_unpacked(reply, NULL);
        s_progress(s->result, s->result->n_latency, started, &last);
    }
    return zsys_interrupted ? -1 : 0;
}

static bool s_service_ping(ls_client_t *client, const char *endpoint)
{
    ls_reply_pb *pong = ls_client_ping(client);
    bool ok = pong && (!pong->status || pong->status->code == LODESTONE__V1__STATUS__CODE__OK);
    if (!ok)
        fprintf(stderr, "service: the registry at %s does not answer: %s\n", endpoint,
                pong ? pong->status->message : ls_client_error(client));
    if (pong)
        lodestone__v1__reply__free_unpacked(pong, NULL);
    return ok;
}

static int s_service_phase(s_bench_t *bench, ls_store_t *store, s_result_t *r)
{
    const char *endpoint = bench->config.registry_endpoint;
    s_service_t s = {ls_client_new(endpoint, bench->config.timeout_ms), r,
                     calloc(bench->count, sizeof(int64_t)), 0, 0};
    int rc = -1;
    if (!s.client || !s.sent_us)
        fprintf(stderr, "service: cannot connect to %s\n", endpoint);
    else if (s_service_ping(s.client, endpoint)) {
        fprintf(stderr, "service: %zu entities to the registry at %s, window %ld\n", bench->count,
                endpoint, bench->options.window);
        long rewrites = s_aof_rewrites(store);
        double cpu = bench_self_cpu_seconds();
        int64_t started = bench_now_us();
        rc = s_service_loop(bench, &s);
        r->seconds = (double)(bench_now_us() - started) / 1e6;
        r->cpu_seconds = bench_self_cpu_seconds() - cpu;
        long after = s_aof_rewrites(store);
        r->aof_rewrites = rewrites >= 0 && after >= 0 ? after - rewrites : -1;
        r->ran = true;
        r->complete = rc == 0;
    }
    free(s.sent_us);
    ls_client_destroy(&s.client);
    return rc;
}

/* --------------------------------------------------------------------------
 * Direct phase */

/* The Redis URL with its database replaced by db. */
static int s_url_with_db(const char *url, long db, char *out, size_t size)
{
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    const char *at = strrchr(host, '@');
    if (at)
        host = at + 1;
    const char *slash = strchr(host, '/');
    int prefix = slash ? (int)(slash - url) : (int)strlen(url);
    int n = snprintf(out, size, "%.*s/%ld", prefix, url, db);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

static long s_url_db(const char *url)
{
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    const char *at = strrchr(host, '@');
    const char *slash = strchr(at ? at + 1 : host, '/');
    return slash ? strtol(slash + 1, NULL, 10) : 0;
}

/* Today's date as the registry checks deadlines against it (UTC). */
static void s_today(char *out, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, len, "%Y-%m-%d", &tm);
}

/* One write as the registry does it: validate, then the store's Lua step. */
static void s_direct_one(s_bench_t *bench, ls_store_t *store, size_t index, s_result_t *r)
{
    char request_id[LS_CLIENT_MAX_REQUEST_ID + 1];
    snprintf(request_id, sizeof request_id, "bench-%s-d%zu", bench->run_id, index);
    registry_write_t write = {bench->config.publisher, false, request_id, 0};
    registry_result_t result;
    memset(&result, 0, sizeof result);
    int64_t started = bench_now_us();
    char today[16];
    s_today(today, sizeof today);
    ls_errors_t *errors = ls_errors_new();
    validate_entity(bench->entities[index], bench->taxonomy, today, errors);
    if (ls_errors_count(errors)) {
        ls_status_pb status = LODESTONE__V1__STATUS__INIT;
        ls_errors_fill(errors, &status);
        s_record(r, started, false, false);
        s_show_failure(r, index, "INVALID", status.message, &status);
    } else {
        int rc =
            registry_store_put(store, bench->taxonomy, bench->entities[index], &write, &result);
        bool ok = rc == 0 && result.code == LODESTONE__V1__STATUS__CODE__OK;
        s_record(r, started, ok, ok && result.created);
        if (!ok)
            s_show_failure(r, index, ls_status_name(result.code), result.message, NULL);
    }
    registry_result_free(&result);
    ls_errors_destroy(&errors);
}

/* The direct phase's database must be empty, or it would measure updates. */
static int s_direct_empty(ls_store_t *store, long db)
{
    redisReply *reply = ls_store_command(store, "DBSIZE");
    long long keys = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    if (reply)
        freeReplyObject(reply);
    if (keys == 0)
        return 0;
    if (keys < 0)
        fprintf(stderr, "direct: DBSIZE failed on database %ld: %s\n", db, ls_store_error(store));
    else
        fprintf(stderr,
                "direct: Redis database %ld holds %lld keys; the direct phase needs an empty one "
                "(--direct-db N, or FLUSHDB it if it is yours)\n",
                db, keys);
    return -1;
}

static int s_direct_phase(s_bench_t *bench, s_result_t *r)
{
    char url[LS_CONFIG_STR + 32], err[512];
    long db = bench->options.direct_db >= 0 ? bench->options.direct_db
                                            : s_url_db(bench->config.redis_url) + 1;
    if (s_url_with_db(bench->config.redis_url, db, url, sizeof url))
        return -1;
    ls_store_t *store = ls_store_new(url, 5000, err, sizeof err);
    if (!store) {
        fprintf(stderr, "direct: %s\n", err);
        return -1;
    }
    int rc = s_direct_empty(store, db);
    if (rc == 0) {
        fprintf(stderr,
                "direct: %zu entities through validate_entity + registry_store_put, "
                "Redis database %ld\n",
                bench->count, db);
        long rewrites = s_aof_rewrites(store);
        double cpu = bench_self_cpu_seconds();
        int64_t started = bench_now_us(), last = started;
        for (size_t i = 0; i < bench->count && !zsys_interrupted; i++) {
            s_direct_one(bench, store, i, r);
            s_progress(r, i + 1, started, &last);
        }
        r->seconds = (double)(bench_now_us() - started) / 1e6;
        r->cpu_seconds = bench_self_cpu_seconds() - cpu;
        long after = s_aof_rewrites(store);
        r->aof_rewrites = rewrites >= 0 && after >= 0 ? after - rewrites : -1;
        r->ran = true;
        r->complete = r->n_latency == bench->count;
        rc = r->complete ? 0 : -1;
    }
    ls_store_destroy(&store);
    return rc;
}

/* --------------------------------------------------------------------------
 * Matching phase: a. the load's matching, b. full re-match, c. end to end */

static void s_stats_copy(const Lodestone__V1__MatchingStats *st, s_stats_t *out)
{
    *out = (s_stats_t){true,
                       st->entities,
                       st->lists,
                       st->changes,
                       st->events,
                       st->memory_bytes,
                       st->instances ? st->instances : 1,
                       st->lists_recomputed,
                       st->candidates_per_change,
                       st->change_p50_us,
                       st->change_p99_us,
                       st->score_p50_us,
                       st->score_p99_us};
}

/* Asks the matching instance at client for its statistics. */
static int s_matching_stats(ls_client_t *client, s_stats_t *out)
{
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__GetStats q = LODESTONE__V1__GET_STATS__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_STATS;
    env.stats = &q;
    ls_reply_pb *reply = ls_client_call(client, &env);
    bool ok = reply && reply->body_case == LODESTONE__V1__REPLY__BODY_STATS;
    if (ok)
        s_stats_copy(reply->stats, out);
    else
        fprintf(stderr, "matching: no statistics: %s\n",
                reply && reply->status ? reply->status->message : ls_client_error(client));
    if (reply)
        lodestone__v1__reply__free_unpacked(reply, NULL);
    return ok ? 0 : -1;
}

/* The lowest checkpoint over the matching instances. */
static int s_checkpoint(ls_store_t *store, uint64_t instances, uint64_t *lowest)
{
    *lowest = UINT64_MAX;
    for (uint64_t i = 0; i < instances; i++) {
        char key[96];
        uint64_t at = 0;
        snprintf(key, sizeof key, LS_KEY_CHECKPOINT "matching:%llu-of-%llu", (unsigned long long)i,
                 (unsigned long long)instances);
        if (ls_store_get_u64(store, key, &at))
            return -1;
        *lowest = at < *lowest ? at : *lowest;
    }
    return 0;
}

typedef struct {
    const char *label;
    uint64_t target; /* 0: the change journal's latest entry, read on every poll */
    int limit_s;     /* give up when the checkpoint did not move for this long */
} s_wait_t;

/* Reads the checkpoint and the target; 1 when the checkpoint reached it. */
static int s_wait_poll(ls_store_t *store, uint64_t instances, const s_wait_t *w, uint64_t *at,
                       uint64_t *target)
{
    *target = w->target;
    if ((!w->target && ls_store_get_u64(store, LS_KEY_SEQ_CHANGES, target)) ||
        s_checkpoint(store, instances, at)) {
        fprintf(stderr, "%s: reading Redis failed: %s\n", w->label, ls_store_error(store));
        return -1;
    }
    return *at >= *target ? 1 : 0;
}

/* Waits until every matching instance has applied the change journal up to the
 * target; prints its progress each second. Returns 0 with *done_us the time. */
static int s_await_matching(ls_store_t *store, uint64_t instances, const s_wait_t *w,
                            int64_t *done_us)
{
    uint64_t at = 0, target = 0, last_at = 0;
    int64_t started = bench_now_us(), last_report = started, last_move = started;
    int rc = s_wait_poll(store, instances, w, &last_at, &target);
    while (rc == 0 && !zsys_interrupted) {
        zclock_sleep(S_POLL_MS);
        rc = s_wait_poll(store, instances, w, &at, &target);
        int64_t now = bench_now_us();
        if (at != last_at)
            last_move = now;
        if (rc == 0 && now - last_report >= 1000000) {
            fprintf(stderr, "%s: change %llu of %llu applied, %.0f/s, %.0f s\n", w->label,
                    (unsigned long long)at, (unsigned long long)target,
                    (double)(at - last_at) * 1e6 / (double)(now - last_report),
                    (double)(now - started) / 1e6);
            last_report = now;
            last_at = at;
        }
        if (rc == 0 && now - last_move > (int64_t)w->limit_s * 1000000) {
            fprintf(stderr, "%s: matching applied nothing for %d s\n", w->label, w->limit_s);
            rc = -1;
        }
    }
    *done_us = bench_now_us();
    return rc == 1 ? 0 : -1;
}

/* VmRSS and VmHWM of a process, in kB; -1 when unknown. */
static void s_process_memory(long pid, long *rss_kb, long *hwm_kb)
{
    *rss_kb = *hwm_kb = -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = pid > 0 ? fopen(path, "r") : NULL;
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            *rss_kb = strtol(line + 6, NULL, 10);
        else if (strncmp(line, "VmHWM:", 6) == 0)
            *hwm_kb = strtol(line + 6, NULL, 10);
    }
    if (f)
        fclose(f);
}

static pid_t s_pids[2]; /* matching and notification, when the bench started them */

/* Starts bin with the bench's environment; it dies with the bench. */
static pid_t s_spawn(const char *bin)
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execl(bin, bin, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Stops what s_spawn started, after reading its CPU time. */
static void s_spawned_stop(s_matching_result_t *m)
{
    double *cpu[2] = {&m->cpu_matching, &m->cpu_notification};
    for (int i = 0; i < 2; i++) {
        if (s_pids[i] <= 0)
            continue;
        *cpu[i] = bench_process_cpu_seconds(s_pids[i]);
        kill(s_pids[i], SIGTERM);
        waitpid(s_pids[i], NULL, 0);
        s_pids[i] = 0;
    }
}

/* Starts notification and matching over the loaded data and waits for matching to
 * answer (its start-up: the index rebuilt, and the lists re-matched or replayed). */
static int s_spawned_start(s_bench_t *bench, ls_client_t *client, s_matching_result_t *m)
{
    s_pids[1] = s_spawn(bench->options.spawn_notification);
    s_pids[0] = s_spawn(bench->options.spawn_matching);
    if (s_pids[0] <= 0 || s_pids[1] <= 0)
        return -1;
    bench->options.matching_pid = s_pids[0];
    m->spawned = true;
    bench->load_ended_us = bench_now_us(); /* the start-up is timed from here */
    fprintf(stderr, "matching: started over the loaded data (pid %d)\n", (int)s_pids[0]);
    for (int tries = 0; tries < 3600 && !zsys_interrupted; tries++) {
        if (s_matching_stats(client, &m->after_load) == 0)
            return 0;
        int status = 0;
        if (waitpid(s_pids[0], &status, WNOHANG) == s_pids[0]) {
            fprintf(stderr, "matching: exited during its start-up\n");
            s_pids[0] = 0;
            return -1;
        }
        zclock_sleep(100); /* a refusal comes at once: do not spin through the tries */
    }
    return -1;
}

/* a. The load is the service phase; here matching catches up with it. */
static int s_matching_load(s_bench_t *bench, ls_store_t *store, ls_client_t *client,
                           s_matching_result_t *m)
{
    uint64_t latest = 0, at = 0;
    if (s_checkpoint(store, m->after_load.instances, &at) ||
        ls_store_get_u64(store, LS_KEY_SEQ_CHANGES, &latest))
        return -1;
    m->catch_up = latest > at ? latest - at : 0;
    fprintf(stderr, "matching: %llu changes still to apply after the load\n",
            (unsigned long long)m->catch_up);
    s_wait_t w = {"matching", 0, S_LOAD_STALL_S};
    int64_t done = 0;
    if (s_await_matching(store, m->after_load.instances, &w, &done) ||
        ls_store_get_u64(store, LS_KEY_SEQ_CHANGES, &latest))
        return -1;
    m->changes = latest - bench->load_seq0;
    m->load_seconds = (double)(done - bench->load_started_us) / 1e6;
    m->lag_seconds = (double)(done - bench->load_ended_us) / 1e6;
    s_process_memory(bench->options.matching_pid, &m->rss_kb, &m->hwm_kb);
    return s_matching_stats(client, &m->after_load);
}

/* b. A full re-match, timed from the request to every instance's checkpoint
 * passing the journal entry that carries it. */
static int s_matching_rematch(ls_store_t *store, ls_client_t *client, s_matching_result_t *m)
{
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__Rematch q = LODESTONE__V1__REMATCH__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_REMATCH;
    env.rematch = &q;
    fprintf(stderr, "re-match: requested\n");
    int64_t started = bench_now_us(), done = 0;
    ls_reply_pb *reply = ls_client_call(client, &env);
    bool ok = reply && reply->body_case == LODESTONE__V1__REPLY__BODY_REMATCH;
    if (!ok)
        fprintf(stderr, "re-match: refused: %s\n",
                reply && reply->status ? reply->status->message : ls_client_error(client));
    m->generation = ok ? reply->rematch->generation : 0;
    if (reply)
        lodestone__v1__reply__free_unpacked(reply, NULL);
    s_wait_t w = {"re-match", m->generation, S_REMATCH_LIMIT_S};
    if (!ok || s_await_matching(store, m->after_load.instances, &w, &done))
        return -1;
    m->rematch_seconds = (double)(done - started) / 1e6;
    m->rematched = true;
    s_stats_t after;
    if (s_matching_stats(client, &after))
        return -1;
    m->rematch_events = after.events - m->after_load.events;
    return 0;
}

/* Waits until the notification service has delivered every match event. */
static int s_await_notification(const s_bench_t *bench)
{
    ls_client_t *client = ls_client_new(bench->config.notification_endpoint, 1000);
    int rc =
        client ? bench_await_caught_up(client, bench->config.notification_endpoint, S_LOAD_STALL_S)
               : -1;
    ls_client_destroy(&client);
    return rc;
}

/* c. End to end: SME updates at a fixed rate, open loop. */
typedef struct {
    zsock_t *dealer, *sub;
    ls_entity_pb **updates;
    size_t n, next, answered;
    int64_t *sent_us, *ack_us;
    int64_t *ack_wall_us; /* per update: the acknowledgement on the wall clock */
    uint64_t *seq;        /* per update, from its PutResult; 0: unchanged */
    bool *ok;             /* per update: acknowledged */
    uint64_t base;        /* the change journal's latest entry before the first update */
    int64_t *note_us;     /* per change seq - base - 1: first notification, 0 none yet */
    int64_t *match_at_ms, *note_at_ms; /* its Match.at and Notification.at */
    size_t cap;
    double interval_us;
    int64_t started_us, last_ack_us;
    char prefix[64];
    s_e2e_result_t *r;
} s_e2e_t;

/* Update i: SME i % smes (its ref) with the content of another, unused SME. */
static int s_e2e_updates(const s_bench_t *bench, s_e2e_t *e)
{
    synth_t *synth = synth_new(bench->options.seed, bench->taxonomy);
    e->updates = calloc(e->n, sizeof *e->updates);
    for (size_t i = 0; synth && e->updates && i < e->n; i++) {
        ls_entity_pb *entity = synth_sme(synth, S_E2E_CONTENT_BASE + i);
        char ref[48];
        snprintf(ref, sizeof ref, "synth-sme-%llu",
                 (unsigned long long)(i % (size_t)bench->options.smes));
        char *copy = entity ? strdup(ref) : NULL;
        if (!copy) {
            if (entity)
                lodestone__v1__entity__free_unpacked(entity, NULL);
            break;
        }
        free(entity->sme->ref);
        entity->sme->ref = copy;
        e->updates[i] = entity;
    }
    synth_destroy(&synth);
    return e->updates && e->updates[e->n - 1] ? 0 : -1;
}

static int s_e2e_send(s_e2e_t *e)
{
    char request_id[LS_CLIENT_MAX_REQUEST_ID + 1];
    snprintf(request_id, sizeof request_id, "%s%zu", e->prefix, e->next);
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__PutEntity put = LODESTONE__V1__PUT_ENTITY__INIT;
    put.entity = e->updates[e->next];
    env.version = LS_PROTOCOL_VERSION;
    env.request_id = request_id;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_PUT;
    env.put = &put;
    zframe_t *frame = ls_codec_pack(&env.base);
    e->sent_us[e->next] = bench_now_us();
    if (!frame || zframe_send(&frame, e->dealer, 0)) {
        zframe_destroy(&frame);
        fprintf(stderr, "end-to-end: cannot send update %zu\n", e->next);
        return -1;
    }
    e->next++;
    e->r->sent++;
    return 0;
}

/* Sends every update whose time has come (the schedule does not wait for replies). */
static int s_e2e_send_due(s_e2e_t *e)
{
    int64_t now = bench_now_us();
    while (e->next < e->n && e->started_us + (int64_t)((double)e->next * e->interval_us) <= now)
        if (s_e2e_send(e))
            return -1;
    return 0;
}

static void s_e2e_ack(s_e2e_t *e)
{
    int64_t now = bench_now_us();
    zframe_t *frame = zframe_recv(e->dealer);
    const char *reason = NULL;
    ls_reply_pb *reply =
        frame
            ? (ls_reply_pb *)ls_codec_unpack(&lodestone__v1__reply__descriptor, zframe_data(frame),
                                             zframe_size(frame), (size_t)64 << 20, &reason)
            : NULL;
    zframe_destroy(&frame);
    size_t prefix = strlen(e->prefix);
    uint64_t i;
    if (!reply || strncmp(reply->request_id, e->prefix, prefix) != 0 ||
        ls_parse_u64(reply->request_id + prefix, strlen(reply->request_id + prefix), &i) ||
        i >= e->next || e->ack_us[i]) {
        if (reply)
            lodestone__v1__reply__free_unpacked(reply, NULL);
        return; /* not one of ours */
    }
    bool ok = (!reply->status || reply->status->code == LODESTONE__V1__STATUS__CODE__OK) &&
              reply->body_case == LODESTONE__V1__REPLY__BODY_PUT;
    if (!ok && e->r->failed++ < S_MAX_FAILURES_SHOWN)
        fprintf(stderr, "end-to-end: update %llu: %s\n", (unsigned long long)i,
                reply->status ? reply->status->message : "not a put reply");
    e->ack_us[i] = now;
    e->ack_wall_us[i] = s_wall_us();
    e->ok[i] = ok;
    e->seq[i] = ok ? reply->put->seq : 0;
    e->answered++;
    e->last_ack_us = now;
    lodestone__v1__reply__free_unpacked(reply, NULL);
}

/* Records the arrival of the first notification caused by each change. */
static void s_e2e_note(s_e2e_t *e)
{
    int64_t now = bench_now_us();
    zmsg_t *msg = zmsg_recv(e->sub);
    zframe_t *packed = msg ? zmsg_last(msg) : NULL;
    const char *reason = NULL;
    ls_notification_pb *note =
        packed && zmsg_size(msg) == 2
            ? (ls_notification_pb *)ls_codec_unpack(&lodestone__v1__notification__descriptor,
                                                    zframe_data(packed), zframe_size(packed),
                                                    (size_t)64 << 20, &reason)
            : NULL;
    uint64_t seq = note && note->event ? note->event->change_seq : 0;
    if (seq > e->base && seq - e->base <= e->cap && !e->note_us[seq - e->base - 1]) {
        e->note_us[seq - e->base - 1] = now;
        e->match_at_ms[seq - e->base - 1] = note->event->match ? note->event->match->at : 0;
        e->note_at_ms[seq - e->base - 1] = note->at;
    }
    if (note)
        lodestone__v1__notification__free_unpacked(note, NULL);
    zmsg_destroy(&msg);
}

/* Takes what has arrived, replies first so that an acknowledgement is never
 * stamped after the notification it caused; returns to sending now and then. */
static void s_e2e_drain(s_e2e_t *e)
{
    for (int round = 0; round < 256; round++) {
        bool any = false;
        while (zsock_events(e->dealer) & ZMQ_POLLIN) {
            s_e2e_ack(e);
            any = true;
        }
        if (zsock_events(e->sub) & ZMQ_POLLIN) {
            s_e2e_note(e);
            any = true;
        }
        if (!any)
            return;
    }
}

/* Every acknowledged change has its notification. */
static bool s_e2e_all_notified(const s_e2e_t *e)
{
    for (size_t i = 0; i < e->n; i++) {
        uint64_t k = e->seq[i] - e->base;
        if (e->seq[i] && k >= 1 && k <= e->cap && !e->note_us[k - 1])
            return false;
    }
    return true;
}

static bool s_e2e_finished(const s_e2e_t *e, long timeout_ms)
{
    if (e->next < e->n)
        return false;
    int64_t now = bench_now_us();
    if (e->answered < e->n)
        return now - e->sent_us[e->n - 1] > (int64_t)timeout_ms * 1000;
    return now - e->last_ack_us > S_E2E_WINDOW_US || s_e2e_all_notified(e);
}

static int s_e2e_loop(s_e2e_t *e, long timeout_ms)
{
    zpoller_t *poller = zpoller_new(e->dealer, e->sub, NULL);
    int64_t last_report = bench_now_us();
    e->started_us = last_report;
    int rc = poller ? 0 : -1;
    while (rc == 0 && !zsys_interrupted && !s_e2e_finished(e, timeout_ms)) {
        rc = s_e2e_send_due(e);
        int64_t now = bench_now_us();
        int64_t wake = e->next < e->n ? e->started_us + (int64_t)((double)e->next * e->interval_us)
                                      : now + S_POLL_MS * 1000;
        int wait_ms = wake > now ? (int)((wake - now + 999) / 1000) : 1;
        zpoller_wait(poller, wait_ms);
        s_e2e_drain(e);
        if (bench_now_us() - last_report >= 1000000) {
            last_report = bench_now_us();
            fprintf(stderr, "end-to-end: %zu of %zu sent, %zu acknowledged\n", e->next, e->n,
                    e->answered);
        }
    }
    zpoller_destroy(&poller);
    return zsys_interrupted ? -1 : rc;
}

static uint32_t s_clamp_us(int64_t us)
{
    return us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* The stage split of update i's latency, from the services' millisecond stamps. */
static void s_e2e_split(const s_e2e_t *e, size_t i, uint64_t k, uint32_t *matched,
                        uint32_t *notified)
{
    *matched = s_clamp_us(e->match_at_ms[k - 1] * 1000 - e->ack_wall_us[i]);
    *notified = s_clamp_us((e->note_at_ms[k - 1] - e->match_at_ms[k - 1]) * 1000);
}

/* Fills the result from the per-update records. */
static void s_e2e_summarise(s_e2e_t *e)
{
    s_e2e_result_t *r = e->r;
    uint32_t *ack = calloc(e->n + 1, sizeof *ack), *lat = calloc(e->n + 1, sizeof *lat);
    uint32_t *matched = calloc(e->n + 1, sizeof *matched);
    uint32_t *notified = calloc(e->n + 1, sizeof *notified);
    size_t n_ack = 0;
    for (size_t i = 0; ack && lat && matched && notified && i < e->n; i++) {
        if (!e->ack_us[i] || !e->ok[i]) {
            r->failed += !e->ack_us[i]; /* unanswered; refusals are counted already */
            continue;
        }
        r->acked++;
        ack[n_ack++] = (uint32_t)(e->ack_us[i] - e->sent_us[i]);
        uint64_t k = e->seq[i] - e->base;
        int64_t note = e->seq[i] && k >= 1 && k <= e->cap ? e->note_us[k - 1] : 0;
        if (!e->seq[i])
            r->unchanged++;
        else if (!note || note - e->ack_us[i] > S_E2E_WINDOW_US)
            r->missing++;
        else {
            r->early += note < e->ack_us[i];
            s_e2e_split(e, i, k, &matched[r->notified], &notified[r->notified]);
            lat[r->notified++] = s_clamp_us(note - e->ack_us[i]);
        }
    }
    if (ack && lat && matched && notified) {
        s_quantiles(ack, n_ack, r->ack_us);
        s_quantiles(lat, r->notified, r->e2e_us);
        s_quantiles(matched, r->notified, r->matched_us);
        s_quantiles(notified, r->notified, r->notified_us);
    }
    r->send_seconds = e->n > 1 ? (double)(e->sent_us[e->n - 1] - e->sent_us[0]) / 1e6 : 0;
    free(ack);
    free(lat);
    free(matched);
    free(notified);
}

static int s_e2e_open(const s_bench_t *bench, s_e2e_t *e)
{
    e->dealer = zsock_new_dealer(bench->config.registry_endpoint);
    e->sub = zsock_new(ZMQ_SUB);
    if (!e->dealer || !e->sub)
        return -1;
    zsock_set_linger(e->dealer, 0);
    zsock_set_rcvhwm(e->sub, 0);        /* keep every notification */
    zsock_set_subscribe(e->sub, "to/"); /* every recipient, once (not the region topics) */
    if (zsock_connect(e->sub, "%s", bench->config.notification_pub_endpoint)) {
        fprintf(stderr, "end-to-end: cannot connect to %s\n",
                bench->config.notification_pub_endpoint);
        return -1;
    }
    zclock_sleep(500); /* until the subscription has reached the publisher */
    return 0;
}

static void s_e2e_free(s_e2e_t *e)
{
    for (size_t i = 0; e->updates && i < e->n; i++)
        if (e->updates[i])
            lodestone__v1__entity__free_unpacked(e->updates[i], NULL);
    free(e->updates);
    free(e->sent_us);
    free(e->ack_us);
    free(e->ack_wall_us);
    free(e->match_at_ms);
    free(e->note_at_ms);
    free(e->seq);
    free(e->ok);
    free(e->note_us);
    zsock_destroy(&e->dealer);
    zsock_destroy(&e->sub);
}

static int s_matching_e2e(s_bench_t *bench, ls_store_t *store, s_e2e_result_t *r)
{
    const s_options_t *o = &bench->options;
    if (o->smes == 0) {
        fprintf(stderr, "end-to-end: skipped, the data set has no SMEs to update\n");
        return 0;
    }
    s_e2e_t e = {.n = (size_t)o->e2e_changes,
                 .cap = (size_t)o->e2e_changes + S_E2E_SEQ_SLACK,
                 .interval_us = 1e6 / (double)o->e2e_rate,
                 .r = r};
    snprintf(e.prefix, sizeof e.prefix, "bench-%s-e", bench->run_id);
    e.sent_us = calloc(e.n, sizeof *e.sent_us);
    e.ack_us = calloc(e.n, sizeof *e.ack_us);
    e.ack_wall_us = calloc(e.n, sizeof *e.ack_wall_us);
    e.match_at_ms = calloc(e.cap, sizeof *e.match_at_ms);
    e.note_at_ms = calloc(e.cap, sizeof *e.note_at_ms);
    e.seq = calloc(e.n, sizeof *e.seq);
    e.ok = calloc(e.n, sizeof *e.ok);
    e.note_us = calloc(e.cap, sizeof *e.note_us);
    int rc = -1;
    if (e.sent_us && e.ack_us && e.ack_wall_us && e.match_at_ms && e.note_at_ms && e.seq && e.ok &&
        e.note_us && s_e2e_updates(bench, &e) == 0 && s_await_notification(bench) == 0 &&
        s_e2e_open(bench, &e) == 0 && ls_store_get_u64(store, LS_KEY_SEQ_CHANGES, &e.base) == 0) {
        fprintf(stderr, "end-to-end: %zu SME updates at %ld/s to %s, notifications from %s\n", e.n,
                o->e2e_rate, bench->config.registry_endpoint,
                bench->config.notification_pub_endpoint);
        rc = s_e2e_loop(&e, bench->config.timeout_ms);
        s_e2e_summarise(&e);
        r->ran = true;
    }
    s_e2e_free(&e);
    return rc;
}

/* Times GetReport (the capability map, the joint-demonstration suggestions) over
 * the loaded data: the median of three calls, round trip and the service's own. */
static int s_double_order(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void s_matching_report(ls_client_t *client, s_matching_result_t *m)
{
    m->reported = true;
    for (int kind = LODESTONE__V1__GET_REPORT__KIND__MAP;
         kind <= LODESTONE__V1__GET_REPORT__KIND__DEMOS; kind++) {
        double round_trip[3] = {-1, -1, -1}, service[3] = {-1, -1, -1};
        for (int i = 0; i < 3; i++) {
            ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
            Lodestone__V1__GetReport q = LODESTONE__V1__GET_REPORT__INIT;
            q.kind = (Lodestone__V1__GetReport__Kind)kind;
            env.body_case = LODESTONE__V1__ENVELOPE__BODY_REPORT;
            env.report = &q;
            int64_t start = ls_mono_ms();
            ls_reply_pb *reply = ls_client_call(client, &env);
            if (reply && reply->body_case == LODESTONE__V1__REPLY__BODY_REPORT) {
                round_trip[i] = (double)(ls_mono_ms() - start);
                const Lodestone__V1__Report *r = reply->report; /* map, demos: a oneof */
                if (r->body_case == LODESTONE__V1__REPORT__BODY_MAP && r->map)
                    service[i] = r->map->took_ms;
                else if (r->body_case == LODESTONE__V1__REPORT__BODY_DEMOS && r->demos) {
                    service[i] = r->demos->took_ms;
                    m->demos = r->demos->n_suggestions;
                }
            } else
                fprintf(stderr, "report: %s\n",
                        reply && reply->status ? reply->status->message : ls_client_error(client));
            if (reply)
                lodestone__v1__reply__free_unpacked(reply, NULL);
        }
        qsort(round_trip, 3, sizeof(double), s_double_order);
        qsort(service, 3, sizeof(double), s_double_order);
        if (kind == LODESTONE__V1__GET_REPORT__KIND__MAP) {
            m->map_ms = round_trip[1];
            m->map_service_ms = service[1];
        } else {
            m->demos_ms = round_trip[1];
            m->demos_service_ms = service[1];
        }
    }
}

static int s_matching_steps(s_bench_t *bench, ls_store_t *store, ls_client_t *client,
                            s_matching_result_t *m)
{
    if (bench->options.spawn_matching && s_spawned_start(bench, client, m))
        return -1;
    if (s_matching_load(bench, store, client, m) || zsys_interrupted)
        return -1;
    if (s_matching_rematch(store, client, m) || zsys_interrupted)
        return -1;
    s_matching_report(client, m);
    if (s_matching_e2e(bench, store, &m->e2e) || !m->e2e.ran)
        return m->e2e.ran ? -1 : 0;
    /* Matching may still be behind the updates; it answers once it has caught up. */
    s_wait_t w = {"matching", 0, S_LOAD_STALL_S};
    int64_t done = 0;
    if (s_await_matching(store, m->after_load.instances, &w, &done))
        return -1;
    return s_matching_stats(client, &m->after_e2e);
}

/* Before the load, while matching is idle: is it there, and how many instances? */
static int s_matching_prepare(const s_bench_t *bench, s_matching_result_t *m)
{
    ls_client_t *client = ls_client_new(bench->config.matching_endpoint, 5000);
    int rc = client ? s_matching_stats(client, &m->after_load) : -1;
    if (rc)
        fprintf(stderr, "matching: the matching service at %s does not answer\n",
                bench->config.matching_endpoint);
    else
        fprintf(stderr, "matching: %llu instance(s), %llu entities indexed before the load\n",
                (unsigned long long)m->after_load.instances,
                (unsigned long long)m->after_load.entities);
    ls_client_destroy(&client);
    return rc;
}

static int s_matching_phase(s_bench_t *bench, s_matching_result_t *m)
{
    char err[512];
    ls_store_t *store = ls_store_new(bench->config.redis_url, 5000, err, sizeof err);
    ls_client_t *client = ls_client_new(bench->config.matching_endpoint, 30000);
    int rc = -1;
    if (!store)
        fprintf(stderr, "matching: %s\n", err);
    else if (!client)
        fprintf(stderr, "matching: cannot connect to %s\n", bench->config.matching_endpoint);
    else {
        m->ran = true;
        rc = s_matching_steps(bench, store, client, m);
        s_spawned_stop(m);
        m->complete = rc == 0;
    }
    ls_client_destroy(&client);
    ls_store_destroy(&store);
    return rc;
}

/* --------------------------------------------------------------------------
 * Report */

static double s_rate(const s_result_t *r)
{
    return r->seconds > 0 ? (double)r->acked / r->seconds : 0.0;
}

static void s_print_table(const s_bench_t *bench, const s_result_t *results, size_t n)
{
    printf("\nlodestone-bench: %zu entities (%ld SMEs, %ld opportunities, %ld investors), "
           "seed %llu, window %ld\n",
           bench->count, bench->options.smes, bench->options.opportunities,
           bench->options.investors, (unsigned long long)bench->options.seed,
           bench->options.window);
    printf("%-8s %9s %9s %9s %10s %8s %8s %8s %9s %9s\n", "phase", "entities", "failed", "seconds",
           "per second", "p50 us", "p90 us", "p99 us", "max us", "bench cpu");
    for (size_t i = 0; i < n; i++) {
        const s_result_t *r = &results[i];
        if (!r->ran)
            continue;
        printf("%-8s %9zu %9zu %9.2f %10.0f %8u %8u %8u %9u %8.2fs%s\n", r->name, r->acked,
               r->failed, r->seconds, s_rate(r), r->p50, r->p90, r->p99, r->max, r->cpu_seconds,
               r->complete ? "" : "  (incomplete)");
        if (r->acked != r->created)
            printf("  %s: %zu of %zu acknowledged upserts were not creates: the key space was "
                   "not empty\n",
                   r->name, r->acked - r->created, r->acked);
        if (r->aof_rewrites > 0)
            printf("  %s: Redis rewrote its AOF %ld times during the phase\n", r->name,
                   r->aof_rewrites);
    }
    if (results[0].ran && results[1].ran && s_rate(&results[1]) > 0)
        printf("ratio service/direct: %.2f\n", s_rate(&results[0]) / s_rate(&results[1]));
}

static double s_per(double value, uint64_t count)
{
    return count ? value / (double)count : 0.0;
}

static void s_print_stats(const char *when, const s_stats_t *st)
{
    if (st->changes == 0) {
        printf("  per change: none applied one by one yet (the start-up re-matched every list)\n");
        return;
    }
    printf("  per change (matching's last 1,024 %s): p50 %.0f us, p99 %.0f us; "
           "of which scoring (no Redis write) p50 %.0f us, p99 %.0f us\n",
           when, st->p50_us, st->p99_us, st->score_p50_us, st->score_p99_us);
    printf("  counterparts scored per change %.0f (mean since start); %llu counterpart lists "
           "recomputed in full since start\n",
           st->candidates_per_change, (unsigned long long)st->recomputed);
}

static void s_print_load(const s_matching_result_t *m)
{
    const s_stats_t *st = &m->after_load;
    if (m->spawned)
        printf("matching start-up over the loaded data (%llu changes): caught up %.2f s after it "
               "was started\n",
               (unsigned long long)m->changes, m->lag_seconds);
    else
        printf("matching load: %llu changes applied in %.2f s from the first write, %.0f/s; caught "
               "up %.2f s after the last acknowledgement (%llu changes behind then)\n",
               (unsigned long long)m->changes, m->load_seconds,
               m->load_seconds > 0 ? (double)m->changes / m->load_seconds : 0.0, m->lag_seconds,
               (unsigned long long)m->catch_up);
    s_print_stats("changes of the load", st);
    printf("  %llu entities indexed, %llu lists owned, %llu match events; index estimate "
           "%.1f MB, %.0f bytes per entity\n",
           (unsigned long long)st->entities, (unsigned long long)st->lists,
           (unsigned long long)st->events, (double)st->memory_bytes / 1e6,
           s_per((double)st->memory_bytes, st->entities));
    if (m->rss_kb >= 0)
        printf("  matching process: VmRSS %.1f MB (%.0f bytes per entity), peak VmHWM %.1f MB\n",
               (double)m->rss_kb / 1024, s_per((double)m->rss_kb * 1024, st->entities),
               (double)m->hwm_kb / 1024);
}

static void s_print_e2e(const s_bench_t *bench, const s_matching_result_t *m)
{
    const s_e2e_result_t *e = &m->e2e;
    printf("end-to-end: %zu SME updates at %ld/s (sent in %.2f s, %.0f/s): %zu acknowledged, "
           "%zu failed\n",
           e->sent, bench->options.e2e_rate, e->send_seconds,
           e->send_seconds > 0 ? (double)(e->sent - 1) / e->send_seconds : 0.0, e->acked,
           e->failed);
    printf("  %zu notified, %zu no notification within %d s, %zu unchanged (no change "
           "written)%s\n",
           e->notified, e->missing, S_E2E_WINDOW_US / 1000000, e->unchanged,
           e->early ? " (some notifications were read before their acknowledgement: 0 us)" : "");
    printf("  %-32s %8s %8s %8s %9s\n", "", "p50 us", "p90 us", "p99 us", "max us");
    printf("  %-32s %8u %8u %8u %9u\n", "send -> acknowledgement", e->ack_us[0], e->ack_us[1],
           e->ack_us[2], e->ack_us[3]);
    printf("  %-32s %8u %8u %8u %9u\n", "acknowledgement -> notification", e->e2e_us[0],
           e->e2e_us[1], e->e2e_us[2], e->e2e_us[3]);
    printf("  %-32s %8u %8u %8u %9u\n", " of which: ack -> Match.at (ms)", e->matched_us[0],
           e->matched_us[1], e->matched_us[2], e->matched_us[3]);
    printf("  %-32s %8u %8u %8u %9u\n", " Match.at -> Notification.at", e->notified_us[0],
           e->notified_us[1], e->notified_us[2], e->notified_us[3]);
    if (m->after_e2e.ok) {
        s_print_stats("changes: the updates", &m->after_e2e);
        /* The re-match ran between the two and emitted m->rematch_events. */
        uint64_t events = m->after_e2e.events - m->after_load.events - m->rematch_events;
        printf("  match events emitted by the updates: %llu, %.1f per update\n",
               (unsigned long long)events, s_per((double)events, e->acked));
    }
}

static void s_print_matching(const s_bench_t *bench, const s_matching_result_t *m)
{
    if (!m->ran)
        return;
    printf("\n");
    if (m->after_load.ok)
        s_print_load(m);
    if (m->rematched)
        printf("full re-match: %.2f s (journal entry %llu, %llu lists), %llu match events\n",
               m->rematch_seconds, (unsigned long long)m->generation,
               (unsigned long long)m->after_load.lists, (unsigned long long)m->rematch_events);
    if (m->reported)
        printf("report (median of 3): capability map %.0f ms (service %.0f ms), "
               "joint-demonstration suggestions %.0f ms (service %.0f ms, %zu suggestions)\n",
               m->map_ms, m->map_service_ms, m->demos_ms, m->demos_service_ms, m->demos);
    if (m->e2e.ran)
        s_print_e2e(bench, m);
    if (m->spawned)
        printf("CPU of the services the bench started: matching %.1f s, notification %.1f s\n",
               m->cpu_matching, m->cpu_notification);
    if (!m->complete)
        printf("matching phase incomplete\n");
}

static json_t *s_quantiles_json(const uint32_t q[4])
{
    return json_pack("{s:I, s:I, s:I, s:I}", "p50", (json_int_t)q[0], "p90", (json_int_t)q[1],
                     "p99", (json_int_t)q[2], "max", (json_int_t)q[3]);
}

static json_t *s_stats_json(const s_stats_t *st)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:f}", "entities",
                     (json_int_t)st->entities, "lists", (json_int_t)st->lists, "changes",
                     (json_int_t)st->changes, "events", (json_int_t)st->events,
                     "candidatesPerChange", st->candidates_per_change, "changeP50Us", st->p50_us,
                     "changeP99Us", st->p99_us, "scoreP50Us", st->score_p50_us, "scoreP99Us",
                     st->score_p99_us, "listsRecomputed", (json_int_t)st->recomputed, "memoryBytes",
                     (json_int_t)st->memory_bytes, "memoryBytesPerEntity",
                     s_per((double)st->memory_bytes, st->entities));
}

static json_t *s_e2e_json(const s_bench_t *bench, const s_e2e_result_t *e)
{
    json_t *o =
        json_pack("{s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I}", "sent", (json_int_t)e->sent,
                  "rate", (json_int_t)bench->options.e2e_rate, "sendSeconds", e->send_seconds,
                  "acknowledged", (json_int_t)e->acked, "failed", (json_int_t)e->failed, "notified",
                  (json_int_t)e->notified, "noNotification", (json_int_t)e->missing, "unchanged",
                  (json_int_t)e->unchanged, "early", (json_int_t)e->early);
    if (o) {
        json_object_set_new(o, "ackUs", s_quantiles_json(e->ack_us));
        json_object_set_new(o, "notificationUs", s_quantiles_json(e->e2e_us));
        json_object_set_new(o, "ackToMatchedUs", s_quantiles_json(e->matched_us));
        json_object_set_new(o, "matchedToNotifiedUs", s_quantiles_json(e->notified_us));
    }
    return o;
}

static json_t *s_matching_json(const s_bench_t *bench, const s_matching_result_t *m)
{
    json_t *o = json_pack("{s:b, s:I, s:f, s:f, s:f, s:I, s:o, s:I, s:I}", "complete", m->complete,
                          "changes", (json_int_t)m->changes, "loadSeconds", m->load_seconds,
                          "changesPerSecond",
                          m->load_seconds > 0 ? (double)m->changes / m->load_seconds : 0.0,
                          "lagSeconds", m->lag_seconds, "behindAtLoadEnd", (json_int_t)m->catch_up,
                          "afterLoad", s_stats_json(&m->after_load), "rssKb", (json_int_t)m->rss_kb,
                          "hwmKb", (json_int_t)m->hwm_kb);
    if (o && m->rematched)
        json_object_set_new(o, "rematch",
                            json_pack("{s:f, s:I, s:I}", "seconds", m->rematch_seconds,
                                      "generation", (json_int_t)m->generation, "events",
                                      (json_int_t)m->rematch_events));
    if (o && m->e2e.ran)
        json_object_set_new(o, "endToEnd", s_e2e_json(bench, &m->e2e));
    if (o && m->after_e2e.ok)
        json_object_set_new(o, "afterEndToEnd", s_stats_json(&m->after_e2e));
    return o;
}

static json_t *s_result_json(const s_result_t *r)
{
    return json_pack(
        "{s:b, s:I, s:I, s:I, s:f, s:f, s:f, s:{s:I, s:I, s:I, s:I}, s:I}", "complete", r->complete,
        "acknowledged", (json_int_t)r->acked, "failed", (json_int_t)r->failed, "created",
        (json_int_t)r->created, "seconds", r->seconds, "perSecond", s_rate(r), "benchCpuSeconds",
        r->cpu_seconds, "latencyUs", "p50", (json_int_t)r->p50, "p90", (json_int_t)r->p90, "p99",
        (json_int_t)r->p99, "max", (json_int_t)r->max, "aofRewrites", (json_int_t)r->aof_rewrites);
}

static void s_print_json(const s_bench_t *bench, const s_result_t *results, size_t n,
                         const s_matching_result_t *m)
{
    const s_options_t *o = &bench->options;
    json_t *root = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "entities", (json_int_t)bench->count,
                             "smes", (json_int_t)o->smes, "opportunities",
                             (json_int_t)o->opportunities, "investors", (json_int_t)o->investors,
                             "seed", (json_int_t)o->seed, "window", (json_int_t)o->window);
    for (size_t i = 0; root && i < n; i++)
        if (results[i].ran)
            json_object_set_new(root, results[i].name, s_result_json(&results[i]));
    if (root && results[0].ran && results[1].ran && s_rate(&results[1]) > 0)
        json_object_set_new(root, "ratio", json_real(s_rate(&results[0]) / s_rate(&results[1])));
    if (root && m->ran)
        json_object_set_new(root, "matching", s_matching_json(bench, m));
    bench_print_json(root);
}

/* --------------------------------------------------------------------------
 * Main */

static int s_setup(s_bench_t *bench)
{
    char err[512];
    if (bench_config_load(&bench->config, "lodestone-bench"))
        return -1;
    bench->taxonomy = ls_taxonomy_load(bench->config.data_dir, err, sizeof err);
    if (!bench->taxonomy) {
        fprintf(stderr, "lodestone-bench: %s\n", err);
        return -1;
    }
    snprintf(bench->run_id, sizeof bench->run_id, "%llx-%lx", (unsigned long long)ls_now_ms(),
             (long)getpid());
    snprintf(bench->sent_prefix, sizeof bench->sent_prefix, "bench-%s-s", bench->run_id);
    int64_t started = bench_now_us();
    if (s_generate(bench))
        return -1;
    fprintf(stderr, "generated %zu entities (seed %llu) in %.2f s\n", bench->count,
            (unsigned long long)bench->options.seed, (double)(bench_now_us() - started) / 1e6);
    return 0;
}

static bool s_wants_matching(s_phase_t phase)
{
    return phase == S_PHASE_MATCHING || phase == S_PHASE_ALL;
}

static bool s_wants_direct(s_phase_t phase)
{
    return phase == S_PHASE_BOTH || phase == S_PHASE_DIRECT || phase == S_PHASE_ALL;
}

/* The service phase; also the matching phase's load. */
static int s_run_service(s_bench_t *bench, s_result_t *r)
{
    char err[512];
    /* To count AOF rewrites (the registry's own Redis, when it is this one), and the
     * change journal's position before the load. */
    ls_store_t *store = ls_store_new(bench->config.redis_url, 1000, err, sizeof err);
    if (store && ls_store_get_u64(store, LS_KEY_SEQ_CHANGES, &bench->load_seq0))
        bench->load_seq0 = 0;
    bench->load_started_us = bench_now_us();
    int rc = s_service_phase(bench, store, r);
    bench->load_ended_us = bench_now_us();
    ls_store_destroy(&store);
    return rc;
}

static int s_run(s_bench_t *bench, s_result_t *results, s_matching_result_t *m)
{
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        results[i].entities = bench->count;
        results[i].latency_us = calloc(bench->count, sizeof(uint32_t));
        if (!results[i].latency_us)
            return -1;
    }
    s_phase_t phase = bench->options.phase;
    if (s_wants_matching(phase) && !bench->options.spawn_matching && s_matching_prepare(bench, m))
        return -1;
    if (phase != S_PHASE_DIRECT)
        rc |= s_run_service(bench, &results[0]);
    if (s_wants_matching(phase) && rc == 0 && !zsys_interrupted)
        rc |= s_matching_phase(bench, m);
    if (s_wants_direct(phase) && !zsys_interrupted)
        rc |= s_direct_phase(bench, &results[1]);
    for (int i = 0; i < 2; i++)
        s_percentiles(&results[i]);
    return rc;
}

int main(int argc, char **argv)
{
    s_bench_t bench = {0};
    if (s_parse_args(argc, argv, &bench.options))
        return s_usage();
    zsys_init();
    s_result_t results[2] = {{.name = "service", .aof_rewrites = -1},
                             {.name = "direct", .aof_rewrites = -1}};
    s_matching_result_t matching = {.rss_kb = -1, .hwm_kb = -1};
    int rc = s_setup(&bench);
    if (rc == 0 && bench.options.emit)
        rc = s_emit(&bench);
    else if (rc == 0) {
        rc = s_run(&bench, results, &matching);
        s_print_table(&bench, results, 2);
        s_print_matching(&bench, &matching);
        if (bench.options.json)
            s_print_json(&bench, results, 2, &matching);
    }
    for (int i = 0; i < 2; i++)
        free(results[i].latency_us);
    s_free_entities(&bench);
    ls_taxonomy_destroy(&bench.taxonomy);
    return rc ? 1 : 0;
}
