/* test_notification.c — notification with the whole pipeline and a real HTTP
 * receiver: inbox cursors and acknowledgement, filter subscriptions over postings
 * and matches, signed webhooks with retries, dead letters and replay, daily
 * digests, the inbox bound, and a notification service killed in mid-stream, or
 * stalled while a second one delivers its backlog, that loses and repeats nothing
 * (inboxes exactly once, webhooks at least once and exactly once to a receiver that
 * de-duplicates by delivery id). */
#include "harness.h"
#include "pipeline.h"
#include "webhook_receiver.h"

#include <czmq.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ls_codec.h"
#include "ls_journal.h"
#include "ls_keys.h"
#include "ls_rpc.h"
#include "ls_util.h"

#define S_SECRET "it-secret-0123456789"

/* clang-format off */
static const char *const s_extra_env[] = {
    "LODESTONE_TRUSTED_PUBLISHERS", "*",      /* tests act as other publishers */
    "LODESTONE_INBOX_MAX", "10",              /* the bound, reached by the kill test */
    "LODESTONE_DIGEST_DAY_S", "2",            /* a digest "day" of two seconds */
    "LODESTONE_WEBHOOK_ATTEMPTS", "3",
    "LODESTONE_WEBHOOK_BACKOFF_MS", "20",
    "LODESTONE_WEBHOOK_BACKOFF_MAX_MS", "200",
    "LODESTONE_WEBHOOK_TIMEOUT_MS", "2000",
    "LODESTONE_INTEREST_TTL_S", "3",          /* requests expire after 3 s ... */
    "LODESTONE_INTEREST_REMINDER_S", "2",     /* ... with a reminder after 1 s */
    "LODESTONE_INTEREST_MATERIAL_DELTA", "0.02",
    NULL};
/* clang-format on */

static int s_setup(void **state)
{
    (void)state;
    return ls_pipe_setup_with(s_extra_env);
}

/* ---------------------------------------------------------------------------
 * Requests to notification */

static ls_reply_pb *s_call(ls_envelope_pb *env, const char *publisher)
{
    env->publisher = (char *)(publisher ? publisher : "");
    ls_client_t *client = ls_pipe_client(LS_PIPE_NOTIFICATION);
    ls_reply_pb *reply = ls_client_call(client, env);
    ls_client_destroy(&client);
    assert_non_null(reply);
    return reply;
}

/* Asks publisher (NULL: the default one) to subscribe; the caller frees the reply. */
static ls_reply_pb *s_subscribe_as(ls_subscription_pb *sub, const char *publisher)
{
    Lodestone__V1__Subscribe q = LODESTONE__V1__SUBSCRIBE__INIT;
    q.subscription = sub;
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_SUBSCRIBE;
    env.subscribe = &q;
    return s_call(&env, publisher);
}

/* Subscribes (as the default publisher); returns the new id (caller frees). */
static char *s_subscribe(ls_subscription_pb *sub)
{
    ls_reply_pb *reply = s_subscribe_as(sub, NULL);
    if (reply->status->code != LODESTONE__V1__STATUS__CODE__OK)
        fail_msg("subscribe: %s", reply->status->message);
    assert_int_equal(reply->body_case, LODESTONE__V1__REPLY__BODY_SUBSCRIPTION);
    /* The secret never comes back. */
    assert_null(strstr(reply->subscription->channels->webhook_secret, S_SECRET));
    char *id = strdup(reply->subscription->id);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    return id;
}

static ls_reply_pb *s_inbox(const char *recipient, const char *since, const char *ack,
                            const char *publisher)
{
    Lodestone__V1__ReadInbox q = LODESTONE__V1__READ_INBOX__INIT;
    q.recipient = (char *)recipient;
    q.since = (char *)(since ? since : "");
    q.ack = (char *)(ack ? ack : "");
    q.limit = 1000;
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_INBOX;
    env.inbox = &q;
    return s_call(&env, publisher);
}

/* Polls recipient's inbox until it holds a notification whose id starts with
 * prefix (10 s); returns the inbox reply (caller frees). */
static ls_reply_pb *s_await_inbox(const char *recipient, const char *prefix)
{
    int64_t deadline = ls_mono_ms() + 10000;
    while (ls_mono_ms() < deadline) {
        ls_reply_pb *reply = s_inbox(recipient, NULL, NULL, NULL);
        assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__OK);
        for (size_t i = 0; i < reply->inbox->n_notifications; i++)
            if (strncmp(reply->inbox->notifications[i]->id, prefix, strlen(prefix)) == 0)
                return reply;
        lodestone__v1__reply__free_unpacked(reply, NULL);
        zclock_sleep(50);
    }
    fail_msg("no notification %s... for %s within 10 s", prefix, recipient);
    return NULL;
}

static const ls_notification_pb *s_find_note(const ls_reply_pb *reply, const char *prefix)
{
    for (size_t i = 0; i < reply->inbox->n_notifications; i++)
        if (strncmp(reply->inbox->notifications[i]->id, prefix, strlen(prefix)) == 0)
            return reply->inbox->notifications[i];
    return NULL;
}

static bool s_has_error(const ls_reply_pb *reply, const char *field)
{
    for (size_t i = 0; i < reply->status->n_errors; i++)
        if (strcmp(reply->status->errors[i]->field, field) == 0)
            return true;
    return false;
}

/* A filter subscription of recipient to the matches and/or postings of one
 * material, to its inbox, or to receiver's webhook (signed with S_SECRET) when
 * receiver is given; a test may change it further. It points into itself: build
 * it where it stays. */
typedef struct {
    ls_subscription_pb sub;
    ls_filter_pb filter;
    ls_channels_pb channels;
    char *materials[1];
} s_filter_sub_t;

static ls_subscription_pb *s_filter_sub(s_filter_sub_t *f, const char *recipient,
                                        const char *material, bool matches, bool postings,
                                        webhook_receiver_t *receiver)
{
    f->sub = (ls_subscription_pb)LODESTONE__V1__SUBSCRIPTION__INIT;
    f->filter = (ls_filter_pb)LODESTONE__V1__SUBSCRIPTION_FILTER__INIT;
    f->channels = (ls_channels_pb)LODESTONE__V1__CHANNELS__INIT;
    f->materials[0] = (char *)material;
    f->filter.matches = matches;
    f->filter.postings = postings;
    f->filter.materials = f->materials;
    f->filter.n_materials = 1;
    if (receiver) {
        f->channels.webhook_url = (char *)webhook_receiver_url(receiver);
        f->channels.webhook_secret = S_SECRET;
    } else
        f->channels.inbox = 1;
    f->sub.recipient = (char *)recipient;
    f->sub.filter = &f->filter;
    f->sub.channels = &f->channels;
    return &f->sub;
}

/* ---------------------------------------------------------------------------
 * Tests */

static void test_inbox_cursor_ack_and_access(void **state)
{
    (void)state;
    char *sme =
        ls_pipe_put_id(ls_pipe_put_sme("nt-sme-inbox", "FI1D7", "cobalt", "beneficiation", 6));
    char *opp =
        ls_pipe_put_id(ls_pipe_put_opportunity("nt-opp-inbox", "FI1D7", "cobalt", "beneficiation"));
    ls_reply_pb *reply = s_await_inbox(sme, "n-");
    const ls_notification_pb *note = s_find_note(reply, "n-");
    assert_int_equal(note->kind, LODESTONE__V1__NOTIFICATION__KIND__MATCH);
    assert_string_equal(note->recipient, sme);
    assert_string_equal(note->event->match->candidate_id, opp);
    /* The event carries both parties' facets for filters. */
    assert_string_equal(note->event->subject->region, "FI1D7");
    assert_int_equal(note->event->candidate->kind,
                     LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY);
    char *cursor = strdup(reply->inbox->next_cursor);
    uint64_t pending = reply->inbox->pending;
    assert_true(pending >= 1);
    assert_int_equal(reply->inbox->bound, 10);
    lodestone__v1__reply__free_unpacked(reply, NULL);

    /* After the cursor: nothing; acknowledging removes what it covers. */
    reply = s_inbox(sme, cursor, NULL, NULL);
    assert_int_equal(reply->inbox->n_notifications, 0);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    reply = s_inbox(sme, NULL, cursor, NULL);
    assert_string_equal(reply->inbox->acked, cursor);
    assert_int_equal(reply->inbox->pending, 0);
    assert_int_equal(reply->inbox->n_notifications, 0);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    redisReply *len = ls_store_command(ls_pipe.store, "XLEN " LS_KEY_INBOX "%s", sme);
    assert_int_equal(len->integer, 0);
    freeReplyObject(len);
    /* An older cursor does not move the acknowledgement back. */
    reply = s_inbox(sme, NULL, "1-0", NULL);
    assert_string_equal(reply->inbox->acked, cursor);
    lodestone__v1__reply__free_unpacked(reply, NULL);

    /* Bad cursors are named; another publisher may not read the inbox. */
    reply = s_inbox(sme, "yesterday", "9-x", NULL);
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__INVALID);
    assert_true(s_has_error(reply, "since"));
    assert_true(s_has_error(reply, "ack"));
    lodestone__v1__reply__free_unpacked(reply, NULL);
    reply = s_inbox(sme, NULL, NULL, "se-agency");
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__FORBIDDEN);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    reply = s_inbox(sme, NULL, NULL, "admin");
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__OK);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    free(cursor);
    free(sme);
    free(opp);
}

static void test_filter_subscription_takes_postings_and_matches(void **state)
{
    (void)state;
    char *regions[] = {"FI1D"};
    s_filter_sub_t f;
    ls_subscription_pb *sub = s_filter_sub(&f, "agency-fi1d", "nickel", true, true, NULL);
    f.filter.regions = regions;
    f.filter.n_regions = 1;
    char *id = s_subscribe(sub);

    /* A posting in Spain with nickel does not pass; one in North Karelia does. */
    char *es = ls_pipe_put_id(ls_pipe_put_opportunity("nt-opp-es", "ES41", "nickel", "refining"));
    char *fi = ls_pipe_put_id(ls_pipe_put_opportunity("nt-opp-fi", "FI1D3", "nickel", "refining"));
    ls_reply_pb *reply = s_await_inbox("agency-fi1d", "p-");
    const ls_notification_pb *note = s_find_note(reply, "p-");
    assert_int_equal(note->kind, LODESTONE__V1__NOTIFICATION__KIND__POSTING);
    assert_string_equal(note->posting->id, fi);
    assert_string_equal(note->subscription_id, id);
    assert_null(note->posting->contact); /* personal data stays out */
    char suffix[64];
    snprintf(suffix, sizeof suffix, "-%s", id);
    assert_non_null(strstr(note->id, suffix));
    for (size_t i = 0; i < reply->inbox->n_notifications; i++)
        if (reply->inbox->notifications[i]->posting)
            assert_string_not_equal(reply->inbox->notifications[i]->posting->id, es);
    lodestone__v1__reply__free_unpacked(reply, NULL);

    /* A matching SME in Lapland: the match passes too, under "n-<seq>-<sub>". */
    char *sme = ls_pipe_put_id(ls_pipe_put_sme("nt-sme-fi", "FI1D7", "nickel", "refining", 5));
    reply = s_await_inbox("agency-fi1d", "n-");
    note = s_find_note(reply, "n-");
    assert_int_equal(note->kind, LODESTONE__V1__NOTIFICATION__KIND__MATCH);
    assert_non_null(strstr(note->id, suffix));
    lodestone__v1__reply__free_unpacked(reply, NULL);

    /* A recipient name belongs to one publisher; an entity's inbox to its owner. */
    const char *taken[] = {"agency-fi1d", sme, "sme-999999"};
    for (size_t i = 0; i < 3; i++) {
        ls_subscription_pb other = *sub;
        other.recipient = (char *)taken[i];
        reply = s_subscribe_as(&other, "se-agency");
        assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__INVALID);
        assert_true(s_has_error(reply, "recipient"));
        lodestone__v1__reply__free_unpacked(reply, NULL);
    }

    /* Listing and deleting: the owner sees it, another publisher cannot delete it. */
    Lodestone__V1__ListSubscriptions list = LODESTONE__V1__LIST_SUBSCRIPTIONS__INIT;
    list.recipient = "agency-fi1d";
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_SUBSCRIPTIONS;
    env.subscriptions = &list;
    reply = s_call(&env, NULL);
    assert_int_equal(reply->subscriptions->n_subscriptions, 1);
    assert_string_equal(reply->subscriptions->subscriptions[0]->id, id);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    Lodestone__V1__Unsubscribe un = LODESTONE__V1__UNSUBSCRIBE__INIT;
    un.id = id;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_UNSUBSCRIBE;
    env.unsubscribe = &un;
    reply = s_call(&env, "se-agency");
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__FORBIDDEN);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    reply = s_call(&env, NULL);
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__OK);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    reply = s_call(&env, NULL);
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__NOT_FOUND);
    lodestone__v1__reply__free_unpacked(reply, NULL);

    /* A bad subscription gets named errors and the service keeps serving. */
    char *bad_regions[] = {"XX1"};
    f.filter.regions = bad_regions;
    f.channels.inbox = 0;
    reply = s_subscribe_as(sub, NULL);
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__INVALID);
    assert_true(s_has_error(reply, "filter.regions"));
    assert_true(s_has_error(reply, "channels"));
    lodestone__v1__reply__free_unpacked(reply, NULL);
    free(id);
    free(es);
    free(fi);
    free(sme);
}

/* An entity subscription to a webhook replaces the entity's default inbox; the
 * body is signed; failures are retried. */
static void test_webhook_signed_and_retried(void **state)
{
    (void)state;
    webhook_receiver_t *receiver = webhook_receiver_new();
    assert_non_null(receiver);
    char *sme = ls_pipe_put_id(ls_pipe_put_sme("nt-sme-hook", "SE331", "lithium", "refining", 6));
    ls_channels_pb channels = LODESTONE__V1__CHANNELS__INIT;
    channels.webhook_url = (char *)webhook_receiver_url(receiver);
    channels.webhook_secret = S_SECRET;
    ls_subscription_pb sub = LODESTONE__V1__SUBSCRIPTION__INIT;
    sub.recipient = sme;
    sub.entity_id = sme;
    sub.channels = &channels;
    char *id = s_subscribe(&sub);
    webhook_receiver_fail_next(receiver, 2, 503);
    char *opp =
        ls_pipe_put_id(ls_pipe_put_opportunity("nt-opp-hook", "SE331", "lithium", "refining"));
    int64_t deadline = ls_mono_ms() + 10000;
    while (webhook_receiver_accepted(receiver, NULL) == 0 && ls_mono_ms() < deadline)
        zclock_sleep(50);
    assert_int_equal(webhook_receiver_accepted(receiver, NULL), 1);
    assert_int_equal(webhook_receiver_count(receiver), 3); /* two failures, then accepted */
    webhook_received_t got;
    assert_int_equal(webhook_receiver_get(receiver, 2, &got), 0);
    char suffix[64];
    snprintf(suffix, sizeof suffix, "-%s", id);
    assert_true(strncmp(got.id, "n-", 2) == 0 && strstr(got.id, suffix));
    long long t = webhook_receiver_verify(got.signature, S_SECRET, got.body, got.body_len);
    assert_true(t > 0 && t <= ls_now_ms() / 1000 + 1 && t >= ls_now_ms() / 1000 - 60);
    assert_true(
        webhook_receiver_verify(got.signature, "another-secret-xyz", got.body, got.body_len) < 0);
    assert_non_null(strstr(got.body, opp));
    assert_string_equal(got.content_type, "application/json");
    /* The subscription for the entity itself replaced its default inbox. */
    ls_pipe_await_caught_up();
    redisReply *len = ls_store_command(ls_pipe.store, "XLEN " LS_KEY_INBOX "%s", sme);
    assert_int_equal(len->integer, 0);
    freeReplyObject(len);
    webhook_receiver_destroy(&receiver);
    free(id);
    free(sme);
    free(opp);
}

static ls_reply_pb *s_dead_letters(const char *sub)
{
    Lodestone__V1__ListDeadLetters q = LODESTONE__V1__LIST_DEAD_LETTERS__INIT;
    q.subscription_id = (char *)sub;
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_DEAD_LETTERS;
    env.dead_letters = &q;
    return s_call(&env, NULL);
}

static void test_dead_letters_listed_and_replayed(void **state)
{
    (void)state;
    webhook_receiver_t *receiver = webhook_receiver_new();
    assert_non_null(receiver);
    webhook_receiver_fail_always(receiver, 500);
    s_filter_sub_t f;
    char *id = s_subscribe(s_filter_sub(&f, "graphite-desk", "graphite", false, true, receiver));
    char *opp = ls_pipe_put_id(ls_pipe_put_opportunity("nt-opp-dead", "EL64", "graphite", "mets"));
    int64_t deadline = ls_mono_ms() + 10000;
    ls_reply_pb *reply = NULL;
    while (ls_mono_ms() < deadline) {
        reply = s_dead_letters(id);
        if (reply->dead_letters->n_letters > 0)
            break;
        lodestone__v1__reply__free_unpacked(reply, NULL);
        reply = NULL;
        zclock_sleep(50);
    }
    assert_non_null(reply);
    assert_int_equal(reply->dead_letters->n_letters, 1);
    const Lodestone__V1__DeadLetter *letter = reply->dead_letters->letters[0];
    assert_int_equal(letter->attempts, 3);
    assert_string_equal(letter->last_error, "HTTP 500");
    assert_string_equal(letter->subscription_id, id);
    assert_true(strncmp(letter->delivery_id, "p-", 2) == 0);
    char *delivery = strdup(letter->delivery_id);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    assert_int_equal(webhook_receiver_count(receiver), 3);

    /* Only the owner (or the admin) sees them. */
    Lodestone__V1__ListDeadLetters q = LODESTONE__V1__LIST_DEAD_LETTERS__INIT;
    q.subscription_id = id;
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_DEAD_LETTERS;
    env.dead_letters = &q;
    reply = s_call(&env, "se-agency");
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__FORBIDDEN);
    lodestone__v1__reply__free_unpacked(reply, NULL);

    /* A replay names at most 1,000 deliveries. */
    char *many[1001];
    for (size_t i = 0; i < 1001; i++)
        many[i] = "p-1-sub-1";
    Lodestone__V1__ReplayDeadLetters too_many = LODESTONE__V1__REPLAY_DEAD_LETTERS__INIT;
    too_many.subscription_id = id;
    too_many.delivery_ids = many;
    too_many.n_delivery_ids = 1001;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_REPLAY;
    env.replay = &too_many;
    reply = s_call(&env, NULL);
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__INVALID);
    assert_non_null(strstr(reply->status->message, "deliveryIds"));
    lodestone__v1__reply__free_unpacked(reply, NULL);

    /* The receiver works again: replayed, delivered, no dead letters left. */
    webhook_receiver_fail_always(receiver, 0);
    Lodestone__V1__ReplayDeadLetters replay = LODESTONE__V1__REPLAY_DEAD_LETTERS__INIT;
    replay.subscription_id = id;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_REPLAY;
    env.replay = &replay;
    reply = s_call(&env, NULL);
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__OK);
    assert_int_equal(reply->replayed->count, 1);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    deadline = ls_mono_ms() + 10000;
    while (webhook_receiver_accepted(receiver, delivery) == 0 && ls_mono_ms() < deadline)
        zclock_sleep(50);
    assert_int_equal(webhook_receiver_accepted(receiver, delivery), 1);
    reply = s_dead_letters(id);
    assert_int_equal(reply->dead_letters->n_letters, 0);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    webhook_receiver_destroy(&receiver);
    free(delivery);
    free(id);
    free(opp);
}

static void test_daily_digest_lists_the_period(void **state)
{
    (void)state;
    s_filter_sub_t f;
    ls_subscription_pb *sub = s_filter_sub(&f, "digest-reader", "vanadium", true, true, NULL);
    sub->digest = LODESTONE__V1__SUBSCRIPTION__DIGEST__DIGEST_DAILY;
    char *id = s_subscribe(sub);
    /* Start just after a period boundary, so that every event falls in one period
     * (unless the machine is slow: see below). */
    while (ls_now_ms() % 2000 > 100)
        zclock_sleep(10);
    int64_t start = ls_now_ms();
    char *opp =
        ls_pipe_put_id(ls_pipe_put_opportunity("nt-opp-digest", "ES12", "vanadium", "extraction"));
    /* The posting waits in the digest for longer than a tick (LODESTONE_HEARTBEAT_MS
     * 200): a digest sent before the period ends would hold it alone. */
    ls_pipe_await_caught_up();
    zclock_sleep(400);
    char *sme =
        ls_pipe_put_id(ls_pipe_put_sme("nt-sme-digest", "ES12", "vanadium", "extraction", 4));
    ls_pipe_await_caught_up();
    /* Each item went to the period that held the moment it was queued, all of them
     * by now: as many digests as periods that saw an item, and never one an event. */
    int64_t periods = ls_now_ms() / 2000 - start / 2000 + 1;
    ls_reply_pb *reply = NULL;
    size_t items = 0;
    int64_t deadline = ls_mono_ms() + 10000;
    while (items < 3 && ls_mono_ms() < deadline) {
        if (reply) {
            lodestone__v1__reply__free_unpacked(reply, NULL);
            zclock_sleep(50);
        }
        reply = s_inbox("digest-reader", NULL, NULL, NULL);
        items = 0;
        for (size_t i = 0; i < reply->inbox->n_notifications; i++)
            items += reply->inbox->notifications[i]->n_digest;
    }
    /* The posting and both sides' NEW matches. */
    assert_int_equal(items, 3);
    assert_true(reply->inbox->n_notifications >= 1);
    if ((int64_t)reply->inbox->n_notifications > periods)
        fail_msg("%zu digests for 3 items queued within %lld period(s)",
                 reply->inbox->n_notifications, (long long)periods);
    int postings = 0, matches = 0;
    for (size_t i = 0; i < reply->inbox->n_notifications; i++) {
        const ls_notification_pb *note = reply->inbox->notifications[i];
        assert_int_equal(note->kind, LODESTONE__V1__NOTIFICATION__KIND__DIGEST);
        assert_string_equal(note->subscription_id, id);
        assert_int_equal(strlen(note->digest_period), 10); /* YYYY-MM-DD */
        char count[32];
        snprintf(count, sizeof count, "%zu notification%s", note->n_digest,
                 note->n_digest == 1 ? "" : "s");
        assert_non_null(strstr(note->text, count));
        for (size_t k = 0; k < note->n_digest; k++) {
            postings += strcmp(note->digest[k]->opportunity_id, opp) == 0;
            matches += note->digest[k]->match != NULL;
        }
    }
    assert_int_equal(postings, 1);
    assert_int_equal(matches, 2);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    /* The period's items are gone: nothing is due any more. */
    redisReply *due = ls_store_command(ls_pipe.store, "ZSCORE " LS_KEY_DIGEST_DUE " %s", id);
    assert_int_equal(due->type, REDIS_REPLY_NIL);
    freeReplyObject(due);
    free(id);
    free(opp);
    free(sme);
}

static void test_cli_subscribes_reads_and_answers(void **state)
{
    (void)state;
    char out[8192];
    /* Usage and bad input: exit 2 for usage, 1 for what the service refuses. */
    assert_int_equal(ls_pipe_ctl("inbox", out, sizeof out), 2);
    assert_non_null(strstr(out, "usage: lodestonectl inbox"));
    assert_int_equal(ls_pipe_ctl("interest sme-1 opp-1 maybe", out, sizeof out), 2);
    assert_int_equal(
        ls_pipe_ctl("subscribe '{\"recipient\": \"x\", \"nonsense\": 1}'", out, sizeof out), 1);
    assert_non_null(strstr(out, "nonsense"));
    assert_int_equal(ls_pipe_ctl("subscribe '{\"recipient\": \"cli desk\", \"filter\": "
                                 "{\"postings\": true}, \"channels\": {\"inbox\": true}}'",
                                 out, sizeof out),
                     1);
    assert_non_null(strstr(out, "recipient"));

    /* A subscription to postings of germanium, an inbox read and acknowledged. */
    assert_int_equal(ls_pipe_ctl("subscribe '{\"recipient\": \"cli-desk\", \"filter\": "
                                 "{\"postings\": true, \"materials\": [\"germanium\"]}, "
                                 "\"channels\": {\"inbox\": true}, \"digest\": "
                                 "\"DIGEST_NONE\"}'",
                                 out, sizeof out),
                     0);
    assert_non_null(strstr(out, "\"id\":\"sub-"));
    assert_int_equal(ls_pipe_ctl("subscriptions --recipient cli-desk", out, sizeof out), 0);
    assert_non_null(strstr(out, "germanium"));
    char *opp = ls_pipe_put_id(ls_pipe_put_opportunity("nt-cli-opp", "FI1D3", "germanium", "mets"));
    lodestone__v1__reply__free_unpacked(s_await_inbox("cli-desk", "p-"), NULL);
    assert_int_equal(ls_pipe_ctl("inbox cli-desk", out, sizeof out), 0);
    assert_non_null(strstr(out, opp));
    assert_non_null(strstr(out, "1 notification; next cursor "));
    char cursor[64] = "";
    const char *at = strstr(out, "next cursor ");
    sscanf(at + strlen("next cursor "), "%63[0-9-]", cursor);
    char args[256];
    snprintf(args, sizeof args, "inbox cli-desk --ack %s", cursor);
    assert_int_equal(ls_pipe_ctl(args, out, sizeof out), 0);
    assert_non_null(strstr(out, "0 notifications"));
    assert_non_null(strstr(out, "0 pending"));
    assert_int_equal(ls_pipe_ctl("inbox cli-desk --since yesterday", out, sizeof out), 1);
    assert_non_null(strstr(out, "since"));
    assert_int_equal(ls_pipe_ctl("deadletters --sub sub-999999", out, sizeof out), 1);
    assert_non_null(strstr(out, "NOT_FOUND"));
    assert_int_equal(ls_pipe_ctl("interest nt-none opp-1", out, sizeof out), 1);
    free(opp);
}

/* ---------------------------------------------------------------------------
 * Expression of interest */

/* An SME with a contact (shared or not) or an opportunity with one; returns its id. */
static char *s_put_party(bool sme, const char *ref, const char *region, const char *material,
                         bool share)
{
    ls_contact_pb contact = LODESTONE__V1__CONTACT__INIT;
    contact.name = sme ? "Aino Virtanen" : "Bruno Ortega";
    contact.email = sme ? "aino@example.fi" : "bruno@example.es";
    ls_pipe_entity_t e;
    if (sme) {
        ls_pipe_sme(&e, ref, region, material, "extraction", 6);
        e.sme.consent_share_contact = share;
        e.sme.contact = &contact;
    } else {
        ls_pipe_opportunity(&e, ref, region, material, "extraction");
        e.opportunity.contact = &contact;
    }
    return ls_pipe_put_id(ls_pipe_put(&e.entity));
}

/* An SME and an opportunity in region with material, both with a contact, once
 * matched; their ids into *sme and *opp (the caller frees them). share_sme: whether
 * the SME consents to share its contact (an opportunity's comes with the call). */
static void s_matched_pair(const char *tag, const char *region, const char *material,
                           bool share_sme, char **sme, char **opp)
{
    char ref[64];
    snprintf(ref, sizeof ref, "nt-eoi-sme-%s", tag);
    *sme = s_put_party(true, ref, region, material, share_sme);
    snprintf(ref, sizeof ref, "nt-eoi-opp-%s", tag);
    *opp = s_put_party(false, ref, region, material, false);
    lodestone__v1__reply__free_unpacked(ls_pipe_await_match(*sme, *opp), NULL);
}

static ls_reply_pb *s_interest(const char *subject, const char *candidate, int answer,
                               const char *publisher)
{
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__ExpressInterest q = LODESTONE__V1__EXPRESS_INTEREST__INIT;
    Lodestone__V1__GetInterest get = LODESTONE__V1__GET_INTEREST__INIT;
    if (answer >= 0) {
        q.subject_id = (char *)subject;
        q.candidate_id = (char *)candidate;
        q.interested = answer == 1;
        env.body_case = LODESTONE__V1__ENVELOPE__BODY_INTEREST;
        env.interest = &q;
    } else {
        get.subject_id = (char *)subject;
        get.candidate_id = (char *)candidate;
        env.body_case = LODESTONE__V1__ENVELOPE__BODY_GET_INTEREST;
        env.get_interest = &get;
    }
    return s_call(&env, publisher);
}

/* Answers and checks the reply's code; returns the state (when OK) as an int. */
static int s_answer(const char *subject, const char *candidate, int answer,
                    Lodestone__V1__Status__Code code)
{
    ls_reply_pb *reply = s_interest(subject, candidate, answer, NULL);
    if (reply->status->code != code)
        fail_msg("interest %s %s: %s (%s)", subject, candidate, ls_status_name(reply->status->code),
                 reply->status->message);
    int state = code == LODESTONE__V1__STATUS__CODE__OK ? (int)reply->interest->state : -1;
    lodestone__v1__reply__free_unpacked(reply, NULL);
    return state;
}

/* The notification of kind `kind` in recipient's inbox (waits 10 s); caller frees. */
static ls_notification_pb *s_await_kind(const char *recipient,
                                        Lodestone__V1__Notification__Kind kind)
{
    int64_t deadline = ls_mono_ms() + 10000;
    while (ls_mono_ms() < deadline) {
        ls_reply_pb *reply = s_inbox(recipient, NULL, NULL, NULL);
        for (size_t i = 0; i < reply->inbox->n_notifications; i++)
            if (reply->inbox->notifications[i]->kind == kind) {
                size_t len;
                uint8_t *packed = ls_codec_pack_buffer(&reply->inbox->notifications[i]->base, &len);
                ls_notification_pb *copy = (ls_notification_pb *)ls_codec_unpack(
                    &lodestone__v1__notification__descriptor, packed, len, SIZE_MAX, NULL);
                free(packed);
                lodestone__v1__reply__free_unpacked(reply, NULL);
                return copy;
            }
        lodestone__v1__reply__free_unpacked(reply, NULL);
        zclock_sleep(50);
    }
    fail_msg("no notification of kind %d for %s within 10 s", (int)kind, recipient);
    return NULL;
}

static void test_interest_mutual_introduces_with_consent(void **state)
{
    (void)state;
    char *sme, *opp;
    s_matched_pair("1", "FI1D8", "manganese", true, &sme, &opp);
    /* Someone else may not answer for the SME; a pair that is not a match is refused. */
    ls_reply_pb *reply = s_interest(sme, opp, 1, "se-agency");
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__FORBIDDEN);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    char *stranger =
        ls_pipe_put_id(ls_pipe_put_sme("nt-eoi-stranger", "EL64", "gallium", "mets", 3));
    ls_pipe_await_caught_up(); /* refused for not being a match, not for being early */
    s_answer(stranger, opp, 1, LODESTONE__V1__STATUS__CODE__FAILED_PRECONDITION);

    assert_int_equal(s_answer(sme, opp, 1, LODESTONE__V1__STATUS__CODE__OK),
                     LODESTONE__V1__INTEREST__STATE__REQUESTED);
    ls_notification_pb *ask = s_await_kind(opp, LODESTONE__V1__NOTIFICATION__KIND__INTEREST);
    assert_non_null(strstr(ask->text, sme));
    assert_int_equal(ask->interest->state, LODESTONE__V1__INTEREST__STATE__REQUESTED);
    lodestone__v1__notification__free_unpacked(ask, NULL);

    assert_int_equal(s_answer(opp, sme, 1, LODESTONE__V1__STATUS__CODE__OK),
                     LODESTONE__V1__INTEREST__STATE__MUTUAL);
    /* The opportunity meets the SME, whose contact it consented to share... */
    ls_notification_pb *intro = s_await_kind(opp, LODESTONE__V1__NOTIFICATION__KIND__INTRODUCTION);
    assert_string_equal(intro->introduction->other_id, sme);
    assert_true(intro->introduction->contact_shared);
    assert_string_equal(intro->introduction->contact->email, "aino@example.fi");
    lodestone__v1__notification__free_unpacked(intro, NULL);
    /* ... and the SME the opportunity, whose contact came with the call. */
    intro = s_await_kind(sme, LODESTONE__V1__NOTIFICATION__KIND__INTRODUCTION);
    assert_string_equal(intro->introduction->other_id, opp);
    assert_string_equal(intro->introduction->contact->email, "bruno@example.es");
    lodestone__v1__notification__free_unpacked(intro, NULL);
    /* Stored and journaled. */
    reply = s_interest(sme, opp, -1, NULL);
    assert_int_equal(reply->interest->state, LODESTONE__V1__INTEREST__STATE__MUTUAL);
    assert_int_equal(reply->interest->version, 2);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    redisReply *len = ls_store_command(ls_pipe.store, "XLEN %s", LS_KEY_JOURNAL_INTEREST);
    assert_true(len->integer >= 2);
    freeReplyObject(len);
    free(stranger);
    free(sme);
    free(opp);
}

static void test_interest_without_consent_goes_through_the_region(void **state)
{
    (void)state;
    char *sme, *opp;
    s_matched_pair("2", "SE331", "tungsten", false, &sme, &opp);
    s_answer(opp, sme, 1, LODESTONE__V1__STATUS__CODE__OK);
    s_answer(sme, opp, 1, LODESTONE__V1__STATUS__CODE__OK);
    ls_notification_pb *intro = s_await_kind(opp, LODESTONE__V1__NOTIFICATION__KIND__INTRODUCTION);
    assert_false(intro->introduction->contact_shared);
    assert_null(intro->introduction->contact);
    assert_string_equal(intro->introduction->via, "local"); /* the SME's regional system */
    assert_null(strstr(intro->text, "aino@example.fi"));
    lodestone__v1__notification__free_unpacked(intro, NULL);
    free(sme);
    free(opp);
}

static void test_interest_decline_is_final_until_the_match_changes(void **state)
{
    (void)state;
    char *sme, *opp;
    s_matched_pair("3", "ES12", "magnesium", true, &sme, &opp);
    assert_int_equal(s_answer(opp, sme, 0, LODESTONE__V1__STATUS__CODE__OK),
                     LODESTONE__V1__INTEREST__STATE__DECLINED);
    s_answer(sme, opp, 1, LODESTONE__V1__STATUS__CODE__FAILED_PRECONDITION);
    /* The SME moves to another region: the score moves by more than the delta. */
    free(s_put_party(true, "nt-eoi-sme-3", "ES41", "magnesium", true));
    int64_t deadline = ls_mono_ms() + 10000;
    int now = -1;
    while (ls_mono_ms() < deadline &&
           (now = s_answer(sme, opp, -1, LODESTONE__V1__STATUS__CODE__OK)) ==
               LODESTONE__V1__INTEREST__STATE__DECLINED)
        zclock_sleep(50);
    assert_int_equal(now, LODESTONE__V1__INTEREST__STATE__STATE_NONE);
    assert_int_equal(s_answer(sme, opp, 1, LODESTONE__V1__STATUS__CODE__OK),
                     LODESTONE__V1__INTEREST__STATE__REQUESTED);
    free(sme);
    free(opp);
}

static void test_interest_reminder_then_expiry(void **state)
{
    (void)state;
    char *sme, *opp;
    s_matched_pair("4", "EL64", "bismuth", true, &sme, &opp);
    int64_t asked = ls_mono_ms();
    s_answer(sme, opp, 1, LODESTONE__V1__STATUS__CODE__OK);
    ls_notification_pb *note =
        s_await_kind(opp, LODESTONE__V1__NOTIFICATION__KIND__INTEREST_REMINDER);
    assert_true(ls_mono_ms() - asked >= 900); /* one second after the request */
    lodestone__v1__notification__free_unpacked(note, NULL);
    note = s_await_kind(sme, LODESTONE__V1__NOTIFICATION__KIND__INTEREST_EXPIRED);
    assert_true(ls_mono_ms() - asked >= 2900);
    lodestone__v1__notification__free_unpacked(note, NULL);
    note = s_await_kind(opp, LODESTONE__V1__NOTIFICATION__KIND__INTEREST_EXPIRED);
    lodestone__v1__notification__free_unpacked(note, NULL);
    assert_int_equal(s_answer(opp, sme, -1, LODESTONE__V1__STATUS__CODE__OK),
                     LODESTONE__V1__INTEREST__STATE__EXPIRED);
    /* The reminder went once. */
    ls_reply_pb *reply = s_inbox(opp, NULL, NULL, NULL);
    int reminders = 0;
    for (size_t i = 0; i < reply->inbox->n_notifications; i++)
        reminders += reply->inbox->notifications[i]->kind ==
                     LODESTONE__V1__NOTIFICATION__KIND__INTEREST_REMINDER;
    assert_int_equal(reminders, 1);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    free(sme);
    free(opp);
}

/* ---------------------------------------------------------------------------
 * Killed in mid-stream */

typedef struct {
    char id[64];
    char recipient[64];
    bool hook; /* passes the webhook subscription's filter */
} s_expected_t;

/* The notifications the match journal entries from..to must have produced. */
static size_t s_expected(uint64_t from, uint64_t to, const char *material, s_expected_t *out)
{
    size_t n = 0;
    for (uint64_t seq = from; seq <= to; seq++) {
        ls_match_event_pb *event = ls_pipe_match_event(seq);
        snprintf(out[n].id, sizeof out[n].id, "n-%llu", (unsigned long long)seq);
        snprintf(out[n].recipient, sizeof out[n].recipient, "%s", event->match->subject_id);
        out[n].hook = false;
        for (size_t i = 0; i < event->subject->n_materials; i++)
            out[n].hook = out[n].hook || strcmp(event->subject->materials[i], material) == 0;
        out[n].hook = out[n].hook && event->kind != LODESTONE__V1__MATCH_EVENT__KIND__GONE;
        n++;
        lodestone__v1__match_event__free_unpacked(event, NULL);
    }
    return n;
}

/* How many times id is in recipient's inbox. */
static int s_inbox_count(const char *recipient, const char *id)
{
    redisReply *r = ls_store_command(ls_pipe.store, "XRANGE " LS_KEY_INBOX "%s - +", recipient);
    int count = 0;
    for (size_t i = 0; r && i < r->elements; i++) {
        redisReply *value = r->element[i]->element[1]->element[1];
        ls_notification_pb *note = (ls_notification_pb *)ls_codec_unpack(
            &lodestone__v1__notification__descriptor, value->str, value->len, SIZE_MAX, NULL);
        assert_non_null(note);
        count += strcmp(note->id, id) == 0;
        lodestone__v1__notification__free_unpacked(note, NULL);
    }
    if (r)
        freeReplyObject(r);
    return count;
}

static long long s_int(const char *fmt, const char *arg)
{
    redisReply *r = ls_store_command(ls_pipe.store, fmt, arg);
    long long value = r && r->type == REDIS_REPLY_INTEGER  ? r->integer
                      : r && r->type == REDIS_REPLY_STRING ? atoll(r->str)
                                                           : 0;
    if (r)
        freeReplyObject(r);
    return value;
}

/* The match journal's next entry, once everything before it is delivered. */
static uint64_t s_stream_start(void)
{
    ls_pipe_await_caught_up();
    uint64_t latest = 0;
    ls_store_get_u64(ls_pipe.store, LS_KEY_SEQ_MATCHES, &latest);
    return latest + 1;
}

/* Checks the match journal entries from `from` on, once all are delivered: each in
 * its recipient's inbox exactly once (bounded: the inbox of `bounded` holds
 * LODESTONE_INBOX_MAX and counts what it dropped, and together that is each of its
 * notifications once), and each webhook delivery of subscription sub_id accepted by
 * the receiver (which de-duplicates). Returns the number of entries checked. */
static size_t s_assert_delivered(uint64_t from, const char *material, const char *sub_id,
                                 webhook_receiver_t *receiver, const char *bounded)
{
    ls_pipe_await_caught_up();
    uint64_t to = 0;
    ls_store_get_u64(ls_pipe.store, LS_KEY_SEQ_MATCHES, &to);
    s_expected_t *expected = calloc(to - from + 1, sizeof *expected);
    size_t n = s_expected(from, to, material, expected);
    size_t for_bounded = 0, hooked = 0;
    for (size_t i = 0; i < n; i++) {
        if (bounded && strcmp(expected[i].recipient, bounded) == 0)
            for_bounded++;
        else
            assert_int_equal(s_inbox_count(expected[i].recipient, expected[i].id), 1);
        hooked += expected[i].hook;
    }
    if (bounded) {
        long long held = s_int("XLEN " LS_KEY_INBOX "%s", bounded);
        long long dropped = s_int("GET " LS_KEY_INBOX_DROPPED "%s", bounded);
        assert_int_equal(held, 10);
        assert_true(for_bounded > 10);
        assert_int_equal(held + dropped, (long long)for_bounded); /* it had none before */
    }
    int64_t deadline = ls_mono_ms() + 15000;
    while (webhook_receiver_distinct(receiver) < hooked && ls_mono_ms() < deadline)
        zclock_sleep(50);
    assert_int_equal(webhook_receiver_distinct(receiver), hooked);
    for (size_t i = 0; i < n; i++)
        if (expected[i].hook) {
            char delivery[128];
            snprintf(delivery, sizeof delivery, "%s-%s", expected[i].id, sub_id);
            assert_true(webhook_receiver_accepted(receiver, delivery) >= 1);
        }
    assert_true(hooked >= n / 2);
    free(expected);
    return n;
}

/* What a stream test starts with: a receiver, a filter subscription of
 * "<material>-desk" to the match events of material delivered to its webhook, an
 * opportunity in region with material (the SMEs the test puts match it), and the
 * match journal entry the stream starts at. */
typedef struct {
    const char *material;
    webhook_receiver_t *receiver;
    char *sub, *opp;
    uint64_t from;
} s_stream_t;

static void s_stream_open(s_stream_t *st, const char *material, const char *region)
{
    char name[64];
    st->material = material;
    st->receiver = webhook_receiver_new();
    assert_non_null(st->receiver);
    snprintf(name, sizeof name, "%s-desk", material);
    s_filter_sub_t f;
    st->sub = s_subscribe(s_filter_sub(&f, name, material, true, false, st->receiver));
    snprintf(name, sizeof name, "nt-opp-%s", material);
    st->opp = ls_pipe_put_id(ls_pipe_put_opportunity(name, region, material, "refining"));
    st->from = s_stream_start();
}

/* Checks that the stream's entries, at least at_least of them, were all delivered
 * (s_assert_delivered; bounded: the opportunity's inbox overflowed its bound), and
 * frees what st holds. */
static void s_stream_close(s_stream_t *st, bool bounded, size_t at_least)
{
    size_t n =
        s_assert_delivered(st->from, st->material, st->sub, st->receiver, bounded ? st->opp : NULL);
    if (n < at_least)
        fail_msg("%zu match events in the %s stream, not %zu or more", n, st->material, at_least);
    webhook_receiver_destroy(&st->receiver);
    free(st->sub);
    free(st->opp);
}

static void test_sigkill_in_mid_stream_loses_nothing(void **state)
{
    (void)state;
    s_stream_t st;
    s_stream_open(&st, "zinc", "EL64");
    int cut = 0; /* rounds whose kill left some of the backlog undelivered */

    /* Four rounds: notification stopped (SIGSTOP) while 6 SMEs come, so that a
     * backlog waits in its sockets and the journal; let go, then killed at once or a
     * few milliseconds later, in the middle of delivering it; started again. */
    static const int kill_after_ms[] = {0, 1, 3, 5};
    for (int round = 0; round < 4; round++) {
        kill(ls_test_pid(ls_pipe.procs[LS_PIPE_NOTIFICATION]), SIGSTOP);
        for (int i = 0; i < 6; i++) {
            char ref[32];
            snprintf(ref, sizeof ref, "nt-sme-kill-%d", round * 6 + i);
            /* The later ones are in the opportunity's own region: they score higher
             * and push the earlier ones out of its top 10 (its inbox overflows). */
            const char *region = round < 2 ? "ES41" : "EL64";
            free(ls_pipe_put_id(ls_pipe_put_sme(ref, region, "zinc", "refining", 5)));
        }
        zclock_sleep(50); /* matching has emitted its events */
        uint64_t backlog = 0, delivered = 0;
        ls_store_get_u64(ls_pipe.store, LS_KEY_SEQ_MATCHES, &backlog);
        kill(ls_test_pid(ls_pipe.procs[LS_PIPE_NOTIFICATION]), SIGCONT);
        zclock_sleep(kill_after_ms[round]);
        ls_test_kill(&ls_pipe.procs[LS_PIPE_NOTIFICATION]);
        ls_store_get_u64(ls_pipe.store, LS_KEY_CHECKPOINT "notification", &delivered);
        cut += delivered < backlog;
        assert_int_equal(ls_pipe_start(LS_PIPE_NOTIFICATION), 0);
    }
    /* Later rounds may find the backlog delivered by the time of the kill (it takes
     * a millisecond or two); the first at least cuts into it. */
    assert_true(cut >= 1);
    /* 24 SMEs' NEW; 22 NEW and 10 GONE for the opportunity. */
    s_stream_close(&st, true, 50);
}

/* A notification process stalls (SIGSTOP) with a backlog in its sockets while a
 * second one, started beside it as a replacement would be, delivers everything and
 * stops; then the first resumes and works through its backlog, all of it at or
 * below the checkpoint by now. Its batches must skip those entries: every
 * notification stays in its inbox once. (A kill cannot test this: a process
 * started again resumes from the checkpoint, so nothing reaches the skip.) */
static void test_stalled_process_resumed_repeats_nothing(void **state)
{
    (void)state;
    s_stream_t st;
    s_stream_open(&st, "antimony", "SE331");
    pid_t first = ls_test_pid(ls_pipe.procs[LS_PIPE_NOTIFICATION]);
    assert_int_equal(kill(first, SIGSTOP), 0);
    for (int i = 0; i < 6; i++) {
        char ref[32];
        snprintf(ref, sizeof ref, "nt-sme-stall-%d", i);
        free(ls_pipe_put_id(ls_pipe_put_sme(ref, "SE331", "antimony", "refining", 5)));
    }
    /* The first is let go before anything is checked: a failure here must not leave
     * it stopped for the tests after. */
    ls_test_proc_t *second = ls_pipe_start_notification_beside("notification-second");
    uint64_t delivered = 0;
    if (second) {
        ls_pipe_await_caught_up(); /* the second has delivered the backlog */
        ls_store_get_u64(ls_pipe.store, LS_KEY_CHECKPOINT "notification", &delivered);
    }
    int status = second ? ls_test_stop(&second) : -1;
    assert_int_equal(kill(first, SIGCONT), 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(delivered >= st.from + 11); /* 6 SMEs' NEW, 6 for the opportunity */
    /* It applies in order: once it has delivered a later event, it is through. */
    char *last =
        ls_pipe_put_id(ls_pipe_put_sme("nt-sme-stall-last", "SE331", "antimony", "refining", 5));
    lodestone__v1__reply__free_unpacked(s_await_inbox(last, "n-"), NULL);
    /* 7 SMEs' NEW, 7 for the opportunity. */
    s_stream_close(&st, false, 14);
    free(last);
}

/* Puts an SME, retrying while the registry cannot reach Redis (15 s at most). */
static char *s_put_sme_retrying(const char *ref, const char *region, const char *material)
{
    int64_t deadline = ls_mono_ms() + 15000;
    while (ls_mono_ms() < deadline) {
        ls_reply_pb *reply = ls_pipe_put_sme(ref, region, material, "refining", 5);
        if (reply && reply->status->code == LODESTONE__V1__STATUS__CODE__OK)
            return ls_pipe_put_id(reply);
        if (reply)
            lodestone__v1__reply__free_unpacked(reply, NULL);
        zclock_sleep(100);
    }
    fail_msg("the registry did not take %s within 15 s", ref);
    return NULL;
}

/* Redis restarts (SIGTERM, AOF) in the middle of a stream: every notification is
 * in its inbox once and every webhook delivery arrives. */
static void test_redis_restart_loses_nothing(void **state)
{
    (void)state;
    s_stream_t st;
    s_stream_open(&st, "titanium", "ES41");
    for (int i = 0; i < 12; i++) {
        char ref[32];
        snprintf(ref, sizeof ref, "nt-sme-redis-%d", i);
        free(s_put_sme_retrying(ref, "ES41", "titanium"));
        if (i == 5) /* events of the last puts are still on their way */
            assert_int_equal(ls_pipe_restart_redis(), 0);
    }
    /* 12 SMEs' NEW, 10 for the opportunity. */
    s_stream_close(&st, false, 22);
}

/* Erasure (GDPR) takes the entity's inbox with it, and the match events of the
 * erasure itself do not bring it back. */
static void test_erasure_removes_the_inbox(void **state)
{
    (void)state;
    char *sme = ls_pipe_put_id(ls_pipe_put_sme("nt-sme-erase", "FI1D3", "tantalum", "refining", 5));
    char *opp =
        ls_pipe_put_id(ls_pipe_put_opportunity("nt-opp-erase", "FI1D3", "tantalum", "refining"));
    lodestone__v1__reply__free_unpacked(s_await_inbox(sme, "n-"), NULL);
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__EraseEntity erase = LODESTONE__V1__ERASE_ENTITY__INIT;
    erase.id = sme;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_ERASE;
    env.erase = &erase;
    ls_client_t *client = ls_pipe_client(LS_PIPE_REGISTRY);
    ls_reply_pb *reply = ls_client_call(client, &env);
    ls_client_destroy(&client);
    assert_non_null(reply);
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__OK);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    /* The erasure's change is in the journal once the registry answered; caught up,
     * its GONE events (the SME's own among them) have been delivered. */
    ls_pipe_await_caught_up();
    assert_int_equal(s_int("EXISTS " LS_KEY_INBOX "%s", sme), 0);
    assert_int_equal(s_int("EXISTS " LS_KEY_INBOX_ACK "%s", sme), 0);
    /* Its tombstone is no entity: no subscription to it, no inbox for its owner. */
    ls_channels_pb channels = LODESTONE__V1__CHANNELS__INIT;
    channels.inbox = 1;
    ls_subscription_pb sub = LODESTONE__V1__SUBSCRIPTION__INIT;
    sub.recipient = sme;
    sub.entity_id = sme;
    sub.channels = &channels;
    reply = s_subscribe_as(&sub, NULL);
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__INVALID);
    assert_true(s_has_error(reply, "entityId"));
    lodestone__v1__reply__free_unpacked(reply, NULL);
    reply = s_inbox(sme, NULL, NULL, NULL);
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__FORBIDDEN);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    /* The opportunity was told the match is gone. */
    reply = s_inbox(opp, NULL, NULL, NULL);
    bool gone = false;
    for (size_t i = 0; i < reply->inbox->n_notifications; i++)
        gone = gone || (reply->inbox->notifications[i]->event &&
                        reply->inbox->notifications[i]->event->kind ==
                            LODESTONE__V1__MATCH_EVENT__KIND__GONE);
    assert_true(gone);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    free(sme);
    free(opp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inbox_cursor_ack_and_access),
        cmocka_unit_test(test_filter_subscription_takes_postings_and_matches),
        cmocka_unit_test(test_webhook_signed_and_retried),
        cmocka_unit_test(test_dead_letters_listed_and_replayed),
        cmocka_unit_test(test_daily_digest_lists_the_period),
        cmocka_unit_test(test_cli_subscribes_reads_and_answers),
        cmocka_unit_test(test_interest_mutual_introduces_with_consent),
        cmocka_unit_test(test_interest_without_consent_goes_through_the_region),
        cmocka_unit_test(test_interest_decline_is_final_until_the_match_changes),
        cmocka_unit_test(test_interest_reminder_then_expiry),
        cmocka_unit_test(test_sigkill_in_mid_stream_loses_nothing),
        cmocka_unit_test(test_stalled_process_resumed_repeats_nothing),
        cmocka_unit_test(test_redis_restart_loses_nothing),
        cmocka_unit_test(test_erasure_removes_the_inbox),
    };
    int failed = cmocka_run_group_tests(tests, s_setup, ls_pipe_teardown);
    return failed || ls_pipe.teardown_failed ? 1 : 0;
}
