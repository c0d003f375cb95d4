/* test_matching_engine.c — the matching engine's equivalences, with real services:
 * the same generated data set and the same stream of changes, processed
 * incrementally by one matching instance and by three partitioned instances, give
 * exactly the same match lists (the three started only after the initial load, so
 * they re-match it at once instead of replaying it); a full re-match of the
 * incremental result changes nothing and emits no event; and a restart with another
 * weight re-matches by itself. */
#include "matching_site.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "ls_client.h"
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
#define S_WINDOW 64          /* puts in flight */
#define S_CATCH_UP_MS 120000 /* for matching to apply the change journal */

/* One matching instance, and three partitions. */
static matching_site_t s_a = {.label = "a", .partitions = 1};
static matching_site_t s_b = {.label = "b", .partitions = 3};
static ls_taxonomy_t *s_taxonomy;

/* Starts the site's matching instances, one a partition (replay_max:
 * LODESTONE_MATCHING_REPLAY_MAX, NULL for the default), and waits until each
 * answers, its start-up done. */
static int s_site_start_matching(matching_site_t *site, const char *replay_max)
{
    for (int i = 0; i < site->partitions; i++) {
        ls_test_env_t env;
        matching_site_env(site, "matching", &env);
        char index[16], count[16];
        snprintf(index, sizeof index, "%d", i);
        snprintf(count, sizeof count, "%d", site->partitions);
        ls_test_env_set(&env, "LODESTONE_MATCHING_PARTITION_INDEX", index);
        ls_test_env_set(&env, "LODESTONE_MATCHING_PARTITIONS", count);
        if (replay_max)
            ls_test_env_set(&env, "LODESTONE_MATCHING_REPLAY_MAX", replay_max);
        if (matching_site_start_matching(site, i, &env))
            return -1;
    }
    return 0;
}

static int s_setup(void **state)
{
    (void)state;
    s_taxonomy = ls_test_taxonomy();
    if (!s_taxonomy || !getenv("LS_TEST_MATCHING"))
        return -1;
    /* Short lists (and reserves): the stream of changes empties many of them. */
    const char *const extra[] = {"LODESTONE_TOP_K", "2", NULL};
    if (matching_site_start(&s_a, extra) || s_site_start_matching(&s_a, NULL))
        return -1;
    /* Site b's matching starts only after the initial load (the test does it). */
    return matching_site_start(&s_b, extra);
}

static int s_teardown(void **state)
{
    (void)state;
    int rc = matching_site_stop(&s_a) | matching_site_stop(&s_b);
    ls_taxonomy_destroy(&s_taxonomy);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Loading: the same puts, in the same order, to both sites */

static void s_feed_load(matching_site_t *site)
{
    matching_site_put(site, s_taxonomy, synth_sme, 0, S_SMES, UINT64_MAX, S_WINDOW);
    matching_site_put(site, s_taxonomy, synth_opportunity, 0, S_OPPS, UINT64_MAX, S_WINDOW);
    matching_site_put(site, s_taxonomy, synth_investor, 0, S_INVESTORS, UINT64_MAX, S_WINDOW);
}

static void s_feed_stream(matching_site_t *site)
{
    /* A stream of changes: SMEs take other content, opportunities are withdrawn, and
     * then SMEs are, which empties the top of many opportunities' lists (their
     * reserve moves up, or they are recomputed). */
    matching_site_put(site, s_taxonomy, synth_sme, 50000, S_UPDATES, 0, S_WINDOW);
    for (int i = 1; i <= 15; i++) {
        char id[16];
        snprintf(id, sizeof id, "opp-%d", i * 7);
        matching_site_withdraw(site, id);
    }
    for (int i = 1; i <= 400; i++) {
        char id[16];
        snprintf(id, sizeof id, "sme-%d", i * 3);
        matching_site_withdraw(site, id);
    }
}

/* Every stored list as text (matching_site_snapshot); the caller frees it. */
static char *s_snapshot(matching_site_t *site)
{
    size_t matches = 0;
    char *text = matching_site_snapshot(site, -1, &matches);
    assert_true(matches > S_SMES); /* the data set really matches */
    return text;
}

/* Asks the site for a full re-match (refresh: with a new IDF snapshot) and waits for
 * every instance to apply it. */
static void s_rematch(matching_site_t *site, bool refresh)
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
    matching_site_await(site, -1, S_CATCH_UP_MS);
}

/* Waits until site's notification has read the whole change journal (it is the
 * journal's only reader before matching starts). */
static void s_await_notification_postings(matching_site_t *site)
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
static long long s_stored_matches(matching_site_t *site)
{
    size_t matches = 0;
    free(matching_site_snapshot(site, -1, &matches));
    return (long long)matches;
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
    matching_site_await(&s_b, -1, S_CATCH_UP_MS);
    uint64_t loaded_a = 0, loaded_b = 0;
    matching_site_await(&s_a, -1, S_CATCH_UP_MS);
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
    matching_site_await(&s_a, -1, S_CATCH_UP_MS);
    matching_site_await(&s_b, -1, S_CATCH_UP_MS);
    char *single = s_snapshot(&s_a), *partitioned = s_snapshot(&s_b);
    matching_site_assert_same(
        single, partitioned, "one instance's lists and three partitions' (started after the load)");

    /* A full re-match of what was built incrementally: same lists, no event. */
    uint64_t events_before = 0, events_after = 0;
    ls_store_get_u64(s_a.store, LS_KEY_SEQ_MATCHES, &events_before);
    s_rematch(&s_a, false);
    char *rematched = s_snapshot(&s_a);
    matching_site_assert_same(single, rematched, "incremental and re-matched lists");
    ls_store_get_u64(s_a.store, LS_KEY_SEQ_MATCHES, &events_after);
    assert_int_equal(events_after, events_before);

    /* Restarted with another weight, matching re-matches by itself. */
    ls_test_stop(&s_a.matching[0]);
    ls_test_env_t weighted;
    matching_site_env(&s_a, "matching", &weighted);
    ls_test_env_set(&weighted, "LODESTONE_WEIGHT_REGION", "0.9");
    assert_int_equal(matching_site_start_matching(&s_a, 0, &weighted), 0);
    matching_site_await(&s_a, -1, S_CATCH_UP_MS);
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
