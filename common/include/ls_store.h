/* ls_store.h — the one Redis wrapper. Connects with retry and back-off, drops and
 * re-opens the hiredis context after any I/O error (hiredis 0.14 contexts are
 * unusable after one), and runs Lua scripts by SHA with a reload on NOSCRIPT.
 * Arguments always travel as separate binary-safe bulk strings. */
#ifndef LS_STORE_H
#define LS_STORE_H

#include <czmq.h>
#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "ls_config.h"

typedef struct _ls_store_t ls_store_t;

/* A Lua script; sha is filled in on first use. Declare as static. */
typedef struct {
    const char *source;
    char sha[41];
} ls_script_t;

#define LS_SCRIPT(src)                                                                             \
    {                                                                                              \
        (src),                                                                                     \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/* Parses redis://[[user][:password]@]host[:port][/db] and connects, retrying with
 * back-off (100 ms doubling to 2 s) for up to wait_ms (-1: until interrupted).
 * Returns NULL and a message in err when the URL is bad, the time runs out, or
 * Redis refuses the credentials or the database (at once: retrying cannot help). */
ls_store_t *ls_store_new(const char *url, long wait_ms, char *err, size_t errlen);
/* Completes config->redis_url with the password in config->redis_password_file
 * (LODESTONE_REDIS_PASSWORD_FILE, a mounted secret) when that names a file and the
 * URL names no password: redis://user@host becomes redis://user:PASSWORD@host, and
 * redis://host becomes redis://:PASSWORD@host. Call it once at start, right after
 * ls_config_load: the file is read then, and a store keeps the password for its
 * reconnects. One trailing newline is dropped. Returns 0, or -1 with a message in
 * err naming the variable and the file (unreadable, empty, over 255 bytes). */
int ls_store_use_password_file(ls_config_t *config, char *err, size_t errlen);
void ls_store_destroy(ls_store_t **self_p);

/* Runs one command given as argv. Returns the reply (the caller frees it with
 * freeReplyObject; error replies are returned too) or NULL on a connection
 * failure, after which the next call reconnects. */
redisReply *ls_store_argv(ls_store_t *self, int argc, const char **argv, const size_t *argvlen);
/* Same, hiredis format string: use %s and %b only for arguments, each becomes its
 * own bulk string. */
redisReply *ls_store_command(ls_store_t *self, const char *fmt, ...);
/* Runs a script with nkeys keys followed by the other arguments in argv. */
redisReply *ls_store_eval(ls_store_t *self, ls_script_t *script, int nkeys, int argc,
                          const char **argv, const size_t *argvlen);
/* The same for a script whose arguments are built up in a list: the n_fixed
 * arguments in fixed (fixed_lens NULL: they are strings), then the data of every
 * zchunk_t in chunks (NULL: none), in order; nkeys counts from the first fixed one.
 * Nothing is copied: chunks stays the caller's. */
redisReply *ls_store_eval_chunks(ls_store_t *self, ls_script_t *script, int nkeys,
                                 const char *const *fixed, const size_t *fixed_lens, size_t n_fixed,
                                 zlistx_t *chunks);

/* Pipelining: append commands, then read their replies in order. */
int ls_store_append(ls_store_t *self, int argc, const char **argv, const size_t *argvlen);
redisReply *ls_store_reply(ls_store_t *self);

/* The last connection or protocol error, for logs. */
const char *ls_store_error(const ls_store_t *self);
/* How many times the connection was re-opened after an error (metrics). */
uint64_t ls_store_reconnects(const ls_store_t *self);

/* Reads an integer key (GET); 0 when absent. Returns -1 on failure. */
int ls_store_get_u64(ls_store_t *self, const char *key, uint64_t *value);

#endif
