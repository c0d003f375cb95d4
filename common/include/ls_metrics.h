/* ls_metrics.h — a service's metrics: counters, gauges and histograms, each a
 * family with up to three labels, rendered in the Prometheus text exposition format
 * 0.0.4 (served on /metrics by ls_http.h; the list is in docs/metrics.md).
 *
 * Families are registered at start, before the registry is shared with another
 * thread. After that every call is thread-safe: series are created under the
 * registry's lock, values are C11 atomics, so the webhook thread may count while the
 * HTTP thread renders. Every series carries the label service="<service>". */
#ifndef LS_METRICS_H
#define LS_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct _ls_metrics_t ls_metrics_t;
typedef struct _ls_metric_t ls_metric_t; /* one family: a name, a type, its label names */
typedef struct _ls_series_t ls_series_t; /* one value of a family, for one set of label values */

#define LS_METRICS_LABELS_MAX 3   /* label names per family, besides service */
#define LS_METRICS_SERIES_MAX 512 /* label value sets per family; beyond, updates are lost */

/* Request latencies in seconds, 100 µs to 10 s: the default histogram buckets. */
#define LS_METRICS_LATENCY_BUCKETS                                                                 \
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10

/* service is the value of the service label on every series (copied). NULL when out
 * of memory. */
ls_metrics_t *ls_metrics_new(const char *service);
void ls_metrics_destroy(ls_metrics_t **self_p);

/* Registers a family. name matches [a-zA-Z_:][a-zA-Z0-9_:]*, help is one line,
 * labels is NULL or comma-separated label names ("type,status"; not "service" nor
 * "le"). An unlabelled family has its one series from the start. Returns NULL (and
 * logs why) for a bad or repeated name or when out of memory: a programmer error,
 * and updates through NULL do nothing. The family belongs to the registry. */
ls_metric_t *ls_metrics_counter(ls_metrics_t *self, const char *name, const char *help,
                                const char *labels);
ls_metric_t *ls_metrics_gauge(ls_metrics_t *self, const char *name, const char *help,
                              const char *labels);
/* buckets: the n upper bounds in increasing order (copied; +Inf is added); NULL for
 * LS_METRICS_LATENCY_BUCKETS. */
ls_metric_t *ls_metrics_histogram(ls_metrics_t *self, const char *name, const char *help,
                                  const char *labels, const double *buckets, size_t n);

/* The series of metric for the label values given (one const char * per label name,
 * in order), created at 0 on first use. The pointer stays valid until the registry
 * is destroyed, so callers on a hot path may keep it. NULL when metric is NULL or
 * holds LS_METRICS_SERIES_MAX series already. */
ls_series_t *ls_metric_with(ls_metric_t *metric, ...);

/* Adds n to a counter. */
void ls_series_add(ls_series_t *series, uint64_t n);
/* Sets a gauge; on a counter, copies a count kept elsewhere (it must only grow). */
void ls_series_set(ls_series_t *series, double value);
/* Counts value into a histogram's buckets and sum. */
void ls_series_observe(ls_series_t *series, double value);
/* A counter's count or a gauge's value (tests, lodestonectl). */
double ls_series_value(const ls_series_t *series);

/* Writes every family, in registration order, in the text format 0.0.4. Returns 0,
 * or -1 when the stream failed. */
int ls_metrics_write(ls_metrics_t *self, FILE *out);
/* The same into a new NUL-ended string; *len (when not NULL) gets its length. The
 * caller frees it. NULL when out of memory. */
char *ls_metrics_render(ls_metrics_t *self, size_t *len);

#endif
