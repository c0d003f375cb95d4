/* ls_config.c — the one typed table of configuration: every environment variable,
 * its default and what it means. */
#include "ls_config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifndef LS_DEFAULT_DATA_DIR
#define LS_DEFAULT_DATA_DIR "data"
#endif

typedef enum { S_STR, S_LEVEL, S_LONG, S_AUTO_LONG, S_DOUBLE, S_SECURITY } s_type_t;

typedef struct {
    const char *env;
    s_type_t type;
    size_t offset;
    const char *fallback;
    double min, max; /* for numbers */
    const char *help;
} s_entry_t;

#define S_AT(field) offsetof(ls_config_t, field)

static const s_entry_t s_table[] = {
    {"LODESTONE_REDIS_URL", S_STR, S_AT(redis_url), "redis://127.0.0.1:6379", 0, 0,
     "Redis holding all shared state: redis://[[user]:password@]host[:port][/db] (a name "
     "alone before @ is a password, as redis-cli reads it); with "
     "LODESTONE_REDIS_PASSWORD_FILE: redis://[user@]host[:port][/db]"},
    {"LODESTONE_REDIS_PASSWORD_FILE", S_STR, S_AT(redis_password_file), "", 0, 0,
     "file holding the Redis password (a mounted secret), used when LODESTONE_REDIS_URL "
     "names none"},
    {"LODESTONE_LOG_LEVEL", S_LEVEL, S_AT(log_level), "info", 0, 0,
     "lowest level logged: debug, info, warn or error"},
    {"LODESTONE_DATA_DIR", S_STR, S_AT(data_dir), LS_DEFAULT_DATA_DIR, 0, 0,
     "directory holding reference/ (taxonomies) and demo/"},
    {"LODESTONE_REGISTRY_BIND", S_STR, S_AT(registry_bind), "tcp://127.0.0.1:7100", 0, 0,
     "registry ROUTER: where the registry listens for requests"},
    {"LODESTONE_REGISTRY_ENDPOINT", S_STR, S_AT(registry_endpoint), "tcp://127.0.0.1:7100", 0, 0,
     "registry ROUTER: where clients connect"},
    {"LODESTONE_REGISTRY_PUB_BIND", S_STR, S_AT(registry_pub_bind), "tcp://127.0.0.1:7101", 0, 0,
     "registry PUB of change events: where the registry binds"},
    {"LODESTONE_REGISTRY_PUB_ENDPOINT", S_STR, S_AT(registry_pub_endpoint), "tcp://127.0.0.1:7101",
     0, 0, "registry PUB of change events: where matching connects"},
    {"LODESTONE_MATCHING_BIND", S_STR, S_AT(matching_bind), "tcp://127.0.0.1:7200", 0, 0,
     "matching ROUTER (queries): where matching listens"},
    {"LODESTONE_MATCHING_ENDPOINT", S_STR, S_AT(matching_endpoint), "tcp://127.0.0.1:7200", 0, 0,
     "matching ROUTER: where clients connect"},
    {"LODESTONE_NOTIFICATION_BIND", S_STR, S_AT(notification_bind), "tcp://127.0.0.1:7300", 0, 0,
     "notification ROUTER: where notification listens"},
    {"LODESTONE_NOTIFICATION_ENDPOINT", S_STR, S_AT(notification_endpoint), "tcp://127.0.0.1:7300",
     0, 0, "notification ROUTER: where clients connect"},
    {"LODESTONE_NOTIFICATION_PULL_BIND", S_STR, S_AT(notification_pull_bind),
     "tcp://127.0.0.1:7301", 0, 0, "notification PULL of match events: where it binds"},
    {"LODESTONE_NOTIFICATION_PULL_ENDPOINT", S_STR, S_AT(notification_pull_endpoint),
     "tcp://127.0.0.1:7301", 0, 0, "notification PULL: where matching pushes"},
    {"LODESTONE_NOTIFICATION_PUB_BIND", S_STR, S_AT(notification_pub_bind), "tcp://127.0.0.1:7302",
     0, 0, "notification PUB feed (topic = recipient id): bind"},
    {"LODESTONE_NOTIFICATION_PUB_ENDPOINT", S_STR, S_AT(notification_pub_endpoint),
     "tcp://127.0.0.1:7302", 0, 0, "notification PUB feed: where subscribers connect"},
    {"LODESTONE_REGISTRY_HTTP_BIND", S_STR, S_AT(registry_http_bind), "127.0.0.1:7190", 0, 0,
     "registry HTTP /healthz and /metrics: host:port to listen on (0.0.0.0:7190 = every "
     "interface; port 0 = no HTTP server)"},
    {"LODESTONE_REGISTRY_HTTP_ENDPOINT", S_STR, S_AT(registry_http_endpoint),
     "http://127.0.0.1:7190", 0, 0, "registry HTTP: the base URL lodestonectl status reads"},
    {"LODESTONE_MATCHING_HTTP_BIND", S_STR, S_AT(matching_http_bind), "127.0.0.1:7290", 0, 0,
     "matching HTTP /healthz and /metrics: host:port to listen on (port 0 = none)"},
    {"LODESTONE_MATCHING_HTTP_ENDPOINT", S_STR, S_AT(matching_http_endpoint),
     "http://127.0.0.1:7290", 0, 0, "matching HTTP: the base URL lodestonectl status reads"},
    {"LODESTONE_NOTIFICATION_HTTP_BIND", S_STR, S_AT(notification_http_bind), "127.0.0.1:7390", 0,
     0, "notification HTTP /healthz and /metrics: host:port to listen on (port 0 = none)"},
    {"LODESTONE_NOTIFICATION_HTTP_ENDPOINT", S_STR, S_AT(notification_http_endpoint),
     "http://127.0.0.1:7390", 0, 0, "notification HTTP: the base URL lodestonectl status reads"},
    {"LODESTONE_MATCHING_PARTITION_INDEX", S_AUTO_LONG, S_AT(matching_partition), "auto", 0, 1023,
     "index i of this matching instance, 0 <= i < LODESTONE_MATCHING_PARTITIONS, or auto: "
     "take the first partition no live instance holds (a lease in Redis)"},
    {"LODESTONE_MATCHING_PARTITIONS", S_LONG, S_AT(matching_partitions), "1", 1, 1024,
     "number N of matching instances; instance i handles entity ids hashing to i"},
    {"LODESTONE_MATCHING_LEASE_MS", S_LONG, S_AT(matching_lease_ms), "10000", 1000, 600000,
     "matching: a partition whose instance has not renewed its lease for this long is free "
     "for another instance"},
    {"LODESTONE_INSTANCE", S_STR, S_AT(instance), "", 0, 0,
     "name of this process in leases and logs, unique among running instances (empty: "
     "host name and process id)"},
    {"LODESTONE_MATCHING_THREADS", S_LONG, S_AT(matching_threads), "0", 0, 256,
     "threads a full re-match scores lists on; 0 = one per online CPU"},
    {"LODESTONE_MATCHING_REPLAY_MAX", S_LONG, S_AT(matching_replay_max), "10000", 0, 1e12,
     "matching: a start further behind than this many changes re-matches every list "
     "instead of replaying them"},
    {"LODESTONE_TOP_K", S_LONG, S_AT(top_k), "10", 1, 1000, "matches kept per entity"},
    {"LODESTONE_THRESHOLD", S_DOUBLE, S_AT(threshold), "0.3", 0, 1,
     "lowest score kept as a match, 0..1"},
    {"LODESTONE_MATCH_DELTA", S_DOUBLE, S_AT(match_delta), "0.01", 0, 1,
     "a match whose score moves by no more than this is updated without a CHANGED event"},
    {"LODESTONE_MAX_MESSAGE_BYTES", S_LONG, S_AT(max_message_bytes), "1048576", 1024,
     64 * 1024 * 1024, "largest inbound frame accepted, in bytes"},
    {"LODESTONE_RATE_LIMIT", S_DOUBLE, S_AT(rate_limit), "5000", 0, 1e9,
     "requests a second a publisher may send to a service, on average (0 = no limit); "
     "more get RATE_LIMITED"},
    {"LODESTONE_RATE_BURST", S_DOUBLE, S_AT(rate_burst), "10000", 1, 1e9,
     "requests a publisher may send at once before LODESTONE_RATE_LIMIT applies"},
    {"LODESTONE_HEARTBEAT_MS", S_LONG, S_AT(heartbeat_ms), "1000", 10, 60000,
     "period of the journal heartbeats, in milliseconds"},
    {"LODESTONE_TIMEOUT_MS", S_LONG, S_AT(timeout_ms), "5000", 10, 3600000,
     "how long a client waits for a reply, in milliseconds"},
    {"LODESTONE_INBOX_MAX", S_LONG, S_AT(inbox_max), "10000", 10, 10000000,
     "notification: entries an inbox holds at most; beyond it the oldest are dropped "
     "(and counted)"},
    {"LODESTONE_WEBHOOK_TIMEOUT_MS", S_LONG, S_AT(webhook_timeout_ms), "5000", 100, 600000,
     "notification: time allowed for one webhook request, in milliseconds"},
    {"LODESTONE_WEBHOOK_ATTEMPTS", S_LONG, S_AT(webhook_attempts), "10", 1, 100,
     "notification: webhook attempts before a delivery becomes a dead letter"},
    {"LODESTONE_WEBHOOK_BACKOFF_MS", S_LONG, S_AT(webhook_backoff_ms), "1000", 1, 3600000,
     "notification: delay before the second webhook attempt (doubling, with jitter)"},
    {"LODESTONE_WEBHOOK_BACKOFF_MAX_MS", S_LONG, S_AT(webhook_backoff_max_ms), "300000", 1,
     86400000, "notification: longest delay between webhook attempts, in milliseconds"},
    {"LODESTONE_WEBHOOK_CONCURRENCY", S_LONG, S_AT(webhook_concurrency), "32", 1, 1024,
     "notification: webhook requests in flight at most"},
    {"LODESTONE_WEBHOOK_PER_HOST", S_LONG, S_AT(webhook_per_host), "4", 1, 1024,
     "notification: webhook requests in flight to one host at most (a slow receiver "
     "cannot take every slot)"},
    {"LODESTONE_INTEREST_TTL_S", S_LONG, S_AT(interest_ttl_s), "1209600", 1, 1e9,
     "notification: an expression of interest expires after this many seconds (14 days)"},
    {"LODESTONE_INTEREST_REMINDER_S", S_LONG, S_AT(interest_reminder_s), "259200", 0, 1e9,
     "notification: the reminder of a pending interest goes this long before expiry (3 days)"},
    {"LODESTONE_INTEREST_MATERIAL_DELTA", S_DOUBLE, S_AT(interest_material_delta), "0.1", 0, 1,
     "notification: a score move larger than this reopens a declined pair"},
    {"LODESTONE_DIGEST_DAY_S", S_LONG, S_AT(digest_day_s), "86400", 1, 86400,
     "notification: length of a digest day in seconds (shorter only for tests)"},
    {"LODESTONE_JOURNAL_KEEP", S_LONG, S_AT(journal_keep), "100000", 0, 1e12,
     "journal entries kept below the slowest reader's checkpoint before trimming"},
    {"LODESTONE_SECURITY", S_SECURITY, S_AT(security), "curve", 0, 0,
     "curve: the request sockets (and the notification feed) take only CURVE clients whose "
     "public key is in LODESTONE_PUBLISHER_KEYS; plain: no authentication (local "
     "development only; logged as a warning)"},
    {"LODESTONE_SERVER_SECRET_KEY", S_STR, S_AT(server_secret_key), "keys/server.key_secret", 0, 0,
     "services: the servers' CURVE certificate with its secret key (lodestonectl keygen)"},
    {"LODESTONE_SERVER_PUBLIC_KEY", S_STR, S_AT(server_public_key), "keys/server.key", 0, 0,
     "clients: the servers' public CURVE certificate"},
    {"LODESTONE_PUBLISHER_KEYS", S_STR, S_AT(publisher_keys), "keys/publishers", 0, 0,
     "services: directory of the public certificates of allowed publishers; a key's "
     "publisher name is the one it was made with; deleting the file revokes it"},
    {"LODESTONE_CLIENT_SECRET_KEY", S_STR, S_AT(client_secret_key), "", 0, 0,
     "clients: this client's certificate with its secret key (lodestonectl keygen NAME); it "
     "names the publisher the client acts as"},
    {"LODESTONE_PUBLISHER", S_STR, S_AT(publisher), "local", 0, 0,
     "plain TCP only: the publisher of requests that name none; CLI: the publisher it "
     "names (under CURVE it must be the key's, or unset)"},
    {"LODESTONE_TRUSTED_PUBLISHERS", S_STR, S_AT(trusted_publishers), "", 0, 0,
     "plain TCP only: comma-separated publishers a client may name (* = any); under CURVE "
     "a request acts as the publisher its key names"},
    {"LODESTONE_ADMIN_PUBLISHER", S_STR, S_AT(admin_publisher), "admin", 0, 0,
     "registry: the publisher that may change any entity"},
};

static int s_set(ls_config_t *cfg, const s_entry_t *e, const char *value, char *err, size_t errlen)
{
    char *field = (char *)cfg + e->offset;
    char *end = NULL;
    errno = 0;
    switch (e->type) {
    case S_STR:
        if (strlen(value) >= LS_CONFIG_STR) {
            snprintf(err, errlen, "%s: longer than %d characters", e->env, LS_CONFIG_STR - 1);
            return -1;
        }
        strcpy(field, value);
        return 0;
    case S_LEVEL:
        if (ls_log_level_parse(value, (ls_log_level_t *)(void *)field) == 0)
            return 0;
        snprintf(err, errlen, "%s: '%s' is not one of debug, info, warn, error", e->env, value);
        return -1;
    case S_SECURITY:
        if (strcmp(value, "curve") && strcmp(value, "plain")) {
            snprintf(err, errlen, "%s: '%s' is not curve or plain", e->env, value);
            return -1;
        }
        strcpy(field, value);
        return 0;
    case S_AUTO_LONG:
        if (strcmp(value, "auto") == 0) {
            *(long *)(void *)field = -1;
            return 0;
        }
        /* fall through */
    case S_LONG: {
        long n = strtol(value, &end, 10);
        if (errno || end == value || *end || n < (long)e->min || n > (long)e->max) {
            snprintf(err, errlen, "%s: '%s' is not %san integer in %.0f..%.0f", e->env, value,
                     e->type == S_AUTO_LONG ? "auto or " : "", e->min, e->max);
            return -1;
        }
        *(long *)(void *)field = n;
        return 0;
    }
    case S_DOUBLE: {
        double d = strtod(value, &end);
        if (errno || end == value || *end || !(d >= e->min && d <= e->max)) {
            snprintf(err, errlen, "%s: '%s' is not a number in %g..%g", e->env, value, e->min,
                     e->max);
            return -1;
        }
        *(double *)(void *)field = d;
        return 0;
    }
    }
    return -1;
}

int ls_config_load(ls_config_t *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < sizeof s_table / sizeof s_table[0]; i++) {
        const char *value = getenv(s_table[i].env);
        if (!value || !*value)
            value = s_table[i].fallback;
        if (s_set(cfg, &s_table[i], value, err, errlen))
            return -1;
    }
    if (cfg->matching_partition >= cfg->matching_partitions) {
        snprintf(err, errlen, "LODESTONE_MATCHING_PARTITION_INDEX: %ld is not below %ld partitions",
                 cfg->matching_partition, cfg->matching_partitions);
        return -1;
    }
    return 0;
}

void ls_config_describe(FILE *out)
{
    for (size_t i = 0; i < sizeof s_table / sizeof s_table[0]; i++) {
        const char *now = getenv(s_table[i].env);
        fprintf(out, "%s\n    %s\n    default: %s%s%s\n", s_table[i].env, s_table[i].help,
                s_table[i].fallback, now && *now ? "; set to: " : "", now && *now ? now : "");
    }
}
