/* ls_http.h — a service's HTTP side door for operators: GET /healthz (200 "ok"
 * when ready, 503 and a one-line reason when not) and GET /metrics (ls_metrics.h,
 * Prometheus text format 0.0.4). libmicrohttpd answers on a thread of its own; that
 * thread reads only atomics and the metrics registry, never Redis or ZeroMQ. */
#ifndef LS_HTTP_H
#define LS_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ls_metrics.h"

/* What a service publishes for /healthz, written by its loop on every tick and
 * read by the HTTP thread. Zeroed (ls_health_init) it says "starting". */
typedef struct {
    atomic_bool started;   /* the service loop is running */
    atomic_bool redis_ok;  /* the last Redis command answered */
    atomic_bool caught_up; /* every journal follower is at the journal's latest entry */
    _Atomic uint64_t lag;  /* journal entries behind, summed over the followers */
} ls_health_t;

void ls_health_init(ls_health_t *health);

/* Readiness: true when ready; otherwise false with a one-line reason (no newline)
 * in reason. Called on the HTTP thread: it may only read atomics. */
typedef bool(ls_http_ready_fn)(void *arg, char *reason, size_t len);

/* The readiness of an ls_health_t (arg): started, Redis answering, caught up. */
bool ls_health_ready(void *arg, char *reason, size_t len);

/* Parses "host:port" ("127.0.0.1:7190", "0.0.0.0:7190", "[::1]:7190", ":7190" for
 * every interface). Returns 0 with host (may be empty) and port (0 = off) filled,
 * or -1 when it does not parse. */
int ls_http_parse_bind(const char *bind, char *host, size_t hostlen, int *port);

typedef struct _ls_http_t ls_http_t;

/* Starts serving on bind (a port other than 0). metrics may be NULL (then /metrics
 * is 404); ready is called with arg for every /healthz. Both must outlive the
 * server. Returns NULL with the reason in err when bind is bad or cannot be bound. */
ls_http_t *ls_http_new(const char *bind, ls_metrics_t *metrics, ls_http_ready_fn *ready, void *arg,
                       char *err, size_t errlen);
/* Stops the thread, closing open connections. Nulls *self_p; safe twice. */
void ls_http_destroy(ls_http_t **self_p);

#endif
