/* ls_service.h — what every Lodestone service process does the same way: read the
 * configuration and set up logging at start, then run one poll loop over its
 * ROUTER (requests), at most one input socket (live journal messages) and a
 * periodic tick, until SIGINT or SIGTERM (czmq sets zsys_interrupted). The loop
 * also serves /healthz and /metrics over HTTP (ls_http.h): it counts and times the
 * requests, and on every tick publishes Redis' health, the followers' lag and the
 * Redis reconnects (docs/metrics.md). */
#ifndef LS_SERVICE_H
#define LS_SERVICE_H

#include <czmq.h>

#include "ls_config.h"
#include "ls_follower.h"
#include "ls_metrics.h"
#include "ls_rpc.h"
#include "ls_security.h"
#include "ls_store.h"

/* Loads the configuration into config and starts logging as `name`. Returns 0 to
 * go on, or the exit code to leave with (2: usage or a bad variable, said on
 * stderr). */
int ls_service_init(int argc, char **argv, const char *name, ls_config_t *config);

typedef struct {
    zsock_t *router;  /* requests; answered by on_request */
    size_t max_bytes; /* largest request accepted */
    void (*on_request)(void *arg, ls_rpc_request_t *req);
    zsock_t *input; /* NULL, or a SUB/PULL socket whose messages go to on_input */
    void (*on_input)(void *arg, zmsg_t *msg); /* msg stays the loop's */
    zsock_t *input2;                          /* NULL, or a second input socket */
    void (*on_input2)(void *arg, zmsg_t *msg);
    long tick_ms; /* period of on_tick; the first tick runs at once */
    /* Returns 1 when it has more work (a journal backlog): it is called again as soon
     * as the sockets have been looked at, without waiting for the period. */
    int (*on_tick)(void *arg);
    void *arg;
    /* Health and metrics; all optional. metrics: the service's registry (ls_metrics_new
     * with the service's name) holding its own families; the loop adds its own.
     * http_bind: "host:port" of /healthz and /metrics (NULL or port 0: none; when it
     * cannot be bound the service goes on without and says so). store: PINGed once
     * per tick period; /healthz is 503 while it does not answer. followers: /healthz
     * is 503 while one is behind the latest entry it knows of; their lag, gaps filled
     * and duplicates are metrics labelled by journal. */
    ls_metrics_t *metrics;
    const char *http_bind;
    /* Limits: with config, requests (but pings, which health checks send) beyond
     * LODESTONE_RATE_LIMIT a second per publisher, after a burst of
     * LODESTONE_RATE_BURST, are answered RATE_LIMITED without being served. */
    const ls_config_t *config;
    /* Who may ask (ls_security.h): each request's key is checked before it is
     * served. NULL: none (plain TCP). */
    ls_guard_t *guard;
    ls_store_t *store;
    struct {
        ls_follower_t *follower;
        const char *journal; /* its journal's name: "changes", "matches" */
    } followers[2];
} ls_service_loop_t;

/* The name of a request's body as in the schema ("put", "matches"; "none"): the
 * type label of the request metrics. */
const char *ls_service_request_type(const ls_envelope_pb *request);

/* The publisher a request acts as. Under CURVE: the one its key names (a request
 * naming another gets NULL). Under plain TCP: the one it names, else
 * LODESTONE_PUBLISHER; NULL when it names one not LODESTONE_PUBLISHER and not in
 * LODESTONE_TRUSTED_PUBLISHERS. */
const char *ls_service_publisher(const ls_config_t *config, const ls_rpc_request_t *req);

/* Serves until interrupted. Returns 0. */
int ls_service_run(const ls_service_loop_t *loop);

#endif
