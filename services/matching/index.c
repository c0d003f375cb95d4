/* index.c — the matching service's inverted index: private facet records of the
 * active entities, postings lists from "kind|facet:value" to the entities that carry
 * that value, the IDF snapshot of capability tags, and the intern table that numbers
 * every code a record holds so that scoring compares integers. See index.h for the
 * contract, the candidate rule and the costs. */
#include "index.h"

#include "ls_entity.h"
#include "ls_util.h"

#include <assert.h>
#include <ctype.h>
#include <czmq.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define S_KEY_MAX 512

/* Estimated heap bytes of one zhashx entry: its item and its share of the buckets. */
#define S_MAP_ENTRY_BYTES 64

typedef Lodestone__V1__EntityKind s_kind_t;
#define S_SME LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME
#define S_INVESTOR LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_INVESTOR
#define S_OPPORTUNITY LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY

/* The intern table: each code any record holds, numbered from 1. An entry counts the
 * records that hold it and goes with the last; its number is then reused. The table
 * itself goes when neither the index nor any record holds it (a record from
 * match_entity_new may outlive its index). */
typedef struct {
    char *code;         /* NULL when the number is free */
    uint32_t refs;      /* holdings by records (a record may hold a code twice) */
    uint32_t next_free; /* when free: the next free number, 0 = none */
} s_interned_t;

typedef struct _match_intern_t {
    zhashx_t *numbers;     /* code -> number (as a pointer); keys are the entries' codes */
    s_interned_t *entries; /* by number; entry 0 unused */
    uint32_t size;         /* numbers handed out, plus 1 */
    uint32_t capacity;     /* entries allocated */
    uint32_t free;         /* first free number, 0 = none */
    size_t holders;        /* the index and its records */
    size_t bytes;          /* heap bytes of the live entries and the array */
} match_intern_t;

/* A postings list: the records posted under one key, in no order. Each entry knows
 * which of its record's postings it is, so that a removal (swap with the last) can
 * tell the moved record its new place, and carries the record's capability mask for
 * the supply rule (s_supply_mask), so that most non-candidates are passed over
 * without reading the record. */
typedef struct {
    match_entity_t *entity;
    uint64_t supply_mask;
    uint64_t materials_mask; /* the record's, for a gated search */
    size_t slot;             /* into entity->postings */
} s_entry_t;

typedef struct {
    char *key; /* "kind|facet:value", also the postings map's key */
    s_entry_t *entries;
    size_t size;
    size_t capacity;
} s_list_t;

/* One of a record's postings: the list and its place in it. */
typedef struct _match_posting_t {
    s_list_t *list;
    size_t at;
} match_posting_t;

struct _match_index_t {
    const ls_taxonomy_t *taxonomy; /* not owned */
    match_intern_t *intern;        /* shared with the records: reached through const */
    zhashx_t *entities;            /* id -> match_entity_t *, owned */
    zhashx_t *postings;            /* "kind|facet:value" -> s_list_t *, owned */
    zhashx_t *idf;                 /* tag -> double *, the snapshot */
    uint64_t idf_generation;
    uint64_t idf_fingerprint;
    uint32_t epochs[MATCH_SEARCH_LANES]; /* searches so far per lane, for visit marks */
    pthread_mutex_t lookup_lock;         /* zhashx lookups write a cache: one at a time */
    size_t posting_entries;              /* entries over all postings lists */
    size_t posting_bytes;                /* the lists and the records' posting arrays */
    size_t record_bytes;                 /* sum of the records' bytes */
    size_t idf_bytes;
};

static char *s_strdup(const char *text)
{
    char *copy = strdup(text ? text : "");
    assert(copy);
    return copy;
}

/* malloc's usual overhead, for the memory estimate. */
static size_t s_heap(size_t bytes)
{
    return bytes + 16;
}

static size_t s_str_bytes(const char *text)
{
    return s_heap(strlen(text) + 1);
}

/* ---------------------------------------------------------------------------
 * Intern table */

static match_intern_t *s_intern_new(void)
{
    match_intern_t *self = (match_intern_t *)calloc(1, sizeof *self);
    assert(self);
    self->numbers = zhashx_new();
    assert(self->numbers);
    zhashx_set_key_duplicator(self->numbers, NULL);
    zhashx_set_key_destructor(self->numbers, NULL);
    self->size = 1;
    self->holders = 1;
    return self;
}

/* Drops one holder; the last frees the table. */
static void s_intern_drop(match_intern_t **self_p)
{
    match_intern_t *self = *self_p;
    *self_p = NULL;
    if (!self || --self->holders > 0)
        return;
    for (uint32_t id = 1; id < self->size; id++)
        free(self->entries[id].code);
    zhashx_destroy(&self->numbers);
    free(self->entries);
    free(self);
}

/* The number of code (not ""), taking one holding of it; *stored is the table's copy,
 * valid while the holding lasts. */
static uint32_t s_intern(match_intern_t *self, const char *code, const char **stored)
{
    assert(code && *code);
    uint32_t id = (uint32_t)(uintptr_t)zhashx_lookup(self->numbers, code);
    if (!id) {
        if (self->free) {
            id = self->free;
            self->free = self->entries[id].next_free;
        } else {
            if (self->size >= self->capacity) {
                size_t before = self->capacity ? s_heap(self->capacity * sizeof *self->entries) : 0;
                self->capacity = self->capacity ? self->capacity * 2 : 64;
                self->entries =
                    (s_interned_t *)realloc(self->entries, self->capacity * sizeof *self->entries);
                assert(self->entries);
                self->bytes += s_heap(self->capacity * sizeof *self->entries) - before;
            }
            assert(self->size < UINT32_MAX);
            id = self->size++;
        }
        s_interned_t *entry = &self->entries[id];
        entry->code = s_strdup(code);
        entry->refs = 0;
        entry->next_free = 0;
        zhashx_insert(self->numbers, entry->code, (void *)(uintptr_t)id);
        self->bytes += s_str_bytes(code) + S_MAP_ENTRY_BYTES;
    }
    s_interned_t *entry = &self->entries[id];
    entry->refs++;
    if (stored)
        *stored = entry->code;
    return id;
}

/* Gives back one holding of number id (0: none); the last frees the entry, and the
 * last entry the array, so that an emptied index holds no intern memory. */
static void s_intern_release(match_intern_t *self, uint32_t id)
{
    if (id == 0)
        return;
    assert(id < self->size && self->entries[id].refs > 0);
    s_interned_t *entry = &self->entries[id];
    if (--entry->refs > 0)
        return;
    zhashx_delete(self->numbers, entry->code);
    self->bytes -= s_str_bytes(entry->code) + S_MAP_ENTRY_BYTES;
    free(entry->code);
    entry->code = NULL;
    entry->next_free = self->free;
    self->free = id;
    if (zhashx_size(self->numbers) == 0) {
        free(self->entries);
        self->entries = NULL;
        self->size = 1;
        self->capacity = 0;
        self->free = 0;
        self->bytes = 0;
    }
}

static void s_list_destroy(void **item_p)
{
    s_list_t *list = (s_list_t *)*item_p;
    if (list) {
        free(list->entries);
        free(list->key);
        free(list);
    }
    *item_p = NULL;
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
    self->intern = s_intern_new();
    self->entities = zhashx_new();
    zhashx_set_destructor(self->entities, s_entity_item_destroy);
    self->postings = zhashx_new();
    /* A list's key is its own copy: freed with the list. */
    zhashx_set_key_duplicator(self->postings, NULL);
    zhashx_set_key_destructor(self->postings, NULL);
    zhashx_set_destructor(self->postings, s_list_destroy);
    self->idf = zhashx_new();
    zhashx_set_destructor(self->idf, s_double_destroy);
    pthread_mutex_init(&self->lookup_lock, NULL);
    return self;
}

void match_index_destroy(match_index_t **self_p)
{
    assert(self_p);
    match_index_t *self = *self_p;
    if (!self)
        return;
    /* Postings point at records, so they go first; records hold the intern table. */
    for (match_entity_t *entity = (match_entity_t *)zhashx_first(self->entities); entity;
         entity = (match_entity_t *)zhashx_next(self->entities)) {
        free(entity->postings);
        entity->postings = NULL;
        entity->posting_count = entity->posting_capacity = 0;
    }
    zhashx_destroy(&self->postings);
    zhashx_destroy(&self->entities);
    zhashx_destroy(&self->idf);
    s_intern_drop(&self->intern);
    pthread_mutex_destroy(&self->lookup_lock);
    free(self);
    *self_p = NULL;
}

/* ---------------------------------------------------------------------------
 * Records */

static int s_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Interns codes into a sorted, distinct set, leaving out empty strings. items and ids
 * share one block, ids after items. */
static void s_terms_copy(match_intern_t *intern, match_terms_t *terms, char *const *codes,
                         size_t count)
{
    size_t n = count ? count : 1;
    terms->items = (const char **)calloc(n, sizeof(char *) + sizeof(uint32_t));
    assert(terms->items);
    terms->ids = (uint32_t *)(terms->items + n);
    terms->size = 0;
    terms->mask = 0;
    terms->weights = NULL;
    for (size_t i = 0; i < count; i++)
        if (codes[i] && *codes[i])
            terms->items[terms->size++] = codes[i];
    qsort(terms->items, terms->size, sizeof(char *), s_strcmp_p);
    size_t kept = 0;
    for (size_t i = 0; i < terms->size; i++)
        if (kept == 0 || strcmp(terms->items[kept - 1], terms->items[i]) != 0)
            terms->items[kept++] = terms->items[i];
    terms->size = kept;
    for (size_t i = 0; i < kept; i++) {
        terms->ids[i] = s_intern(intern, terms->items[i], &terms->items[i]);
        terms->mask |= match_id_bit(terms->ids[i]);
    }
}

/* Gives back the set's codes; its arrays go with the record's block. */
static void s_terms_release(match_intern_t *intern, const match_terms_t *terms)
{
    for (size_t i = 0; i < terms->size; i++)
        s_intern_release(intern, terms->ids[i]);
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
    const char **expanded = (const char **)calloc(capacity ? capacity : 1, sizeof(char *));
    assert(expanded);
    size_t size = 0;
    for (size_t i = 0; i < count; i++) {
        if (!codes[i] || !*codes[i])
            continue;
        const ls_material_t *entry = ls_taxonomy_material(self->taxonomy, codes[i]);
        if (entry && entry->n_members > 0)
            for (size_t m = 0; m < entry->n_members; m++)
                expanded[size++] = entry->members[m];
        else
            expanded[size++] = codes[i];
    }
    qsort(expanded, size, sizeof(char *), s_strcmp_p);
    match_material_t *list = (match_material_t *)calloc(size ? size : 1, sizeof *list);
    assert(list);
    size_t kept = 0;
    for (size_t i = 0; i < size; i++) {
        if (kept > 0 && strcmp(list[kept - 1].code, expanded[i]) == 0)
            continue;
        match_material_t *material = &list[kept++];
        material->id = s_intern(self->intern, expanded[i], &material->code);
        entity->materials_mask |= match_id_bit(material->id);
        material->label = s_strdup(material->code);
        for (char *c = material->label; *c; c++)
            if (*c == '-')
                *c = ' ';
        const ls_material_t *entry = ls_taxonomy_material(self->taxonomy, material->code);
        material->critical = entry && entry->critical;
        material->strategic = entry && entry->strategic;
    }
    free(expanded);
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
        assert(code);
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
        s_terms_copy(self->intern, sets[l], levels[l], counts[l]);
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
    entity->region_id = *entity->region ? s_intern(self->intern, entity->region, NULL) : 0;
    entity->country_id = *entity->country ? s_intern(self->intern, entity->country, NULL) : 0;
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

static uint64_t s_fnv(uint64_t hash, const void *data, size_t len)
{
    const unsigned char *bytes = (const unsigned char *)data;
    for (size_t i = 0; i < len; i++) {
        hash ^= bytes[i];
        hash *= 1099511628211ULL;
    }
    return hash;
}

static void s_organisation_set(match_entity_t *entity, const char *organisation)
{
    entity->organisation = s_strdup(organisation);
    entity->organisation_key = s_organisation_key(entity->organisation);
    entity->organisation_hash =
        s_fnv(14695981039346656037ULL, entity->organisation_key, strlen(entity->organisation_key));
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
    s_terms_copy(self->intern, &entity->stages, sme->stages, sme->n_stages);
    s_materials_expand(self, entity, sme->materials, sme->n_materials);
    s_terms_copy(self->intern, &entity->nace, sme->nace, sme->n_nace);
    s_terms_copy(self->intern, &entity->capabilities, sme->capabilities, sme->n_capabilities);
    s_terms_copy(self->intern, &entity->required_capabilities, NULL, 0);
    s_terms_copy(self->intern, &entity->themes, sme->themes, sme->n_themes);
    s_terms_copy(self->intern, &entity->target_regions, NULL, 0);
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
    s_terms_copy(self->intern, &entity->stages, investor->stages, investor->n_stages);
    s_materials_expand(self, entity, investor->materials, investor->n_materials);
    s_terms_copy(self->intern, &entity->nace, NULL, 0);
    s_terms_copy(self->intern, &entity->capabilities, NULL, 0);
    s_terms_copy(self->intern, &entity->required_capabilities, NULL, 0);
    s_terms_copy(self->intern, &entity->themes, investor->themes, investor->n_themes);
    s_terms_copy(self->intern, &entity->target_regions, investor->target_regions,
                 investor->n_target_regions);
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
    s_terms_copy(self->intern, &entity->stages, opportunity->stages, opportunity->n_stages);
    s_materials_expand(self, entity, opportunity->materials, opportunity->n_materials);
    s_terms_copy(self->intern, &entity->nace, opportunity->nace, opportunity->n_nace);
    s_terms_copy(self->intern, &entity->capabilities, opportunity->nice_capabilities,
                 opportunity->n_nice_capabilities);
    s_terms_copy(self->intern, &entity->required_capabilities, opportunity->required_capabilities,
                 opportunity->n_required_capabilities);
    s_terms_copy(self->intern, &entity->themes, opportunity->themes, opportunity->n_themes);
    s_terms_copy(self->intern, &entity->target_regions, NULL, 0);
    entity->trl_min = opportunity->trl_min;
    entity->deadline = s_strdup(opportunity->deadline);
    entity->deadline_key = match_text_key(entity->deadline);
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

/* The record's sets, those the candidate rule and the filters read first. */
#define S_SETS 10
static void s_sets_of(match_entity_t *self, match_terms_t *sets[S_SETS])
{
    match_terms_t *all[S_SETS] = {&self->capabilities,   &self->required_capabilities,
                                  &self->target_regions, &self->stages,
                                  &self->themes,         &self->nace_class,
                                  &self->nace_group,     &self->nace_division,
                                  &self->nace_section,   &self->nace};
    memcpy(sets, all, sizeof all);
}

static size_t s_align(size_t bytes)
{
    return (bytes + 7) & ~(size_t)7;
}

/* Moves the record and the arrays it points to into one block: the record, its
 * materials, the sets' ids and weights (what scoring reads), then the sets' items
 * (read for sentences). A candidate pair then reads a few neighbouring cache lines
 * instead of a dozen scattered ones. Frees the loose record. */
static match_entity_t *s_pack(match_entity_t *loose)
{
    match_terms_t *sets[S_SETS];
    s_sets_of(loose, sets);
    size_t hot = s_align(sizeof *loose) + s_align(loose->material_count * sizeof *loose->materials);
    size_t cold = 0;
    for (size_t i = 0; i < S_SETS; i++) {
        hot += s_align(sets[i]->size * sizeof(uint32_t));
        if (sets[i]->weights)
            hot += sets[i]->size * sizeof(double);
        cold += sets[i]->size * sizeof(char *);
    }
    char *block = (char *)malloc(hot + cold);
    assert(block);
    match_entity_t *self = (match_entity_t *)block;
    *self = *loose;
    char *at = block + s_align(sizeof *self), *items_at = block + hot;
    self->materials = (match_material_t *)at;
    memcpy(self->materials, loose->materials, loose->material_count * sizeof *self->materials);
    at += s_align(loose->material_count * sizeof *self->materials);
    free(loose->materials);
    s_sets_of(self, sets);
    for (size_t i = 0; i < S_SETS; i++) {
        match_terms_t *terms = sets[i];
        size_t n = terms->size;
        uint32_t *ids = (uint32_t *)at;
        memcpy(ids, terms->ids, n * sizeof(uint32_t));
        at += s_align(n * sizeof(uint32_t));
        if (terms->weights) {
            double *weights = (double *)at;
            memcpy(weights, terms->weights, n * sizeof(double));
            at += n * sizeof(double);
            free(terms->weights);
            terms->weights = weights;
        }
        const char **items = (const char **)items_at;
        memcpy(items, terms->items, n * sizeof(char *));
        items_at += n * sizeof(char *);
        free(terms->items); /* and the ids that shared its block */
        terms->items = items;
        terms->ids = ids;
    }
    free(loose);
    self->bytes = s_heap(hot + cold);
    return self;
}

/* The record's heap bytes: its block (set by s_pack) and its own strings. */
static size_t s_record_bytes(const match_entity_t *self)
{
    size_t bytes = self->bytes;
    const char *strings[] = {self->id,           self->name,
                             self->organisation, self->organisation_key,
                             self->region,       self->region_name,
                             self->country,      self->materials_version,
                             self->deadline,     self->target_regions_text};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        bytes += s_str_bytes(strings[i]);
    for (size_t i = 0; i < self->material_count; i++)
        bytes += s_str_bytes(self->materials[i].label);
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
    self->intern = index->intern;
    self->intern->holders++;
    if (entity->body_case == LODESTONE__V1__ENTITY__BODY_SME)
        s_from_sme(index, self, entity->sme);
    else if (entity->body_case == LODESTONE__V1__ENTITY__BODY_INVESTOR)
        s_from_investor(index, self, entity->investor);
    else
        s_from_opportunity(index, self, entity->opportunity);
    self->id_hash = match_id_hash(self->id);
    self->active = self->state == LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_ACTIVE &&
                   self->consent && !self->closed;
    s_nace_levels(index, self);
    self->target_regions_text = s_regions_text(index, &self->target_regions);
    s_terms_weigh(index, &self->capabilities);
    s_terms_weigh(index, &self->required_capabilities);
    self->idf_generation = index->idf_generation;
    self = s_pack(self);
    self->bytes = s_record_bytes(self);
    return self;
}

void match_entity_destroy(match_entity_t **self_p)
{
    assert(self_p);
    match_entity_t *self = *self_p;
    if (!self)
        return;
    assert(self->posting_count == 0); /* the index takes a record out of its lists first */
    match_intern_t *intern = self->intern;
    free(self->id);
    free(self->name);
    free(self->organisation);
    free(self->organisation_key);
    free(self->region);
    free(self->region_name);
    free(self->country);
    s_intern_release(intern, self->region_id);
    s_intern_release(intern, self->country_id);
    for (size_t i = 0; i < self->material_count; i++) {
        s_intern_release(intern, self->materials[i].id);
        free(self->materials[i].label);
    }
    free(self->materials_version);
    match_terms_t *sets[S_SETS];
    s_sets_of(self, sets);
    for (size_t i = 0; i < S_SETS; i++)
        s_terms_release(intern, sets[i]);
    free(self->target_regions_text);
    free(self->deadline);
    free(self->postings);
    free(self); /* and the arrays in its block */
    s_intern_drop(&intern);
    *self_p = NULL;
}

/* ---------------------------------------------------------------------------
 * The candidate rule, as a predicate. Codes compare by number: the sets are short, so
 * a scan guarded by the masks beats a merge of strings. */

static bool s_terms_meet(const match_terms_t *a, const match_terms_t *b)
{
    if (!(a->mask & b->mask))
        return false;
    for (size_t i = 0; i < a->size; i++)
        if (match_terms_has(b, a->ids[i]))
            return true;
    return false;
}

/* Every item of part is in whole. */
static bool s_terms_within(const match_terms_t *part, const match_terms_t *whole)
{
    if (part->mask & ~whole->mask)
        return false;
    for (size_t i = 0; i < part->size; i++)
        if (!match_terms_has(whole, part->ids[i]))
            return false;
    return true;
}

static bool s_materials_meet(const match_entity_t *a, const match_entity_t *b)
{
    if (!(a->materials_mask & b->materials_mask))
        return false;
    for (size_t i = 0; i < a->material_count; i++)
        if (match_materials_has(b, a->materials[i].id))
            return true;
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
        !match_terms_has(&investor->target_regions, seeker->region_id))
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

/* The rule for two different entities. */
static bool s_pairs(const match_entity_t *a, const match_entity_t *b)
{
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

bool match_index_is_candidate(const match_entity_t *a, const match_entity_t *b)
{
    assert(a);
    assert(b);
    assert(a->intern == b->intern); /* numbers from one table */
    if (a == b || (a->id_hash == b->id_hash && strcmp(a->id, b->id) == 0))
        return false;
    return s_pairs(a, b);
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

/* The capabilities that matter to the supply rule: an SME's offered ones, an
 * opportunity's required ones (an SME pairs with an opportunity that requires some
 * only when it offers them all). */
static uint64_t s_supply_mask(const match_entity_t *entity)
{
    return entity->kind == S_SME           ? entity->capabilities.mask
           : entity->kind == S_OPPORTUNITY ? entity->required_capabilities.mask
                                           : 0;
}

/* zhashx_lookup remembers the bucket it computed in the table: searches on several
 * threads (lanes) take turns. */
static void *s_lookup(const match_index_t *self, zhashx_t *table, const char *key)
{
    pthread_mutex_t *lock = (pthread_mutex_t *)&self->lookup_lock;
    pthread_mutex_lock(lock);
    void *item = zhashx_lookup(table, key);
    pthread_mutex_unlock(lock);
    return item;
}

static s_list_t *s_list_of(const match_index_t *self, const char *key)
{
    return (s_list_t *)s_lookup(self, self->postings, key);
}

/* Doubles the capacity of an array of items of size bytes (4 at first), keeping the
 * index's posting bytes in step. */
static void *s_grow(match_index_t *self, void *items, size_t *capacity, size_t size)
{
    size_t before = *capacity ? s_heap(*capacity * size) : 0;
    *capacity = *capacity ? *capacity * 2 : 4;
    items = realloc(items, *capacity * size);
    assert(items);
    self->posting_bytes += s_heap(*capacity * size) - before;
    return items;
}

static void s_posting_add(match_index_t *self, const char *key, void *arg)
{
    match_entity_t *entity = (match_entity_t *)arg;
    s_list_t *list = s_list_of(self, key);
    if (!list) {
        list = (s_list_t *)calloc(1, sizeof *list);
        assert(list);
        list->key = s_strdup(key);
        zhashx_insert(self->postings, list->key, list);
        self->posting_bytes += s_heap(sizeof *list) + s_str_bytes(key) + S_MAP_ENTRY_BYTES;
    }
    /* A record adds its keys one after another, so a repeated key ends the list. */
    if (list->size > 0 && list->entries[list->size - 1].entity == entity)
        return;
    if (entity->posting_count == entity->posting_capacity)
        entity->postings = (match_posting_t *)s_grow(
            self, entity->postings, &entity->posting_capacity, sizeof *entity->postings);
    if (list->size == list->capacity)
        list->entries =
            (s_entry_t *)s_grow(self, list->entries, &list->capacity, sizeof *list->entries);
    entity->postings[entity->posting_count] = (match_posting_t){list, list->size};
    list->entries[list->size++] =
        (s_entry_t){entity, s_supply_mask(entity), entity->materials_mask, entity->posting_count++};
    self->posting_entries++;
}

/* Takes entry `at` out of list: the last entry moves into its place and its record
 * learns the new place. An emptied list leaves the map; a list a quarter full
 * halves. */
static void s_list_take(match_index_t *self, s_list_t *list, size_t at)
{
    s_entry_t last = list->entries[--list->size];
    if (at < list->size) {
        list->entries[at] = last;
        last.entity->postings[last.slot].at = at;
    }
    self->posting_entries--;
    if (list->size == 0) {
        self->posting_bytes -= s_heap(list->capacity * sizeof *list->entries) +
                               s_heap(sizeof *list) + s_str_bytes(list->key) + S_MAP_ENTRY_BYTES;
        zhashx_delete(self->postings, list->key); /* destroys the list */
    } else if (list->capacity >= 16 && list->size <= list->capacity / 4) {
        size_t before = s_heap(list->capacity * sizeof *list->entries);
        list->capacity /= 2;
        list->entries = (s_entry_t *)realloc(list->entries, list->capacity * sizeof *list->entries);
        assert(list->entries);
        self->posting_bytes -= before - s_heap(list->capacity * sizeof *list->entries);
    }
}

/* Takes entity out of every list it is in: O(1) each. */
static void s_postings_remove(match_index_t *self, match_entity_t *entity)
{
    for (size_t i = 0; i < entity->posting_count; i++)
        s_list_take(self, entity->postings[i].list, entity->postings[i].at);
    if (entity->posting_capacity)
        self->posting_bytes -= s_heap(entity->posting_capacity * sizeof *entity->postings);
    free(entity->postings);
    entity->postings = NULL;
    entity->posting_count = entity->posting_capacity = 0;
}

static size_t s_sme_tag_count(match_index_t *self, const char *tag)
{
    char key[S_KEY_MAX];
    snprintf(key, sizeof key, "sme|cap:%s", tag);
    s_list_t *list = s_list_of(self, key);
    return list ? list->size : 0;
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
    opportunity->req_key = required->items[best]; /* the record's own: no copy */
}

/* ---------------------------------------------------------------------------
 * Operations */

int match_index_remove(match_index_t *self, const char *id)
{
    assert(self);
    match_entity_t *entity = (match_entity_t *)zhashx_lookup(self->entities, id);
    if (!entity)
        return -1;
    s_postings_remove(self, entity);
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

void match_index_each(const match_index_t *self, match_index_visit_fn *visit, void *arg)
{
    for (match_entity_t *entity = (match_entity_t *)zhashx_first(self->entities); entity;
         entity = (match_entity_t *)zhashx_next(self->entities))
        visit(entity, arg);
}

uint64_t match_id_hash(const char *id)
{
    return ls_hash64(id);
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
    return sizeof *self + s_heap(sizeof *self->intern) + self->record_bytes +
           entities * S_MAP_ENTRY_BYTES + self->posting_bytes + self->intern->bytes +
           self->idf_bytes;
}

/* ---------------------------------------------------------------------------
 * Candidates */

typedef struct {
    const match_entity_t *subject;
    const match_entity_t *self; /* the index's record with the subject's id, or NULL */
    s_kind_t wanted;
    bool check; /* the lists are a superset: apply the predicate */
    /* With check, a cheap test first: a candidate's supply mask must hold every bit of
     * `must` and no bit outside `within`. */
    uint64_t must, within;
    const bool *gate; /* while set, candidates sharing no material are passed over */
    unsigned lane;
    uint32_t mark;
    match_index_visit_fn *visit;
    void *arg;
    size_t count;
} s_search_t;

/* True when the entry's masks show that the record is not wanted: with check, it
 * cannot pair; with the gate set, it shares no material. */
static bool s_ruled_out(const s_search_t *search, const s_entry_t *entry)
{
    if (search->check && ((entry->supply_mask & search->must) != search->must ||
                          (entry->supply_mask & ~search->within)))
        return true;
    return search->gate && *search->gate &&
           !(entry->materials_mask & search->subject->materials_mask);
}

/* Records lie scattered over the heap, and reading them is most of a search's cost:
 * the lines scoring reads (the record's head, then the arrays that follow it in its
 * block) are asked for a few entries ahead, to arrive while one is scored. */
#define S_AHEAD 4
#define S_LINE 64
#define S_RECORD_HOT offsetof(match_entity_t, id) /* what every pair reads */
#define S_BLOCK_HOT 192 /* the materials and first ids after the record, typically */

static void s_visit_list(s_search_t *search, const s_list_t *list)
{
    for (size_t i = 0; i < list->size; i++) {
        /* Written out here: GCC drops a helper holding only prefetches as pure. */
        if (i + S_AHEAD < list->size && !s_ruled_out(search, &list->entries[i + S_AHEAD])) {
            const char *ahead = (const char *)list->entries[i + S_AHEAD].entity;
            for (size_t offset = 0; offset < S_RECORD_HOT; offset += S_LINE)
                __builtin_prefetch(ahead + offset);
            for (size_t offset = 0; offset < S_BLOCK_HOT; offset += S_LINE)
                __builtin_prefetch(ahead + sizeof(match_entity_t) + offset);
        }
        const s_entry_t *entry = &list->entries[i];
        if (s_ruled_out(search, entry))
            continue; /* lacks a required capability, or gated out */
        match_entity_t *candidate = entry->entity;
        if (candidate->visit_mark[search->lane] == search->mark ||
            candidate->kind != search->wanted)
            continue;
        candidate->visit_mark[search->lane] = search->mark; /* seen through another value */
        if (candidate == search->self)
            continue;
        if (search->check && !s_pairs(search->subject, candidate))
            continue;
        search->visit(candidate, search->arg);
        search->count++;
    }
}

static void s_visit_key(match_index_t *self, const char *key, void *arg)
{
    s_list_t *list = s_list_of(self, key);
    if (list)
        s_visit_list((s_search_t *)arg, list);
}

/* An opportunity with required capabilities: the shortest SME list of its tags. */
static void s_search_required(match_index_t *self, s_search_t *search)
{
    const match_terms_t *required = &search->subject->required_capabilities;
    s_list_t *best = NULL;
    for (size_t i = 0; i < required->size; i++) {
        char key[S_KEY_MAX];
        snprintf(key, sizeof key, "sme|cap:%s", required->items[i]);
        s_list_t *list = s_list_of(self, key);
        if (!list)
            return; /* no SME holds this tag */
        if (!best || list->size < best->size)
            best = list;
    }
    search->check = true;
    search->must = required->mask;
    if (best)
        s_visit_list(search, best);
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
     * require more), and free opportunities sharing a selective value (candidates by
     * the way they were found). */
    search->check = true;
    search->within = subject->capabilities.mask;
    for (size_t i = 0; i < subject->capabilities.size; i++)
        s_key(self, s_visit_key, search, "opportunity|req:%s", subject->capabilities.items[i]);
    search->check = false;
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
    return match_index_candidates_gated(self, subject, wanted, visit, arg, NULL);
}

size_t match_index_candidates_gated(match_index_t *self, const match_entity_t *subject,
                                    Lodestone__V1__EntityKind wanted, match_index_visit_fn *visit,
                                    void *arg, const bool *gate)
{
    return match_index_candidates_in(self, 0, subject, wanted, visit, arg, gate);
}

/* The next search number of a lane; when it wraps to 0, every record's mark in the
 * lane is cleared first (after four billion searches), so no stale mark can match. */
static uint32_t s_next_mark(match_index_t *self, unsigned lane)
{
    if (++self->epochs[lane] == 0) {
        pthread_mutex_lock(&self->lookup_lock);
        for (match_entity_t *entity = (match_entity_t *)zhashx_first(self->entities); entity;
             entity = (match_entity_t *)zhashx_next(self->entities))
            entity->visit_mark[lane] = 0;
        pthread_mutex_unlock(&self->lookup_lock);
        self->epochs[lane] = 1;
    }
    return self->epochs[lane];
}

size_t match_index_candidates_in(match_index_t *self, unsigned lane, const match_entity_t *subject,
                                 Lodestone__V1__EntityKind wanted, match_index_visit_fn *visit,
                                 void *arg, const bool *gate)
{
    assert(self);
    assert(subject);
    assert(visit);
    assert(lane < MATCH_SEARCH_LANES);
    /* Ids are unique in the index: its record with the subject's id is the one to skip. */
    const match_entity_t *same =
        (const match_entity_t *)s_lookup(self, self->entities, subject->id);
    s_search_t search = {.subject = subject,
                         .self = same,
                         .wanted = wanted,
                         .within = UINT64_MAX,
                         .gate = gate,
                         .lane = lane,
                         .mark = s_next_mark(self, lane),
                         .visit = visit,
                         .arg = arg};
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
        if (skip && match_terms_has(skip, terms->ids[i]))
            continue; /* counted once per entity */
        size_t count = (size_t)zhashx_lookup(df, terms->items[i]);
        zhashx_update(df, terms->items[i], (void *)(count + 1));
    }
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
        self->idf_bytes += s_heap(sizeof *weight) + s_str_bytes(tag) + S_MAP_ENTRY_BYTES;
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
        self->idf_bytes += s_heap(sizeof *weight) + s_str_bytes(tags[i]) + S_MAP_ENTRY_BYTES;
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
