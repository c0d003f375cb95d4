/* test_config.c — unit test for ls_config: with no LODESTONE_* variable set every
 * setting has its documented default, variables override them, every kind of bad
 * value is refused with an error naming the variable, and the description lists
 * every variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_config.h"

extern char **environ;

/* Every variable the table documents. */
static const char *const s_vars[] = {
    "LODESTONE_REDIS_URL",
    "LODESTONE_LOG_LEVEL",
    "LODESTONE_DATA_DIR",
    "LODESTONE_REGISTRY_BIND",
    "LODESTONE_REGISTRY_ENDPOINT",
    "LODESTONE_REGISTRY_PUB_BIND",
    "LODESTONE_REGISTRY_PUB_ENDPOINT",
    "LODESTONE_MATCHING_BIND",
    "LODESTONE_MATCHING_ENDPOINT",
    "LODESTONE_NOTIFICATION_BIND",
    "LODESTONE_NOTIFICATION_ENDPOINT",
    "LODESTONE_NOTIFICATION_PULL_BIND",
    "LODESTONE_NOTIFICATION_PULL_ENDPOINT",
    "LODESTONE_NOTIFICATION_PUB_BIND",
    "LODESTONE_NOTIFICATION_PUB_ENDPOINT",
    "LODESTONE_MATCHING_PARTITION_INDEX",
    "LODESTONE_MATCHING_PARTITIONS",
    "LODESTONE_MATCHING_LEASE_MS",
    "LODESTONE_INSTANCE",
    "LODESTONE_TOP_K",
    "LODESTONE_THRESHOLD",
    "LODESTONE_MAX_MESSAGE_BYTES",
    "LODESTONE_HEARTBEAT_MS",
    "LODESTONE_TIMEOUT_MS",
    "LODESTONE_PUBLISHER",
};
#define S_VAR_COUNT (sizeof s_vars / sizeof s_vars[0])

/* Unsets every LODESTONE_* variable, also ones this test does not know of. */
static int s_clear_env(void **state)
{
    (void)state;
    for (int again = 1; again;) {
        again = 0;
        for (char **e = environ; e && *e; e++) {
            if (strncmp(*e, "LODESTONE_", 10) != 0)
                continue;
            char name[256];
            size_t len = strcspn(*e, "=");
            if (len >= sizeof name)
                continue;
            memcpy(name, *e, len);
            name[len] = 0;
            unsetenv(name);
            again = 1; /* environ changed under us: scan again */
            break;
        }
    }
    return 0;
}

static void s_setenv(const char *name, const char *value)
{
    assert_int_equal(setenv(name, value, 1), 0);
}

/* True when text names the variable as a whole word (INSTANCE is not INSTANCES). */
static int s_names(const char *text, const char *name)
{
    size_t len = strlen(name);
    for (const char *at = strstr(text, name); at; at = strstr(at + 1, name)) {
        char next = at[len];
        if (!(next == '_' || (next >= 'A' && next <= 'Z') || (next >= '0' && next <= '9')))
            return 1;
    }
    return 0;
}

/* Loads with one variable set to value; asserts the load fails and the error names
 * the variable. */
static void s_assert_refused(const char *name, const char *value)
{
    s_setenv(name, value);
    ls_config_t cfg;
    char err[512] = "";
    int rc = ls_config_load(&cfg, err, sizeof err);
    if (rc != -1)
        fail_msg("%s='%.40s' was accepted", name, value);
    if (!s_names(err, name))
        fail_msg("error for %s does not name it: '%s'", name, err);
    unsetenv(name);
}

/* --------------------------------------------------------------------------
 * Tests */

static void test_defaults(void **state)
{
    (void)state;
    ls_config_t cfg;
    char err[256] = "";
    assert_int_equal(ls_config_load(&cfg, err, sizeof err), 0);
    assert_string_equal(cfg.redis_url, "redis://127.0.0.1:6379");
    assert_int_equal(cfg.log_level, LS_LOG_INFO);
    assert_true(strlen(cfg.data_dir) > 0);
    assert_string_equal(cfg.registry_bind, "tcp://127.0.0.1:7100");
    assert_string_equal(cfg.registry_endpoint, "tcp://127.0.0.1:7100");
    assert_string_equal(cfg.registry_pub_bind, "tcp://127.0.0.1:7101");
    assert_string_equal(cfg.registry_pub_endpoint, "tcp://127.0.0.1:7101");
    assert_string_equal(cfg.matching_bind, "tcp://127.0.0.1:7200");
    assert_string_equal(cfg.matching_endpoint, "tcp://127.0.0.1:7200");
    assert_string_equal(cfg.notification_bind, "tcp://127.0.0.1:7300");
    assert_string_equal(cfg.notification_endpoint, "tcp://127.0.0.1:7300");
    assert_string_equal(cfg.notification_pull_bind, "tcp://127.0.0.1:7301");
    assert_string_equal(cfg.notification_pull_endpoint, "tcp://127.0.0.1:7301");
    assert_string_equal(cfg.notification_pub_bind, "tcp://127.0.0.1:7302");
    assert_string_equal(cfg.notification_pub_endpoint, "tcp://127.0.0.1:7302");
    assert_int_equal(cfg.matching_partition, -1); /* auto: claimed by a lease */
    assert_int_equal(cfg.matching_partitions, 1);
    assert_int_equal(cfg.matching_lease_ms, 10000);
    assert_string_equal(cfg.instance, "");
    assert_int_equal(cfg.top_k, 10);
    assert_true(cfg.threshold == 0.3);
    assert_int_equal(cfg.max_message_bytes, 1048576);
    assert_int_equal(cfg.heartbeat_ms, 1000);
    assert_int_equal(cfg.timeout_ms, 5000);
    assert_string_equal(cfg.publisher, "local");
}

static void test_overrides(void **state)
{
    (void)state;
    s_setenv("LODESTONE_REDIS_URL", "redis://:secret@redis:6380/2");
    s_setenv("LODESTONE_LOG_LEVEL", "debug");
    s_setenv("LODESTONE_DATA_DIR", "/srv/lodestone/data");
    s_setenv("LODESTONE_REGISTRY_BIND", "tcp://*:7100");
    s_setenv("LODESTONE_REGISTRY_ENDPOINT", "tcp://registry:7100");
    s_setenv("LODESTONE_NOTIFICATION_PUB_ENDPOINT", "tcp://notification:7302");
    s_setenv("LODESTONE_MATCHING_PARTITION_INDEX", "2");
    s_setenv("LODESTONE_MATCHING_PARTITIONS", "3");
    s_setenv("LODESTONE_MATCHING_LEASE_MS", "2500");
    s_setenv("LODESTONE_INSTANCE", "matching-7");
    s_setenv("LODESTONE_TOP_K", "25");
    s_setenv("LODESTONE_THRESHOLD", "0.55");
    s_setenv("LODESTONE_MAX_MESSAGE_BYTES", "4096");
    s_setenv("LODESTONE_HEARTBEAT_MS", "250");
    s_setenv("LODESTONE_TIMEOUT_MS", "60000");
    s_setenv("LODESTONE_PUBLISHER", "partner-b");

    ls_config_t cfg;
    char err[256] = "";
    assert_int_equal(ls_config_load(&cfg, err, sizeof err), 0);
    assert_string_equal(cfg.redis_url, "redis://:secret@redis:6380/2");
    assert_int_equal(cfg.log_level, LS_LOG_DEBUG);
    assert_string_equal(cfg.data_dir, "/srv/lodestone/data");
    assert_string_equal(cfg.registry_bind, "tcp://*:7100");
    assert_string_equal(cfg.registry_endpoint, "tcp://registry:7100");
    assert_string_equal(cfg.notification_pub_endpoint, "tcp://notification:7302");
    assert_int_equal(cfg.matching_partition, 2);
    assert_int_equal(cfg.matching_partitions, 3);
    assert_int_equal(cfg.matching_lease_ms, 2500);
    assert_string_equal(cfg.instance, "matching-7");
    assert_int_equal(cfg.top_k, 25);
    assert_true(cfg.threshold == 0.55);
    assert_int_equal(cfg.max_message_bytes, 4096);
    assert_int_equal(cfg.heartbeat_ms, 250);
    assert_int_equal(cfg.timeout_ms, 60000);
    assert_string_equal(cfg.publisher, "partner-b");
    /* What was not set keeps its default. */
    assert_string_equal(cfg.matching_bind, "tcp://127.0.0.1:7200");
    assert_string_equal(cfg.notification_pub_bind, "tcp://127.0.0.1:7302");
}

static void test_log_levels(void **state)
{
    (void)state;
    const char *names[] = {"debug", "info", "warn", "error"};
    const ls_log_level_t levels[] = {LS_LOG_DEBUG, LS_LOG_INFO, LS_LOG_WARN, LS_LOG_ERROR};
    for (size_t i = 0; i < 4; i++) {
        s_setenv("LODESTONE_LOG_LEVEL", names[i]);
        ls_config_t cfg;
        char err[256] = "";
        assert_int_equal(ls_config_load(&cfg, err, sizeof err), 0);
        assert_int_equal(cfg.log_level, levels[i]);
    }
}

static void test_empty_means_default(void **state)
{
    (void)state;
    /* Compose passes "VAR=" for an unset ${VAR}: that is the default, not an error. */
    s_setenv("LODESTONE_TOP_K", "");
    s_setenv("LODESTONE_REDIS_URL", "");
    ls_config_t cfg;
    char err[256] = "";
    assert_int_equal(ls_config_load(&cfg, err, sizeof err), 0);
    assert_int_equal(cfg.top_k, 10);
    assert_string_equal(cfg.redis_url, "redis://127.0.0.1:6379");
}

static void test_bounds_accepted(void **state)
{
    (void)state;
    s_setenv("LODESTONE_TOP_K", "1000");
    s_setenv("LODESTONE_THRESHOLD", "1");
    s_setenv("LODESTONE_MATCHING_PARTITIONS", "1024");
    s_setenv("LODESTONE_MATCHING_PARTITION_INDEX", "1023");
    char longest[LS_CONFIG_STR];
    memset(longest, 'x', sizeof longest - 1);
    longest[sizeof longest - 1] = 0;
    s_setenv("LODESTONE_PUBLISHER", longest);
    ls_config_t cfg;
    char err[256] = "";
    assert_int_equal(ls_config_load(&cfg, err, sizeof err), 0);
    assert_int_equal(cfg.top_k, 1000);
    assert_true(cfg.threshold == 1.0);
    assert_int_equal(cfg.matching_partitions, 1024);
    assert_int_equal(cfg.matching_partition, 1023);
    assert_string_equal(cfg.publisher, longest);

    s_setenv("LODESTONE_THRESHOLD", "0");
    s_setenv("LODESTONE_TOP_K", "1");
    assert_int_equal(ls_config_load(&cfg, err, sizeof err), 0);
    assert_true(cfg.threshold == 0.0);
    assert_int_equal(cfg.top_k, 1);
}

static void test_bad_integers(void **state)
{
    (void)state;
    s_assert_refused("LODESTONE_TOP_K", "abc");
    s_assert_refused("LODESTONE_TOP_K", "0");
    s_assert_refused("LODESTONE_TOP_K", "1001");
    s_assert_refused("LODESTONE_TOP_K", "-5");
    s_assert_refused("LODESTONE_TOP_K", "10abc");
    s_assert_refused("LODESTONE_TOP_K", "10 ");
    s_assert_refused("LODESTONE_TOP_K", "2.5");
    s_assert_refused("LODESTONE_TOP_K", "99999999999999999999999");
    s_assert_refused("LODESTONE_MAX_MESSAGE_BYTES", "100");
    s_assert_refused("LODESTONE_HEARTBEAT_MS", "0");
    s_assert_refused("LODESTONE_TIMEOUT_MS", "soon");
    s_assert_refused("LODESTONE_MATCHING_PARTITIONS", "0");
}

static void test_bad_threshold(void **state)
{
    (void)state;
    s_assert_refused("LODESTONE_THRESHOLD", "1.5");
    s_assert_refused("LODESTONE_THRESHOLD", "-0.1");
    s_assert_refused("LODESTONE_THRESHOLD", "high");
    s_assert_refused("LODESTONE_THRESHOLD", "0.5x");
    s_assert_refused("LODESTONE_THRESHOLD", "nan");
    s_assert_refused("LODESTONE_THRESHOLD", "inf");
    s_assert_refused("LODESTONE_THRESHOLD", "1e999");
}

static void test_bad_log_level(void **state)
{
    (void)state;
    s_assert_refused("LODESTONE_LOG_LEVEL", "loud");
    s_assert_refused("LODESTONE_LOG_LEVEL", "INFO");
    s_assert_refused("LODESTONE_LOG_LEVEL", "warning");

    s_setenv("LODESTONE_LOG_LEVEL", "loud");
    ls_config_t cfg;
    char err[512] = "";
    assert_int_equal(ls_config_load(&cfg, err, sizeof err), -1);
    /* The person reading it learns what was wrong and what is allowed. */
    assert_non_null(strstr(err, "loud"));
    assert_non_null(strstr(err, "debug"));
}

static void test_instance_not_below_instances(void **state)
{
    (void)state;
    s_setenv("LODESTONE_MATCHING_PARTITIONS", "2");
    s_assert_refused("LODESTONE_MATCHING_PARTITION_INDEX", "2");
    s_assert_refused("LODESTONE_MATCHING_PARTITION_INDEX", "5");
    s_assert_refused("LODESTONE_MATCHING_PARTITION_INDEX", "-1");

    s_setenv("LODESTONE_MATCHING_PARTITION_INDEX", "1");
    ls_config_t cfg;
    char err[256] = "";
    assert_int_equal(ls_config_load(&cfg, err, sizeof err), 0);
    assert_int_equal(cfg.matching_partition, 1);
    assert_int_equal(cfg.matching_partitions, 2);
}

static void test_partition_auto_and_lease(void **state)
{
    (void)state;
    s_setenv("LODESTONE_MATCHING_PARTITIONS", "3");
    s_setenv("LODESTONE_MATCHING_PARTITION_INDEX", "auto");
    ls_config_t cfg;
    char err[256] = "";
    assert_int_equal(ls_config_load(&cfg, err, sizeof err), 0);
    assert_int_equal(cfg.matching_partition, -1);
    /* Only the word itself; the error says it is allowed. */
    s_assert_refused("LODESTONE_MATCHING_PARTITION_INDEX", "AUTO");
    s_assert_refused("LODESTONE_MATCHING_PARTITION_INDEX", "auto1");
    s_setenv("LODESTONE_MATCHING_PARTITION_INDEX", "any");
    assert_int_equal(ls_config_load(&cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "auto"));
    unsetenv("LODESTONE_MATCHING_PARTITION_INDEX");

    s_setenv("LODESTONE_MATCHING_LEASE_MS", "1000");
    assert_int_equal(ls_config_load(&cfg, err, sizeof err), 0);
    assert_int_equal(cfg.matching_lease_ms, 1000);
    s_setenv("LODESTONE_MATCHING_LEASE_MS", "600000");
    assert_int_equal(ls_config_load(&cfg, err, sizeof err), 0);
    assert_int_equal(cfg.matching_lease_ms, 600000);
    s_assert_refused("LODESTONE_MATCHING_LEASE_MS", "999");
    s_assert_refused("LODESTONE_MATCHING_LEASE_MS", "600001");
    s_assert_refused("LODESTONE_MATCHING_LEASE_MS", "auto");
}

static void test_string_too_long(void **state)
{
    (void)state;
    char text[LS_CONFIG_STR + 1];
    memset(text, 'a', sizeof text - 1);
    text[sizeof text - 1] = 0; /* 256 characters: one too many */
    s_assert_refused("LODESTONE_REDIS_URL", text);
    s_assert_refused("LODESTONE_PUBLISHER", text);
    s_assert_refused("LODESTONE_NOTIFICATION_PUB_ENDPOINT", text);

    char huge[4096];
    memset(huge, 'b', sizeof huge - 1);
    huge[sizeof huge - 1] = 0;
    s_assert_refused("LODESTONE_DATA_DIR", huge);
}

static void test_error_fits_small_buffer(void **state)
{
    (void)state;
    s_setenv("LODESTONE_TOP_K", "abc");
    ls_config_t cfg;
    char err[16];
    memset(err, 'z', sizeof err);
    assert_int_equal(ls_config_load(&cfg, err, sizeof err), -1);
    assert_true(memchr(err, 0, sizeof err) != NULL);
    assert_int_equal(strncmp(err, "LODESTONE_TOP_K", sizeof err - 1), 0);
}

static void test_describe_lists_every_variable(void **state)
{
    (void)state;
    s_setenv("LODESTONE_TOP_K", "42");
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    ls_config_describe(out);
    assert_int_equal(fclose(out), 0);
    assert_non_null(text);

    for (size_t i = 0; i < S_VAR_COUNT; i++) {
        /* Each entry starts a line with the bare name (INSTANCE vs INSTANCES). */
        char line[128];
        snprintf(line, sizeof line, "\n%s\n", s_vars[i]);
        size_t len = strlen(s_vars[i]);
        int at_start = strncmp(text, s_vars[i], len) == 0 && text[len] == '\n';
        if (!at_start && !strstr(text, line))
            fail_msg("ls_config_describe does not list %s", s_vars[i]);
    }
    assert_non_null(strstr(text, "default: redis://127.0.0.1:6379"));
    assert_non_null(strstr(text, "default: 10; set to: 42"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, s_clear_env, s_clear_env),
        cmocka_unit_test_setup_teardown(test_overrides, s_clear_env, s_clear_env),
        cmocka_unit_test_setup_teardown(test_log_levels, s_clear_env, s_clear_env),
        cmocka_unit_test_setup_teardown(test_empty_means_default, s_clear_env, s_clear_env),
        cmocka_unit_test_setup_teardown(test_bounds_accepted, s_clear_env, s_clear_env),
        cmocka_unit_test_setup_teardown(test_bad_integers, s_clear_env, s_clear_env),
        cmocka_unit_test_setup_teardown(test_bad_threshold, s_clear_env, s_clear_env),
        cmocka_unit_test_setup_teardown(test_bad_log_level, s_clear_env, s_clear_env),
        cmocka_unit_test_setup_teardown(test_instance_not_below_instances, s_clear_env,
                                        s_clear_env),
        cmocka_unit_test_setup_teardown(test_partition_auto_and_lease, s_clear_env, s_clear_env),
        cmocka_unit_test_setup_teardown(test_string_too_long, s_clear_env, s_clear_env),
        cmocka_unit_test_setup_teardown(test_error_fits_small_buffer, s_clear_env, s_clear_env),
        cmocka_unit_test_setup_teardown(test_describe_lists_every_variable, s_clear_env,
                                        s_clear_env),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
