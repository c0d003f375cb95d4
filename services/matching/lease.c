/* lease.c — the partition lease of a matching instance: the claim (one Lua step
 * that also guards the layout), the renewal thread and the release. The
 * docs/design-notes.md section "Matching replicas claim partitions" says why. The
 * scripts use GET, SET, DEL and SREM only, on ls:matching:layout, ls:lease:matching:*
 * and ls:journal-readers:changes: what matching's Redis user must be allowed. */
#include "lease.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ls_journal.h"
#include "ls_keys.h"
#include "ls_log.h"
#include "ls_store.h"
#include "ls_util.h"

enum { S_HELD_NOT, S_HELD, S_TAKEN, S_EXPIRED, S_RELEASED };

struct _lease_t {
    ls_store_t *store; /* the renewal thread's while it runs, else the owner's */
    char token[LS_CONFIG_STR];
    char key[64]; /* the lease held; "" before a claim */
    long partitions, wanted, lease_ms;
    _Atomic int state;
    _Atomic int64_t valid_until; /* monotonic ms: the lease lives at least until then */
    pthread_t thread;
    bool running;
    pthread_mutex_t mutex; /* guards stop, with wake */
    pthread_cond_t wake;
    bool stop;
};

/* KEYS[1]: the layout key. ARGV: [1] N, [2] token, [3] lease ms, [4] the partition
 * wanted (-1: any), [5] the lease key prefix, [6] the change journal's readers set,
 * [7] the matching checkpoint prefix. Returns {0, i} when partition i is now held,
 * {1, 0} when none is free, {2, M} while a lease of instances started with M
 * partitions lives. A token that holds a lease already gets it back: a restarted
 * container has the same host name and process id. */
static ls_script_t s_claim_script = LS_SCRIPT(
    "local n = tonumber(ARGV[1])\n"
    "local layout = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "if layout ~= n then\n"
    "  for i = 0, layout - 1 do\n"
    "    if redis.call('GET', ARGV[5] .. i) then return {2, layout} end\n"
    "  end\n"
    /* The old layout's instances are all gone: their checkpoints are retired and no
     * longer hold back the journal's trimming. */
    "  for i = 0, layout - 1 do\n"
    "    redis.call('SREM', ARGV[6], ARGV[7] .. i .. '-of-' .. layout)\n"
    "  end\n"
    "  redis.call('SET', KEYS[1], ARGV[1])\n"
    "end\n"
    "local first, last = 0, n - 1\n"
    "if tonumber(ARGV[4]) >= 0 then first = tonumber(ARGV[4]); last = first end\n"
    "for i = first, last do\n"
    "  if redis.call('GET', ARGV[5] .. i) == ARGV[2] then\n"
    "    redis.call('SET', ARGV[5] .. i, ARGV[2], 'PX', ARGV[3])\n"
    "    return {0, i}\n"
    "  end\n"
    "end\n"
    "for i = first, last do\n"
    "  if redis.call('SET', ARGV[5] .. i, ARGV[2], 'NX', 'PX', ARGV[3]) then return {0, i} end\n"
    "end\n"
    "return {1, 0}\n");

/* KEYS[1]: the lease. ARGV: token, lease ms. 1 when renewed, 0 when another token
 * holds it, 2 when it expired (no one holds it). */
static ls_script_t s_renew_script =
    LS_SCRIPT("local holder = redis.call('GET', KEYS[1])\n"
              "if holder == ARGV[1] then\n"
              "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
              "  return 1\n"
              "end\n"
              "if holder then return 0 end\n"
              "return 2\n");

/* KEYS[1]: the lease. ARGV: token. Deletes it only when this token holds it. */
static ls_script_t s_release_script = LS_SCRIPT(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n");

lease_t *lease_new(const ls_config_t *config, char *err, size_t errlen)
{
    lease_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->store = ls_store_new(config->redis_url, -1, err, errlen);
    if (!self->store) {
        free(self);
        return NULL;
    }
    if (*config->instance)
        snprintf(self->token, sizeof self->token, "%s", config->instance);
    else {
        char host[200] = "";
        gethostname(host, sizeof host - 1);
        snprintf(self->token, sizeof self->token, "%s:%d", host, (int)getpid());
    }
    self->partitions = config->matching_partitions;
    self->wanted = config->matching_partition;
    self->lease_ms = config->matching_lease_ms;
    pthread_mutex_init(&self->mutex, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* waits do not jump with the clock */
    pthread_cond_init(&self->wake, &attr);
    pthread_condattr_destroy(&attr);
    return self;
}

/* Gives the lease back when this token still holds it, so that a standby takes the
 * partition at once instead of after the lease's expiry. */
static void s_release(lease_t *self)
{
    int state = atomic_load(&self->state);
    if (!*self->key || (state != S_HELD && state != S_EXPIRED))
        return; /* none, another's, or given back already */
    const char *argv[] = {self->key, self->token};
    redisReply *r = ls_store_eval(self->store, &s_release_script, 1, 2, argv, NULL);
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 1)
        LS_INFO("lease %s released", self->key);
    atomic_store(&self->state, S_RELEASED);
    if (r)
        freeReplyObject(r);
}

static void s_stop(lease_t *self)
{
    if (!self->running)
        return;
    pthread_mutex_lock(&self->mutex);
    self->stop = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->mutex);
    pthread_join(self->thread, NULL);
    self->running = false;
}

void lease_release(lease_t *self)
{
    s_stop(self);
    s_release(self);
}

void lease_destroy(lease_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lease_t *self = *self_p;
    lease_release(self);
    ls_store_destroy(&self->store);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->mutex);
    free(self);
    *self_p = NULL;
}

/* Reads the claim script's {code, value} answer; LEASE_FAILED when it is not one. */
static int s_claim_answer(lease_t *self, redisReply *r, char *err, size_t errlen)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER) {
        snprintf(err, errlen, "claiming a matching partition failed: %s",
                 r && r->type == REDIS_REPLY_ERROR ? r->str : ls_store_error(self->store));
        return LEASE_FAILED;
    }
    long long code = r->element[0]->integer, value = r->element[1]->integer;
    if (code == 2) {
        snprintf(err, errlen,
                 "this instance has LODESTONE_MATCHING_PARTITIONS=%ld, but matching instances "
                 "started with LODESTONE_MATCHING_PARTITIONS=%lld hold leases in Redis: stop every "
                 "matching instance before changing the number of partitions, then start them all "
                 "with the new number",
                 self->partitions, value);
        return LEASE_LAYOUT;
    }
    return code == 0 ? (int)value : LEASE_STANDBY;
}

int lease_claim(lease_t *self, char *err, size_t errlen)
{
    if (self->running) {
        snprintf(err, errlen, "a partition is held and renewed already");
        return LEASE_FAILED;
    }
    char n[24], ms[24], wanted[24];
    snprintf(n, sizeof n, "%ld", self->partitions);
    snprintf(ms, sizeof ms, "%ld", self->lease_ms);
    snprintf(wanted, sizeof wanted, "%ld", self->wanted);
    const char *argv[] = {LS_KEY_MATCHING_LAYOUT,
                          n,
                          self->token,
                          ms,
                          wanted,
                          LS_KEY_LEASE_MATCHING,
                          LS_JOURNAL_CHANGES.readers,
                          LS_KEY_CHECKPOINT "matching:"};
    int64_t sent = ls_mono_ms();
    redisReply *r = ls_store_eval(self->store, &s_claim_script, 1, 8, argv, NULL);
    int rc = s_claim_answer(self, r, err, errlen);
    if (r)
        freeReplyObject(r);
    if (rc >= 0) {
        snprintf(self->key, sizeof self->key, LS_KEY_LEASE_MATCHING "%d", rc);
        /* Redis counts the expiry from when it ran the script, after `sent`. */
        atomic_store(&self->valid_until, sent + self->lease_ms);
        atomic_store(&self->state, S_HELD);
    }
    return rc;
}

/* One renewal: 1 renewed, 0 another token's, 2 expired, -1 no answer. */
static int s_renew(lease_t *self)
{
    char ms[24];
    snprintf(ms, sizeof ms, "%ld", self->lease_ms);
    const char *argv[] = {self->key, self->token, ms};
    int64_t sent = ls_mono_ms();
    redisReply *r = ls_store_eval(self->store, &s_renew_script, 1, 3, argv, NULL);
    int rc = r && r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;
    if (rc < 0)
        LS_WARN("renewing lease %s failed: %s", self->key,
                r && r->type == REDIS_REPLY_ERROR ? r->str : ls_store_error(self->store));
    if (r)
        freeReplyObject(r);
    if (rc == 1)
        atomic_store(&self->valid_until, sent + self->lease_ms);
    return rc;
}

/* Waits ms or until stopped; true when stopped. Called with the mutex held. */
static bool s_wait(lease_t *self, long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!self->stop && pthread_cond_timedwait(&self->wake, &self->mutex, &until) == 0)
        ;
    return self->stop;
}

/* The renewal thread: every lease_ms / 3 (sooner after a failure) until stopped,
 * or until the lease is found lost, which the service's thread reads in
 * lease_lost. It shares nothing with that thread but the atomics. */
static void *s_renew_run(void *arg)
{
    lease_t *self = arg;
    long period = self->lease_ms / 3, delay = period;
    pthread_mutex_lock(&self->mutex);
    while (!s_wait(self, delay)) {
        pthread_mutex_unlock(&self->mutex);
        int rc = s_renew(self);
        pthread_mutex_lock(&self->mutex);
        if (rc == 0)
            atomic_store(&self->state, S_TAKEN);
        else if (rc == 2 || (rc < 0 && ls_mono_ms() >= atomic_load(&self->valid_until)))
            atomic_store(&self->state, S_EXPIRED);
        if (atomic_load(&self->state) != S_HELD)
            break;
        delay = rc == 1 ? period : 100;
    }
    pthread_mutex_unlock(&self->mutex);
    return NULL;
}

int lease_keep(lease_t *self)
{
    if (self->running || !*self->key)
        return -1;
    self->running = pthread_create(&self->thread, NULL, s_renew_run, self) == 0;
    return self->running ? 0 : -1;
}

bool lease_lost(lease_t *self, const char **why)
{
    int state = atomic_load(&self->state);
    /* The thread may hang in a Redis call: the deadline counts without it. */
    if (state == S_HELD && ls_mono_ms() >= atomic_load(&self->valid_until))
        state = S_EXPIRED;
    if (why)
        *why = state == S_TAKEN ? "another instance holds it now"
                                : "it could not be renewed before it expired";
    return state == S_TAKEN || state == S_EXPIRED;
}

const char *lease_key(const lease_t *self)
{
    return self->key;
}

const char *lease_token(const lease_t *self)
{
    return self->token;
}
