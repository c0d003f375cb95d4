/* test_follower.c — the journal follower against a real redis-server: in-order
 * delivery, duplicates, gaps filled from the stream, out-of-order arrival,
 * heartbeats, a lost last message, restart from the checkpoint, and retry after a
 * failed apply. */
#include "harness.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "ls_follower.h"
#include "ls_journal.h"
#include "ls_store.h"

#define S_CHECKPOINT "ls:checkpoint:test"
#define S_MAX 64

static ls_test_proc_t *s_redis;
static char s_url[64];

typedef struct {
    uint64_t applied[S_MAX];
    size_t count;
    uint64_t fail_at; /* apply of this seq fails once */
    int delay_ms;     /* each apply takes this long */
    char payloads[S_MAX][16];
} s_log_t;

static int s_apply(ls_follower_t *follower, uint64_t seq, const uint8_t *payload, size_t len,
                   void *arg)
{
    s_log_t *log = arg;
    if (seq == log->fail_at) {
        log->fail_at = 0;
        return -1;
    }
    assert_true(log->count < S_MAX);
    if (log->delay_ms)
        zclock_sleep(log->delay_ms);
    log->applied[log->count] = seq;
    snprintf(log->payloads[log->count], sizeof log->payloads[0], "%.*s", (int)len, payload);
    log->count++;
    return ls_follower_commit(follower, seq);
}

static ls_script_t s_append =
    LS_SCRIPT(LS_JOURNAL_LUA "return journal_append(KEYS[1], KEYS[2], ARGV[1])\n");

/* Appends "e<n>" entries until the journal's latest is `upto`. */
static void s_append_upto(ls_store_t *store, uint64_t upto)
{
    uint64_t latest = 0;
    assert_int_equal(ls_journal_latest(store, &LS_JOURNAL_CHANGES, &latest), 0);
    for (uint64_t n = latest + 1; n <= upto; n++) {
        char payload[16];
        snprintf(payload, sizeof payload, "e%llu", (unsigned long long)n);
        const char *argv[] = {LS_JOURNAL_CHANGES.stream, LS_JOURNAL_CHANGES.seq_key, payload};
        redisReply *reply = ls_store_eval(store, &s_append, 2, 3, argv, NULL);
        assert_non_null(reply);
        assert_int_equal(reply->type, REDIS_REPLY_INTEGER);
        assert_int_equal(reply->integer, (long long)n);
        freeReplyObject(reply);
    }
}

static void s_live(ls_follower_t *f, uint64_t seq)
{
    char payload[16];
    snprintf(payload, sizeof payload, "e%llu", (unsigned long long)seq);
    assert_int_equal(ls_follower_on_entry(f, seq, (const uint8_t *)payload, strlen(payload)), 0);
}

static void s_expect(const s_log_t *log, const uint64_t *seqs, size_t n)
{
    assert_int_equal(log->count, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(log->applied[i], seqs[i]);
        char want[16];
        snprintf(want, sizeof want, "e%llu", (unsigned long long)seqs[i]);
        assert_string_equal(log->payloads[i], want);
    }
}

static int s_setup(void **state)
{
    *state = ls_test_store_flushed(s_url);
    return 0;
}

static int s_teardown(void **state)
{
    ls_store_destroy((ls_store_t **)state);
    return 0;
}

static void test_in_order_and_duplicates(void **state)
{
    ls_store_t *store = *state;
    s_log_t log = {0};
    ls_follower_t *f = ls_follower_new(store, &LS_JOURNAL_CHANGES, S_CHECKPOINT, s_apply, &log);
    assert_int_equal(ls_follower_start(f), 0);
    s_append_upto(store, 3);
    s_live(f, 1);
    s_live(f, 2);
    s_live(f, 3);
    s_live(f, 2); /* a duplicate */
    s_live(f, 3);
    const uint64_t want[] = {1, 2, 3};
    s_expect(&log, want, 3);
    assert_int_equal(ls_follower_duplicates(f), 2);
    assert_int_equal(ls_follower_position(f), 3);
    uint64_t checkpoint = 0;
    assert_int_equal(ls_store_get_u64(store, S_CHECKPOINT, &checkpoint), 0);
    assert_int_equal(checkpoint, 3);
    ls_follower_destroy(&f);
    ls_follower_destroy(&f); /* safe twice */
}

static void test_gap_is_filled_from_the_stream(void **state)
{
    ls_store_t *store = *state;
    s_log_t log = {0};
    ls_follower_t *f = ls_follower_new(store, &LS_JOURNAL_CHANGES, S_CHECKPOINT, s_apply, &log);
    assert_int_equal(ls_follower_start(f), 0);
    s_append_upto(store, 7);
    s_live(f, 1);
    s_live(f, 7); /* 2..6 were lost on the wire */
    const uint64_t want[] = {1, 2, 3, 4, 5, 6, 7};
    s_expect(&log, want, 7);
    assert_int_equal(ls_follower_gaps_filled(f), 5);
    ls_follower_destroy(&f);
}

static void test_out_of_order_applies_each_once(void **state)
{
    ls_store_t *store = *state;
    s_log_t log = {0};
    ls_follower_t *f = ls_follower_new(store, &LS_JOURNAL_CHANGES, S_CHECKPOINT, s_apply, &log);
    assert_int_equal(ls_follower_start(f), 0);
    s_append_upto(store, 4);
    s_live(f, 2);
    s_live(f, 1);
    s_live(f, 4);
    s_live(f, 3);
    const uint64_t want[] = {1, 2, 3, 4};
    s_expect(&log, want, 4);
    assert_int_equal(ls_follower_duplicates(f), 2);
    ls_follower_destroy(&f);
}

static void test_heartbeat_and_tick_notice_lost_last_message(void **state)
{
    ls_store_t *store = *state;
    s_log_t log = {0};
    ls_follower_t *f = ls_follower_new(store, &LS_JOURNAL_CHANGES, S_CHECKPOINT, s_apply, &log);
    assert_int_equal(ls_follower_start(f), 0);
    s_append_upto(store, 2);
    assert_int_equal(ls_follower_on_heartbeat(f, 2), 0); /* no live message at all */
    assert_int_equal(log.count, 2);
    s_append_upto(store, 3);
    assert_int_equal(ls_follower_tick(f), 0); /* not even a heartbeat */
    const uint64_t want[] = {1, 2, 3};
    s_expect(&log, want, 3);
    assert_int_equal(ls_follower_known_latest(f), 3);
    ls_follower_destroy(&f);
}

static void test_restart_resumes_after_checkpoint(void **state)
{
    ls_store_t *store = *state;
    s_log_t log = {0};
    ls_follower_t *f = ls_follower_new(store, &LS_JOURNAL_CHANGES, S_CHECKPOINT, s_apply, &log);
    assert_int_equal(ls_follower_start(f), 0);
    s_append_upto(store, 3);
    s_live(f, 1);
    s_live(f, 2);
    s_live(f, 3);
    ls_follower_destroy(&f); /* the process dies */
    s_append_upto(store, 5); /* written while it was down */

    s_log_t after = {0};
    f = ls_follower_new(store, &LS_JOURNAL_CHANGES, S_CHECKPOINT, s_apply, &after);
    assert_int_equal(ls_follower_start(f), 0);
    const uint64_t want[] = {4, 5};
    s_expect(&after, want, 2);
    s_live(f, 5); /* the live copy of 5 arrives late: a duplicate */
    assert_int_equal(after.count, 2);
    ls_follower_destroy(&f);
}

static void test_failed_apply_is_retried_once(void **state)
{
    ls_store_t *store = *state;
    s_log_t log = {.fail_at = 2};
    ls_follower_t *f = ls_follower_new(store, &LS_JOURNAL_CHANGES, S_CHECKPOINT, s_apply, &log);
    assert_int_equal(ls_follower_start(f), 0);
    s_append_upto(store, 3);
    s_live(f, 1);
    assert_int_equal(ls_follower_on_entry(f, 2, (const uint8_t *)"e2", 2), -1);
    assert_int_equal(ls_follower_position(f), 1);
    s_live(f, 3); /* a gap now: filled, 2 applied before 3 */
    const uint64_t want[] = {1, 2, 3};
    s_expect(&log, want, 3);
    ls_follower_destroy(&f);
}

static void test_wire_messages(void **state)
{
    ls_store_t *store = *state;
    s_log_t log = {0};
    ls_follower_t *f = ls_follower_new(store, &LS_JOURNAL_CHANGES, S_CHECKPOINT, s_apply, &log);
    assert_int_equal(ls_follower_start(f), 0);
    s_append_upto(store, 3);
    zsock_t *pull = zsock_new_pull("inproc://follower-test");
    zsock_t *push = zsock_new_push(">inproc://follower-test");
    assert_int_equal(ls_journal_send(push, &LS_JOURNAL_CHANGES, 1, "e1", 2), 0);
    assert_int_equal(ls_journal_send(push, &LS_JOURNAL_MATCHES, 2, "xx", 2), 0); /* other topic */
    assert_int_equal(ls_journal_send_heartbeat(push, &LS_JOURNAL_CHANGES, 3), 0);
    zstr_sendx(push, "changes", "short", NULL); /* malformed: seq is not 8 bytes */
    for (int i = 0; i < 4; i++) {
        zmsg_t *msg = zmsg_recv(pull);
        assert_non_null(msg);
        assert_int_equal(ls_follower_on_message(f, msg), 0);
        zmsg_destroy(&msg);
    }
    const uint64_t want[] = {1, 2, 3};
    s_expect(&log, want, 3);
    zsock_destroy(&push);
    zsock_destroy(&pull);
    ls_follower_destroy(&f);
}

static void test_backlog_is_worked_off_in_bounded_steps(void **state)
{
    ls_store_t *store = *state;
    s_append_upto(store, 10);
    s_log_t log = {.delay_ms = 20};
    ls_follower_t *f = ls_follower_new(store, &LS_JOURNAL_CHANGES, S_CHECKPOINT, s_apply, &log);
    /* start applies what fits in one budget (50 ms): a few, not all ten. */
    assert_int_equal(ls_follower_start(f), 0);
    assert_true(log.count >= 1 && log.count < 10);
    int ticks = 0, rc;
    while ((rc = ls_follower_tick(f)) == 1)
        ticks++;
    assert_int_equal(rc, 0);
    assert_true(ticks >= 1);
    const uint64_t want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    s_expect(&log, want, 10);
    ls_follower_destroy(&f);
}

/* Batch mode: entries come to the batch function in order, several at a time. */
typedef struct {
    s_log_t log;
    size_t batches;
    size_t largest;
    bool fail_next;
} s_batch_log_t;

static int s_apply_batch(ls_follower_t *follower, const ls_follower_entry_t *entries, size_t count,
                         void *arg)
{
    s_batch_log_t *b = arg;
    if (b->fail_next) {
        b->fail_next = false;
        return -1;
    }
    assert_true(count >= 1);
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            assert_int_equal(entries[i].seq, entries[i - 1].seq + 1);
        assert_true(b->log.count < S_MAX);
        b->log.applied[b->log.count] = entries[i].seq;
        snprintf(b->log.payloads[b->log.count], sizeof b->log.payloads[0], "%.*s",
                 (int)entries[i].len, entries[i].payload);
        b->log.count++;
    }
    b->batches++;
    if (count > b->largest)
        b->largest = count;
    return ls_follower_commit(follower, entries[count - 1].seq);
}

static void test_batch_mode_holds_live_entries_until_flush(void **state)
{
    ls_store_t *store = *state;
    s_batch_log_t b = {0};
    ls_follower_t *f = ls_follower_new(store, &LS_JOURNAL_CHANGES, S_CHECKPOINT, NULL, &b);
    ls_follower_set_batch(f, s_apply_batch, 4);
    assert_int_equal(ls_follower_start(f), 0);
    s_append_upto(store, 10);
    s_live(f, 1);
    s_live(f, 2);
    s_live(f, 2); /* a duplicate of a held entry */
    s_live(f, 3);
    assert_int_equal(b.log.count, 0); /* held */
    assert_int_equal(ls_follower_position(f), 0);
    assert_int_equal(ls_follower_flush(f), 0);
    assert_int_equal(b.batches, 1);
    assert_int_equal(ls_follower_position(f), 3);
    for (uint64_t seq = 4; seq <= 8; seq++)
        s_live(f, seq); /* 4..7 fill a batch of 4 and go at once; 8 is held */
    assert_int_equal(b.batches, 2);
    assert_int_equal(ls_follower_position(f), 7);
    s_live(f, 10); /* a gap: 8 held, 9 from the stream, then 10 held */
    assert_int_equal(ls_follower_flush(f), 0);
    const uint64_t want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    s_expect(&b.log, want, 10);
    assert_int_equal(ls_follower_duplicates(f), 1);
    assert_true(b.largest <= 4);
    uint64_t checkpoint = 0;
    assert_int_equal(ls_store_get_u64(store, S_CHECKPOINT, &checkpoint), 0);
    assert_int_equal(checkpoint, 10);
    ls_follower_destroy(&f);
}

static void test_batch_mode_catches_up_in_batches_and_retries(void **state)
{
    ls_store_t *store = *state;
    s_append_upto(store, 20);
    s_batch_log_t b = {.fail_next = true};
    ls_follower_t *f = ls_follower_new(store, &LS_JOURNAL_CHANGES, S_CHECKPOINT, NULL, &b);
    ls_follower_set_batch(f, s_apply_batch, 8);
    assert_int_equal(ls_follower_start(f), -1); /* the first batch failed */
    assert_int_equal(b.log.count, 0);
    assert_int_equal(ls_follower_tick(f), 0); /* retried: the whole backlog */
    const uint64_t want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
    s_expect(&b.log, want, 20);
    assert_int_equal(b.batches, 3); /* 8 + 8 + 4 */
    assert_int_equal(b.largest, 8);
    s_live(f, 20); /* already applied */
    assert_int_equal(ls_follower_duplicates(f), 1);
    ls_follower_destroy(&f);
}

static void test_batch_mode_full_batch_that_failed_is_retried_first(void **state)
{
    ls_store_t *store = *state;
    s_batch_log_t b = {0};
    ls_follower_t *f = ls_follower_new(store, &LS_JOURNAL_CHANGES, S_CHECKPOINT, NULL, &b);
    ls_follower_set_batch(f, s_apply_batch, 2);
    assert_int_equal(ls_follower_start(f), 0);
    s_append_upto(store, 3);
    s_live(f, 1);
    b.fail_next = true;
    /* 2 fills the batch, whose apply fails: both stay held. */
    assert_int_equal(ls_follower_on_entry(f, 2, (const uint8_t *)"e2", 2), -1);
    assert_int_equal(b.log.count, 0);
    s_live(f, 3); /* the full batch goes first, then 3 is held */
    assert_int_equal(ls_follower_flush(f), 0);
    const uint64_t want[] = {1, 2, 3};
    s_expect(&b.log, want, 3);
    assert_int_equal(b.largest, 2);
    ls_follower_destroy(&f);
}

static long long s_first_entry(ls_store_t *store)
{
    redisReply *r = ls_store_command(store, "XRANGE %s - + COUNT 1", LS_JOURNAL_CHANGES.stream);
    long long first = r->elements ? atoll(r->element[0]->element[0]->str) : 0;
    freeReplyObject(r);
    return first;
}

/* Trimming keeps every entry after the slowest reader's checkpoint (and `keep`
 * below it); a registered reader without a checkpoint holds everything; with no
 * reader the last `keep` stay; a new reader over a trimmed journal starts at its
 * beginning. */
static void test_trimming_waits_for_the_slowest_reader(void **state)
{
    ls_store_t *store = *state;
    s_append_upto(store, 40);
    /* No reader registered: the last 10 stay. */
    assert_int_equal(ls_journal_trim(store, &LS_JOURNAL_CHANGES, 10), 30);
    assert_int_equal(s_first_entry(store), 31);

    s_append_upto(store, 60);
    s_log_t fast_log = {0}, slow_log = {0};
    ls_follower_t *fast =
        ls_follower_new(store, &LS_JOURNAL_CHANGES, S_CHECKPOINT, s_apply, &fast_log);
    ls_follower_t *slow =
        ls_follower_new(store, &LS_JOURNAL_CHANGES, S_CHECKPOINT "-slow", s_apply, &slow_log);
    ls_follower_set_trim(fast, 5);
    ls_follower_set_trim(slow, 5);
    /* The slow reader registers but has applied nothing: nothing may go. */
    redisReply *r = ls_store_command(store, "SET %s 30", S_CHECKPOINT "-slow");
    freeReplyObject(r);
    r = ls_store_command(store, "SADD ls:journal-readers:changes %s", S_CHECKPOINT "-slow");
    freeReplyObject(r);
    r = ls_store_command(store, "DEL %s", S_CHECKPOINT "-slow");
    freeReplyObject(r);
    assert_int_equal(ls_follower_start(fast), 0); /* a new reader: begins at 31 */
    assert_int_equal(fast_log.applied[0], 31);
    assert_int_equal(ls_follower_position(fast), 60);
    assert_int_equal(ls_follower_trim(fast), 0);
    assert_int_equal(s_first_entry(store), 31);
    /* The slow one at 45: entries up to 40 go, 41.. stay. */
    r = ls_store_command(store, "SET %s 45", S_CHECKPOINT "-slow");
    freeReplyObject(r);
    assert_int_equal(ls_follower_trim(fast), 10);
    assert_int_equal(s_first_entry(store), 41);
    /* It resumes after 45 and finds every entry it needs. */
    assert_int_equal(ls_follower_start(slow), 0);
    assert_int_equal(slow_log.count, 15);
    assert_int_equal(slow_log.applied[0], 46);
    assert_int_equal(ls_follower_trim(slow), 15); /* both at 60: 41..55 go */
    assert_int_equal(s_first_entry(store), 56);
    ls_follower_destroy(&fast);
    ls_follower_destroy(&slow);
}

int main(void)
{
    s_redis = ls_test_redis_start(NULL, s_url, sizeof s_url);
    if (!s_redis) {
        fprintf(stderr, "cannot start redis-server\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_in_order_and_duplicates, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_gap_is_filled_from_the_stream, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order_applies_each_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_and_tick_notice_lost_last_message, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_restart_resumes_after_checkpoint, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_failed_apply_is_retried_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_wire_messages, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_trimming_waits_for_the_slowest_reader, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_batch_mode_holds_live_entries_until_flush, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_batch_mode_catches_up_in_batches_and_retries, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_batch_mode_full_batch_that_failed_is_retried_first,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_backlog_is_worked_off_in_bounded_steps, s_setup,
                                        s_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    ls_test_stop(&s_redis);
    return failed;
}
