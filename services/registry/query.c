/* query.c — filtered lists and taxonomy lookups.
 *
 * A list page is one Lua step: it walks the smallest of the filters' sorted sets
 * (scored by creation order) from the cursor, checks the other filters by ZSCORE
 * and the state, name and NACE prefix in the entity hash, and stops at a page or
 * at its examination budget. The cursor is the last ordinal examined, so pages stay
 * stable while entities are added, changed or withdrawn. */
#include "query.h"

#include <ctype.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "ls_entity.h"
#include "ls_keys.h"
#include "ls_util.h"

#define S_MAX_FILTERS 8
#define S_MAX_TEXT 100
#define S_CURSOR_PREFIX "c"

/* ARGV: driver key, cursor ordinal, budget, page size, include withdrawn, text, NACE
 * prefix, other filter keys. Returns {ids, last ordinal, examined, more}. */
static ls_script_t s_list = LS_SCRIPT(
    "local driver, last = ARGV[1], tonumber(ARGV[2])\n"
    "local budget, want = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local withdrawn, text, nace = ARGV[5] == '1', ARGV[6], ARGV[7]\n"
    "local function wanted(id)\n"
    "  for k = 8, #ARGV do\n"
    "    if not redis.call('ZSCORE', ARGV[k], id) then return false end\n"
    "  end\n"
    "  local f = redis.call('HMGET', 'ls:entity:' .. id, 'state', 'name', 'nace')\n"
    "  if f[1] == '2' or (f[1] == '1' and not withdrawn) then return false end\n"
    "  if text ~= '' and not string.find(f[2] or '', text, 1, true) then return false end\n"
    "  if nace == '' then return true end\n"
    "  for code in string.gmatch(f[3] or '', '[^,]+') do\n"
    "    if string.sub(code, 1, #nace) == nace then return true end\n"
    "  end\n"
    "  return false\n"
    "end\n"
    "local ids, examined = {}, 0\n"
    "while #ids < want and examined < budget do\n"
    "  local chunk = redis.call('ZRANGEBYSCORE', driver, '(' .. last, '+inf', 'WITHSCORES',\n"
    "    'LIMIT', 0, 256)\n"
    "  if #chunk == 0 then break end\n"
    "  for i = 1, #chunk, 2 do\n"
    "    examined = examined + 1\n"
    "    last = tonumber(chunk[i + 1])\n"
    "    if wanted(chunk[i]) then ids[#ids + 1] = chunk[i] end\n"
    "    if #ids == want or examined == budget then break end\n"
    "  end\n"
    "end\n"
    "local more = redis.call('ZRANGEBYSCORE', driver, '(' .. last, '+inf', 'LIMIT', 0, 1)\n"
    "return {ids, string.format('%d', last), examined, #more}\n");

typedef struct {
    char *keys[S_MAX_FILTERS];
    size_t count;
} s_filters_t;

static void s_filter(s_filters_t *f, const char *facet, const char *value)
{
    if (*value && f->count < S_MAX_FILTERS)
        f->keys[f->count++] = zsys_sprintf(LS_KEY_INDEX "%s:%s", facet, value);
}

static void s_filters_free(s_filters_t *f)
{
    for (size_t i = 0; i < f->count; i++)
        zstr_free(&f->keys[i]);
}

/* Checks the filters' values; returns INVALID with problem set, or OK. */
static Lodestone__V1__Status__Code
s_check(const ls_taxonomy_t *t, const Lodestone__V1__ListEntities *q, char *problem, size_t len)
{
    const char *bad = NULL;
    if (*q->region && !ls_taxonomy_region(t, q->region))
        bad = "list.region: not a known region code";
    else if (*q->stage && !ls_taxonomy_stage(t, q->stage))
        bad = "list.stage: not a known value-chain stage";
    else if (*q->material && !ls_taxonomy_material(t, q->material))
        bad = "list.material: not a known material code";
    else if (*q->theme && !ls_taxonomy_theme(t, q->theme))
        bad = "list.theme: not a known theme";
    else if (strlen(q->nace_prefix) > 16)
        bad = "list.nacePrefix: longer than 16 bytes";
    else if (strlen(q->text) > S_MAX_TEXT)
        bad = "list.text: longer than 100 bytes";
    else if (q->page_size > QUERY_PAGE_MAX)
        bad = "list.pageSize: at most 500";
    else if (q->kind > LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY)
        bad = "list.kind: not a known kind";
    if (!bad)
        return LODESTONE__V1__STATUS__CODE__OK;
    snprintf(problem, len, "%s", bad);
    return LODESTONE__V1__STATUS__CODE__INVALID;
}

static int s_parse_cursor(const char *cursor, uint64_t *ord)
{
    *ord = 0;
    if (!*cursor)
        return 0;
    size_t prefix = strlen(S_CURSOR_PREFIX);
    if (strncmp(cursor, S_CURSOR_PREFIX, prefix) != 0)
        return -1;
    return ls_parse_u64(cursor + prefix, strlen(cursor + prefix), ord);
}

/* Picks the smallest sorted set as the one to walk; returns its index. */
static int s_driver(ls_store_t *store, s_filters_t *f, size_t *index)
{
    for (size_t i = 0; i < f->count; i++) {
        const char *argv[] = {"ZCARD", f->keys[i]};
        if (ls_store_append(store, 2, argv, NULL))
            return -1;
    }
    long long best = -1;
    int rc = 0;
    for (size_t i = 0; i < f->count; i++) {
        redisReply *r = ls_store_reply(store);
        if (!r || r->type != REDIS_REPLY_INTEGER)
            rc = -1;
        else if (best < 0 || r->integer < best) {
            best = r->integer;
            *index = i;
        }
        if (r)
            freeReplyObject(r);
    }
    return rc;
}

/* Loads the page's entities with one pipelined round trip; contacts are left out. */
static int s_load(ls_store_t *store, redisReply *ids, Lodestone__V1__EntityList *list)
{
    size_t n = ids->elements;
    list->entities = calloc(n ? n : 1, sizeof *list->entities);
    for (size_t i = 0; i < n; i++) {
        char key[160];
        snprintf(key, sizeof key, LS_KEY_ENTITY "%s", ids->element[i]->str);
        const char *argv[] = {"HMGET", key, LS_ENTITY_FIELDS};
        if (ls_store_append(store, 9, argv, NULL))
            return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *r = ls_store_reply(store);
        ls_entity_pb *entity = NULL;
        if (!r)
            return -1;
        /* Erased between the two steps: left out. */
        if (ls_entity_from_fields(ids->element[i]->str, r, &entity) == 0)
            list->entities[list->n_entities++] = entity;
        else if (r->type != REDIS_REPLY_ARRAY)
            rc = -1;
        freeReplyObject(r);
    }
    return rc;
}

static void s_build_filters(const ls_taxonomy_t *t, const Lodestone__V1__ListEntities *q,
                            s_filters_t *f, const char **nace_post)
{
    s_filter(f, "kind", q->kind ? ls_entity_kind_name((Lodestone__V1__EntityKind)q->kind) : "");
    s_filter(f, "region", q->region);
    s_filter(f, "stage", q->stage);
    s_filter(f, "material", q->material);
    s_filter(f, "theme", q->theme);
    /* A whole NACE code at any level is indexed; any other prefix is checked per entity. */
    *nace_post = "";
    if (*q->nace_prefix && ls_taxonomy_nace(t, q->nace_prefix))
        s_filter(f, "nace", q->nace_prefix);
    else
        *nace_post = q->nace_prefix;
    if (f->count == 0)
        s_filter(f, "all", "entities");
}

Lodestone__V1__Status__Code query_list(ls_store_t *store, const ls_taxonomy_t *taxonomy,
                                       const Lodestone__V1__ListEntities *q,
                                       Lodestone__V1__EntityList *list, char *problem,
                                       size_t problem_len)
{
    Lodestone__V1__Status__Code code = s_check(taxonomy, q, problem, problem_len);
    uint64_t after = 0;
    if (code == LODESTONE__V1__STATUS__CODE__OK && s_parse_cursor(q->cursor, &after)) {
        snprintf(problem, problem_len, "list.cursor: not a cursor this registry gave");
        code = LODESTONE__V1__STATUS__CODE__INVALID;
    }
    if (code != LODESTONE__V1__STATUS__CODE__OK)
        return code;
    s_filters_t f = {.count = 0};
    const char *nace_post;
    s_build_filters(taxonomy, q, &f, &nace_post);
    size_t page = q->page_size ? q->page_size : QUERY_PAGE_DEFAULT;
    char after_text[24], budget[24], want[24];
    snprintf(after_text, sizeof after_text, "%llu", (unsigned long long)after);
    snprintf(budget, sizeof budget, "%zu", page * 20 < 1000 ? 1000 : page * 20);
    snprintf(want, sizeof want, "%zu", page);
    char *text = strdup(q->text);
    for (char *p = text; *p; p++)
        *p = (char)tolower((unsigned char)*p);

    size_t driver = 0;
    code = LODESTONE__V1__STATUS__CODE__UNAVAILABLE;
    if (s_driver(store, &f, &driver) == 0) {
        const char *argv[7 + S_MAX_FILTERS];
        int argc = 0;
        argv[argc++] = f.keys[driver];
        argv[argc++] = after_text;
        argv[argc++] = budget;
        argv[argc++] = want;
        argv[argc++] = q->include_withdrawn ? "1" : "0";
        argv[argc++] = text;
        argv[argc++] = nace_post;
        for (size_t i = 0; i < f.count; i++)
            if (i != driver)
                argv[argc++] = f.keys[i];
        redisReply *r = ls_store_eval(store, &s_list, 0, argc, argv, NULL);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
            s_load(store, r->element[0], list) == 0) {
            list->scanned = (uint32_t)r->element[2]->integer;
            list->next_cursor = r->element[3]->integer
                                    ? zsys_sprintf(S_CURSOR_PREFIX "%s", r->element[1]->str)
                                    : strdup("");
            code = LODESTONE__V1__STATUS__CODE__OK;
        }
        if (r)
            freeReplyObject(r);
    }
    if (code != LODESTONE__V1__STATUS__CODE__OK)
        snprintf(problem, problem_len, "the store is unavailable; retry");
    free(text);
    s_filters_free(&f);
    return code;
}

void query_list_free(Lodestone__V1__EntityList *list)
{
    for (size_t i = 0; i < list->n_entities; i++)
        lodestone__v1__entity__free_unpacked(list->entities[i], NULL);
    free(list->entities);
    if (list->next_cursor && list->next_cursor != protobuf_c_empty_string)
        free(list->next_cursor);
    list->entities = NULL;
    list->n_entities = 0;
}

/* ---------------------------------------------------------------------------
 * Taxonomy lookups */

/* Every string in a term list is the list's own copy: query_terms_free frees all. */
static Lodestone__V1__Term *s_term(Lodestone__V1__TermList *terms, const char *code,
                                   const char *name)
{
    Lodestone__V1__Term *term = calloc(1, sizeof *term);
    lodestone__v1__term__init(term);
    term->code = strdup(code);
    term->name = strdup(name);
    term->parent = strdup("");
    term->level = strdup("");
    term->country = strdup("");
    terms->terms[terms->n_terms++] = term;
    return term;
}

static void s_set(char **field, const char *value)
{
    if (*field != protobuf_c_empty_string)
        free(*field);
    *field = strdup(value);
}

/* Case-insensitive: does the title hold the word, or the code start with it? */
static bool s_nace_hit(const ls_nace_t *n, const char *query)
{
    if (!*query || strncmp(n->code, query, strlen(query)) == 0)
        return true;
    size_t len = strlen(query);
    for (const char *p = n->title; *p; p++)
        if (strncasecmp(p, query, len) == 0)
            return true;
    return false;
}

static void s_fill(const ls_taxonomy_t *t, const Lodestone__V1__GetTaxonomy *q,
                   Lodestone__V1__TermList *terms, size_t limit)
{
    switch (q->vocabulary) {
    case LODESTONE__V1__GET_TAXONOMY__VOCABULARY__REGIONS:
        for (size_t i = 0; i < ls_taxonomy_region_count(t) && terms->n_terms < limit; i++) {
            const ls_region_t *r = ls_taxonomy_region_at(t, i);
            Lodestone__V1__Term *term = s_term(terms, r->code, r->name);
            char level[8];
            snprintf(level, sizeof level, "%d", r->nuts_level);
            s_set(&term->parent, r->parent);
            s_set(&term->country, r->country);
            s_set(&term->level, level);
            term->lead = r->lead;
        }
        break;
    case LODESTONE__V1__GET_TAXONOMY__VOCABULARY__MATERIALS:
        s_set(&terms->list_version, ls_taxonomy_materials_version(t));
        for (size_t i = 0; i < ls_taxonomy_material_count(t) && terms->n_terms < limit; i++) {
            const ls_material_t *m = ls_taxonomy_material_at(t, i);
            Lodestone__V1__Term *term = s_term(terms, m->code, m->name);
            term->critical = m->critical;
            term->strategic = m->strategic;
            term->members = calloc(m->n_members ? m->n_members : 1, sizeof(char *));
            for (size_t k = 0; k < m->n_members; k++)
                term->members[term->n_members++] = strdup(m->members[k]);
        }
        break;
    case LODESTONE__V1__GET_TAXONOMY__VOCABULARY__STAGES:
    case LODESTONE__V1__GET_TAXONOMY__VOCABULARY__THEMES: {
        bool stages = q->vocabulary == LODESTONE__V1__GET_TAXONOMY__VOCABULARY__STAGES;
        size_t n = stages ? ls_taxonomy_stage_count(t) : ls_taxonomy_theme_count(t);
        for (size_t i = 0; i < n && terms->n_terms < limit; i++) {
            const ls_term_t *x = stages ? ls_taxonomy_stage_at(t, i) : ls_taxonomy_theme_at(t, i);
            s_term(terms, x->code, x->name);
        }
        break;
    }
    case LODESTONE__V1__GET_TAXONOMY__VOCABULARY__NACE:
        for (size_t i = 0; i < ls_taxonomy_nace_count(t) && terms->n_terms < limit; i++) {
            const ls_nace_t *n = ls_taxonomy_nace_at(t, i);
            if (!s_nace_hit(n, q->query))
                continue;
            Lodestone__V1__Term *term = s_term(terms, n->code, n->title);
            s_set(&term->parent, n->parent);
            s_set(&term->level, n->level);
        }
        break;
    default: /* TRL */
        for (unsigned level = 1; level <= 9 && terms->n_terms < limit; level++) {
            char code[4];
            snprintf(code, sizeof code, "%u", level);
            if (ls_taxonomy_trl_description(t, level))
                s_term(terms, code, ls_taxonomy_trl_description(t, level));
        }
    }
}

Lodestone__V1__Status__Code query_taxonomy(const ls_taxonomy_t *taxonomy,
                                           const Lodestone__V1__GetTaxonomy *q,
                                           Lodestone__V1__TermList *terms, char *problem,
                                           size_t problem_len)
{
    if (q->vocabulary <= LODESTONE__V1__GET_TAXONOMY__VOCABULARY__VOCABULARY_UNSPECIFIED ||
        q->vocabulary > LODESTONE__V1__GET_TAXONOMY__VOCABULARY__THEMES) {
        snprintf(problem, problem_len,
                 "taxonomy.vocabulary: is required (REGIONS, MATERIALS, "
                 "STAGES, NACE, TRL, THEMES)");
        return LODESTONE__V1__STATUS__CODE__INVALID;
    }
    if (strlen(q->query) > 100 || q->limit > 2000) {
        snprintf(problem, problem_len, "taxonomy: query at most 100 bytes, limit at most 2000");
        return LODESTONE__V1__STATUS__CODE__INVALID;
    }
    size_t limit = q->limit ? q->limit : 100;
    terms->terms = calloc(limit, sizeof *terms->terms);
    terms->list_version = (char *)protobuf_c_empty_string;
    s_fill(taxonomy, q, terms, limit);
    return LODESTONE__V1__STATUS__CODE__OK;
}

void query_terms_free(Lodestone__V1__TermList *terms)
{
    for (size_t i = 0; i < terms->n_terms; i++) {
        Lodestone__V1__Term *term = terms->terms[i];
        free(term->code);
        free(term->name);
        free(term->parent);
        free(term->level);
        free(term->country);
        for (size_t k = 0; k < term->n_members; k++)
            free(term->members[k]);
        free(term->members);
        free(term);
    }
    free(terms->terms);
    if (terms->list_version != protobuf_c_empty_string)
        free(terms->list_version);
    terms->terms = NULL;
    terms->n_terms = 0;
}
