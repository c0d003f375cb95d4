/* ls_client.h — the client API (DEALER) used by lodestonectl, tests and regional
 * systems' integrations. One request at a time; a reply whose request_id is not
 * the one awaited (a late answer to a timed-out request) is discarded. */
#ifndef LS_CLIENT_H
#define LS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "ls_config.h"
#include "ls_proto.h"

typedef struct _ls_client_t ls_client_t;

#define LS_CLIENT_MAX_REQUEST_ID 128 /* the services refuse longer request ids */

/* Connects a DEALER to endpoint; replies are awaited up to timeout_ms. Plain TCP. */
ls_client_t *ls_client_new(const char *endpoint, long timeout_ms);
/* The same with the security config asks for (LODESTONE_SECURITY: under curve, the
 * client's key and the services' public key); NULL with err filled when a key cannot
 * be used or endpoint is not valid. */
ls_client_t *ls_client_new_secure(const char *endpoint, long timeout_ms, const ls_config_t *config,
                                  char *err, size_t errlen);
void ls_client_destroy(ls_client_t **self_p);

/* Sends env (sets version, and a fresh request_id when empty) and waits for its
 * reply. Returns the reply, which the caller frees with
 * lodestone__v1__reply__free_unpacked (reply, NULL), or NULL with ls_client_error
 * set when no valid reply came in time. */
ls_reply_pb *ls_client_call(ls_client_t *self, ls_envelope_pb *env);
/* Sends raw bytes as a request frame and waits for any reply (for tests). */
ls_reply_pb *ls_client_call_raw(ls_client_t *self, const void *data, size_t len);

ls_reply_pb *ls_client_ping(ls_client_t *self);
ls_reply_pb *ls_client_put(ls_client_t *self, ls_entity_pb *entity, uint64_t expected_version);
ls_reply_pb *ls_client_get(ls_client_t *self, const char *id);
ls_reply_pb *ls_client_matches(ls_client_t *self, const char *entity_id, uint32_t limit);

/* The publisher named in every request (NULL or "": none). Copied. */
void ls_client_set_publisher(ls_client_t *self, const char *publisher);

/* Pipelining: send without waiting (sets version, publisher, and a fresh
 * request_id when empty, copied into request_id_out if given, which holds
 * LS_CLIENT_MAX_REQUEST_ID + 1 bytes),
 * then collect replies in any order with ls_client_recv. Returns 0 or -1. */
int ls_client_send(ls_client_t *self, ls_envelope_pb *env, char *request_id_out);
/* The next reply to arrive within timeout_ms, whatever its request_id; NULL on a
 * timeout or a bad frame (see ls_client_error). The caller frees it. */
ls_reply_pb *ls_client_recv(ls_client_t *self, long timeout_ms);

const char *ls_client_error(const ls_client_t *self);

#endif
