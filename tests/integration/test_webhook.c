/* test_webhook.c — webhook delivery against a private redis-server and real HTTP
 * receivers on loopback: signatures, retry after failures, dead letters and their
 * replay, a slow receiver not holding back others, the Redis work per delivery not
 * growing with a slow receiver's backlog, origins sharing the slots, redelivery
 * after a worker stops mid-request, duplicate enqueues, deleted subscriptions,
 * malformed deliveries, and deliveries queued by an earlier version. */
#include "harness.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "ls_config.h"
#include "ls_keys.h"
#include "ls_store.h"
#include "ls_util.h"
#include "webhook.h"
#include "webhook_receiver.h"

#define S_WAIT_MS 10000 /* longest wait for something that should happen (valgrind is slow) */

/* Polls cond every 10 ms until it holds or ms have passed; check it afterwards. */
#define S_AWAIT(cond, ms)                                                                          \
    do {                                                                                           \
        int64_t s_deadline_ = ls_mono_ms() + (ms);                                                 \
        while (!(cond) && ls_mono_ms() < s_deadline_)                                              \
            zclock_sleep(10);                                                                      \
    } while (0)

static ls_test_proc_t *s_redis;
static char s_url[128]; /* the admin user's */

static ls_script_t s_enqueue_script =
    LS_SCRIPT(WEBHOOK_LUA "return webhook_enqueue(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5],\n"
                          "                       ARGV[6], ARGV[7])\n");

/* A configuration with short delays: back-off 20 ms doubling to 200 ms. */
static void s_config(ls_config_t *config)
{
    char err[256];
    assert_int_equal(ls_config_load(config, err, sizeof err), 0);
    /* Webhook delivery runs as notification does: as its Redis user. */
    int port = atoi(strrchr(s_url, ':') + 1);
    snprintf(config->redis_url, sizeof config->redis_url, "redis://notification@127.0.0.1:%d/0",
             port);
    ls_test_redis_password_file(s_url, "notification", config->redis_password_file,
                                sizeof config->redis_password_file);
    if (ls_store_use_password_file(config, err, sizeof err))
        fail_msg("%s", err);
    config->webhook_timeout_ms = 1000;
    config->webhook_attempts = 5;
    config->webhook_backoff_ms = 20;
    config->webhook_backoff_max_ms = 200;
    config->webhook_concurrency = 8;
    config->webhook_per_host = 4;
}

static void s_secret(ls_store_t *store, const char *sub, const char *secret)
{
    redisReply *reply = ls_store_command(store, "SET %s%s %s", LS_KEY_SUB_SECRET, sub, secret);
    assert_non_null(reply);
    assert_int_equal(reply->type, REDIS_REPLY_STATUS);
    freeReplyObject(reply);
}

/* Runs the enqueue Lua as the notification service does; returns its reply. */
static long long s_enqueue_at(ls_store_t *store, const char *id, const char *url, const char *sub,
                              const char *body, int64_t now_ms)
{
    char nid[64], now_text[24], origin[WEBHOOK_ORIGIN_MAX];
    snprintf(nid, sizeof nid, "n-%s", id);
    snprintf(now_text, sizeof now_text, "%lld", (long long)now_ms);
    if (webhook_origin(url, origin, sizeof origin))
        snprintf(origin, sizeof origin, "invalid"); /* as notification.c does */
    const char *argv[] = {id, url, sub, nid, body, origin, now_text};
    redisReply *reply = ls_store_eval(store, &s_enqueue_script, 0, 7, argv, NULL);
    assert_non_null(reply);
    assert_int_equal(reply->type, REDIS_REPLY_INTEGER);
    long long rc = reply->integer;
    freeReplyObject(reply);
    return rc;
}

static long long s_enqueue(ls_store_t *store, const char *id, const char *url, const char *sub,
                           const char *body)
{
    return s_enqueue_at(store, id, url, sub, body, ls_now_ms());
}

static long long s_integer(ls_store_t *store, const char *fmt, const char *a, const char *b)
{
    redisReply *reply = ls_store_command(store, fmt, a, b);
    assert_non_null(reply);
    assert_int_equal(reply->type, REDIS_REPLY_INTEGER);
    long long value = reply->integer;
    freeReplyObject(reply);
    return value;
}

/* The delivery's hash exists. */
static bool s_pending(ls_store_t *store, const char *id)
{
    return s_integer(store, "EXISTS %s%s", LS_KEY_WEBHOOK, id) == 1;
}

/* The delivery's score in a sorted set; -1 when it is not a member. */
static double s_score(ls_store_t *store, const char *set, const char *id)
{
    redisReply *reply = ls_store_command(store, "ZSCORE %s %s", set, id);
    assert_non_null(reply);
    double score = reply->type == REDIS_REPLY_STRING ? strtod(reply->str, NULL) : -1;
    freeReplyObject(reply);
    return score;
}

/* The due sets, ls:wh:due:<origin> (a KEYS reply). */
static redisReply *s_due_sets(ls_store_t *store)
{
    redisReply *keys = ls_store_command(store, "KEYS %s*", LS_KEY_WEBHOOK_DUE);
    assert_non_null(keys);
    assert_int_equal(keys->type, REDIS_REPLY_ARRAY);
    return keys;
}

/* The delivery's score in whichever due set holds it; -1 when none does. */
static double s_due_score(ls_store_t *store, const char *id)
{
    redisReply *keys = s_due_sets(store);
    double score = -1;
    for (size_t i = 0; i < keys->elements && score < 0; i++)
        score = s_score(store, keys->element[i]->str, id);
    freeReplyObject(keys);
    return score;
}

/* Deliveries in all due sets. */
static long long s_due_count(ls_store_t *store)
{
    redisReply *keys = s_due_sets(store);
    long long count = 0;
    for (size_t i = 0; i < keys->elements; i++)
        count += s_integer(store, "ZCARD %s", keys->element[i]->str, NULL);
    freeReplyObject(keys);
    return count;
}

/* ls:wh:next is right: an origin for every non-empty due set, scored with its
 * lowest score, and nothing else. */
static void s_assert_index(ls_store_t *store)
{
    redisReply *keys = s_due_sets(store);
    for (size_t i = 0; i < keys->elements; i++) {
        const char *origin = keys->element[i]->str + strlen(LS_KEY_WEBHOOK_DUE);
        redisReply *low =
            ls_store_command(store, "ZRANGE %s 0 0 WITHSCORES", keys->element[i]->str);
        assert_non_null(low);
        assert_int_equal(low->elements, 2);
        double indexed = s_score(store, LS_KEY_WEBHOOK_NEXT, origin);
        if (indexed != strtod(low->element[1]->str, NULL))
            fail_msg("ls:wh:next has %s at %.0f, its set's lowest is %s", origin, indexed,
                     low->element[1]->str);
        freeReplyObject(low);
    }
    assert_int_equal(s_integer(store, "ZCARD %s", LS_KEY_WEBHOOK_NEXT, NULL),
                     (long long)keys->elements);
    freeReplyObject(keys);
}

static bool s_gone(ls_store_t *store, const char *id)
{
    return !s_pending(store, id) && s_due_score(store, id) < 0;
}

static bool s_dead(ls_store_t *store, const char *id)
{
    return s_score(store, LS_KEY_WEBHOOK_DEAD, id) >= 0;
}

/* A field of the delivery's hash into out ("" when absent). */
static void s_field(ls_store_t *store, const char *id, const char *field, char *out, size_t len)
{
    redisReply *reply = ls_store_command(store, "HGET %s%s %s", LS_KEY_WEBHOOK, id, field);
    assert_non_null(reply);
    snprintf(out, len, "%s", reply->type == REDIS_REPLY_STRING ? reply->str : "");
    freeReplyObject(reply);
}

/* Commands Redis has run (INFO's total_commands_processed: the calls inside
 * scripts count one each, like the script itself). */
static long long s_commands(ls_store_t *store)
{
    redisReply *reply = ls_store_command(store, "INFO stats");
    assert_non_null(reply);
    assert_int_equal(reply->type, REDIS_REPLY_STRING);
    const char *at = strstr(reply->str, "total_commands_processed:");
    assert_non_null(at);
    long long count = strtoll(at + strlen("total_commands_processed:"), NULL, 10);
    freeReplyObject(reply);
    return count;
}

static size_t s_requests_for(webhook_receiver_t *receiver, const char *id)
{
    size_t count = 0;
    webhook_received_t r;
    for (size_t i = 0; webhook_receiver_get(receiver, i, &r) == 0; i++)
        count += strcmp(r.id, id) == 0;
    return count;
}

static int s_setup(void **state)
{
    *state = ls_test_store_flushed(s_url);
    return 0;
}

static int s_teardown(void **state)
{
    s_assert_index(*state);
    ls_store_destroy((ls_store_t **)state);
    return 0;
}

/* Vectors computed once with
 *   printf '%s' '<t>.<body>' | openssl dgst -sha256 -hmac '<secret>' */
static void test_signature_known_vector(void **state)
{
    (void)state;
    const char *body = "{\"event\":\"match.new\",\"id\":\"n-1\"}";
    char out[WEBHOOK_SIGNATURE_MAX];
    webhook_signature("whsec_test_secret", 17, 1700000000, body, strlen(body), out);
    assert_string_equal(
        out, "t=1700000000,v1=52c657850e3f23f987591a198812a3777e3d23f6ba32f1be95698c93dc0508c9");
    webhook_signature("whsec_other", 11, 1700000000, body, strlen(body), out);
    assert_string_equal(
        out, "t=1700000000,v1=ce5277cf29bb917257cac2f40849ec3f44561b9ffe6bc49db1a52643447c8575");
    /* A key longer than SHA-256's block is hashed first (HMAC's rule). */
    char key[101];
    memset(key, 'k', 100);
    key[100] = 0;
    webhook_signature(key, 100, 42, "", 0, out);
    assert_string_equal(out,
                        "t=42,v1=4db982d05c0ed99947717e4489eb9dcb4eedadae0f4eda7c3b18ded63c766369");
    assert_int_equal(webhook_receiver_verify(out, key, "", 0), 42);
}

static void test_signature_on_the_wire(void **state)
{
    ls_store_t *store = *state;
    webhook_receiver_t *receiver = webhook_receiver_new();
    assert_non_null(receiver);
    const char *secret = "whsec_sub-1_secret";
    const char *body = "{\"event\":\"match.new\",\"score\":0.82}";
    s_secret(store, "sub-1", secret);
    assert_int_equal(s_enqueue(store, "d-sig", webhook_receiver_url(receiver), "sub-1", body), 1);
    ls_config_t config;
    s_config(&config);
    webhook_t *webhook = webhook_new(&config);
    assert_non_null(webhook);
    S_AWAIT(s_gone(store, "d-sig"), S_WAIT_MS);
    assert_true(s_gone(store, "d-sig"));
    webhook_destroy(&webhook);
    webhook_destroy(&webhook); /* safe twice */

    assert_int_equal(webhook_receiver_count(receiver), 1);
    webhook_received_t r;
    assert_int_equal(webhook_receiver_get(receiver, 0, &r), 0);
    assert_string_equal(r.id, "d-sig");
    assert_string_equal(r.body, body);
    assert_string_equal(r.content_type, "application/json");
    assert_string_equal(r.user_agent, "lodestone/" LS_VERSION_TEXT);
    long long t = webhook_receiver_verify(r.signature, secret, r.body, r.body_len);
    assert_true(t > 0);
    long long now = ls_now_ms() / 1000;
    assert_true(t <= now && t >= now - 5);
    assert_int_equal(webhook_receiver_verify(r.signature, "whsec_wrong", r.body, r.body_len), -1);
    assert_int_equal(webhook_receiver_verify(r.signature, secret, "{}", 2), -1);
    char again[WEBHOOK_SIGNATURE_MAX];
    webhook_signature(secret, strlen(secret), t, body, strlen(body), again);
    assert_string_equal(r.signature, again);
    webhook_receiver_destroy(&receiver);
}

static void test_retry_after_failures(void **state)
{
    ls_store_t *store = *state;
    webhook_receiver_t *receiver = webhook_receiver_new();
    assert_non_null(receiver);
    webhook_receiver_fail_next(receiver, 2, 503);
    s_secret(store, "sub-1", "secret-1");
    assert_int_equal(s_enqueue(store, "d-retry", webhook_receiver_url(receiver), "sub-1", "{}"), 1);
    ls_config_t config;
    s_config(&config);
    webhook_t *webhook = webhook_new(&config);
    assert_non_null(webhook);
    S_AWAIT(s_gone(store, "d-retry"), S_WAIT_MS);
    zclock_sleep(300); /* room for a wrong extra attempt to show */
    webhook_stats_t stats;
    webhook_stats(webhook, &stats);
    webhook_destroy(&webhook);

    assert_true(s_gone(store, "d-retry"));
    assert_int_equal(webhook_receiver_count(receiver), 3);
    assert_int_equal(webhook_receiver_accepted(receiver, "d-retry"), 1);
    webhook_received_t r[3];
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(webhook_receiver_get(receiver, i, &r[i]), 0);
        assert_string_equal(r[i].id, "d-retry");
    }
    assert_int_equal(r[0].status, 503);
    assert_int_equal(r[1].status, 503);
    assert_int_equal(r[2].status, 200);
    /* Equal jitter: at least half of 20 ms, then of 40 ms. */
    assert_true(r[1].at_ms - r[0].at_ms >= 10);
    assert_true(r[2].at_ms - r[1].at_ms >= 20);
    assert_int_equal(stats.delivered, 1);
    assert_int_equal(stats.attempts_failed, 2);
    assert_int_equal(stats.retries_scheduled, 2);
    assert_int_equal(stats.dead, 0);
    assert_int_equal(stats.in_flight, 0);
    webhook_receiver_destroy(&receiver);
}

static void test_dead_letters_and_replay(void **state)
{
    ls_store_t *store = *state;
    webhook_receiver_t *receiver = webhook_receiver_new();
    assert_non_null(receiver);
    const char *url = webhook_receiver_url(receiver);
    webhook_receiver_fail_always(receiver, 500);
    s_secret(store, "sub-1", "secret-1");
    s_secret(store, "sub-2", "secret-2");
    ls_config_t config;
    s_config(&config);
    config.webhook_attempts = 3;
    int64_t first = ls_now_ms();
    assert_int_equal(s_enqueue_at(store, "d-500", url, "sub-1", "{\"n\":500}", first), 1);
    webhook_t *webhook = webhook_new(&config);
    assert_non_null(webhook);
    S_AWAIT(s_dead(store, "d-500"), S_WAIT_MS);
    assert_true(s_dead(store, "d-500"));
    assert_true(s_pending(store, "d-500"));
    assert_true(s_due_score(store, "d-500") < 0);
    assert_int_equal(s_requests_for(receiver, "d-500"), 3);

    Lodestone__V1__DeadLetterList list;
    assert_int_equal(webhook_dead_list(store, "sub-1", 10, &list), 0);
    assert_int_equal(list.total, 1);
    assert_int_equal(list.n_letters, 1);
    const Lodestone__V1__DeadLetter *letter = list.letters[0];
    assert_string_equal(letter->delivery_id, "d-500");
    assert_string_equal(letter->subscription_id, "sub-1");
    assert_string_equal(letter->notification_id, "n-d-500");
    assert_string_equal(letter->url, url);
    assert_int_equal(letter->attempts, 3);
    assert_string_equal(letter->last_error, "HTTP 500");
    assert_int_equal(letter->first_at, first);
    assert_true(letter->dead_at >= first);
    webhook_dead_list_clear(&list);
    assert_int_equal(list.n_letters, 0);

    /* A 400 is the receiver refusing for good: dead after one attempt. */
    webhook_receiver_fail_always(receiver, 400);
    assert_int_equal(s_enqueue(store, "d-400", url, "sub-2", "{\"n\":400}"), 1);
    S_AWAIT(s_dead(store, "d-400"), S_WAIT_MS);
    assert_true(s_dead(store, "d-400"));
    assert_int_equal(s_requests_for(receiver, "d-400"), 1);
    webhook_stats_t stats; /* counted just after the outcome's step: wait for it */
    S_AWAIT((webhook_stats(webhook, &stats), stats.dead == 2), S_WAIT_MS);
    assert_int_equal(stats.dead, 2);
    assert_int_equal(stats.retries_scheduled, 2);
    webhook_destroy(&webhook);

    assert_int_equal(webhook_dead_list(store, "", 0, &list), 0);
    assert_int_equal(list.total, 2);
    assert_int_equal(list.n_letters, 2);
    assert_string_equal(list.letters[0]->delivery_id, "d-400"); /* newest first */
    assert_int_equal(list.letters[0]->attempts, 1);
    assert_string_equal(list.letters[0]->last_error, "HTTP 400");
    assert_string_equal(list.letters[1]->delivery_id, "d-500");
    webhook_dead_list_clear(&list);
    assert_int_equal(webhook_dead_list(store, "", 1, &list), 0);
    assert_int_equal(list.total, 2);
    assert_int_equal(list.n_letters, 1);
    webhook_dead_list_clear(&list);
    assert_int_equal(webhook_dead_list(store, "sub-2", 10, &list), 0);
    assert_int_equal(list.total, 1);
    assert_string_equal(list.letters[0]->delivery_id, "d-400");
    webhook_dead_list_clear(&list);

    /* Another subscription's letter and an unknown id are skipped. */
    const char *ids[] = {"d-400", "d-unknown"};
    int64_t now = ls_now_ms();
    assert_int_equal(webhook_dead_replay(store, "sub-1", ids, 2, now), 0);
    assert_int_equal(webhook_dead_replay(store, "sub-1", NULL, 0, now), 1);
    char text[64];
    s_field(store, "d-500", "attempts", text, sizeof text);
    assert_string_equal(text, "0");
    s_field(store, "d-500", "error", text, sizeof text);
    assert_string_equal(text, "HTTP 500");
    assert_false(s_dead(store, "d-500"));
    assert_int_equal((int64_t)s_due_score(store, "d-500"), now);
    s_assert_index(store);

    webhook_receiver_fail_always(receiver, 0);
    webhook = webhook_new(&config);
    assert_non_null(webhook);
    S_AWAIT(s_gone(store, "d-500"), S_WAIT_MS);
    assert_true(s_gone(store, "d-500"));
    assert_int_equal(webhook_receiver_accepted(receiver, "d-500"), 1);
    assert_int_equal(webhook_dead_replay(store, "", ids, 2, ls_now_ms()), 1);
    S_AWAIT(s_gone(store, "d-400"), S_WAIT_MS);
    assert_true(s_gone(store, "d-400"));
    assert_int_equal(webhook_receiver_accepted(receiver, "d-400"), 1);
    S_AWAIT((webhook_stats(webhook, &stats), stats.delivered == 2), S_WAIT_MS);
    assert_int_equal(stats.delivered, 2);
    webhook_destroy(&webhook);

    assert_int_equal(webhook_dead_list(store, "", 0, &list), 0);
    assert_int_equal(list.total, 0);
    assert_int_equal(list.n_letters, 0);
    webhook_dead_list_clear(&list);
    webhook_receiver_destroy(&receiver);
}

static void test_slow_receiver_does_not_block_others(void **state)
{
    ls_store_t *store = *state;
    webhook_receiver_t *slow = webhook_receiver_new();
    webhook_receiver_t *fast = webhook_receiver_new();
    assert_non_null(slow);
    assert_non_null(fast);
    const int delay_ms = 5000; /* the fast one's ten are done long before, even loaded */
    webhook_receiver_delay(slow, delay_ms);
    s_secret(store, "sub-a", "secret-a");
    s_secret(store, "sub-b", "secret-b");
    /* The slow receiver's deliveries are due first, so they are met first. */
    int64_t now = ls_now_ms();
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "a-%d", i);
        s_enqueue_at(store, id, webhook_receiver_url(slow), "sub-a", "{}", now - 100 + i);
    }
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "b-%d", i);
        s_enqueue_at(store, id, webhook_receiver_url(fast), "sub-b", "{}", now - 50 + i);
    }
    ls_config_t config;
    s_config(&config);
    config.webhook_timeout_ms = 10000;
    config.webhook_concurrency = 16;
    config.webhook_per_host = 2;
    int64_t start = ls_mono_ms();
    webhook_t *webhook = webhook_new(&config);
    assert_non_null(webhook);
    S_AWAIT(webhook_receiver_accepted(fast, NULL) == 10, S_WAIT_MS);
    int64_t fast_done = ls_mono_ms() - start;
    size_t slow_answered = webhook_receiver_answered(slow);
    size_t slow_received = webhook_receiver_count(slow);
    size_t slow_pending = 0;
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "a-%d", i);
        slow_pending += s_pending(store, id);
    }
    int64_t stop_start = ls_mono_ms();
    webhook_destroy(&webhook);
    int64_t stop_ms = ls_mono_ms() - stop_start;

    assert_int_equal(webhook_receiver_accepted(fast, NULL), 10);
    /* The fast receiver was done before the slow one answered its first pair. */
    assert_true(fast_done < delay_ms);
    assert_true(slow_answered <= 2);
    assert_true(slow_pending >= 8);
    assert_true(slow_received <= slow_answered + 2);
    assert_int_equal(webhook_receiver_max_concurrent(slow), 2); /* the per-host cap */
    assert_true(webhook_receiver_max_concurrent(fast) <= 2);
    assert_true(stop_ms < 1000); /* in-flight requests are abandoned, not awaited */
    webhook_receiver_destroy(&slow);
    webhook_receiver_destroy(&fast);
}

static void test_restart_resends_abandoned_delivery(void **state)
{
    ls_store_t *store = *state;
    webhook_receiver_t *receiver = webhook_receiver_new();
    assert_non_null(receiver);
    webhook_receiver_delay(receiver, 3000);
    s_secret(store, "sub-1", "secret-1");
    assert_int_equal(s_enqueue(store, "d-restart", webhook_receiver_url(receiver), "sub-1", "{}"),
                     1);
    /* Timeout 1 s: the lease ends 6 s after the claim. */
    ls_config_t config;
    s_config(&config);
    config.webhook_timeout_ms = 1000;
    webhook_t *webhook = webhook_new(&config);
    assert_non_null(webhook);
    S_AWAIT(webhook_receiver_count(receiver) == 1, S_WAIT_MS);
    assert_int_equal(webhook_receiver_count(receiver), 1);
    webhook_stats_t stats;
    webhook_stats(webhook, &stats);
    assert_int_equal(stats.in_flight, 1);
    webhook_destroy(&webhook);

    /* Abandoned while leased: still queued, due only at the lease end. */
    assert_true(s_pending(store, "d-restart"));
    assert_true(s_due_score(store, "d-restart") > (double)(ls_now_ms() + 3000));
    s_assert_index(store); /* the origin is indexed at the lease end */
    webhook_receiver_delay(receiver, 0);
    webhook = webhook_new(&config);
    assert_non_null(webhook);
    S_AWAIT(s_gone(store, "d-restart"), 15000);
    assert_true(s_gone(store, "d-restart"));
    webhook_destroy(&webhook);

    /* At least once: maybe twice, never lost; one distinct id to de-duplicate. */
    assert_true(webhook_receiver_count(receiver) >= 2);
    assert_int_equal(webhook_receiver_distinct(receiver), 1);
    webhook_received_t first, second;
    assert_int_equal(webhook_receiver_get(receiver, 0, &first), 0);
    assert_int_equal(webhook_receiver_get(receiver, 1, &second), 0);
    assert_string_equal(first.id, "d-restart");
    assert_true(second.at_ms - first.at_ms >= 5000); /* not before the lease ran out */
    webhook_receiver_destroy(&receiver);
}

static void test_duplicate_enqueue_and_deleted_subscription(void **state)
{
    ls_store_t *store = *state;
    webhook_receiver_t *receiver = webhook_receiver_new();
    assert_non_null(receiver);
    const char *url = webhook_receiver_url(receiver);
    s_secret(store, "sub-1", "secret-1");
    assert_int_equal(s_enqueue(store, "d-dup", url, "sub-1", "{\"v\":1}"), 1);
    assert_int_equal(s_enqueue(store, "d-dup", url, "sub-1", "{\"v\":2}"), 0); /* replayed batch */
    assert_int_equal(s_due_count(store), 1);
    /* sub-gone has no secret: the subscription was deleted. */
    assert_int_equal(s_enqueue(store, "d-orphan", url, "sub-gone", "{}"), 1);
    ls_config_t config;
    s_config(&config);
    webhook_t *webhook = webhook_new(&config);
    assert_non_null(webhook);
    S_AWAIT(s_gone(store, "d-dup") && s_gone(store, "d-orphan"), S_WAIT_MS);
    zclock_sleep(200); /* room for a wrong second delivery to show */
    webhook_stats_t stats;
    webhook_stats(webhook, &stats);
    webhook_destroy(&webhook);

    assert_true(s_gone(store, "d-dup"));
    assert_true(s_gone(store, "d-orphan"));
    assert_false(s_dead(store, "d-orphan"));
    assert_int_equal(webhook_receiver_count(receiver), 1);
    webhook_received_t r;
    assert_int_equal(webhook_receiver_get(receiver, 0, &r), 0);
    assert_string_equal(r.id, "d-dup");
    assert_string_equal(r.body, "{\"v\":1}");
    assert_int_equal(stats.delivered, 1);
    assert_int_equal(stats.dropped, 1);
    webhook_receiver_destroy(&receiver);
}

static void test_malformed_delivery_is_a_dead_letter(void **state)
{
    ls_store_t *store = *state;
    webhook_receiver_t *receiver = webhook_receiver_new();
    assert_non_null(receiver);
    s_secret(store, "sub-1", "secret-1");
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)ls_now_ms());
    /* A delivery that lost its url and body, queued for some origin. */
    redisReply *reply =
        ls_store_command(store, "HSET %sd-bad sub sub-1 nid n-1 attempts 0", LS_KEY_WEBHOOK);
    freeReplyObject(reply);
    reply = ls_store_command(store, "ZADD %shttp://127.0.0.1:9 %s d-bad", LS_KEY_WEBHOOK_DUE, now);
    freeReplyObject(reply);
    reply = ls_store_command(store, "ZADD %s %s http://127.0.0.1:9", LS_KEY_WEBHOOK_NEXT, now);
    freeReplyObject(reply);
    assert_int_equal(s_enqueue(store, "d-ftp", "ftp://127.0.0.1/x", "sub-1", "{}"), 1);
    assert_int_equal(s_enqueue(store, "d-good", webhook_receiver_url(receiver), "sub-1", "{}"), 1);
    ls_config_t config;
    s_config(&config);
    webhook_t *webhook = webhook_new(&config);
    assert_non_null(webhook);
    S_AWAIT(s_dead(store, "d-bad") && s_dead(store, "d-ftp") && s_gone(store, "d-good"), S_WAIT_MS);
    webhook_destroy(&webhook);

    assert_true(s_dead(store, "d-bad"));
    assert_true(s_dead(store, "d-ftp"));
    assert_true(s_gone(store, "d-good"));
    char error[128];
    s_field(store, "d-bad", "error", error, sizeof error);
    assert_string_equal(error, "malformed delivery: no url, body");
    s_field(store, "d-ftp", "error", error, sizeof error);
    assert_string_equal(error, "invalid URL (http or https only)");
    assert_int_equal(webhook_receiver_count(receiver), 1);
    webhook_receiver_destroy(&receiver);
}

/* A slow receiver at its cap with 200 deliveries waiting: delivering to a fast
 * receiver meanwhile costs Redis a few commands each, not a pass over the slow
 * receiver's queue (which cost hundreds with the single due set). */
static void test_cost_is_constant_behind_a_slow_backlog(void **state)
{
    ls_store_t *store = *state;
    webhook_receiver_t *slow = webhook_receiver_new();
    webhook_receiver_t *fast = webhook_receiver_new();
    assert_non_null(slow);
    assert_non_null(fast);
    webhook_receiver_delay(slow, 5000);
    s_secret(store, "sub-a", "secret-a");
    s_secret(store, "sub-b", "secret-b");
    int64_t now = ls_now_ms();
    for (int i = 0; i < 200; i++) {
        char id[16];
        snprintf(id, sizeof id, "a-%d", i);
        s_enqueue_at(store, id, webhook_receiver_url(slow), "sub-a", "{}", now - 1000 + i);
    }
    ls_config_t config;
    s_config(&config);
    config.webhook_timeout_ms = 10000;
    config.webhook_concurrency = 8;
    config.webhook_per_host = 2;
    webhook_t *webhook = webhook_new(&config);
    assert_non_null(webhook);
    S_AWAIT(webhook_receiver_count(slow) == 2, S_WAIT_MS);
    assert_int_equal(webhook_receiver_count(slow), 2);

    /* Due shortly, so that the count below starts before they are claimed. */
    const int n = 20;
    int64_t due = ls_now_ms() + 200;
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "b-%d", i);
        s_enqueue_at(store, id, webhook_receiver_url(fast), "sub-b", "{}", due);
    }
    long long before = s_commands(store);
    size_t accepted_before = webhook_receiver_accepted(fast, NULL);
    webhook_stats_t stats;
    S_AWAIT((webhook_stats(webhook, &stats), stats.delivered == (uint64_t)n), S_WAIT_MS);
    zclock_sleep(50); /* the last outcome's Lua step */
    long long after = s_commands(store);
    size_t delivered = webhook_receiver_accepted(fast, NULL) - accepted_before;
    size_t slow_received = webhook_receiver_count(slow);
    webhook_destroy(&webhook);

    assert_int_equal(webhook_receiver_accepted(fast, NULL), n);
    assert_true(delivered >= (size_t)n / 2);
    double per = (double)(after - before - 1) / (double)delivered; /* less this INFO */
    print_message("  %lld Redis commands for %zu deliveries: %.1f each\n", after - before - 1,
                  delivered, per);
    assert_true(per < 10);
    assert_int_equal(slow_received, 2);
    assert_int_equal(webhook_receiver_max_concurrent(slow), 2);
    assert_true(webhook_receiver_max_concurrent(fast) <= 2);
    assert_int_equal(s_due_count(store), 200); /* the slow ones: 2 leased, 198 waiting */
    webhook_receiver_destroy(&slow);
    webhook_receiver_destroy(&fast);
}

/* Three receivers, the slots for fewer requests than they could take, and the
 * first receiver's deliveries all older: the slots are shared, so the others do
 * not wait for the first's whole queue. */
static void test_origins_share_the_slots(void **state)
{
    ls_store_t *store = *state;
    enum { S_ORIGINS = 3, S_EACH = 8 };
    webhook_receiver_t *receivers[S_ORIGINS];
    s_secret(store, "sub-1", "secret-1");
    int64_t now = ls_now_ms();
    for (int r = 0; r < S_ORIGINS; r++) {
        receivers[r] = webhook_receiver_new();
        assert_non_null(receivers[r]);
        webhook_receiver_delay(receivers[r], 300);
        for (int i = 0; i < S_EACH; i++) {
            char id[16];
            snprintf(id, sizeof id, "o%d-%d", r, i);
            s_enqueue_at(store, id, webhook_receiver_url(receivers[r]), "sub-1", "{}",
                         now - 1000 + r * 100 + i);
        }
    }
    ls_config_t config;
    s_config(&config);
    config.webhook_concurrency = 4;
    config.webhook_per_host = 4;
    webhook_t *webhook = webhook_new(&config);
    assert_non_null(webhook);
    S_AWAIT(webhook_receiver_count(receivers[1]) > 0 && webhook_receiver_count(receivers[2]) > 0,
            S_WAIT_MS);
    size_t first_received = webhook_receiver_count(receivers[0]);
    S_AWAIT(webhook_receiver_accepted(receivers[0], NULL) == S_EACH &&
                webhook_receiver_accepted(receivers[1], NULL) == S_EACH &&
                webhook_receiver_accepted(receivers[2], NULL) == S_EACH,
            4 * S_WAIT_MS);
    /* The receivers have answered; the thread records the last outcomes a moment
     * later (slower under valgrind). */
    webhook_stats_t stats;
    S_AWAIT((webhook_stats(webhook, &stats), stats.delivered == S_ORIGINS * S_EACH), S_WAIT_MS);
    webhook_destroy(&webhook);

    /* Served before the first receiver's first four requests were answered. */
    assert_true(webhook_receiver_count(receivers[1]) > 0);
    assert_true(webhook_receiver_count(receivers[2]) > 0);
    assert_true(first_received <= 4);
    unsigned most = 0;
    for (int r = 0; r < S_ORIGINS; r++) {
        assert_int_equal(webhook_receiver_accepted(receivers[r], NULL), S_EACH);
        most += webhook_receiver_max_concurrent(receivers[r]);
    }
    assert_true(most <= 3 * 4);
    assert_int_equal(stats.delivered, S_ORIGINS * S_EACH);
    assert_int_equal(s_due_count(store), 0);
    for (int r = 0; r < S_ORIGINS; r++)
        webhook_receiver_destroy(&receivers[r]);
}

/* What an earlier version queued: a delivery in the single due set ls:wh:due and a
 * dead letter whose hash names no origin. Both reach the receiver. */
static void test_queue_of_an_earlier_version(void **state)
{
    ls_store_t *store = *state;
    webhook_receiver_t *receiver = webhook_receiver_new();
    assert_non_null(receiver);
    const char *url = webhook_receiver_url(receiver);
    s_secret(store, "sub-1", "secret-1");
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)ls_now_ms());
    redisReply *reply = ls_store_command(
        store, "HSET %sd-old url %s sub sub-1 nid n-old body {} attempts 0 first %s",
        LS_KEY_WEBHOOK, url, now);
    freeReplyObject(reply);
    reply = ls_store_command(store, "ZADD %s %s d-old", LS_KEY_WEBHOOK_DUE_LEGACY, now);
    freeReplyObject(reply);
    reply = ls_store_command(
        store, "HSET %sd-old-dead url %s sub sub-1 nid n-od body {} attempts 3 error x first %s",
        LS_KEY_WEBHOOK, url, now);
    freeReplyObject(reply);
    reply = ls_store_command(store, "ZADD %s %s d-old-dead", LS_KEY_WEBHOOK_DEAD, now);
    freeReplyObject(reply);

    ls_config_t config;
    s_config(&config);
    webhook_t *webhook = webhook_new(&config);
    assert_non_null(webhook);
    S_AWAIT(s_gone(store, "d-old"), S_WAIT_MS);
    assert_true(s_gone(store, "d-old"));
    assert_int_equal(s_integer(store, "EXISTS %s", LS_KEY_WEBHOOK_DUE_LEGACY, NULL), 0);

    assert_int_equal(webhook_dead_replay(store, "sub-1", NULL, 0, ls_now_ms()), 1);
    char origin[WEBHOOK_ORIGIN_MAX], stored[WEBHOOK_ORIGIN_MAX];
    assert_int_equal(webhook_origin(url, origin, sizeof origin), 0);
    s_field(store, "d-old-dead", "origin", stored, sizeof stored);
    assert_string_equal(stored, origin);
    S_AWAIT(s_gone(store, "d-old-dead"), S_WAIT_MS);
    assert_true(s_gone(store, "d-old-dead"));
    webhook_destroy(&webhook);

    assert_int_equal(webhook_receiver_accepted(receiver, "d-old"), 1);
    assert_int_equal(webhook_receiver_accepted(receiver, "d-old-dead"), 1);
    webhook_receiver_destroy(&receiver);
}

static void test_origin(void **state)
{
    (void)state;
    char out[WEBHOOK_ORIGIN_MAX];
    assert_int_equal(webhook_origin("https://Agency.Example/hook?x=1", out, sizeof out), 0);
    assert_string_equal(out, "https://agency.example:443");
    assert_int_equal(webhook_origin("http://127.0.0.1:8080/a", out, sizeof out), 0);
    assert_string_equal(out, "http://127.0.0.1:8080");
    assert_int_equal(webhook_origin("ftp://127.0.0.1/x", out, sizeof out), -1);
    assert_int_equal(webhook_origin("not a url", out, sizeof out), -1);
    assert_int_equal(webhook_origin("http://127.0.0.1:8080/a", out, 8), -1); /* does not fit */
}

int main(void)
{
    s_redis = ls_test_redis_start(NULL, s_url, sizeof s_url);
    if (!s_redis) {
        fprintf(stderr, "cannot start redis-server\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_known_vector),
        cmocka_unit_test(test_origin),
        cmocka_unit_test_setup_teardown(test_signature_on_the_wire, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_failures, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_dead_letters_and_replay, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_slow_receiver_does_not_block_others, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_cost_is_constant_behind_a_slow_backlog, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_origins_share_the_slots, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_restart_resends_abandoned_delivery, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_enqueue_and_deleted_subscription, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_delivery_is_a_dead_letter, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_queue_of_an_earlier_version, s_setup, s_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    ls_test_stop(&s_redis);
    return failed;
}
