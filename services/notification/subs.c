/* subs.c — subscriptions in memory, their indexes and filters. */
#include "subs.h"

#include <czmq.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A growable array of entries (not owning them). */
typedef struct s_entry s_entry_t;
typedef struct {
    s_entry_t **items;
    size_t count, capacity;
} s_vec_t;

enum { S_REGION, S_MATERIAL, S_STAGE, S_THEME, S_FACETS };
static const char s_facet_tag[S_FACETS] = {'r', 'm', 's', 't'};

struct s_entry {
    ls_subscription_pb *sub;
    char **materials; /* the filter's materials with every group's members added */
    size_t n_materials;
    int facet;     /* the bucket's facet, -1: the "any" bucket, -2: not a filter */
    uint64_t mark; /* the last search that found it */
};

struct _subs_t {
    const ls_taxonomy_t *taxonomy;
    zhashx_t *by_id;        /* id -> s_entry_t (owning) */
    zhashx_t *by_entity;    /* entity id -> s_vec_t */
    zhashx_t *by_owner;     /* owner -> s_vec_t */
    zhashx_t *by_recipient; /* recipient -> s_vec_t */
    zhashx_t *buckets;      /* "<facet tag>:<value>" -> s_vec_t */
    s_vec_t any;
    size_t bucketed[S_FACETS]; /* filters per facet: a facet with none is not looked up */
    uint64_t mark;
};

static void s_vec_push(s_vec_t *v, s_entry_t *e)
{
    if (v->count == v->capacity) {
        v->capacity = v->capacity ? v->capacity * 2 : 4;
        v->items = realloc(v->items, v->capacity * sizeof *v->items);
    }
    v->items[v->count++] = e;
}

static void s_vec_remove(s_vec_t *v, const s_entry_t *e)
{
    for (size_t i = 0; i < v->count; i++)
        if (v->items[i] == e) {
            v->items[i] = v->items[--v->count];
            return;
        }
}

static void s_vec_destructor(void **item)
{
    s_vec_t *v = *item;
    if (v) {
        free(v->items);
        free(v);
    }
    *item = NULL;
}

static s_vec_t *s_vec_at(zhashx_t *hash, const char *key, bool create)
{
    s_vec_t *v = zhashx_lookup(hash, key);
    if (!v && create) {
        v = calloc(1, sizeof *v);
        zhashx_insert(hash, key, v);
    }
    return v;
}

static void s_vec_drop(zhashx_t *hash, const char *key, const s_entry_t *e)
{
    s_vec_t *v = zhashx_lookup(hash, key);
    if (!v)
        return;
    s_vec_remove(v, e);
    if (v->count == 0)
        zhashx_delete(hash, key);
}

static void s_entry_free(s_entry_t **e_p)
{
    s_entry_t *e = *e_p;
    if (!e)
        return;
    lodestone__v1__subscription__free_unpacked(e->sub, NULL);
    for (size_t i = 0; i < e->n_materials; i++)
        free(e->materials[i]);
    free(e->materials);
    free(e);
    *e_p = NULL;
}

static void s_entry_destructor(void **item)
{
    s_entry_free((s_entry_t **)item);
}

subs_t *subs_new(const ls_taxonomy_t *taxonomy)
{
    subs_t *self = calloc(1, sizeof *self);
    self->taxonomy = taxonomy;
    self->by_id = zhashx_new();
    zhashx_set_destructor(self->by_id, s_entry_destructor);
    self->by_entity = zhashx_new();
    zhashx_set_destructor(self->by_entity, s_vec_destructor);
    self->by_owner = zhashx_new();
    zhashx_set_destructor(self->by_owner, s_vec_destructor);
    self->by_recipient = zhashx_new();
    zhashx_set_destructor(self->by_recipient, s_vec_destructor);
    self->buckets = zhashx_new();
    zhashx_set_destructor(self->buckets, s_vec_destructor);
    return self;
}

void subs_destroy(subs_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    subs_t *self = *self_p;
    zhashx_destroy(&self->buckets);
    zhashx_destroy(&self->by_owner);
    zhashx_destroy(&self->by_recipient);
    zhashx_destroy(&self->by_entity);
    zhashx_destroy(&self->by_id); /* owns the entries: last */
    free(self->any.items);
    free(self);
    *self_p = NULL;
}

/* ---------------------------------------------------------------------------
 * Materials with their groups expanded */

static bool s_has(char *const *values, size_t n, const char *value)
{
    for (size_t i = 0; value && i < n; i++)
        if (strcmp(values[i], value) == 0)
            return true;
    return false;
}

static void s_add_material(const ls_taxonomy_t *taxonomy, const char *code, char ***out, size_t *n)
{
    if (!s_has(*out, *n, code)) {
        *out = realloc(*out, (*n + 1) * sizeof **out);
        (*out)[(*n)++] = strdup(code);
    }
    const ls_material_t *m = taxonomy ? ls_taxonomy_material(taxonomy, code) : NULL;
    for (size_t i = 0; m && i < m->n_members; i++)
        s_add_material(taxonomy, m->members[i], out, n);
}

/* ---------------------------------------------------------------------------
 * Indexing */

static int s_facet_of(const ls_filter_pb *f)
{
    if (f->n_regions)
        return S_REGION;
    if (f->n_materials)
        return S_MATERIAL;
    if (f->n_stages)
        return S_STAGE;
    if (f->n_themes)
        return S_THEME;
    return -1;
}

/* The bucket values of a filter for its facet (materials: expanded). */
static void s_bucket_values(const s_entry_t *e, char ***values, size_t *n)
{
    const ls_filter_pb *f = e->sub->filter;
    switch (e->facet) {
    case S_REGION:
        *values = f->regions, *n = f->n_regions;
        break;
    case S_MATERIAL:
        *values = e->materials, *n = e->n_materials;
        break;
    case S_STAGE:
        *values = f->stages, *n = f->n_stages;
        break;
    default:
        *values = f->themes, *n = f->n_themes;
        break;
    }
}

static void s_bucket_key(int facet, const char *value, char *key, size_t len)
{
    snprintf(key, len, "%c:%s", s_facet_tag[facet], value);
}

static void s_index(subs_t *self, s_entry_t *e, bool add)
{
    ls_subscription_pb *sub = e->sub;
    if (add) {
        s_vec_push(s_vec_at(self->by_owner, sub->owner, true), e);
        s_vec_push(s_vec_at(self->by_recipient, sub->recipient, true), e);
    } else {
        s_vec_drop(self->by_owner, sub->owner, e);
        s_vec_drop(self->by_recipient, sub->recipient, e);
    }
    if (*sub->entity_id) {
        if (add)
            s_vec_push(s_vec_at(self->by_entity, sub->entity_id, true), e);
        else
            s_vec_drop(self->by_entity, sub->entity_id, e);
        return;
    }
    if (e->facet < 0) {
        if (add)
            s_vec_push(&self->any, e);
        else
            s_vec_remove(&self->any, e);
        return;
    }
    char **values;
    size_t n;
    s_bucket_values(e, &values, &n);
    for (size_t i = 0; i < n; i++) {
        char key[160];
        s_bucket_key(e->facet, values[i], key, sizeof key);
        if (add) {
            s_vec_t *v = s_vec_at(self->buckets, key, true);
            if (v->count == 0 || v->items[v->count - 1] != e) /* a value listed twice */
                s_vec_push(v, e);
        } else
            s_vec_drop(self->buckets, key, e);
    }
    if (add)
        self->bucketed[e->facet]++;
    else
        self->bucketed[e->facet]--;
}

void subs_put(subs_t *self, ls_subscription_pb *sub)
{
    subs_remove(self, sub->id);
    s_entry_t *e = calloc(1, sizeof *e);
    e->sub = sub;
    e->facet = -2;
    if (!*sub->entity_id && sub->filter) {
        for (size_t i = 0; i < sub->filter->n_materials; i++)
            s_add_material(self->taxonomy, sub->filter->materials[i], &e->materials,
                           &e->n_materials);
        e->facet = s_facet_of(sub->filter);
    }
    zhashx_insert(self->by_id, sub->id, e);
    s_index(self, e, true);
}

bool subs_remove(subs_t *self, const char *id)
{
    s_entry_t *e = zhashx_lookup(self->by_id, id);
    if (!e)
        return false;
    s_index(self, e, false);
    zhashx_delete(self->by_id, id);
    return true;
}

const ls_subscription_pb *subs_get(const subs_t *self, const char *id)
{
    s_entry_t *e = zhashx_lookup(self->by_id, id);
    return e ? e->sub : NULL;
}

size_t subs_count(const subs_t *self)
{
    return zhashx_size(self->by_id);
}

const char *subs_recipient_owner(const subs_t *self, const char *recipient)
{
    s_vec_t *v = zhashx_lookup(self->by_recipient, recipient);
    return v && v->count ? v->items[0]->sub->owner : NULL;
}

size_t subs_count_of_owner(const subs_t *self, const char *owner)
{
    s_vec_t *v = zhashx_lookup(self->by_owner, owner);
    return v ? v->count : 0;
}

/* ---------------------------------------------------------------------------
 * Filters */

/* Regions are hierarchical by prefix: FI1D takes FI1D7. */
static bool s_region_in(char *const *regions, size_t n, const char *region)
{
    for (size_t i = 0; region && *region && i < n; i++)
        if (strncmp(region, regions[i], strlen(regions[i])) == 0)
            return true;
    return false;
}

static bool s_any_in(char *const *values, size_t n, char *const *have, size_t n_have)
{
    for (size_t i = 0; i < n_have; i++)
        if (s_has(values, n, have[i]))
            return true;
    return false;
}

/* What a filter looks at on one side: a match party or an opportunity. */
typedef struct {
    Lodestone__V1__EntityKind kind;
    Lodestone__V1__Opportunity__Kind opportunity_kind;
    const char *region;
    char *const *stages;
    size_t n_stages;
    char *const *materials;
    size_t n_materials;
    char *const *themes;
    size_t n_themes;
} s_side_t;

static bool s_kind_in(const int *kinds, size_t n, int kind)
{
    for (size_t i = 0; i < n; i++)
        if (kinds[i] == kind)
            return true;
    return false;
}

/* materials: the filter's, expanded (or its own list when no expansion is known). */
static bool s_passes(const ls_filter_pb *f, char *const *materials, size_t n_materials,
                     const s_side_t *sides, size_t n_sides)
{
    bool region = !f->n_regions, kind = !f->n_kinds, okind = !f->n_opportunity_kinds;
    bool stage = !f->n_stages, material = !n_materials, theme = !f->n_themes;
    for (size_t i = 0; i < n_sides; i++) {
        const s_side_t *s = &sides[i];
        region = region || s_region_in(f->regions, f->n_regions, s->region);
        kind = kind || s_kind_in((const int *)f->kinds, f->n_kinds, (int)s->kind);
        okind = okind || (s->kind == LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY &&
                          s_kind_in((const int *)f->opportunity_kinds, f->n_opportunity_kinds,
                                    (int)s->opportunity_kind));
        stage = stage || s_any_in(f->stages, f->n_stages, s->stages, s->n_stages);
        material = material || s_any_in(materials, n_materials, s->materials, s->n_materials);
        theme = theme || s_any_in(f->themes, f->n_themes, s->themes, s->n_themes);
    }
    return region && kind && okind && stage && material && theme;
}

static size_t s_event_sides(const ls_match_event_pb *event, s_side_t sides[2])
{
    size_t n = 0;
    const ls_match_party_pb *parties[] = {event->subject, event->candidate};
    for (size_t i = 0; i < 2; i++) {
        const ls_match_party_pb *p = parties[i];
        if (!p)
            continue;
        sides[n++] =
            (s_side_t){p->kind,      p->opportunity_kind, p->region, p->stages,  p->n_stages,
                       p->materials, p->n_materials,      p->themes, p->n_themes};
    }
    return n;
}

static bool s_event_passes(const ls_filter_pb *f, char *const *materials, size_t n_materials,
                           const ls_match_event_pb *event)
{
    if (!f || !f->matches || !event->match ||
        event->kind == LODESTONE__V1__MATCH_EVENT__KIND__GONE || event->match->score < f->min_score)
        return false;
    s_side_t sides[2];
    size_t n = s_event_sides(event, sides);
    return s_passes(f, materials, n_materials, sides, n);
}

bool subs_passes_event(const subs_t *self, const char *id, const ls_match_event_pb *event)
{
    s_entry_t *e = zhashx_lookup(self->by_id, id);
    return e && e->sub->filter &&
           s_event_passes(e->sub->filter, e->materials, e->n_materials, event);
}

static s_side_t s_posting_side(const ls_opportunity_pb *o, char *const *materials,
                               size_t n_materials)
{
    return (s_side_t){LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY,
                      o->kind,
                      o->region,
                      o->stages,
                      o->n_stages,
                      materials,
                      n_materials,
                      o->themes,
                      o->n_themes};
}

static bool s_posting_passes(const ls_filter_pb *f, char *const *materials, size_t n_materials,
                             const s_side_t *side)
{
    return f && f->postings && s_passes(f, materials, n_materials, side, 1);
}

/* ---------------------------------------------------------------------------
 * Finding the subscriptions an event reaches */

/* Adds e to found unless this search (self->mark) found it already. */
static void s_found_add(subs_t *self, s_vec_t *found, s_entry_t *e)
{
    if (e->mark == self->mark)
        return;
    e->mark = self->mark;
    s_vec_push(found, e);
}

/* Candidates from the buckets of one side's values. */
static void s_collect(subs_t *self, const s_side_t *side, s_vec_t *found)
{
    char key[160];
    if (self->bucketed[S_REGION] && side->region && *side->region) {
        /* The region and every NUTS level above it: FI1D7, FI1D, FI1, FI. */
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s", side->region);
        for (size_t len = strlen(prefix); len >= 2; prefix[--len] = '\0') {
            s_bucket_key(S_REGION, prefix, key, sizeof key);
            s_vec_t *v = zhashx_lookup(self->buckets, key);
            for (size_t i = 0; v && i < v->count; i++)
                s_found_add(self, found, v->items[i]);
        }
    }
    struct {
        int facet;
        char *const *values;
        size_t n;
    } lists[] = {{S_MATERIAL, side->materials, side->n_materials},
                 {S_STAGE, side->stages, side->n_stages},
                 {S_THEME, side->themes, side->n_themes}};
    for (size_t l = 0; l < 3; l++) {
        if (!self->bucketed[lists[l].facet])
            continue;
        for (size_t j = 0; j < lists[l].n; j++) {
            s_bucket_key(lists[l].facet, lists[l].values[j], key, sizeof key);
            s_vec_t *v = zhashx_lookup(self->buckets, key);
            for (size_t i = 0; v && i < v->count; i++)
                s_found_add(self, found, v->items[i]);
        }
    }
}

/* "sub-9" before "sub-10": by length, then by text. */
static int s_id_order(const void *a, const void *b)
{
    const char *x = (*(s_entry_t *const *)a)->sub->id, *y = (*(s_entry_t *const *)b)->sub->id;
    size_t lx = strlen(x), ly = strlen(y);
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return strcmp(x, y);
}

static void s_visit_sorted(s_vec_t *found, subs_visit_fn *visit, void *arg)
{
    if (found->count)
        qsort(found->items, found->count, sizeof *found->items, s_id_order);
    for (size_t i = 0; i < found->count; i++)
        visit(found->items[i]->sub, arg);
    free(found->items);
}

void subs_for_event(subs_t *self, const ls_match_event_pb *event, subs_visit_fn *visit, void *arg)
{
    if (!event->match)
        return;
    self->mark++;
    s_vec_t found = {0};
    s_vec_t *own = zhashx_lookup(self->by_entity, event->match->subject_id);
    for (size_t i = 0; own && i < own->count; i++)
        s_found_add(self, &found, own->items[i]);
    size_t entity_subs = found.count;
    if (zhashx_size(self->by_id) > entity_subs) { /* any filters at all */
        s_side_t sides[2];
        size_t n = s_event_sides(event, sides);
        s_vec_t candidates = {0};
        for (size_t i = 0; i < self->any.count; i++)
            s_found_add(self, &candidates, self->any.items[i]);
        for (size_t i = 0; i < n; i++)
            s_collect(self, &sides[i], &candidates);
        for (size_t i = 0; i < candidates.count; i++) {
            s_entry_t *e = candidates.items[i];
            if (s_event_passes(e->sub->filter, e->materials, e->n_materials, event)) {
                e->mark = self->mark - 1; /* let s_found_add take it */
                s_found_add(self, &found, e);
            }
        }
        free(candidates.items);
    }
    s_visit_sorted(&found, visit, arg);
}

void subs_for_posting(subs_t *self, const ls_opportunity_pb *opportunity, subs_visit_fn *visit,
                      void *arg)
{
    char **materials = NULL;
    size_t n_materials = 0;
    for (size_t i = 0; i < opportunity->n_materials; i++)
        s_add_material(self->taxonomy, opportunity->materials[i], &materials, &n_materials);
    s_side_t side = s_posting_side(opportunity, materials, n_materials);
    self->mark++;
    s_vec_t candidates = {0}, found = {0};
    for (size_t i = 0; i < self->any.count; i++)
        s_found_add(self, &candidates, self->any.items[i]);
    s_collect(self, &side, &candidates);
    self->mark++;
    for (size_t i = 0; i < candidates.count; i++) {
        s_entry_t *e = candidates.items[i];
        if (s_posting_passes(e->sub->filter, e->materials, e->n_materials, &side))
            s_found_add(self, &found, e);
    }
    free(candidates.items);
    s_visit_sorted(&found, visit, arg);
    for (size_t i = 0; i < n_materials; i++)
        free(materials[i]);
    free(materials);
}

bool subs_replaces_default(const subs_t *self, const char *entity_id)
{
    s_vec_t *own = zhashx_lookup(self->by_entity, entity_id);
    for (size_t i = 0; own && i < own->count; i++)
        if (strcmp(own->items[i]->sub->recipient, entity_id) == 0)
            return true;
    return false;
}

void subs_of_entity(const subs_t *self, const char *entity_id, subs_visit_fn *visit, void *arg)
{
    s_vec_t *v = zhashx_lookup(self->by_entity, entity_id);
    s_vec_t found = {0};
    for (size_t i = 0; v && i < v->count; i++)
        s_vec_push(&found, v->items[i]);
    s_visit_sorted(&found, visit, arg);
}

void subs_of_owner(const subs_t *self, const char *owner, const char *recipient,
                   subs_visit_fn *visit, void *arg)
{
    s_vec_t *v = zhashx_lookup(self->by_owner, owner);
    s_vec_t found = {0};
    for (size_t i = 0; v && i < v->count; i++) {
        if (!*recipient || strcmp(v->items[i]->sub->recipient, recipient) == 0)
            s_vec_push(&found, v->items[i]);
    }
    s_visit_sorted(&found, visit, arg);
}

/* ---------------------------------------------------------------------------
 * Validation */

bool subs_recipient_valid(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > SUBS_RECIPIENT_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == ':' || c == '@' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

typedef const void *(s_lookup_fn)(const ls_taxonomy_t *taxonomy, const char *code);

/* A partnership region or a code above one (FI1D, FI): a filter may name a wider
 * area than the regions the taxonomy lists. */
static const void *s_region(const ls_taxonomy_t *t, const char *code)
{
    size_t len = strlen(code);
    for (size_t i = 0; len >= 2 && i < ls_taxonomy_region_count(t); i++) {
        const ls_region_t *r = ls_taxonomy_region_at(t, i);
        if (strncmp(r->code, code, len) == 0)
            return r;
    }
    return NULL;
}
static const void *s_material(const ls_taxonomy_t *t, const char *code)
{
    return ls_taxonomy_material(t, code);
}
static const void *s_stage(const ls_taxonomy_t *t, const char *code)
{
    return ls_taxonomy_stage(t, code);
}
static const void *s_theme(const ls_taxonomy_t *t, const char *code)
{
    return ls_taxonomy_theme(t, code);
}

static void s_check_codes(const char *field, char *const *values, size_t n,
                          const ls_taxonomy_t *taxonomy, s_lookup_fn *lookup, const char *what,
                          ls_errors_t *errors)
{
    if (n > SUBS_FILTER_VALUES_MAX)
        ls_errors_add(errors, field, "at most %d values", SUBS_FILTER_VALUES_MAX);
    for (size_t i = 0; i < n && i < SUBS_FILTER_VALUES_MAX; i++)
        if (!lookup(taxonomy, values[i]))
            ls_errors_add(errors, field, "unknown %s \"%.64s\"", what, values[i]);
}

static void s_validate_filter(const ls_filter_pb *f, const ls_taxonomy_t *taxonomy,
                              ls_errors_t *errors)
{
    if (!f->matches && !f->postings)
        ls_errors_add(errors, "filter", "take matches, postings or both");
    s_check_codes("filter.regions", f->regions, f->n_regions, taxonomy, s_region, "NUTS code",
                  errors);
    s_check_codes("filter.materials", f->materials, f->n_materials, taxonomy, s_material,
                  "material", errors);
    s_check_codes("filter.stages", f->stages, f->n_stages, taxonomy, s_stage, "stage", errors);
    s_check_codes("filter.themes", f->themes, f->n_themes, taxonomy, s_theme, "theme", errors);
    if (f->n_kinds > SUBS_FILTER_VALUES_MAX)
        ls_errors_add(errors, "filter.kinds", "at most %d values", SUBS_FILTER_VALUES_MAX);
    for (size_t i = 0; i < f->n_kinds && i < SUBS_FILTER_VALUES_MAX; i++)
        if (f->kinds[i] < LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME ||
            f->kinds[i] > LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY)
            ls_errors_add(errors, "filter.kinds", "unknown entity kind %d", (int)f->kinds[i]);
    if (f->n_opportunity_kinds > SUBS_FILTER_VALUES_MAX)
        ls_errors_add(errors, "filter.opportunityKinds", "at most %d values",
                      SUBS_FILTER_VALUES_MAX);
    for (size_t i = 0; i < f->n_opportunity_kinds && i < SUBS_FILTER_VALUES_MAX; i++)
        if (f->opportunity_kinds[i] < LODESTONE__V1__OPPORTUNITY__KIND__SUPPLY_NEED ||
            f->opportunity_kinds[i] > LODESTONE__V1__OPPORTUNITY__KIND__CONSULTATION)
            ls_errors_add(errors, "filter.opportunityKinds", "unknown opportunity kind %d",
                          (int)f->opportunity_kinds[i]);
    if (!(f->min_score >= 0.0 && f->min_score <= 1.0)) /* NaN fails too */
        ls_errors_add(errors, "filter.minScore", "must be between 0 and 1");
}

static bool s_url_valid(const char *url)
{
    size_t len = strlen(url);
    if (len > 2048 || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return false;
    size_t host = url[4] == 's' ? 8 : 7;
    if (len == host || url[host] == '/')
        return false; /* no host */
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
            return false;
    return true;
}

static void s_validate_channels(const ls_channels_pb *c, ls_errors_t *errors)
{
    if (!c) {
        ls_errors_add(errors, "channels", "required: feed, inbox or a webhook");
        return;
    }
    if (!c->feed && !c->inbox && !*c->webhook_url)
        ls_errors_add(errors, "channels", "choose at least one of feed, inbox or webhookUrl");
    if (*c->webhook_url && !s_url_valid(c->webhook_url))
        ls_errors_add(errors, "channels.webhookUrl",
                      "must be an http:// or https:// URL with a host, at most 2048 "
                      "characters, without spaces");
    size_t secret = strlen(c->webhook_secret);
    if (*c->webhook_url && (secret < 16 || secret > 256))
        ls_errors_add(errors, "channels.webhookSecret",
                      "a webhook needs a secret of 16 to 256 characters (it signs each body)");
    if (!*c->webhook_url && secret)
        ls_errors_add(errors, "channels.webhookSecret", "only with a webhookUrl");
}

void subs_validate(const ls_subscription_pb *sub, const ls_taxonomy_t *taxonomy,
                   ls_errors_t *errors)
{
    if (!subs_recipient_valid(sub->recipient))
        ls_errors_add(errors, "recipient", "1 to %d characters of letters, digits and . _ : @ -",
                      SUBS_RECIPIENT_MAX);
    if (*sub->entity_id) {
        if (strlen(sub->entity_id) > 64)
            ls_errors_add(errors, "entityId", "at most 64 characters");
        if (sub->filter)
            ls_errors_add(errors, "filter",
                          "an entity subscription takes all of the entity's matches: leave the "
                          "filter out, or leave entityId empty for a filter subscription");
    } else if (!sub->filter)
        ls_errors_add(errors, "filter", "required when entityId is empty");
    else
        s_validate_filter(sub->filter, taxonomy, errors);
    s_validate_channels(sub->channels, errors);
    if ((int)sub->digest < 0 || sub->digest > LODESTONE__V1__SUBSCRIPTION__DIGEST__DIGEST_WEEKLY)
        ls_errors_add(errors, "digest", "NONE, DAILY or WEEKLY");
}
