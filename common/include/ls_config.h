/* ls_config.h — configuration from environment variables.
 * One typed table (ls_config.c) names every variable, its default and its meaning;
 * `lodestonectl config` prints it. Services bind the *_BIND addresses and connect
 * to the *_ENDPOINT ones, so that Compose can bind every interface and connect by
 * service name while a laptop uses loopback for both. */
#ifndef LS_CONFIG_H
#define LS_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "ls_log.h"

#define LS_CONFIG_STR 256

typedef struct {
    char redis_url[LS_CONFIG_STR];
    char redis_password_file[LS_CONFIG_STR]; /* "" or where the Redis password is */
    ls_log_level_t log_level;
    char data_dir[LS_CONFIG_STR];

    char registry_bind[LS_CONFIG_STR];
    char registry_endpoint[LS_CONFIG_STR];
    char registry_pub_bind[LS_CONFIG_STR];
    char registry_pub_endpoint[LS_CONFIG_STR];
    char matching_bind[LS_CONFIG_STR];
    char matching_endpoint[LS_CONFIG_STR];
    char notification_bind[LS_CONFIG_STR];
    char notification_endpoint[LS_CONFIG_STR];
    char notification_pull_bind[LS_CONFIG_STR];
    char notification_pull_endpoint[LS_CONFIG_STR];
    char notification_pub_bind[LS_CONFIG_STR];
    char notification_pub_endpoint[LS_CONFIG_STR];
    /* HTTP /healthz and /metrics: "host:port" to bind (port 0 = none), and the
     * http:// URL clients (lodestonectl status) use. */
    char registry_http_bind[LS_CONFIG_STR];
    char registry_http_endpoint[LS_CONFIG_STR];
    char matching_http_bind[LS_CONFIG_STR];
    char matching_http_endpoint[LS_CONFIG_STR];
    char notification_http_bind[LS_CONFIG_STR];
    char notification_http_endpoint[LS_CONFIG_STR];

    long matching_partition;               /* 0-based index of this matching instance; -1:
                                               auto (claimed by a lease at start) */
    long matching_lease_ms;                /* a partition lease not renewed for this long is free */
    char instance[LS_CONFIG_STR];          /* "" or this process' name in leases */
    long matching_partitions;              /* N: instance i handles ids hashing to i */
    long matching_threads;                 /* re-match threads; 0 = one per online CPU */
    long matching_replay_max;              /* further behind at start: re-match, not replay */
    long top_k;                            /* matches kept per entity */
    double threshold;                      /* minimum score kept */
    double match_delta;                    /* a score move of at most this is no CHANGED event */
    long max_message_bytes;                /* cap on every inbound frame */
    double rate_limit;                     /* requests a second per publisher; 0 = none */
    double rate_burst;                     /* requests a publisher may send at once */
    long heartbeat_ms;                     /* journal producers' heartbeat period */
    long timeout_ms;                       /* client request timeout */
    char publisher[LS_CONFIG_STR];         /* registry: who a request naming none acts as;
                                               clients: the publisher they name */
    char security[8];                      /* "curve" or "plain" */
    char server_secret_key[LS_CONFIG_STR]; /* services: their CURVE certificate (secret) */
    char server_public_key[LS_CONFIG_STR]; /* clients: the services' public certificate */
    char publisher_keys[LS_CONFIG_STR];    /* services: directory of allowed publishers */
    char client_secret_key[LS_CONFIG_STR]; /* clients: their own certificate (secret) */
    char trusted_publishers[LS_CONFIG_STR]; /* registry: names a client may act as */
    char admin_publisher[LS_CONFIG_STR];    /* registry: may change any entity */

    long inbox_max;                 /* entries an inbox holds at most */
    long webhook_timeout_ms;        /* one webhook request, connection included */
    long webhook_attempts;          /* attempts before a delivery becomes a dead letter */
    long webhook_backoff_ms;        /* delay before the second attempt; doubles after */
    long webhook_backoff_max_ms;    /* longest delay between attempts */
    long webhook_concurrency;       /* webhook requests in flight at most */
    long webhook_per_host;          /* of which to one host at most */
    long interest_ttl_s;            /* an interest request expires after this */
    long interest_reminder_s;       /* the reminder goes this long before expiry */
    double interest_material_delta; /* score move that reopens a declined pair */
    long digest_day_s;              /* length of a digest "day" (tests shorten it) */
    long journal_keep;              /* entries a journal keeps below its slowest reader */
} ls_config_t;

/* Fills cfg with defaults overridden by the environment. Returns 0, or -1 with a
 * message naming the variable and the problem in err. */
int ls_config_load(ls_config_t *cfg, char *err, size_t errlen);

/* Writes the table of variables, defaults and meanings (for --help and docs). */
void ls_config_describe(FILE *out);

#endif
