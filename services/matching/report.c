/* report.c — the capability map and joint-demonstration suggestions (report.h).
 * Every string and array of the messages built here is on the heap, so that
 * protobuf-c's free_unpacked frees a whole report. */
#include "report.h"

#include <czmq.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ls_util.h"

/* The vocabularies, as indexes into taxonomy order. */
typedef struct {
    const ls_taxonomy_t *taxonomy;
    size_t regions, stages, materials, themes;
    zhashx_t *region_at, *stage_at, *material_at, *theme_at; /* code -> index + 1 */
    size_t mets;                                             /* METS: a supplier role */
} s_vocab_t;

static zhashx_t *s_positions(size_t n, const char *(*code_at)(const ls_taxonomy_t *, size_t),
                             const ls_taxonomy_t *taxonomy)
{
    zhashx_t *at = zhashx_new();
    for (size_t i = 0; i < n; i++)
        zhashx_insert(at, code_at(taxonomy, i), (void *)(uintptr_t)(i + 1));
    return at;
}

static const char *s_region_code(const ls_taxonomy_t *t, size_t i)
{
    return ls_taxonomy_region_at(t, i)->code;
}
static const char *s_stage_code(const ls_taxonomy_t *t, size_t i)
{
    return ls_taxonomy_stage_at(t, i)->code;
}
static const char *s_material_code(const ls_taxonomy_t *t, size_t i)
{
    return ls_taxonomy_material_at(t, i)->code;
}
static const char *s_theme_code(const ls_taxonomy_t *t, size_t i)
{
    return ls_taxonomy_theme_at(t, i)->code;
}

static void s_vocab_init(s_vocab_t *v, const ls_taxonomy_t *taxonomy)
{
    v->taxonomy = taxonomy;
    v->regions = ls_taxonomy_region_count(taxonomy);
    v->stages = ls_taxonomy_stage_count(taxonomy);
    v->materials = ls_taxonomy_material_count(taxonomy);
    v->themes = ls_taxonomy_theme_count(taxonomy);
    v->region_at = s_positions(v->regions, s_region_code, taxonomy);
    v->stage_at = s_positions(v->stages, s_stage_code, taxonomy);
    v->material_at = s_positions(v->materials, s_material_code, taxonomy);
    v->theme_at = s_positions(v->themes, s_theme_code, taxonomy);
    v->mets = SIZE_MAX;
    for (size_t i = 0; i < v->stages; i++)
        if (strcmp(s_stage_code(taxonomy, i), "mets") == 0)
            v->mets = i;
}

static void s_vocab_free(s_vocab_t *v)
{
    zhashx_destroy(&v->region_at);
    zhashx_destroy(&v->stage_at);
    zhashx_destroy(&v->material_at);
    zhashx_destroy(&v->theme_at);
}

/* The position of code, or -1. */
static long s_at(zhashx_t *at, const char *code)
{
    return code && *code ? (long)(uintptr_t)zhashx_lookup(at, code) - 1 : -1;
}

/* ---------------------------------------------------------------------------
 * Counting */

#define S_KINDS 6 /* opportunity kinds 0..5 */

typedef struct {
    s_vocab_t *v;
    uint32_t *sme_stage;    /* [region][stage] */
    uint32_t *sme_material; /* [region][material] */
    uint32_t *sme_theme;    /* [region][theme] */
    uint32_t *inv_stage;    /* [region][stage] */
    uint32_t *opp_kind;     /* [region][kind] */
    uint32_t *chain;        /* [region][material][stage]: SMEs with both */
    uint64_t smes, investors, opportunities;
} s_counts_t;

static void s_count_entity(const match_entity_t *e, void *arg)
{
    s_counts_t *c = arg;
    s_vocab_t *v = c->v;
    long r = s_at(v->region_at, e->region);
    if (r < 0)
        return; /* outside the partnership */
    if (e->kind == LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME) {
        c->smes++;
        long stages[64];
        size_t n_stages = 0;
        for (size_t i = 0; i < e->stages.size && n_stages < 64; i++) {
            long s = s_at(v->stage_at, e->stages.items[i]);
            if (s >= 0) {
                c->sme_stage[(size_t)r * v->stages + (size_t)s]++;
                stages[n_stages++] = s;
            }
        }
        for (size_t i = 0; i < e->material_count; i++) {
            long m = s_at(v->material_at, e->materials[i].code);
            if (m < 0)
                continue;
            c->sme_material[(size_t)r * v->materials + (size_t)m]++;
            for (size_t k = 0; k < n_stages; k++)
                c->chain[((size_t)r * v->materials + (size_t)m) * v->stages + (size_t)stages[k]]++;
        }
        for (size_t i = 0; i < e->themes.size; i++) {
            long t = s_at(v->theme_at, e->themes.items[i]);
            if (t >= 0)
                c->sme_theme[(size_t)r * v->themes + (size_t)t]++;
        }
    } else if (e->kind == LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_INVESTOR) {
        c->investors++;
        for (size_t i = 0; i < e->stages.size; i++) {
            long s = s_at(v->stage_at, e->stages.items[i]);
            if (s >= 0)
                c->inv_stage[(size_t)r * v->stages + (size_t)s]++;
        }
    } else if (e->kind == LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY) {
        c->opportunities++;
        if ((int)e->opportunity_kind >= 0 && (int)e->opportunity_kind < S_KINDS)
            c->opp_kind[(size_t)r * S_KINDS + (size_t)e->opportunity_kind]++;
    }
}

static void s_counts_init(s_counts_t *c, s_vocab_t *v, match_index_t *index)
{
    memset(c, 0, sizeof *c);
    c->v = v;
    c->sme_stage = calloc(v->regions * v->stages + 1, sizeof(uint32_t));
    c->sme_material = calloc(v->regions * v->materials + 1, sizeof(uint32_t));
    c->sme_theme = calloc(v->regions * v->themes + 1, sizeof(uint32_t));
    c->inv_stage = calloc(v->regions * v->stages + 1, sizeof(uint32_t));
    c->opp_kind = calloc(v->regions * S_KINDS + 1, sizeof(uint32_t));
    c->chain = calloc(v->regions * v->materials * v->stages + 1, sizeof(uint32_t));
    match_index_each(index, s_count_entity, c);
}

static void s_counts_free(s_counts_t *c)
{
    free(c->sme_stage);
    free(c->sme_material);
    free(c->sme_theme);
    free(c->inv_stage);
    free(c->opp_kind);
    free(c->chain);
}

/* SMEs of the partnership with material m at stage s. */
static uint32_t s_chain_total(const s_counts_t *c, size_t m, size_t s)
{
    uint32_t total = 0;
    for (size_t r = 0; r < c->v->regions; r++)
        total += c->chain[(r * c->v->materials + m) * c->v->stages + s];
    return total;
}

static bool s_material_active(const s_counts_t *c, size_t m)
{
    for (size_t r = 0; r < c->v->regions; r++)
        if (c->sme_material[r * c->v->materials + m])
            return true;
    return false;
}

/* ---------------------------------------------------------------------------
 * The map */

static bool s_strength(uint32_t count, uint32_t total, size_t regions)
{
    return count >= REPORT_STRENGTH_MIN && (double)count * (double)regions >= 2.0 * (double)total;
}

/* One table from a [region][value] count array; values[i] names column i, keep[i]
 * says whether it is shown. */
static Lodestone__V1__MapTable *s_table(const char *facet, const char *title,
                                        const uint32_t *counts, size_t regions, size_t n_values,
                                        const char *const *values, const bool *keep,
                                        const s_vocab_t *v)
{
    Lodestone__V1__MapTable *t = calloc(1, sizeof *t);
    lodestone__v1__map_table__init(t);
    t->facet = strdup(facet);
    t->title = strdup(title);
    t->values = calloc(n_values + 1, sizeof *t->values);
    t->totals = calloc(n_values + 1, sizeof *t->totals);
    t->cells = calloc(regions * n_values + 1, sizeof *t->cells);
    size_t *column = calloc(n_values + 1, sizeof *column);
    for (size_t i = 0; i < n_values; i++) {
        if (!keep || keep[i]) {
            column[i] = t->n_values;
            t->values[t->n_values++] = strdup(values[i]);
        }
    }
    for (size_t i = 0; i < n_values; i++) {
        if (keep && !keep[i])
            continue;
        uint32_t total = 0;
        for (size_t r = 0; r < regions; r++)
            total += counts[r * n_values + i];
        t->totals[column[i]] = total;
    }
    t->n_totals = t->n_values;
    for (size_t r = 0; r < regions; r++)
        for (size_t i = 0; i < n_values; i++) {
            uint32_t count = counts[r * n_values + i];
            if ((keep && !keep[i]) || count == 0)
                continue;
            Lodestone__V1__MapCell *cell = calloc(1, sizeof *cell);
            lodestone__v1__map_cell__init(cell);
            cell->region = strdup(ls_taxonomy_region_at(v->taxonomy, r)->code);
            cell->value = strdup(values[i]);
            cell->count = count;
            uint32_t total = t->totals[column[i]];
            cell->share = total ? (double)count / (double)total : 0;
            cell->strength = s_strength(count, total, regions);
            t->cells[t->n_cells++] = cell;
        }
    free(column);
    return t;
}

static const char *const *s_codes(size_t n, const char *(*code_at)(const ls_taxonomy_t *, size_t),
                                  const ls_taxonomy_t *taxonomy)
{
    const char **codes = calloc(n + 1, sizeof *codes);
    for (size_t i = 0; i < n; i++)
        codes[i] = code_at(taxonomy, i);
    return codes;
}

Lodestone__V1__CapabilityMap *report_map(match_index_t *index, const ls_taxonomy_t *taxonomy)
{
    int64_t start = ls_mono_ms();
    s_vocab_t v;
    s_vocab_init(&v, taxonomy);
    s_counts_t c;
    s_counts_init(&c, &v, index);
    Lodestone__V1__CapabilityMap *map = calloc(1, sizeof *map);
    lodestone__v1__capability_map__init(map);
    map->regions = calloc(v.regions + 1, sizeof *map->regions);
    for (size_t r = 0; r < v.regions; r++) {
        Lodestone__V1__RegionName *name = calloc(1, sizeof *name);
        lodestone__v1__region_name__init(name);
        name->code = strdup(ls_taxonomy_region_at(taxonomy, r)->code);
        name->name = strdup(ls_taxonomy_region_at(taxonomy, r)->name);
        map->regions[map->n_regions++] = name;
    }
    const char *const *stages = s_codes(v.stages, s_stage_code, taxonomy);
    const char *const *materials = s_codes(v.materials, s_material_code, taxonomy);
    const char *const *themes = s_codes(v.themes, s_theme_code, taxonomy);
    bool *active = calloc(v.materials + 1, sizeof *active);
    for (size_t m = 0; m < v.materials; m++)
        active[m] = s_material_active(&c, m);
    const char *kinds[S_KINDS];
    bool kind_shown[S_KINDS];
    for (int k = 0; k < S_KINDS; k++) {
        const ProtobufCEnumValue *e =
            protobuf_c_enum_descriptor_get_value(&lodestone__v1__opportunity__kind__descriptor, k);
        kinds[k] = e ? e->name : "";
        kind_shown[k] = k > 0;
    }
    map->tables = calloc(6, sizeof *map->tables);
    map->tables[map->n_tables++] = s_table("sme_stage", "Active SMEs by value-chain stage",
                                           c.sme_stage, v.regions, v.stages, stages, NULL, &v);
    map->tables[map->n_tables++] =
        s_table("sme_material", "Active SMEs by material (a group counts for its members)",
                c.sme_material, v.regions, v.materials, materials, active, &v);
    map->tables[map->n_tables++] = s_table("sme_theme", "Active SMEs by S3 theme", c.sme_theme,
                                           v.regions, v.themes, themes, NULL, &v);
    map->tables[map->n_tables++] = s_table("investor_stage", "Investors by target stage",
                                           c.inv_stage, v.regions, v.stages, stages, NULL, &v);
    map->tables[map->n_tables++] = s_table("opportunity_kind", "Open opportunities by kind",
                                           c.opp_kind, v.regions, S_KINDS, kinds, kind_shown, &v);
    /* Gaps: a chain stage of an active material with no SME of the partnership. */
    size_t gaps = 0;
    for (size_t m = 0; m < v.materials; m++)
        for (size_t s = 0; active[m] && s < v.stages; s++)
            gaps += s != v.mets && s_chain_total(&c, m, s) == 0;
    map->gaps = calloc(gaps + 1, sizeof *map->gaps);
    for (size_t m = 0; m < v.materials; m++)
        for (size_t s = 0; active[m] && s < v.stages; s++) {
            if (s == v.mets || s_chain_total(&c, m, s) > 0)
                continue;
            Lodestone__V1__MapGap *gap = calloc(1, sizeof *gap);
            lodestone__v1__map_gap__init(gap);
            gap->material = strdup(materials[m]);
            gap->stage = strdup(stages[s]);
            map->gaps[map->n_gaps++] = gap;
        }
    map->smes = c.smes;
    map->investors = c.investors;
    map->opportunities = c.opportunities;
    char rule[256];
    snprintf(rule, sizeof rule,
             "a region is strong in a cell when it has at least %d there and at least twice an "
             "even share of the partnership's total (2/%zu)",
             REPORT_STRENGTH_MIN, v.regions);
    map->strength_rule = strdup(rule);
    free((void *)stages);
    free((void *)materials);
    free((void *)themes);
    free(active);
    s_counts_free(&c);
    s_vocab_free(&v);
    map->took_ms = (double)(ls_mono_ms() - start);
    return map;
}

/* ---------------------------------------------------------------------------
 * Joint-demonstration suggestions */

/* A probe opportunity of one material at the given stages, scored against the
 * index's entities with the matching model (not indexed). */
static match_entity_t *s_probe(match_index_t *index, Lodestone__V1__Opportunity__Kind kind,
                               const char *material, const char *const *stages, size_t n_stages)
{
    ls_opportunity_pb o = LODESTONE__V1__OPPORTUNITY__INIT;
    char *materials[] = {(char *)material};
    o.id = "report-probe";
    o.kind = kind;
    o.title = "Joint demonstration";
    o.organisation = "the partnership";
    o.materials = materials;
    o.n_materials = 1;
    o.stages = (char **)stages;
    o.n_stages = n_stages;
    o.status = LODESTONE__V1__OPPORTUNITY__STATUS__OPEN;
    ls_entity_pb entity = LODESTONE__V1__ENTITY__INIT;
    entity.body_case = LODESTONE__V1__ENTITY__BODY_OPPORTUNITY;
    entity.opportunity = &o;
    return match_entity_new(index, &entity);
}

/* The strongest SME of each region for one (material, stage). */
typedef struct {
    const s_vocab_t *v;
    const match_config_t *model;
    const char *today;
    const match_entity_t *probe;
    const match_entity_t **best; /* per region */
    double *score;               /* per region */
} s_strongest_t;

static bool s_has_material(const match_entity_t *e, uint32_t id)
{
    for (size_t i = 0; i < e->material_count; i++)
        if (e->materials[i].id == id)
            return true;
    return false;
}

/* Between SMEs the probe scores alike (it names only a material and a stage): the
 * one readier to demonstrate — a higher TRL —, then the one with more (and rarer)
 * capabilities, then the smaller id. All from the index, so every instance agrees. */
static double s_capability_weight(const match_entity_t *e)
{
    double sum = 0;
    for (size_t i = 0; i < e->capabilities.size; i++)
        sum += e->capabilities.weights ? e->capabilities.weights[i] : 1.0;
    return sum;
}

static bool s_readier(const match_entity_t *a, const match_entity_t *b)
{
    if (a->trl != b->trl)
        return a->trl > b->trl;
    double wa = s_capability_weight(a), wb = s_capability_weight(b);
    if (wa != wb)
        return wa > wb;
    return strcmp(a->id, b->id) < 0;
}

static void s_visit_sme(const match_entity_t *e, void *arg)
{
    s_strongest_t *s = arg;
    long r = s_at(s->v->region_at, e->region);
    if (r < 0 || !s_has_material(e, s->probe->materials[0].id) ||
        !match_terms_has(&e->stages, s->probe->stages.ids[0]))
        return;
    double score = match_score_value(s->model, s->probe, e, s->today);
    if (score < 0)
        return;
    const match_entity_t *held = s->best[r];
    if (!held || score > s->score[r] || (score == s->score[r] && s_readier(e, held))) {
        s->best[r] = e;
        s->score[r] = score;
    }
}

typedef struct {
    Lodestone__V1__DemoSuggestion **items;
    size_t count, capacity;
} s_list_t;

static void s_list_add(s_list_t *list, Lodestone__V1__DemoSuggestion *d)
{
    if (list->count == list->capacity) {
        list->capacity = list->capacity ? list->capacity * 2 : 16;
        list->items = realloc(list->items, list->capacity * sizeof *list->items);
    }
    list->items[list->count++] = d;
}

/* The minimum covers of `want` by the regions' stage sets (bit masks): all of them by
 * trying every subset when the regions are few, else one greedy cover. Up to max
 * covers into out (region masks); returns how many. */
static size_t s_covers(const uint64_t *has, size_t regions, uint64_t want, uint64_t *out,
                       size_t max, bool *exact)
{
    *exact = regions <= REPORT_EXACT_REGIONS;
    if (*exact) {
        for (int size = 1; size <= (int)regions; size++) {
            size_t n = 0;
            for (uint64_t set = 1; set < (1ULL << regions); set++) {
                if (__builtin_popcountll(set) != size)
                    continue;
                uint64_t covered = 0;
                for (size_t r = 0; r < regions; r++)
                    if (set & (1ULL << r))
                        covered |= has[r];
                if ((covered & want) == want && n < max)
                    out[n++] = set;
            }
            if (n)
                return n;
        }
        return 0;
    }
    uint64_t covered = 0, set = 0;
    while ((covered & want) != want) {
        size_t best = SIZE_MAX;
        int gain = 0;
        for (size_t r = 0; r < regions && r < 64; r++) {
            int g = __builtin_popcountll(has[r] & want & ~covered);
            if (g > gain) {
                gain = g;
                best = r;
            }
        }
        if (best == SIZE_MAX)
            return 0;
        set |= 1ULL << best;
        covered |= has[best];
    }
    out[0] = set;
    return 1;
}

static char *s_join_stages(const s_vocab_t *v, uint64_t mask)
{
    char text[512] = "";
    size_t len = 0;
    for (size_t s = 0; s < v->stages && s < 64; s++)
        if (mask & (1ULL << s))
            len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", len ? ", " : "",
                                    s_stage_code(v->taxonomy, s));
    return strdup(text);
}

static int s_demo_order(const void *a, const void *b)
{
    const Lodestone__V1__DemoSuggestion *x = *(Lodestone__V1__DemoSuggestion *const *)a;
    const Lodestone__V1__DemoSuggestion *y = *(Lodestone__V1__DemoSuggestion *const *)b;
    if (x->n_stages != y->n_stages)
        return x->n_stages > y->n_stages ? -1 : 1;
    if (x->n_regions != y->n_regions)
        return x->n_regions < y->n_regions ? -1 : 1;
    if (x->strength != y->strength)
        return x->strength > y->strength ? -1 : 1;
    int c = strcmp(x->material, y->material);
    for (size_t i = 0; c == 0 && i < x->n_regions; i++)
        c = strcmp(x->regions[i], y->regions[i]);
    return c;
}

/* Investors that score best against an investment case of the chain. */
typedef struct {
    const match_config_t *model;
    const char *today;
    const match_entity_t *probe;
    const match_entity_t *best[REPORT_INVESTORS];
    double score[REPORT_INVESTORS];
} s_investors_t;

static void s_visit_investor(const match_entity_t *e, void *arg)
{
    s_investors_t *s = arg;
    double score = match_score_value(s->model, s->probe, e, s->today);
    if (score < s->model->threshold)
        return;
    int at = REPORT_INVESTORS;
    while (at > 0 && (!s->best[at - 1] || score > s->score[at - 1] ||
                      (score == s->score[at - 1] && strcmp(e->id, s->best[at - 1]->id) < 0)))
        at--;
    if (at >= REPORT_INVESTORS)
        return;
    for (int i = REPORT_INVESTORS - 1; i > at; i--) {
        s->best[i] = s->best[i - 1];
        s->score[i] = s->score[i - 1];
    }
    s->best[at] = e;
    s->score[at] = score;
}

/* The suggestions for material m (its chain no single region covers). */
static void s_material_demos(match_index_t *index, const s_vocab_t *v, const s_counts_t *c,
                             const match_config_t *model, const char *today, size_t m,
                             s_list_t *out, bool *exact)
{
    const char *material = s_material_code(v->taxonomy, m);
    uint64_t *has = calloc(v->regions + 1, sizeof *has);
    uint64_t want = 0, chain = 0;
    for (size_t s = 0; s < v->stages && s < 64; s++) {
        if (s == v->mets)
            continue;
        chain |= 1ULL << s;
        for (size_t r = 0; r < v->regions && r < 64; r++)
            if (c->chain[(r * v->materials + m) * v->stages + s]) {
                has[r] |= 1ULL << s;
                want |= 1ULL << s;
            }
    }
    bool single = false;
    for (size_t r = 0; r < v->regions; r++)
        single = single || (has[r] & want) == want;
    uint64_t covers[REPORT_COVERS_PER_MATERIAL];
    size_t n = __builtin_popcountll(want) < 2 || single
                   ? 0 /* one stage is no chain; one region alone needs no partner */
                   : s_covers(has, v->regions, want, covers, REPORT_COVERS_PER_MATERIAL, exact);
    /* The strongest SME of each region at each covered stage, scored once. */
    const match_entity_t **best = calloc(v->regions * v->stages + 1, sizeof *best);
    double *best_score = calloc(v->regions * v->stages + 1, sizeof *best_score);
    for (size_t s = 0; n && s < v->stages && s < 64; s++) {
        if (!(want & (1ULL << s)))
            continue;
        const char *stage[] = {s_stage_code(v->taxonomy, s)};
        match_entity_t *probe = s_probe(
            index, LODESTONE__V1__OPPORTUNITY__KIND__JOINT_DEMONSTRATION, material, stage, 1);
        if (!probe)
            continue;
        s_strongest_t visit = {
            v, model, today, probe, best + s * v->regions, best_score + s * v->regions};
        match_index_candidates(index, probe, LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME,
                               s_visit_sme, &visit);
        match_entity_destroy(&probe);
    }
    /* The investors that fit the chain: one investment case over its stages. */
    s_investors_t inv = {model, today, NULL, {NULL}, {0}};
    if (n) {
        const char *stages[64];
        size_t n_stages = 0;
        for (size_t s = 0; s < v->stages && s < 64; s++)
            if (want & (1ULL << s))
                stages[n_stages++] = s_stage_code(v->taxonomy, s);
        match_entity_t *probe = s_probe(index, LODESTONE__V1__OPPORTUNITY__KIND__INVESTMENT_CASE,
                                        material, stages, n_stages);
        if (probe) {
            inv.probe = probe;
            match_index_candidates(index, probe, LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_INVESTOR,
                                   s_visit_investor, &inv);
            match_entity_destroy(&probe);
        }
    }
    for (size_t k = 0; k < n; k++) {
        Lodestone__V1__DemoSuggestion *d = calloc(1, sizeof *d);
        lodestone__v1__demo_suggestion__init(d);
        d->material = strdup(material);
        d->regions = calloc(v->regions + 1, sizeof *d->regions);
        for (size_t r = 0; r < v->regions; r++)
            if (covers[k] & (1ULL << r))
                d->regions[d->n_regions++] = strdup(s_region_code(v->taxonomy, r));
        d->stages = calloc(v->stages + 1, sizeof *d->stages);
        d->missing = calloc(v->stages + 1, sizeof *d->missing);
        d->strongest = calloc(v->stages + 1, sizeof *d->strongest);
        double sum = 0;
        for (size_t s = 0; s < v->stages && s < 64; s++) {
            const char *code = s_stage_code(v->taxonomy, s);
            if (want & (1ULL << s))
                d->stages[d->n_stages++] = strdup(code);
            else if (chain & (1ULL << s))
                d->missing[d->n_missing++] = strdup(code);
            if (!(want & (1ULL << s)))
                continue;
            size_t pick = SIZE_MAX;
            for (size_t r = 0; r < v->regions; r++) {
                const match_entity_t *e = best[s * v->regions + r];
                if (!(covers[k] & (1ULL << r)) || !e)
                    continue;
                if (pick == SIZE_MAX ||
                    best_score[s * v->regions + r] > best_score[s * v->regions + pick])
                    pick = r;
            }
            if (pick == SIZE_MAX)
                continue; /* its SMEs exist but none passes the model's filters */
            const match_entity_t *e = best[s * v->regions + pick];
            Lodestone__V1__DemoStage *st = calloc(1, sizeof *st);
            lodestone__v1__demo_stage__init(st);
            st->stage = strdup(code);
            st->region = strdup(s_region_code(v->taxonomy, pick));
            st->sme_id = strdup(e->id);
            st->sme_name = strdup(e->name);
            st->score = best_score[s * v->regions + pick];
            sum += st->score;
            d->strongest[d->n_strongest++] = st;
        }
        d->strength = d->n_strongest ? sum / (double)d->n_strongest : 0;
        d->investors = calloc(REPORT_INVESTORS + 1, sizeof *d->investors);
        for (int i = 0; i < REPORT_INVESTORS && inv.best[i]; i++) {
            Lodestone__V1__DemoInvestor *di = calloc(1, sizeof *di);
            lodestone__v1__demo_investor__init(di);
            di->id = strdup(inv.best[i]->id);
            di->name = strdup(inv.best[i]->name);
            di->score = inv.score[i];
            d->investors[d->n_investors++] = di;
        }
        /* Why new: what each region brings, and that none brings it all. */
        char why[1024];
        char *all = s_join_stages(v, want);
        size_t len = (size_t)snprintf(why, sizeof why,
                                      "No single partnership region covers the %s chain's "
                                      "stages %s; together:",
                                      material, all);
        free(all);
        for (size_t r = 0; r < v->regions && len < sizeof why; r++) {
            if (!(covers[k] & (1ULL << r)))
                continue;
            char *brings = s_join_stages(v, has[r] & want);
            len += (size_t)snprintf(why + len, sizeof why - len, " %s brings %s;",
                                    ls_taxonomy_region_at(v->taxonomy, r)->name, brings);
            free(brings);
        }
        if (len < sizeof why && why[len - 1] == ';')
            why[len - 1] = '.';
        d->why_new = strdup(why);
        s_list_add(out, d);
    }
    free(best);
    free(best_score);
    free(has);
}

Lodestone__V1__DemoList *report_demos(match_index_t *index, const ls_taxonomy_t *taxonomy,
                                      const match_config_t *model, const char *material,
                                      size_t limit, const char *today)
{
    int64_t start = ls_mono_ms();
    s_vocab_t v;
    s_vocab_init(&v, taxonomy);
    s_counts_t c;
    s_counts_init(&c, &v, index);
    s_list_t list = {0};
    bool exact = true;
    for (size_t m = 0; m < v.materials; m++) {
        if (material && *material && strcmp(material, s_material_code(taxonomy, m)) != 0)
            continue;
        if (s_material_active(&c, m))
            s_material_demos(index, &v, &c, model, today, m, &list, &exact);
    }
    if (list.count)
        qsort(list.items, list.count, sizeof *list.items, s_demo_order);
    size_t keep = limit ? limit : 50;
    for (size_t i = keep; i < list.count; i++)
        lodestone__v1__demo_suggestion__free_unpacked(list.items[i], NULL);
    if (list.count > keep)
        list.count = keep;
    Lodestone__V1__DemoList *out = calloc(1, sizeof *out);
    lodestone__v1__demo_list__init(out);
    out->suggestions = list.items;
    out->n_suggestions = list.count;
    for (size_t i = 0; i < list.count; i++)
        list.items[i]->rank = (uint32_t)(i + 1);
    out->ranking_rule =
        strdup("more of the chain's stages covered first; then fewer regions; then the higher mean "
               "score of the strongest SMEs; then material and region codes");
    char method[200];
    if (exact)
        snprintf(method, sizeof method,
                 "exact: every set of regions tried, smallest first (up to %d regions); at "
                 "most %d sets per material",
                 REPORT_EXACT_REGIONS, REPORT_COVERS_PER_MATERIAL);
    else
        snprintf(method, sizeof method,
                 "greedy set cover (more than %d regions): one set per material",
                 REPORT_EXACT_REGIONS);
    out->cover_method = strdup(method);
    s_counts_free(&c);
    s_vocab_free(&v);
    out->took_ms = (double)(ls_mono_ms() - start);
    return out;
}
