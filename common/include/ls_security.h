/* ls_security.h — who may talk to the services (LODESTONE_SECURITY).
 *
 * curve (the default): the sockets that face regional systems are CURVE servers with
 * the services' certificate (LODESTONE_SERVER_SECRET_KEY); a czmq zauth actor admits
 * only clients whose public certificate is in the directory LODESTONE_PUBLISHER_KEYS,
 * and the publisher a request acts as is the one its certificate names (metadata
 * `publisher`, written by `lodestonectl keygen NAME`). Each request is checked
 * against the directory again (at most once a second per key), so deleting a key
 * file revokes it on connections already open as well as on new ones.
 *
 * plain: no authentication; a request acts as the publisher it names when
 * LODESTONE_PUBLISHER or LODESTONE_TRUSTED_PUBLISHERS allow it. For local
 * development only: the guard says so as a warning when it starts. */
#ifndef LS_SECURITY_H
#define LS_SECURITY_H

#include <czmq.h>
#include <stdbool.h>

#include "ls_config.h"
#include "ls_rpc.h"

/* True when name is a valid publisher name (1..64 of a-z, 0-9, '.', '_', '-'). */
bool ls_publisher_name_valid(const char *name);

/* ---------------------------------------------------------------------------
 * The services' side */

typedef struct _ls_guard_t ls_guard_t;

/* Loads the services' certificate and starts zauth over the publisher keys (curve),
 * or warns that nothing is authenticated (plain). NULL with err filled when a key or
 * the directory cannot be used. */
ls_guard_t *ls_guard_new(const ls_config_t *config, char *err, size_t errlen);
void ls_guard_destroy(ls_guard_t **self_p);

/* Makes sock (not yet bound) a CURVE server under zauth; nothing under plain. */
void ls_guard_secure(ls_guard_t *self, zsock_t *sock);

/* Resolves the publisher of req from the key it was sent with (req->publisher).
 * Returns true to serve it; false after answering FORBIDDEN on router (a key that
 * was revoked, or names no valid publisher). Under plain it always returns true. */
bool ls_guard_admit(ls_guard_t *self, zsock_t *router, ls_rpc_request_t *req);

/* ---------------------------------------------------------------------------
 * The clients' side */

/* Makes sock (not yet connected) a CURVE client with LODESTONE_CLIENT_SECRET_KEY
 * towards the services' LODESTONE_SERVER_PUBLIC_KEY; nothing under plain. Returns 0,
 * or -1 with err naming the variable and the file. */
int ls_security_client(zsock_t *sock, const ls_config_t *config, char *err, size_t errlen);

/* Makes a key pair for publisher name: base.key (public, to go into the services'
 * LODESTONE_PUBLISHER_KEYS) and base.key_secret (mode 600, for the publisher's
 * client). Refuses to overwrite either. Returns 0, or -1 with err. */
int ls_security_keygen(const char *name, const char *base, char *err, size_t errlen);

#endif
