/* test_matching_engine.c — the matching engine's equivalences, with real services:
 * the same generated data set and the same stream of changes, processed
 * incrementally by one matching instance and by three partitioned instances, give
 * exactly the same match lists (the three started only after the initial load, so
 * they re-match it at once instead of replaying it); a full re-match of the
 * incremental result changes nothing and emits no event; and a restart with another
 * weight re-matches by itself. */
#include "harness.h"

#include <ctype.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "ls_client.h"
#include "ls_entity.h"
#include "ls_journal.h"
#include "ls_keys.h"
#include "ls_store.h"
#include "ls_taxonomy.h"
#include "ls_util.h"
#include "synth.h"

#define S_SMES 1200
#define S_OPPS 150
#define S_INVESTORS 40
#define S_UPDATES 300
#define S_WINDOW 64

/* One deployment: a Redis, a registry, a notification and n matching instances. */
typedef struct {
    ls_test_proc_t *redis, *registry, *notification, *matching[3];
    int partitions;
    char url[128], registry_ep[64], matching_ep[3][64], notification_ep[64];
    ls_test_env_t env; /* the services' environment but Redis's: each has its own user */
    ls_store_t *store;
} s_site_t;

static s_site_t s_a, s_b;
static ls_taxonomy_t *s_taxonomy;

static int s_site_start_matching(s_site_t *site, const char *replay_max);

/* Starts service name (registry, matching, notification) of site with env and the
 * service's own Redis user. */
static ls_test_proc_t *s_spawn(s_site_t *site, const char *name, const ls_test_env_t *env)
{
    ls_test_env_t own;
    ls_test_env_copy(&own, env);
    ls_test_env_redis(&own, site->url, name);
    char bin[32] = "LS_TEST_";
    for (size_t i = 0; name[i] && i + 9 < sizeof bin; i++)
        bin[8 + i] = (char)toupper((unsigned char)name[i]);
    return ls_test_spawn(name, getenv(bin), own.env);
}

/* Starts Redis, the registry, notification and, when with_matching, the matching
 * instances. */
static int s_site_start(s_site_t *site, int partitions, bool with_matching)
{
    site->partitions = partitions;
    site->redis = ls_test_redis_start(NULL, site->url, sizeof site->url);
    if (!site->redis)
        return -1;
    char ignored[64], err[256];
    ls_test_env_set(&site->env, "LODESTONE_DATA_DIR", LS_TEST_DATA_DIR);
    ls_test_env_set(&site->env, "LODESTONE_HEARTBEAT_MS", "200");
    /* Short lists (and reserves): the stream of changes empties many of them. */
    ls_test_env_set(&site->env, "LODESTONE_TOP_K", "2");
    ls_test_env_socket(&site->env, "REGISTRY", site->registry_ep, sizeof site->registry_ep);
    ls_test_env_socket(&site->env, "REGISTRY_PUB", ignored, sizeof ignored);
    ls_test_env_socket(&site->env, "NOTIFICATION", site->notification_ep,
                       sizeof site->notification_ep);
    ls_test_env_socket(&site->env, "NOTIFICATION_PULL", ignored, sizeof ignored);
    ls_test_env_socket(&site->env, "NOTIFICATION_PUB", ignored, sizeof ignored);
    site->registry = s_spawn(site, "registry", &site->env);
    site->notification = s_spawn(site, "notification", &site->env);
    if (ls_test_await_ping(site->registry_ep) || ls_test_await_ping(site->notification_ep))
        return -1;
    site->store = ls_store_new(site->url, 2000, err, sizeof err);
    if (!site->store)
        return -1;
    return with_matching ? s_site_start_matching(site, NULL) : 0;
}

/* Starts the site's matching instances (replay_max: LODESTONE_MATCHING_REPLAY_MAX,
 * NULL for the default) and waits until each answers, its start-up done. */
static int s_site_start_matching(s_site_t *site, const char *replay_max)
{
    int partitions = site->partitions;
    for (int i = 0; i < partitions; i++) {
        ls_test_env_t env;
        ls_test_env_copy(&env, &site->env);
        char index[16], count[16];
        snprintf(index, sizeof index, "%d", i);
        snprintf(count, sizeof count, "%d", partitions);
        ls_test_env_set(&env, "LODESTONE_MATCHING_PARTITION_INDEX", index);
        ls_test_env_set(&env, "LODESTONE_MATCHING_PARTITIONS", count);
        if (replay_max)
            ls_test_env_set(&env, "LODESTONE_MATCHING_REPLAY_MAX", replay_max);
        ls_test_env_socket(&env, "MATCHING", site->matching_ep[i], sizeof site->matching_ep[i]);
        site->matching[i] = s_spawn(site, "matching", &env);
        if (ls_test_await_ping(site->matching_ep[i])) {
            ls_test_dump_log(site->matching[i]);
            return -1;
        }
    }
    return 0;
}

static int s_site_stop(s_site_t *site)
{
    int failed = 0;
    ls_test_proc_t **procs[] = {&site->matching[0], &site->matching[1], &site->matching[2],
                                &site->registry, &site->notification};
    for (size_t i = 0; i < 5; i++)
        if (*procs[i]) {
            int status = ls_test_stop(procs[i]);
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
    if (!s_taxonomy || !getenv("LS_TEST_MATCHING"))
        return -1;
    /* Site b's matching starts only after the initial load (the test does it). */
    return s_site_start(&s_a, 1, true) || s_site_start(&s_b, 3, false) ? -1 : 0;
}

static int s_teardown(void **state)
{
    (void)state;
    int rc = s_site_stop(&s_a) | s_site_stop(&s_b);
    ls_taxonomy_destroy(&s_taxonomy);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Loading: the same puts, in the same order, to both sites */

typedef ls_entity_pb *(s_make_fn)(synth_t *synth, uint64_t index);

/* Sends every entity make(synth, first..first+count) with a window in flight. */
static void s_load(const char *endpoint, s_make_fn *make, uint64_t first, uint64_t count,
                   uint64_t as_ref_of)
{
    synth_t *synth = synth_new(7, s_taxonomy);
    ls_client_t *client = ls_client_new(endpoint, 10000);
    size_t in_flight = 0;
    for (uint64_t i = 0; i < count || in_flight;) {
        if (i < count && in_flight < S_WINDOW) {
            ls_entity_pb *entity = make(synth, first + i);
            if (as_ref_of != UINT64_MAX) {
                /* An update: this content under the ref of entity as_ref_of + i. */
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
            assert_int_equal(ls_client_send(client, &env, NULL), 0);
            lodestone__v1__entity__free_unpacked(entity, NULL);
            in_flight++;
            i++;
            continue;
        }
        ls_reply_pb *reply = ls_client_recv(client, 10000);
        assert_non_null(reply);
        if (reply->status->code != LODESTONE__V1__STATUS__CODE__OK)
            fail_msg("put refused: %s", reply->status->message);
        lodestone__v1__reply__free_unpacked(reply, NULL);
        in_flight--;
    }
    ls_client_destroy(&client);
    synth_destroy(&synth);
}

static void s_withdraw(const char *endpoint, const char *id)
{
    ls_client_t *client = ls_client_new(endpoint, 10000);
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__WithdrawEntity w = LODESTONE__V1__WITHDRAW_ENTITY__INIT;
    w.id = (char *)id;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_WITHDRAW;
    env.withdraw = &w;
    ls_reply_pb *reply = ls_client_call(client, &env);
    assert_non_null(reply);
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__OK);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    ls_client_destroy(&client);
}

static void s_feed_load(s_site_t *site)
{
    s_load(site->registry_ep, synth_sme, 0, S_SMES, UINT64_MAX);
    s_load(site->registry_ep, synth_opportunity, 0, S_OPPS, UINT64_MAX);
    s_load(site->registry_ep, synth_investor, 0, S_INVESTORS, UINT64_MAX);
}

static void s_feed_stream(s_site_t *site)
{
    /* A stream of changes: SMEs take other content, opportunities are withdrawn, and
     * then SMEs are, which empties the top of many opportunities' lists (their
     * reserve moves up, or they are recomputed). */
    s_load(site->registry_ep, synth_sme, 50000, S_UPDATES, 0);
    for (int i = 1; i <= 15; i++) {
        char id[16];
        snprintf(id, sizeof id, "opp-%d", i * 7);
        s_withdraw(site->registry_ep, id);
    }
    for (int i = 1; i <= 400; i++) {
        char id[16];
        snprintf(id, sizeof id, "sme-%d", i * 3);
        s_withdraw(site->registry_ep, id);
    }
}

/* Waits until every instance has applied the whole change journal. */
static void s_await(s_site_t *site)
{
    int64_t deadline = ls_mono_ms() + 120000;
    while (ls_mono_ms() < deadline) {
        uint64_t latest = 0, slowest = UINT64_MAX;
        ls_store_get_u64(site->store, LS_KEY_SEQ_CHANGES, &latest);
        for (int i = 0; i < site->partitions; i++) {
            char key[96];
            uint64_t at = 0;
            snprintf(key, sizeof key, LS_KEY_CHECKPOINT "matching:%d-of-%d", i, site->partitions);
            ls_store_get_u64(site->store, key, &at);
            slowest = at < slowest ? at : slowest;
        }
        if (latest && slowest >= latest)
            return;
        zclock_sleep(100);
    }
    fail_msg("matching did not catch up within 120 s");
}

static int s_cmp_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Joins n sorted strings with sep after a prefix; frees them. The caller frees. */
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

/* Every stored list as text: "key: candidate=score ..." lines, sorted. */
static char *s_snapshot(s_site_t *site)
{
    redisReply *keys = ls_store_command(site->store, "KEYS " LS_KEY_MATCHES "*");
    char **lines = calloc(keys->elements + 1, sizeof *lines);
    size_t total = 0;
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *list = ls_store_command(site->store, "HGETALL %s", keys->element[i]->str);
        char **items = calloc(list->elements / 2 + 1, sizeof *items);
        size_t n = 0;
        for (size_t k = 1; k < list->elements; k += 2) {
            ls_match_pb *m = lodestone__v1__match__unpack(NULL, list->element[k]->len,
                                                          (const uint8_t *)list->element[k]->str);
            assert_non_null(m);
            items[n++] = zsys_sprintf("%s=%.12f", m->candidate_id, m->score);
            lodestone__v1__match__free_unpacked(m, NULL);
        }
        total += n;
        char *prefix = zsys_sprintf("%s:", keys->element[i]->str);
        lines[i] = s_join(prefix, items, n, " ");
        zstr_free(&prefix);
        free(items);
        freeReplyObject(list);
    }
    char *text = s_join("", lines, keys->elements, "\n");
    free(lines);
    freeReplyObject(keys);
    assert_true(total > S_SMES); /* the data set really matches */
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

/* Asks the site for a full re-match (refresh: with a new IDF snapshot) and waits for
 * every instance to apply it. */
static void s_rematch(s_site_t *site, bool refresh)
{
    ls_client_t *client = ls_client_new(site->matching_ep[0], 10000);
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__Rematch rematch = LODESTONE__V1__REMATCH__INIT;
    rematch.refresh_model = refresh;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_REMATCH;
    env.rematch = &rematch;
    ls_reply_pb *reply = ls_client_call(client, &env);
    assert_non_null(reply);
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__OK);
    assert_true(reply->rematch->generation > 0);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    ls_client_destroy(&client);
    s_await(site);
}

/* Waits until site's notification has read the whole change journal (it is the
 * journal's only reader before matching starts). */
static void s_await_notification_postings(s_site_t *site)
{
    int64_t deadline = ls_mono_ms() + 15000;
    uint64_t latest = 0, read = 0;
    while (ls_mono_ms() < deadline) {
        ls_store_get_u64(site->store, LS_KEY_SEQ_CHANGES, &latest);
        ls_store_get_u64(site->store, LS_KEY_CHECKPOINT "notification-postings", &read);
        if (read == latest)
            return;
        zclock_sleep(50);
    }
    fail_msg("notification did not read the change journal within 15 s");
}

/* How many matches the site's lists hold in Redis. */
static long long s_stored_matches(s_site_t *site)
{
    redisReply *keys = ls_store_command(site->store, "KEYS %s*", LS_KEY_MATCHES);
    long long total = 0;
    for (size_t i = 0; keys && i < keys->elements; i++) {
        redisReply *n = ls_store_command(site->store, "HLEN %s", keys->element[i]->str);
        total += n ? n->integer : 0;
        if (n)
            freeReplyObject(n);
    }
    if (keys)
        freeReplyObject(keys);
    return total;
}

static void test_partitioned_equals_single_and_rematch_changes_nothing(void **state)
{
    (void)state;
    /* Site a matches the initial load change by change. Site b's three instances
     * start after it over a change journal trimmed to its last 10 entries (by its
     * only reader so far, notification): replaying is impossible, so each re-matches
     * its lists as of the journal's end. Then both follow the same stream of changes
     * incrementally. */
    s_feed_load(&s_a);
    s_feed_load(&s_b);
    s_await_notification_postings(&s_b);
    assert_true(ls_journal_trim(s_b.store, &LS_JOURNAL_CHANGES, 10) > 100);
    assert_int_equal(s_site_start_matching(&s_b, "100000000"), 0); /* not by REPLAY_MAX */
    s_await(&s_b);
    uint64_t loaded_a = 0, loaded_b = 0;
    s_await(&s_a);
    ls_store_get_u64(s_a.store, LS_KEY_SEQ_MATCHES, &loaded_a);
    ls_store_get_u64(s_b.store, LS_KEY_SEQ_MATCHES, &loaded_b);
    /* b announced only the lists' end state: one NEW per match, no churn; and its
     * lists are whole (replaying the 10 entries left would have made few). */
    assert_true(loaded_b > 0 && loaded_b < loaded_a);
    long long stored_a = s_stored_matches(&s_a), stored_b = s_stored_matches(&s_b);
    assert_int_equal(stored_b, (long long)loaded_b);
    assert_true(stored_b > stored_a / 2);
    /* a took its first IDF snapshot from an empty corpus, b from the loaded one: both
     * take one now, at the same point of the same data. */
    s_rematch(&s_a, true);
    s_rematch(&s_b, true);
    s_feed_stream(&s_a);
    s_feed_stream(&s_b);
    s_await(&s_a);
    s_await(&s_b);
    char *single = s_snapshot(&s_a), *partitioned = s_snapshot(&s_b);
    s_assert_same(single, partitioned,
                  "one instance's lists and three partitions' (started after the load)");

    /* A full re-match of what was built incrementally: same lists, no event. */
    uint64_t events_before = 0, events_after = 0;
    ls_store_get_u64(s_a.store, LS_KEY_SEQ_MATCHES, &events_before);
    s_rematch(&s_a, false);
    char *rematched = s_snapshot(&s_a);
    s_assert_same(single, rematched, "incremental and re-matched lists");
    ls_store_get_u64(s_a.store, LS_KEY_SEQ_MATCHES, &events_after);
    assert_int_equal(events_after, events_before);

    /* Restarted with another weight, matching re-matches by itself. */
    ls_test_stop(&s_a.matching[0]);
    ls_test_env_t weighted;
    ls_test_env_copy(&weighted, &s_a.env);
    char ep[64];
    ls_test_env_set(&weighted, "LODESTONE_WEIGHT_REGION", "0.9");
    ls_test_env_socket(&weighted, "MATCHING", ep, sizeof ep);
    s_a.matching[0] = s_spawn(&s_a, "matching", &weighted);
    assert_int_equal(ls_test_await_ping(ep), 0);
    s_await(&s_a);
    char *reweighted = s_snapshot(&s_a);
    assert_string_not_equal(reweighted, single);
    ls_store_get_u64(s_a.store, LS_KEY_SEQ_MATCHES, &events_after);
    assert_true(events_after > events_before);
    free(reweighted);
    free(single);
    free(partitioned);
    free(rematched);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partitioned_equals_single_and_rematch_changes_nothing),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
