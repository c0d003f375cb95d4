/* webhook_receiver.c — the tests' and the notification bench's webhook receiver
 * (webhook_receiver.h): libmicrohttpd with a pool of threads. A request is recorded
 * as soon as it has arrived whole; a delayed answer suspends its connection and a
 * timer thread resumes it when due, so a delay holds no pool thread. */
#include "webhook_receiver.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "ls_util.h"

/* One request while it arrives and until it is answered (MHD's per-request pointer). */
typedef struct _s_upload_t {
    struct MHD_Connection *connection;
    char *body; /* collected when kept; handed to the record when it arrives */
    size_t len;
    bool keep, cut, active, arrived, delayed;
    int status;               /* the answer chosen on arrival */
    long index;               /* in requests; -1 when not kept */
    char id[256];             /* Lodestone-Delivery-Id */
    int64_t due_ms;           /* ls_mono_ms when a delayed answer is due */
    struct _s_upload_t *next; /* in the timer's queue */
} s_upload_t;

struct _webhook_receiver_t {
    struct MHD_Daemon *daemon;
    char url[64];
    pthread_t timer;
    bool timer_started;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t wake;  /* the timer's: a delayed answer was queued, or stopping */
    bool stopping;
    s_upload_t *head, *tail;      /* suspended connections, in due order */
    webhook_received_t *requests; /* the kept ones; each body is ours (malloc'd or NULL) */
    size_t count, capacity, keep_left;
    zhashx_t *ids; /* delivery id -> (void *)(1 + times accepted) */
    webhook_receiver_stats_t stats;
    unsigned active;
    unsigned fail_next;
    int fail_next_status;
    int fail_always;
    int delay_ms;
};

/* Counts a request open (on, also deciding whether it is kept) or closed. */
static void s_active(webhook_receiver_t *self, s_upload_t *upload, bool on)
{
    pthread_mutex_lock(&self->lock);
    if (on && !upload->active) {
        if (++self->active > self->stats.max_concurrent)
            self->stats.max_concurrent = self->active;
        if (!self->stats.first_ms)
            self->stats.first_ms = ls_mono_ms();
        upload->keep = self->keep_left > 0;
        self->keep_left -= upload->keep;
    } else if (!on && upload->active)
        self->active--;
    upload->active = on;
    pthread_mutex_unlock(&self->lock);
}

static void s_header(struct MHD_Connection *connection, const char *name, char *out, size_t len)
{
    const char *value = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
    snprintf(out, len, "%s", value ? value : "");
}

static void s_upload_add(s_upload_t *upload, const char *data, size_t len)
{
    size_t room = WEBHOOK_RECEIVER_BODY_MAX - upload->len;
    size_t take = len < room ? len : room;
    upload->cut |= take < len;
    if (!take)
        return;
    char *grown = realloc(upload->body, upload->len + take + 1);
    if (!grown) {
        upload->cut = true;
        return;
    }
    memcpy(grown + upload->len, data, take);
    upload->body = grown;
    upload->len += take;
    grown[upload->len] = '\0';
}

/* Adds a kept request to the records, taking its body. Under the lock; -1 when
 * memory runs out. */
static long s_keep(webhook_receiver_t *self, struct MHD_Connection *connection, s_upload_t *upload)
{
    if (self->count == self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 16;
        webhook_received_t *grown = realloc(self->requests, capacity * sizeof *grown);
        if (!grown)
            return -1;
        self->requests = grown;
        self->capacity = capacity;
    }
    webhook_received_t *r = &self->requests[self->count];
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", upload->id);
    s_header(connection, "Lodestone-Signature", r->signature, sizeof r->signature);
    s_header(connection, "Content-Type", r->content_type, sizeof r->content_type);
    s_header(connection, "User-Agent", r->user_agent, sizeof r->user_agent);
    r->body = upload->body;
    r->body_len = upload->len;
    r->body_cut = upload->cut;
    upload->body = NULL;
    r->status = upload->status;
    r->at_ms = ls_now_ms();
    return (long)self->count++;
}

/* Counts a request that has arrived whole and picks its answer. Returns -1 when
 * memory runs out. */
static int s_arrived(webhook_receiver_t *self, struct MHD_Connection *connection,
                     s_upload_t *upload)
{
    s_header(connection, "Lodestone-Delivery-Id", upload->id, sizeof upload->id);
    pthread_mutex_lock(&self->lock);
    if (self->fail_always)
        upload->status = self->fail_always;
    else if (self->fail_next) {
        self->fail_next--;
        upload->status = self->fail_next_status;
    } else
        upload->status = MHD_HTTP_OK;
    upload->index = upload->keep ? s_keep(self, connection, upload) : -1;
    int rc = upload->keep && upload->index < 0 ? -1 : 0;
    if (rc == 0) {
        self->stats.requests++;
        if (!*upload->id)
            self->stats.no_id++;
        else if (zhashx_insert(self->ids, upload->id, (void *)1) == 0)
            self->stats.distinct++; /* a new id; an id seen before is left as it is */
    }
    upload->arrived = true;
    pthread_mutex_unlock(&self->lock);
    return rc;
}

/* Counts the response handed over (accepted: 2xx). */
static void s_answered(webhook_receiver_t *self, const s_upload_t *upload)
{
    bool accepted = upload->status >= 200 && upload->status < 300;
    pthread_mutex_lock(&self->lock);
    self->stats.answered++;
    self->stats.accepted += accepted;
    if (upload->index >= 0)
        self->requests[upload->index].answered = true;
    uintptr_t times = *upload->id ? (uintptr_t)zhashx_lookup(self->ids, upload->id) : 0;
    if (accepted && times) {
        if (times == 1) {
            self->stats.accepted_ids++;
            self->stats.last_new_ms = ls_mono_ms();
        }
        zhashx_update(self->ids, upload->id, (void *)(times + 1));
    }
    pthread_mutex_unlock(&self->lock);
}

static enum MHD_Result s_answer(webhook_receiver_t *self, struct MHD_Connection *connection,
                                s_upload_t *upload)
{
    static const char text[] = "ok\n";
    struct MHD_Response *response =
        MHD_create_response_from_buffer(sizeof text - 1, (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!response)
        return MHD_NO;
    enum MHD_Result rc = MHD_queue_response(connection, (unsigned)upload->status, response);
    MHD_destroy_response(response);
    if (rc == MHD_YES)
        s_answered(self, upload);
    s_active(self, upload, false);
    return rc;
}

/* Queues upload in due order; at the tail unless the delay was shortened meanwhile. */
static void s_queue(webhook_receiver_t *self, s_upload_t *upload)
{
    s_upload_t **at = &self->head;
    if (self->tail && self->tail->due_ms <= upload->due_ms)
        at = &self->tail->next;
    while (*at && (*at)->due_ms <= upload->due_ms)
        at = &(*at)->next;
    upload->next = *at;
    *at = upload;
    if (!upload->next)
        self->tail = upload;
}

/* Suspends the connection for the timer thread to resume when the delay is over.
 * Returns false when there is no delay, or the receiver is stopping. */
static bool s_defer(webhook_receiver_t *self, s_upload_t *upload)
{
    pthread_mutex_lock(&self->lock);
    bool defer = self->delay_ms > 0 && !self->stopping;
    if (defer) {
        upload->delayed = true;
        upload->due_ms = ls_mono_ms() + self->delay_ms;
        /* Under the lock, so that the timer cannot resume it before it is suspended. */
        MHD_suspend_connection(upload->connection);
        s_queue(self, upload);
        pthread_cond_signal(&self->wake);
    }
    pthread_mutex_unlock(&self->lock);
    return defer;
}

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *connection, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **con_cls)
{
    (void)url;
    (void)method;
    (void)version;
    webhook_receiver_t *self = cls;
    s_upload_t *upload = *con_cls;
    if (!upload) { /* the headers are in; the body follows in later calls */
        upload = calloc(1, sizeof *upload);
        if (!upload)
            return MHD_NO;
        upload->connection = connection;
        upload->index = -1;
        *con_cls = upload;
        s_active(self, upload, true);
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (upload->keep)
            s_upload_add(upload, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!upload->arrived && s_arrived(self, connection, upload))
        return MHD_NO;
    if (!upload->delayed && s_defer(self, upload))
        return MHD_YES;
    return s_answer(self, connection, upload);
}

static void s_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                        enum MHD_RequestTerminationCode code)
{
    (void)connection;
    (void)code;
    s_upload_t *upload = *con_cls;
    if (!upload)
        return;
    s_active(cls, upload, false);
    free(upload->body);
    free(upload);
    *con_cls = NULL;
}

/* Resumes each suspended connection when its delay is over; all at once when
 * stopping (the daemon must not stop with connections suspended). */
static void *s_timer(void *arg)
{
    webhook_receiver_t *self = arg;
    pthread_mutex_lock(&self->lock);
    while (self->head || !self->stopping) {
        if (!self->head) {
            pthread_cond_wait(&self->wake, &self->lock);
            continue;
        }
        s_upload_t *upload = self->head;
        if (!self->stopping && upload->due_ms > ls_mono_ms()) {
            struct timespec until = {(time_t)(upload->due_ms / 1000),
                                     (long)(upload->due_ms % 1000) * 1000000};
            pthread_cond_timedwait(&self->wake, &self->lock, &until);
            continue;
        }
        self->head = upload->next;
        if (!self->head)
            self->tail = NULL;
        struct MHD_Connection *connection = upload->connection;
        pthread_mutex_unlock(&self->lock);
        MHD_resume_connection(connection); /* upload may be freed from here on */
        pthread_mutex_lock(&self->lock);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

webhook_receiver_t *webhook_receiver_new(void)
{
    return webhook_receiver_new_threads(WEBHOOK_RECEIVER_THREADS);
}

webhook_receiver_t *webhook_receiver_new_threads(unsigned threads)
{
    if (threads < 1 || threads > 64)
        return NULL;
    webhook_receiver_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->keep_left = SIZE_MAX;
    self->ids = zhashx_new();
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* the clock ls_mono_ms reads */
    pthread_cond_init(&self->wake, &attr);
    pthread_condattr_destroy(&attr);
    self->timer_started = self->ids && pthread_create(&self->timer, NULL, s_timer, self) == 0;
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = 0; /* the kernel picks a free port */
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (self->timer_started)
        self->daemon =
            MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
                                 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
                             0, NULL, NULL, s_handle, self, MHD_OPTION_SOCK_ADDR,
                             (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, threads,
                             MHD_OPTION_NOTIFY_COMPLETED, s_completed, self, MHD_OPTION_END);
    const union MHD_DaemonInfo *info =
        self->daemon ? MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!info || info->port == 0) {
        webhook_receiver_destroy(&self);
        return NULL;
    }
    snprintf(self->url, sizeof self->url, "http://127.0.0.1:%u/hook", (unsigned)info->port);
    return self;
}

void webhook_receiver_destroy(webhook_receiver_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    webhook_receiver_t *self = *self_p;
    if (self->timer_started) {
        pthread_mutex_lock(&self->lock);
        self->stopping = true;
        pthread_cond_signal(&self->wake);
        pthread_mutex_unlock(&self->lock);
        pthread_join(self->timer, NULL);
    }
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
    for (size_t i = 0; i < self->count; i++)
        free((char *)self->requests[i].body); /* ours: s_keep took it */
    free(self->requests);
    zhashx_destroy(&self->ids);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

const char *webhook_receiver_url(const webhook_receiver_t *self)
{
    return self->url;
}

void webhook_receiver_keep(webhook_receiver_t *self, size_t n)
{
    pthread_mutex_lock(&self->lock);
    self->keep_left = n > self->count ? n - self->count : 0;
    pthread_mutex_unlock(&self->lock);
}

void webhook_receiver_fail_next(webhook_receiver_t *self, unsigned n, int status)
{
    pthread_mutex_lock(&self->lock);
    self->fail_next = n;
    self->fail_next_status = status;
    pthread_mutex_unlock(&self->lock);
}

void webhook_receiver_fail_always(webhook_receiver_t *self, int status)
{
    pthread_mutex_lock(&self->lock);
    self->fail_always = status;
    if (!status)
        self->fail_next = 0;
    pthread_mutex_unlock(&self->lock);
}

void webhook_receiver_delay(webhook_receiver_t *self, int ms)
{
    pthread_mutex_lock(&self->lock);
    self->delay_ms = ms;
    pthread_mutex_unlock(&self->lock);
}

void webhook_receiver_stats(webhook_receiver_t *self, webhook_receiver_stats_t *out)
{
    pthread_mutex_lock(&self->lock);
    *out = self->stats;
    pthread_mutex_unlock(&self->lock);
}

size_t webhook_receiver_count(webhook_receiver_t *self)
{
    webhook_receiver_stats_t stats;
    webhook_receiver_stats(self, &stats);
    return stats.requests;
}

size_t webhook_receiver_answered(webhook_receiver_t *self)
{
    webhook_receiver_stats_t stats;
    webhook_receiver_stats(self, &stats);
    return stats.answered;
}

size_t webhook_receiver_accepted(webhook_receiver_t *self, const char *id)
{
    pthread_mutex_lock(&self->lock);
    uintptr_t times = id ? (uintptr_t)zhashx_lookup(self->ids, id) : 0;
    size_t accepted = !id ? self->stats.accepted : times ? times - 1 : 0;
    pthread_mutex_unlock(&self->lock);
    return accepted;
}

size_t webhook_receiver_distinct(webhook_receiver_t *self)
{
    webhook_receiver_stats_t stats;
    webhook_receiver_stats(self, &stats);
    return stats.distinct;
}

unsigned webhook_receiver_max_concurrent(webhook_receiver_t *self)
{
    webhook_receiver_stats_t stats;
    webhook_receiver_stats(self, &stats);
    return stats.max_concurrent;
}

int webhook_receiver_get(webhook_receiver_t *self, size_t index, webhook_received_t *out)
{
    int rc = -1;
    pthread_mutex_lock(&self->lock);
    if (index < self->count) {
        *out = self->requests[index];
        if (!out->body)
            out->body = "";
        rc = 0;
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

long long webhook_receiver_verify(const char *signature, const char *secret, const void *body,
                                  size_t len)
{
    /* Parsed by hand, the way a subscriber would: "t=" digits ",v1=" 64 hex. */
    if (sodium_init() < 0 || !signature || strncmp(signature, "t=", 2) != 0)
        return -1;
    const char *t_text = signature + 2;
    size_t t_len = strspn(t_text, "0123456789");
    const char *hex = t_text + t_len;
    if (t_len == 0 || t_len > 19 || strncmp(hex, ",v1=", 4) != 0)
        return -1;
    hex += 4;
    if (strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
        return -1;
    crypto_auth_hmacsha256_state state;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&state, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&state, (const unsigned char *)t_text, t_len);
    crypto_auth_hmacsha256_update(&state, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&state, body, len);
    crypto_auth_hmacsha256_final(&state, mac);
    char want[2 * crypto_auth_hmacsha256_BYTES + 1];
    sodium_bin2hex(want, sizeof want, mac, sizeof mac);
    if (sodium_memcmp(want, hex, 64) != 0)
        return -1;
    return strtoll(t_text, NULL, 10);
}
