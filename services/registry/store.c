/* store.c — the registry's write path: one Lua step per command (see store.h).
 *
 * The entity hash (ls_keys.h) holds meta fields apart from "d", the packed body with
 * meta and contact cleared, plus "name" (lower-cased) and "nace" (comma-separated)
 * for list filters. Index entries are sorted sets scored by the entity's ordinal
 * (creation order), so a list page is a range read from a cursor. The change event
 * is packed here without its meta fields; the script appends them (entity_id,
 * version, at, owner, created_at) in protobuf wire format, where a field given
 * again overrides the earlier one. */
#include "store.h"

#include <ctype.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "ls_codec.h"
#include "ls_entity.h"
#include "ls_journal.h"
#include "ls_keys.h"
#include "ls_util.h"

#define S_MAX_INDEX_KEYS 256
#define S_IDEM_TTL "86400"

/* Shared by the three scripts: wire encoding, the result record, idempotency. */
#define S_LUA_COMMON                                                                               \
    LS_JOURNAL_LUA                                                                                 \
    "local function varint(n)\n"                                                                   \
    "  local out = {}\n"                                                                           \
    "  repeat\n"                                                                                   \
    "    local b = n % 128\n"                                                                      \
    "    n = (n - b) / 128\n"                                                                      \
    "    if n > 0 then b = b + 128 end\n"                                                          \
    "    out[#out + 1] = string.char(b)\n"                                                         \
    "  until n == 0\n"                                                                             \
    "  return table.concat(out)\n"                                                                 \
    "end\n"                                                                                        \
    "local function meta(id, version, at, owner, created)\n"                                       \
    "  return string.char(0x12) .. varint(#id) .. id .. string.char(0x20) .. varint(version)\n"    \
    "    .. string.char(0x28) .. varint(at) .. string.char(0x3a) .. varint(#owner) .. owner\n"     \
    "    .. string.char(0x40) .. varint(created)\n"                                                \
    "end\n"                                                                                        \
    "local idem = ''\n"                                                                            \
    "if ARGV[3] ~= '' then idem = 'ls:idem:' .. ARGV[1] .. ':' .. ARGV[3] end\n"                   \
    "local function finish(code, id, version, seq, flags, current, message, event)\n"              \
    "  local record = table.concat({code, id, version, seq, flags, current, message}, '\\n')\n"    \
    "  if idem ~= '' then redis.call('SET', idem, record, 'EX', " S_IDEM_TTL ") end\n"             \
    "  return {record, event or ''}\n"                                                             \
    "end\n"                                                                                        \
    "if idem ~= '' then\n"                                                                         \
    "  local prior = redis.call('GET', idem)\n"                                                    \
    "  if prior then return {prior, '', 'replay'} end\n"                                           \
    "end\n" /* Checks shared by every change to an existing entity; returns an error or nil. */    \
    "local function refuse(cur, id, expected)\n"                                                   \
    "  if not cur[3] then return finish('NOT_FOUND', id, 0, 0, '', 0, 'no entity ' .. id) end\n"   \
    "  if cur[5] == '2' then\n"                                                                    \
    "    return finish('NOT_FOUND', id, cur[3], 0, '', cur[3], id .. ' was erased')\n"             \
    "  end\n"                                                                                      \
    "  if cur[2] ~= ARGV[1] and ARGV[2] ~= '1' then\n"                                             \
    "    return finish('FORBIDDEN', id, cur[3], 0, '', cur[3],\n"                                  \
    "      id .. ' belongs to another publisher')\n"                                               \
    "  end\n"                                                                                      \
    "  if expected ~= '0' and expected ~= cur[3] then\n"                                           \
    "    return finish('CONFLICT', id, cur[3], 0, '', cur[3],\n"                                   \
    "      'expected version ' .. expected .. ', current version is ' .. cur[3])\n"                \
    "  end\n"                                                                                      \
    "  return nil\n"                                                                               \
    "end\n"                                                                                        \
    "local function unindex(key, idx, id)\n"                                                       \
    "  for _, k in ipairs(redis.call('SMEMBERS', idx)) do redis.call('ZREM', k, id) end\n"         \
    "  redis.call('DEL', idx)\n"                                                                   \
    "end\n"

/* ARGV: publisher, admin, request id, expected version, kind, id prefix, id, ref,
 * now, body, contact, event, name, nace, then the index keys. KEYS: journal
 * stream, journal counter. */
static ls_script_t s_put = LS_SCRIPT(
    S_LUA_COMMON
    "local id, now = ARGV[7], tonumber(ARGV[9])\n"
    "local refkey = ''\n"
    "if ARGV[8] ~= '' then refkey = 'ls:ref:' .. ARGV[1] .. ':' .. ARGV[8] end\n"
    "if id == '' and refkey ~= '' then id = redis.call('GET', refkey) or '' end\n"
    "local cur = {}\n"
    "if id ~= '' then\n"
    "  cur = redis.call('HMGET', 'ls:entity:' .. id, 'kind', 'owner', 'version', 'created',\n"
    "    'state', 'd', 'ord')\n"
    "  local err = refuse(cur, id, ARGV[4])\n"
    "  if err then return err end\n"
    "  if cur[1] ~= ARGV[5] then\n"
    "    return finish('INVALID', id, cur[3], 0, '', cur[3], id .. ' is another kind of entity')\n"
    "  end\n"
    "  local contact = redis.call('GET', 'ls:contact:' .. id) or ''\n"
    "  if cur[6] == ARGV[10] and contact == ARGV[11] and cur[5] == '0' then\n"
    "    return finish('OK', id, cur[3], 0, 'u', cur[3], '')\n"
    "  end\n"
    "elseif ARGV[4] ~= '0' then\n"
    "  return finish('CONFLICT', '', 0, 0, '', 0,\n"
    "    'expected version ' .. ARGV[4] .. ', but the entity does not exist yet')\n"
    "end\n"
    "local created, version, ord = now, 1, 0\n"
    "if id == '' then\n"
    "  id = ARGV[6] .. '-' .. redis.call('INCR', 'ls:next:' .. ARGV[6])\n"
    "  ord = redis.call('INCR', 'ls:next:ordinal')\n"
    "  if refkey ~= '' then redis.call('SET', refkey, id) end\n"
    "else\n"
    "  created, version, ord = tonumber(cur[4]), tonumber(cur[3]) + 1, tonumber(cur[7])\n"
    "end\n"
    "local key, idx = 'ls:entity:' .. id, 'ls:entity:' .. id .. ':indexes'\n"
    "redis.call('HSET', key, 'kind', ARGV[5], 'owner', ARGV[1], 'version', version,\n"
    "  'created', created, 'updated', now, 'state', 0, 'ref', ARGV[8], 'ord', ord,\n"
    "  'd', ARGV[10], 'name', ARGV[13], 'nace', ARGV[14])\n"
    "if ARGV[11] == '' then redis.call('DEL', 'ls:contact:' .. id)\n"
    "else redis.call('SET', 'ls:contact:' .. id, ARGV[11]) end\n"
    "unindex(key, idx, id)\n"
    "for i = 15, #ARGV do\n"
    "  redis.call('ZADD', ARGV[i], ord, id)\n"
    "  redis.call('SADD', idx, ARGV[i])\n"
    "end\n"
    "local event = ARGV[12] .. meta(id, version, now, ARGV[1], created)\n"
    "local seq = journal_append(KEYS[1], KEYS[2], event)\n"
    "return finish('OK', id, version, seq, version == 1 and 'c' or '', version, '', event)\n");

/* ARGV: publisher, admin, request id, expected version, id, now, event. KEYS:
 * journal stream, journal counter. Keeps the index entries: lists filter on state. */
static ls_script_t s_withdraw = LS_SCRIPT(
    S_LUA_COMMON
    "local id, now = ARGV[5], tonumber(ARGV[6])\n"
    "local key = 'ls:entity:' .. id\n"
    "local cur = redis.call('HMGET', key, 'kind', 'owner', 'version', 'created', 'state')\n"
    "local err = refuse(cur, id, ARGV[4])\n"
    "if err then return err end\n"
    "if cur[5] == '1' then return finish('OK', id, cur[3], 0, 'u', cur[3], '') end\n"
    "local version = tonumber(cur[3]) + 1\n"
    "redis.call('HSET', key, 'version', version, 'updated', now, 'state', 1)\n"
    "local event = ARGV[7] .. meta(id, version, now, cur[2], tonumber(cur[4]))\n"
    "local seq = journal_append(KEYS[1], KEYS[2], event)\n"
    "return finish('OK', id, version, seq, '', version, '', event)\n");

/* ARGV: publisher, admin, request id, "0", id, now, event. KEYS: journal stream,
 * journal counter. Leaves a tombstone: kind, owner, version, times, state 2. */
static ls_script_t s_erase = LS_SCRIPT(
    S_LUA_COMMON
    "local id, now = ARGV[5], tonumber(ARGV[6])\n"
    "local key = 'ls:entity:' .. id\n"
    "local cur = redis.call('HMGET', key, 'kind', 'owner', 'version', 'created', 'state',\n"
    "  'ref')\n"
    "if cur[5] == '2' then return finish('OK', id, cur[3], 0, 'u', cur[3], '') end\n"
    "local err = refuse(cur, id, ARGV[4])\n"
    "if err then return err end\n"
    "local version = tonumber(cur[3]) + 1\n"
    "redis.call('DEL', 'ls:contact:' .. id)\n"
    "unindex(key, key .. ':indexes', id)\n"
    "if cur[6] and cur[6] ~= '' then\n"
    "  redis.call('DEL', 'ls:ref:' .. cur[2] .. ':' .. cur[6])\n"
    "end\n"
    "redis.call('DEL', key)\n"
    "redis.call('HSET', key, 'kind', cur[1], 'owner', cur[2], 'version', version,\n"
    "  'created', cur[4], 'updated', now, 'state', 2)\n"
    "local event = ARGV[7] .. meta(id, version, now, cur[2], tonumber(cur[4]))\n"
    "local seq = journal_append(KEYS[1], KEYS[2], event)\n"
    "return finish('OK', id, version, seq, '', version, '', event)\n");

void registry_result_free(registry_result_t *result)
{
    free(result->event);
    result->event = NULL;
}

static Lodestone__V1__Status__Code s_code(const char *name, size_t len)
{
    const ProtobufCEnumDescriptor *d = &lodestone__v1__status__code__descriptor;
    for (unsigned i = 0; i < d->n_values; i++)
        if (strlen(d->values[i].name) == len && memcmp(d->values[i].name, name, len) == 0)
            return (Lodestone__V1__Status__Code)d->values[i].value;
    return LODESTONE__V1__STATUS__CODE__INTERNAL;
}

/* Parses "code\nid\nversion\nseq\nflags\ncurrent\nmessage" into result. */
static int s_parse_record(const char *text, size_t len, registry_result_t *result)
{
    const char *fields[7];
    size_t lens[7];
    const char *p = text, *end = text + len;
    for (int i = 0; i < 7; i++) {
        const char *nl = i < 6 ? memchr(p, '\n', (size_t)(end - p)) : end;
        if (!nl)
            return -1;
        fields[i] = p;
        lens[i] = (size_t)(nl - p);
        p = nl + (i < 6);
    }
    result->code = s_code(fields[0], lens[0]);
    snprintf(result->id, sizeof result->id, "%.*s", (int)lens[1], fields[1]);
    if (ls_parse_u64(fields[2], lens[2], &result->version) ||
        ls_parse_u64(fields[3], lens[3], &result->seq) ||
        ls_parse_u64(fields[5], lens[5], &result->current_version))
        return -1;
    result->created = memchr(fields[4], 'c', lens[4]) != NULL;
    result->unchanged = memchr(fields[4], 'u', lens[4]) != NULL;
    snprintf(result->message, sizeof result->message, "%.*s", (int)lens[6], fields[6]);
    return 0;
}

/* Runs a script and reads its result; 0, or -1 with result->code set. */
static int s_run(ls_store_t *store, ls_script_t *script, int argc, const char **argv,
                 const size_t *lens, registry_result_t *result)
{
    const char *all[S_MAX_INDEX_KEYS + 32];
    size_t all_lens[S_MAX_INDEX_KEYS + 32];
    all[0] = LS_JOURNAL_CHANGES.stream;
    all[1] = LS_JOURNAL_CHANGES.seq_key;
    all_lens[0] = strlen(all[0]);
    all_lens[1] = strlen(all[1]);
    for (int i = 0; i < argc; i++) {
        all[i + 2] = argv[i];
        all_lens[i + 2] = lens[i];
    }
    redisReply *reply = ls_store_eval(store, script, 2, argc + 2, all, all_lens);
    int rc = -1;
    if (!reply) {
        result->code = LODESTONE__V1__STATUS__CODE__UNAVAILABLE;
        snprintf(result->message, sizeof result->message, "the store is unavailable; retry");
    } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2 &&
               s_parse_record(reply->element[0]->str, reply->element[0]->len, result) == 0) {
        result->replayed = reply->elements == 3;
        if (reply->element[1]->len) {
            result->event = malloc(reply->element[1]->len);
            memcpy(result->event, reply->element[1]->str, reply->element[1]->len);
            result->event_len = reply->element[1]->len;
        }
        rc = 0;
    } else {
        result->code = LODESTONE__V1__STATUS__CODE__INTERNAL;
        snprintf(result->message, sizeof result->message, "the write step failed: %s",
                 reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
    }
    if (reply)
        freeReplyObject(reply);
    return rc;
}

/* ---------------------------------------------------------------------------
 * What the put script is given */

typedef struct {
    char *keys[S_MAX_INDEX_KEYS];
    size_t count;
} s_keys_t;

static void s_key(s_keys_t *keys, const char *facet, const char *value)
{
    if (keys->count < S_MAX_INDEX_KEYS && value && *value)
        keys->keys[keys->count++] = zsys_sprintf(LS_KEY_INDEX "%s:%s", facet, value);
}

static void s_keys_free(s_keys_t *keys)
{
    for (size_t i = 0; i < keys->count; i++)
        zstr_free(&keys->keys[i]);
}

/* Materials are indexed as given and, for a group, by each member too. */
static void s_material_keys(s_keys_t *keys, const ls_taxonomy_t *taxonomy, char **codes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s_key(keys, "material", codes[i]);
        const ls_material_t *m = ls_taxonomy_material(taxonomy, codes[i]);
        for (size_t k = 0; m && k < m->n_members; k++)
            s_key(keys, "material", m->members[k]);
    }
}

/* NACE codes are indexed at their own level and every level above it. */
static void s_nace_keys(s_keys_t *keys, const ls_taxonomy_t *taxonomy, char **codes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (const ls_nace_t *c = ls_taxonomy_nace(taxonomy, codes[i]); c;
             c = *c->parent ? ls_taxonomy_nace(taxonomy, c->parent) : NULL)
            s_key(keys, "nace", c->code);
}

static void s_list_keys(s_keys_t *keys, const char *facet, char **values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s_key(keys, facet, values[i]);
}

typedef struct {
    const char *region;
    char **stages, **materials, **themes, **nace;
    size_t n_stages, n_materials, n_themes, n_nace;
} s_facets_t;

static void s_facets(ls_entity_pb *entity, s_facets_t *f)
{
    memset(f, 0, sizeof *f);
    if (entity->body_case == LODESTONE__V1__ENTITY__BODY_SME) {
        ls_sme_pb *e = entity->sme;
        *f = (s_facets_t){e->region,   e->stages,      e->materials, e->themes, e->nace,
                          e->n_stages, e->n_materials, e->n_themes,  e->n_nace};
    } else if (entity->body_case == LODESTONE__V1__ENTITY__BODY_INVESTOR) {
        ls_investor_pb *e = entity->investor;
        *f = (s_facets_t){e->region,   e->stages,      e->materials, e->themes, NULL,
                          e->n_stages, e->n_materials, e->n_themes,  0};
    } else {
        ls_opportunity_pb *e = entity->opportunity;
        *f = (s_facets_t){e->region,   e->stages,      e->materials, e->themes, e->nace,
                          e->n_stages, e->n_materials, e->n_themes,  e->n_nace};
    }
}

static void s_index_keys(ls_entity_pb *entity, const ls_entity_meta_t *meta,
                         const ls_taxonomy_t *taxonomy, s_keys_t *keys)
{
    s_facets_t f;
    s_facets(entity, &f);
    s_key(keys, "all", "entities");
    s_key(keys, "kind", meta->kind_name);
    s_key(keys, "region", f.region);
    s_list_keys(keys, "stage", f.stages, f.n_stages);
    s_list_keys(keys, "theme", f.themes, f.n_themes);
    s_material_keys(keys, taxonomy, f.materials, f.n_materials);
    s_nace_keys(keys, taxonomy, f.nace, f.n_nace);
}

/* "nace" field: the entity's codes, comma-separated, for prefix filters. */
static char *s_nace_text(ls_entity_pb *entity)
{
    s_facets_t f;
    s_facets(entity, &f);
    size_t len = 1;
    for (size_t i = 0; i < f.n_nace; i++)
        len += strlen(f.nace[i]) + 1;
    char *text = calloc(1, len);
    for (size_t i = 0; i < f.n_nace; i++) {
        if (i)
            strcat(text, ",");
        strcat(text, f.nace[i]);
    }
    return text;
}

static char *s_lower(const char *text)
{
    char *copy = strdup(text);
    for (char *p = copy; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return copy;
}

typedef struct {
    uint8_t *body, *contact, *event;
    size_t body_len, contact_len, event_len;
} s_packed_t;

static void s_packed_free(s_packed_t *p)
{
    free(p->body);
    free(p->contact);
    free(p->event);
}

/* The change event without its meta fields (the script appends them). */
static uint8_t *s_pack_event(Lodestone__V1__ChangeEvent__Op op, Lodestone__V1__EntityKind kind,
                             ls_entity_pb *body, size_t *len)
{
    ls_change_event_pb event = LODESTONE__V1__CHANGE_EVENT__INIT;
    event.op = op;
    event.kind = kind;
    event.entity = body;
    return ls_codec_pack_buffer(&event.base, len);
}

/* Packs the canonical body and the upsert event (both without meta and contact)
 * and the contact, then restores the entity as it was. */
static void s_pack(ls_entity_pb *entity, const ls_entity_meta_t *meta, s_packed_t *out)
{
    char *id = *meta->id, *owner = *meta->owner;
    uint64_t version = *meta->version;
    int64_t created = *meta->created_at, updated = *meta->updated_at;
    Lodestone__V1__EntityState state = *meta->state;
    ls_contact_pb *person = *meta->contact;
    *meta->id = *meta->owner = (char *)protobuf_c_empty_string;
    *meta->version = 0;
    *meta->created_at = *meta->updated_at = 0;
    *meta->state = LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_ACTIVE;
    *meta->contact = NULL;
    out->body = ls_codec_pack_buffer(&entity->base, &out->body_len);
    out->event =
        s_pack_event(LODESTONE__V1__CHANGE_EVENT__OP__UPSERT, meta->kind, entity, &out->event_len);
    out->contact = person ? ls_codec_pack_buffer(&person->base, &out->contact_len) : NULL;
    if (!person)
        out->contact_len = 0;
    *meta->id = id;
    *meta->owner = owner;
    *meta->version = version;
    *meta->created_at = created;
    *meta->updated_at = updated;
    *meta->state = state;
    *meta->contact = person;
}

static void s_arg(const char **argv, size_t *lens, int *argc, const void *data, size_t len)
{
    argv[*argc] = data ? (const char *)data : "";
    lens[*argc] = data ? len : 0;
    (*argc)++;
}

static void s_str(const char **argv, size_t *lens, int *argc, const char *text)
{
    s_arg(argv, lens, argc, text, strlen(text));
}

/* Arguments every script takes first: publisher, admin, request id, expected. */
static void s_common(const registry_write_t *write, const char **argv, size_t *lens, int *argc,
                     char *expected, size_t expected_len)
{
    snprintf(expected, expected_len, "%llu", (unsigned long long)write->expected_version);
    s_str(argv, lens, argc, write->publisher);
    s_str(argv, lens, argc, write->admin ? "1" : "0");
    s_str(argv, lens, argc, write->request_id ? write->request_id : "");
    s_str(argv, lens, argc, expected);
}

int registry_store_put(ls_store_t *store, const ls_taxonomy_t *taxonomy, ls_entity_pb *entity,
                       const registry_write_t *write, registry_result_t *result)
{
    memset(result, 0, sizeof *result);
    ls_entity_meta_t meta;
    if (ls_entity_meta(entity, &meta)) {
        result->code = LODESTONE__V1__STATUS__CODE__INVALID;
        snprintf(result->message, sizeof result->message, "entity: has no body");
        return 0;
    }
    s_packed_t packed;
    s_pack(entity, &meta, &packed); /* the journal never carries contact details */

    s_keys_t keys = {.count = 0};
    s_index_keys(entity, &meta, taxonomy, &keys);
    char expected[24], kind[8], now[24];
    snprintf(kind, sizeof kind, "%d", (int)meta.kind);
    snprintf(now, sizeof now, "%lld", (long long)ls_now_ms());
    char *name = s_lower(meta.name);
    char *nace = s_nace_text(entity);
    const char *argv[S_MAX_INDEX_KEYS + 16];
    size_t lens[S_MAX_INDEX_KEYS + 16];
    int argc = 0;
    s_common(write, argv, lens, &argc, expected, sizeof expected);
    s_str(argv, lens, &argc, kind);
    s_str(argv, lens, &argc, meta.id_prefix);
    s_str(argv, lens, &argc, *meta.id);
    s_str(argv, lens, &argc, *meta.ref);
    s_str(argv, lens, &argc, now);
    s_arg(argv, lens, &argc, packed.body, packed.body_len);
    s_arg(argv, lens, &argc, packed.contact, packed.contact_len);
    s_arg(argv, lens, &argc, packed.event, packed.event_len);
    s_str(argv, lens, &argc, name);
    s_str(argv, lens, &argc, nace);
    for (size_t i = 0; i < keys.count; i++)
        s_str(argv, lens, &argc, keys.keys[i]);
    int rc = s_run(store, &s_put, argc, argv, lens, result);
    s_keys_free(&keys);
    s_packed_free(&packed);
    free(name);
    free(nace);
    return rc;
}

static int s_state_change(ls_store_t *store, ls_script_t *script, Lodestone__V1__ChangeEvent__Op op,
                          const char *id, const registry_write_t *write, registry_result_t *result)
{
    memset(result, 0, sizeof *result);
    size_t event_len;
    uint8_t *event = s_pack_event(op, ls_entity_kind_of_id(id), NULL, &event_len);
    char expected[24], now[24];
    snprintf(now, sizeof now, "%lld", (long long)ls_now_ms());
    const char *argv[8];
    size_t lens[8];
    int argc = 0;
    s_common(write, argv, lens, &argc, expected, sizeof expected);
    s_str(argv, lens, &argc, id);
    s_str(argv, lens, &argc, now);
    s_arg(argv, lens, &argc, event, event_len);
    int rc = s_run(store, script, argc, argv, lens, result);
    free(event);
    return rc;
}

int registry_store_withdraw(ls_store_t *store, const char *id, const registry_write_t *write,
                            registry_result_t *result)
{
    return s_state_change(store, &s_withdraw, LODESTONE__V1__CHANGE_EVENT__OP__WITHDRAW, id, write,
                          result);
}

int registry_store_erase(ls_store_t *store, const char *id, const registry_write_t *write,
                         registry_result_t *result)
{
    registry_write_t any = *write;
    any.expected_version = 0;
    return s_state_change(store, &s_erase, LODESTONE__V1__CHANGE_EVENT__OP__ERASE, id, &any,
                          result);
}
