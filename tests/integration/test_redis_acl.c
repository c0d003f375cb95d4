/* test_redis_acl.c — the Redis ACL of deploy/make-redis-secrets holds, against a
 * real redis-server loading it: nothing runs before logging in and the default
 * user cannot be used; each service's user may PING but not administer Redis, and
 * writes only its own keys (Lua scripts included), and what its scripts wrote
 * survives a restart; and a service given a wrong or missing password file stops
 * at once, saying why. Every refusal checked here would be allowed if the users had
 * +@all ~*. */
#include "harness.h"

#include <czmq.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ls_config.h"
#include "ls_store.h"
#include "ls_util.h"

static ls_test_proc_t *s_redis;
static char s_url[128]; /* the admin user's */
static ls_store_t *s_admin;

static const char *s_services[] = {"registry", "matching", "notification"};

/* A store logged in as user to the redis-server of url (its admin's) with the
 * password in the user's file, as a service does. */
static ls_store_t *s_login_at(const char *url, const char *user)
{
    ls_config_t config;
    memset(&config, 0, sizeof config);
    snprintf(config.redis_url, sizeof config.redis_url, "redis://%s@127.0.0.1:%d/0", user,
             atoi(strrchr(url, ':') + 1));
    ls_test_redis_password_file(url, user, config.redis_password_file,
                                sizeof config.redis_password_file);
    char err[512] = "";
    ls_store_t *store = NULL;
    if (ls_store_use_password_file(&config, err, sizeof err) == 0)
        store = ls_store_new(config.redis_url, 2000, err, sizeof err);
    if (!store)
        fail_msg("%s did not log in: %s", user, err);
    return store;
}

static ls_store_t *s_login(const char *user)
{
    return s_login_at(s_url, user);
}

/* Frees r after checking that Redis refused it for want of permission. */
static void s_expect_noperm(redisReply *r, const char *user, const char *what)
{
    if (!r)
        fail_msg("%s: %s: no reply", user, what);
    bool refused = r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOPERM", 6) == 0;
    if (!refused)
        fail_msg("%s may %s (reply type %d '%s')", user, what, r->type, r->str ? r->str : "");
    freeReplyObject(r);
}

/* Frees r after checking that it is no error. */
static void s_expect_allowed(redisReply *r, const char *user, const char *what)
{
    if (!r || r->type == REDIS_REPLY_ERROR)
        fail_msg("%s may not %s: %s", user, what, r ? r->str : "no reply");
    freeReplyObject(r);
}

static void s_expect_absent(const char *key)
{
    redisReply *r = ls_store_command(s_admin, "EXISTS %s", key);
    assert_non_null(r);
    if (r->integer != 0)
        fail_msg("%s was written", key);
    freeReplyObject(r);
}

/* ---------------------------------------------------------------------------
 * Logging in */

static void test_nothing_runs_without_logging_in(void **state)
{
    (void)state;
    redisContext *c = redisConnect("127.0.0.1", atoi(strrchr(s_url, ':') + 1));
    assert_true(c && !c->err);
    redisReply *r = redisCommand(c, "PING");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "NOAUTH"));
    freeReplyObject(r);
    /* The default user is off, whatever the password; so is AUTH with none named. */
    const char *attempts[][3] = {
        {"AUTH", "default", "anything"}, {"AUTH", "default", ""}, {"AUTH", "anything", NULL}};
    for (size_t i = 0; i < 3; i++) {
        r = redisCommandArgv(c, attempts[i][2] ? 3 : 2, attempts[i], NULL);
        assert_non_null(r);
        if (r->type != REDIS_REPLY_ERROR)
            fail_msg("AUTH %s %s was accepted", attempts[i][1], attempts[i][2]);
        freeReplyObject(r);
    }
    r = redisCommand(c, "GET %s", "ls:seq:changes");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "NOAUTH"));
    freeReplyObject(r);
    redisFree(c);
}

/* Each service may PING, and none may administer Redis, list or flush its keys,
 * run a script it did not load by hash (EVAL) or use pub/sub. */
static void test_services_may_ping_and_no_more(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        const char *user = s_services[i];
        ls_store_t *store = s_login(user);
        s_expect_allowed(ls_store_command(store, "PING"), user, "PING");
        s_expect_noperm(ls_store_command(store, "FLUSHALL"), user, "FLUSHALL");
        s_expect_noperm(ls_store_command(store, "FLUSHDB"), user, "FLUSHDB");
        s_expect_noperm(ls_store_command(store, "CONFIG GET %s", "*"), user, "CONFIG GET *");
        s_expect_noperm(ls_store_command(store, "KEYS %s", "*"), user, "KEYS *");
        s_expect_noperm(ls_store_command(store, "SCAN 0"), user, "SCAN");
        s_expect_noperm(ls_store_command(store, "ACL LIST"), user, "ACL LIST");
        s_expect_noperm(ls_store_command(store, "SHUTDOWN"), user, "SHUTDOWN");
        s_expect_noperm(ls_store_command(store, "SCRIPT FLUSH"), user, "SCRIPT FLUSH");
        s_expect_noperm(ls_store_command(store, "EVAL %s 0", "return 1"), user, "EVAL");
        s_expect_noperm(ls_store_command(store, "PUBLISH %s %s", "ls", "x"), user, "PUBLISH");
        ls_store_destroy(&store);
    }
    ls_store_t *health = s_login("health");
    s_expect_allowed(ls_store_command(health, "PING"), "health", "PING");
    s_expect_noperm(ls_store_command(health, "GET %s", "ls:seq:changes"), "health", "GET");
    s_expect_noperm(ls_store_command(health, "INFO"), "health", "INFO");
    ls_store_destroy(&health);
}

/* ---------------------------------------------------------------------------
 * Keys */

static void test_registry_writes_only_its_keys(void **state)
{
    (void)state;
    ls_store_t *store = s_login("registry");
    s_expect_allowed(ls_store_command(store, "HSET %s %s %s", "ls:entity:acl-1", "kind", "sme"),
                     "registry", "HSET ls:entity:acl-1");
    const char *others[] = {"ls:sub:acl-1",   "ls:matches:acl-1", "ls:checkpoint:notification",
                            "ls:inbox:acl-1", "ls:next:sub",      "unprefixed"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        char what[128];
        snprintf(what, sizeof what, "SET %s", others[i]);
        s_expect_noperm(ls_store_command(store, "SET %s %s", others[i], "x"), "registry", what);
        s_expect_absent(others[i]);
    }
    ls_store_destroy(&store);
}

static void test_matching_reads_entities_but_no_contacts(void **state)
{
    (void)state;
    ls_store_t *store = s_login("matching");
    s_expect_allowed(ls_store_command(store, "HGET %s %s", "ls:entity:acl-1", "kind"), "matching",
                     "HGET ls:entity:acl-1");
    s_expect_noperm(ls_store_command(store, "HSET %s %s %s", "ls:entity:acl-1", "kind", "x"),
                    "matching", "HSET ls:entity:acl-1");
    s_expect_noperm(ls_store_command(store, "GET %s", "ls:contact:acl-1"), "matching",
                    "GET ls:contact:acl-1");
    s_expect_noperm(ls_store_command(store, "SET %s %s", "ls:checkpoint:notification", "1"),
                    "matching", "SET ls:checkpoint:notification");
    s_expect_allowed(ls_store_command(store, "GET %s", "ls:checkpoint:notification"), "matching",
                     "GET ls:checkpoint:notification");
    ls_store_destroy(&store);
}

static void test_notification_cannot_write_entities(void **state)
{
    (void)state;
    ls_store_t *store = s_login("notification");
    s_expect_allowed(ls_store_command(store, "HGET %s %s", "ls:entity:acl-1", "kind"),
                     "notification", "HGET ls:entity:acl-1");
    s_expect_noperm(ls_store_command(store, "HSET %s %s %s", "ls:entity:x", "kind", "sme"),
                    "notification", "HSET ls:entity:x");
    s_expect_absent("ls:entity:x");
    s_expect_noperm(ls_store_command(store, "DEL %s", "ls:entity:acl-1"), "notification",
                    "DEL ls:entity:acl-1");
    s_expect_noperm(ls_store_command(store, "ZADD %s 1 %s", "ls:idx:all:entities", "x"),
                    "notification", "ZADD ls:idx:all:entities");
    s_expect_noperm(ls_store_command(store, "SET %s %s", "ls:idem:p:r", "x"), "notification",
                    "SET ls:idem:p:r");
    ls_store_destroy(&store);
}

/* A script runs with its caller's rights: neither the keys it is handed nor the
 * ones it names inside get past the ACL. */
static void test_scripts_do_not_get_round_it(void **state)
{
    (void)state;
    static ls_script_t set_named = LS_SCRIPT("return redis.call('SET', 'ls:sub:acl-2', 'x')\n");
    static ls_script_t set_key = LS_SCRIPT("return redis.call('SET', KEYS[1], 'x')\n");
    static ls_script_t flush = LS_SCRIPT("return redis.call('FLUSHALL')\n");
    redisReply *r = ls_store_command(s_admin, "SET %s %s", "ls:acl-marker", "kept");
    s_expect_allowed(r, "admin", "SET ls:acl-marker");
    ls_store_t *store = s_login("registry");
    r = ls_store_eval(store, &set_named, 0, 0, NULL, NULL);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_ERROR)
        fail_msg("a registry script wrote ls:sub:acl-2");
    freeReplyObject(r);
    s_expect_absent("ls:sub:acl-2");
    const char *key[] = {"ls:sub:acl-3"};
    s_expect_noperm(ls_store_eval(store, &set_key, 1, 1, key, NULL), "registry",
                    "EVALSHA with key ls:sub:acl-3");
    s_expect_absent("ls:sub:acl-3");
    r = ls_store_eval(store, &flush, 0, 0, NULL, NULL);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_ERROR)
        fail_msg("a registry script ran FLUSHALL");
    freeReplyObject(r);
    r = ls_store_command(s_admin, "EXISTS %s", "ls:acl-marker");
    assert_non_null(r);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    ls_store_destroy(&store);
}

/* A Lua step's writes come back after a restart: the AOF replays them as
 * MULTI/EXEC, which Redis 7 checks against the default user (see default_user in
 * deploy/make-redis-secrets; with the default user off they are dropped). */
static void test_scripted_writes_survive_a_restart(void **state)
{
    (void)state;
    static ls_script_t two = LS_SCRIPT("redis.call('SET', KEYS[1], 'a')\n"
                                       "redis.call('SET', KEYS[2], 'b')\n"
                                       "return 1\n");
    char *dir = ls_test_tmpdir("lodestone-acl-aof");
    assert_non_null(dir);
    char url[128], err[256], command[512], out[64];
    ls_test_proc_t *redis = ls_test_redis_start(dir, url, sizeof url);
    assert_non_null(redis);
    ls_store_t *store = s_login_at(url, "registry");
    const char *keys[] = {"ls:ref:acl:1", "ls:ref:acl:2"};
    redisReply *r = ls_store_eval(store, &two, 2, 2, keys, NULL);
    s_expect_allowed(r, "registry", "run a script writing two keys");
    ls_store_destroy(&store);
    assert_true(WIFEXITED(ls_test_stop(&redis))); /* SIGTERM: the AOF is written */

    redis = ls_test_redis_start_at(dir, atoi(strrchr(url, ':') + 1), url, sizeof url);
    assert_non_null(redis);
    ls_store_t *admin = ls_store_new(url, 2000, err, sizeof err);
    assert_non_null(admin);
    r = ls_store_command(admin, "MGET %s %s", keys[0], keys[1]);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < 2; i++)
        if (r->element[i]->type != REDIS_REPLY_STRING)
            fail_msg("%s was lost in the restart", keys[i]);
    freeReplyObject(r);
    ls_store_destroy(&admin);
    ls_test_stop(&redis);
    snprintf(command, sizeof command, "rm -rf -- '%s'", dir);
    ls_test_run(command, out, sizeof out);
    free(dir);
}

/* ---------------------------------------------------------------------------
 * A service with a bad password file */

/* Starts the registry with password_file and waits (10 s) for it to exit. Returns
 * its exit status; what it logged goes into *log (the caller frees it). */
static int s_registry_with(const char *password_file, char **log)
{
    ls_test_env_t env = {.count = 0};
    char ignored[64], url[128];
    snprintf(url, sizeof url, "redis://registry@127.0.0.1:%d/0", atoi(strrchr(s_url, ':') + 1));
    ls_test_env_set(&env, "LODESTONE_REDIS_URL", url);
    ls_test_env_set(&env, "LODESTONE_REDIS_PASSWORD_FILE", password_file);
    ls_test_env_set(&env, "LODESTONE_DATA_DIR", LS_TEST_DATA_DIR);
    ls_test_env_set(&env, "LODESTONE_REGISTRY_HTTP_BIND", "127.0.0.1:0");
    ls_test_env_socket(&env, "REGISTRY", ignored, sizeof ignored);
    ls_test_env_socket(&env, "REGISTRY_PUB", ignored, sizeof ignored);
    ls_test_proc_t *registry = ls_test_spawn("registry", getenv("LS_TEST_REGISTRY"), env.env);
    assert_non_null(registry);
    int64_t deadline = ls_mono_ms() + 10000;
    while (ls_test_alive(registry) && ls_mono_ms() < deadline)
        zclock_sleep(20);
    bool exited = !ls_test_alive(registry);
    *log = ls_test_log_text(registry);
    int status = ls_test_stop(&registry);
    if (!exited)
        fail_msg("the registry still runs with password file %s:\n%s", password_file,
                 *log ? *log : "");
    return status;
}

static void test_wrong_password_stops_the_service(void **state)
{
    (void)state;
    char *dir = ls_test_tmpdir("lodestone-acl");
    assert_non_null(dir);
    char file[512], *log = NULL;
    snprintf(file, sizeof file, "%s/redis-registry.password", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("0123456789abcdef0123456789abcdef\n", f);
    fclose(f);
    int status = s_registry_with(file, &log);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    if (!log || !strstr(log, "WRONGPASS"))
        fail_msg("the registry's log does not name the Redis error:\n%s", log ? log : "");
    assert_null(strstr(log, "0123456789abcdef")); /* nor the password */
    free(log);

    /* A file it cannot read: a configuration error (exit 2) naming the variable. */
    unlink(file);
    status = s_registry_with(file, &log);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    if (!log || !strstr(log, "LODESTONE_REDIS_PASSWORD_FILE") || !strstr(log, file))
        fail_msg("the registry's log does not name the variable and the file:\n%s", log ? log : "");
    free(log);
    rmdir(dir);
    free(dir);
}

static int s_setup(void **state)
{
    (void)state;
    char err[256];
    s_redis = ls_test_redis_start(NULL, s_url, sizeof s_url);
    s_admin = s_redis ? ls_store_new(s_url, 2000, err, sizeof err) : NULL;
    return s_admin && getenv("LS_TEST_REGISTRY") ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    ls_store_destroy(&s_admin);
    ls_test_stop(&s_redis);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_runs_without_logging_in),
        cmocka_unit_test(test_services_may_ping_and_no_more),
        cmocka_unit_test(test_registry_writes_only_its_keys),
        cmocka_unit_test(test_matching_reads_entities_but_no_contacts),
        cmocka_unit_test(test_notification_cannot_write_entities),
        cmocka_unit_test(test_scripts_do_not_get_round_it),
        cmocka_unit_test(test_scripted_writes_survive_a_restart),
        cmocka_unit_test(test_wrong_password_stops_the_service),
    };
    return cmocka_run_group_tests_name("redis_acl", tests, s_setup, s_teardown);
}
