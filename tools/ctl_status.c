/* ctl_status.c — lodestonectl status: a quick look without Grafana. Reads every
 * service's /healthz and /metrics (LODESTONE_*_HTTP_ENDPOINT) and prints one table:
 * health, journal lag, requests, errors and a few counters per service. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "service_http.h"

#define S_TIMEOUT_MS 2000L

/* GETs base + path: the HTTP status, or -1 when nothing answered; *out gets the
 * body (the caller frees it; NULL on -1). */
static long s_get(const char *base, const char *path, char **out)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    return service_http_request("GET", url, S_TIMEOUT_MS, out, NULL, 0);
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
        s_number(value, sizeof value,
                 service_http_metric(metrics, keys[i].name, keys[i].has, NULL));
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
        s_number(lag, sizeof lag,
                 service_http_metric(metrics, "lodestone_journal_lag", NULL, NULL));
        double all = service_http_metric(metrics, "lodestone_requests_total", NULL, NULL);
        double bad =
            service_http_metric(metrics, "lodestone_requests_total", NULL, "status=\"OK\"");
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
