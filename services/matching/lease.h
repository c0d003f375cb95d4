/* lease.h — how a matching instance comes to own a partition: a lease in Redis
 * (ls:lease:matching:<i>, holding this process' token, with an expiry) claimed at
 * start, renewed by a thread of its own so that a long re-match on the service's
 * thread cannot let it lapse, and released on a clean stop. A layout key
 * (ls:matching:layout) keeps instances configured with different numbers of
 * partitions from running together. The writes of the partition are fenced by the
 * engine's scripts, which check the lease's token in the same atomic step
 * (engine.h); this module only claims, keeps and gives back. */
#ifndef MATCHING_LEASE_H
#define MATCHING_LEASE_H

#include <stdbool.h>
#include <stddef.h>

#include "ls_config.h"

typedef struct _lease_t lease_t;

#define LEASE_STANDBY -1 /* every partition is held by a live instance */
#define LEASE_LAYOUT -2  /* instances with another number of partitions are alive */
#define LEASE_FAILED -3  /* the store did not answer */

/* A lease keeper for this process, with its own Redis connection (the renewal
 * thread uses it). Its token is LODESTONE_INSTANCE, else "host name:process id".
 * NULL with a message in err when Redis cannot be reached. */
lease_t *lease_new(const ls_config_t *config, char *err, size_t errlen);
/* Stops the renewal, gives the lease back when this process still holds it
 * (lease_release), frees; NULLs *self_p. */
void lease_destroy(lease_t **self_p);

/* One attempt to claim a partition: LODESTONE_MATCHING_PARTITION_INDEX, or with
 * auto one this token holds already, else the lowest free one. Returns the
 * partition, or LEASE_STANDBY, LEASE_LAYOUT (err names both numbers of
 * partitions) or LEASE_FAILED. Only before lease_keep: the renewal thread then owns
 * the lease's Redis connection. */
int lease_claim(lease_t *self, char *err, size_t errlen);

/* Starts renewing the claimed lease every lease_ms / 3 on a thread of its own.
 * Returns -1 when the thread cannot be started. */
int lease_keep(lease_t *self);

/* True once the lease is lost: another token holds it, or it could not be renewed
 * before it expired (it may be another's by now). why says which. Safe to call
 * from the service's thread while the renewal thread runs. */
bool lease_lost(lease_t *self, const char **why);

/* Stops the renewal and deletes the lease if it still holds this token, so that a
 * standby takes the partition at once. Call after the last write; the key and token
 * stay readable. */
void lease_release(lease_t *self);

/* The lease key held ("" before a claim) and this process' token; the engine's
 * fence checks them (engine_bind). Valid while self is. */
const char *lease_key(const lease_t *self);
const char *lease_token(const lease_t *self);

#endif
