/* index.c — the matching service's inverted index: private facet records of the
 * active entities, postings lists from "kind|facet:value" to the entities that carry
 * that value, and the IDF snapshot of capability tags. See index.h for the contract,
 * the candidate rule and the costs. */
#include "index.h"

#include "ls_entity.h"

#include <assert.h>
#include <ctype.h>
#include <czmq.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define S_KEY_MAX 512

/* Estimated heap bytes per postings entry (zhashx item and its bucket share) and per
 * postings list (the zhashx itself and its first table). */
#define S_POSTING_ENTRY_BYTES 64
#define S_POSTING_LIST_BYTES 192

typedef Lodestone__V1__EntityKind s_kind_t;
#define S_SME LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME
#define S_INVESTOR LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_INVESTOR
#define S_OPPORTUNITY LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY

struct _match_index_t {
    const ls_taxonomy_t *taxonomy; /* not owned */
    zhashx_t *entities;            /* id -> match_entity_t *, owned */
    zhashx_t *postings;            /* "kind|facet:value" -> zhashx_t of id -> match_entity_t * */
    zhashx_t *idf;                 /* tag -> double *, the snapshot */
    uint64_t idf_generation;
    uint64_t idf_fingerprint;
    uint64_t epoch;         /* candidates searches so far, for visit marks */
    size_t posting_entries; /* entries over all postings lists */
    size_t record_bytes;    /* sum of the records' bytes */
    size_t idf_bytes;
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

static void s_double_destroy(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
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
    self->idf = zhashx_new();
    zhashx_set_destructor(self->idf, s_double_destroy);
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
    zhashx_destroy(&self->idf);
    free(self);
    *self_p = NULL;
}

/* ---------------------------------------------------------------------------
 * Records */

/* malloc's usual overhead, for the memory estimate. */
static size_t s_heap(size_t bytes)
{
    return bytes + 16;
}

static size_t s_str_bytes(const char *text)
{
    return s_heap(strlen(text) + 1);
}

static int s_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool s_terms_has(const match_terms_t *terms, const char *code)
{
    return bsearch(&code, terms->items, terms->size, sizeof(char *), s_strcmp_p) != NULL;
}

/* Copies codes into a sorted, distinct set, leaving out empty strings. */
static void s_terms_copy(match_terms_t *terms, char *const *codes, size_t count)
{
    terms->items = (char **)calloc(count ? count : 1, sizeof(char *));
    assert(terms->items);
    terms->size = 0;
    terms->weights = NULL;
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
    free(terms->weights);
    terms->items = NULL;
    terms->weights = NULL;
    terms->size = 0;
}

static size_t s_terms_bytes(const match_terms_t *terms)
{
    size_t bytes = s_heap((terms->size ? terms->size : 1) * sizeof(char *));
    for (size_t i = 0; i < terms->size; i++)
        bytes += s_str_bytes(terms->items[i]);
    if (terms->weights)
        bytes += s_heap(terms->size * sizeof(double));
    return bytes;
}

static double s_idf_of(const match_index_t *self, const char *tag)
{
    const double *weight = (const double *)zhashx_lookup(self->idf, tag);
    return weight ? *weight : 1.0; /* unseen: as rare as the rarest */
}

static void s_terms_weigh(const match_index_t *self, match_terms_t *terms)
{
    if (!terms->weights) {
        terms->weights = (double *)calloc(terms->size ? terms->size : 1, sizeof(double));
        assert(terms->weights);
    }
    for (size_t i = 0; i < terms->size; i++)
        terms->weights[i] = s_idf_of(self, terms->items[i]);
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

/* Fills the four NACE level sets by walking each code's parent links. A code the
 * taxonomy does not know counts at class level only. */
static void s_nace_levels(const match_index_t *self, match_entity_t *entity)
{
    size_t n = entity->nace.size;
    char **levels[4];
    size_t counts[4] = {0, 0, 0, 0};
    for (size_t l = 0; l < 4; l++) {
        levels[l] = (char **)calloc(n ? n : 1, sizeof(char *));
        assert(levels[l]);
    }
    static const char *const names[4] = {"class", "group", "division", "section"};
    for (size_t i = 0; i < n; i++) {
        const char *code = entity->nace.items[i];
        const ls_nace_t *entry = ls_taxonomy_nace(self->taxonomy, code);
        if (!entry) {
            levels[0][counts[0]++] = (char *)code;
            continue;
        }
        for (int guard = 0; entry && guard < 4; guard++) {
            for (size_t l = 0; l < 4; l++)
                if (strcmp(entry->level, names[l]) == 0)
                    levels[l][counts[l]++] = (char *)entry->code;
            entry = *entry->parent ? ls_taxonomy_nace(self->taxonomy, entry->parent) : NULL;
        }
    }
    match_terms_t *sets[4] = {&entity->nace_class, &entity->nace_group, &entity->nace_division,
                              &entity->nace_section};
    for (size_t l = 0; l < 4; l++) {
        s_terms_copy(sets[l], levels[l], counts[l]);
        free(levels[l]);
    }
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

/* "Lapland, Kainuu and Västerbotten" from the (sorted) target codes. */
static char *s_regions_text(const match_index_t *self, const match_terms_t *targets)
{
    size_t size = 1;
    for (size_t i = 0; i < targets->size; i++) {
        const ls_region_t *known = ls_taxonomy_region(self->taxonomy, targets->items[i]);
        size += strlen(known ? known->name : targets->items[i]) + 5;
    }
    char *text = (char *)calloc(size, 1);
    assert(text);
    for (size_t i = 0; i < targets->size; i++) {
        const ls_region_t *known = ls_taxonomy_region(self->taxonomy, targets->items[i]);
        if (i > 0)
            strcat(text, i + 1 == targets->size ? " and " : ", ");
        strcat(text, known ? known->name : targets->items[i]);
    }
    return text;
}

/* Trimmed and lower-cased (ASCII), for the same-organisation filter. */
static char *s_organisation_key(const char *name)
{
    while (*name && isspace((unsigned char)*name))
        name++;
    size_t len = strlen(name);
    while (len > 0 && isspace((unsigned char)name[len - 1]))
        len--;
    char *key = (char *)malloc(len + 1);
    assert(key);
    for (size_t i = 0; i < len; i++)
        key[i] = (char)tolower((unsigned char)name[i]);
    key[len] = '\0';
    return key;
}

static void s_organisation_set(match_entity_t *entity, const char *organisation)
{
    entity->organisation = s_strdup(organisation);
    entity->organisation_key = s_organisation_key(entity->organisation);
}

static void s_money_set(match_money_t *money, const ls_money_range_pb *range)
{
    money->min_eur = range ? range->min_eur : 0;
    money->max_eur = range ? range->max_eur : 0;
    money->stated = money->min_eur > 0 || money->max_eur > 0;
}

static unsigned s_instruments(const Lodestone__V1__Instrument *list, size_t count)
{
    unsigned bits = 0;
    for (size_t i = 0; i < count; i++)
        if (list[i] > 0 && list[i] < 32)
            bits |= 1u << list[i];
    return bits;
}

static void s_from_sme(const match_index_t *self, match_entity_t *entity, const ls_sme_pb *sme)
{
    entity->kind = S_SME;
    entity->id = s_strdup(sme->id);
    entity->version = sme->version;
    entity->state = sme->state;
    entity->consent = sme->consent_match;
    entity->name = s_strdup(sme->name);
    s_organisation_set(entity, sme->name);
    s_region_set(self, entity, sme->region, sme->country);
    s_terms_copy(&entity->stages, sme->stages, sme->n_stages);
    s_materials_expand(self, entity, sme->materials, sme->n_materials);
    s_terms_copy(&entity->nace, sme->nace, sme->n_nace);
    s_terms_copy(&entity->capabilities, sme->capabilities, sme->n_capabilities);
    s_terms_copy(&entity->required_capabilities, NULL, 0);
    s_terms_copy(&entity->themes, sme->themes, sme->n_themes);
    s_terms_copy(&entity->target_regions, NULL, 0);
    entity->trl = sme->trl;
    entity->deadline = s_strdup("");
    s_money_set(&entity->money, sme->funding_sought);
    entity->instruments = s_instruments(sme->instruments, sme->n_instruments);
}

static void s_from_investor(const match_index_t *self, match_entity_t *entity,
                            const ls_investor_pb *investor)
{
    entity->kind = S_INVESTOR;
    entity->id = s_strdup(investor->id);
    entity->version = investor->version;
    entity->state = investor->state;
    entity->consent = investor->consent_match;
    entity->name = s_strdup(investor->name);
    s_organisation_set(entity, investor->name);
    s_region_set(self, entity, investor->region, NULL);
    s_terms_copy(&entity->stages, investor->stages, investor->n_stages);
    s_materials_expand(self, entity, investor->materials, investor->n_materials);
    s_terms_copy(&entity->nace, NULL, 0);
    s_terms_copy(&entity->capabilities, NULL, 0);
    s_terms_copy(&entity->required_capabilities, NULL, 0);
    s_terms_copy(&entity->themes, investor->themes, investor->n_themes);
    s_terms_copy(&entity->target_regions, investor->target_regions, investor->n_target_regions);
    entity->trl_min = investor->trl_min;
    entity->trl_max = investor->trl_max;
    entity->deadline = s_strdup("");
    s_money_set(&entity->money, investor->ticket);
    entity->instruments = s_instruments(investor->instruments, investor->n_instruments);
}

static void s_from_opportunity(const match_index_t *self, match_entity_t *entity,
                               const ls_opportunity_pb *opportunity)
{
    entity->kind = S_OPPORTUNITY;
    entity->id = s_strdup(opportunity->id);
    entity->version = opportunity->version;
    entity->state = opportunity->state;
    entity->consent = true;
    entity->closed = opportunity->status != LODESTONE__V1__OPPORTUNITY__STATUS__OPEN;
    entity->opportunity_kind = opportunity->kind;
    const char *title = opportunity->title;
    entity->name = s_strdup(title && *title ? title : opportunity->organisation);
    s_organisation_set(entity, opportunity->organisation);
    s_region_set(self, entity, opportunity->region, NULL);
    s_terms_copy(&entity->stages, opportunity->stages, opportunity->n_stages);
    s_materials_expand(self, entity, opportunity->materials, opportunity->n_materials);
    s_terms_copy(&entity->nace, opportunity->nace, opportunity->n_nace);
    s_terms_copy(&entity->capabilities, opportunity->nice_capabilities,
                 opportunity->n_nice_capabilities);
    s_terms_copy(&entity->required_capabilities, opportunity->required_capabilities,
                 opportunity->n_required_capabilities);
    s_terms_copy(&entity->themes, opportunity->themes, opportunity->n_themes);
    s_terms_copy(&entity->target_regions, NULL, 0);
    entity->trl_min = opportunity->trl_min;
    entity->deadline = s_strdup(opportunity->deadline);
    s_money_set(&entity->money, opportunity->budget);
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

static size_t s_record_bytes(const match_entity_t *self)
{
    size_t bytes = s_heap(sizeof *self);
    const char *strings[] = {self->id,           self->name,
                             self->organisation, self->organisation_key,
                             self->region,       self->region_name,
                             self->country,      self->materials_version,
                             self->deadline,     self->target_regions_text};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        bytes += s_str_bytes(strings[i]);
    const match_terms_t *sets[] = {&self->stages,        &self->nace,
                                   &self->nace_class,    &self->nace_group,
                                   &self->nace_division, &self->nace_section,
                                   &self->capabilities,  &self->required_capabilities,
                                   &self->themes,        &self->target_regions};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        bytes += s_terms_bytes(sets[i]);
    bytes += s_heap((self->material_count ? self->material_count : 1) * sizeof *self->materials);
    for (size_t i = 0; i < self->material_count; i++)
        bytes += s_str_bytes(self->materials[i].code) + s_str_bytes(self->materials[i].label);
    return bytes;
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
    self->active = self->state == LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_ACTIVE &&
                   self->consent && !self->closed;
    s_nace_levels(index, self);
    self->target_regions_text = s_regions_text(index, &self->target_regions);
    s_terms_weigh(index, &self->capabilities);
    s_terms_weigh(index, &self->required_capabilities);
    self->idf_generation = index->idf_generation;
    self->bytes = s_record_bytes(self);
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
    free(self->organisation);
    free(self->organisation_key);
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
    s_terms_free(&self->nace_class);
    s_terms_free(&self->nace_group);
    s_terms_free(&self->nace_division);
    s_terms_free(&self->nace_section);
    s_terms_free(&self->capabilities);
    s_terms_free(&self->required_capabilities);
    s_terms_free(&self->themes);
    s_terms_free(&self->target_regions);
    free(self->target_regions_text);
    free(self->deadline);
    free(self->req_key);
    free(self);
    *self_p = NULL;
}

/* ---------------------------------------------------------------------------
 * The candidate rule, as a predicate */

static bool s_terms_meet(const match_terms_t *a, const match_terms_t *b)
{
    for (size_t i = 0, j = 0; i < a->size && j < b->size;) {
        int order = strcmp(a->items[i], b->items[j]);
        if (order == 0)
            return true;
        i += order < 0;
        j += order > 0;
    }
    return false;
}

/* Every item of part is in whole. */
static bool s_terms_within(const match_terms_t *part, const match_terms_t *whole)
{
    size_t j = 0;
    for (size_t i = 0; i < part->size; i++) {
        while (j < whole->size && strcmp(whole->items[j], part->items[i]) < 0)
            j++;
        if (j == whole->size || strcmp(whole->items[j], part->items[i]) != 0)
            return false;
    }
    return true;
}

static bool s_materials_meet(const match_entity_t *a, const match_entity_t *b)
{
    for (size_t i = 0, j = 0; i < a->material_count && j < b->material_count;) {
        int order = strcmp(a->materials[i].code, b->materials[j].code);
        if (order == 0)
            return true;
        i += order < 0;
        j += order > 0;
    }
    return false;
}

/* Asks for money from investors: an SME that states the funding it seeks, or an
 * investment case. */
static bool s_seeker(const match_entity_t *entity)
{
    return (entity->kind == S_SME && entity->money.stated) ||
           (entity->kind == S_OPPORTUNITY &&
            entity->opportunity_kind == LODESTONE__V1__OPPORTUNITY__KIND__INVESTMENT_CASE);
}

static bool s_funding_pair(const match_entity_t *investor, const match_entity_t *seeker)
{
    if (!s_seeker(seeker))
        return false;
    if (investor->target_regions.size > 0 &&
        !s_terms_has(&investor->target_regions, seeker->region))
        return false;
    if (investor->material_count > 0)
        return s_materials_meet(investor, seeker);
    return s_terms_meet(&investor->stages, &seeker->stages);
}

static bool s_supply_pair(const match_entity_t *sme, const match_entity_t *opportunity)
{
    if (opportunity->required_capabilities.size > 0)
        return s_terms_within(&opportunity->required_capabilities, &sme->capabilities);
    return s_materials_meet(sme, opportunity) ||
           s_terms_meet(&sme->capabilities, &opportunity->capabilities) ||
           s_terms_meet(&sme->nace_group, &opportunity->nace_group);
}

bool match_index_is_candidate(const match_entity_t *a, const match_entity_t *b)
{
    assert(a);
    assert(b);
    if (strcmp(a->id, b->id) == 0)
        return false;
    if (a->kind == S_INVESTOR && b->kind != S_INVESTOR)
        return s_funding_pair(a, b);
    if (b->kind == S_INVESTOR && a->kind != S_INVESTOR)
        return s_funding_pair(b, a);
    if (a->kind == S_SME && b->kind == S_OPPORTUNITY)
        return s_supply_pair(a, b);
    if (a->kind == S_OPPORTUNITY && b->kind == S_SME)
        return s_supply_pair(b, a);
    return false;
}

/* ---------------------------------------------------------------------------
 * Postings. Every key an entity is posted under is produced by s_each_posting, so
 * adding and removing always agree. */

typedef void(s_posting_fn)(match_index_t *self, const char *key, void *arg);

static void s_key(match_index_t *self, s_posting_fn *fn, void *arg, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static void s_key(match_index_t *self, s_posting_fn *fn, void *arg, const char *format, ...)
{
    char key[S_KEY_MAX];
    va_list args;
    va_start(args, format);
    int len = vsnprintf(key, sizeof key, format, args);
    va_end(args);
    if (len > 0 && (size_t)len < sizeof key) /* a longer value cannot be posted */
        fn(self, key, arg);
}

/* A seeker's values under "fund:<where>|m:<material>" and "|s:<stage>", for its
 * region and for "*" (investors that target any region). */
static void s_seeker_keys(match_index_t *self, const match_entity_t *entity, const char *kind,
                          s_posting_fn *fn, void *arg)
{
    const char *wheres[2] = {"*", entity->region};
    for (size_t w = 0; w < (*entity->region ? 2u : 1u); w++) {
        for (size_t i = 0; i < entity->material_count; i++)
            s_key(self, fn, arg, "%s|fund:%s|m:%s", kind, wheres[w], entity->materials[i].code);
        for (size_t i = 0; i < entity->stages.size; i++)
            s_key(self, fn, arg, "%s|fund:%s|s:%s", kind, wheres[w], entity->stages.items[i]);
    }
}

/* An investor's keys: each target region (or "*") times each material (or, with no
 * material, each stage), under `kind` (the investor's own when posting, the wanted
 * kind when searching). */
static void s_investor_keys(match_index_t *self, const match_entity_t *investor, const char *kind,
                            s_posting_fn *fn, void *arg)
{
    size_t targets = investor->target_regions.size;
    for (size_t t = 0; t < (targets ? targets : 1); t++) {
        const char *where = targets ? investor->target_regions.items[t] : "*";
        if (investor->material_count > 0)
            for (size_t i = 0; i < investor->material_count; i++)
                s_key(self, fn, arg, "%s|fund:%s|m:%s", kind, where, investor->materials[i].code);
        else
            for (size_t i = 0; i < investor->stages.size; i++)
                s_key(self, fn, arg, "%s|fund:%s|s:%s", kind, where, investor->stages.items[i]);
    }
}

/* The keys entity is posted under. */
static void s_each_posting(match_index_t *self, const match_entity_t *entity, s_posting_fn *fn,
                           void *arg)
{
    const char *kind = ls_entity_kind_name(entity->kind);
    if (entity->kind == S_INVESTOR) {
        s_investor_keys(self, entity, kind, fn, arg);
        return;
    }
    if (s_seeker(entity))
        s_seeker_keys(self, entity, kind, fn, arg);
    if (entity->kind == S_OPPORTUNITY && entity->required_capabilities.size > 0) {
        if (entity->req_key)
            s_key(self, fn, arg, "%s|req:%s", kind, entity->req_key);
        return;
    }
    /* An SME, or an opportunity without required capabilities ("free"). */
    const char *facet = entity->kind == S_SME ? "" : "free-";
    for (size_t i = 0; i < entity->material_count; i++)
        s_key(self, fn, arg, "%s|%smaterial:%s", kind, facet, entity->materials[i].code);
    for (size_t i = 0; i < entity->capabilities.size; i++)
        s_key(self, fn, arg, "%s|%scap:%s", kind, facet, entity->capabilities.items[i]);
    for (size_t i = 0; i < entity->nace_group.size; i++)
        s_key(self, fn, arg, "%s|%snace:%s", kind, facet, entity->nace_group.items[i]);
}

static void s_posting_add(match_index_t *self, const char *key, void *arg)
{
    match_entity_t *entity = (match_entity_t *)arg;
    zhashx_t *set = (zhashx_t *)zhashx_lookup(self->postings, key);
    if (!set) {
        set = zhashx_new();
        /* Keys are the records' own ids: a record leaves its postings before it dies. */
        zhashx_set_key_duplicator(set, NULL);
        zhashx_set_key_destructor(set, NULL);
        zhashx_insert(self->postings, key, set);
    }
    if (zhashx_insert(set, entity->id, entity) == 0)
        self->posting_entries++;
}

static void s_posting_remove(match_index_t *self, const char *key, void *arg)
{
    const match_entity_t *entity = (const match_entity_t *)arg;
    zhashx_t *set = (zhashx_t *)zhashx_lookup(self->postings, key);
    if (!set || !zhashx_lookup(set, entity->id))
        return;
    zhashx_delete(set, entity->id);
    self->posting_entries--;
    if (zhashx_size(set) == 0)
        zhashx_delete(self->postings, key);
}

static size_t s_sme_tag_count(match_index_t *self, const char *tag)
{
    char key[S_KEY_MAX];
    snprintf(key, sizeof key, "sme|cap:%s", tag);
    zhashx_t *set = (zhashx_t *)zhashx_lookup(self->postings, key);
    return set ? zhashx_size(set) : 0;
}

/* The required tag fewest SMEs hold now: SMEs look the opportunity up under it. Any
 * required tag would be correct, since a candidate SME holds all of them. */
static void s_choose_req_key(match_index_t *self, match_entity_t *opportunity)
{
    const match_terms_t *required = &opportunity->required_capabilities;
    size_t best = 0, best_size = SIZE_MAX;
    for (size_t i = 0; i < required->size; i++) {
        size_t size = s_sme_tag_count(self, required->items[i]);
        if (size < best_size) {
            best = i;
            best_size = size;
        }
    }
    opportunity->req_key = s_strdup(required->items[best]);
    opportunity->bytes += s_str_bytes(opportunity->req_key);
}

/* ---------------------------------------------------------------------------
 * Operations */

int match_index_remove(match_index_t *self, const char *id)
{
    assert(self);
    match_entity_t *entity = (match_entity_t *)zhashx_lookup(self->entities, id);
    if (!entity)
        return -1;
    s_each_posting(self, entity, s_posting_remove, entity);
    self->record_bytes -= entity->bytes;
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
    if (record->kind == S_OPPORTUNITY && record->required_capabilities.size > 0)
        s_choose_req_key(self, record);
    zhashx_insert(self->entities, record->id, record);
    self->record_bytes += record->bytes;
    s_each_posting(self, record, s_posting_add, record);
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

size_t match_index_memory(const match_index_t *self)
{
    assert(self);
    size_t entities = zhashx_size(self->entities);
    return sizeof *self + self->record_bytes + entities * S_POSTING_ENTRY_BYTES +
           self->posting_entries * S_POSTING_ENTRY_BYTES +
           zhashx_size(self->postings) * (S_POSTING_LIST_BYTES + 48) + self->idf_bytes;
}

/* ---------------------------------------------------------------------------
 * Candidates */

typedef struct {
    const match_entity_t *subject;
    s_kind_t wanted;
    bool check; /* the lists are a superset: apply the predicate */
    uint64_t mark;
    match_index_visit_fn *visit;
    void *arg;
    size_t count;
} s_search_t;

static void s_visit_set(s_search_t *search, zhashx_t *set)
{
    for (match_entity_t *candidate = (match_entity_t *)zhashx_first(set); candidate;
         candidate = (match_entity_t *)zhashx_next(set)) {
        if (candidate->visit_mark == search->mark || candidate->kind != search->wanted)
            continue;
        candidate->visit_mark = search->mark; /* seen through another facet value */
        if (strcmp(candidate->id, search->subject->id) == 0)
            continue;
        if (search->check && !match_index_is_candidate(search->subject, candidate))
            continue;
        search->visit(candidate, search->arg);
        search->count++;
    }
}

static void s_visit_key(match_index_t *self, const char *key, void *arg)
{
    zhashx_t *set = (zhashx_t *)zhashx_lookup(self->postings, key);
    if (set)
        s_visit_set((s_search_t *)arg, set);
}

/* An opportunity with required capabilities: the shortest SME list of its tags. */
static void s_search_required(match_index_t *self, s_search_t *search)
{
    const match_terms_t *required = &search->subject->required_capabilities;
    zhashx_t *best = NULL;
    for (size_t i = 0; i < required->size; i++) {
        char key[S_KEY_MAX];
        snprintf(key, sizeof key, "sme|cap:%s", required->items[i]);
        zhashx_t *set = (zhashx_t *)zhashx_lookup(self->postings, key);
        if (!set)
            return; /* no SME holds this tag */
        if (!best || zhashx_size(set) < zhashx_size(best))
            best = set;
    }
    search->check = true;
    if (best)
        s_visit_set(search, best);
}

static void s_search_supply(match_index_t *self, s_search_t *search)
{
    const match_entity_t *subject = search->subject;
    if (subject->kind == S_OPPORTUNITY) {
        if (subject->required_capabilities.size > 0) {
            s_search_required(self, search);
            return;
        }
        for (size_t i = 0; i < subject->material_count; i++)
            s_key(self, s_visit_key, search, "sme|material:%s", subject->materials[i].code);
        for (size_t i = 0; i < subject->capabilities.size; i++)
            s_key(self, s_visit_key, search, "sme|cap:%s", subject->capabilities.items[i]);
        for (size_t i = 0; i < subject->nace_group.size; i++)
            s_key(self, s_visit_key, search, "sme|nace:%s", subject->nace_group.items[i]);
        return;
    }
    /* An SME: opportunities posted under one of its tags (then checked: they may
     * require more), and free opportunities sharing a selective value. */
    search->check = true;
    for (size_t i = 0; i < subject->capabilities.size; i++)
        s_key(self, s_visit_key, search, "opportunity|req:%s", subject->capabilities.items[i]);
    for (size_t i = 0; i < subject->material_count; i++)
        s_key(self, s_visit_key, search, "opportunity|free-material:%s",
              subject->materials[i].code);
    for (size_t i = 0; i < subject->capabilities.size; i++)
        s_key(self, s_visit_key, search, "opportunity|free-cap:%s", subject->capabilities.items[i]);
    for (size_t i = 0; i < subject->nace_group.size; i++)
        s_key(self, s_visit_key, search, "opportunity|free-nace:%s", subject->nace_group.items[i]);
}

size_t match_index_candidates(match_index_t *self, const match_entity_t *subject,
                              Lodestone__V1__EntityKind wanted, match_index_visit_fn *visit,
                              void *arg)
{
    assert(self);
    assert(subject);
    assert(visit);
    s_search_t search = {subject, wanted, false, ++self->epoch, visit, arg, 0};
    bool supply = (subject->kind == S_SME && wanted == S_OPPORTUNITY) ||
                  (subject->kind == S_OPPORTUNITY && wanted == S_SME);
    if (supply)
        s_search_supply(self, &search);
    else if (subject->kind == S_INVESTOR && (wanted == S_SME || wanted == S_OPPORTUNITY))
        s_investor_keys(self, subject, ls_entity_kind_name(wanted), s_visit_key, &search);
    else if (wanted == S_INVESTOR && s_seeker(subject))
        s_seeker_keys(self, subject, "investor", s_visit_key, &search);
    return search.count;
}

size_t match_index_counterparts(match_index_t *self, const match_entity_t *subject,
                                match_index_visit_fn *visit, void *arg)
{
    static const s_kind_t kinds[] = {S_SME, S_INVESTOR, S_OPPORTUNITY};
    size_t count = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        count += match_index_candidates(self, subject, kinds[i], visit, arg);
    return count;
}

/* ---------------------------------------------------------------------------
 * IDF snapshot */

static void s_df_count(zhashx_t *df, const match_terms_t *terms, const match_terms_t *skip)
{
    for (size_t i = 0; i < terms->size; i++) {
        if (skip && s_terms_has(skip, terms->items[i]))
            continue; /* counted once per entity */
        size_t count = (size_t)zhashx_lookup(df, terms->items[i]);
        zhashx_update(df, terms->items[i], (void *)(count + 1));
    }
}

static uint64_t s_fnv(uint64_t hash, const void *data, size_t len)
{
    const unsigned char *bytes = (const unsigned char *)data;
    for (size_t i = 0; i < len; i++) {
        hash ^= bytes[i];
        hash *= 1099511628211ULL;
    }
    return hash;
}

/* Re-weights every record from the snapshot and starts a new generation. */
static void s_reweigh(match_index_t *self, uint64_t fingerprint)
{
    self->idf_generation++;
    self->idf_fingerprint = fingerprint ? fingerprint : 1;
    for (match_entity_t *entity = (match_entity_t *)zhashx_first(self->entities); entity;
         entity = (match_entity_t *)zhashx_next(self->entities)) {
        s_terms_weigh(self, &entity->capabilities);
        s_terms_weigh(self, &entity->required_capabilities);
        entity->idf_generation = self->idf_generation;
    }
}

uint64_t match_index_refresh_idf(match_index_t *self)
{
    assert(self);
    zhashx_t *df = zhashx_new(); /* tag -> count, as a pointer-sized integer */
    size_t n = 0;
    for (match_entity_t *entity = (match_entity_t *)zhashx_first(self->entities); entity;
         entity = (match_entity_t *)zhashx_next(self->entities)) {
        if (entity->kind == S_INVESTOR)
            continue;
        n++;
        s_df_count(df, &entity->required_capabilities, NULL);
        s_df_count(df, &entity->capabilities, &entity->required_capabilities);
    }
    /* Sorted, so the fingerprint does not depend on hash order. */
    zlistx_t *tags = zhashx_keys(df);
    zlistx_set_comparator(tags, (zlistx_comparator_fn *)strcmp);
    zlistx_sort(tags);
    size_t df_min = SIZE_MAX;
    for (const char *tag = (const char *)zlistx_first(tags); tag;
         tag = (const char *)zlistx_next(tags)) {
        size_t count = (size_t)zhashx_lookup(df, tag);
        if (count < df_min)
            df_min = count;
    }
    double top = df_min == SIZE_MAX ? 1.0 : log(1.0 + (double)n / (double)df_min);
    zhashx_purge(self->idf);
    self->idf_bytes = 0;
    uint64_t fingerprint = s_fnv(14695981039346656037ULL, &(uint64_t){n}, sizeof(uint64_t));
    for (const char *tag = (const char *)zlistx_first(tags); tag;
         tag = (const char *)zlistx_next(tags)) {
        uint64_t count = (uint64_t)(size_t)zhashx_lookup(df, tag);
        double *weight = (double *)malloc(sizeof *weight);
        assert(weight);
        *weight = log(1.0 + (double)n / (double)count) / top;
        zhashx_insert(self->idf, tag, weight);
        self->idf_bytes += s_heap(sizeof *weight) + s_str_bytes(tag) + S_POSTING_ENTRY_BYTES;
        fingerprint = s_fnv(fingerprint, tag, strlen(tag) + 1);
        fingerprint = s_fnv(fingerprint, &count, sizeof count);
    }
    zlistx_destroy(&tags);
    zhashx_destroy(&df);
    s_reweigh(self, fingerprint);
    return self->idf_generation;
}

uint64_t match_index_load_idf(match_index_t *self, const char *const *tags, const double *weights,
                              size_t count, uint64_t fingerprint)
{
    assert(self);
    zhashx_purge(self->idf);
    self->idf_bytes = 0;
    for (size_t i = 0; i < count; i++) {
        double *weight = (double *)malloc(sizeof *weight);
        assert(weight);
        *weight = weights[i];
        zhashx_insert(self->idf, tags[i], weight);
        self->idf_bytes += s_heap(sizeof *weight) + s_str_bytes(tags[i]) + S_POSTING_ENTRY_BYTES;
    }
    s_reweigh(self, fingerprint);
    return self->idf_generation;
}

void match_index_idf_each(const match_index_t *self,
                          void (*visit)(const char *tag, double weight, void *arg), void *arg)
{
    for (double *w = (double *)zhashx_first(self->idf); w; w = (double *)zhashx_next(self->idf))
        visit((const char *)zhashx_cursor(self->idf), *w, arg);
}

uint64_t match_index_idf_generation(const match_index_t *self)
{
    assert(self);
    return self->idf_generation;
}

uint64_t match_index_idf_fingerprint(const match_index_t *self)
{
    assert(self);
    return self->idf_fingerprint;
}

double match_index_idf(const match_index_t *self, const char *tag)
{
    assert(self);
    return s_idf_of(self, tag);
}
