/* ls_entity.c — kind-independent access to entity fields. */
#include "ls_entity.h"

#include <stdlib.h>
#include <string.h>

#include "ls_keys.h"
#include "ls_util.h"

#define S_POINT(meta, msg)                                                                         \
    do {                                                                                           \
        (meta)->id = &(msg)->id;                                                                   \
        (meta)->owner = &(msg)->owner;                                                             \
        (meta)->ref = &(msg)->ref;                                                                 \
        (meta)->version = &(msg)->version;                                                         \
        (meta)->created_at = &(msg)->created_at;                                                   \
        (meta)->updated_at = &(msg)->updated_at;                                                   \
        (meta)->state = &(msg)->state;                                                             \
        (meta)->contact = &(msg)->contact;                                                         \
    } while (0)

int ls_entity_meta(ls_entity_pb *entity, ls_entity_meta_t *meta)
{
    memset(meta, 0, sizeof *meta);
    switch (entity->body_case) {
    case LODESTONE__V1__ENTITY__BODY_SME:
        if (!entity->sme)
            return -1;
        S_POINT(meta, entity->sme);
        meta->name = entity->sme->name;
        meta->kind = LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME;
        break;
    case LODESTONE__V1__ENTITY__BODY_INVESTOR:
        if (!entity->investor)
            return -1;
        S_POINT(meta, entity->investor);
        meta->name = entity->investor->name;
        meta->kind = LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_INVESTOR;
        break;
    case LODESTONE__V1__ENTITY__BODY_OPPORTUNITY:
        if (!entity->opportunity)
            return -1;
        S_POINT(meta, entity->opportunity);
        meta->name = entity->opportunity->title;
        meta->kind = LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY;
        break;
    default:
        return -1;
    }
    meta->kind_name = ls_entity_kind_name(meta->kind);
    meta->id_prefix = meta->kind == LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME        ? "sme"
                      : meta->kind == LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_INVESTOR ? "inv"
                                                                                       : "opp";
    return 0;
}

int ls_entity_set_string(char **field, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return -1;
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = copy;
    return 0;
}

int ls_change_event_meta(ls_change_event_pb *event)
{
    ls_entity_meta_t meta;
    if (!event->entity || ls_entity_meta(event->entity, &meta))
        return -1;
    if (ls_entity_set_string(meta.id, event->entity_id) ||
        ls_entity_set_string(meta.owner, event->owner))
        return -1;
    *meta.version = event->version;
    *meta.created_at = event->created_at;
    *meta.updated_at = event->at;
    return 0;
}

Lodestone__V1__EntityKind ls_entity_kind_of_id(const char *id)
{
    if (strncmp(id, "sme-", 4) == 0)
        return LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME;
    if (strncmp(id, "inv-", 4) == 0)
        return LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_INVESTOR;
    if (strncmp(id, "opp-", 4) == 0)
        return LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY;
    return LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_UNSPECIFIED;
}

const char *ls_entity_kind_name(Lodestone__V1__EntityKind kind)
{
    switch (kind) {
    case LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME:
        return "sme";
    case LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_INVESTOR:
        return "investor";
    case LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY:
        return "opportunity";
    default:
        return "unknown";
    }
}

static int s_load_contact(ls_store_t *store, const char *id, ls_entity_pb *entity)
{
    char key[160];
    snprintf(key, sizeof key, LS_KEY_CONTACT "%s", id);
    const char *argv[] = {"GET", key};
    redisReply *reply = ls_store_argv(store, 2, argv, NULL);
    if (!reply)
        return -1;
    int rc = 0;
    if (reply->type == REDIS_REPLY_STRING) {
        ls_entity_meta_t meta;
        ls_entity_meta(entity, &meta);
        *meta.contact =
            lodestone__v1__contact__unpack(NULL, reply->len, (const uint8_t *)reply->str);
        rc = *meta.contact ? 0 : -1;
    }
    freeReplyObject(reply);
    return rc;
}

/* Copies the hash fields read by ls_entity_load into the entity's meta fields. */
static int s_overlay(ls_entity_pb *entity, const char *id, redisReply **f)
{
    ls_entity_meta_t meta;
    if (ls_entity_meta(entity, &meta))
        return -1;
    uint64_t version = 0, created = 0, updated = 0, state = 0;
    if (ls_parse_u64(f[2]->str, f[2]->len, &version) ||
        ls_parse_u64(f[3]->str, f[3]->len, &created) ||
        ls_parse_u64(f[4]->str, f[4]->len, &updated) || ls_parse_u64(f[5]->str, f[5]->len, &state))
        return -1;
    if (ls_entity_set_string(meta.id, id) || ls_entity_set_string(meta.owner, f[1]->str))
        return -1;
    *meta.version = version;
    *meta.created_at = (int64_t)created;
    *meta.updated_at = (int64_t)updated;
    *meta.state = (Lodestone__V1__EntityState)state;
    return 0;
}

int ls_entity_from_fields(const char *id, const redisReply *fields, ls_entity_pb **out)
{
    *out = NULL;
    if (fields->type != REDIS_REPLY_ARRAY || fields->elements != 7)
        return -1;
    redisReply **f = fields->element;
    if (f[6]->type == REDIS_REPLY_NIL)
        return 1; /* absent, or an erased entity's tombstone */
    for (int i = 0; i < 7; i++)
        if (f[i]->type != REDIS_REPLY_STRING)
            return -1;
    *out = lodestone__v1__entity__unpack(NULL, f[6]->len, (const uint8_t *)f[6]->str);
    if (*out && s_overlay(*out, id, f) == 0)
        return 0;
    if (*out)
        lodestone__v1__entity__free_unpacked(*out, NULL);
    *out = NULL;
    return -1;
}

int ls_entity_load(ls_store_t *store, const char *id, bool with_contact, ls_entity_pb **out)
{
    *out = NULL;
    char key[160];
    snprintf(key, sizeof key, LS_KEY_ENTITY "%s", id);
    const char *argv[] = {"HMGET", key, LS_ENTITY_FIELDS};
    redisReply *reply = ls_store_argv(store, 9, argv, NULL);
    if (!reply)
        return -1;
    int rc = ls_entity_from_fields(id, reply, out);
    freeReplyObject(reply);
    if (rc == 0 && with_contact)
        rc = s_load_contact(store, id, *out);
    if (rc != 0 && *out) {
        lodestone__v1__entity__free_unpacked(*out, NULL);
        *out = NULL;
    }
    return rc;
}
