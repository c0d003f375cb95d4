/* ls_entity.h — uniform access to what every entity kind has (id, owner, version,
 * times, state, ref, contact, display name), so code that does not care about the
 * kind does not switch on it. */
#ifndef LS_ENTITY_H
#define LS_ENTITY_H

#include <stdbool.h>

#include "ls_proto.h"
#include "ls_store.h"

typedef struct {
    Lodestone__V1__EntityKind kind;
    const char *kind_name; /* "sme", "investor", "opportunity" */
    const char *id_prefix; /* "sme", "inv", "opp" */
    char **id;
    char **owner;
    char **ref;
    uint64_t *version;
    int64_t *created_at;
    int64_t *updated_at;
    Lodestone__V1__EntityState *state;
    ls_contact_pb **contact;
    const char *name; /* name, or title for an opportunity */
} ls_entity_meta_t;

/* Points meta at entity's fields. Returns -1 when no body is set. */
int ls_entity_meta(ls_entity_pb *entity, ls_entity_meta_t *meta);

/* Replaces a string field of an unpacked message with a heap copy of value
 * (freeing the old one), so protobuf_c_message_free_unpacked stays correct.
 * Returns -1 when out of memory. */
int ls_entity_set_string(char **field, const char *value);

/* The kind an id names by its prefix ("sme-12"), or UNSPECIFIED. */
Lodestone__V1__EntityKind ls_entity_kind_of_id(const char *id);
const char *ls_entity_kind_name(Lodestone__V1__EntityKind kind);

/* Copies a change event's meta fields (entity_id, owner, version, created_at, at)
 * into its entity's meta fields. Returns -1 when the event has no entity or out of
 * memory. */
int ls_change_event_meta(ls_change_event_pb *event);

/* The fields of the entity hash ls:entity:<id> (see ls_keys.h). */
#define LS_ENTITY_FIELDS "kind", "owner", "version", "created", "updated", "state", "d"

/* Builds an entity from the reply to HMGET ls:entity:<id> LS_ENTITY_FIELDS. Returns
 * 0 with *out set (the caller frees it), 1 when there is no such entity or only its
 * tombstone, -1 when the record is corrupt. */
int ls_entity_from_fields(const char *id, const redisReply *fields, ls_entity_pb **out);

/* Reads entity id from Redis: the stored body with its meta fields filled in, and
 * its contact when with_contact. Returns 0 with *out set (the caller frees it with
 * lodestone__v1__entity__free_unpacked (out, NULL)), 1 when there is no such
 * entity, -1 on a store failure or a corrupt record. */
int ls_entity_load(ls_store_t *store, const char *id, bool with_contact, ls_entity_pb **out);

#endif
