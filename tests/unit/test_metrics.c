/* test_metrics.c — the metrics registry (ls_metrics.h): the exact text a small
 * registry renders, label and help escaping, cumulative histogram buckets, and
 * counts that two threads add at once; and the HTTP bind parser (ls_http.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ls_http.h"
#include "ls_metrics.h"

static void test_small_registry_renders_exactly(void **state)
{
    (void)state;
    ls_metrics_t *m = ls_metrics_new("registry");
    ls_metric_t *requests =
        ls_metrics_counter(m, "lodestone_requests_total", "Requests answered", "type,status");
    ls_metric_t *lag = ls_metrics_gauge(m, "lodestone_journal_lag", "Entries behind", "journal");
    ls_metric_t *up = ls_metrics_gauge(m, "lodestone_redis_up", "1 when Redis answers", NULL);
    assert_non_null(requests);
    assert_non_null(lag);
    assert_non_null(up);
    ls_series_add(ls_metric_with(requests, "put", "OK"), 2);
    ls_series_add(ls_metric_with(requests, "get", "NOT_FOUND"), 1);
    ls_series_add(ls_metric_with(requests, "put", "OK"), 1);
    ls_series_set(ls_metric_with(lag, "changes"), 12);
    ls_series_set(ls_metric_with(up), 1);
    assert_true(ls_series_value(ls_metric_with(requests, "put", "OK")) == 3);

    size_t len = 0;
    char *text = ls_metrics_render(m, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    assert_string_equal(
        text, "# HELP lodestone_requests_total Requests answered\n"
              "# TYPE lodestone_requests_total counter\n"
              "lodestone_requests_total{service=\"registry\",type=\"put\",status=\"OK\"} 3\n"
              "lodestone_requests_total{service=\"registry\",type=\"get\",status=\"NOT_FOUND\"} 1\n"
              "# HELP lodestone_journal_lag Entries behind\n"
              "# TYPE lodestone_journal_lag gauge\n"
              "lodestone_journal_lag{service=\"registry\",journal=\"changes\"} 12\n"
              "# HELP lodestone_redis_up 1 when Redis answers\n"
              "# TYPE lodestone_redis_up gauge\n"
              "lodestone_redis_up{service=\"registry\"} 1\n");
    free(text);
    ls_metrics_destroy(&m);
    assert_null(m);
    ls_metrics_destroy(&m);
}

static void test_no_service_label_and_gauge_decimals(void **state)
{
    (void)state;
    ls_metrics_t *m = ls_metrics_new(NULL);
    ls_metric_t *g = ls_metrics_gauge(m, "x_ratio", "A ratio", NULL);
    ls_series_set(ls_metric_with(g), 0.1);
    char *text = ls_metrics_render(m, NULL);
    assert_string_equal(text, "# HELP x_ratio A ratio\n# TYPE x_ratio gauge\nx_ratio 0.1\n");
    free(text);
    ls_metrics_destroy(&m);
}

static void test_labels_and_help_are_escaped(void **state)
{
    (void)state;
    ls_metrics_t *m = ls_metrics_new("a\"b");
    ls_metric_t *c = ls_metrics_counter(m, "odd_total", "back\\slash and\nnewline", "v");
    ls_series_add(ls_metric_with(c, "q\"uote\\back\nline"), 1);
    char *text = ls_metrics_render(m, NULL);
    assert_string_equal(text, "# HELP odd_total back\\\\slash and\\nnewline\n"
                              "# TYPE odd_total counter\n"
                              "odd_total{service=\"a\\\"b\",v=\"q\\\"uote\\\\back\\nline\"} 1\n");
    free(text);
    ls_metrics_destroy(&m);
}

static void test_bad_registrations_are_refused(void **state)
{
    (void)state;
    ls_metrics_t *m = ls_metrics_new("s");
    assert_non_null(ls_metrics_counter(m, "ok_total", "", NULL));
    assert_null(ls_metrics_counter(m, "ok_total", "again", NULL));   /* repeated */
    assert_null(ls_metrics_counter(m, "9bad", "", NULL));            /* name */
    assert_null(ls_metrics_counter(m, "bad-name", "", NULL));        /* name */
    assert_null(ls_metrics_counter(m, "le_total", "", "le"));        /* reserved label */
    assert_null(ls_metrics_counter(m, "svc_total", "", "service"));  /* reserved label */
    assert_null(ls_metrics_counter(m, "many_total", "", "a,b,c,d")); /* too many labels */
    double unordered[] = {1, 0.5};
    assert_null(ls_metrics_histogram(m, "h_seconds", "", NULL, unordered, 2));
    /* Updates through NULL do nothing. */
    ls_series_add(ls_metric_with(NULL, "x"), 1);
    ls_series_observe(NULL, 1);
    ls_metrics_destroy(&m);
}

static void test_histogram_buckets_are_cumulative(void **state)
{
    (void)state;
    ls_metrics_t *m = ls_metrics_new("matching");
    double bounds[] = {0.01, 0.1, 1};
    ls_metric_t *h = ls_metrics_histogram(m, "lat_seconds", "Latency", "type", bounds, 3);
    ls_series_t *s = ls_metric_with(h, "put");
    ls_series_observe(s, 0.005); /* first bucket */
    ls_series_observe(s, 0.01);  /* on the bound: first bucket */
    ls_series_observe(s, 0.25);  /* le=1 */
    ls_series_observe(s, 4);     /* only +Inf */
    char *text = ls_metrics_render(m, NULL);
    assert_string_equal(text,
                        "# HELP lat_seconds Latency\n"
                        "# TYPE lat_seconds histogram\n"
                        "lat_seconds_bucket{service=\"matching\",type=\"put\",le=\"0.01\"} 2\n"
                        "lat_seconds_bucket{service=\"matching\",type=\"put\",le=\"0.1\"} 2\n"
                        "lat_seconds_bucket{service=\"matching\",type=\"put\",le=\"1\"} 3\n"
                        "lat_seconds_bucket{service=\"matching\",type=\"put\",le=\"+Inf\"} 4\n"
                        "lat_seconds_sum{service=\"matching\",type=\"put\"} 4.265\n"
                        "lat_seconds_count{service=\"matching\",type=\"put\"} 4\n");
    free(text);

    /* The default buckets: 100 µs to 10 s, 16 bounds and +Inf. */
    ls_metric_t *d = ls_metrics_histogram(m, "d_seconds", "Default", NULL, NULL, 0);
    ls_series_observe(ls_metric_with(d), 0.0002);
    text = ls_metrics_render(m, NULL);
    assert_non_null(strstr(text, "d_seconds_bucket{service=\"matching\",le=\"0.0001\"} 0\n"
                                 "d_seconds_bucket{service=\"matching\",le=\"0.00025\"} 1\n"));
    assert_non_null(strstr(text, "d_seconds_bucket{service=\"matching\",le=\"10\"} 1\n"
                                 "d_seconds_bucket{service=\"matching\",le=\"+Inf\"} 1\n"));
    size_t buckets = 0;
    for (const char *p = strstr(text, "d_seconds_bucket"); p; p = strstr(p + 1, "d_seconds_bucket"))
        buckets++;
    assert_int_equal(buckets, 17);
    free(text);
    ls_metrics_destroy(&m);
}

typedef struct {
    ls_metric_t *counter;
    ls_metric_t *histogram;
} s_shared_t;

#define S_ROUNDS 100000

static void *s_worker(void *arg)
{
    s_shared_t *shared = arg;
    for (int i = 0; i < S_ROUNDS; i++) {
        /* Each update looks its series up under the lock, racing the other thread
         * and the renderer. */
        ls_series_add(ls_metric_with(shared->counter, "put", "OK"), 1);
        ls_series_observe(ls_metric_with(shared->histogram, "put"), 0.5);
    }
    return NULL;
}

static void test_two_threads_count_every_increment(void **state)
{
    (void)state;
    ls_metrics_t *m = ls_metrics_new("notification");
    s_shared_t shared = {
        ls_metrics_counter(m, "c_total", "", "type,status"),
        ls_metrics_histogram(m, "h_seconds", "", "type", NULL, 0),
    };
    pthread_t a, b;
    assert_int_equal(pthread_create(&a, NULL, s_worker, &shared), 0);
    assert_int_equal(pthread_create(&b, NULL, s_worker, &shared), 0);
    /* Render while they count: it must not crash nor tear. */
    for (int i = 0; i < 50; i++) {
        char *text = ls_metrics_render(m, NULL);
        assert_non_null(text);
        free(text);
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    assert_true(ls_series_value(ls_metric_with(shared.counter, "put", "OK")) == 2.0 * S_ROUNDS);
    char *text = ls_metrics_render(m, NULL);
    assert_non_null(
        strstr(text, "h_seconds_count{service=\"notification\",type=\"put\"} 200000\n"));
    assert_non_null(strstr(text, "h_seconds_sum{service=\"notification\",type=\"put\"} 100000\n"));
    free(text);
    ls_metrics_destroy(&m);
}

static void test_series_are_bounded(void **state)
{
    (void)state;
    ls_metrics_t *m = ls_metrics_new("s");
    ls_metric_t *c = ls_metrics_counter(m, "c_total", "", "id");
    char id[16];
    for (int i = 0; i < LS_METRICS_SERIES_MAX; i++) {
        snprintf(id, sizeof id, "%d", i);
        assert_non_null(ls_metric_with(c, id));
    }
    assert_null(ls_metric_with(c, "one-too-many"));
    assert_non_null(ls_metric_with(c, "7")); /* existing ones still answer */
    ls_metrics_destroy(&m);
}

static void test_http_bind_parses(void **state)
{
    (void)state;
    char host[64];
    int port = -1;
    assert_int_equal(ls_http_parse_bind("127.0.0.1:7190", host, sizeof host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 7190);
    assert_int_equal(ls_http_parse_bind("[::1]:7290", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 7290);
    assert_int_equal(ls_http_parse_bind(":0", host, sizeof host, &port), 0);
    assert_string_equal(host, "");
    assert_int_equal(port, 0);
    assert_int_equal(ls_http_parse_bind("localhost", host, sizeof host, &port), -1);
    assert_int_equal(ls_http_parse_bind("host:70000", host, sizeof host, &port), -1);
    assert_int_equal(ls_http_parse_bind("host:x", host, sizeof host, &port), -1);
}

static void test_health_reasons(void **state)
{
    (void)state;
    ls_health_t h;
    ls_health_init(&h);
    char reason[128];
    assert_false(ls_health_ready(&h, reason, sizeof reason));
    assert_string_equal(reason, "starting");
    atomic_store(&h.started, true);
    assert_false(ls_health_ready(&h, reason, sizeof reason));
    assert_string_equal(reason, "Redis is unreachable");
    atomic_store(&h.redis_ok, true);
    atomic_store(&h.lag, 5);
    assert_false(ls_health_ready(&h, reason, sizeof reason));
    assert_string_equal(reason, "catching up: 5 journal entries behind");
    atomic_store(&h.caught_up, true);
    assert_true(ls_health_ready(&h, reason, sizeof reason));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_registry_renders_exactly),
        cmocka_unit_test(test_no_service_label_and_gauge_decimals),
        cmocka_unit_test(test_labels_and_help_are_escaped),
        cmocka_unit_test(test_bad_registrations_are_refused),
        cmocka_unit_test(test_histogram_buckets_are_cumulative),
        cmocka_unit_test(test_two_threads_count_every_increment),
        cmocka_unit_test(test_series_are_bounded),
        cmocka_unit_test(test_http_bind_parses),
        cmocka_unit_test(test_health_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
