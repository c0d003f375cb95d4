/* ctl_matching.c — lodestonectl's matching commands beyond matches: explain one
 * pair, start a full re-match, and the engine's statistics. */
#include <czmq.h>
#include <string.h>

#include "ctl.h"

/* Sends env to matching and prints the reply's body, which must be want
 * (explanation, rematch or stats); returns the exit code. */
static int s_ask(const char *what, ls_envelope_pb *env, Lodestone__V1__Reply__BodyCase want,
                 bool indent)
{
    ls_reply_pb *reply = ctl_call("matching", what, env, want);
    if (!reply)
        return 1;
    const ProtobufCMessage *body =
        want == LODESTONE__V1__REPLY__BODY_EXPLANATION ? &reply->explanation->base
        : want == LODESTONE__V1__REPLY__BODY_REMATCH   ? &reply->rematch->base
                                                       : &reply->stats->base;
    ctl_print(body, indent);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    return 0;
}

int ctl_explain(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: lodestonectl explain SUBJECT_ID CANDIDATE_ID\n");
        return 2;
    }
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__ExplainPair q = LODESTONE__V1__EXPLAIN_PAIR__INIT;
    q.subject_id = argv[0];
    q.candidate_id = argv[1];
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_EXPLAIN;
    env.explain = &q;
    return s_ask("explain", &env, LODESTONE__V1__REPLY__BODY_EXPLANATION, true);
}

int ctl_rematch(int argc, char **argv)
{
    Lodestone__V1__Rematch q = LODESTONE__V1__REMATCH__INIT;
    if (argc == 1 && strcmp(argv[0], "--refresh") == 0)
        q.refresh_model = 1;
    else if (argc != 0) {
        fprintf(stderr, "usage: lodestonectl rematch [--refresh]\n");
        return 2;
    }
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_REMATCH;
    env.rematch = &q;
    int rc = s_ask("rematch", &env, LODESTONE__V1__REPLY__BODY_REMATCH, false);
    if (rc == 0)
        fprintf(stderr, "lodestonectl: every matching instance re-matches at that journal entry; "
                        "`lodestonectl wait` waits for it\n");
    return rc;
}

int ctl_stats(int argc, char **argv)
{
    (void)argv;
    if (argc != 0) {
        fprintf(stderr, "usage: lodestonectl stats\n");
        return 2;
    }
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__GetStats q = LODESTONE__V1__GET_STATS__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_STATS;
    env.stats = &q;
    return s_ask("stats", &env, LODESTONE__V1__REPLY__BODY_STATS, true);
}
