/* ls_http.c — /healthz and /metrics over libmicrohttpd, on its own thread, with
 * small bounds on connections, memory and time. */
#include "ls_http.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define S_CONNECTIONS_MAX 16
#define S_TIMEOUT_S 5
#define S_CONNECTION_MEMORY (32 * 1024)

struct _ls_http_t {
    struct MHD_Daemon *daemon;
    ls_metrics_t *metrics;
    ls_http_ready_fn *ready;
    void *arg;
};

void ls_health_init(ls_health_t *health)
{
    atomic_init(&health->started, false);
    atomic_init(&health->redis_ok, false);
    atomic_init(&health->caught_up, false);
    atomic_init(&health->lag, 0);
}

bool ls_health_ready(void *arg, char *reason, size_t len)
{
    ls_health_t *health = arg;
    if (!atomic_load(&health->started))
        snprintf(reason, len, "starting");
    else if (!atomic_load(&health->redis_ok))
        snprintf(reason, len, "Redis is unreachable");
    else if (!atomic_load(&health->caught_up))
        snprintf(reason, len, "catching up: %llu journal entries behind",
                 (unsigned long long)atomic_load(&health->lag));
    else
        return true;
    return false;
}

int ls_http_parse_bind(const char *bind, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(bind, ':');
    if (!colon)
        return -1;
    const char *start = bind, *end = colon;
    if (*bind == '[') { /* [v6]:port */
        if (colon == bind || colon[-1] != ']')
            return -1;
        start = bind + 1;
        end = colon - 1;
    }
    char *stop;
    long value = strtol(colon + 1, &stop, 10);
    if (stop == colon + 1 || *stop || value < 0 || value > 65535 ||
        (size_t)(end - start) >= hostlen)
        return -1;
    memcpy(host, start, (size_t)(end - start));
    host[end - start] = 0;
    *port = (int)value;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Answers */

static enum MHD_Result s_send(struct MHD_Connection *connection, unsigned status, char *body,
                              size_t len, const char *type)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return rc;
}

static enum MHD_Result s_text(struct MHD_Connection *connection, unsigned status, const char *text)
{
    char *body = strdup(text);
    if (!body)
        return MHD_NO;
    return s_send(connection, status, body, strlen(body), "text/plain; charset=utf-8");
}

static enum MHD_Result s_healthz(ls_http_t *self, struct MHD_Connection *connection)
{
    char reason[200] = "not ready";
    if (self->ready(self->arg, reason, sizeof reason))
        return s_text(connection, MHD_HTTP_OK, "ok\n");
    char line[210];
    snprintf(line, sizeof line, "%s\n", reason);
    return s_text(connection, MHD_HTTP_SERVICE_UNAVAILABLE, line);
}

static enum MHD_Result s_metrics(ls_http_t *self, struct MHD_Connection *connection)
{
    size_t len = 0;
    char *text = ls_metrics_render(self->metrics, &len);
    if (!text)
        return s_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    return s_send(connection, MHD_HTTP_OK, text, len, "text/plain; version=0.0.4; charset=utf-8");
}

/* Answers on the first call: no request here has a body worth reading. */
static enum MHD_Result s_handler(void *cls, struct MHD_Connection *connection, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    ls_http_t *self = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return s_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    if (strcmp(url, "/healthz") == 0)
        return s_healthz(self, connection);
    if (strcmp(url, "/metrics") == 0 && self->metrics)
        return s_metrics(self, connection);
    return s_text(connection, MHD_HTTP_NOT_FOUND, "not found: try /healthz or /metrics\n");
}

/* ---------------------------------------------------------------------------
 * Life cycle */

ls_http_t *ls_http_new(const char *bind, ls_metrics_t *metrics, ls_http_ready_fn *ready, void *arg,
                       char *err, size_t errlen)
{
    char host[256], service[8];
    int port = 0;
    if (ls_http_parse_bind(bind, host, sizeof host, &port) || port == 0) {
        snprintf(err, errlen, "'%s' is not host:port with a port in 1..65535", bind);
        return NULL;
    }
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *found = NULL;
    int gai = getaddrinfo(*host ? host : NULL, service, &hints, &found);
    if (gai) {
        snprintf(err, errlen, "'%s': %s", bind, gai_strerror(gai));
        return NULL;
    }
    ls_http_t *self = calloc(1, sizeof *self);
    if (self) {
        self->metrics = metrics;
        self->ready = ready;
        self->arg = arg;
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
        if (found->ai_family == AF_INET6)
            flags |= MHD_USE_IPv6;
        self->daemon = MHD_start_daemon(
            flags, (uint16_t)port, NULL, NULL, s_handler, self, MHD_OPTION_SOCK_ADDR,
            found->ai_addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned)S_CONNECTIONS_MAX,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)S_TIMEOUT_S,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)S_CONNECTION_MEMORY, MHD_OPTION_END);
    }
    freeaddrinfo(found);
    if (!self || !self->daemon) {
        snprintf(err, errlen, "cannot serve HTTP on %s (in use, or not an address here)", bind);
        free(self);
        return NULL;
    }
    return self;
}

void ls_http_destroy(ls_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ls_http_t *self = *self_p;
    MHD_stop_daemon(self->daemon);
    free(self);
    *self_p = NULL;
}
