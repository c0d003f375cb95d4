/* ls_security.c — CURVE for the sockets that face regional systems: the services'
 * certificate, the zauth actor over the directory of publisher keys, the check of
 * each request's key, and the clients' side (ls_security.h). */
#include "ls_security.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ls_log.h"
#include "ls_util.h"

#define S_ZAP_DOMAIN "lodestone"
#define S_META_PUBLISHER "publisher" /* the certificate metadata naming the publisher */
#define S_RECHECK_MS 1000            /* a key is looked up in the directory this often */
#define S_KNOWN_MAX 4096             /* keys remembered; beyond, the table starts afresh */
#define S_NO_KEY "0000000000000000000000000000000000000000" /* Z85 of 32 zero bytes */

bool ls_publisher_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > LS_PUBLISHER_MAX)
        return false;
    return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

/* ---------------------------------------------------------------------------
 * The services' side */

typedef struct {
    char publisher[LS_PUBLISHER_MAX + 1]; /* "" when the key is not allowed */
    int64_t checked_ms;
    bool warned; /* its refusal has been logged */
} s_known_t;

struct _ls_guard_t {
    bool curve;
    zcert_t *server;    /* the services' certificate, with its secret key */
    zactor_t *auth;     /* zauth: admits the keys in the directory at handshake */
    zcertstore_t *keys; /* the same directory, for the check of each request */
    zhashx_t *known;    /* client key -> s_known_t */
    char dir[LS_CONFIG_STR];
};

static void s_known_destructor(void **item)
{
    free(*item);
    *item = NULL;
}

static bool s_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Loads a certificate; with secret, it must hold a secret key. */
static zcert_t *s_load_cert(const char *path, bool secret, const char *variable, char *err,
                            size_t errlen)
{
    zcert_t *cert = zcert_load(path);
    if (!cert) {
        snprintf(err, errlen,
                 "%s: cannot read a CURVE certificate from '%s' (make one with "
                 "lodestonectl keygen)",
                 variable, path);
        return NULL;
    }
    if (secret && strcmp(zcert_secret_txt(cert), S_NO_KEY) == 0) {
        snprintf(err, errlen, "%s: '%s' holds no secret key (give the .key_secret file)", variable,
                 path);
        zcert_destroy(&cert);
    }
    return cert;
}

static int s_guard_curve(ls_guard_t *self, const ls_config_t *config, char *err, size_t errlen)
{
    if (!zsys_has_curve()) {
        snprintf(err, errlen, "LODESTONE_SECURITY=curve: this libzmq has no CURVE support");
        return -1;
    }
    if (!s_is_dir(config->publisher_keys)) {
        snprintf(err, errlen, "LODESTONE_PUBLISHER_KEYS: '%s' is not a directory",
                 config->publisher_keys);
        return -1;
    }
    self->server =
        s_load_cert(config->server_secret_key, true, "LODESTONE_SERVER_SECRET_KEY", err, errlen);
    if (!self->server)
        return -1;
    snprintf(self->dir, sizeof self->dir, "%s", config->publisher_keys);
    self->keys = zcertstore_new(self->dir);
    self->known = zhashx_new();
    self->auth = zactor_new(zauth, NULL);
    if (!self->keys || !self->known || !self->auth) {
        snprintf(err, errlen, "out of memory starting authentication");
        return -1;
    }
    zhashx_set_destructor(self->known, s_known_destructor);
    if (config->log_level == LS_LOG_DEBUG) {
        zstr_sendx(self->auth, "VERBOSE", NULL);
        zsock_wait(self->auth);
    }
    zstr_sendx(self->auth, "CURVE", self->dir, NULL);
    zsock_wait(self->auth);
    return 0;
}

ls_guard_t *ls_guard_new(const ls_config_t *config, char *err, size_t errlen)
{
    ls_guard_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->curve = strcmp(config->security, "curve") == 0;
    if (!self->curve) {
        LS_WARN("LODESTONE_SECURITY=plain: requests are not authenticated and may name any "
                "allowed publisher; for local development only");
        return self;
    }
    if (s_guard_curve(self, config, err, errlen)) {
        ls_guard_destroy(&self);
        return NULL;
    }
    LS_INFO("CURVE: clients must hold a key in %s", self->dir);
    return self;
}

void ls_guard_destroy(ls_guard_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ls_guard_t *self = *self_p;
    zactor_destroy(&self->auth);
    zcertstore_destroy(&self->keys);
    zhashx_destroy(&self->known);
    zcert_destroy(&self->server);
    free(self);
    *self_p = NULL;
}

void ls_guard_secure(ls_guard_t *self, zsock_t *sock)
{
    if (!self->curve)
        return;
    zcert_apply(self->server, sock);
    zsock_set_curve_server(sock, 1);
    zsock_set_zap_domain(sock, S_ZAP_DOMAIN);
}

/* What the directory says of key now: the publisher it names, or "". */
static void s_lookup(ls_guard_t *self, const char *key, s_known_t *known)
{
    known->publisher[0] = '\0';
    known->checked_ms = ls_mono_ms();
    zcert_t *cert = zcertstore_lookup(self->keys, key);
    const char *name = cert ? zcert_meta(cert, S_META_PUBLISHER) : NULL;
    if (name && ls_publisher_name_valid(name))
        snprintf(known->publisher, sizeof known->publisher, "%s", name);
}

/* The entry for key, looked up again when older than S_RECHECK_MS; NULL when out
 * of memory. */
static s_known_t *s_known(ls_guard_t *self, const char *key)
{
    s_known_t *known = zhashx_lookup(self->known, key);
    if (known && ls_mono_ms() - known->checked_ms < S_RECHECK_MS)
        return known;
    if (!known) {
        if (zhashx_size(self->known) >= S_KNOWN_MAX)
            zhashx_purge(self->known);
        known = calloc(1, sizeof *known);
        if (!known)
            return NULL;
        zhashx_insert(self->known, key, known);
    }
    s_lookup(self, key, known);
    return known;
}

bool ls_guard_admit(ls_guard_t *self, zsock_t *router, ls_rpc_request_t *req)
{
    if (!self->curve)
        return true;
    s_known_t *known = *req->key ? s_known(self, req->key) : NULL;
    if (known && *known->publisher) {
        memcpy(req->publisher, known->publisher, sizeof req->publisher);
        known->warned = false;
        return true;
    }
    /* zauth let the connection in, so the key was allowed then: it has been revoked
     * since, or its certificate names no valid publisher. Said once per key. */
    if (!known || !known->warned)
        LS_WARN("refusing requests with key %.8s...: not (or no longer) in %s with a valid "
                "publisher name",
                req->key, self->dir);
    if (known)
        known->warned = true;
    ls_rpc_reply_status(router, req, LODESTONE__V1__STATUS__CODE__FORBIDDEN,
                        "key %.8s...: not (or no longer) allowed, or names no valid publisher",
                        req->key);
    return false;
}

/* ---------------------------------------------------------------------------
 * The clients' side */

int ls_security_client(zsock_t *sock, const ls_config_t *config, char *err, size_t errlen)
{
    if (strcmp(config->security, "curve") != 0)
        return 0;
    if (!*config->client_secret_key) {
        snprintf(err, errlen,
                 "LODESTONE_CLIENT_SECRET_KEY: not set, and LODESTONE_SECURITY is "
                 "curve (make a key with lodestonectl keygen NAME, or set "
                 "LODESTONE_SECURITY=plain for a local development system)");
        return -1;
    }
    zcert_t *client =
        s_load_cert(config->client_secret_key, true, "LODESTONE_CLIENT_SECRET_KEY", err, errlen);
    if (!client)
        return -1;
    zcert_t *server =
        s_load_cert(config->server_public_key, false, "LODESTONE_SERVER_PUBLIC_KEY", err, errlen);
    if (!server) {
        zcert_destroy(&client);
        return -1;
    }
    zcert_apply(client, sock);
    zsock_set_curve_serverkey(sock, zcert_public_txt(server));
    zcert_destroy(&client);
    zcert_destroy(&server);
    return 0;
}

static bool s_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 || errno != ENOENT;
}

int ls_security_keygen(const char *name, const char *base, char *err, size_t errlen)
{
    if (!ls_publisher_name_valid(name)) {
        snprintf(err, errlen, "NAME: '%s' is not 1 to %d of a-z, 0-9, '.', '_', '-'", name,
                 LS_PUBLISHER_MAX);
        return -1;
    }
    char public_path[1024], secret_path[1040];
    if (snprintf(public_path, sizeof public_path, "%s.key", base) >= (int)sizeof public_path) {
        snprintf(err, errlen, "file name too long");
        return -1;
    }
    snprintf(secret_path, sizeof secret_path, "%s_secret", public_path);
    if (s_exists(public_path) || s_exists(secret_path)) {
        snprintf(err, errlen,
                 "%s or %s exists already: choose another --file (keys are never "
                 "overwritten)",
                 public_path, secret_path);
        return -1;
    }
    zcert_t *cert = zcert_new();
    if (!cert) {
        snprintf(err, errlen, "cannot make a key pair");
        return -1;
    }
    zcert_set_meta(cert, S_META_PUBLISHER, "%s", name);
    /* zcert_save writes the public file, then the secret one with mode 600. */
    int rc = zcert_save(cert, public_path);
    zcert_destroy(&cert);
    if (rc) {
        snprintf(err, errlen, "cannot write %s: %s", public_path, strerror(errno));
        return -1;
    }
    return 0;
}
