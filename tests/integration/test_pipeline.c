/* test_pipeline.c — the whole pipeline with a private redis-server and the real
 * service binaries: a fitting SME and opportunity become an explained match and a
 * notification; bad input gets named errors while the services keep serving; and
 * a service killed with SIGKILL comes back without losing or repeating events. */
#include "harness.h"
#include "pipeline.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ls_client.h"
#include "ls_codec.h"
#include "ls_journal.h"
#include "ls_keys.h"
#include "ls_store.h"
#include "ls_util.h"

static long long s_integer(const char *fmt, const char *arg)
{
    redisReply *reply = ls_store_command(ls_pipe.store, fmt, arg);
    assert_non_null(reply);
    long long value = reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    freeReplyObject(reply);
    return value;
}

/* ---------------------------------------------------------------------------
 * Tests */

static void test_fitting_pair_is_matched_explained_and_notified(void **state)
{
    (void)state;
    zsock_t *sub = ls_pipe_subscribe("to/");

    char *sme = ls_pipe_put_id(ls_pipe_put_sme("it-sme-1", "FI1D7", "cobalt", "beneficiation", 6));
    char *opp =
        ls_pipe_put_id(ls_pipe_put_opportunity("it-opp-1", "FI1D7", "cobalt", "beneficiation"));
    assert_true(strncmp(sme, "sme-", 4) == 0);
    assert_true(strncmp(opp, "opp-", 4) == 0);

    ls_reply_pb *reply = ls_pipe_await_match(sme, opp);
    const ls_match_pb *m = ls_pipe_find(reply, opp);
    /* Same stage, material and region; no capabilities, NACE or themes to share. */
    assert_true(m->score > 0.5);
    assert_string_equal(m->subject_id, sme);
    assert_int_equal(m->candidate_kind, LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY);
    assert_true(m->n_facets >= 3);
    bool cobalt_explained = false;
    double sum = 0;
    for (size_t i = 0; i < m->n_facets; i++) {
        sum += m->facets[i]->contribution;
        if (strcmp(m->facets[i]->facet, "materials") == 0)
            cobalt_explained = strstr(m->facets[i]->reason, "cobalt") &&
                               strstr(m->facets[i]->reason, "critical raw material");
    }
    assert_true(cobalt_explained);
    assert_true(sum > m->score - 1e-9 && sum < m->score + 1e-9);
    assert_true(*m->model_version);
    lodestone__v1__reply__free_unpacked(reply, NULL);

    /* The opportunity's list holds the SME too. */
    reply = ls_pipe_await_match(opp, sme);
    lodestone__v1__reply__free_unpacked(reply, NULL);

    ls_notification_pb *note = ls_pipe_await_notification(sub, sme);
    assert_non_null(note);
    assert_string_equal(note->event->match->candidate_id, opp);
    assert_int_equal(note->event->kind, LODESTONE__V1__MATCH_EVENT__KIND__NEW);
    assert_non_null(strstr(note->text, "Cobalt flotation pilot"));
    lodestone__v1__notification__free_unpacked(note, NULL);

    /* And it is in the SME's inbox in Redis. */
    assert_true(s_integer("XLEN " LS_KEY_INBOX "%s", sme) >= 1);
    zsock_destroy(&sub);
    free(sme);
    free(opp);
}

static void test_put_twice_is_unchanged_and_get_returns_entity(void **state)
{
    (void)state;
    ls_reply_pb *first = ls_pipe_put_sme("it-sme-same", "SE331", "copper", "extraction", 5);
    ls_reply_pb *second = ls_pipe_put_sme("it-sme-same", "SE331", "copper", "extraction", 5);
    assert_int_equal(second->status->code, LODESTONE__V1__STATUS__CODE__OK);
    assert_string_equal(first->put->id, second->put->id);
    assert_true(second->put->unchanged);
    assert_int_equal(second->put->version, 1);
    assert_int_equal(second->put->seq, 0);

    ls_reply_pb *third = ls_pipe_put_sme("it-sme-same", "SE331", "copper", "extraction", 6);
    assert_int_equal(third->put->version, 2);
    assert_false(third->put->created);

    ls_client_t *client = ls_pipe_client(LS_PIPE_REGISTRY);
    ls_reply_pb *got = ls_client_get(client, first->put->id);
    assert_int_equal(got->status->code, LODESTONE__V1__STATUS__CODE__OK);
    assert_int_equal(got->entity->body_case, LODESTONE__V1__ENTITY__BODY_SME);
    assert_string_equal(got->entity->sme->id, first->put->id);
    assert_string_equal(got->entity->sme->country, "SE"); /* derived from the region */
    assert_int_equal(got->entity->sme->trl, 6);
    assert_int_equal(got->entity->sme->version, 2);
    lodestone__v1__reply__free_unpacked(got, NULL);

    got = ls_client_get(client, "sme-999999");
    assert_int_equal(got->status->code, LODESTONE__V1__STATUS__CODE__NOT_FOUND);
    lodestone__v1__reply__free_unpacked(got, NULL);
    ls_client_destroy(&client);
    lodestone__v1__reply__free_unpacked(first, NULL);
    lodestone__v1__reply__free_unpacked(second, NULL);
    lodestone__v1__reply__free_unpacked(third, NULL);
}

static bool s_has_error(const ls_reply_pb *reply, const char *field)
{
    for (size_t i = 0; i < reply->status->n_errors; i++)
        if (strcmp(reply->status->errors[i]->field, field) == 0)
            return true;
    return false;
}

static void s_assert_still_serving(void)
{
    for (int i = 0; i < LS_PIPE_SERVICES; i++)
        assert_int_equal(ls_pipe_ready(i), 0);
}

static void test_bad_input_gets_named_errors(void **state)
{
    (void)state;
    ls_reply_pb *reply = ls_pipe_put_sme("it-bad", "XX99", "unobtainium", "beneficiation", 12);
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__INVALID);
    assert_true(s_has_error(reply, "sme.region"));
    assert_true(s_has_error(reply, "sme.materials[0]"));
    assert_true(s_has_error(reply, "sme.trl"));
    lodestone__v1__reply__free_unpacked(reply, NULL);

    for (int service = 0; service < LS_PIPE_SERVICES; service++) {
        ls_client_t *client = ls_pipe_client(service);
        const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x80};
        reply = ls_client_call_raw(client, garbage, sizeof garbage);
        assert_non_null(reply);
        assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__MALFORMED);
        lodestone__v1__reply__free_unpacked(reply, NULL);

        /* version 1, request id "u1", and field 99 that no service knows */
        const uint8_t unknown[] = {0x08, 0x01, 0x12, 0x02, 'u', '1', 0x9a, 0x06, 0x00};
        reply = ls_client_call_raw(client, unknown, sizeof unknown);
        assert_non_null(reply);
        assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__UNSUPPORTED);
        assert_string_equal(reply->request_id, "u1");
        lodestone__v1__reply__free_unpacked(reply, NULL);
        ls_client_destroy(&client);
    }

    /* A request the service does not serve. */
    ls_client_t *client = ls_pipe_client(LS_PIPE_NOTIFICATION);
    reply = ls_client_get(client, "sme-1");
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__UNSUPPORTED);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    ls_client_destroy(&client);

    /* An oversized frame is refused by ZMQ_MAXMSGSIZE or the size check; either way
     * the registry keeps serving. */
    size_t big = 2 * 1024 * 1024;
    uint8_t *huge = calloc(1, big);
    client = ls_client_new(ls_pipe.router[LS_PIPE_REGISTRY], 500);
    reply = ls_client_call_raw(client, huge, big);
    if (reply)
        lodestone__v1__reply__free_unpacked(reply, NULL);
    ls_client_destroy(&client);
    free(huge);
    s_assert_still_serving();
}

/* Counts match-journal entries for (subject, candidate) of kind NEW. */
static int s_count_new(const char *subject, const char *candidate)
{
    redisReply *reply = ls_store_command(ls_pipe.store, "XRANGE " LS_KEY_JOURNAL_MATCHES " - +");
    assert_non_null(reply);
    int count = 0;
    for (size_t i = 0; i < reply->elements; i++) {
        redisReply *fields = reply->element[i]->element[1];
        redisReply *d = fields->element[1];
        ls_match_event_pb *e =
            lodestone__v1__match_event__unpack(NULL, d->len, (const uint8_t *)d->str);
        assert_non_null(e);
        if (e->kind == LODESTONE__V1__MATCH_EVENT__KIND__NEW &&
            strcmp(e->match->subject_id, subject) == 0 &&
            strcmp(e->match->candidate_id, candidate) == 0)
            count++;
        lodestone__v1__match_event__free_unpacked(e, NULL);
    }
    freeReplyObject(reply);
    return count;
}

static void test_sigkill_loses_and_repeats_nothing(void **state)
{
    (void)state;
    char *opp =
        ls_pipe_put_id(ls_pipe_put_opportunity("it-opp-kill", "ES12", "fluorspar", "extraction"));
    ls_pipe_await_caught_up();

    /* Kill matching and notification hard, write while they are down. */
    ls_test_kill(&ls_pipe.procs[LS_PIPE_MATCHING]);
    ls_test_kill(&ls_pipe.procs[LS_PIPE_NOTIFICATION]);
    char *smes[5];
    for (int i = 0; i < 5; i++) {
        char ref[32];
        snprintf(ref, sizeof ref, "it-sme-kill-%d", i);
        smes[i] = ls_pipe_put_id(ls_pipe_put_sme(ref, "ES12", "fluorspar", "extraction", 4));
    }
    assert_int_equal(ls_pipe_start(LS_PIPE_MATCHING), 0);
    /* Kill matching again in the middle of its catch-up work, then once more. */
    ls_test_kill(&ls_pipe.procs[LS_PIPE_MATCHING]);
    assert_int_equal(ls_pipe_start(LS_PIPE_MATCHING), 0);
    assert_int_equal(ls_pipe_start(LS_PIPE_NOTIFICATION), 0);
    ls_pipe_await_caught_up();

    for (int i = 0; i < 5; i++) {
        ls_reply_pb *reply = ls_pipe_await_match(smes[i], opp);
        lodestone__v1__reply__free_unpacked(reply, NULL);
        assert_int_equal(s_count_new(smes[i], opp), 1);
        assert_int_equal(s_count_new(opp, smes[i]), 1);
        free(smes[i]);
    }
    /* Every match event became exactly one inbox entry, but those of entities
     * erased by an earlier test (an erased entity keeps no inbox). */
    redisReply *inboxes = ls_store_command(ls_pipe.store, "KEYS " LS_KEY_INBOX "*");
    long long total = 0;
    for (size_t i = 0; i < inboxes->elements; i++)
        total += s_integer("XLEN %s", inboxes->element[i]->str);
    freeReplyObject(inboxes);
    uint64_t events = 0, to_erased = 0;
    ls_store_get_u64(ls_pipe.store, LS_KEY_SEQ_MATCHES, &events);
    for (uint64_t seq = 1; seq <= events; seq++) {
        ls_match_event_pb *event = ls_pipe_match_event(seq);
        redisReply *subject = ls_store_command(ls_pipe.store, "HGET " LS_KEY_ENTITY "%s state",
                                               event->match->subject_id);
        to_erased +=
            subject && subject->type == REDIS_REPLY_STRING && strcmp(subject->str, "2") == 0;
        if (subject)
            freeReplyObject(subject);
        lodestone__v1__match_event__free_unpacked(event, NULL);
    }
    assert_int_equal(total, (long long)(events - to_erased));
    free(opp);
}

static void s_change_state(const char *id, bool erase)
{
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__WithdrawEntity withdraw = LODESTONE__V1__WITHDRAW_ENTITY__INIT;
    Lodestone__V1__EraseEntity erasure = LODESTONE__V1__ERASE_ENTITY__INIT;
    withdraw.id = erasure.id = (char *)id;
    env.body_case =
        erase ? LODESTONE__V1__ENVELOPE__BODY_ERASE : LODESTONE__V1__ENVELOPE__BODY_WITHDRAW;
    env.withdraw = &withdraw;
    if (erase)
        env.erase = &erasure;
    ls_client_t *client = ls_pipe_client(LS_PIPE_REGISTRY);
    ls_reply_pb *reply = ls_client_call(client, &env);
    assert_non_null(reply);
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__OK);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    ls_client_destroy(&client);
}

/* Waits until id's list no longer holds candidate. */
static void s_await_gone(const char *id, const char *candidate)
{
    ls_client_t *client = ls_pipe_client(LS_PIPE_MATCHING);
    int64_t deadline = ls_mono_ms() + 10000;
    bool gone = false;
    while (!gone && ls_mono_ms() < deadline) {
        ls_reply_pb *reply = ls_client_matches(client, id, 0);
        assert_non_null(reply);
        gone = reply->status->code == LODESTONE__V1__STATUS__CODE__OK &&
               !ls_pipe_find(reply, candidate);
        lodestone__v1__reply__free_unpacked(reply, NULL);
        if (!gone)
            zclock_sleep(50);
    }
    ls_client_destroy(&client);
    if (!gone)
        fail_msg("%s still lists %s after 10 s", id, candidate);
}

static void test_withdrawal_and_erasure_leave_the_lists(void **state)
{
    (void)state;
    zsock_t *sub = ls_pipe_subscribe("to/");
    char *sme = ls_pipe_put_id(ls_pipe_put_sme("it-sme-gone", "EL64", "aluminium", "refining", 7));
    char *opp =
        ls_pipe_put_id(ls_pipe_put_opportunity("it-opp-gone", "EL64", "aluminium", "refining"));
    ls_reply_pb *reply = ls_pipe_await_match(sme, opp);
    lodestone__v1__reply__free_unpacked(reply, NULL);

    s_change_state(opp, false); /* withdrawn: out of matching, both ways */
    s_await_gone(sme, opp);
    s_await_gone(opp, sme);
    bool told = false;
    for (int i = 0; i < 10 && !told; i++) {
        ls_notification_pb *note = ls_pipe_await_notification(sub, sme);
        assert_non_null(note);
        told = note->event->kind == LODESTONE__V1__MATCH_EVENT__KIND__GONE &&
               strcmp(note->event->match->candidate_id, opp) == 0;
        lodestone__v1__notification__free_unpacked(note, NULL);
    }
    assert_true(told);

    /* A new opportunity matches the SME; erasing the SME clears both lists. */
    char *opp2 =
        ls_pipe_put_id(ls_pipe_put_opportunity("it-opp-gone-2", "EL64", "aluminium", "refining"));
    reply = ls_pipe_await_match(opp2, sme);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    s_change_state(sme, true);
    s_await_gone(opp2, sme);
    assert_int_equal(s_integer("HLEN " LS_KEY_MATCHES "%s", sme), 0);
    zsock_destroy(&sub);
    free(sme);
    free(opp);
    free(opp2);
}

/* Runs lodestonectl with args; captures stdout and stderr into out (NUL-ended).
 * Returns its exit status. */
static void test_cli_reports_results_and_errors(void **state)
{
    (void)state;
    char *dir = ls_test_tmpdir("lodestone-cli");
    char path[300], args[400], out[16384];
    snprintf(path, sizeof path, "%s/entities.json", dir);
    FILE *file = fopen(path, "w");
    fputs("[{\"sme\": {\"ref\": \"cli-good\", \"name\": \"Kainuu Leach Oy\", "
          "\"region\": \"FI1D8\", \"materials\": [\"nickel\"], "
          "\"stages\": [\"beneficiation\"], \"consentMatch\": true}},\n"
          " {\"sme\": {\"ref\": \"cli-bad\", \"name\": \"Nowhere\", \"region\": \"ZZ1\", "
          "\"stages\": [\"beneficiation\"]}},\n"
          " {\"sme\": {\"ref\": \"cli-type\", \"trl\": \"high\"}}]\n",
          file);
    fclose(file);

    snprintf(args, sizeof args, "put %s", path);
    assert_int_equal(ls_pipe_ctl(args, out, sizeof out), 1); /* one of three failed */
    assert_non_null(strstr(out, "\"ref\":\"cli-good\",\"id\":\"sme-"));
    assert_non_null(strstr(out, "entities.json[1] (ref cli-bad): INVALID"));
    assert_non_null(strstr(out, "sme.region: 'ZZ1' is not a known region code"));
    assert_non_null(strstr(out, "entities.json[2]"));
    assert_non_null(strstr(out, "entity.sme.trl"));
    assert_non_null(strstr(out, "1 entities stored (1 created, 0 updated, 0 unchanged), 2 failed"));

    const char *id = strstr(out, "\"id\":\"") + 6;
    char sme[32];
    snprintf(sme, sizeof sme, "%.*s", (int)strcspn(id, "\""), id);
    snprintf(args, sizeof args, "get %s", sme);
    assert_int_equal(ls_pipe_ctl(args, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"name\": \"Kainuu Leach Oy\""));
    assert_non_null(strstr(out, "\"country\": \"FI\""));

    assert_int_equal(ls_pipe_ctl("get sme-0", out, sizeof out), 1);
    assert_non_null(strstr(out, "NOT_FOUND"));
    snprintf(args, sizeof args, "matches %s --text", sme);
    assert_int_equal(ls_pipe_ctl(args, out, sizeof out), 0);
    assert_int_equal(ls_pipe_ctl("ping registry", out, sizeof out), 0);
    assert_non_null(strstr(out, "\"service\":\"registry\""));
    assert_int_equal(ls_pipe_ctl("ping nothing", out, sizeof out), 2);
    assert_int_equal(ls_pipe_ctl("frobnicate", out, sizeof out), 2);
    assert_int_equal(ls_pipe_ctl("wait --timeout 20", out, sizeof out), 0);
    /* The registry commands beyond put and get. */
    snprintf(args, sizeof args, "patch %s '{\"sme\": {\"trl\": 8}}'", sme);
    assert_int_equal(ls_pipe_ctl(args, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"version\":\"2\""));
    snprintf(args, sizeof args, "patch %s '{\"sme\": {\"trl\": 9}}' --expect 1", sme);
    assert_int_equal(ls_pipe_ctl(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "CONFLICT"));
    assert_int_equal(ls_pipe_ctl("list --kind sme --region FI1D8 --text leach", out, sizeof out),
                     0);
    assert_non_null(strstr(out, "Kainuu Leach Oy"));
    assert_int_equal(ls_pipe_ctl("list --kind robot", out, sizeof out), 2);
    assert_int_equal(ls_pipe_ctl("taxonomy nace \"metal ores\"", out, sizeof out), 0);
    assert_non_null(strstr(out, "\"code\":\"07.29\""));
    assert_int_equal(ls_pipe_ctl("taxonomy planets", out, sizeof out), 2);
    snprintf(args, sizeof args, "withdraw %s", sme);
    assert_int_equal(ls_pipe_ctl(args, out, sizeof out), 0);
    assert_int_equal(ls_pipe_ctl("list --kind sme --region FI1D8 --text leach", out, sizeof out),
                     0);
    assert_null(strstr(out, "Kainuu Leach Oy"));
    snprintf(args, sizeof args, "erase %s", sme);
    assert_int_equal(ls_pipe_ctl(args, out, sizeof out), 0);
    snprintf(args, sizeof args, "get %s", sme);
    assert_int_equal(ls_pipe_ctl(args, out, sizeof out), 1);

    snprintf(args, sizeof args, "put %s/missing.json", dir);
    assert_int_equal(ls_pipe_ctl(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "missing.json"));
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* Matching serves the capability map and the suggestions over what it indexes. */
static void test_report_is_served(void **state)
{
    (void)state;
    ls_client_t *client = ls_pipe_client(LS_PIPE_MATCHING);
    for (int kind = 1; kind <= 2; kind++) {
        ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
        Lodestone__V1__GetReport q = LODESTONE__V1__GET_REPORT__INIT;
        q.kind = (Lodestone__V1__GetReport__Kind)kind;
        env.body_case = LODESTONE__V1__ENVELOPE__BODY_REPORT;
        env.report = &q;
        ls_reply_pb *reply = ls_client_call(client, &env);
        if (!reply)
            fail_msg("report %d: %s", kind, ls_client_error(client));
        assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__OK);
        assert_int_equal(reply->body_case, LODESTONE__V1__REPLY__BODY_REPORT);
        if (kind == 1) {
            assert_non_null(reply->report->map);
            assert_int_equal(reply->report->map->n_regions, 7);
            assert_true(reply->report->map->smes > 0);
        } else
            assert_non_null(reply->report->demos);
        lodestone__v1__reply__free_unpacked(reply, NULL);
    }
    /* A bad request is named. */
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__GetReport q = LODESTONE__V1__GET_REPORT__INIT;
    q.kind = LODESTONE__V1__GET_REPORT__KIND__DEMOS;
    q.material = "kryptonite";
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_REPORT;
    env.report = &q;
    ls_reply_pb *reply = ls_client_call(client, &env);
    assert_non_null(reply);
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__INVALID);
    assert_non_null(strstr(reply->status->message, "kryptonite"));
    lodestone__v1__reply__free_unpacked(reply, NULL);
    ls_client_destroy(&client);

    /* And through the CLI, in each format. */
    char out[65536];
    assert_int_equal(ls_pipe_ctl("report map", out, sizeof out), 0);
    assert_non_null(strstr(out, "Lapland"));
    assert_int_equal(ls_pipe_ctl("report map --csv", out, sizeof out), 0);
    assert_non_null(strstr(out, "facet,region,region_name,value,count,share,strength"));
    assert_int_equal(ls_pipe_ctl("report demos --json", out, sizeof out), 0);
    assert_non_null(strstr(out, "rankingRule"));
    char *dir = ls_test_tmpdir("lodestone-report");
    char args[512];
    snprintf(args, sizeof args, "report map --svg %s/map.svg", dir);
    assert_int_equal(ls_pipe_ctl(args, out, sizeof out), 0);
    snprintf(args, sizeof args, "%s/map.svg", dir);
    FILE *svg = fopen(args, "r");
    assert_non_null(svg);
    char head[256] = "";
    assert_true(fread(head, 1, sizeof head - 1, svg) > 0);
    fclose(svg);
    assert_non_null(strstr(head, "<svg"));
    unlink(args);
    rmdir(dir);
    free(dir);
    assert_int_equal(ls_pipe_ctl("report demos --material kryptonite", out, sizeof out), 1);
    assert_non_null(strstr(out, "kryptonite"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fitting_pair_is_matched_explained_and_notified),
        cmocka_unit_test(test_put_twice_is_unchanged_and_get_returns_entity),
        cmocka_unit_test(test_bad_input_gets_named_errors),
        cmocka_unit_test(test_withdrawal_and_erasure_leave_the_lists),
        cmocka_unit_test(test_sigkill_loses_and_repeats_nothing),
        cmocka_unit_test(test_cli_reports_results_and_errors),
        cmocka_unit_test(test_report_is_served),
    };
    int failed = cmocka_run_group_tests(tests, ls_pipe_setup, ls_pipe_teardown);
    /* cmocka reports a failed group teardown but does not count it. */
    return failed || ls_pipe.teardown_failed ? 1 : 0;
}
