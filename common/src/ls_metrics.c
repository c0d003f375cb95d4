/* ls_metrics.c — counters, gauges and histograms with labels, and their Prometheus
 * text rendering. Values are atomics; the lock guards only the lists of series. */
#include "ls_metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ls_log.h"

typedef enum { S_COUNTER, S_GAUGE, S_HISTOGRAM } s_type_t;

struct _ls_series_t {
    ls_series_t *next;
    const ls_metric_t *metric;
    char *values[LS_METRICS_LABELS_MAX];
    /* Counter: the count. Gauge: the bits of a double. Histogram: the bits of the sum. */
    _Atomic uint64_t value;
    _Atomic uint64_t *buckets; /* histogram: per bucket, not cumulative; +Inf last */
};

struct _ls_metric_t {
    ls_metric_t *next;
    ls_metrics_t *registry;
    s_type_t type;
    char *name;
    char *help;
    char *labels[LS_METRICS_LABELS_MAX];
    size_t n_labels;
    double *bounds; /* histogram upper bounds, without +Inf */
    size_t n_bounds;
    ls_series_t *series; /* in creation order */
    ls_series_t *last;
    size_t n_series;
};

struct _ls_metrics_t {
    pthread_mutex_t lock;
    char *service;
    ls_metric_t *first;
    ls_metric_t *last;
};

static const double s_latency[] = {LS_METRICS_LATENCY_BUCKETS};

/* ---------------------------------------------------------------------------
 * Doubles in atomics */

static uint64_t s_bits(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits;
}

static double s_double(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* ---------------------------------------------------------------------------
 * Life cycle */

ls_metrics_t *ls_metrics_new(const char *service)
{
    ls_metrics_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->service = strdup(service ? service : "");
    if (!self->service || pthread_mutex_init(&self->lock, NULL)) {
        free(self->service);
        free(self);
        return NULL;
    }
    return self;
}

static void s_series_free(ls_series_t *s)
{
    for (size_t i = 0; i < LS_METRICS_LABELS_MAX; i++)
        free(s->values[i]);
    free(s->buckets);
    free(s);
}

static void s_metric_free(ls_metric_t *m)
{
    for (ls_series_t *s = m->series, *next; s; s = next) {
        next = s->next;
        s_series_free(s);
    }
    for (size_t i = 0; i < m->n_labels; i++)
        free(m->labels[i]);
    free(m->name);
    free(m->help);
    free(m->bounds);
    free(m);
}

void ls_metrics_destroy(ls_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ls_metrics_t *self = *self_p;
    for (ls_metric_t *m = self->first, *next; m; m = next) {
        next = m->next;
        s_metric_free(m);
    }
    pthread_mutex_destroy(&self->lock);
    free(self->service);
    free(self);
    *self_p = NULL;
}

/* ---------------------------------------------------------------------------
 * Registration */

static bool s_name_ok(const char *name, size_t len, bool colons)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (colons && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

/* Splits "a,b" into m->labels. -1 when a name is bad, reserved or one too many. */
static int s_parse_labels(ls_metric_t *m, const char *labels)
{
    for (const char *p = labels; p && *p;) {
        size_t len = strcspn(p, ",");
        if (m->n_labels == LS_METRICS_LABELS_MAX || !s_name_ok(p, len, false) ||
            (len == 7 && strncmp(p, "service", 7) == 0) || (len == 2 && strncmp(p, "le", 2) == 0))
            return -1;
        m->labels[m->n_labels] = strndup(p, len);
        if (!m->labels[m->n_labels++])
            return -1;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

static ls_series_t *s_series_new(ls_metric_t *m, const char *const *values)
{
    ls_series_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->metric = m;
    for (size_t i = 0; i < m->n_labels; i++)
        if (!(s->values[i] = strdup(values[i] ? values[i] : ""))) {
            s_series_free(s);
            return NULL;
        }
    if (m->type == S_HISTOGRAM) {
        s->buckets = calloc(m->n_bounds + 1, sizeof *s->buckets);
        if (!s->buckets) {
            s_series_free(s);
            return NULL;
        }
        for (size_t i = 0; i <= m->n_bounds; i++)
            atomic_init(&s->buckets[i], 0);
    }
    atomic_init(&s->value, m->type == S_COUNTER ? 0 : s_bits(0.0));
    if (m->last)
        m->last->next = s;
    else
        m->series = s;
    m->last = s;
    m->n_series++;
    return s;
}

static ls_metric_t *s_register(ls_metrics_t *self, s_type_t type, const char *name,
                               const char *help, const char *labels, const double *bounds,
                               size_t n_bounds)
{
    if (!self)
        return NULL;
    bool ok = name && s_name_ok(name, strlen(name), true);
    for (ls_metric_t *m = self->first; ok && m; m = m->next)
        ok = strcmp(m->name, name) != 0;
    for (size_t i = 1; ok && i < n_bounds; i++)
        ok = bounds[i] > bounds[i - 1];
    ls_metric_t *m = ok ? calloc(1, sizeof *m) : NULL;
    if (m) {
        m->registry = self;
        m->type = type;
        m->name = strdup(name);
        m->help = strdup(help ? help : "");
        m->n_bounds = n_bounds;
        m->bounds = n_bounds ? malloc(n_bounds * sizeof *bounds) : NULL;
        if (m->bounds)
            memcpy(m->bounds, bounds, n_bounds * sizeof *bounds);
        ok = m->name && m->help && (!n_bounds || m->bounds) && s_parse_labels(m, labels) == 0 &&
             (m->n_labels > 0 || s_series_new(m, NULL));
    }
    if (!ok) {
        LS_ERROR("metric %s: bad or repeated name, bad labels '%s', or out of memory",
                 name ? name : "(null)", labels ? labels : "");
        if (m)
            s_metric_free(m);
        return NULL;
    }
    pthread_mutex_lock(&self->lock);
    if (self->last)
        self->last->next = m;
    else
        self->first = m;
    self->last = m;
    pthread_mutex_unlock(&self->lock);
    return m;
}

ls_metric_t *ls_metrics_counter(ls_metrics_t *self, const char *name, const char *help,
                                const char *labels)
{
    return s_register(self, S_COUNTER, name, help, labels, NULL, 0);
}

ls_metric_t *ls_metrics_gauge(ls_metrics_t *self, const char *name, const char *help,
                              const char *labels)
{
    return s_register(self, S_GAUGE, name, help, labels, NULL, 0);
}

ls_metric_t *ls_metrics_histogram(ls_metrics_t *self, const char *name, const char *help,
                                  const char *labels, const double *buckets, size_t n)
{
    if (!buckets) {
        buckets = s_latency;
        n = sizeof s_latency / sizeof s_latency[0];
    }
    return s_register(self, S_HISTOGRAM, name, help, labels, buckets, n);
}

ls_series_t *ls_metric_with(ls_metric_t *metric, ...)
{
    if (!metric)
        return NULL;
    const char *values[LS_METRICS_LABELS_MAX] = {NULL};
    va_list args;
    va_start(args, metric);
    for (size_t i = 0; i < metric->n_labels; i++)
        values[i] = va_arg(args, const char *);
    va_end(args);
    pthread_mutex_lock(&metric->registry->lock);
    ls_series_t *found = NULL;
    for (ls_series_t *s = metric->series; s && !found; s = s->next) {
        bool same = true;
        for (size_t i = 0; same && i < metric->n_labels; i++)
            same = strcmp(s->values[i], values[i] ? values[i] : "") == 0;
        if (same)
            found = s;
    }
    if (!found && metric->n_series < LS_METRICS_SERIES_MAX)
        found = s_series_new(metric, values);
    pthread_mutex_unlock(&metric->registry->lock);
    return found;
}

/* ---------------------------------------------------------------------------
 * Updates */

void ls_series_add(ls_series_t *series, uint64_t n)
{
    if (series && series->metric->type == S_COUNTER)
        atomic_fetch_add_explicit(&series->value, n, memory_order_relaxed);
}

void ls_series_set(ls_series_t *series, double value)
{
    if (!series)
        return;
    if (series->metric->type == S_COUNTER)
        atomic_store_explicit(&series->value, value > 0 ? (uint64_t)value : 0,
                              memory_order_relaxed);
    else if (series->metric->type == S_GAUGE)
        atomic_store_explicit(&series->value, s_bits(value), memory_order_relaxed);
}

void ls_series_observe(ls_series_t *series, double value)
{
    if (!series || series->metric->type != S_HISTOGRAM)
        return;
    const ls_metric_t *m = series->metric;
    size_t i = 0;
    while (i < m->n_bounds && !(value <= m->bounds[i]))
        i++;
    atomic_fetch_add_explicit(&series->buckets[i], 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&series->value, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&series->value, &old,
                                                  s_bits(s_double(old) + value),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

double ls_series_value(const ls_series_t *series)
{
    if (!series)
        return 0;
    uint64_t v = atomic_load_explicit(&((ls_series_t *)series)->value, memory_order_relaxed);
    return series->metric->type == S_COUNTER ? (double)v : s_double(v);
}

/* ---------------------------------------------------------------------------
 * Rendering: text format 0.0.4 */

/* The shortest text that reads back as d ("0.25", "10", "1e-05", "+Inf"). */
static void s_number(FILE *out, double d)
{
    if (isnan(d)) {
        fputs("NaN", out);
        return;
    }
    if (isinf(d)) {
        fputs(d > 0 ? "+Inf" : "-Inf", out);
        return;
    }
    char text[32];
    int precision = 1;
    for (; precision < 17; precision++) {
        snprintf(text, sizeof text, "%.*g", precision, d);
        if (strtod(text, NULL) == d)
            break;
    }
    /* Whole digits in full below 1e15: "10", not "1e+01". */
    if (fabs(d) >= 1 && fabs(d) < 1e15) {
        int digits = (int)floor(log10(fabs(d))) + 1;
        precision = digits > precision ? digits : precision;
    }
    snprintf(text, sizeof text, "%.*g", precision, d);
    fputs(text, out);
}

/* HELP text escapes \ and newline; label values escape \, " and newline too. */
static void s_escaped(FILE *out, const char *text, bool quotes)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\\')
            fputs("\\\\", out);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (quotes && *p == '"')
            fputs("\\\"", out);
        else
            fputc(*p, out);
    }
}

static void s_label(FILE *out, bool *first, const char *name, const char *value)
{
    fputs(*first ? "{" : ",", out);
    *first = false;
    fprintf(out, "%s=\"", name);
    s_escaped(out, value, true);
    fputc('"', out);
}

/* name{service="…",labels…[,le="bound"]} */
static void s_series_name(FILE *out, const ls_metrics_t *self, const ls_series_t *s,
                          const char *suffix, const double *le)
{
    const ls_metric_t *m = s->metric;
    bool first = true;
    fprintf(out, "%s%s", m->name, suffix);
    if (*self->service)
        s_label(out, &first, "service", self->service);
    for (size_t i = 0; i < m->n_labels; i++)
        s_label(out, &first, m->labels[i], s->values[i]);
    if (le) {
        fputs(first ? "{le=\"" : ",le=\"", out);
        first = false;
        s_number(out, *le);
        fputc('"', out);
    }
    if (!first)
        fputc('}', out);
    fputc(' ', out);
}

static void s_write_histogram(FILE *out, const ls_metrics_t *self, ls_series_t *s)
{
    const ls_metric_t *m = s->metric;
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= m->n_bounds; i++) {
        cumulative += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        double le = i < m->n_bounds ? m->bounds[i] : INFINITY;
        s_series_name(out, self, s, "_bucket", &le);
        fprintf(out, "%llu\n", (unsigned long long)cumulative);
    }
    s_series_name(out, self, s, "_sum", NULL);
    s_number(out, s_double(atomic_load_explicit(&s->value, memory_order_relaxed)));
    fputc('\n', out);
    /* The count is the +Inf bucket, so the two agree even during an update. */
    s_series_name(out, self, s, "_count", NULL);
    fprintf(out, "%llu\n", (unsigned long long)cumulative);
}

int ls_metrics_write(ls_metrics_t *self, FILE *out)
{
    static const char *types[] = {"counter", "gauge", "histogram"};
    pthread_mutex_lock(&self->lock);
    for (ls_metric_t *m = self->first; m; m = m->next) {
        fprintf(out, "# HELP %s ", m->name);
        s_escaped(out, m->help, false);
        fprintf(out, "\n# TYPE %s %s\n", m->name, types[m->type]);
        for (ls_series_t *s = m->series; s; s = s->next) {
            if (m->type == S_HISTOGRAM) {
                s_write_histogram(out, self, s);
                continue;
            }
            s_series_name(out, self, s, "", NULL);
            if (m->type == S_COUNTER)
                fprintf(out, "%llu",
                        (unsigned long long)atomic_load_explicit(&s->value, memory_order_relaxed));
            else
                s_number(out, s_double(atomic_load_explicit(&s->value, memory_order_relaxed)));
            fputc('\n', out);
        }
    }
    pthread_mutex_unlock(&self->lock);
    return ferror(out) ? -1 : 0;
}

char *ls_metrics_render(ls_metrics_t *self, size_t *len)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out)
        return NULL;
    int rc = ls_metrics_write(self, out);
    if (fclose(out) || rc) {
        free(text);
        return NULL;
    }
    if (len)
        *len = size;
    return text;
}
