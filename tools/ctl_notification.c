/* ctl_notification.c — lodestonectl's notification commands: subscriptions, the
 * inbox with its cursor, and webhook dead letters. */
#include <czmq.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ls_json.h"

/* Sends env to notification: the OK reply holding body want, for the caller to
 * free; NULL after saying why. */
static ls_reply_pb *s_call(const char *what, ls_envelope_pb *env,
                           Lodestone__V1__Reply__BodyCase want)
{
    return ctl_call("notification", what, env, want);
}

static int s_done(ls_reply_pb *reply)
{
    lodestone__v1__reply__free_unpacked(reply, NULL);
    return 0;
}

int ctl_subscribe(int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr,
                "usage: lodestonectl subscribe JSON|@FILE\n"
                "  e.g. '{\"recipient\": \"agency-fi1d7\", \"filter\": {\"postings\": true,\n"
                "        \"regions\": [\"FI1D\"], \"materials\": [\"cobalt\"]},\n"
                "        \"channels\": {\"inbox\": true}, \"digest\": \"DIGEST_DAILY\"}'\n");
        return 2;
    }
    json_t *json = ctl_load_json(argv[0]);
    if (!json)
        return 1;
    char err[256];
    ls_subscription_pb *sub = (ls_subscription_pb *)ls_json_to_message(
        &lodestone__v1__subscription__descriptor, json, err, sizeof err);
    json_decref(json);
    if (!sub) {
        fprintf(stderr, "lodestonectl: subscription: %s\n", err);
        return 1;
    }
    Lodestone__V1__Subscribe q = LODESTONE__V1__SUBSCRIBE__INIT;
    q.subscription = sub;
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_SUBSCRIBE;
    env.subscribe = &q;
    ls_reply_pb *reply = s_call("subscribe", &env, LODESTONE__V1__REPLY__BODY_SUBSCRIPTION);
    protobuf_c_message_free_unpacked(&sub->base, NULL);
    if (!reply)
        return 1;
    ctl_print(&reply->subscription->base, false);
    return s_done(reply);
}

int ctl_subscriptions(int argc, char **argv)
{
    Lodestone__V1__ListSubscriptions q = LODESTONE__V1__LIST_SUBSCRIPTIONS__INIT;
    q.recipient = "";
    if (argc == 2 && strcmp(argv[0], "--recipient") == 0)
        q.recipient = argv[1];
    else if (argc != 0) {
        fprintf(stderr, "usage: lodestonectl subscriptions [--recipient NAME]\n");
        return 2;
    }
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_SUBSCRIPTIONS;
    env.subscriptions = &q;
    ls_reply_pb *reply = s_call("subscriptions", &env, LODESTONE__V1__REPLY__BODY_SUBSCRIPTIONS);
    if (!reply)
        return 1;
    for (size_t i = 0; i < reply->subscriptions->n_subscriptions; i++)
        ctl_print(&reply->subscriptions->subscriptions[i]->base, false);
    return s_done(reply);
}

int ctl_unsubscribe(int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: lodestonectl unsubscribe SUBSCRIPTION_ID\n");
        return 2;
    }
    Lodestone__V1__Unsubscribe q = LODESTONE__V1__UNSUBSCRIBE__INIT;
    q.id = argv[0];
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_UNSUBSCRIBE;
    env.unsubscribe = &q;
    ls_reply_pb *reply = s_call("unsubscribe", &env, LODESTONE__V1__REPLY__BODY__NOT_SET);
    if (!reply)
        return 1;
    fprintf(stderr, "lodestonectl: %s deleted\n", argv[0]);
    return s_done(reply);
}

static int s_inbox_usage(void)
{
    fprintf(stderr, "usage: lodestonectl inbox RECIPIENT [--since CURSOR] [--ack CURSOR] "
                    "[--limit N]\n"
                    "  prints the notifications after CURSOR (default: after the acknowledged\n"
                    "  cursor) as JSON lines; --ack CURSOR acknowledges (and removes) every\n"
                    "  notification up to CURSOR first\n");
    return 2;
}

int ctl_inbox(int argc, char **argv)
{
    Lodestone__V1__ReadInbox q = LODESTONE__V1__READ_INBOX__INIT;
    q.since = q.ack = "";
    if (argc < 1 || argv[0][0] == '-' || argc % 2 == 0)
        return s_inbox_usage();
    q.recipient = argv[0];
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--since") == 0)
            q.since = argv[i + 1];
        else if (strcmp(argv[i], "--ack") == 0)
            q.ack = argv[i + 1];
        else if (strcmp(argv[i], "--limit") == 0) {
            if (ctl_limit(argv[i + 1], &q.limit))
                return 2;
        } else
            return s_inbox_usage();
    }
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_INBOX;
    env.inbox = &q;
    ls_reply_pb *reply = s_call("inbox", &env, LODESTONE__V1__REPLY__BODY_INBOX);
    if (!reply)
        return 1;
    const Lodestone__V1__Inbox *box = reply->inbox;
    for (size_t n = 0; n < box->n_notifications; n++)
        ctl_print(&box->notifications[n]->base, false);
    fprintf(stderr,
            "lodestonectl: %zu notification%s; next cursor %s; acknowledged up to %s; %llu "
            "pending; %llu dropped unread by the bound of %llu\n",
            box->n_notifications, box->n_notifications == 1 ? "" : "s",
            *box->next_cursor ? box->next_cursor : "(none)", *box->acked ? box->acked : "(nothing)",
            (unsigned long long)box->pending, (unsigned long long)box->dropped,
            (unsigned long long)box->bound);
    return s_done(reply);
}

int ctl_dead_letters(int argc, char **argv)
{
    Lodestone__V1__ListDeadLetters q = LODESTONE__V1__LIST_DEAD_LETTERS__INIT;
    q.subscription_id = "";
    for (int i = 0; i < argc; i += 2) {
        if (i + 1 < argc && strcmp(argv[i], "--sub") == 0)
            q.subscription_id = argv[i + 1];
        else if (i + 1 < argc && strcmp(argv[i], "--limit") == 0) {
            if (ctl_limit(argv[i + 1], &q.limit))
                return 2;
        } else {
            fprintf(stderr,
                    "usage: lodestonectl deadletters [--sub SUBSCRIPTION_ID] [--limit N]\n");
            return 2;
        }
    }
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_DEAD_LETTERS;
    env.dead_letters = &q;
    ls_reply_pb *reply = s_call("deadletters", &env, LODESTONE__V1__REPLY__BODY_DEAD_LETTERS);
    if (!reply)
        return 1;
    for (size_t n = 0; n < reply->dead_letters->n_letters; n++)
        ctl_print(&reply->dead_letters->letters[n]->base, false);
    fprintf(stderr, "lodestonectl: %zu of %llu dead letters shown\n",
            reply->dead_letters->n_letters, (unsigned long long)reply->dead_letters->total);
    return s_done(reply);
}

int ctl_replay(int argc, char **argv)
{
    Lodestone__V1__ReplayDeadLetters q = LODESTONE__V1__REPLAY_DEAD_LETTERS__INIT;
    q.subscription_id = "";
    int i = 0;
    if (argc >= 2 && strcmp(argv[0], "--sub") == 0) {
        q.subscription_id = argv[1];
        i = 2;
    }
    for (int j = i; j < argc; j++)
        if (argv[j][0] == '-') {
            fprintf(stderr, "usage: lodestonectl replay [--sub SUBSCRIPTION_ID] "
                            "[DELIVERY_ID...]\n"
                            "  sends dead letters again (all of them, or those named)\n");
            return 2;
        }
    q.delivery_ids = argv + i;
    q.n_delivery_ids = (size_t)(argc - i);
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_REPLAY;
    env.replay = &q;
    ls_reply_pb *reply = s_call("replay", &env, LODESTONE__V1__REPLY__BODY_REPLAYED);
    if (!reply)
        return 1;
    fprintf(stderr, "lodestonectl: %llu dead letters queued for delivery again\n",
            (unsigned long long)reply->replayed->count);
    return s_done(reply);
}

int ctl_interest(int argc, char **argv)
{
    if ((argc != 2 && argc != 3) ||
        (argc == 3 && strcmp(argv[2], "yes") != 0 && strcmp(argv[2], "no") != 0)) {
        fprintf(stderr, "usage: lodestonectl interest SUBJECT_ID CANDIDATE_ID [yes|no]\n"
                        "  yes/no: SUBJECT is (not) interested in its match with CANDIDATE;\n"
                        "  without it: the pair's state\n");
        return 2;
    }
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__ExpressInterest answer = LODESTONE__V1__EXPRESS_INTEREST__INIT;
    Lodestone__V1__GetInterest get = LODESTONE__V1__GET_INTEREST__INIT;
    if (argc == 3) {
        answer.subject_id = argv[0];
        answer.candidate_id = argv[1];
        answer.interested = strcmp(argv[2], "yes") == 0;
        env.body_case = LODESTONE__V1__ENVELOPE__BODY_INTEREST;
        env.interest = &answer;
    } else {
        get.subject_id = argv[0];
        get.candidate_id = argv[1];
        env.body_case = LODESTONE__V1__ENVELOPE__BODY_GET_INTEREST;
        env.get_interest = &get;
    }
    ls_reply_pb *reply = s_call("interest", &env, LODESTONE__V1__REPLY__BODY_INTEREST);
    if (!reply)
        return 1;
    ctl_print(&reply->interest->base, true);
    return s_done(reply);
}
