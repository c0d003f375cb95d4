/* test_matching_scale.c — matching replicas claim their partitions themselves
 * (docs/design-notes.md, "Matching replicas claim partitions"), as under
 * `docker compose up --scale matching=4` with three partitions. Four instances
 * started alike (LODESTONE_MATCHING_PARTITION_INDEX=auto) hold three distinct
 * partitions and one waits as a standby; together they keep exactly the lists one
 * instance keeps; an instance started with two partitions is refused while they
 * live; the standby takes over the partition of an instance killed with SIGKILL and
 * matches the later changes; an instance whose lease passed to another token writes
 * nothing more of its partition and exits non-zero; SIGTERM gives a lease back. */
#include "matching_site.h"

#include <czmq.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ls_client.h"
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
#define S_WINDOW 1             /* puts in flight: one at a time */
#define S_CATCH_UP_MS 60000    /* for matching to apply the change journal */

_Static_assert(S_REPLICAS <= MATCHING_SITE_INSTANCES, "a site runs the replicas");

/* One matching instance, and four replicas over three partitions. */
static matching_site_t s_one = {.label = "one", .partitions = 1};
static matching_site_t s_many = {.label = "many", .partitions = S_PARTITIONS};
static ls_taxonomy_t *s_taxonomy;

/* ---------------------------------------------------------------------------
 * Sites */

/* A matching instance's environment, with `partitions` and auto, into out; lease_ms
 * NULL: the default. */
static void s_matching_env(matching_site_t *site, int partitions, const char *lease_ms,
                           ls_test_env_t *out)
{
    char count[16];
    snprintf(count, sizeof count, "%d", partitions);
    matching_site_env(site, "matching", out);
    ls_test_env_set(out, "LODESTONE_MATCHING_PARTITION_INDEX", "auto");
    ls_test_env_set(out, "LODESTONE_MATCHING_PARTITIONS", count);
    if (lease_ms)
        ls_test_env_set(out, "LODESTONE_MATCHING_LEASE_MS", lease_ms);
}

/* Starts matching replica i of site and waits until it answers a ping (a standby
 * answers too). */
static int s_start_matching(matching_site_t *site, int i, int partitions, const char *lease_ms)
{
    ls_test_env_t env;
    s_matching_env(site, partitions, lease_ms, &env);
    return matching_site_start_matching(site, i, &env);
}

static int s_setup(void **state)
{
    (void)state;
    /* No HTTP side door: many processes here, and tests run side by side. */
    const char *const extra[] = {"LODESTONE_TOP_K",
                                 "3",
                                 "LODESTONE_REGISTRY_HTTP_BIND",
                                 "127.0.0.1:0",
                                 "LODESTONE_MATCHING_HTTP_BIND",
                                 "127.0.0.1:0",
                                 "LODESTONE_NOTIFICATION_HTTP_BIND",
                                 "127.0.0.1:0",
                                 NULL};
    s_taxonomy = ls_test_taxonomy();
    if (!s_taxonomy || !getenv("LS_TEST_MATCHING") || matching_site_start(&s_one, extra) ||
        matching_site_start(&s_many, extra) || s_start_matching(&s_one, 0, 1, NULL))
        return -1;
    for (int i = 0; i < S_REPLICAS; i++)
        if (s_start_matching(&s_many, i, S_PARTITIONS, "1000"))
            return -1;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    int rc = matching_site_stop(&s_one) | matching_site_stop(&s_many);
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
static char *s_get(matching_site_t *site, const char *key)
{
    redisReply *r = ls_store_command(site->store, "GET %s", key);
    assert_non_null(r);
    char *value = strdup(r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    return value;
}

static char *s_lease(matching_site_t *site, int partition)
{
    char key[64];
    snprintf(key, sizeof key, LS_KEY_LEASE_MATCHING "%d", partition);
    return s_get(site, key);
}

/* ---------------------------------------------------------------------------
 * Changes: the same puts and withdrawals, in the same order, to a site */

static void s_feed_load(matching_site_t *site)
{
    matching_site_put(site, s_taxonomy, synth_sme, 0, S_SMES, UINT64_MAX, S_WINDOW);
    matching_site_put(site, s_taxonomy, synth_opportunity, 0, S_OPPS, UINT64_MAX, S_WINDOW);
    matching_site_put(site, s_taxonomy, synth_investor, 0, S_INVESTORS, UINT64_MAX, S_WINDOW);
}

/* Round r of later changes: 40 SMEs take other content, 3 opportunities and 10 SMEs
 * are withdrawn (different ones each round). */
static void s_feed_stream(matching_site_t *site, int r)
{
    matching_site_put(site, s_taxonomy, synth_sme, 50000 + (uint64_t)r * 100, 40, (uint64_t)r * 40,
                      S_WINDOW);
    for (int i = 1; i <= 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "opp-%d", r * 3 + i);
        matching_site_withdraw(site, id);
    }
    for (int i = 1; i <= 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "sme-%d", 100 + r * 10 + i);
        matching_site_withdraw(site, id);
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
    matching_site_await(&s_one, -1, S_CATCH_UP_MS);
    matching_site_await(&s_many, -1, S_CATCH_UP_MS);
    char *one = matching_site_snapshot(&s_one, -1, NULL),
         *many = matching_site_snapshot(&s_many, -1, NULL);
    assert_true(strlen(one) > 1000); /* the data set really matches */
    matching_site_assert_same(one, many, "one instance's lists and three partitions'");
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
    s_matching_env(&s_many, 2, "1000", &env);
    ls_test_env_socket(&env, "MATCHING", ep, sizeof ep);
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
    char *before = matching_site_snapshot(&s_many, 1, NULL);
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
    matching_site_await(&s_one, -1, S_CATCH_UP_MS);
    matching_site_await(&s_many, -1, S_CATCH_UP_MS);
    char *one = matching_site_snapshot(&s_one, -1, NULL),
         *many = matching_site_snapshot(&s_many, -1, NULL);
    matching_site_assert_same(one, many,
                              "one instance's lists and the replicas' after a take-over");
    char *after = matching_site_snapshot(&s_many, 1, NULL);
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
    /* Partition 2's holder is replaced by one with a lease of a minute: when another
     * process takes the partition, this one's own clock still says it holds it, so
     * only the fence in its writes can stop it. (With the short lease its clock, or
     * its renewal, could stop it first, and the fence would go untested.) */
    int holder = s_replica_of(roles, 2);
    int status = ls_test_stop(&s_many.matching[holder]);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(s_start_matching(&s_many, holder, S_PARTITIONS, "60000"), 0);
    s_await_roles(roles, 0);
    assert_int_equal(roles[holder], 2);
    uint64_t checkpoint = matching_site_checkpoint(&s_many, 2);
    char *lists = matching_site_snapshot(&s_many, 2, NULL);
    /* It stalls, and another process takes the partition meanwhile. */
    pid_t pid = ls_test_pid(s_many.matching[holder]);
    assert_int_equal(kill(pid, SIGSTOP), 0);
    redisReply *r = ls_store_command(s_many.store, "SET " LS_KEY_LEASE_MATCHING "2 intruder");
    assert_non_null(r);
    freeReplyObject(r);
    s_feed_stream(&s_many, 1);
    matching_site_await(&s_many, 2, S_CATCH_UP_MS); /* the other partitions have applied it */
    assert_int_equal(kill(pid, SIGCONT), 0);

    /* It finds the partition gone, writes none of it and exits non-zero. */
    status = s_await_exit(&s_many.matching[holder]);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    assert_int_equal(matching_site_checkpoint(&s_many, 2), checkpoint);
    char *now = matching_site_snapshot(&s_many, 2, NULL), *lease = s_lease(&s_many, 2);
    matching_site_assert_same(lists, now,
                              "partition 2's lists before and after its fenced holder resumed");
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
