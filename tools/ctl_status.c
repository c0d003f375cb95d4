/* ctl_status.c — lodestonectl status: a quick look without Grafana. Reads every
 * service's /healthz and /metrics (LODESTONE_*_HTTP_ENDPOINT) and prints one table:
 * health, journal lag, requests, errors and a few counters per service. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define S_BODY_MAX (8 * 1024 * 1024)
#define S_TIMEOUT_MS 2000L

typedef struct {
    char *data;
    size_t len;
} s_body_t;

static size_t s_collect(char *data, size_t size, size_t n, void *arg)
{
    s_body_t *body = arg;
    size_t more = size * n;
    if (body->len + more > S_BODY_MAX)
        return 0; /* abandons the transfer */
    char *grown = realloc(body->data, body->len + more + 1);
    if (!grown)
        return 0;
    memcpy(grown + body->len, data, more);
    body->data = grown;
    body->len += more;
    body->data[body->len] = 0;
    return more;
}

/* GETs base + path. Returns the HTTP status, or -1 when nothing answered; *out gets
 * the body (the caller frees it; NULL when there is none). */
static long s_get(const char *base, const char *path, char **out)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    s_body_t body = {NULL, 0};
    CURL *curl = curl_easy_init();
    long status = -1;
    if (curl) {
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, S_TIMEOUT_MS);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_collect);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
        if (curl_easy_perform(curl) == CURLE_OK)
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(curl);
    }
    if (status < 0) {
        free(body.data);
        body.data = NULL;
    }
    *out = body.data;
    return status;
}

/* Sums the samples of the metric name whose labels contain has (NULL: any) and do
 * not contain lacks (NULL: none). -1 when there is no such sample. */
static double s_sum(const char *text, const char *name, const char *has, const char *lacks)
{
    double sum = -1;
    size_t len = strlen(name);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t line_len = end ? (size_t)(end - line) : strlen(line);
        if (*line != '#' && line_len > len && strncmp(line, name, len) == 0 &&
            (line[len] == '{' || line[len] == ' ')) {
            char sample[1024];
            snprintf(sample, sizeof sample, "%.*s", (int)line_len, line);
            const char *value = strrchr(sample, ' ');
            char *labels_end = strrchr(sample, '}');
            if (labels_end)
                *labels_end = 0;
            if ((!has || strstr(sample, has)) && (!lacks || !strstr(sample, lacks)) && value)
                sum = (sum < 0 ? 0 : sum) + strtod(value + 1, NULL);
        }
        line = end ? end + 1 : NULL;
    }
    return sum;
}

static void s_number(char *out, size_t len, double value)
{
    if (value < 0)
        snprintf(out, len, "-");
    else
        snprintf(out, len, "%.0f", value);
}

/* The service's key counters as "name=value ...". */
static void s_counters(const char *service, const char *metrics, char *out, size_t len)
{
    static const struct {
        const char *service, *label, *name, *has;
    } keys[] = {
        {"registry", "writes", "lodestone_registry_writes_total", NULL},
        {"registry", "redis-reconnects", "lodestone_redis_reconnects_total", NULL},
        {"matching", "changes", "lodestone_matching_changes_total", NULL},
        {"matching", "events", "lodestone_matching_events_total", NULL},
        {"matching", "gaps-filled", "lodestone_follower_gaps_filled_total", NULL},
        {"notification", "inbox", "lodestone_notifications_total",
         "channel=\"inbox\",outcome=\"written\""},
        {"notification", "webhooks-delivered", "lodestone_notifications_total",
         "channel=\"webhook\",outcome=\"delivered\""},
        {"notification", "webhooks-dead", "lodestone_notifications_total",
         "channel=\"webhook\",outcome=\"dead\""},
    };
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(keys[i].service, service) != 0)
            continue;
        char value[32];
        s_number(value, sizeof value, s_sum(metrics, keys[i].name, keys[i].has, NULL));
        int n = snprintf(out + used, len - used, "%s%s=%s", used ? " " : "", keys[i].label, value);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
}

/* Prints one service's row; returns true when it is healthy. */
static bool s_row(const char *service, const char *base)
{
    char *health = NULL, *metrics = NULL;
    long status = s_get(base, "/healthz", &health);
    char said[128] = "unreachable";
    if (status == 200)
        snprintf(said, sizeof said, "ok");
    else if (status > 0)
        snprintf(said, sizeof said, "%ld %.*s", status, health ? (int)strcspn(health, "\r\n") : 0,
                 health ? health : "");
    if (status > 0)
        s_get(base, "/metrics", &metrics);
    char lag[32] = "-", requests[32] = "-", errors[32] = "-", counters[256] = "-";
    if (metrics) {
        s_number(lag, sizeof lag, s_sum(metrics, "lodestone_journal_lag", NULL, NULL));
        double all = s_sum(metrics, "lodestone_requests_total", NULL, NULL);
        double bad = s_sum(metrics, "lodestone_requests_total", NULL, "status=\"OK\"");
        s_number(requests, sizeof requests, all < 0 ? 0 : all);
        s_number(errors, sizeof errors, bad < 0 ? 0 : bad);
        s_counters(service, metrics, counters, sizeof counters);
    }
    printf("%-13s %-28s %6s %9s %7s  %s\n", service, said, lag, requests, errors, counters);
    free(health);
    free(metrics);
    return status == 200;
}

int ctl_status(int argc, char **argv)
{
    (void)argv;
    if (argc != 0) {
        fprintf(stderr, "usage: lodestonectl status\n");
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "lodestonectl: status: libcurl did not start\n");
        return 1;
    }
    printf("%-13s %-28s %6s %9s %7s  %s\n", "SERVICE", "HEALTH", "LAG", "REQUESTS", "ERRORS",
           "COUNTERS");
    bool healthy = s_row("registry", ctl_config.registry_http_endpoint);
    healthy = s_row("matching", ctl_config.matching_http_endpoint) && healthy;
    healthy = s_row("notification", ctl_config.notification_http_endpoint) && healthy;
    curl_global_cleanup();
    return healthy ? 0 : 1;
}
