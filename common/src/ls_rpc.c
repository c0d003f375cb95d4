/* ls_rpc.c — request/reply over ROUTER, answering bad envelopes itself, and the
 * field-error builder used by validation. */
#include "ls_rpc.h"

#include <stdlib.h>
#include <string.h>

#include "ls_codec.h"
#include "ls_log.h"

#define S_MAX_REQUEST_ID 128

const char *ls_status_name(Lodestone__V1__Status__Code code)
{
    const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value(&lodestone__v1__status__code__descriptor, (int)code);
    return value ? value->name : "UNKNOWN";
}

static int s_send(zsock_t *router, zmsg_t *route, const char *request_id, ls_reply_pb *reply)
{
    reply->request_id = (char *)(request_id ? request_id : "");
    zmsg_t *msg = zmsg_dup(route);
    zframe_t *body = ls_codec_pack(&reply->base);
    if (!msg || !body) {
        zmsg_destroy(&msg);
        zframe_destroy(&body);
        return -1;
    }
    zmsg_append(msg, &body);
    return zmsg_send(&msg, router);
}

/* Sends a status; when the message reads "field: reason" and the code is INVALID,
 * the field error is filled in too, so clients always find the field by name. */
static int s_send_status(zsock_t *router, zmsg_t *route, const char *request_id,
                         Lodestone__V1__Status__Code code, const char *message)
{
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    ls_status_pb status = LODESTONE__V1__STATUS__INIT;
    ls_field_error_pb error = LODESTONE__V1__FIELD_ERROR__INIT;
    ls_field_error_pb *errors[] = {&error};
    char field[128];
    status.code = code;
    status.message = (char *)message;
    size_t len = strcspn(message, ": ");
    if (code == LODESTONE__V1__STATUS__CODE__INVALID && message[len] == ':' && len &&
        len < sizeof field) {
        snprintf(field, sizeof field, "%.*s", (int)len, message);
        error.field = field;
        error.reason = (char *)message + len + (message[len + 1] == ' ' ? 2 : 1);
        status.errors = errors;
        status.n_errors = 1;
    }
    reply.status = &status;
    return s_send(router, route, request_id, &reply);
}

int ls_rpc_recv(zsock_t *router, size_t max_bytes, ls_rpc_request_t *req)
{
    memset(req, 0, sizeof *req);
    req->status = -1;
    zmsg_t *msg = zmsg_recv(router);
    if (!msg)
        return -1;
    /* Route = every frame but the last: [identity] or [identity][empty] (REQ). */
    size_t frames = zmsg_size(msg);
    zframe_t *body = zmsg_last(msg);
    if (frames < 2 || frames > 3) {
        LS_WARN("dropped a request of %zu frames", frames);
        zmsg_destroy(&msg);
        return 1;
    }
    zmsg_remove(msg, body);
    req->route = msg;
    /* zauth names a CURVE client by its public key (ZAP User-Id). */
    const char *user_id = zframe_meta(body, "User-Id");
    if (user_id && strlen(user_id) == LS_KEY_TEXT)
        memcpy(req->key, user_id, LS_KEY_TEXT + 1);
    const char *reason = NULL;
    req->request =
        (ls_envelope_pb *)ls_codec_unpack(&lodestone__v1__envelope__descriptor, zframe_data(body),
                                          zframe_size(body), max_bytes, &reason);
    zframe_destroy(&body);
    if (!req->request) {
        s_send_status(router, req->route, "", LODESTONE__V1__STATUS__CODE__MALFORMED, reason);
        req->status = LODESTONE__V1__STATUS__CODE__MALFORMED;
        ls_rpc_request_free(req);
        return 1;
    }
    const char *problem = NULL;
    Lodestone__V1__Status__Code code = LODESTONE__V1__STATUS__CODE__INVALID;
    if (req->request->version != LS_PROTOCOL_VERSION)
        problem = "version: this service speaks protocol version 1";
    else if (strlen(req->request->request_id) > S_MAX_REQUEST_ID)
        problem = "request_id: longer than 128 bytes";
    else if (req->request->body_case == LODESTONE__V1__ENVELOPE__BODY__NOT_SET) {
        problem = "the request has no body this service knows";
        code = LODESTONE__V1__STATUS__CODE__UNSUPPORTED;
    }
    if (problem) {
        bool id_ok = strlen(req->request->request_id) <= S_MAX_REQUEST_ID;
        s_send_status(router, req->route, id_ok ? req->request->request_id : "", code, problem);
        req->status = (int)code;
        ls_rpc_request_free(req);
        return 1;
    }
    return 0;
}

void ls_rpc_request_free(ls_rpc_request_t *req)
{
    zmsg_destroy(&req->route);
    if (req->request)
        lodestone__v1__envelope__free_unpacked(req->request, NULL);
    req->request = NULL;
}

int ls_rpc_reply(zsock_t *router, ls_rpc_request_t *req, ls_reply_pb *reply)
{
    ls_status_pb ok = LODESTONE__V1__STATUS__INIT;
    if (!reply->status)
        reply->status = &ok;
    int rc = s_send(router, req->route, req->request->request_id, reply);
    req->status = (int)reply->status->code;
    if (reply->status == &ok)
        reply->status = NULL;
    return rc;
}

int ls_rpc_reply_status(zsock_t *router, ls_rpc_request_t *req, Lodestone__V1__Status__Code code,
                        const char *fmt, ...)
{
    char message[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    req->status = (int)code;
    return s_send_status(router, req->route, req->request->request_id, code, message);
}

/* ---------------------------------------------------------------------------
 * Field errors */

#define S_MAX_ERRORS 64

struct _ls_errors_t {
    size_t count;
    size_t dropped;
    ls_field_error_pb items[S_MAX_ERRORS];
    ls_field_error_pb *pointers[S_MAX_ERRORS];
    char summary[256];
};

ls_errors_t *ls_errors_new(void)
{
    return calloc(1, sizeof(ls_errors_t));
}

void ls_errors_destroy(ls_errors_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ls_errors_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        free(self->items[i].field);
        free(self->items[i].reason);
    }
    free(self);
    *self_p = NULL;
}

void ls_errors_add(ls_errors_t *self, const char *field, const char *fmt, ...)
{
    if (self->count == S_MAX_ERRORS) {
        self->dropped++;
        return;
    }
    char reason[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(reason, sizeof reason, fmt, args);
    va_end(args);
    ls_field_error_pb *item = &self->items[self->count];
    lodestone__v1__field_error__init(item);
    item->field = strdup(field);
    item->reason = strdup(reason);
    if (!item->field || !item->reason) {
        free(item->field);
        free(item->reason);
        self->dropped++;
        return;
    }
    self->pointers[self->count++] = item;
}

size_t ls_errors_count(const ls_errors_t *self)
{
    return self->count + self->dropped;
}

void ls_errors_fill(ls_errors_t *self, ls_status_pb *status)
{
    status->code = LODESTONE__V1__STATUS__CODE__INVALID;
    if (self->count == 1 && !self->dropped)
        snprintf(self->summary, sizeof self->summary, "%s: %s", self->items[0].field,
                 self->items[0].reason);
    else
        snprintf(self->summary, sizeof self->summary, "%zu fields are invalid%s",
                 ls_errors_count(self), self->dropped ? " (first 64 listed)" : "");
    status->message = self->summary;
    status->n_errors = self->count;
    status->errors = self->pointers;
}

int ls_rpc_reply_errors(zsock_t *router, ls_rpc_request_t *req, ls_errors_t *self)
{
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    ls_status_pb status = LODESTONE__V1__STATUS__INIT;
    ls_errors_fill(self, &status);
    reply.status = &status;
    return ls_rpc_reply(router, req, &reply);
}
