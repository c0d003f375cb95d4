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

ls_reply_pb *ls_pipe_put_sme(const char *ref, const char *region, const char *material,
                             const char *stage, unsigned trl)
{
    ls_sme_pb sme = LODESTONE__V1__SME__INIT;
    char *materials[] = {(char *)material};
    char *stages[] = {(char *)stage};
    sme.ref = (char *)ref;
    sme.name = "Kemi Flotation Oy";
    sme.region = (char *)region;
    sme.materials = materials;
    sme.n_materials = 1;
    sme.stages = stages;
    sme.n_stages = 1;
    sme.trl = trl;
    sme.consent_match = 1;
    ls_entity_pb entity = LODESTONE__V1__ENTITY__INIT;
    entity.body_case = LODESTONE__V1__ENTITY__BODY_SME;
    entity.sme = &sme;
    ls_client_t *client = ls_pipe_client(LS_PIPE_REGISTRY);
    ls_reply_pb *reply = ls_client_put(client, &entity, 0);
    ls_client_destroy(&client);
    return reply;
}

ls_reply_pb *ls_pipe_put_opportunity(const char *ref, const char *region, const char *material,
                                     const char *stage)
{
    ls_opportunity_pb opp = LODESTONE__V1__OPPORTUNITY__INIT;
    char *materials[] = {(char *)material};
    char *stages[] = {(char *)stage};
    opp.ref = (char *)ref;
    opp.kind = LODESTONE__V1__OPPORTUNITY__KIND__SUPPLY_NEED;
    opp.title = "Cobalt flotation pilot";
    opp.region = (char *)region;
    opp.materials = materials;
    opp.n_materials = 1;
    opp.stages = stages;
    opp.n_stages = 1;
    ls_entity_pb entity = LODESTONE__V1__ENTITY__INIT;
    entity.body_case = LODESTONE__V1__ENTITY__BODY_OPPORTUNITY;
    entity.opportunity = &opp;
    ls_client_t *client = ls_pipe_client(LS_PIPE_REGISTRY);
    ls_reply_pb *reply = ls_client_put(client, &entity, 0);
    ls_client_destroy(&client);
    return reply;
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
    int64_t deadline = ls_mono_ms() + 15000;
    while (ls_mono_ms() < deadline) {
        uint64_t changes = 0, matches = 0, matched = 0, notified = 0, posted = 0;
        ls_store_get_u64(ls_pipe.store, LS_KEY_SEQ_CHANGES, &changes);
        ls_store_get_u64(ls_pipe.store, LS_KEY_SEQ_MATCHES, &matches);
        ls_store_get_u64(ls_pipe.store, LS_KEY_CHECKPOINT "matching:0-of-1", &matched);
        ls_store_get_u64(ls_pipe.store, LS_KEY_CHECKPOINT "notification", &notified);
        ls_store_get_u64(ls_pipe.store, LS_KEY_CHECKPOINT "notification-postings", &posted);
        if (matched == changes && notified == matches && posted == changes)
            return;
        zclock_sleep(50);
    }
    fail_msg("services did not catch up within 15 s");
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
