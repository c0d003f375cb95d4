/* test_webhook.c — webhook delivery against a private redis-server and real HTTP
 * receivers on loopback: signatures, retry after failures, dead letters and their
 * replay, a slow receiver not holding back others, redelivery after a worker stops
 * mid-request, duplicate enqueues, deleted subscriptions and malformed deliveries. */
#include "harness.h"

#include <czmq.h>
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
static char s_url[64];

static ls_script_t s_enqueue_script = LS_SCRIPT(
    WEBHOOK_LUA "return webhook_enqueue(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])\n");

/* A configuration with short delays: back-off 20 ms doubling to 200 ms. */
static void s_config(ls_config_t *config)
{
    char err[256];
    assert_int_equal(ls_config_load(config, err, sizeof err), 0);
    snprintf(config->redis_url, sizeof config->redis_url, "%s", s_url);
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
    char nid[64], now_text[24];
    snprintf(nid, sizeof nid, "n-%s", id);
    snprintf(now_text, sizeof now_text, "%lld", (long long)now_ms);
    const char *argv[] = {id, url, sub, nid, body, now_text};
    redisReply *reply = ls_store_eval(store, &s_enqueue_script, 0, 6, argv, NULL);
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

static bool s_gone(ls_store_t *store, const char *id)
{
    return !s_pending(store, id) && s_score(store, LS_KEY_WEBHOOK_DUE, id) < 0;
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
    char err[256];
    ls_store_t *store = ls_store_new(s_url, 2000, err, sizeof err);
    assert_non_null(store);
    redisReply *reply = ls_store_command(store, "FLUSHALL");
    freeReplyObject(reply);
    *state = store;
    return 0;
}

static int s_teardown(void **state)
{
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
    assert_true(s_score(store, LS_KEY_WEBHOOK_DUE, "d-500") < 0);
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
    webhook_stats_t stats;
    webhook_stats(webhook, &stats);
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
    assert_int_equal((int64_t)s_score(store, LS_KEY_WEBHOOK_DUE, "d-500"), now);

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
    webhook_stats(webhook, &stats);
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
    const int delay_ms = 2000;
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
    config.webhook_timeout_ms = 5000;
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
    assert_true(s_score(store, LS_KEY_WEBHOOK_DUE, "d-restart") > (double)(ls_now_ms() + 3000));
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
    assert_int_equal(s_integer(store, "ZCARD %s", LS_KEY_WEBHOOK_DUE, NULL), 1);
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
    redisReply *reply =
        ls_store_command(store, "HSET %sd-bad sub sub-1 nid n-1 attempts 0", LS_KEY_WEBHOOK);
    freeReplyObject(reply);
    reply = ls_store_command(store, "ZADD %s %s d-bad", LS_KEY_WEBHOOK_DUE, now);
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

int main(void)
{
    s_redis = ls_test_redis_start(NULL, s_url, sizeof s_url);
    if (!s_redis) {
        fprintf(stderr, "cannot start redis-server\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_known_vector),
        cmocka_unit_test_setup_teardown(test_signature_on_the_wire, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_failures, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_dead_letters_and_replay, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_slow_receiver_does_not_block_others, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_restart_resends_abandoned_delivery, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_enqueue_and_deleted_subscription, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_delivery_is_a_dead_letter, s_setup,
                                        s_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    ls_test_stop(&s_redis);
    return failed;
}
