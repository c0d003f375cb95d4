/* ls_store.c — the one Redis wrapper: URL parsing, the password file, connect with
 * back-off, reconnect after errors, binary-safe commands, scripts by SHA, pipelining. */
#include "ls_store.h"

#include <czmq.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ls_log.h"
#include "ls_util.h"

struct _ls_store_t {
    redisContext *ctx;
    char host[256];
    int port;
    char user[128];
    char password[256];
    int db;
    char error[512];
    bool refused;        /* Redis answered AUTH or SELECT with an error */
    uint64_t reconnects; /* successful connections after the first */
};

#define S_PASSWORD_MAX 255 /* bytes; the longest password the store holds */

/* The start of a URL's user:password@host part (after the scheme, if any). */
static const char *s_authority(const char *url)
{
    const char *scheme_end = strstr(url, "://");
    return scheme_end ? scheme_end + 3 : url;
}

/* The colon before a URL's password, or NULL when it names no user:password@. */
static const char *s_password_colon(const char *url)
{
    const char *p = s_authority(url);
    const char *at = strrchr(p, '@');
    return at ? memchr(p, ':', (size_t)(at - p)) : NULL;
}

/* The URL as a message may show it: a password in it replaced by "***". */
static const char *s_shown(const char *url, char *buf, size_t len)
{
    const char *colon = s_password_colon(url);
    if (!colon)
        return url;
    snprintf(buf, len, "%.*s***%s", (int)(colon + 1 - url), url, strrchr(colon, '@'));
    return buf;
}

static int s_parse_url(ls_store_t *self, const char *url, char *err, size_t errlen)
{
    const char *p = url;
    char shown[LS_CONFIG_STR + 8];
    if (strncmp(p, "redis://", 8) != 0) {
        snprintf(err, errlen, "Redis URL '%s' must start with redis://",
                 s_shown(url, shown, sizeof shown));
        return -1;
    }
    p += 8;
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        size_t ulen = colon ? (size_t)(colon - p) : 0;
        const char *pass = colon ? colon + 1 : p;
        size_t plen = (size_t)(at - pass);
        if (ulen >= sizeof self->user || plen >= sizeof self->password) {
            snprintf(err, errlen, "Redis URL: user or password too long");
            return -1;
        }
        memcpy(self->user, p, ulen);
        memcpy(self->password, pass, plen);
        p = at + 1;
    }
    size_t hlen = strcspn(p, ":/");
    if (hlen == 0 || hlen >= sizeof self->host) {
        snprintf(err, errlen, "Redis URL '%s' has no host", s_shown(url, shown, sizeof shown));
        return -1;
    }
    memcpy(self->host, p, hlen);
    p += hlen;
    self->port = 6379;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535 || (*end && *end != '/')) {
            snprintf(err, errlen, "Redis URL '%s' has a bad port",
                     s_shown(url, shown, sizeof shown));
            return -1;
        }
        self->port = (int)port;
        p = end;
    }
    if (*p == '/' && p[1]) {
        char *end;
        long db = strtol(p + 1, &end, 10);
        if (*end || db < 0 || db > 15) {
            snprintf(err, errlen, "Redis URL '%s' has a bad database number",
                     s_shown(url, shown, sizeof shown));
            return -1;
        }
        self->db = (int)db;
    }
    return 0;
}

static void s_drop(ls_store_t *self)
{
    if (self->ctx) {
        redisFree(self->ctx);
        self->ctx = NULL;
    }
}

/* Error replies that say "not now" rather than "no": Redis loading its data, busy
 * with a script, or between roles. */
static bool s_transient(const char *error)
{
    static const char *prefixes[] = {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(error, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

/* Runs a setup command on a fresh context; 0 when it answered OK. Any other error
 * reply (wrong password, no such database) is remembered as a refusal. */
static int s_setup(ls_store_t *self, int argc, const char **argv)
{
    redisReply *reply = redisCommandArgv(self->ctx, argc, argv, NULL);
    int rc = reply && reply->type != REDIS_REPLY_ERROR ? 0 : -1;
    self->refused = rc && reply && !s_transient(reply->str);
    if (rc && reply)
        snprintf(self->error, sizeof self->error, "Redis at %s:%d refused %s: %s", self->host,
                 self->port, argv[0], reply->str);
    else if (rc)
        snprintf(self->error, sizeof self->error, "%s: %s", argv[0], self->ctx->errstr);
    if (reply)
        freeReplyObject(reply);
    return rc;
}

static int s_connect_once(ls_store_t *self)
{
    s_drop(self);
    self->refused = false;
    struct timeval tv = {2, 0};
    self->ctx = redisConnectWithTimeout(self->host, self->port, tv);
    if (!self->ctx || self->ctx->err) {
        snprintf(self->error, sizeof self->error, "cannot connect to Redis at %s:%d: %s",
                 self->host, self->port, self->ctx ? self->ctx->errstr : "out of memory");
        s_drop(self);
        return -1;
    }
    struct timeval cmd_tv = {10, 0};
    redisSetTimeout(self->ctx, cmd_tv);
    if (*self->password) {
        const char *auth_user[] = {"AUTH", self->user, self->password};
        const char *auth[] = {"AUTH", self->password};
        int rc = *self->user ? s_setup(self, 3, auth_user) : s_setup(self, 2, auth);
        if (rc) {
            s_drop(self);
            return -1;
        }
    }
    if (self->db) {
        char db[8];
        snprintf(db, sizeof db, "%d", self->db);
        const char *select[] = {"SELECT", db};
        if (s_setup(self, 2, select)) {
            s_drop(self);
            return -1;
        }
    }
    return 0;
}

ls_store_t *ls_store_new(const char *url, long wait_ms, char *err, size_t errlen)
{
    ls_store_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (s_parse_url(self, url, err, errlen)) {
        free(self);
        return NULL;
    }
    int64_t deadline = ls_mono_ms() + wait_ms;
    long backoff = 100;
    while (s_connect_once(self)) {
        /* Credentials Redis refused stay refused: a configuration error, said at once. */
        if (self->refused || zsys_interrupted ||
            (wait_ms >= 0 && ls_mono_ms() + backoff > deadline)) {
            snprintf(err, errlen, "%s", self->error);
            free(self);
            return NULL;
        }
        LS_WARN("%s; retrying in %ld ms", self->error, backoff);
        zclock_sleep((int)backoff);
        backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
    }
    return self;
}

/* Reads a password file into password (size > S_PASSWORD_MAX + 2) without its
 * trailing newline. 0, or -1 with a message in err. */
static int s_read_password(const char *path, char *password, size_t size, char *err, size_t errlen)
{
    FILE *file = fopen(path, "rb");
    size_t len = file ? fread(password, 1, size - 1, file) : 0;
    int failed = !file || ferror(file);
    int saved_errno = errno;
    if (file)
        fclose(file);
    if (failed) {
        snprintf(err, errlen, "LODESTONE_REDIS_PASSWORD_FILE: cannot read '%s': %s", path,
                 strerror(saved_errno));
        return -1;
    }
    if (len && password[len - 1] == '\n')
        len -= len > 1 && password[len - 2] == '\r' ? 2 : 1;
    password[len] = 0;
    const char *problem = len == 0                  ? "is empty"
                          : len > S_PASSWORD_MAX    ? "holds more than 255 bytes"
                          : strlen(password) != len ? "holds a NUL byte"
                                                    : NULL;
    if (problem) {
        snprintf(err, errlen, "LODESTONE_REDIS_PASSWORD_FILE: '%s' %s", path, problem);
        return -1;
    }
    return 0;
}

int ls_store_use_password_file(ls_config_t *config, char *err, size_t errlen)
{
    const char *url = config->redis_url;
    const char *colon = s_password_colon(url);
    if (!*config->redis_password_file || (colon && colon[1] != '@'))
        return 0; /* a password in the URL wins */
    if (strncmp(url, "redis://", 8) != 0) {
        snprintf(err, errlen, "LODESTONE_REDIS_URL: '%s' must start with redis://", url);
        return -1;
    }
    char password[S_PASSWORD_MAX + 3];
    if (s_read_password(config->redis_password_file, password, sizeof password, err, errlen))
        return -1;
    const char *user = url + 8, *at = strrchr(user, '@');
    int user_len = at ? (int)((colon ? colon : at) - user) : 0;
    char completed[sizeof config->redis_url];
    int n = snprintf(completed, sizeof completed, "redis://%.*s:%s@%s", user_len, user, password,
                     at ? at + 1 : user);
    if (n < 0 || (size_t)n >= sizeof completed) {
        snprintf(err, errlen,
                 "LODESTONE_REDIS_URL with the password from LODESTONE_REDIS_PASSWORD_FILE "
                 "'%s' is longer than %zu bytes",
                 config->redis_password_file, sizeof completed - 1);
        return -1;
    }
    memcpy(config->redis_url, completed, sizeof completed);
    return 0;
}

void ls_store_destroy(ls_store_t **self_p)
{
    if (self_p && *self_p) {
        s_drop(*self_p);
        free(*self_p);
        *self_p = NULL;
    }
}

static int s_ready(ls_store_t *self)
{
    if (self->ctx && !self->ctx->err)
        return 0;
    if (s_connect_once(self)) {
        LS_WARN("%s", self->error);
        return -1;
    }
    self->reconnects++;
    LS_INFO("reconnected to Redis at %s:%d", self->host, self->port);
    return 0;
}

/* A reply of NULL means the context broke: remember why and drop it. */
static redisReply *s_check(ls_store_t *self, redisReply *reply)
{
    if (!reply) {
        snprintf(self->error, sizeof self->error, "Redis: %s",
                 self->ctx ? self->ctx->errstr : "not connected");
        s_drop(self);
    }
    return reply;
}

redisReply *ls_store_argv(ls_store_t *self, int argc, const char **argv, const size_t *argvlen)
{
    if (s_ready(self))
        return NULL;
    return s_check(self, redisCommandArgv(self->ctx, argc, argv, argvlen));
}

redisReply *ls_store_command(ls_store_t *self, const char *fmt, ...)
{
    if (s_ready(self))
        return NULL;
    va_list args;
    va_start(args, fmt);
    redisReply *reply = redisvCommand(self->ctx, fmt, args);
    va_end(args);
    return s_check(self, reply);
}

static int s_load_script(ls_store_t *self, ls_script_t *script)
{
    redisReply *reply = ls_store_command(self, "SCRIPT LOAD %s", script->source);
    int rc = -1;
    if (reply && reply->type == REDIS_REPLY_STRING && reply->len == 40) {
        memcpy(script->sha, reply->str, 41);
        rc = 0;
    } else if (reply)
        snprintf(self->error, sizeof self->error, "SCRIPT LOAD: %s",
                 reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
    if (reply)
        freeReplyObject(reply);
    return rc;
}

/* Runs EVALSHA with args[3 .. argc + 3) (lens: their lengths) already in place:
 * the first three slots are this function's. Frees neither array. */
static redisReply *s_evalsha(ls_store_t *self, ls_script_t *script, int nkeys, int argc,
                             const char **args, size_t *lens)
{
    if (argc < 0 || nkeys < 0 || nkeys > argc) {
        snprintf(self->error, sizeof self->error, "EVALSHA: %d keys but %d arguments", nkeys, argc);
        return NULL;
    }
    char nkeys_text[16];
    snprintf(nkeys_text, sizeof nkeys_text, "%d", nkeys);
    redisReply *reply = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!*script->sha && s_load_script(self, script))
            break;
        args[0] = "EVALSHA";
        lens[0] = 7;
        args[1] = script->sha;
        lens[1] = 40;
        args[2] = nkeys_text;
        lens[2] = strlen(nkeys_text);
        reply = ls_store_argv(self, argc + 3, args, lens);
        /* After a Redis restart the script cache is empty: load again, once. */
        if (reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0) {
            freeReplyObject(reply);
            reply = NULL;
            script->sha[0] = 0;
            continue;
        }
        break;
    }
    return reply;
}

redisReply *ls_store_eval(ls_store_t *self, ls_script_t *script, int nkeys, int argc,
                          const char **argv, const size_t *argvlen)
{
    /* A change's plan can carry thousands of arguments: size the call to it. A
     * negative argc is refused by s_evalsha. */
    size_t slots = (argc > 0 ? (size_t)argc : 0) + 3;
    const char **args = malloc(slots * sizeof *args);
    size_t *lens = malloc(slots * sizeof *lens);
    redisReply *reply = NULL;
    if (args && lens) {
        for (int i = 0; i < argc; i++) {
            args[i + 3] = argv[i];
            lens[i + 3] = argvlen ? argvlen[i] : strlen(argv[i]);
        }
        reply = s_evalsha(self, script, nkeys, argc, args, lens);
    } else
        snprintf(self->error, sizeof self->error, "EVALSHA: out of memory");
    free(args);
    free(lens);
    return reply;
}

redisReply *ls_store_eval_chunks(ls_store_t *self, ls_script_t *script, int nkeys,
                                 const char *const *fixed, const size_t *fixed_lens, size_t n_fixed,
                                 zlistx_t *chunks)
{
    size_t argc = n_fixed + (chunks ? zlistx_size(chunks) : 0);
    if (argc > INT_MAX - 3) {
        snprintf(self->error, sizeof self->error, "EVALSHA: %zu arguments", argc);
        return NULL;
    }
    const char **args = malloc((argc + 3) * sizeof *args);
    size_t *lens = malloc((argc + 3) * sizeof *lens);
    redisReply *reply = NULL;
    if (args && lens) {
        size_t n = 3;
        for (size_t i = 0; i < n_fixed; i++, n++) {
            args[n] = fixed[i];
            lens[n] = fixed_lens ? fixed_lens[i] : strlen(fixed[i]);
        }
        for (zchunk_t *c = chunks ? zlistx_first(chunks) : NULL; c; c = zlistx_next(chunks), n++) {
            args[n] = (const char *)zchunk_data(c);
            lens[n] = zchunk_size(c);
        }
        reply = s_evalsha(self, script, nkeys, (int)argc, args, lens);
    } else
        snprintf(self->error, sizeof self->error, "EVALSHA: out of memory");
    free(args);
    free(lens);
    return reply;
}

int ls_store_append(ls_store_t *self, int argc, const char **argv, const size_t *argvlen)
{
    if (s_ready(self))
        return -1;
    return redisAppendCommandArgv(self->ctx, argc, argv, argvlen) == REDIS_OK ? 0 : -1;
}

redisReply *ls_store_reply(ls_store_t *self)
{
    if (!self->ctx)
        return NULL;
    void *reply = NULL;
    if (redisGetReply(self->ctx, &reply) != REDIS_OK)
        reply = NULL;
    return s_check(self, reply);
}

const char *ls_store_error(const ls_store_t *self)
{
    return self->error;
}

uint64_t ls_store_reconnects(const ls_store_t *self)
{
    return self->reconnects;
}

int ls_store_get_u64(ls_store_t *self, const char *key, uint64_t *value)
{
    redisReply *reply = ls_store_command(self, "GET %s", key);
    if (!reply)
        return -1;
    int rc = 0;
    *value = 0;
    if (reply->type == REDIS_REPLY_STRING)
        rc = ls_parse_u64(reply->str, reply->len, value);
    else if (reply->type != REDIS_REPLY_NIL)
        rc = -1;
    freeReplyObject(reply);
    return rc;
}
