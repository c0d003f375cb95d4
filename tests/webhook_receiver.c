/* webhook_receiver.c — the tests' webhook receiver: libmicrohttpd with a thread per
 * connection, so that a delayed answer holds up only its own request, as a slow
 * real receiver would. */
#include "webhook_receiver.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "ls_util.h"

#define S_UPLOAD_MAX 65536 /* request bytes kept; the rest is read and dropped */

struct _webhook_receiver_t {
    struct MHD_Daemon *daemon;
    char url[64];
    atomic_bool stopping;
    pthread_mutex_t lock; /* guards everything below */
    webhook_received_t *requests;
    size_t count;
    size_t capacity;
    size_t answered;
    unsigned fail_next;
    int fail_next_status;
    int fail_always;
    int delay_ms;
    unsigned active;
    unsigned max_active;
};

/* One connection's request while it arrives. */
typedef struct {
    char *body;
    size_t len;
    bool active; /* counted in the receiver's active requests */
} s_upload_t;

static void s_active(webhook_receiver_t *self, s_upload_t *upload, bool on)
{
    pthread_mutex_lock(&self->lock);
    if (on && !upload->active) {
        self->active++;
        if (self->active > self->max_active)
            self->max_active = self->active;
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

/* Records a complete request and picks its answer. Returns its index, or -1 when
 * memory runs out. */
static long s_record(webhook_receiver_t *self, struct MHD_Connection *connection,
                     const s_upload_t *upload, int *status, int *delay_ms)
{
    pthread_mutex_lock(&self->lock);
    if (self->count == self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 16;
        webhook_received_t *grown = realloc(self->requests, capacity * sizeof *grown);
        if (!grown) {
            pthread_mutex_unlock(&self->lock);
            return -1;
        }
        self->requests = grown;
        self->capacity = capacity;
    }
    webhook_received_t *r = &self->requests[self->count];
    memset(r, 0, sizeof *r);
    s_header(connection, "Lodestone-Delivery-Id", r->id, sizeof r->id);
    s_header(connection, "Lodestone-Signature", r->signature, sizeof r->signature);
    s_header(connection, "Content-Type", r->content_type, sizeof r->content_type);
    s_header(connection, "User-Agent", r->user_agent, sizeof r->user_agent);
    r->body_len = upload->len < sizeof r->body - 1 ? upload->len : sizeof r->body - 1;
    if (r->body_len)
        memcpy(r->body, upload->body, r->body_len);
    r->at_ms = ls_now_ms();
    if (self->fail_always)
        r->status = self->fail_always;
    else if (self->fail_next) {
        self->fail_next--;
        r->status = self->fail_next_status;
    } else
        r->status = MHD_HTTP_OK;
    *status = r->status;
    *delay_ms = self->delay_ms;
    long index = (long)self->count++;
    pthread_mutex_unlock(&self->lock);
    return index;
}

/* Sleeps ms in short steps, ending early when the receiver stops. */
static void s_sleep(webhook_receiver_t *self, int ms)
{
    int64_t end = ls_mono_ms() + ms;
    while (!atomic_load(&self->stopping) && ls_mono_ms() < end) {
        struct timespec step = {0, 5 * 1000 * 1000};
        nanosleep(&step, NULL);
    }
}

static enum MHD_Result s_answer(webhook_receiver_t *self, struct MHD_Connection *connection,
                                s_upload_t *upload)
{
    int status = MHD_HTTP_OK, delay_ms = 0;
    long index = s_record(self, connection, upload, &status, &delay_ms);
    if (index < 0)
        return MHD_NO;
    s_sleep(self, delay_ms);
    static const char text[] = "ok\n";
    struct MHD_Response *response =
        MHD_create_response_from_buffer(sizeof text - 1, (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!response)
        return MHD_NO;
    enum MHD_Result rc = MHD_queue_response(connection, (unsigned)status, response);
    MHD_destroy_response(response);
    pthread_mutex_lock(&self->lock);
    self->answered++;
    self->requests[index].answered = true;
    pthread_mutex_unlock(&self->lock);
    s_active(self, upload, false);
    return rc;
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
    if (!upload) {
        /* The headers have arrived; the body follows in later calls. */
        upload = calloc(1, sizeof *upload);
        if (!upload)
            return MHD_NO;
        *con_cls = upload;
        s_active(self, upload, true);
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t room = S_UPLOAD_MAX - upload->len;
        size_t take = *upload_data_size < room ? *upload_data_size : room;
        if (take) {
            char *grown = realloc(upload->body, upload->len + take + 1);
            if (!grown)
                return MHD_NO;
            memcpy(grown + upload->len, upload_data, take);
            upload->body = grown;
            upload->len += take;
            upload->body[upload->len] = 0;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
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

webhook_receiver_t *webhook_receiver_new(void)
{
    webhook_receiver_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    atomic_init(&self->stopping, false);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = 0; /* the kernel picks a free port */
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    self->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, s_handle, self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
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
    atomic_store(&self->stopping, true);
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
    pthread_mutex_destroy(&self->lock);
    free(self->requests);
    free(self);
    *self_p = NULL;
}

const char *webhook_receiver_url(const webhook_receiver_t *self)
{
    return self->url;
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

size_t webhook_receiver_count(webhook_receiver_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t count = self->count;
    pthread_mutex_unlock(&self->lock);
    return count;
}

size_t webhook_receiver_answered(webhook_receiver_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t answered = self->answered;
    pthread_mutex_unlock(&self->lock);
    return answered;
}

size_t webhook_receiver_accepted(webhook_receiver_t *self, const char *id)
{
    size_t accepted = 0;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->count; i++) {
        const webhook_received_t *r = &self->requests[i];
        if (r->answered && r->status >= 200 && r->status < 300 && (!id || !strcmp(r->id, id)))
            accepted++;
    }
    pthread_mutex_unlock(&self->lock);
    return accepted;
}

size_t webhook_receiver_distinct(webhook_receiver_t *self)
{
    size_t distinct = 0;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->count; i++) {
        size_t j = 0;
        while (j < i && strcmp(self->requests[j].id, self->requests[i].id) != 0)
            j++;
        distinct += j == i;
    }
    pthread_mutex_unlock(&self->lock);
    return distinct;
}

unsigned webhook_receiver_max_concurrent(webhook_receiver_t *self)
{
    pthread_mutex_lock(&self->lock);
    unsigned max = self->max_active;
    pthread_mutex_unlock(&self->lock);
    return max;
}

int webhook_receiver_get(webhook_receiver_t *self, size_t index, webhook_received_t *out)
{
    int rc = -1;
    pthread_mutex_lock(&self->lock);
    if (index < self->count) {
        *out = self->requests[index];
        rc = 0;
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

long long webhook_receiver_verify(const char *signature, const char *secret, const void *body,
                                  size_t len)
{
    /* Parsed by hand, the way a subscriber would: "t=" digits ",v1=" 64 hex. */
    if (sodium_init() < 0 || strncmp(signature, "t=", 2) != 0)
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
