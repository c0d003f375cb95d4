/* ls_client.c — the client API over a DEALER socket: one request at a time, late
 * replies to earlier requests discarded by request_id. */
#include "ls_client.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "ls_codec.h"
#include "ls_security.h"
#include "ls_util.h"

#define S_MAX_REPLY (64 * 1024 * 1024)

struct _ls_client_t {
    zsock_t *dealer;
    char *endpoint;
    char *publisher;
    long timeout_ms;
    char error[512];
};

ls_client_t *ls_client_new_secure(const char *endpoint, long timeout_ms, const ls_config_t *config,
                                  char *err, size_t errlen)
{
    ls_client_t *self = calloc(1, sizeof *self);
    if (self) {
        self->dealer = zsock_new(ZMQ_DEALER);
        self->endpoint = strdup(endpoint);
    }
    if (!self || !self->dealer || !self->endpoint) {
        snprintf(err, errlen, "out of memory");
        ls_client_destroy(&self);
        return NULL;
    }
    zsock_set_linger(self->dealer, 0);
    zsock_set_maxmsgsize(self->dealer, S_MAX_REPLY);
    if (config && ls_security_client(self->dealer, config, err, errlen)) {
        ls_client_destroy(&self);
        return NULL;
    }
    if (zsock_connect(self->dealer, "%s", endpoint)) {
        snprintf(err, errlen, "cannot connect to '%s': %s", endpoint, zmq_strerror(zmq_errno()));
        ls_client_destroy(&self);
        return NULL;
    }
    self->timeout_ms = timeout_ms;
    return self;
}

ls_client_t *ls_client_new(const char *endpoint, long timeout_ms)
{
    char err[256];
    return ls_client_new_secure(endpoint, timeout_ms, NULL, err, sizeof err);
}

void ls_client_destroy(ls_client_t **self_p)
{
    if (self_p && *self_p) {
        zsock_destroy(&(*self_p)->dealer);
        free((*self_p)->endpoint);
        free((*self_p)->publisher);
        free(*self_p);
        *self_p = NULL;
    }
}

const char *ls_client_error(const ls_client_t *self)
{
    return self->error;
}

/* Waits for the reply to request_id (NULL: any reply). */
static ls_reply_pb *s_await(ls_client_t *self, const char *request_id, long timeout_ms)
{
    int64_t deadline = ls_mono_ms() + timeout_ms;
    zpoller_t *poller = zpoller_new(self->dealer, NULL);
    ls_reply_pb *reply = NULL;
    while (!reply) {
        int64_t left = deadline - ls_mono_ms();
        if (left <= 0 || !zpoller_wait(poller, (int)left)) {
            snprintf(self->error, sizeof self->error, "%s from %s within %ld ms",
                     zpoller_terminated(poller) ? "interrupted waiting for a reply" : "no reply",
                     self->endpoint, timeout_ms);
            break;
        }
        zframe_t *frame = zframe_recv(self->dealer);
        if (!frame)
            continue;
        const char *reason = NULL;
        reply =
            (ls_reply_pb *)ls_codec_unpack(&lodestone__v1__reply__descriptor, zframe_data(frame),
                                           zframe_size(frame), S_MAX_REPLY, &reason);
        zframe_destroy(&frame);
        if (!reply) {
            snprintf(self->error, sizeof self->error, "bad reply from %s: %s", self->endpoint,
                     reason);
            break;
        }
        /* An empty request_id is a service that could not read the request at all
         * (MALFORMED): with one request in flight, that is ours. */
        if (request_id && *reply->request_id && strcmp(reply->request_id, request_id) != 0) {
            lodestone__v1__reply__free_unpacked(reply, NULL);
            reply = NULL; /* a late answer to an earlier request */
        }
    }
    zpoller_destroy(&poller);
    return reply;
}

void ls_client_set_publisher(ls_client_t *self, const char *publisher)
{
    free(self->publisher);
    self->publisher = publisher && *publisher ? strdup(publisher) : NULL;
}

int ls_client_send(ls_client_t *self, ls_envelope_pb *env, char *request_id_out)
{
    char id[33];
    char *given_id = env->request_id;
    char *given_publisher = env->publisher;
    env->version = LS_PROTOCOL_VERSION;
    if (!env->request_id || !*env->request_id) {
        zuuid_t *uuid = zuuid_new();
        snprintf(id, sizeof id, "%s", zuuid_str(uuid));
        zuuid_destroy(&uuid);
        env->request_id = id;
    }
    if ((!env->publisher || !*env->publisher) && self->publisher)
        env->publisher = self->publisher;
    if (request_id_out)
        snprintf(request_id_out, LS_CLIENT_MAX_REQUEST_ID + 1, "%s", env->request_id);
    zframe_t *frame = ls_codec_pack(&env->base);
    /* Leave no pointer to this stack frame or to self behind in env. */
    env->request_id = given_id;
    env->publisher = given_publisher;
    if (!frame || zframe_send(&frame, self->dealer, 0)) {
        zframe_destroy(&frame);
        snprintf(self->error, sizeof self->error, "cannot send to %s", self->endpoint);
        return -1;
    }
    return 0;
}

ls_reply_pb *ls_client_recv(ls_client_t *self, long timeout_ms)
{
    return s_await(self, NULL, timeout_ms);
}

ls_reply_pb *ls_client_call(ls_client_t *self, ls_envelope_pb *env)
{
    char id[LS_CLIENT_MAX_REQUEST_ID + 1];
    if (env->request_id && strlen(env->request_id) >= sizeof id) {
        snprintf(self->error, sizeof self->error, "request_id longer than %zu bytes",
                 sizeof id - 1);
        return NULL;
    }
    if (env->request_id && *env->request_id)
        snprintf(id, sizeof id, "%s", env->request_id);
    if (ls_client_send(self, env, (env->request_id && *env->request_id) ? NULL : id))
        return NULL;
    return s_await(self, id, self->timeout_ms);
}

ls_reply_pb *ls_client_call_raw(ls_client_t *self, const void *data, size_t len)
{
    zframe_t *frame = zframe_new(data, len);
    if (!frame || zframe_send(&frame, self->dealer, 0)) {
        zframe_destroy(&frame);
        snprintf(self->error, sizeof self->error, "cannot send to %s", self->endpoint);
        return NULL;
    }
    return s_await(self, NULL, self->timeout_ms);
}

ls_reply_pb *ls_client_ping(ls_client_t *self)
{
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__Ping ping = LODESTONE__V1__PING__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_PING;
    env.ping = &ping;
    return ls_client_call(self, &env);
}

ls_reply_pb *ls_client_put(ls_client_t *self, ls_entity_pb *entity, uint64_t expected_version)
{
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__PutEntity put = LODESTONE__V1__PUT_ENTITY__INIT;
    put.entity = entity;
    put.expected_version = expected_version;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_PUT;
    env.put = &put;
    return ls_client_call(self, &env);
}

ls_reply_pb *ls_client_get(ls_client_t *self, const char *id)
{
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__GetEntity get = LODESTONE__V1__GET_ENTITY__INIT;
    get.id = (char *)id;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_GET;
    env.get = &get;
    return ls_client_call(self, &env);
}

ls_reply_pb *ls_client_matches(ls_client_t *self, const char *entity_id, uint32_t limit)
{
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__GetMatches matches = LODESTONE__V1__GET_MATCHES__INIT;
    matches.entity_id = (char *)entity_id;
    matches.limit = limit;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_MATCHES;
    env.matches = &matches;
    return ls_client_call(self, &env);
}
