/* harness.h — what the tests need to run real processes: free loopback ports, a
 * private redis-server, the service binaries. Every process started here gets
 * SIGKILL when the test process dies (PR_SET_PDEATHSIG), so a failing or crashing
 * test leaves nothing running; ls_test_stop is the orderly way. */
#ifndef LS_TEST_HARNESS_H
#define LS_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

#include "ls_proto.h"
#include "ls_store.h"
#include "ls_taxonomy.h"

typedef struct _ls_test_proc_t ls_test_proc_t;

/* A TCP port on 127.0.0.1 that nothing listens on right now. */
int ls_test_free_port(void);

/* Starts redis-server on a free port, without persistence unless dir is given
 * (then AOF on in dir), with the project's ACL: deploy/make-redis-secrets makes the
 * users' password files and users.acl in dir, or, without dir, in a directory of
 * the port's own (removed at exit). Fills url with the admin user's
 * "redis://admin:PASSWORD@127.0.0.1:PORT" (the tests' own connections). NULL on
 * failure. */
ls_test_proc_t *ls_test_redis_start(const char *dir, char *url, size_t urllen);
/* The same on a given port (to restart one: stop it, then start it again; the
 * passwords stay). */
ls_test_proc_t *ls_test_redis_start_at(const char *dir, int port, char *url, size_t urllen);
/* Writes into path the password file of Redis user (registry, matching,
 * notification, admin, health) of the redis-server started with url. */
void ls_test_redis_password_file(const char *url, const char *user, char *path, size_t len);
/* A connection to the redis-server at url (the admin user's), emptied first
 * (FLUSHALL): a test's fresh start. Fails the test when either does not work. The
 * caller destroys it. */
ls_store_t *ls_test_store_flushed(const char *url);

/* Starts path with the current environment plus env ("K=V" strings, NULL-ended);
 * output goes to <tmp>/<name>.log. When LS_TEST_VALGRIND names valgrind, the
 * process runs under it and exits 99 on any memory error or leak. NULL on failure. */
ls_test_proc_t *ls_test_spawn(const char *name, const char *path, const char *const *env);

/* SIGTERM, then SIGKILL after 30 s; reaps; frees; NULLs *p. Returns the exit status
 * as from waitpid. */
int ls_test_stop(ls_test_proc_t **p);
/* SIGKILL and reap; frees; NULLs *p. */
void ls_test_kill(ls_test_proc_t **p);
pid_t ls_test_pid(const ls_test_proc_t *p);
/* True while the process has not exited. */
int ls_test_alive(ls_test_proc_t *p);
/* Prints the tail of the process log to stderr (for failures). */
void ls_test_dump_log(const ls_test_proc_t *p);
/* What the process wrote to its log so far (stdout and stderr), NUL-ended; the
 * caller frees it. NULL when there is no log. */
char *ls_test_log_text(const ls_test_proc_t *p);

/* Environment for a service under test: "K=V" strings, NULL-ended in env. */
typedef struct {
    char text[48][200];
    const char *env[49];
    int count;
} ls_test_env_t;

void ls_test_env_set(ls_test_env_t *env, const char *name, const char *value);
/* Copies from into to (to's pointers then point into to's own text). */
void ls_test_env_copy(ls_test_env_t *to, const ls_test_env_t *from);
/* Has service (registry, matching, notification) use the redis-server started with
 * url as its own ACL user: sets LODESTONE_REDIS_URL to
 * "redis://SERVICE@127.0.0.1:PORT/0" and LODESTONE_REDIS_PASSWORD_FILE. */
void ls_test_env_redis(ls_test_env_t *env, const char *url, const char *service);
/* Sets LODESTONE_<stem>_BIND and _ENDPOINT to one free loopback port; copies the
 * address ("tcp://127.0.0.1:PORT") into address. */
void ls_test_env_socket(ls_test_env_t *env, const char *stem, char *address, size_t len);
/* Waits up to 10 s until the ROUTER at endpoint answers a ping. 0 when it did. */
int ls_test_await_ping(const char *endpoint);

/* Runs a shell command; what it prints (as the command redirects it) goes into out,
 * NUL-ended, cut at len - 1. Returns its exit status, -1 when it did not exit. */
int ls_test_run(const char *command, char *out, size_t len);

/* A string of size 'x' characters; the caller frees it. */
char *ls_test_long_text(size_t size);
/* Builds an entity from JSON text, first making the body's field key big when key
 * is given ("key[0]": a list of one string of size bytes; an array field: size
 * distinct items; any other: a string of size bytes). Fails the test when the text
 * does not convert. The caller frees the entity. */
ls_entity_pb *ls_test_entity(const char *text, const char *key, size_t size);

/* The project's reference taxonomy (LS_TEST_DATA_DIR); NULL, with the reason on
 * stderr, when it does not load. The caller destroys it. */
ls_taxonomy_t *ls_test_taxonomy(void);

/* A fresh temporary directory; the caller frees the string. */
char *ls_test_tmpdir(const char *prefix);

#endif
