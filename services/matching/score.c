/* score.c — the matching model v1: hard filters, one similarity function per facet
 * with the sentence that explains it, the weighted score, and an entity's top-K.
 * A new facet is one function and one line in s_facets (and a weight in
 * match_weights_t). */
#include "score.h"

#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_REASON_MAX 512
#define S_SHOWN_MAX 5 /* values named in one sentence; the rest are counted */

/* Region tiers: the partnership exists for interregional links, so a partner region
 * abroad still scores well above an unrelated place. */
#define S_REGION_SAME 1.0
#define S_REGION_COUNTRY 0.7
#define S_REGION_PARTNERSHIP 0.5
#define S_REGION_ELSEWHERE 0.1

/* A critical or strategic raw material counts this much more in the materials overlap. */
#define S_LISTED_MATERIAL_WEIGHT 1.5

typedef Lodestone__V1__EntityKind s_kind_t;
#define S_SME LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME
#define S_INVESTOR LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_INVESTOR
#define S_OPPORTUNITY LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY

/* The kinds that are matched, subject -> candidate. SME <-> investor and
 * investor <-> opportunity join here when their facets are scored. */
static const struct {
    s_kind_t subject;
    s_kind_t candidate;
} s_pairs[] = {
    {S_SME, S_OPPORTUNITY},
    {S_OPPORTUNITY, S_SME},
};
#define S_PAIRS (sizeof s_pairs / sizeof s_pairs[0])

/* ---------------------------------------------------------------------------
 * Sentences */

/* A bounded sentence under construction; text NULL means "no explanation wanted", so
 * the ranking pass can reuse the facet functions without formatting. */
typedef struct {
    char *text;
    size_t size;
    size_t len;
} s_text_t;

static void s_say(s_text_t *why, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void s_say(s_text_t *why, const char *format, ...)
{
    if (!why || !why->text || why->len + 1 >= why->size)
        return;
    va_list args;
    va_start(args, format);
    int written = vsnprintf(why->text + why->len, why->size - why->len, format, args);
    va_end(args);
    if (written > 0)
        why->len +=
            (size_t)written < why->size - why->len ? (size_t)written : why->size - why->len - 1;
}

/* "a", "a and b", "a, b and c", "a, b, c, d, e and 3 more": shown of total. */
static void s_say_list(s_text_t *why, const char *const *items, size_t shown, size_t total)
{
    for (size_t i = 0; i < shown; i++) {
        const char *separator = i == 0 ? "" : (i + 1 == shown && shown == total) ? " and " : ", ";
        s_say(why, "%s%s", separator, items[i]);
    }
    if (total > shown)
        s_say(why, " and %zu more", total - shown);
}

static const char *s_role(const match_entity_t *entity)
{
    switch (entity->kind) {
    case S_SME:
        return "the SME";
    case S_INVESTOR:
        return "the investor";
    case S_OPPORTUNITY:
        return "the opportunity";
    default:
        return "one side";
    }
}

/* For a facet one side or both leave empty: no evidence of a fit, so similarity 0. */
static double s_missing(s_text_t *why, const match_entity_t *subject,
                        const match_entity_t *candidate, bool subject_has, bool candidate_has,
                        const char *what)
{
    if (!subject_has && !candidate_has)
        s_say(why, "neither names a %s", what);
    else
        s_say(why, "%s names no %s", s_role(subject_has ? candidate : subject), what);
    return 0.0;
}

/* ---------------------------------------------------------------------------
 * Facets. Each returns a similarity in [0, 1] and says why into `why`. */

typedef double(s_facet_fn)(const match_entity_t *subject, const match_entity_t *candidate,
                           s_text_t *why);

/* Overlap coefficient |A ∩ B| / min(|A|, |B|) rather than Jaccard: a specialist whose
 * few stages all lie within a broader partner's is a full fit for what it does, and
 * Jaccard would mark down every specialist paired with a generalist. */
static double s_stages(const match_entity_t *subject, const match_entity_t *candidate,
                       s_text_t *why)
{
    const match_terms_t *a = &subject->stages, *b = &candidate->stages;
    if (a->size == 0 || b->size == 0)
        return s_missing(why, subject, candidate, a->size > 0, b->size > 0, "stage");
    const char *shown[S_SHOWN_MAX];
    size_t shared = 0;
    for (size_t i = 0, j = 0; i < a->size && j < b->size;) {
        int order = strcmp(a->items[i], b->items[j]);
        if (order == 0) {
            if (shared < S_SHOWN_MAX)
                shown[shared] = a->items[i];
            shared++;
        }
        i += order <= 0;
        j += order >= 0;
    }
    if (shared == 0) {
        s_say(why, "no stage in common");
        return 0.0;
    }
    s_say(why, "both work in ");
    s_say_list(why, shown, shared < S_SHOWN_MAX ? shared : S_SHOWN_MAX, shared);
    return (double)shared / (double)(a->size < b->size ? a->size : b->size);
}

static bool s_listed(const match_material_t *material)
{
    return material->critical || material->strategic;
}

static double s_material_weight(const match_material_t *material)
{
    return s_listed(material) ? S_LISTED_MATERIAL_WEIGHT : 1.0;
}

static const char *s_status(const match_material_t *material)
{
    return material->critical && material->strategic ? "strategic and critical"
           : material->critical                      ? "critical"
                                                     : "strategic";
}

/* "; cobalt and nickel are strategic and critical raw materials; dysprosium is a
 * critical raw material (Critical Raw Materials Act list crma-2024)", or for a single
 * shared material ", a critical raw material (...)". */
static void s_say_status(s_text_t *why, const match_material_t *const *shown, size_t count,
                         size_t shared, const char *version)
{
    static const char *const statuses[] = {"strategic and critical", "critical", "strategic"};
    bool any = false;
    for (size_t s = 0; s < sizeof statuses / sizeof statuses[0]; s++) {
        const char *labels[S_SHOWN_MAX];
        size_t n = 0;
        for (size_t i = 0; i < count; i++)
            if (s_listed(shown[i]) && strcmp(s_status(shown[i]), statuses[s]) == 0)
                labels[n++] = shown[i]->label;
        if (n == 0)
            continue;
        if (shared == 1)
            s_say(why, ", a %s raw material", statuses[s]);
        else {
            s_say(why, "; ");
            s_say_list(why, labels, n, n);
            s_say(why, n == 1 ? " is a %s raw material" : " are %s raw materials", statuses[s]);
        }
        any = true;
    }
    if (any)
        s_say(why,
              *version ? " (Critical Raw Materials Act list %s)" : " (Critical Raw Materials Act)",
              version);
}

/* Weighted overlap coefficient over the materials after group expansion:
 * w(A ∩ B) / min(w(A), w(B)), where a critical or strategic material weighs 1.5 and
 * any other 1, so that sharing cobalt counts for more than sharing gold. */
static double s_materials(const match_entity_t *subject, const match_entity_t *candidate,
                          s_text_t *why)
{
    size_t na = subject->material_count, nb = candidate->material_count;
    if (na == 0 || nb == 0)
        return s_missing(why, subject, candidate, na > 0, nb > 0, "material");
    double wa = 0.0, wb = 0.0, wshared = 0.0;
    for (size_t i = 0; i < na; i++)
        wa += s_material_weight(&subject->materials[i]);
    for (size_t j = 0; j < nb; j++)
        wb += s_material_weight(&candidate->materials[j]);
    /* Name listed materials first, then the others, each in code order. */
    const match_material_t *listed[S_SHOWN_MAX], *other[S_SHOWN_MAX];
    size_t n_listed = 0, n_other = 0, shared = 0;
    for (size_t i = 0, j = 0; i < na && j < nb;) {
        const match_material_t *a = &subject->materials[i], *b = &candidate->materials[j];
        int order = strcmp(a->code, b->code);
        if (order == 0) {
            wshared += s_material_weight(a);
            shared++;
            if (s_listed(a) && n_listed < S_SHOWN_MAX)
                listed[n_listed++] = a;
            else if (!s_listed(a) && n_other < S_SHOWN_MAX)
                other[n_other++] = a;
        }
        i += order <= 0;
        j += order >= 0;
    }
    if (shared == 0) {
        s_say(why, "no material in common");
        return 0.0;
    }
    const match_material_t *shown[S_SHOWN_MAX];
    const char *labels[S_SHOWN_MAX];
    size_t count = 0;
    for (size_t i = 0; i < n_listed && count < S_SHOWN_MAX; i++)
        shown[count++] = listed[i];
    for (size_t i = 0; i < n_other && count < S_SHOWN_MAX; i++)
        shown[count++] = other[i];
    for (size_t i = 0; i < count; i++)
        labels[i] = shown[i]->label;
    s_say(why, "both work with ");
    s_say_list(why, labels, count, shared);
    s_say_status(why, shown, count, shared, subject->materials_version);
    return wshared / (wa < wb ? wa : wb);
}

/* ISO codes to names for sentences; the EU writes Greece as EL. */
static const char *s_country_name(const char *code)
{
    static const char *const names[][2] = {
        {"FI", "Finland"}, {"SE", "Sweden"}, {"ES", "Spain"}, {"EL", "Greece"}, {"GR", "Greece"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(code, names[i][0]) == 0)
            return names[i][1];
    return code;
}

static double s_region(const match_entity_t *subject, const match_entity_t *candidate,
                       s_text_t *why)
{
    const char *a = subject->region_name, *b = candidate->region_name;
    if (!*subject->region || !*candidate->region)
        return s_missing(why, subject, candidate, *subject->region != 0, *candidate->region != 0,
                         "region");
    if (strcmp(subject->region, candidate->region) == 0) {
        s_say(why, "both in %s", a);
        return S_REGION_SAME;
    }
    if (*subject->country && strcmp(subject->country, candidate->country) == 0) {
        s_say(why, "both in %s (%s and %s)", s_country_name(subject->country), a, b);
        return S_REGION_COUNTRY;
    }
    if (subject->partnership && candidate->partnership) {
        s_say(why, "interregional link within the partnership: %s and %s", a, b);
        return S_REGION_PARTNERSHIP;
    }
    s_say(why, "different regions outside a partnership link: %s and %s", a, b);
    return S_REGION_ELSEWHERE;
}

static const struct {
    const char *name;
    size_t weight_offset; /* into match_weights_t */
    s_facet_fn *similarity;
} s_facets[] = {
    {"stages", offsetof(match_weights_t, stages), s_stages},
    {"materials", offsetof(match_weights_t, materials), s_materials},
    {"region", offsetof(match_weights_t, region), s_region},
};
#define S_FACETS (sizeof s_facets / sizeof s_facets[0])

/* ---------------------------------------------------------------------------
 * Scoring */

typedef struct {
    const char *facet;
    double weight;
    double similarity;
    double contribution;
    char reason[S_REASON_MAX];
} s_facet_result_t;

/* Fills one result per weighted facet (reasons only when explain) and returns the
 * score, the sum of the contributions. */
static double s_evaluate(const match_config_t *config, const match_entity_t *subject,
                         const match_entity_t *candidate, bool explain,
                         s_facet_result_t results[S_FACETS], size_t *count)
{
    double total_weight = 0.0;
    *count = 0;
    for (size_t f = 0; f < S_FACETS; f++) {
        double weight =
            *(const double *)((const char *)&config->weights + s_facets[f].weight_offset);
        if (!(weight > 0.0))
            continue;
        s_facet_result_t *result = &results[(*count)++];
        s_text_t why = {explain ? result->reason : NULL, sizeof result->reason, 0};
        result->reason[0] = '\0';
        result->facet = s_facets[f].name;
        result->weight = weight;
        result->similarity = s_facets[f].similarity(subject, candidate, &why);
        total_weight += weight;
    }
    double score = 0.0;
    for (size_t i = 0; i < *count; i++) {
        results[i].contribution = results[i].weight * results[i].similarity / total_weight;
        score += results[i].contribution;
    }
    return score;
}

match_config_t match_config_default(void)
{
    match_config_t config = {{0.35, 0.40, 0.25}, 0.3, 10};
    return config;
}

static bool s_kinds_pair(s_kind_t subject, s_kind_t candidate)
{
    for (size_t i = 0; i < S_PAIRS; i++)
        if (s_pairs[i].subject == subject && s_pairs[i].candidate == candidate)
            return true;
    return false;
}

const char *match_rejection(const match_entity_t *subject, const match_entity_t *candidate,
                            const char *today)
{
    assert(subject);
    assert(candidate);
    if (!s_kinds_pair(subject->kind, candidate->kind))
        return "these kinds of entity are not matched";
    if (!subject->active)
        return "the subject is not active";
    if (!candidate->active)
        return "the candidate is not active";
    const match_entity_t *opportunity = subject->kind == S_OPPORTUNITY     ? subject
                                        : candidate->kind == S_OPPORTUNITY ? candidate
                                                                           : NULL;
    if (opportunity && today && *today && *opportunity->deadline &&
        strcmp(opportunity->deadline, today) < 0)
        return "the opportunity's deadline has passed"; /* ISO dates order as strings */
    return NULL;
}

static char *s_strdup(const char *text)
{
    char *copy = strdup(text);
    assert(copy);
    return copy;
}

/* "Both work with cobalt, ...; both in Lapland.": the reasons of the two facets that
 * contribute most, in order. */
static char *s_summary(const s_facet_result_t *results, size_t count)
{
    const s_facet_result_t *top[2] = {NULL, NULL};
    for (size_t i = 0; i < count; i++) {
        const s_facet_result_t *result = &results[i];
        if (!(result->contribution > 0.0))
            continue;
        if (!top[0] || result->contribution > top[0]->contribution) {
            top[1] = top[0];
            top[0] = result;
        } else if (!top[1] || result->contribution > top[1]->contribution)
            top[1] = result;
    }
    if (!top[0])
        return s_strdup("Nothing in common on the facets scored.");
    char *summary =
        zsys_sprintf("%s%s%s.", top[0]->reason, top[1] ? "; " : "", top[1] ? top[1]->reason : "");
    assert(summary);
    summary[0] = (char)toupper((unsigned char)summary[0]);
    return summary;
}

static ls_match_pb *s_match_build(const match_entity_t *subject, const match_entity_t *candidate,
                                  double score, const s_facet_result_t *results, size_t count)
{
    ls_match_pb *match = (ls_match_pb *)malloc(sizeof *match);
    assert(match);
    lodestone__v1__match__init(match);
    match->subject_id = s_strdup(subject->id);
    match->candidate_id = s_strdup(candidate->id);
    match->candidate_kind = candidate->kind;
    match->candidate_name = s_strdup(candidate->name);
    match->score = score;
    match->model_version = s_strdup(MATCH_MODEL_VERSION);
    match->summary = s_summary(results, count);
    if (count > 0) {
        match->facets = (ls_facet_score_pb **)calloc(count, sizeof *match->facets);
        assert(match->facets);
    }
    for (size_t i = 0; i < count; i++) {
        ls_facet_score_pb *facet = (ls_facet_score_pb *)malloc(sizeof *facet);
        assert(facet);
        lodestone__v1__facet_score__init(facet);
        facet->facet = s_strdup(results[i].facet);
        facet->weight = results[i].weight;
        facet->similarity = results[i].similarity;
        facet->contribution = results[i].contribution;
        facet->reason = s_strdup(results[i].reason);
        match->facets[match->n_facets++] = facet;
    }
    return match;
}

ls_match_pb *match_score(const match_config_t *config, const match_entity_t *subject,
                         const match_entity_t *candidate, const char *today)
{
    assert(config);
    if (match_rejection(subject, candidate, today))
        return NULL;
    s_facet_result_t results[S_FACETS];
    size_t count;
    double score = s_evaluate(config, subject, candidate, true, results, &count);
    return s_match_build(subject, candidate, fmin(score, 1.0), results, count);
}

void match_destroy(ls_match_pb **match_p)
{
    assert(match_p);
    if (*match_p)
        lodestone__v1__match__free_unpacked(*match_p, NULL);
    *match_p = NULL;
}

/* ---------------------------------------------------------------------------
 * Top-K */

typedef struct {
    const match_entity_t *candidate;
    double score;
} s_ranked_t;

typedef struct {
    const match_config_t *config;
    const match_entity_t *subject;
    const char *today;
    s_ranked_t *items;
    size_t size;
    size_t capacity;
} s_ranking_t;

/* Scores without sentences; only the kept matches are explained, afterwards. */
static void s_rank(const match_entity_t *candidate, void *arg)
{
    s_ranking_t *ranking = (s_ranking_t *)arg;
    if (match_rejection(ranking->subject, candidate, ranking->today))
        return;
    s_facet_result_t results[S_FACETS];
    size_t count;
    double score =
        fmin(s_evaluate(ranking->config, ranking->subject, candidate, false, results, &count), 1.0);
    if (score < ranking->config->threshold)
        return;
    if (ranking->size == ranking->capacity) {
        ranking->capacity = ranking->capacity ? 2 * ranking->capacity : 64;
        ranking->items =
            (s_ranked_t *)realloc(ranking->items, ranking->capacity * sizeof *ranking->items);
        assert(ranking->items);
    }
    ranking->items[ranking->size++] = (s_ranked_t){candidate, score};
}

static int s_ranked_cmp(const void *a, const void *b)
{
    const s_ranked_t *x = (const s_ranked_t *)a, *y = (const s_ranked_t *)b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->candidate->id, y->candidate->id);
}

static void s_match_item_destroy(void **item_p)
{
    match_destroy((ls_match_pb **)item_p);
}

zlistx_t *match_top(match_index_t *index, const match_entity_t *subject,
                    const match_config_t *config, const char *today)
{
    assert(index);
    assert(subject);
    assert(config);
    zlistx_t *matches = zlistx_new();
    assert(matches);
    zlistx_set_destructor(matches, s_match_item_destroy);
    if (!subject->active || config->top_k == 0)
        return matches;
    s_ranking_t ranking = {config, subject, today, NULL, 0, 0};
    for (size_t i = 0; i < S_PAIRS; i++)
        if (s_pairs[i].subject == subject->kind)
            match_index_candidates(index, subject, s_pairs[i].candidate, s_rank, &ranking);
    if (ranking.size) /* qsort of a NULL array is undefined, even when empty */
        qsort(ranking.items, ranking.size, sizeof *ranking.items, s_ranked_cmp);
    for (size_t i = 0; i < ranking.size && i < config->top_k; i++) {
        ls_match_pb *match = match_score(config, subject, ranking.items[i].candidate, today);
        assert(match); /* it passed the filters a moment ago */
        zlistx_add_end(matches, match);
    }
    free(ranking.items);
    return matches;
}
