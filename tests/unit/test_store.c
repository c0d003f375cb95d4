/* test_store.c — unit test for ls_store against a private redis-server: bad URLs
 * are refused, an unreachable server fails after the wait with its address named,
 * commands are binary-safe, scripts (with their arguments in an array or a list of
 * chunks) survive SCRIPT FLUSH and a restart, pipelined replies come back in order,
 * the store reconnects by itself after Redis comes back on the same port, passwords
 * are used and checked, and a password file
 * (LODESTONE_REDIS_PASSWORD_FILE) logs an ACL user in, also on reconnects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "ls_store.h"

#ifndef LS_TEST_REDIS_SERVER
#error "LS_TEST_REDIS_SERVER must name redis-server"
#endif

/* The redis-server shared by the tests that need nothing special from it, with the
 * project's ACL; s_url is its admin user's. */
static ls_test_proc_t *s_redis;
static char s_url[128];
/* The store each test opens on it (fixture), and a server a test started itself
 * (without ACL, or with it: s_own_acl_redis). */
static ls_store_t *s_store;
static pid_t s_own_redis = -1;
static ls_test_proc_t *s_own_acl_redis;

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --------------------------------------------------------------------------
 * A redis-server on a port of our choosing (the harness picks its own), so that a
 * test can bring Redis back on the same address or start it with a password.
 * Killed with the test process (PR_SET_PDEATHSIG) if the test dies first. */

static pid_t s_redis_spawn(int port, const char *password)
{
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    const char *argv[16] = {
        LS_TEST_REDIS_SERVER, "--port", port_text, "--bind", "127.0.0.1",   "--save", "",
        "--appendonly",       "no",     "--dir",   "/tmp",   "--daemonize", "no"};
    int argc = 13;
    if (password) {
        argv[argc++] = "--requirepass";
        argv[argc++] = password;
    }
    argv[argc] = NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(LS_TEST_REDIS_SERVER, (char *const *)argv);
        _exit(127);
    }
    /* Ready when it answers PING at all (NOAUTH counts). */
    for (int i = 0; i < 200; i++) {
        redisContext *c = redisConnect("127.0.0.1", port);
        int ready = 0;
        if (c && !c->err) {
            redisReply *r = redisCommand(c, "PING");
            ready = r && (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR);
            if (r)
                freeReplyObject(r);
        }
        if (c)
            redisFree(c);
        if (ready)
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        usleep(25 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static void s_redis_stop(pid_t *pid)
{
    if (*pid > 0) {
        kill(*pid, SIGTERM);
        waitpid(*pid, NULL, 0);
        *pid = -1;
    }
}

static int s_port_of(const char *url)
{
    const char *colon = strrchr(url, ':');
    return colon ? atoi(colon + 1) : -1;
}

/* --------------------------------------------------------------------------
 * Fixtures */

static int s_group_setup(void **state)
{
    (void)state;
    s_redis = ls_test_redis_start(NULL, s_url, sizeof s_url);
    return s_redis ? 0 : -1;
}

static int s_group_teardown(void **state)
{
    (void)state;
    ls_test_stop(&s_redis);
    return 0;
}

/* A store on the shared server, emptied first. */
static int s_open(void **state)
{
    (void)state;
    char err[256] = "";
    s_store = ls_store_new(s_url, 2000, err, sizeof err);
    if (!s_store) {
        fprintf(stderr, "cannot open %s: %s\n", s_url, err);
        return -1;
    }
    redisReply *r = ls_store_command(s_store, "FLUSHALL");
    int ok = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    return ok ? 0 : -1;
}

static int s_close(void **state)
{
    (void)state;
    ls_store_destroy(&s_store);
    s_redis_stop(&s_own_redis);
    ls_test_stop(&s_own_acl_redis);
    return 0;
}

/* --------------------------------------------------------------------------
 * Assertions on replies; each frees the reply. */

static void s_expect_status(redisReply *r, const char *status)
{
    assert_non_null(r);
    if (r->type != REDIS_REPLY_STATUS)
        fail_msg("expected status %s, got type %d '%s'", status, r->type, r->str ? r->str : "");
    assert_string_equal(r->str, status);
    freeReplyObject(r);
}

static void s_expect_bytes(redisReply *r, const void *bytes, size_t len)
{
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(r->len, len);
    assert_memory_equal(r->str, bytes, len);
    freeReplyObject(r);
}

static void s_expect_integer(redisReply *r, long long value)
{
    assert_non_null(r);
    if (r->type != REDIS_REPLY_INTEGER)
        fail_msg("expected integer %lld, got type %d '%s'", value, r->type, r->str ? r->str : "");
    assert_int_equal(r->integer, value);
    freeReplyObject(r);
}

static void s_expect_nil(redisReply *r)
{
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
}

/* --------------------------------------------------------------------------
 * URLs and connecting */

static void test_bad_urls_refused(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        const char *says;
    } cases[] = {
        {"127.0.0.1:6379", "redis://"},
        {"http://127.0.0.1:6379", "redis://"},
        {"", "redis://"},
        {"redis://", "host"},
        {"redis://:6379", "host"},
        {"redis://127.0.0.1:", "port"},
        {"redis://127.0.0.1:0", "port"},
        {"redis://127.0.0.1:65536", "port"},
        {"redis://127.0.0.1:-1", "port"},
        {"redis://127.0.0.1:63x9", "port"},
        {"redis://127.0.0.1:6379/16", "database"},
        {"redis://127.0.0.1:6379/-1", "database"},
        {"redis://127.0.0.1:6379/x", "database"},
        {"redis://127.0.0.1:6379/1x", "database"},
        {"redis://127.0.0.1/db", "database"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        int64_t start = s_now_ms();
        ls_store_t *store = ls_store_new(cases[i].url, 5000, err, sizeof err);
        int64_t took = s_now_ms() - start;
        if (store) {
            ls_store_destroy(&store);
            fail_msg("'%s' was accepted", cases[i].url);
        }
        if (!strstr(err, cases[i].says))
            fail_msg("'%s': error '%s' does not mention %s", cases[i].url, err, cases[i].says);
        /* A bad URL is refused at once, not retried for the whole wait. */
        if (took > 1000)
            fail_msg("'%s' took %lld ms to refuse", cases[i].url, (long long)took);
    }
}

static void test_nothing_listening(void **state)
{
    (void)state;
    int port = ls_test_free_port();
    assert_true(port > 0);
    char url[64], address[64], err[512] = "";
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    snprintf(address, sizeof address, "127.0.0.1:%d", port);
    int64_t start = s_now_ms();
    ls_store_t *store = ls_store_new(url, 300, err, sizeof err);
    int64_t took = s_now_ms() - start;
    assert_null(store);
    if (!strstr(err, address))
        fail_msg("error '%s' does not name %s", err, address);
    /* It retried (first back-off is 100 ms) and gave up within the wait. */
    assert_true(took >= 90);
    assert_true(took < 300 + 2000);
}

static void test_url_forms_connect(void **state)
{
    (void)state;
    int port = s_port_of(s_url);
    assert_true(port > 0);
    char url[160], err[256] = "";
    /* "redis://admin:PASSWORD@" */
    int credentials = (int)(strrchr(s_url, '@') + 1 - s_url);
    /* Trailing slash, explicit db 0, localhost by name. */
    const char *hosts[] = {"127.0.0.1", "127.0.0.1", "localhost"};
    const char *tails[] = {"/", "/0", ""};
    for (size_t i = 0; i < 3; i++) {
        snprintf(url, sizeof url, "%.*s%s:%d%s", credentials, s_url, hosts[i], port, tails[i]);
        ls_store_t *store = ls_store_new(url, 2000, err, sizeof err);
        if (!store)
            fail_msg("'%s' did not connect: %s", url, err);
        s_expect_status(ls_store_command(store, "PING"), "PONG");
        ls_store_destroy(&store);
        assert_null(store);
        ls_store_destroy(&store); /* twice is harmless */
    }
}

static void test_database_selected(void **state)
{
    (void)state;
    char url[160], err[256] = "";
    snprintf(url, sizeof url, "%s/3", s_url);
    ls_store_t *db3 = ls_store_new(url, 2000, err, sizeof err);
    assert_non_null(db3);
    s_expect_status(ls_store_command(db3, "SET %s %s", "where", "three"), "OK");
    s_expect_bytes(ls_store_command(db3, "GET %s", "where"), "three", 5);
    /* The fixture's store is on db 0 and does not see it. */
    s_expect_nil(ls_store_command(s_store, "GET %s", "where"));
    redisReply *r = ls_store_command(db3, "CLIENT INFO");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_non_null(strstr(r->str, " db=3 "));
    freeReplyObject(r);
    ls_store_destroy(&db3);
}

/* --------------------------------------------------------------------------
 * Commands */

static void test_binary_safe_argv(void **state)
{
    (void)state;
    const char value[] = {'a', 0, 'b', (char)0xff, ' ', '\r', '\n'};
    const char *set[] = {"SET", "bin:value", value};
    const size_t set_len[] = {3, 9, sizeof value};
    s_expect_status(ls_store_argv(s_store, 3, set, set_len), "OK");

    const char *get[] = {"GET", "bin:value"};
    s_expect_bytes(ls_store_argv(s_store, 2, get, NULL), value, sizeof value);
    const char *strlen_cmd[] = {"STRLEN", "bin:value"};
    s_expect_integer(ls_store_argv(s_store, 2, strlen_cmd, NULL), (long long)sizeof value);
}

static void test_binary_safe_format(void **state)
{
    (void)state;
    const char key[] = {'k', 0, 'y'};
    const char value[] = {'x', 0, 0, 'z', ' ', 'w'};
    s_expect_status(ls_store_command(s_store, "SET %b %b", key, sizeof key, value, sizeof value),
                    "OK");
    /* Read back by argv: the key really is the three bytes, NUL included. */
    const char *get[] = {"GET", key};
    const size_t get_len[] = {3, sizeof key};
    s_expect_bytes(ls_store_argv(s_store, 2, get, get_len), value, sizeof value);
    s_expect_nil(ls_store_command(s_store, "GET %s", "k"));
    /* %s with spaces stays one argument. */
    s_expect_status(ls_store_command(s_store, "SET %s %s", "spaced", "a b c"), "OK");
    s_expect_bytes(ls_store_command(s_store, "GET %s", "spaced"), "a b c", 5);
}

static void test_error_reply_returned(void **state)
{
    (void)state;
    s_expect_status(ls_store_command(s_store, "SET %s %s", "word", "hello"), "OK");
    redisReply *r = ls_store_command(s_store, "INCR %s", "word");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "not an integer"));
    freeReplyObject(r);
    /* An error reply does not break the connection. */
    s_expect_status(ls_store_command(s_store, "PING"), "PONG");
}

static void test_get_u64(void **state)
{
    (void)state;
    uint64_t value = 77;
    assert_int_equal(ls_store_get_u64(s_store, "absent", &value), 0);
    assert_int_equal(value, 0);

    s_expect_status(ls_store_command(s_store, "SET %s %s", "n", "12345"), "OK");
    assert_int_equal(ls_store_get_u64(s_store, "n", &value), 0);
    assert_int_equal(value, 12345);

    s_expect_status(ls_store_command(s_store, "SET %s %s", "max", "18446744073709551615"), "OK");
    assert_int_equal(ls_store_get_u64(s_store, "max", &value), 0);
    assert_true(value == UINT64_MAX);

    const char *bad[] = {"abc", "-1", "12x", "", "18446744073709551616", "1.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_expect_status(ls_store_command(s_store, "SET %s %s", "bad", bad[i]), "OK");
        if (ls_store_get_u64(s_store, "bad", &value) != -1)
            fail_msg("'%s' read as %llu", bad[i], (unsigned long long)value);
    }
    s_expect_integer(ls_store_command(s_store, "RPUSH %s %s", "list", "x"), 1);
    assert_int_equal(ls_store_get_u64(s_store, "list", &value), -1);
}

/* --------------------------------------------------------------------------
 * Scripts */

static ls_script_t s_incrby = LS_SCRIPT("return redis.call('INCRBY', KEYS[1], ARGV[1])");
static ls_script_t s_echo = LS_SCRIPT("return ARGV[1]");

static redisReply *s_incr(ls_store_t *store, const char *key, const char *by)
{
    const char *argv[] = {key, by};
    return ls_store_eval(store, &s_incrby, 1, 2, argv, NULL);
}

static void test_eval_and_noscript_reload(void **state)
{
    (void)state;
    s_expect_integer(s_incr(s_store, "counter", "5"), 5);
    assert_int_equal(strlen(s_incrby.sha), 40);
    char sha[41];
    memcpy(sha, s_incrby.sha, sizeof sha);

    s_expect_status(ls_store_command(s_store, "SCRIPT FLUSH"), "OK");
    redisReply *r = ls_store_command(s_store, "SCRIPT EXISTS %s", sha);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[0]->integer, 0);
    freeReplyObject(r);

    /* The cache is empty: the store loads the script again and runs it once. */
    s_expect_integer(s_incr(s_store, "counter", "3"), 8);
    assert_string_equal(s_incrby.sha, sha);
    s_expect_bytes(ls_store_command(s_store, "GET %s", "counter"), "8", 1);
}

static void test_eval_binary_and_errors(void **state)
{
    (void)state;
    const char blob[] = {'\0', 'L', 'u', 'a', '\0', (char)0xfe};
    const char *argv[] = {blob};
    const size_t argv_len[] = {sizeof blob};
    s_expect_bytes(ls_store_eval(s_store, &s_echo, 0, 1, argv, argv_len), blob, sizeof blob);

    /* A script error is an error reply, not a lost connection. */
    s_expect_status(ls_store_command(s_store, "SET %s %s", "word", "hello"), "OK");
    redisReply *r = s_incr(s_store, "word", "1");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    s_expect_status(ls_store_command(s_store, "PING"), "PONG");

    /* More keys than arguments is a programming error: refused. */
    const char *one[] = {"k"};
    assert_null(ls_store_eval(s_store, &s_incrby, 2, 1, one, NULL));
}

/* Fixed arguments, then a list of binary chunks, as one script's arguments. */
static ls_script_t s_join = LS_SCRIPT("return KEYS[1] .. '|' .. table.concat(ARGV, '|')");

static void test_eval_chunks(void **state)
{
    (void)state;
    const char *fixed[] = {"key", "a"};
    zlistx_t *chunks = zlistx_new();
    zlistx_set_destructor(chunks, (zlistx_destructor_fn *)zchunk_destroy);
    zlistx_add_end(chunks, zchunk_new("b\0c", 3));
    zlistx_add_end(chunks, zchunk_new("", 0));
    zlistx_add_end(chunks, zchunk_new("d", 1));
    s_expect_bytes(ls_store_eval_chunks(s_store, &s_join, 1, fixed, NULL, 2, chunks),
                   "key|a|b\0c||d", 12);
    /* Lengths for the fixed ones, and no chunks at all. */
    const size_t lens[] = {3, 1};
    s_expect_bytes(ls_store_eval_chunks(s_store, &s_join, 1, fixed, lens, 2, NULL), "key|a", 5);
    /* Flushed scripts are loaded again, as for ls_store_eval. */
    s_expect_status(ls_store_command(s_store, "SCRIPT FLUSH"), "OK");
    s_expect_bytes(ls_store_eval_chunks(s_store, &s_join, 1, fixed, NULL, 2, chunks),
                   "key|a|b\0c||d", 12);
    /* More keys than arguments is refused. */
    assert_null(ls_store_eval_chunks(s_store, &s_join, 3, fixed, NULL, 2, NULL));
    zlistx_destroy(&chunks);
}

/* --------------------------------------------------------------------------
 * Pipelining */

static void test_pipeline_in_order(void **state)
{
    (void)state;
    enum { N = 50 };
    const char *set[] = {"SET", "p", "10"};
    assert_int_equal(ls_store_append(s_store, 3, set, NULL), 0);
    char text[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(text[i], sizeof text[i], "echo-%d", i);
        const char *echo[] = {"ECHO", text[i]};
        assert_int_equal(ls_store_append(s_store, 2, echo, NULL), 0);
        const char *incr[] = {"INCR", "p"};
        assert_int_equal(ls_store_append(s_store, 2, incr, NULL), 0);
    }
    const char *get[] = {"GET", "p"};
    assert_int_equal(ls_store_append(s_store, 2, get, NULL), 0);

    s_expect_status(ls_store_reply(s_store), "OK");
    for (int i = 0; i < N; i++) {
        s_expect_bytes(ls_store_reply(s_store), text[i], strlen(text[i]));
        s_expect_integer(ls_store_reply(s_store), 10 + i + 1);
    }
    s_expect_bytes(ls_store_reply(s_store), "60", 2);
    /* Plain commands work again afterwards. */
    s_expect_status(ls_store_command(s_store, "PING"), "PONG");
}

/* --------------------------------------------------------------------------
 * Losing Redis and getting it back */

static void test_reconnect_same_port(void **state)
{
    (void)state;
    char url[128], err[256] = "";
    ls_test_proc_t *redis = ls_test_redis_start(NULL, url, sizeof url);
    assert_non_null(redis);
    int port = s_port_of(url);
    assert_true(port > 0);
    ls_store_t *store = ls_store_new(url, 2000, err, sizeof err);
    assert_non_null(store);
    s_expect_status(ls_store_command(store, "SET %s %s", "k", "before"), "OK");
    s_expect_integer(s_incr(store, "c", "1"), 1);

    ls_test_stop(&redis);
    /* The broken connection: NULL, and a reason to log. */
    assert_null(ls_store_command(store, "GET %s", "k"));
    assert_true(strlen(ls_store_error(store)) > 0);
    /* Still down: the reconnect attempt fails and names the address. */
    const char *ping[] = {"PING"};
    assert_null(ls_store_argv(store, 1, ping, NULL));
    char address[64];
    snprintf(address, sizeof address, "127.0.0.1:%d", port);
    if (!strstr(ls_store_error(store), address))
        fail_msg("error '%s' does not name %s", ls_store_error(store), address);

    char again[128];
    s_own_acl_redis = ls_test_redis_start_at(NULL, port, again, sizeof again);
    if (!s_own_acl_redis) {
        ls_store_destroy(&store);
        fail_msg("cannot start redis-server again on port %d", port);
    }
    /* The same store carries on; the new server is empty, its script cache too. */
    s_expect_status(ls_store_argv(store, 1, ping, NULL), "PONG");
    s_expect_nil(ls_store_command(store, "GET %s", "k"));
    s_expect_status(ls_store_command(store, "SET %s %s", "k", "after"), "OK");
    s_expect_bytes(ls_store_command(store, "GET %s", "k"), "after", 5);
    s_expect_integer(s_incr(store, "c", "2"), 2);
    ls_store_destroy(&store);
}

static void test_pipeline_after_restart(void **state)
{
    (void)state;
    int port = ls_test_free_port();
    s_own_redis = s_redis_spawn(port, NULL);
    assert_true(s_own_redis > 0);
    char url[64], err[256] = "";
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    ls_store_t *store = ls_store_new(url, 2000, err, sizeof err);
    assert_non_null(store);

    s_redis_stop(&s_own_redis);
    const char *ping[] = {"PING"};
    /* Appending buffers locally; reading the reply meets the closed connection. */
    if (ls_store_append(store, 1, ping, NULL) == 0)
        assert_null(ls_store_reply(store));
    assert_true(strlen(ls_store_error(store)) > 0);

    s_own_redis = s_redis_spawn(port, NULL);
    assert_true(s_own_redis > 0);
    assert_int_equal(ls_store_append(store, 1, ping, NULL), 0);
    assert_int_equal(ls_store_append(store, 1, ping, NULL), 0);
    s_expect_status(ls_store_reply(store), "PONG");
    s_expect_status(ls_store_reply(store), "PONG");
    ls_store_destroy(&store);
}

/* --------------------------------------------------------------------------
 * Passwords */

static void test_password(void **state)
{
    (void)state;
    int port = ls_test_free_port();
    /* '@' and ':' in the password: the URL splits at the last '@' and first ':'. */
    s_own_redis = s_redis_spawn(port, "p@ss:w0rd");
    assert_true(s_own_redis > 0);
    char url[128], err[512] = "";

    snprintf(url, sizeof url, "redis://:p@ss:w0rd@127.0.0.1:%d", port);
    ls_store_t *store = ls_store_new(url, 2000, err, sizeof err);
    if (!store)
        fail_msg("'%s' did not connect: %s", url, err);
    s_expect_status(ls_store_command(store, "SET %s %s", "secret", "kept"), "OK");
    s_expect_bytes(ls_store_command(store, "GET %s", "secret"), "kept", 4);
    ls_store_destroy(&store);

    /* Redis 6 ACL form with a user name. */
    snprintf(url, sizeof url, "redis://default:p@ss:w0rd@127.0.0.1:%d/1", port);
    store = ls_store_new(url, 2000, err, sizeof err);
    if (!store)
        fail_msg("'%s' did not connect: %s", url, err);
    s_expect_nil(ls_store_command(store, "GET %s", "secret")); /* db 1 */
    ls_store_destroy(&store);

    snprintf(url, sizeof url, "redis://:wrong@127.0.0.1:%d", port);
    err[0] = 0;
    int64_t start = s_now_ms();
    store = ls_store_new(url, 300, err, sizeof err);
    int64_t took = s_now_ms() - start;
    if (store) {
        ls_store_destroy(&store);
        fail_msg("a wrong password connected");
    }
    if (!strstr(err, "AUTH"))
        fail_msg("error '%s' does not say that AUTH failed", err);
    assert_true(took < 300 + 2000);

    /* Without a password the server refuses the commands. */
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    err[0] = 0;
    store = ls_store_new(url, 300, err, sizeof err);
    if (store) {
        redisReply *r = ls_store_command(store, "GET %s", "secret");
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_ERROR);
        assert_non_null(strstr(r->str, "NOAUTH"));
        freeReplyObject(r);
        ls_store_destroy(&store);
    } else
        assert_true(strlen(err) > 0);
}

/* --------------------------------------------------------------------------
 * Password files */

/* A configuration naming user on the shared server and a password file. */
static void s_file_config(ls_config_t *config, const char *user, const char *file)
{
    memset(config, 0, sizeof *config);
    snprintf(config->redis_url, sizeof config->redis_url, "redis://%s@127.0.0.1:%d/0", user,
             s_port_of(s_url));
    snprintf(config->redis_password_file, sizeof config->redis_password_file, "%s", file);
}

static void s_write(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static void s_expect_noperm(redisReply *r)
{
    assert_non_null(r);
    if (r->type != REDIS_REPLY_ERROR || strncmp(r->str, "NOPERM", 6) != 0)
        fail_msg("expected NOPERM, got type %d '%s'", r->type, r->str ? r->str : "");
    freeReplyObject(r);
}

static void test_password_file_logs_acl_user_in(void **state)
{
    (void)state;
    ls_config_t config;
    char file[512], err[512] = "";
    ls_test_redis_password_file(s_url, "registry", file, sizeof file);
    s_file_config(&config, "registry", file);
    if (ls_store_use_password_file(&config, err, sizeof err))
        fail_msg("%s", err);
    ls_store_t *store = ls_store_new(config.redis_url, 2000, err, sizeof err);
    if (!store)
        fail_msg("the registry user did not log in: %s", err);
    s_expect_status(ls_store_command(store, "PING"), "PONG");
    /* It is the registry user, not admin: its keys only. */
    s_expect_status(ls_store_command(store, "SET %s %s", "ls:ref:x:y", "sme-1"), "OK");
    s_expect_noperm(ls_store_command(store, "SET %s %s", "elsewhere", "x"));

    /* Its connection killed, the store logs in again with the same password. */
    s_expect_integer(ls_store_command(s_store, "CLIENT KILL USER %s", "registry"), 1);
    assert_null(ls_store_command(store, "PING"));
    s_expect_status(ls_store_command(store, "PING"), "PONG");
    assert_int_equal(ls_store_reconnects(store), 1);
    ls_store_destroy(&store);
}

static void test_password_file_forms(void **state)
{
    (void)state;
    char *dir = ls_test_tmpdir("lodestone-store-password");
    assert_non_null(dir);
    char file[512], err[512] = "";
    snprintf(file, sizeof file, "%s/password", dir);
    ls_config_t config;

    /* One trailing newline is dropped; a URL without a user gets only a password. */
    s_write(file, "s3cret\n", 7);
    s_file_config(&config, "registry", file);
    snprintf(config.redis_url, sizeof config.redis_url, "redis://redis.example:6380/2");
    assert_int_equal(ls_store_use_password_file(&config, err, sizeof err), 0);
    assert_string_equal(config.redis_url, "redis://:s3cret@redis.example:6380/2");

    /* "user:" with nothing after names no password either. */
    snprintf(config.redis_url, sizeof config.redis_url, "redis://matching:@h");
    assert_int_equal(ls_store_use_password_file(&config, err, sizeof err), 0);
    assert_string_equal(config.redis_url, "redis://matching:s3cret@h");

    /* A password in the URL wins: the file is not even read. */
    s_file_config(&config, "registry", "/nonexistent/password");
    snprintf(config.redis_url, sizeof config.redis_url, "redis://u:given@h");
    assert_int_equal(ls_store_use_password_file(&config, err, sizeof err), 0);
    assert_string_equal(config.redis_url, "redis://u:given@h");

    /* No file named: the URL stays as it is. */
    s_file_config(&config, "registry", "");
    char before[sizeof config.redis_url];
    memcpy(before, config.redis_url, sizeof before);
    assert_int_equal(ls_store_use_password_file(&config, err, sizeof err), 0);
    assert_string_equal(config.redis_url, before);

    unlink(file);
    rmdir(dir);
    free(dir);
}

/* Each bad file is refused with a message naming the variable and the path. */
static void test_password_file_refused(void **state)
{
    (void)state;
    char *dir = ls_test_tmpdir("lodestone-store-password");
    assert_non_null(dir);
    char file[512], empty[512], big[512];
    snprintf(file, sizeof file, "%s/missing", dir);
    snprintf(empty, sizeof empty, "%s/empty", dir);
    snprintf(big, sizeof big, "%s/big", dir);
    s_write(empty, "\n", 1);
    char *text = ls_test_long_text(256);
    s_write(big, text, 256);
    free(text);
    const struct {
        const char *path, *says;
    } cases[] = {
        {file, "cannot read"},
        {dir, "cannot read"}, /* a directory */
        {empty, "is empty"},
        {big, "more than 255 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ls_config_t config;
        char err[512] = "";
        s_file_config(&config, "registry", cases[i].path);
        assert_int_equal(ls_store_use_password_file(&config, err, sizeof err), -1);
        if (!strstr(err, "LODESTONE_REDIS_PASSWORD_FILE") || !strstr(err, cases[i].path) ||
            !strstr(err, cases[i].says))
            fail_msg("%s: '%s' does not name the variable, the file and '%s'", cases[i].path, err,
                     cases[i].says);
    }
    unlink(empty);
    unlink(big);
    rmdir(dir);
    free(dir);
}

/* A wrong password is refused at once, not retried for the whole wait. */
static void test_wrong_password_file_fails_fast(void **state)
{
    (void)state;
    char *dir = ls_test_tmpdir("lodestone-store-password");
    assert_non_null(dir);
    char file[512], err[512] = "";
    snprintf(file, sizeof file, "%s/password", dir);
    s_write(file, "not-the-password", 16);
    ls_config_t config;
    s_file_config(&config, "registry", file);
    assert_int_equal(ls_store_use_password_file(&config, err, sizeof err), 0);
    int64_t start = s_now_ms();
    ls_store_t *store = ls_store_new(config.redis_url, 10000, err, sizeof err);
    int64_t took = s_now_ms() - start;
    assert_null(store);
    if (!strstr(err, "AUTH") || !strstr(err, "WRONGPASS"))
        fail_msg("error '%s' does not name AUTH and the Redis error", err);
    /* The password is not in the message. */
    assert_null(strstr(err, "not-the-password"));
    assert_true(took < 2000);
    unlink(file);
    rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_urls_refused),
        cmocka_unit_test(test_nothing_listening),
        cmocka_unit_test_setup_teardown(test_url_forms_connect, s_open, s_close),
        cmocka_unit_test_setup_teardown(test_database_selected, s_open, s_close),
        cmocka_unit_test_setup_teardown(test_binary_safe_argv, s_open, s_close),
        cmocka_unit_test_setup_teardown(test_binary_safe_format, s_open, s_close),
        cmocka_unit_test_setup_teardown(test_error_reply_returned, s_open, s_close),
        cmocka_unit_test_setup_teardown(test_get_u64, s_open, s_close),
        cmocka_unit_test_setup_teardown(test_eval_and_noscript_reload, s_open, s_close),
        cmocka_unit_test_setup_teardown(test_eval_binary_and_errors, s_open, s_close),
        cmocka_unit_test_setup_teardown(test_eval_chunks, s_open, s_close),
        cmocka_unit_test_setup_teardown(test_pipeline_in_order, s_open, s_close),
        cmocka_unit_test_setup_teardown(test_reconnect_same_port, NULL, s_close),
        cmocka_unit_test_setup_teardown(test_pipeline_after_restart, NULL, s_close),
        cmocka_unit_test_setup_teardown(test_password, NULL, s_close),
        cmocka_unit_test_setup_teardown(test_password_file_logs_acl_user_in, s_open, s_close),
        cmocka_unit_test(test_password_file_forms),
        cmocka_unit_test(test_password_file_refused),
        cmocka_unit_test(test_wrong_password_file_fails_fast),
    };
    return cmocka_run_group_tests_name("store", tests, s_group_setup, s_group_teardown);
}
