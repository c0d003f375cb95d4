/* test_matching_scale.c — matching replicas claim their partitions themselves
 * (docs/design-notes.md, "Matching replicas claim partitions"), as under
 * `docker compose up --scale matching=4` with three partitions. Four instances
 * started alike (LODESTONE_MATCHING_PARTITION_INDEX=auto) hold three distinct
 * partitions and one waits as a standby; together they keep exactly the lists one
 * instance keeps; an instance started with two partitions is refused while they
 * live; the standby takes over the partition of an instance killed with SIGKILL and
 * matches the later changes; an instance whose lease passed to another token writes
 * nothing more of its partition and exits non-zero; SIGTERM gives a lease back. */
#include "harness.h"

#include <czmq.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ls_client.h"
#include "ls_entity.h"
#include "ls_keys.h"
#include "ls_store.h"
#include "ls_taxonomy.h"
#include "ls_util.h"
#include "synth.h"

#define S_REPLICAS 4
#define S_PARTITIONS 3
#define S_SMES 240
#define S_OPPS 40
#define S_INVESTORS 12
#define S_STANDBY S_PARTITIONS /* what a standby reports as its instance */

/* One deployment: Redis, a registry, notification and up to four matching processes. */
typedef struct {
    const char *label; /* in the processes' log names */
    ls_test_proc_t *redis, *registry, *notification, *matching[S_REPLICAS];
    char url[128], registry_ep[64], notification_ep[64], matching_ep[S_REPLICAS][64];
    ls_test_env_t env; /* the services' environment but Redis's: each has its own user */
    ls_store_t *store; /* the test's own connection */
} s_site_t;

static s_site_t s_one = {.label = "one"};   /* one matching instance */
static s_site_t s_many = {.label = "many"}; /* four replicas, three partitions */
static ls_taxonomy_t *s_taxonomy;

/* ---------------------------------------------------------------------------
 * Sites */

/* env plus the Redis user of service (registry, matching, notification), into out. */
static void s_service_env(s_site_t *site, const char *service, ls_test_env_t *out)
{
    ls_test_env_copy(out, &site->env);
    ls_test_env_redis(out, site->url, service);
}

static ls_test_proc_t *s_spawn(s_site_t *site, const char *service, const char *bin_variable)
{
    ls_test_env_t env;
    s_service_env(site, service, &env);
    char name[64];
    snprintf(name, sizeof name, "%s-%s", site->label, service);
    return ls_test_spawn(name, getenv(bin_variable), env.env);
}

static int s_site_start(s_site_t *site)
{
    char ignored[64], err[256];
    site->redis = ls_test_redis_start(NULL, site->url, sizeof site->url);
    if (!site->redis)
        return -1;
    ls_test_env_set(&site->env, "LODESTONE_DATA_DIR", LS_TEST_DATA_DIR);
    ls_test_env_set(&site->env, "LODESTONE_HEARTBEAT_MS", "200");
    ls_test_env_set(&site->env, "LODESTONE_TOP_K", "3");
    /* No HTTP side door: many processes here, and tests run side by side. */
    ls_test_env_set(&site->env, "LODESTONE_REGISTRY_HTTP_BIND", "127.0.0.1:0");
    ls_test_env_set(&site->env, "LODESTONE_MATCHING_HTTP_BIND", "127.0.0.1:0");
    ls_test_env_set(&site->env, "LODESTONE_NOTIFICATION_HTTP_BIND", "127.0.0.1:0");
    ls_test_env_socket(&site->env, "REGISTRY", site->registry_ep, sizeof site->registry_ep);
    ls_test_env_socket(&site->env, "REGISTRY_PUB", ignored, sizeof ignored);
    ls_test_env_socket(&site->env, "NOTIFICATION", site->notification_ep,
                       sizeof site->notification_ep);
    ls_test_env_socket(&site->env, "NOTIFICATION_PULL", ignored, sizeof ignored);
    ls_test_env_socket(&site->env, "NOTIFICATION_PUB", ignored, sizeof ignored);
    site->registry = s_spawn(site, "registry", "LS_TEST_REGISTRY");
    site->notification = s_spawn(site, "notification", "LS_TEST_NOTIFICATION");
    if (ls_test_await_ping(site->registry_ep) || ls_test_await_ping(site->notification_ep))
        return -1;
    site->store = ls_store_new(site->url, 2000, err, sizeof err);
    return site->store ? 0 : -1;
}

/* A matching instance's environment, with `partitions` and auto, into out; lease_ms
 * NULL: the default. Its request socket's address goes into ep. */
static void s_matching_env(s_site_t *site, int partitions, const char *lease_ms, char *ep,
                           size_t eplen, ls_test_env_t *out)
{
    char count[16];
    snprintf(count, sizeof count, "%d", partitions);
    s_service_env(site, "matching", out);
    ls_test_env_set(out, "LODESTONE_MATCHING_PARTITION_INDEX", "auto");
    ls_test_env_set(out, "LODESTONE_MATCHING_PARTITIONS", count);
    if (lease_ms)
        ls_test_env_set(out, "LODESTONE_MATCHING_LEASE_MS", lease_ms);
    ls_test_env_socket(out, "MATCHING", ep, eplen);
}

/* Starts matching replica i of site and waits until it answers a ping (a standby
 * answers too). */
static int s_start_matching(s_site_t *site, int i, int partitions, const char *lease_ms)
{
    ls_test_env_t env;
    s_matching_env(site, partitions, lease_ms, site->matching_ep[i], sizeof site->matching_ep[i],
                   &env);
    char name[64];
    snprintf(name, sizeof name, "%s-matching-%d", site->label, i);
    site->matching[i] = ls_test_spawn(name, getenv("LS_TEST_MATCHING"), env.env);
    if (site->matching[i] && ls_test_await_ping(site->matching_ep[i]) == 0)
        return 0;
    if (site->matching[i])
        ls_test_dump_log(site->matching[i]);
    return -1;
}

static int s_site_stop(s_site_t *site)
{
    int failed = 0;
    for (int i = 0; i < S_REPLICAS; i++)
        if (site->matching[i]) {
            int status = ls_test_stop(&site->matching[i]);
            failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
        }
    ls_test_proc_t **others[] = {&site->registry, &site->notification};
    for (size_t i = 0; i < 2; i++)
        if (*others[i]) {
            int status = ls_test_stop(others[i]);
            failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
        }
    ls_store_destroy(&site->store);
    ls_test_stop(&site->redis);
    return failed ? -1 : 0;
}

static int s_setup(void **state)
{
    (void)state;
    s_taxonomy = ls_test_taxonomy();
    if (!s_taxonomy || !getenv("LS_TEST_MATCHING") || s_site_start(&s_one) ||
        s_site_start(&s_many) || s_start_matching(&s_one, 0, 1, NULL))
        return -1;
    for (int i = 0; i < S_REPLICAS; i++)
        if (s_start_matching(&s_many, i, S_PARTITIONS, "1000"))
            return -1;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    int rc = s_site_stop(&s_one) | s_site_stop(&s_many);
    ls_taxonomy_destroy(&s_taxonomy);
    return rc;
}

/* ---------------------------------------------------------------------------
 * What the instances say, and what Redis holds */

/* The instance number the matching instance at endpoint reports in its pong (a
 * standby: the number of partitions, and `standby`), or -1 when it does not answer. */
static int s_instance(const char *endpoint)
{
    ls_client_t *client = ls_client_new(endpoint, 2000);
    ls_reply_pb *reply = client ? ls_client_ping(client) : NULL;
    ls_client_destroy(&client);
    int instance = reply && reply->body_case == LODESTONE__V1__REPLY__BODY_PONG
                       ? (int)reply->pong->instance
                       : -1;
    /* A standby says so, and its instance number is no partition's. */
    if (instance >= 0 && reply->pong->standby != (reply->pong->instance == reply->pong->instances))
        fail_msg("a pong says standby %d with instance %d of %d", reply->pong->standby, instance,
                 (int)reply->pong->instances);
    if (reply)
        lodestone__v1__reply__free_unpacked(reply, NULL);
    return instance;
}

/* True when roles (of the running replicas) hold each partition once and the rest
 * are `standbys` standbys. */
static bool s_settled(const int roles[S_REPLICAS], int standbys)
{
    int held[S_PARTITIONS + 1] = {0};
    for (int i = 0; i < S_REPLICAS; i++)
        if (roles[i] >= 0 && roles[i] <= S_PARTITIONS)
            held[roles[i]]++;
    for (int p = 0; p < S_PARTITIONS; p++)
        if (held[p] != 1)
            return false;
    return held[S_STANDBY] == standbys;
}

/* Polls (20 s at most) until every partition is held by one running replica and
 * `standbys` others wait; roles[i] is then replica i's instance (-1: not running). */
static void s_await_roles(int roles[S_REPLICAS], int standbys)
{
    int64_t deadline = ls_mono_ms() + 20000;
    do {
        for (int i = 0; i < S_REPLICAS; i++)
            roles[i] = s_many.matching[i] ? s_instance(s_many.matching_ep[i]) : -1;
        if (s_settled(roles, standbys))
            return;
        zclock_sleep(100);
    } while (ls_mono_ms() < deadline);
    fail_msg("replicas report %d %d %d %d: not every partition held once with %d standby", roles[0],
             roles[1], roles[2], roles[3], standbys);
}

static int s_replica_of(const int roles[S_REPLICAS], int partition)
{
    for (int i = 0; i < S_REPLICAS; i++)
        if (roles[i] == partition)
            return i;
    fail_msg("no replica holds %d", partition);
    return -1;
}

/* The value of key in site's Redis ("" when absent); the caller frees it. */
static char *s_get(s_site_t *site, const char *key)
{
    redisReply *r = ls_store_command(site->store, "GET %s", key);
    assert_non_null(r);
    char *value = strdup(r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    return value;
}

static char *s_lease(s_site_t *site, int partition)
{
    char key[64];
    snprintf(key, sizeof key, LS_KEY_LEASE_MATCHING "%d", partition);
    return s_get(site, key);
}

static uint64_t s_checkpoint(s_site_t *site, int partition, int partitions)
{
    char key[96];
    uint64_t at = 0;
    snprintf(key, sizeof key, LS_KEY_CHECKPOINT "matching:%d-of-%d", partition, partitions);
    assert_int_equal(ls_store_get_u64(site->store, key, &at), 0);
    return at;
}

/* Waits (60 s at most) until every partition but `skip` (-1: none) has applied the
 * whole change journal. */
static void s_await(s_site_t *site, int partitions, int skip)
{
    int64_t deadline = ls_mono_ms() + 60000;
    while (ls_mono_ms() < deadline) {
        uint64_t latest = 0, slowest = UINT64_MAX;
        ls_store_get_u64(site->store, LS_KEY_SEQ_CHANGES, &latest);
        for (int i = 0; i < partitions; i++)
            if (i != skip) {
                uint64_t at = s_checkpoint(site, i, partitions);
                slowest = at < slowest ? at : slowest;
            }
        if (latest && slowest >= latest)
            return;
        zclock_sleep(50);
    }
    fail_msg("the %s site's matching did not catch up within 60 s", site->label);
}

static int s_cmp_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the n strings and joins them after prefix, each followed by sep; frees them.
 * The caller frees the result. */
static char *s_join(const char *prefix, char **items, size_t n, const char *sep)
{
    qsort(items, n, sizeof *items, s_cmp_text);
    size_t len = strlen(prefix) + 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(items[i]) + strlen(sep);
    char *text = calloc(1, len);
    strcpy(text, prefix);
    for (size_t i = 0; i < n; i++) {
        strcat(text, items[i]);
        strcat(text, sep);
        zstr_free(&items[i]);
    }
    return text;
}

/* One stored list as "key: candidate=score ..."; the caller frees it. */
static char *s_list_text(s_site_t *site, const char *key)
{
    redisReply *list = ls_store_command(site->store, "HGETALL %s", key);
    assert_non_null(list);
    char **items = calloc(list->elements / 2 + 1, sizeof *items);
    size_t n = 0;
    for (size_t k = 1; k < list->elements; k += 2) {
        ls_match_pb *m = lodestone__v1__match__unpack(NULL, list->element[k]->len,
                                                      (const uint8_t *)list->element[k]->str);
        assert_non_null(m);
        items[n++] = zsys_sprintf("%s=%.12f", m->candidate_id, m->score);
        lodestone__v1__match__free_unpacked(m, NULL);
    }
    freeReplyObject(list);
    char *prefix = zsys_sprintf("%s:", key);
    char *text = s_join(prefix, items, n, " ");
    zstr_free(&prefix);
    free(items);
    return text;
}

/* Every stored list of the subjects in partition (of three; -1: all), one a line,
 * sorted; the caller frees it. */
static char *s_snapshot(s_site_t *site, int partition)
{
    redisReply *keys = ls_store_command(site->store, "KEYS " LS_KEY_MATCHES "*");
    assert_non_null(keys);
    char **lines = calloc(keys->elements + 1, sizeof *lines);
    size_t n = 0;
    for (size_t i = 0; i < keys->elements; i++) {
        const char *subject = keys->element[i]->str + strlen(LS_KEY_MATCHES);
        if (partition < 0 || ls_partition_of(subject, S_PARTITIONS) == (unsigned)partition)
            lines[n++] = s_list_text(site, keys->element[i]->str);
    }
    char *text = s_join("", lines, n, "\n");
    free(lines);
    freeReplyObject(keys);
    return text;
}

static void s_assert_same(const char *a, const char *b, const char *what)
{
    if (strcmp(a, b) == 0)
        return;
    size_t i = 0;
    while (a[i] && a[i] == b[i])
        i++;
    size_t from = i > 200 ? i - 200 : 0;
    fail_msg("%s differ near byte %zu:\n...%.400s\nversus\n...%.400s", what, i, a + from, b + from);
}

/* ---------------------------------------------------------------------------
 * Changes: the same puts and withdrawals, in the same order, to a site */

typedef ls_entity_pb *(s_make_fn)(synth_t *synth, uint64_t index);

static void s_call_ok(ls_client_t *client, ls_envelope_pb *env)
{
    ls_reply_pb *reply = ls_client_call(client, env);
    assert_non_null(reply);
    if (reply->status->code != LODESTONE__V1__STATUS__CODE__OK)
        fail_msg("refused: %s", reply->status->message);
    lodestone__v1__reply__free_unpacked(reply, NULL);
}

/* Puts make(first + i) for i < count; with as_ref_of != UINT64_MAX, each under the
 * ref of make(as_ref_of + i): an update with other content. */
static void s_put(s_site_t *site, s_make_fn *make, uint64_t first, uint64_t count,
                  uint64_t as_ref_of)
{
    synth_t *synth = synth_new(7, s_taxonomy);
    ls_client_t *client = ls_client_new(site->registry_ep, 10000);
    for (uint64_t i = 0; i < count; i++) {
        ls_entity_pb *entity = make(synth, first + i);
        if (as_ref_of != UINT64_MAX) {
            ls_entity_pb *target = make(synth, as_ref_of + i);
            ls_entity_meta_t meta, target_meta;
            ls_entity_meta(entity, &meta);
            ls_entity_meta(target, &target_meta);
            ls_entity_set_string(meta.ref, *target_meta.ref);
            lodestone__v1__entity__free_unpacked(target, NULL);
        }
        ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
        Lodestone__V1__PutEntity put = LODESTONE__V1__PUT_ENTITY__INIT;
        put.entity = entity;
        env.body_case = LODESTONE__V1__ENVELOPE__BODY_PUT;
        env.put = &put;
        s_call_ok(client, &env);
        lodestone__v1__entity__free_unpacked(entity, NULL);
    }
    ls_client_destroy(&client);
    synth_destroy(&synth);
}

static void s_withdraw(s_site_t *site, const char *id)
{
    ls_client_t *client = ls_client_new(site->registry_ep, 10000);
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__WithdrawEntity w = LODESTONE__V1__WITHDRAW_ENTITY__INIT;
    w.id = (char *)id;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_WITHDRAW;
    env.withdraw = &w;
    s_call_ok(client, &env);
    ls_client_destroy(&client);
}

static void s_feed_load(s_site_t *site)
{
    s_put(site, synth_sme, 0, S_SMES, UINT64_MAX);
    s_put(site, synth_opportunity, 0, S_OPPS, UINT64_MAX);
    s_put(site, synth_investor, 0, S_INVESTORS, UINT64_MAX);
}

/* Round r of later changes: 40 SMEs take other content, 3 opportunities and 10 SMEs
 * are withdrawn (different ones each round). */
static void s_feed_stream(s_site_t *site, int r)
{
    s_put(site, synth_sme, 50000 + (uint64_t)r * 100, 40, (uint64_t)r * 40);
    for (int i = 1; i <= 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "opp-%d", r * 3 + i);
        s_withdraw(site, id);
    }
    for (int i = 1; i <= 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "sme-%d", 100 + r * 10 + i);
        s_withdraw(site, id);
    }
}

/* ---------------------------------------------------------------------------
 * Tests, in order: each goes on from where the one before left the replicas */

/* A request to the matching instance at endpoint; the status code of its reply. */
static int s_status(const char *endpoint, ls_envelope_pb *env)
{
    ls_client_t *client = ls_client_new(endpoint, 5000);
    ls_reply_pb *reply = ls_client_call(client, env);
    ls_client_destroy(&client);
    assert_non_null(reply);
    int code = reply->status->code;
    lodestone__v1__reply__free_unpacked(reply, NULL);
    return code;
}

static void s_assert_standby_serves(const char *endpoint)
{
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__GetMatches matches = LODESTONE__V1__GET_MATCHES__INIT;
    matches.entity_id = "sme-1";
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_MATCHES;
    env.matches = &matches;
    assert_int_equal(s_status(endpoint, &env), LODESTONE__V1__STATUS__CODE__OK);
    /* No index: what needs one is for the instances that hold a partition. */
    ls_envelope_pb explain_env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__ExplainPair explain = LODESTONE__V1__EXPLAIN_PAIR__INIT;
    explain.subject_id = "sme-1";
    explain.candidate_id = "opp-1";
    explain_env.body_case = LODESTONE__V1__ENVELOPE__BODY_EXPLAIN;
    explain_env.explain = &explain;
    assert_int_equal(s_status(endpoint, &explain_env), LODESTONE__V1__STATUS__CODE__UNAVAILABLE);
}

static void test_replicas_claim_three_partitions_and_one_waits(void **state)
{
    (void)state;
    int roles[S_REPLICAS];
    s_await_roles(roles, 1);
    char *layout = s_get(&s_many, LS_KEY_MATCHING_LAYOUT);
    assert_string_equal(layout, "3");
    free(layout);
    char *tokens[S_PARTITIONS];
    for (int p = 0; p < S_PARTITIONS; p++) {
        tokens[p] = s_lease(&s_many, p);
        assert_true(*tokens[p]);
        for (int q = 0; q < p; q++)
            assert_string_not_equal(tokens[p], tokens[q]);
    }
    for (int p = 0; p < S_PARTITIONS; p++)
        free(tokens[p]);

    /* The same data to one instance and to the replicas: the same lists. */
    s_feed_load(&s_one);
    s_feed_load(&s_many);
    s_await(&s_one, 1, -1);
    s_await(&s_many, S_PARTITIONS, -1);
    char *one = s_snapshot(&s_one, -1), *many = s_snapshot(&s_many, -1);
    assert_true(strlen(one) > 1000); /* the data set really matches */
    s_assert_same(one, many, "one instance's lists and three partitions'");
    free(one);
    free(many);
    s_assert_standby_serves(s_many.matching_ep[s_replica_of(roles, S_STANDBY)]);
}

/* Runs a matching instance with two partitions while three-partition leases live; it
 * must refuse at once. */
static void test_another_layout_is_refused(void **state)
{
    (void)state;
    ls_test_env_t env;
    char ep[64], command[16384] = "timeout 60 env", out[16384];
    s_matching_env(&s_many, 2, "1000", ep, sizeof ep, &env);
    for (int k = 0; k < env.count; k++)
        snprintf(command + strlen(command), sizeof command - strlen(command), " '%s'", env.env[k]);
    snprintf(command + strlen(command), sizeof command - strlen(command), " '%s' 2>&1",
             getenv("LS_TEST_MATCHING"));
    int status = ls_test_run(command, out, sizeof out);
    if (status == 0 || status == 124 || !strstr(out, "LODESTONE_MATCHING_PARTITIONS=2") ||
        !strstr(out, "LODESTONE_MATCHING_PARTITIONS=3"))
        fail_msg("an instance with 2 partitions beside 3 exited %d saying:\n%s", status, out);
    char *layout = s_get(&s_many, LS_KEY_MATCHING_LAYOUT);
    assert_string_equal(layout, "3");
    free(layout);
}

static void test_standby_takes_over_a_killed_partition(void **state)
{
    (void)state;
    int roles[S_REPLICAS];
    s_await_roles(roles, 1);
    int victim = s_replica_of(roles, 1), standby = s_replica_of(roles, S_STANDBY);
    char *token = s_lease(&s_many, 1);
    char *before = s_snapshot(&s_many, 1);
    int64_t killed = ls_mono_ms();
    ls_test_kill(&s_many.matching[victim]);
    /* Its lease lapses after 1 s; the standby claims every second. */
    while (s_instance(s_many.matching_ep[standby]) != 1 && ls_mono_ms() < killed + 15000)
        zclock_sleep(100);
    int64_t took = ls_mono_ms() - killed;
    if (took > 10000)
        fail_msg("the standby took partition 1 only after %lld ms", (long long)took);
    char *now = s_lease(&s_many, 1);
    assert_true(*now);
    assert_string_not_equal(now, token);
    s_await_roles(roles, 0);

    /* Later changes, of partition 1's entities too, are matched as by one instance. */
    s_feed_stream(&s_one, 0);
    s_feed_stream(&s_many, 0);
    s_await(&s_one, 1, -1);
    s_await(&s_many, S_PARTITIONS, -1);
    char *one = s_snapshot(&s_one, -1), *many = s_snapshot(&s_many, -1);
    s_assert_same(one, many, "one instance's lists and the replicas' after a take-over");
    char *after = s_snapshot(&s_many, 1);
    assert_string_not_equal(before, after); /* partition 1's lists did change */
    free(token);
    free(now);
    free(before);
    free(after);
    free(one);
    free(many);
}

/* Waits (20 s at most) for the process to exit; returns its wait status. */
static int s_await_exit(ls_test_proc_t **proc)
{
    int64_t deadline = ls_mono_ms() + 20000;
    while (ls_test_alive(*proc) && ls_mono_ms() < deadline)
        zclock_sleep(50);
    if (ls_test_alive(*proc))
        fail_msg("it did not exit within 20 s");
    return ls_test_stop(proc); /* reaped already: its status */
}

static void test_a_write_after_the_lease_passed_is_refused(void **state)
{
    (void)state;
    int roles[S_REPLICAS];
    s_await_roles(roles, 0);
    int holder = s_replica_of(roles, 2);
    uint64_t checkpoint = s_checkpoint(&s_many, 2, S_PARTITIONS);
    char *lists = s_snapshot(&s_many, 2);
    /* It stalls past its lease, and another process takes the partition meanwhile. */
    pid_t pid = ls_test_pid(s_many.matching[holder]);
    assert_int_equal(kill(pid, SIGSTOP), 0);
    redisReply *r = ls_store_command(s_many.store, "SET " LS_KEY_LEASE_MATCHING "2 intruder");
    assert_non_null(r);
    freeReplyObject(r);
    s_feed_stream(&s_many, 1);
    s_await(&s_many, S_PARTITIONS, 2); /* the other partitions have applied it */
    assert_int_equal(kill(pid, SIGCONT), 0);

    /* It finds the partition gone, writes none of it and exits non-zero. */
    int status = s_await_exit(&s_many.matching[holder]);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    assert_int_equal(s_checkpoint(&s_many, 2, S_PARTITIONS), checkpoint);
    char *now = s_snapshot(&s_many, 2), *lease = s_lease(&s_many, 2);
    s_assert_same(lists, now, "partition 2's lists before and after its fenced holder resumed");
    assert_string_equal(lease, "intruder");
    free(lists);
    free(now);
    free(lease);
}

static void test_sigterm_gives_the_lease_back(void **state)
{
    (void)state;
    /* The default token is host name and process id; the lease lasts 10 s. */
    char *lease = s_lease(&s_one, 0), pid[24];
    snprintf(pid, sizeof pid, ":%d", (int)ls_test_pid(s_one.matching[0]));
    assert_true(strlen(lease) > strlen(pid));
    assert_string_equal(lease + strlen(lease) - strlen(pid), pid);
    int status = ls_test_stop(&s_one.matching[0]);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *after = s_lease(&s_one, 0);
    assert_string_equal(after, ""); /* given back, not left to expire */
    free(lease);
    free(after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replicas_claim_three_partitions_and_one_waits),
        cmocka_unit_test(test_another_layout_is_refused),
        cmocka_unit_test(test_standby_takes_over_a_killed_partition),
        cmocka_unit_test(test_a_write_after_the_lease_passed_is_refused),
        cmocka_unit_test(test_sigterm_gives_the_lease_back),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
