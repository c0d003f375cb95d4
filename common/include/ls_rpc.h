/* ls_rpc.h — request/reply over a ROUTER socket, shared by the three services.
 * Reads [identity][(empty)][Envelope] from DEALER or REQ clients, answers
 * MALFORMED/INVALID/UNSUPPORTED itself for envelopes that cannot be served, and
 * sends a Reply along the same route. Also the builder for field-level errors. */
#ifndef LS_RPC_H
#define LS_RPC_H

#include <czmq.h>
#include <stdarg.h>

#include "ls_proto.h"

#define LS_PUBLISHER_MAX 64 /* bytes of a publisher name */
#define LS_KEY_TEXT 40      /* a CURVE public key in Z85 */

typedef struct {
    zmsg_t *route; /* identity (and empty delimiter for REQ clients) */
    ls_envelope_pb *request;
    int status; /* the status code answered, -1 while none (the service loop counts it) */
    char key[LS_KEY_TEXT + 1]; /* the client's CURVE public key; "" without CURVE */
    /* The publisher the key names, once the guard has checked it (ls_security.h);
     * "" under plain TCP. */
    char publisher[LS_PUBLISHER_MAX + 1];
} ls_rpc_request_t;

/* Receives one request. Returns 0 with req filled (free with ls_rpc_request_free),
 * 1 when the message was bad and has been answered (carry on), -1 when interrupted. */
int ls_rpc_recv(zsock_t *router, size_t max_bytes, ls_rpc_request_t *req);
void ls_rpc_request_free(ls_rpc_request_t *req);

/* Sends reply to the route of req; sets reply->request_id from the request. */
int ls_rpc_reply(zsock_t *router, ls_rpc_request_t *req, ls_reply_pb *reply);
/* Sends a reply with only a status. */
int ls_rpc_reply_status(zsock_t *router, ls_rpc_request_t *req, Lodestone__V1__Status__Code code,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Name of a status code ("INVALID"), for logs and the CLI. */
const char *ls_status_name(Lodestone__V1__Status__Code code);

/* Field errors collected while validating one request. */
typedef struct _ls_errors_t ls_errors_t;
ls_errors_t *ls_errors_new(void);
void ls_errors_destroy(ls_errors_t **self_p);
void ls_errors_add(ls_errors_t *self, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
size_t ls_errors_count(const ls_errors_t *self);
/* Points status at the collected errors (INVALID, with a summary message). The
 * status borrows memory from self: send it before destroying self. */
void ls_errors_fill(ls_errors_t *self, ls_status_pb *status);
/* Answers req with INVALID and the collected errors (self stays the caller's). */
int ls_rpc_reply_errors(zsock_t *router, ls_rpc_request_t *req, ls_errors_t *self);

#endif
