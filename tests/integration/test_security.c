/* test_security.c — CURVE on the request sockets, against the real registry and
 * notification binaries and keys made as `lodestonectl keygen` makes them: a key in
 * the directory names the publisher (ownership follows it), a client without a key
 * or with an unknown one gets no answer, a request may not act as another publisher,
 * deleting a key file revokes it on an open connection, the CLI uses its key, and a
 * service whose key cannot be read does not start. */
#include "harness.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ls_client.h"
#include "ls_config.h"
#include "ls_security.h"
#include "ls_store.h"

static ls_test_proc_t *s_redis, *s_registry, *s_notification;
static char s_redis_url[128], s_registry_ep[64], s_notification_ep[64], s_feed_ep[64];
static char *s_dir; /* keys: server.*, publishers/, clients/ */
static ls_test_env_t s_env;

static char *s_path(const char *fmt, const char *name)
{
    char *relative = zsys_sprintf(fmt, name);
    char *path = zsys_sprintf("%s/%s", s_dir, relative);
    zstr_free(&relative);
    return path;
}

/* A key pair for publisher name: the public certificate into publishers/ when
 * allowed, the secret one stays in clients/. */
static void s_keygen(const char *name, bool allowed)
{
    char *base = s_path("clients/%s", name);
    char err[256];
    assert_int_equal(ls_security_keygen(name, base, err, sizeof err), 0);
    if (allowed) {
        char *from = zsys_sprintf("%s.key", base), *to = s_path("publishers/%s.key", name);
        assert_int_equal(rename(from, to), 0);
        zstr_free(&from);
        zstr_free(&to);
    }
    zstr_free(&base);
}

/* A client's configuration: with name's key, or plain without one (NULL). */
static void s_client_config(ls_config_t *config, const char *name)
{
    char err[512];
    assert_int_equal(ls_config_load(config, err, sizeof err), 0);
    if (!name)
        return;
    char *secret = s_path("clients/%s.key_secret", name), *server = s_path("%s", "server.key");
    snprintf(config->security, sizeof config->security, "curve");
    snprintf(config->client_secret_key, sizeof config->client_secret_key, "%s", secret);
    snprintf(config->server_public_key, sizeof config->server_public_key, "%s", server);
    zstr_free(&secret);
    zstr_free(&server);
}

/* A client holding name's key (NULL: no key, plain TCP). */
static ls_client_t *s_client(const char *endpoint, const char *name, long timeout_ms)
{
    if (!name)
        return ls_client_new(endpoint, timeout_ms);
    ls_config_t config;
    char err[512];
    s_client_config(&config, name);
    ls_client_t *client = ls_client_new_secure(endpoint, timeout_ms, &config, err, sizeof err);
    if (!client)
        fail_msg("%s", err);
    return client;
}

static int s_await_ready(const char *endpoint)
{
    for (int i = 0; i < 100; i++) {
        ls_client_t *client = s_client(endpoint, "ops", 200);
        ls_reply_pb *reply = ls_client_ping(client);
        ls_client_destroy(&client);
        if (reply) {
            lodestone__v1__reply__free_unpacked(reply, NULL);
            return 0;
        }
    }
    return -1;
}

static int s_group_setup(void **state)
{
    (void)state;
    s_dir = ls_test_tmpdir("lodestone-keys");
    char *publishers = s_path("%s", "publishers"), *clients = s_path("%s", "clients");
    char *server = s_path("%s", "server"), *server_secret = s_path("%s", "server.key_secret");
    char err[256];
    if (zsys_dir_create("%s", publishers) || zsys_dir_create("%s", clients) ||
        ls_security_keygen("server", server, err, sizeof err))
        return -1;
    s_keygen("ops", true);
    s_keygen("lapland", true);
    s_keygen("asturias", true);
    s_keygen("mallory", false);
    s_redis = ls_test_redis_start(NULL, s_redis_url, sizeof s_redis_url);
    if (!s_redis)
        return -1;
    ls_test_env_set(&s_env, "LODESTONE_DATA_DIR", LS_TEST_DATA_DIR);
    ls_test_env_set(&s_env, "LODESTONE_SECURITY", "curve");
    ls_test_env_set(&s_env, "LODESTONE_SERVER_SECRET_KEY", server_secret);
    ls_test_env_set(&s_env, "LODESTONE_PUBLISHER_KEYS", publishers);
    ls_test_env_set(&s_env, "LODESTONE_HEARTBEAT_MS", "200");
    ls_test_env_socket(&s_env, "REGISTRY", s_registry_ep, sizeof s_registry_ep);
    ls_test_env_socket(&s_env, "NOTIFICATION", s_notification_ep, sizeof s_notification_ep);
    ls_test_env_socket(&s_env, "NOTIFICATION_PUB", s_feed_ep, sizeof s_feed_ep);
    char ignored[64];
    ls_test_env_socket(&s_env, "REGISTRY_PUB", ignored, sizeof ignored);
    ls_test_env_socket(&s_env, "NOTIFICATION_PULL", ignored, sizeof ignored);
    ls_test_env_set(&s_env, "LODESTONE_REGISTRY_HTTP_BIND", "127.0.0.1:0");
    ls_test_env_set(&s_env, "LODESTONE_NOTIFICATION_HTTP_BIND", "127.0.0.1:0");
    zstr_free(&publishers);
    zstr_free(&clients);
    zstr_free(&server);
    zstr_free(&server_secret);
    ls_test_env_t registry_env, notification_env;
    ls_test_env_copy(&registry_env, &s_env);
    ls_test_env_copy(&notification_env, &s_env);
    ls_test_env_redis(&registry_env, s_redis_url, "registry");
    ls_test_env_redis(&notification_env, s_redis_url, "notification");
    ls_test_env_redis(&s_env, s_redis_url, "registry"); /* for test_service_without_... */
    s_registry = ls_test_spawn("registry", getenv("LS_TEST_REGISTRY"), registry_env.env);
    s_notification =
        ls_test_spawn("notification", getenv("LS_TEST_NOTIFICATION"), notification_env.env);
    if (!s_registry || !s_notification || s_await_ready(s_registry_ep) ||
        s_await_ready(s_notification_ep)) {
        if (s_registry)
            ls_test_dump_log(s_registry);
        if (s_notification)
            ls_test_dump_log(s_notification);
        return -1;
    }
    return 0;
}

static int s_group_teardown(void **state)
{
    (void)state;
    int a = s_registry ? ls_test_stop(&s_registry) : 0;
    int b = s_notification ? ls_test_stop(&s_notification) : 0;
    ls_test_stop(&s_redis);
    char *command = zsys_sprintf("rm -rf '%s'", s_dir);
    char out[64];
    ls_test_run(command, out, sizeof out);
    zstr_free(&command);
    zstr_free(&s_dir);
    return WIFEXITED(a) && WEXITSTATUS(a) == 0 && WIFEXITED(b) && WEXITSTATUS(b) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------------------
 * Requests */

static ls_reply_pb *s_put(ls_client_t *client, const char *ref, const char *id)
{
    char *json = zsys_sprintf("{\"sme\": {\"ref\": \"%s\", \"id\": \"%s\", \"name\": \"Keyed "
                              "Oy\", \"region\": \"FI1D7\", \"stages\": [\"mets\"], "
                              "\"materials\": [\"cobalt\"], \"trl\": 6}}",
                              ref, id ? id : "");
    ls_entity_pb *entity = ls_test_entity(json, NULL, 0);
    ls_reply_pb *reply = ls_client_put(client, entity, 0);
    lodestone__v1__entity__free_unpacked(entity, NULL);
    zstr_free(&json);
    return reply;
}

static int s_code(ls_reply_pb *reply)
{
    int code = reply && reply->status ? (int)reply->status->code : reply ? 0 : -1;
    if (reply)
        lodestone__v1__reply__free_unpacked(reply, NULL);
    return code;
}

static void test_key_names_the_publisher(void **state)
{
    (void)state;
    ls_client_t *lapland = s_client(s_registry_ep, "lapland", 5000);
    ls_reply_pb *reply = s_put(lapland, "keyed-1", NULL);
    assert_non_null(reply);
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__OK);
    char *id = strdup(reply->put->id);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    reply = ls_client_get(lapland, id);
    assert_non_null(reply);
    assert_int_equal(reply->status->code, LODESTONE__V1__STATUS__CODE__OK);
    assert_string_equal(reply->entity->sme->owner, "lapland");
    lodestone__v1__reply__free_unpacked(reply, NULL);

    /* Another publisher's key may not change it, nor may lapland's key name another. */
    ls_client_t *asturias = s_client(s_registry_ep, "asturias", 5000);
    assert_int_equal(s_code(s_put(asturias, "keyed-1", id)),
                     LODESTONE__V1__STATUS__CODE__FORBIDDEN);
    ls_client_set_publisher(lapland, "asturias");
    assert_int_equal(s_code(s_put(lapland, "keyed-2", NULL)),
                     LODESTONE__V1__STATUS__CODE__FORBIDDEN);
    ls_client_set_publisher(lapland, "lapland"); /* naming its own is fine */
    assert_int_equal(s_code(s_put(lapland, "keyed-1", id)), LODESTONE__V1__STATUS__CODE__OK);
    ls_client_destroy(&lapland);
    ls_client_destroy(&asturias);
    free(id);
}

static void test_no_key_or_unknown_key_gets_no_answer(void **state)
{
    (void)state;
    const char *endpoints[] = {s_registry_ep, s_notification_ep};
    for (int i = 0; i < 2; i++) {
        ls_client_t *plain = s_client(endpoints[i], NULL, 700);
        assert_null(ls_client_ping(plain));
        ls_client_destroy(&plain);
        ls_client_t *mallory = s_client(endpoints[i], "mallory", 700);
        assert_null(ls_client_ping(mallory));
        ls_client_destroy(&mallory);
        ls_client_t *ops = s_client(endpoints[i], "ops", 5000);
        assert_int_equal(s_code(ls_client_ping(ops)), 0);
        ls_client_destroy(&ops);
    }
}

static void test_deleting_a_key_revokes_it(void **state)
{
    (void)state;
    s_keygen("kainuu", true);
    ls_client_t *open = s_client(s_notification_ep, "kainuu", 5000);
    assert_int_equal(s_code(ls_client_ping(open)), 0);
    char *path = s_path("publishers/%s.key", "kainuu");
    assert_int_equal(unlink(path), 0);
    zstr_free(&path);
    /* The connection stays open, but its requests are refused within a second or so. */
    int code = 0;
    for (int i = 0; i < 50 && code != LODESTONE__V1__STATUS__CODE__FORBIDDEN; i++) {
        code = s_code(ls_client_ping(open));
        zclock_sleep(100);
    }
    assert_int_equal(code, LODESTONE__V1__STATUS__CODE__FORBIDDEN);
    ls_client_destroy(&open);
    ls_client_t *fresh = s_client(s_notification_ep, "kainuu", 700);
    assert_null(ls_client_ping(fresh));
    ls_client_destroy(&fresh);
}

static void test_feed_takes_only_keys(void **state)
{
    (void)state;
    /* A subscriber with a key completes the handshake (ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
     * one without gets a handshake failure. */
    for (int keyed = 0; keyed < 2; keyed++) {
        ls_config_t config;
        char err[512];
        s_client_config(&config, keyed ? "ops" : NULL);
        zsock_t *sub = zsock_new(ZMQ_SUB);
        assert_int_equal(ls_security_client(sub, &config, err, sizeof err), 0);
        zactor_t *monitor = zactor_new(zmonitor, sub);
        zstr_sendx(monitor, "LISTEN", "HANDSHAKE_SUCCEEDED", "HANDSHAKE_FAILED_NO_DETAIL",
                   "HANDSHAKE_FAILED_PROTOCOL", "HANDSHAKE_FAILED_AUTH", "DISCONNECTED", NULL);
        zstr_sendx(monitor, "START", NULL);
        zsock_wait(monitor);
        assert_int_equal(zsock_connect(sub, "%s", s_feed_ep), 0);
        zsock_set_rcvtimeo(monitor, 5000);
        zmsg_t *event = zmsg_recv(monitor);
        assert_non_null(event);
        char *name = zmsg_popstr(event);
        if (keyed)
            assert_string_equal(name, "HANDSHAKE_SUCCEEDED");
        else
            assert_string_not_equal(name, "HANDSHAKE_SUCCEEDED");
        zstr_free(&name);
        zmsg_destroy(&event);
        zactor_destroy(&monitor);
        zsock_destroy(&sub);
    }
}

static void test_cli_uses_its_key(void **state)
{
    (void)state;
    char *secret = s_path("clients/%s.key_secret", "ops"), *server = s_path("%s", "server.key");
    char *command = zsys_sprintf("LODESTONE_SECURITY=curve LODESTONE_REGISTRY_ENDPOINT=%s "
                                 "LODESTONE_CLIENT_SECRET_KEY=%s LODESTONE_SERVER_PUBLIC_KEY=%s "
                                 "%s ping registry 2>&1",
                                 s_registry_ep, secret, server, getenv("LS_TEST_CTL"));
    char out[4096];
    assert_int_equal(ls_test_run(command, out, sizeof out), 0);
    zstr_free(&command);
    command = zsys_sprintf("LODESTONE_SECURITY=curve LODESTONE_REGISTRY_ENDPOINT=%s "
                           "LODESTONE_CLIENT_SECRET_KEY= %s ping registry 2>&1",
                           s_registry_ep, getenv("LS_TEST_CTL"));
    assert_int_equal(ls_test_run(command, out, sizeof out), 1);
    assert_non_null(strstr(out, "LODESTONE_CLIENT_SECRET_KEY"));
    zstr_free(&command);
    zstr_free(&secret);
    zstr_free(&server);
}

static void test_service_without_its_key_does_not_start(void **state)
{
    (void)state;
    ls_test_env_t env;
    ls_test_env_copy(&env, &s_env);
    char ep[64];
    ls_test_env_socket(&env, "REGISTRY", ep, sizeof ep);
    ls_test_env_set(&env, "LODESTONE_SERVER_SECRET_KEY", "/nonexistent/server.key_secret");
    ls_test_proc_t *p = ls_test_spawn("registry-nokey", getenv("LS_TEST_REGISTRY"), env.env);
    assert_non_null(p);
    for (int i = 0; i < 100 && ls_test_alive(p); i++)
        zclock_sleep(100);
    assert_false(ls_test_alive(p));
    char *log = ls_test_log_text(p);
    assert_non_null(log);
    assert_non_null(strstr(log, "LODESTONE_SERVER_SECRET_KEY"));
    free(log);
    int status = ls_test_stop(&p);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
}

/* The services say at start which mode they serve in; plain is a warning. */
static void test_start_says_how_it_authenticates(void **state)
{
    (void)state;
    char *log = ls_test_log_text(s_registry);
    assert_non_null(log);
    assert_non_null(strstr(log, "CURVE: clients must hold a key in"));
    assert_null(strstr(log, "LODESTONE_SECURITY=plain"));
    free(log);
    ls_test_env_t env;
    ls_test_env_copy(&env, &s_env);
    char ep[64];
    ls_test_env_socket(&env, "REGISTRY", ep, sizeof ep);
    char pub[64];
    ls_test_env_socket(&env, "REGISTRY_PUB", pub, sizeof pub);
    ls_test_env_set(&env, "LODESTONE_SECURITY", "plain");
    ls_test_proc_t *plain = ls_test_spawn("registry-plain", getenv("LS_TEST_REGISTRY"), env.env);
    assert_int_equal(ls_test_await_ping(ep), 0);
    log = ls_test_log_text(plain);
    assert_non_null(strstr(log, "\"level\":\"warn\""));
    assert_non_null(strstr(log, "LODESTONE_SECURITY=plain"));
    free(log);
    int status = ls_test_stop(&plain);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_names_the_publisher),
        cmocka_unit_test(test_no_key_or_unknown_key_gets_no_answer),
        cmocka_unit_test(test_deleting_a_key_revokes_it),
        cmocka_unit_test(test_feed_takes_only_keys),
        cmocka_unit_test(test_cli_uses_its_key),
        cmocka_unit_test(test_service_without_its_key_does_not_start),
        cmocka_unit_test(test_start_says_how_it_authenticates),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
