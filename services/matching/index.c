/* index.c — the matching service's inverted index: private facet records of the
 * active entities and postings lists from "kind|facet:value" to the entities that
 * carry that value. See index.h for the contract and the costs. */
#include "index.h"

#include "ls_entity.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

struct _match_index_t {
    const ls_taxonomy_t *taxonomy; /* not owned */
    zhashx_t *entities;            /* id -> match_entity_t *, owned */
    zhashx_t *postings;            /* "kind|facet:value" -> zhashx_t of id -> match_entity_t * */
};

static char *s_strdup(const char *text)
{
    char *copy = strdup(text ? text : "");
    assert(copy);
    return copy;
}

static void s_set_destroy(void **item_p)
{
    zhashx_destroy((zhashx_t **)item_p);
}

static void s_entity_item_destroy(void **item_p)
{
    match_entity_destroy((match_entity_t **)item_p);
}

match_index_t *match_index_new(const ls_taxonomy_t *taxonomy)
{
    assert(taxonomy);
    match_index_t *self = (match_index_t *)calloc(1, sizeof *self);
    assert(self);
    self->taxonomy = taxonomy;
    self->entities = zhashx_new();
    zhashx_set_destructor(self->entities, s_entity_item_destroy);
    self->postings = zhashx_new();
    zhashx_set_destructor(self->postings, s_set_destroy);
    return self;
}

void match_index_destroy(match_index_t **self_p)
{
    assert(self_p);
    match_index_t *self = *self_p;
    if (!self)
        return;
    /* Postings point at records, so they go first. */
    zhashx_destroy(&self->postings);
    zhashx_destroy(&self->entities);
    free(self);
    *self_p = NULL;
}

/* ---------------------------------------------------------------------------
 * Records */

static int s_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copies codes into a sorted, distinct set, leaving out empty strings. */
static void s_terms_copy(match_terms_t *terms, char *const *codes, size_t count)
{
    terms->items = (char **)calloc(count ? count : 1, sizeof(char *));
    assert(terms->items);
    terms->size = 0;
    for (size_t i = 0; i < count; i++)
        if (codes[i] && *codes[i])
            terms->items[terms->size++] = s_strdup(codes[i]);
    qsort(terms->items, terms->size, sizeof(char *), s_strcmp_p);
    size_t kept = 0;
    for (size_t i = 0; i < terms->size; i++) {
        if (kept > 0 && strcmp(terms->items[kept - 1], terms->items[i]) == 0)
            free(terms->items[i]);
        else
            terms->items[kept++] = terms->items[i];
    }
    terms->size = kept;
}

static void s_terms_free(match_terms_t *terms)
{
    for (size_t i = 0; i < terms->size; i++)
        free(terms->items[i]);
    free(terms->items);
    terms->items = NULL;
    terms->size = 0;
}

static int s_material_cmp(const void *a, const void *b)
{
    return strcmp(((const match_material_t *)a)->code, ((const match_material_t *)b)->code);
}

/* Expands groups to their member elements (the taxonomy names them by code, such as
 * "dysprosium", and gives each the status of its groups), sorts and de-duplicates, and
 * records each material's status and a label for sentences. A code the taxonomy does
 * not know is kept as it is, with no status. */
static void s_materials_expand(const match_index_t *self, match_entity_t *entity,
                               char *const *codes, size_t count)
{
    size_t capacity = 0;
    for (size_t i = 0; i < count; i++) {
        const ls_material_t *entry = ls_taxonomy_material(self->taxonomy, codes[i]);
        capacity += entry && entry->n_members > 0 ? entry->n_members : 1;
    }
    match_material_t *list = (match_material_t *)calloc(capacity ? capacity : 1, sizeof *list);
    assert(list);
    size_t size = 0;
    for (size_t i = 0; i < count; i++) {
        if (!codes[i] || !*codes[i])
            continue;
        const ls_material_t *entry = ls_taxonomy_material(self->taxonomy, codes[i]);
        if (entry && entry->n_members > 0)
            for (size_t m = 0; m < entry->n_members; m++)
                list[size++].code = s_strdup(entry->members[m]);
        else
            list[size++].code = s_strdup(codes[i]);
    }
    qsort(list, size, sizeof *list, s_material_cmp);
    size_t kept = 0;
    for (size_t i = 0; i < size; i++) {
        if (kept > 0 && strcmp(list[kept - 1].code, list[i].code) == 0) {
            free(list[i].code);
            continue;
        }
        match_material_t *material = &list[kept++];
        *material = list[i];
        material->label = s_strdup(material->code);
        for (char *c = material->label; *c; c++)
            if (*c == '-')
                *c = ' ';
        const ls_material_t *entry = ls_taxonomy_material(self->taxonomy, material->code);
        material->critical = entry && entry->critical;
        material->strategic = entry && entry->strategic;
    }
    entity->materials = list;
    entity->material_count = kept;
    entity->materials_version = s_strdup(ls_taxonomy_materials_version(self->taxonomy));
}

static void s_region_set(const match_index_t *self, match_entity_t *entity, const char *region,
                         const char *country)
{
    const ls_region_t *known = ls_taxonomy_region(self->taxonomy, region ? region : "");
    entity->region = s_strdup(region);
    entity->region_name = s_strdup(known ? known->name : region);
    entity->country = s_strdup(country && *country ? country : known ? known->country : "");
    entity->partnership = known != NULL;
}

static void s_from_sme(const match_index_t *self, match_entity_t *entity, const ls_sme_pb *sme)
{
    entity->kind = LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME;
    entity->id = s_strdup(sme->id);
    entity->version = sme->version;
    entity->active =
        sme->state == LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_ACTIVE && sme->consent_match;
    entity->name = s_strdup(sme->name);
    s_region_set(self, entity, sme->region, sme->country);
    s_terms_copy(&entity->stages, sme->stages, sme->n_stages);
    s_materials_expand(self, entity, sme->materials, sme->n_materials);
    s_terms_copy(&entity->nace, sme->nace, sme->n_nace);
    s_terms_copy(&entity->capabilities, sme->capabilities, sme->n_capabilities);
    s_terms_copy(&entity->required_capabilities, NULL, 0);
    s_terms_copy(&entity->themes, sme->themes, sme->n_themes);
    entity->trl = sme->trl;
    entity->deadline = s_strdup("");
}

static void s_from_investor(const match_index_t *self, match_entity_t *entity,
                            const ls_investor_pb *investor)
{
    entity->kind = LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_INVESTOR;
    entity->id = s_strdup(investor->id);
    entity->version = investor->version;
    entity->active = investor->state == LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_ACTIVE &&
                     investor->consent_match;
    entity->name = s_strdup(investor->name);
    s_region_set(self, entity, investor->region, NULL);
    s_terms_copy(&entity->stages, investor->stages, investor->n_stages);
    s_materials_expand(self, entity, investor->materials, investor->n_materials);
    s_terms_copy(&entity->nace, NULL, 0);
    s_terms_copy(&entity->capabilities, NULL, 0);
    s_terms_copy(&entity->required_capabilities, NULL, 0);
    s_terms_copy(&entity->themes, investor->themes, investor->n_themes);
    entity->trl_min = investor->trl_min;
    entity->trl_max = investor->trl_max;
    entity->deadline = s_strdup("");
}

static void s_from_opportunity(const match_index_t *self, match_entity_t *entity,
                               const ls_opportunity_pb *opportunity)
{
    entity->kind = LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY;
    entity->id = s_strdup(opportunity->id);
    entity->version = opportunity->version;
    entity->active = opportunity->state == LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_ACTIVE &&
                     opportunity->status == LODESTONE__V1__OPPORTUNITY__STATUS__OPEN;
    const char *title = opportunity->title;
    entity->name = s_strdup(title && *title ? title : opportunity->organisation);
    s_region_set(self, entity, opportunity->region, NULL);
    s_terms_copy(&entity->stages, opportunity->stages, opportunity->n_stages);
    s_materials_expand(self, entity, opportunity->materials, opportunity->n_materials);
    s_terms_copy(&entity->nace, opportunity->nace, opportunity->n_nace);
    s_terms_copy(&entity->capabilities, opportunity->nice_capabilities,
                 opportunity->n_nice_capabilities);
    s_terms_copy(&entity->required_capabilities, opportunity->required_capabilities,
                 opportunity->n_required_capabilities);
    s_terms_copy(&entity->themes, opportunity->themes, opportunity->n_themes);
    entity->trl_min = opportunity->trl_min;
    entity->deadline = s_strdup(opportunity->deadline);
}

static const char *s_entity_id(const ls_entity_pb *entity)
{
    switch (entity->body_case) {
    case LODESTONE__V1__ENTITY__BODY_SME:
        return entity->sme ? entity->sme->id : NULL;
    case LODESTONE__V1__ENTITY__BODY_INVESTOR:
        return entity->investor ? entity->investor->id : NULL;
    case LODESTONE__V1__ENTITY__BODY_OPPORTUNITY:
        return entity->opportunity ? entity->opportunity->id : NULL;
    default:
        return NULL;
    }
}

match_entity_t *match_entity_new(const match_index_t *index, const ls_entity_pb *entity)
{
    assert(index);
    const char *id = entity ? s_entity_id(entity) : NULL;
    if (!id || !*id)
        return NULL;
    match_entity_t *self = (match_entity_t *)calloc(1, sizeof *self);
    assert(self);
    if (entity->body_case == LODESTONE__V1__ENTITY__BODY_SME)
        s_from_sme(index, self, entity->sme);
    else if (entity->body_case == LODESTONE__V1__ENTITY__BODY_INVESTOR)
        s_from_investor(index, self, entity->investor);
    else
        s_from_opportunity(index, self, entity->opportunity);
    return self;
}

void match_entity_destroy(match_entity_t **self_p)
{
    assert(self_p);
    match_entity_t *self = *self_p;
    if (!self)
        return;
    free(self->id);
    free(self->name);
    free(self->region);
    free(self->region_name);
    free(self->country);
    s_terms_free(&self->stages);
    for (size_t i = 0; i < self->material_count; i++) {
        free(self->materials[i].code);
        free(self->materials[i].label);
    }
    free(self->materials);
    free(self->materials_version);
    s_terms_free(&self->nace);
    s_terms_free(&self->capabilities);
    s_terms_free(&self->required_capabilities);
    s_terms_free(&self->themes);
    free(self->deadline);
    free(self);
    *self_p = NULL;
}

/* ---------------------------------------------------------------------------
 * Postings */

typedef void(s_posting_fn)(match_index_t *self, const char *key, void *arg);

static void s_posting_visit(match_index_t *self, const char *kind, const char *facet,
                            const char *value, s_posting_fn *fn, void *arg)
{
    char *key = zsys_sprintf("%s|%s:%s", kind, facet, value);
    assert(key);
    fn(self, key, arg);
    zstr_free(&key);
}

/* Calls fn with each postings key of entity's facet values under `kind`. Facets that
 * later versions use for candidates (NACE, capabilities, themes) add lines here. */
static void s_each_posting(match_index_t *self, const match_entity_t *entity,
                           Lodestone__V1__EntityKind kind, s_posting_fn *fn, void *arg)
{
    const char *prefix = ls_entity_kind_name(kind);
    for (size_t i = 0; i < entity->stages.size; i++)
        s_posting_visit(self, prefix, "stage", entity->stages.items[i], fn, arg);
    for (size_t i = 0; i < entity->material_count; i++)
        s_posting_visit(self, prefix, "material", entity->materials[i].code, fn, arg);
    if (*entity->region)
        s_posting_visit(self, prefix, "region", entity->region, fn, arg);
}

static void s_posting_add(match_index_t *self, const char *key, void *arg)
{
    match_entity_t *entity = (match_entity_t *)arg;
    zhashx_t *set = (zhashx_t *)zhashx_lookup(self->postings, key);
    if (!set) {
        set = zhashx_new();
        zhashx_insert(self->postings, key, set);
    }
    zhashx_insert(set, entity->id, entity);
}

static void s_posting_remove(match_index_t *self, const char *key, void *arg)
{
    const match_entity_t *entity = (const match_entity_t *)arg;
    zhashx_t *set = (zhashx_t *)zhashx_lookup(self->postings, key);
    if (!set)
        return;
    zhashx_delete(set, entity->id);
    if (zhashx_size(set) == 0)
        zhashx_delete(self->postings, key);
}

/* ---------------------------------------------------------------------------
 * Operations */

int match_index_remove(match_index_t *self, const char *id)
{
    assert(self);
    match_entity_t *entity = (match_entity_t *)zhashx_lookup(self->entities, id);
    if (!entity)
        return -1;
    s_each_posting(self, entity, entity->kind, s_posting_remove, entity);
    zhashx_delete(self->entities, id); /* destroys the record */
    return 0;
}

int match_index_upsert(match_index_t *self, const ls_entity_pb *entity)
{
    assert(self);
    match_entity_t *record = match_entity_new(self, entity);
    if (!record)
        return -1;
    match_index_remove(self, record->id);
    if (!record->active) {
        match_entity_destroy(&record);
        return 0;
    }
    zhashx_insert(self->entities, record->id, record);
    s_each_posting(self, record, record->kind, s_posting_add, record);
    return 1;
}

const match_entity_t *match_index_lookup(const match_index_t *self, const char *id)
{
    assert(self);
    return (const match_entity_t *)zhashx_lookup(self->entities, id);
}

size_t match_index_size(const match_index_t *self)
{
    assert(self);
    return zhashx_size(self->entities);
}

typedef struct {
    const match_entity_t *subject;
    zhashx_t *seen; /* id -> record, keys borrowed from the records */
    match_index_visit_fn *visit;
    void *arg;
    size_t count;
} s_candidates_t;

static void s_candidates_collect(match_index_t *self, const char *key, void *arg)
{
    s_candidates_t *search = (s_candidates_t *)arg;
    zhashx_t *set = (zhashx_t *)zhashx_lookup(self->postings, key);
    if (!set)
        return;
    for (match_entity_t *candidate = (match_entity_t *)zhashx_first(set); candidate;
         candidate = (match_entity_t *)zhashx_next(set)) {
        if (strcmp(candidate->id, search->subject->id) == 0)
            continue;
        if (zhashx_insert(search->seen, candidate->id, candidate) != 0)
            continue; /* already visited through another facet value */
        search->visit(candidate, search->arg);
        search->count++;
    }
}

size_t match_index_candidates(match_index_t *self, const match_entity_t *subject,
                              Lodestone__V1__EntityKind wanted, match_index_visit_fn *visit,
                              void *arg)
{
    assert(self);
    assert(subject);
    assert(visit);
    s_candidates_t search = {subject, zhashx_new(), visit, arg, 0};
    zhashx_set_key_duplicator(search.seen, NULL);
    zhashx_set_key_destructor(search.seen, NULL);
    s_each_posting(self, subject, wanted, s_candidates_collect, &search);
    zhashx_destroy(&search.seen);
    return search.count;
}
