/* pipeline.c — the whole pipeline for integration tests (pipeline.h). */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ls_codec.h"
#include "ls_keys.h"
#include "ls_util.h"

static const char *s_names[] = {"registry", "matching", "notification"};
static const char *s_env_bin[] = {"LS_TEST_REGISTRY", "LS_TEST_MATCHING", "LS_TEST_NOTIFICATION"};

ls_pipe_t ls_pipe;

ls_client_t *ls_pipe_client(int service)
{
    return ls_client_new(ls_pipe.router[service], 3000);
}

/* Waits until service answers a ping. */
int ls_pipe_ready(int service)
{
    return ls_test_await_ping(ls_pipe.router[service]);
}

int ls_pipe_start(int service)
{
    const char *path = getenv(s_env_bin[service]);
    if (!path)
        return -1;
    ls_test_env_t env;
    ls_test_env_copy(&env, &ls_pipe.env);
    ls_test_env_redis(&env, ls_pipe.redis_url, s_names[service]);
    ls_pipe.procs[service] = ls_test_spawn(s_names[service], path, env.env);
    if (!ls_pipe.procs[service] || ls_pipe_ready(service)) {
        fprintf(stderr, "%s did not come up\n", s_names[service]);
        if (ls_pipe.procs[service])
            ls_test_dump_log(ls_pipe.procs[service]);
        return -1;
    }
    return 0;
}

ls_test_proc_t *ls_pipe_start_notification_beside(const char *name)
{
    const char *path = getenv(s_env_bin[LS_PIPE_NOTIFICATION]);
    if (!path)
        return NULL;
    ls_test_env_t env;
    ls_test_env_copy(&env, &ls_pipe.env);
    ls_test_env_redis(&env, ls_pipe.redis_url, s_names[LS_PIPE_NOTIFICATION]);
    char router[64], ignored[64];
    ls_test_env_socket(&env, "NOTIFICATION", router, sizeof router);
    ls_test_env_socket(&env, "NOTIFICATION_PULL", ignored, sizeof ignored);
    ls_test_env_socket(&env, "NOTIFICATION_PUB", ignored, sizeof ignored);
    ls_test_env_set(&env, "LODESTONE_NOTIFICATION_HTTP_BIND", "127.0.0.1:0");
    ls_test_proc_t *proc = ls_test_spawn(name, path, env.env);
    if (proc && ls_test_await_ping(router) == 0)
        return proc;
    fprintf(stderr, "%s did not come up\n", name);
    if (proc) {
        ls_test_dump_log(proc);
        ls_test_kill(&proc);
    }
    return NULL;
}

int ls_pipe_setup(void **state)
{
    (void)state;
    return ls_pipe_setup_with(NULL);
}

int ls_pipe_setup_with(const char *const *extra)
{
    /* With AOF, as in production, so that a test can restart Redis (everysec: a
     * SIGTERM writes what is pending). */
    ls_pipe.redis_dir = ls_test_tmpdir("lodestone-pipe-redis");
    ls_pipe.redis =
        ls_test_redis_start(ls_pipe.redis_dir, ls_pipe.redis_url, sizeof ls_pipe.redis_url);
    if (!ls_pipe.redis)
        return -1;
    char ignored[64];
    ls_test_env_set(&ls_pipe.env, "LODESTONE_DATA_DIR", LS_TEST_DATA_DIR);
    ls_test_env_set(&ls_pipe.env, "LODESTONE_HEARTBEAT_MS", "200");
    /* One name across restarts, as a container keeps its host name: a matching
     * started again takes its partition's lease back at once. */
    ls_test_env_set(&ls_pipe.env, "LODESTONE_INSTANCE", "matching-under-test");
    ls_test_env_set(&ls_pipe.env, "LODESTONE_LOG_LEVEL", "info");
    /* Health and metrics on free ports too: tests run side by side (ctest -j). */
    const char *http[] = {"LODESTONE_REGISTRY_HTTP_BIND", "LODESTONE_MATCHING_HTTP_BIND",
                          "LODESTONE_NOTIFICATION_HTTP_BIND"};
    for (size_t i = 0; i < 3; i++) {
        bool given = false; /* by the test: its own choice stands */
        for (size_t k = 0; extra && extra[k] && extra[k + 1]; k += 2)
            given = given || strcmp(extra[k], http[i]) == 0;
        if (given)
            continue;
        char bind[32];
        snprintf(bind, sizeof bind, "127.0.0.1:%d", ls_test_free_port());
        ls_test_env_set(&ls_pipe.env, http[i], bind);
    }
    for (size_t i = 0; extra && extra[i] && extra[i + 1]; i += 2)
        ls_test_env_set(&ls_pipe.env, extra[i], extra[i + 1]);
    ls_test_env_socket(&ls_pipe.env, "REGISTRY", ls_pipe.router[LS_PIPE_REGISTRY],
                       sizeof ls_pipe.router[0]);
    ls_test_env_socket(&ls_pipe.env, "REGISTRY_PUB", ignored, sizeof ignored);
    ls_test_env_socket(&ls_pipe.env, "MATCHING", ls_pipe.router[LS_PIPE_MATCHING],
                       sizeof ls_pipe.router[0]);
    ls_test_env_socket(&ls_pipe.env, "NOTIFICATION", ls_pipe.router[LS_PIPE_NOTIFICATION],
                       sizeof ls_pipe.router[0]);
    ls_test_env_socket(&ls_pipe.env, "NOTIFICATION_PULL", ignored, sizeof ignored);
    ls_test_env_socket(&ls_pipe.env, "NOTIFICATION_PUB", ls_pipe.feed, sizeof ls_pipe.feed);
    char err[256];
    ls_pipe.store = ls_store_new(ls_pipe.redis_url, 2000, err, sizeof err);
    if (!ls_pipe.store)
        return -1;
    for (int i = 0; i < LS_PIPE_SERVICES; i++)
        if (ls_pipe_start(i))
            return -1;
    return 0;
}

/* Stops the services; a service that does not exit 0 on SIGTERM (a crash, a
 * sanitizer or valgrind report) fails the run. */
int ls_pipe_teardown(void **state)
{
    (void)state;
    int rc = 0;
    for (int i = 0; i < LS_PIPE_SERVICES; i++)
        if (ls_pipe.procs[i]) {
            int status = ls_test_stop(&ls_pipe.procs[i]);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "%s did not exit cleanly: status %d\n", s_names[i], status);
                rc = -1;
            }
        }
    ls_store_destroy(&ls_pipe.store);
    ls_test_stop(&ls_pipe.redis);
    if (ls_pipe.redis_dir) {
        char command[512], out[64];
        snprintf(command, sizeof command, "rm -rf -- '%s'", ls_pipe.redis_dir);
        ls_test_run(command, out, sizeof out);
        free(ls_pipe.redis_dir);
        ls_pipe.redis_dir = NULL;
    }
    ls_pipe.teardown_failed = rc != 0;
    return rc;
}

/* ---------------------------------------------------------------------------
 * Helpers to build entities */

void ls_pipe_sme(ls_pipe_entity_t *e, const char *ref, const char *region, const char *material,
                 const char *stage, unsigned trl)
{
    memset(e, 0, sizeof *e);
    lodestone__v1__entity__init(&e->entity);
    lodestone__v1__sme__init(&e->sme);
    e->materials[0] = (char *)material;
    e->stages[0] = (char *)stage;
    e->sme.ref = (char *)ref;
    e->sme.name = "Kemi Flotation Oy";
    e->sme.region = (char *)region;
    e->sme.materials = e->materials;
    e->sme.n_materials = 1;
    e->sme.stages = e->stages;
    e->sme.n_stages = 1;
    e->sme.trl = trl;
    e->sme.consent_match = 1;
    e->entity.body_case = LODESTONE__V1__ENTITY__BODY_SME;
    e->entity.sme = &e->sme;
}

void ls_pipe_opportunity(ls_pipe_entity_t *e, const char *ref, const char *region,
                         const char *material, const char *stage)
{
    memset(e, 0, sizeof *e);
    lodestone__v1__entity__init(&e->entity);
    lodestone__v1__opportunity__init(&e->opportunity);
    e->materials[0] = (char *)material;
    e->stages[0] = (char *)stage;
    e->opportunity.ref = (char *)ref;
    e->opportunity.kind = LODESTONE__V1__OPPORTUNITY__KIND__SUPPLY_NEED;
    e->opportunity.title = "Cobalt flotation pilot";
    e->opportunity.region = (char *)region;
    e->opportunity.materials = e->materials;
    e->opportunity.n_materials = 1;
    e->opportunity.stages = e->stages;
    e->opportunity.n_stages = 1;
    e->entity.body_case = LODESTONE__V1__ENTITY__BODY_OPPORTUNITY;
    e->entity.opportunity = &e->opportunity;
}

ls_reply_pb *ls_pipe_put(ls_entity_pb *entity)
{
    ls_client_t *client = ls_pipe_client(LS_PIPE_REGISTRY);
    ls_reply_pb *reply = ls_client_put(client, entity, 0);
    ls_client_destroy(&client);
    return reply;
}

ls_reply_pb *ls_pipe_put_sme(const char *ref, const char *region, const char *material,
                             const char *stage, unsigned trl)
{
    ls_pipe_entity_t e;
    ls_pipe_sme(&e, ref, region, material, stage, trl);
    return ls_pipe_put(&e.entity);
}

ls_reply_pb *ls_pipe_put_opportunity(const char *ref, const char *region, const char *material,
                                     const char *stage)
{
    ls_pipe_entity_t e;
    ls_pipe_opportunity(&e, ref, region, material, stage);
    return ls_pipe_put(&e.entity);
}

/* Takes the id out of a successful put reply and frees the reply. */
char *ls_pipe_put_id(ls_reply_pb *reply)
{
    assert_non_null(reply);
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__OK);
    assert_int_equal(reply->body_case, LODESTONE__V1__REPLY__BODY_PUT);
    char *id = strdup(reply->put->id);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    return id;
}

/* Polls matching until id has a match with candidate, or 10 s pass. The caller
 * frees the reply. */
ls_reply_pb *ls_pipe_await_match(const char *id, const char *candidate)
{
    ls_client_t *client = ls_pipe_client(LS_PIPE_MATCHING);
    int64_t deadline = ls_mono_ms() + 10000;
    ls_reply_pb *reply = NULL;
    while (ls_mono_ms() < deadline) {
        reply = ls_client_matches(client, id, 0);
        assert_non_null(reply);
        assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__OK);
        for (size_t i = 0; i < reply->matches->n_matches; i++)
            if (strcmp(reply->matches->matches[i]->candidate_id, candidate) == 0) {
                ls_client_destroy(&client);
                return reply;
            }
        lodestone__v1__reply__free_unpacked(reply, NULL);
        reply = NULL;
        zclock_sleep(50);
    }
    ls_client_destroy(&client);
    fail_msg("no match %s -> %s within 10 s", id, candidate);
    return NULL;
}

const ls_match_pb *ls_pipe_find(const ls_reply_pb *reply, const char *candidate)
{
    for (size_t i = 0; i < reply->matches->n_matches; i++)
        if (strcmp(reply->matches->matches[i]->candidate_id, candidate) == 0)
            return reply->matches->matches[i];
    return NULL;
}

zsock_t *ls_pipe_subscribe(const char *prefix)
{
    zsock_t *sub = zsock_new(ZMQ_SUB);
    assert_non_null(sub);
    zactor_t *monitor = zactor_new(zmonitor, sub);
    assert_non_null(monitor);
    zstr_sendx(monitor, "LISTEN", "HANDSHAKE_SUCCEEDED", NULL);
    zstr_sendx(monitor, "START", NULL);
    zsock_wait(monitor);
    zsock_set_subscribe(sub, prefix);
    assert_int_equal(zsock_connect(sub, "%s", ls_pipe.feed), 0);
    /* A SUB sends its subscriptions as soon as the handshake is done, not when a
     * fixed sleep ends. */
    zsock_set_rcvtimeo(monitor, 10000);
    zmsg_t *event = zmsg_recv(monitor);
    if (!event)
        fail_msg("no handshake with the feed %s within 10 s", ls_pipe.feed);
    zmsg_destroy(&event);
    zactor_destroy(&monitor);
    return sub;
}

/* Waits for a notification to recipient on the feed; returns it (caller frees). */
ls_notification_pb *ls_pipe_await_notification(zsock_t *sub, const char *recipient)
{
    zpoller_t *poller = zpoller_new(sub, NULL);
    int64_t deadline = ls_mono_ms() + 10000;
    ls_notification_pb *found = NULL;
    while (!found && ls_mono_ms() < deadline) {
        if (!zpoller_wait(poller, 200))
            continue;
        zmsg_t *msg = zmsg_recv(sub);
        char *topic = zmsg_popstr(msg);
        zframe_t *body = zmsg_pop(msg);
        const char *reason = NULL;
        ls_notification_pb *note = (ls_notification_pb *)ls_codec_unpack(
            &lodestone__v1__notification__descriptor, zframe_data(body), zframe_size(body), 1 << 20,
            &reason);
        assert_non_null(note);
        char expected[200];
        snprintf(expected, sizeof expected, "to/%s/", note->recipient);
        assert_string_equal(topic, expected);
        if (strcmp(note->recipient, recipient) == 0)
            found = note;
        else
            lodestone__v1__notification__free_unpacked(note, NULL);
        zstr_free(&topic);
        zframe_destroy(&body);
        zmsg_destroy(&msg);
    }
    zpoller_destroy(&poller);
    return found;
}

void ls_pipe_await_caught_up(void)
{
    static const char *keys[] = {
        LS_KEY_SEQ_CHANGES, LS_KEY_SEQ_MATCHES, LS_KEY_CHECKPOINT "matching:0-of-1",
        LS_KEY_CHECKPOINT "notification", LS_KEY_CHECKPOINT "notification-postings"};
    uint64_t at[5] = {0};
    bool read = false;
    int64_t deadline = ls_mono_ms() + 15000;
    while (ls_mono_ms() < deadline) {
        /* All five, or the comparison below could pass on values never read (a
         * redis-server restarting answers nothing for a moment). */
        read = true;
        for (size_t i = 0; i < 5; i++)
            read = read && ls_store_get_u64(ls_pipe.store, keys[i], &at[i]) == 0;
        if (read && at[2] == at[0] && at[3] == at[1] && at[4] == at[0])
            return;
        zclock_sleep(50);
    }
    if (!read)
        fail_msg("services did not catch up within 15 s: Redis does not say how far they are");
    fail_msg("services did not catch up within 15 s: changes %llu, matching at %llu, postings "
             "at %llu; match events %llu, notification at %llu",
             (unsigned long long)at[0], (unsigned long long)at[2], (unsigned long long)at[4],
             (unsigned long long)at[1], (unsigned long long)at[3]);
}

ls_match_event_pb *ls_pipe_match_event(uint64_t seq)
{
    redisReply *r =
        ls_store_command(ls_pipe.store, "XRANGE %s %llu-0 %llu-0", LS_KEY_JOURNAL_MATCHES,
                         (unsigned long long)seq, (unsigned long long)seq);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 1)
        fail_msg("the match journal has no entry %llu", (unsigned long long)seq);
    redisReply *value = r->element[0]->element[1]->element[1];
    ls_match_event_pb *event = (ls_match_event_pb *)ls_codec_unpack(
        &lodestone__v1__match_event__descriptor, value->str, value->len, SIZE_MAX, NULL);
    freeReplyObject(r);
    if (!event)
        fail_msg("match journal entry %llu does not unpack", (unsigned long long)seq);
    return event;
}

int ls_pipe_restart_redis(void)
{
    int status = ls_test_stop(&ls_pipe.redis); /* SIGTERM: the AOF is written */
    if (!WIFEXITED(status))
        return -1;
    int port = atoi(strrchr(ls_pipe.redis_url, ':') + 1);
    char url[128];
    ls_pipe.redis = ls_test_redis_start_at(ls_pipe.redis_dir, port, url, sizeof url);
    return ls_pipe.redis ? 0 : -1;
}

int ls_pipe_ctl(const char *args, char *out, size_t len)
{
    static bool env_set;
    if (!env_set) { /* the CLI reads the same endpoints as the services */
        for (int i = 0; ls_pipe.env.env[i]; i++)
            putenv((char *)ls_pipe.env.env[i]);
        env_set = true;
    }
    char command[2048];
    snprintf(command, sizeof command, "%s %s 2>&1", getenv("LS_TEST_CTL"), args);
    return ls_test_run(command, out, len);
}
