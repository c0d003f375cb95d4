/* pipeline.h — the whole pipeline for integration tests: a private redis-server
 * and the real service binaries (named by LS_TEST_REGISTRY, LS_TEST_MATCHING and
 * LS_TEST_NOTIFICATION) on free loopback ports, and helpers to put entities and
 * wait for their matches and notifications. One pipeline per test process. */
#ifndef LS_TEST_PIPELINE_H
#define LS_TEST_PIPELINE_H

#include <czmq.h>
#include <stdbool.h>

#include "harness.h"
#include "ls_client.h"
#include "ls_store.h"

enum { LS_PIPE_REGISTRY, LS_PIPE_MATCHING, LS_PIPE_NOTIFICATION, LS_PIPE_SERVICES };

typedef struct {
    ls_test_proc_t *redis;
    ls_test_proc_t *procs[LS_PIPE_SERVICES];
    char redis_url[128];               /* the admin user's (tests' own connections) */
    char *redis_dir;                   /* its AOF and its users' password files */
    ls_test_env_t env;                 /* the services' environment (Redis: per service) */
    char router[LS_PIPE_SERVICES][64]; /* tcp://127.0.0.1:PORT of each ROUTER */
    char feed[64];                     /* notification PUB */
    ls_store_t *store;                 /* the tests' own connection */
    bool teardown_failed;              /* a service did not exit 0 on SIGTERM */
} ls_pipe_t;

extern ls_pipe_t ls_pipe;

/* cmocka group setup: Redis and the three services with the default test
 * environment; ls_pipe_setup_with adds variables (name, value, ..., NULL). */
int ls_pipe_setup(void **state);
int ls_pipe_setup_with(const char *const *extra);
/* cmocka group teardown: stops everything; fails when a service did not exit 0. */
int ls_pipe_teardown(void **state);

/* Runs lodestonectl (LS_TEST_CTL) with args and the services' environment; its
 * stdout and stderr go into out. Returns its exit status. */
int ls_pipe_ctl(const char *args, char *out, size_t len);

/* Stops Redis (SIGTERM) and starts it again on the same port over its AOF. */
int ls_pipe_restart_redis(void);

/* Starts one service (again), connected to Redis as its own ACL user, and waits
 * until it answers a ping. */
int ls_pipe_start(int service);
int ls_pipe_ready(int service);
ls_client_t *ls_pipe_client(int service);
/* Starts a second notification beside the one in procs (as a replacement started
 * before the old process is gone runs): the same environment and Redis, its own
 * request, pull, feed and HTTP sockets, its log under name. Waits until it answers a
 * ping; NULL, with its log on stderr, when it does not. Stop it with ls_test_stop. */
ls_test_proc_t *ls_pipe_start_notification_beside(const char *name);

/* An SME or an opportunity (a supply need) with one material and stage, for a test
 * to change further and put. It points into itself: build it where it stays. */
typedef struct {
    ls_entity_pb entity;
    ls_sme_pb sme;
    ls_opportunity_pb opportunity;
    char *materials[1], *stages[1];
} ls_pipe_entity_t;

void ls_pipe_sme(ls_pipe_entity_t *e, const char *ref, const char *region, const char *material,
                 const char *stage, unsigned trl);
void ls_pipe_opportunity(ls_pipe_entity_t *e, const char *ref, const char *region,
                         const char *material, const char *stage);

/* Puts entity to the registry; the caller frees the reply. ls_pipe_put_sme and
 * ls_pipe_put_opportunity put one as built above; ls_pipe_put_id checks a reply and
 * returns the new id (the caller frees it). */
ls_reply_pb *ls_pipe_put(ls_entity_pb *entity);
ls_reply_pb *ls_pipe_put_sme(const char *ref, const char *region, const char *material,
                             const char *stage, unsigned trl);
ls_reply_pb *ls_pipe_put_opportunity(const char *ref, const char *region, const char *material,
                                     const char *stage);
char *ls_pipe_put_id(ls_reply_pb *reply);

/* Polls matching until id lists candidate (10 s at most); the caller frees it. */
ls_reply_pb *ls_pipe_await_match(const char *id, const char *candidate);
const ls_match_pb *ls_pipe_find(const ls_reply_pb *reply, const char *candidate);
/* Waits (15 s at most) until matching has applied every change and notification
 * every match event and change, as Redis says: fails the test when it cannot read
 * how far they are. */
void ls_pipe_await_caught_up(void);
/* The match journal's entry seq, unpacked; fails the test when there is none. The
 * caller frees it. */
ls_match_event_pb *ls_pipe_match_event(uint64_t seq);
/* A SUB to notification's feed for topics starting with prefix, connected: it has
 * completed the handshake (10 s at most; fails the test otherwise), so what is
 * published from then on reaches it. The caller destroys it. */
zsock_t *ls_pipe_subscribe(const char *prefix);
/* Waits for a notification to recipient on the feed (10 s); the caller frees it. */
ls_notification_pb *ls_pipe_await_notification(zsock_t *sub, const char *recipient);

#endif
