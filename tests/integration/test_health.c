/* test_health.c — /healthz and /metrics of the three services, and lodestonectl
 * status, against the real pipeline: ready once caught up, metrics in the text
 * format with the documented names, counters that follow a put, 503 naming Redis
 * while Redis is down and 200 again after it is back, 404 and 405 for the rest.
 * Its own process: it stops and restarts the pipeline's Redis. */
#include "harness.h"
#include "pipeline.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ls_util.h"
#include "service_http.h"

static char s_http[LS_PIPE_SERVICES][64]; /* http://127.0.0.1:PORT of each service */
static const char *s_names[] = {"registry", "matching", "notification"};

/* ---------------------------------------------------------------------------
 * HTTP */

/* Sends method to the service's path. Returns the HTTP status (-1: no answer);
 * *body (when not NULL) gets the body, "" at least, for the caller to free;
 * content_type (when not NULL) the Content-Type. */
static long s_request(int service, const char *method, const char *path, char **body,
                      char *content_type, size_t type_len)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", s_http[service], path);
    return service_http_request(method, url, 3000, body, content_type, type_len);
}

static long s_get(int service, const char *path, char **body)
{
    return s_request(service, "GET", path, body, NULL, 0);
}

/* Polls /healthz until it answers status with a body containing text (NULL: any),
 * for up to ms. */
static void s_await_health(int service, long status, const char *text, int ms)
{
    int64_t deadline = ls_mono_ms() + ms;
    long last = 0;
    char *body = NULL;
    while (ls_mono_ms() < deadline) {
        free(body);
        last = s_get(service, "/healthz", &body);
        if (last == status && (!text || strstr(body, text)))
            break;
        zclock_sleep(100);
    }
    if (last != status || (text && !strstr(body, text)))
        fail_msg("%s /healthz: %ld '%s', not %ld '%s' within %d ms", s_names[service], last,
                 body ? body : "", status, text ? text : "", ms);
    free(body);
}

/* ---------------------------------------------------------------------------
 * The text format */

static bool s_name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* True when line is `name{label="value",...} number` or `name number`. */
static bool s_sample_ok(const char *line)
{
    const char *p = line;
    if (!s_name_char(*p, true))
        return false;
    while (s_name_char(*p, false))
        p++;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            if (!s_name_char(*p, true) || *p == ':')
                return false;
            while (s_name_char(*p, false) && *p != ':')
                p++;
            if (p[0] != '=' || p[1] != '"')
                return false;
            for (p += 2; *p && *p != '"'; p++)
                if (*p == '\\' && (p[1] == '\\' || p[1] == '"' || p[1] == 'n'))
                    p++;
                else if (*p == '\\')
                    return false;
            if (*p != '"')
                return false;
            p++;
            if (*p == ',')
                p++;
            else if (*p != '}')
                return false;
        }
        p++;
    }
    if (*p++ != ' ')
        return false;
    if (strcmp(p, "+Inf") == 0 || strcmp(p, "-Inf") == 0 || strcmp(p, "NaN") == 0)
        return true;
    char *end;
    strtod(p, &end);
    return end != p && *end == 0;
}

/* Asserts that every line of text is a comment or a sample. */
static void s_assert_format(const char *service, char *text)
{
    size_t lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), lines++)
        if (strncmp(line, "# HELP ", 7) != 0 && strncmp(line, "# TYPE ", 7) != 0 &&
            !s_sample_ok(line))
            fail_msg("%s /metrics: a bad line: '%s'", service, line);
    assert_true(lines > 10);
}

/* The value of the metric name{...has...} on the service (its samples summed);
 * fails the test when it has no such sample. */
static double s_metric(int service, const char *name, const char *has)
{
    char *text = NULL;
    assert_int_equal(s_get(service, "/metrics", &text), 200);
    double value = service_http_metric(text, name, has, NULL);
    free(text);
    if (value < 0)
        fail_msg("%s /metrics has no sample %s{%s}", s_names[service], name, has ? has : "");
    return value;
}

/* The same for a counter, which has no sample until it first counts: 0 then. */
static double s_count(int service, const char *name, const char *has)
{
    char *text = NULL;
    assert_int_equal(s_get(service, "/metrics", &text), 200);
    double value = service_http_metric(text, name, has, NULL);
    free(text);
    return value < 0 ? 0 : value;
}

/* ---------------------------------------------------------------------------
 * Tests */

static void test_healthz_is_ok_on_every_service_once_caught_up(void **state)
{
    (void)state;
    ls_pipe_await_caught_up();
    for (int i = 0; i < LS_PIPE_SERVICES; i++) {
        s_await_health(i, 200, NULL, 10000);
        char *body = NULL;
        assert_int_equal(s_get(i, "/healthz", &body), 200);
        assert_string_equal(body, "ok\n");
        free(body);
        /* HEAD answers the same status, without a body. */
        assert_int_equal(s_request(i, "HEAD", "/healthz", NULL, NULL, 0), 200);
    }
}

static void test_metrics_parse_and_name_what_docs_metrics_lists(void **state)
{
    (void)state;
    static const char *common[] = {"lodestone_requests_total",
                                   "lodestone_request_duration_seconds",
                                   "lodestone_ready",
                                   "lodestone_redis_up",
                                   "lodestone_redis_reconnects_total",
                                   "lodestone_journal_lag",
                                   "lodestone_journal_position",
                                   "lodestone_follower_gaps_filled_total",
                                   "lodestone_follower_duplicates_total"};
    static const char *own[][6] = {
        {"lodestone_registry_writes_total"},
        {"lodestone_matching_changes_total", "lodestone_matching_events_total",
         "lodestone_journal_lag{service=\"matching\",journal=\"changes\"}"},
        {"lodestone_notifications_total", "lodestone_webhook_attempts_failed_total",
         "lodestone_webhook_retries_total", "lodestone_webhook_in_flight",
         "lodestone_journal_lag{service=\"notification\",journal=\"matches\"}",
         "lodestone_journal_lag{service=\"notification\",journal=\"changes\"}"},
    };
    ls_pipe_await_caught_up();
    for (int i = 0; i < LS_PIPE_SERVICES; i++) {
        char *text = NULL, type[128];
        assert_int_equal(s_request(i, "GET", "/metrics", &text, type, sizeof type), 200);
        assert_string_equal(type, "text/plain; version=0.0.4; charset=utf-8");
        char expected[200];
        for (size_t k = 0; k < sizeof common / sizeof common[0]; k++) {
            snprintf(expected, sizeof expected, "# TYPE %s ", common[k]);
            if (!strstr(text, expected))
                fail_msg("%s /metrics lacks %s", s_names[i], common[k]);
        }
        for (size_t k = 0; k < 6 && own[i][k]; k++)
            if (!strstr(text, own[i][k]))
                fail_msg("%s /metrics lacks %s", s_names[i], own[i][k]);
        snprintf(expected, sizeof expected, "lodestone_ready{service=\"%s\"} 1\n", s_names[i]);
        assert_non_null(strstr(text, expected));
        assert_non_null(strstr(text, "# TYPE lodestone_request_duration_seconds histogram\n"));
        s_assert_format(s_names[i], text);
        free(text);
    }
}

static void test_a_put_moves_the_counters(void **state)
{
    (void)state;
    const char *put_ok = "type=\"put\",status=\"OK\"";
    ls_pipe_await_caught_up();
    zclock_sleep(300); /* a tick copies the engine's counters */
    double puts = s_count(LS_PIPE_REGISTRY, "lodestone_requests_total", put_ok);
    double created = s_count(LS_PIPE_REGISTRY, "lodestone_registry_writes_total",
                             "op=\"put\",outcome=\"created\"");
    double timed =
        s_count(LS_PIPE_REGISTRY, "lodestone_request_duration_seconds_count", "type=\"put\"");
    double changes = s_count(LS_PIPE_MATCHING, "lodestone_matching_changes_total", NULL);

    free(ls_pipe_put_id(ls_pipe_put_sme("health-sme-1", "FI1D7", "cobalt", "beneficiation", 6)));
    ls_pipe_await_caught_up();

    assert_true(s_metric(LS_PIPE_REGISTRY, "lodestone_requests_total", put_ok) == puts + 1);
    assert_true(s_metric(LS_PIPE_REGISTRY, "lodestone_registry_writes_total",
                         "op=\"put\",outcome=\"created\"") == created + 1);
    assert_true(s_metric(LS_PIPE_REGISTRY, "lodestone_request_duration_seconds_count",
                         "type=\"put\"") == timed + 1);
    /* Matching copies its count on its next tick. */
    int64_t deadline = ls_mono_ms() + 5000;
    double now = changes;
    while (now <= changes && ls_mono_ms() < deadline) {
        zclock_sleep(100);
        now = s_count(LS_PIPE_MATCHING, "lodestone_matching_changes_total", NULL);
    }
    assert_true(now >= changes + 1);
    assert_true(s_metric(LS_PIPE_MATCHING, "lodestone_journal_lag", NULL) == 0);
}

static void test_unknown_paths_and_methods_are_refused(void **state)
{
    (void)state;
    for (int i = 0; i < LS_PIPE_SERVICES; i++) {
        assert_int_equal(s_get(i, "/nothing-here", NULL), 404);
        assert_int_equal(s_get(i, "/", NULL), 404);
        assert_int_equal(s_request(i, "POST", "/healthz", NULL, NULL, 0), 405);
        assert_int_equal(s_request(i, "DELETE", "/metrics", NULL, NULL, 0), 405);
    }
}

static void test_status_prints_a_row_per_service(void **state)
{
    (void)state;
    ls_pipe_await_caught_up();
    for (int i = 0; i < LS_PIPE_SERVICES; i++)
        s_await_health(i, 200, NULL, 10000);
    char out[8192];
    int rc = ls_pipe_ctl("status", out, sizeof out);
    if (rc != 0)
        fail_msg("lodestonectl status exited %d:\n%s", rc, out);
    assert_non_null(strstr(out, "SERVICE"));
    assert_non_null(strstr(out, "HEALTH"));
    for (int i = 0; i < LS_PIPE_SERVICES; i++) {
        char *row = strstr(out, s_names[i]);
        assert_non_null(row);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)strcspn(row, "\n"), row);
        assert_non_null(strstr(line, " ok "));
    }
    assert_non_null(strstr(out, "changes="));
    assert_non_null(strstr(out, "inbox="));
    assert_non_null(strstr(out, "webhooks-dead="));
}

static void test_a_stopped_service_is_unreachable_in_status(void **state)
{
    (void)state;
    int status = ls_test_stop(&ls_pipe.procs[LS_PIPE_NOTIFICATION]);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(s_get(LS_PIPE_NOTIFICATION, "/healthz", NULL), -1);
    char out[8192];
    int rc = ls_pipe_ctl("status", out, sizeof out);
    assert_int_equal(rc, 1);
    char *row = strstr(out, "notification");
    assert_non_null(row);
    assert_non_null(strstr(row, "unreachable"));
    assert_int_equal(ls_pipe_start(LS_PIPE_NOTIFICATION), 0);
    s_await_health(LS_PIPE_NOTIFICATION, 200, NULL, 15000);
}

static void test_healthz_names_redis_while_it_is_down(void **state)
{
    (void)state;
    double reconnects = s_count(LS_PIPE_REGISTRY, "lodestone_redis_reconnects_total", NULL);
    int status = ls_test_stop(&ls_pipe.redis);
    assert_true(WIFEXITED(status));
    for (int i = 0; i < LS_PIPE_SERVICES; i++)
        s_await_health(i, 503, "Redis", 10000);
    assert_true(s_metric(LS_PIPE_REGISTRY, "lodestone_redis_up", NULL) == 0);
    assert_true(s_metric(LS_PIPE_MATCHING, "lodestone_ready", NULL) == 0);
    char out[8192];
    assert_int_equal(ls_pipe_ctl("status", out, sizeof out), 1);
    assert_non_null(strstr(out, "503 Redis is unreachable"));

    int port = atoi(strrchr(ls_pipe.redis_url, ':') + 1);
    char url[128];
    ls_pipe.redis = ls_test_redis_start_at(ls_pipe.redis_dir, port, url, sizeof url);
    assert_non_null(ls_pipe.redis);
    for (int i = 0; i < LS_PIPE_SERVICES; i++)
        s_await_health(i, 200, NULL, 20000);
    assert_true(s_metric(LS_PIPE_REGISTRY, "lodestone_redis_reconnects_total", NULL) >=
                reconnects + 1);
    assert_int_equal(ls_pipe_ctl("status", out, sizeof out), 0);
}

/* ---------------------------------------------------------------------------
 * The pipeline, with an HTTP port for every service */

static int s_setup(void **state)
{
    (void)state;
    static char values[LS_PIPE_SERVICES][2][64];
    static const char *stems[] = {"REGISTRY", "MATCHING", "NOTIFICATION"};
    static char names[LS_PIPE_SERVICES][2][64];
    const char *extra[4 * LS_PIPE_SERVICES + 1] = {NULL};
    size_t n = 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (int i = 0; i < LS_PIPE_SERVICES; i++) {
        int port = ls_test_free_port();
        snprintf(names[i][0], sizeof names[i][0], "LODESTONE_%s_HTTP_BIND", stems[i]);
        snprintf(values[i][0], sizeof values[i][0], "127.0.0.1:%d", port);
        snprintf(names[i][1], sizeof names[i][1], "LODESTONE_%s_HTTP_ENDPOINT", stems[i]);
        snprintf(values[i][1], sizeof values[i][1], "http://127.0.0.1:%d", port);
        snprintf(s_http[i], sizeof s_http[i], "%s", values[i][1]);
        extra[n++] = names[i][0];
        extra[n++] = values[i][0];
        extra[n++] = names[i][1];
        extra[n++] = values[i][1];
    }
    return ls_pipe_setup_with(extra);
}

static int s_teardown(void **state)
{
    int rc = ls_pipe_teardown(state);
    curl_global_cleanup();
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz_is_ok_on_every_service_once_caught_up),
        cmocka_unit_test(test_metrics_parse_and_name_what_docs_metrics_lists),
        cmocka_unit_test(test_a_put_moves_the_counters),
        cmocka_unit_test(test_unknown_paths_and_methods_are_refused),
        cmocka_unit_test(test_status_prints_a_row_per_service),
        cmocka_unit_test(test_a_stopped_service_is_unreachable_in_status),
        cmocka_unit_test(test_healthz_names_redis_while_it_is_down),
    };
    int failed = cmocka_run_group_tests(tests, s_setup, s_teardown);
    /* cmocka reports a failed group teardown but does not count it. */
    return failed || ls_pipe.teardown_failed ? 1 : 0;
}
