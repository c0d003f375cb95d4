/* store.h — the registry's write path: each command is one Lua step in Redis that
 * resolves the entity (id or the publisher's ref), checks ownership, the expected
 * version and the idempotency record of the request, allocates an id for a new
 * entity, writes the entity hash, its contact, its index entries and the change
 * journal entry, and records the result under the request id for 24 h. One round
 * trip per command: the benchmark drives this same path directly to measure what
 * the service can approach. */
#ifndef REGISTRY_STORE_H
#define REGISTRY_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "ls_proto.h"
#include "ls_store.h"
#include "ls_taxonomy.h"

/* Who writes, and on which terms. */
typedef struct {
    const char *publisher;     /* the owner of new entities; must own changed ones */
    bool admin;                /* may change any entity */
    const char *request_id;    /* "" = no idempotency record */
    uint64_t expected_version; /* 0 = any */
} registry_write_t;

/* What a write did. message is set when code is not OK. */
typedef struct {
    Lodestone__V1__Status__Code code;
    char message[256];
    uint64_t current_version; /* CONFLICT: the version now */
    char id[80];
    uint64_t version;
    uint64_t seq; /* change journal seq; 0 when nothing changed */
    bool created;
    bool unchanged;
    bool replayed;  /* the answer recorded for this request id earlier */
    uint8_t *event; /* the packed ChangeEvent as journaled (free()); NULL if none */
    size_t event_len;
} registry_result_t;

/* Writes a validated entity (create or full update). The entity's meta fields
 * (id, owner, version, times, state) are ignored except id; it is left as given. */
int registry_store_put(ls_store_t *store, const ls_taxonomy_t *taxonomy, ls_entity_pb *entity,
                       const registry_write_t *write, registry_result_t *result);
/* Marks id withdrawn: it stays readable, leaves matching. */
int registry_store_withdraw(ls_store_t *store, const char *id, const registry_write_t *write,
                            registry_result_t *result);
/* Erases id: contact deleted, entity tombstoned, out of every index. */
int registry_store_erase(ls_store_t *store, const char *id, const registry_write_t *write,
                         registry_result_t *result);
/* These return 0 when the command ran (result->code says how it ended) and -1 when
 * the store failed (result->code UNAVAILABLE or INTERNAL, message set). */

void registry_result_free(registry_result_t *result);

#endif
