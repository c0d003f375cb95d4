/* score.c — the matching model v1: hard filters with their sentences, one similarity
 * function per facet with the sentence that explains it, the weighted score, an
 * entity's top-K and the explanation of one pair. A new facet is one function, one
 * line in s_facets and a weight in match_weights_t. See score.h for the model. */
#include "score.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_REASON_MAX 512
#define S_SHOWN_MAX 5 /* values named in one sentence; the rest are counted */
#define S_WEIGHT_MAX 10.0

/* Region tiers: the partnership exists for interregional links, so a partner region
 * abroad still scores well above an unrelated place. */
#define S_REGION_SAME 1.0
#define S_REGION_COUNTRY 0.7
#define S_REGION_PARTNERSHIP 0.5
#define S_REGION_ELSEWHERE 0.1

/* A critical or strategic raw material counts this much more in the materials overlap. */
#define S_LISTED_MATERIAL_WEIGHT 1.5
/* A required capability counts this much more than a nice-to-have one. */
#define S_REQUIRED_WEIGHT 2.0
/* NACE: the deepest level two codes share. */
static const double s_nace_tiers[4] = {1.0, 0.75, 0.5, 0.25};
/* Similarity when a side does not state its TRL, budget or ticket: unknown. */
#define S_UNKNOWN 0.5
/* Funding: how much the range counts against the instruments when both list some. */
#define S_RANGE_SHARE 0.7

typedef Lodestone__V1__EntityKind s_kind_t;
#define S_SME LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME
#define S_INVESTOR LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_INVESTOR
#define S_OPPORTUNITY LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY
#define S_INVESTMENT_CASE LODESTONE__V1__OPPORTUNITY__KIND__INVESTMENT_CASE

/* The pair kinds, each with the facets that apply to it. */
typedef enum { S_PAIR_NONE, S_PAIR_SUPPLY, S_PAIR_FUNDING } s_pair_t;

/* SME <-> opportunity is a supply pair; a pair with an investor is a funding pair. */
static s_pair_t s_pair_of(s_kind_t a, s_kind_t b)
{
    if ((a == S_SME && b == S_OPPORTUNITY) || (a == S_OPPORTUNITY && b == S_SME))
        return S_PAIR_SUPPLY;
    if ((a == S_INVESTOR && (b == S_SME || b == S_OPPORTUNITY)) ||
        (b == S_INVESTOR && (a == S_SME || a == S_OPPORTUNITY)))
        return S_PAIR_FUNDING;
    return S_PAIR_NONE;
}

/* The entity of kind `kind` in the pair, or NULL. */
static const match_entity_t *s_side(const match_entity_t *a, const match_entity_t *b, s_kind_t kind)
{
    return a->kind == kind ? a : b->kind == kind ? b : NULL;
}

/* In a funding pair: the side that asks for money (SME or investment case). */
static const match_entity_t *s_other(const match_entity_t *a, const match_entity_t *b,
                                     const match_entity_t *one)
{
    return one == a ? b : a;
}

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

/* True when a sentence is wanted: guards work done only for the sentence. */
static bool s_explaining(const s_text_t *why)
{
    return why && why->text;
}

static void s_say(s_text_t *why, const char *format, ...)
{
    if (!why || !why->text || why->size == 0 || why->len + 1 >= why->size)
        return;
    va_list args;
    va_start(args, format);
    int written = vsnprintf(why->text + why->len, why->size - why->len, format, args);
    va_end(args);
    if (written > 0)
        why->len +=
            (size_t)written < why->size - why->len ? (size_t)written : why->size - why->len - 1;
}

/* s_say (why, "%s", text) without the formatting: the same bytes, truncated alike. */
static void s_put(s_text_t *why, const char *text)
{
    if (!why || !why->text || why->size == 0 || why->len + 1 >= why->size)
        return;
    size_t len = strlen(text), room = why->size - why->len - 1;
    if (len > room)
        len = room;
    memcpy(why->text + why->len, text, len);
    why->len += len;
    why->text[why->len] = '\0';
}

/* "a", "a and b", "a, b and c", "a, b, c, d, e and 3 more": shown of total. */
static void s_say_list(s_text_t *why, const char *const *items, size_t shown, size_t total)
{
    for (size_t i = 0; i < shown; i++) {
        s_put(why, i == 0 ? "" : (i + 1 == shown && shown == total) ? " and " : ", ");
        s_put(why, items[i]);
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
        return entity->opportunity_kind == S_INVESTMENT_CASE ? "the investment case"
                                                             : "the opportunity";
    default:
        return "one side";
    }
}

static const char *s_plural(const match_entity_t *entity)
{
    return entity->kind == S_SME           ? "SMEs"
           : entity->kind == S_INVESTOR    ? "investors"
           : entity->kind == S_OPPORTUNITY ? "opportunities"
                                           : "entities of this kind";
}

/* "EUR 2m", "EUR 100k", "EUR 2.5m". */
static void s_say_eur(s_text_t *why, uint64_t eur)
{
    if (eur >= 1000000 && eur % 1000000 == 0)
        s_say(why, "%llum", (unsigned long long)(eur / 1000000));
    else if (eur >= 1000000)
        s_say(why, "%.1fm", (double)eur / 1e6);
    else if (eur >= 1000 && eur % 1000 == 0)
        s_say(why, "%lluk", (unsigned long long)(eur / 1000));
    else if (eur >= 1000)
        s_say(why, "%.1fk", (double)eur / 1e3);
    else
        s_say(why, "%llu", (unsigned long long)eur);
}

/* "EUR 2m-10m", "EUR 2m or more", "EUR 500k". */
static void s_say_range(s_text_t *why, const match_money_t *money)
{
    s_put(why, "EUR ");
    s_say_eur(why, money->min_eur);
    if (money->max_eur == 0)
        s_put(why, " or more");
    else if (money->max_eur != money->min_eur) {
        s_put(why, "-");
        s_say_eur(why, money->max_eur);
    }
}

static const char *s_instrument_name(unsigned instrument)
{
    static const char *const names[] = {"unspecified", "equity", "loan", "grant", "guarantee"};
    return instrument < sizeof names / sizeof names[0] ? names[instrument] : "other";
}

/* "equity", "loan or grant" */
static void s_say_instruments(s_text_t *why, unsigned bits, const char *joiner)
{
    size_t count = 0, total = 0;
    for (unsigned i = 1; i < 32; i++)
        total += (bits >> i) & 1u;
    for (unsigned i = 1; i < 32; i++)
        if ((bits >> i) & 1u) {
            s_put(why, count == 0 ? "" : count + 1 == total ? joiner : ", ");
            s_put(why, s_instrument_name(i));
            count++;
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
 * few values all lie within a broader partner's is a full fit for what it does. */
static double s_overlap(const match_entity_t *subject, const match_entity_t *candidate,
                        const match_terms_t *a, const match_terms_t *b, const char *what,
                        const char *verb, s_text_t *why)
{
    if (a->size == 0 || b->size == 0)
        return s_missing(why, subject, candidate, a->size > 0, b->size > 0, what);
    const char *shown[S_SHOWN_MAX];
    size_t shared = 0;
    if (a->mask & b->mask)
        for (size_t i = 0; i < a->size; i++) /* in a's order: sorted */
            if (match_terms_has(b, a->ids[i])) {
                if (shared < S_SHOWN_MAX)
                    shown[shared] = a->items[i];
                shared++;
            }
    if (shared == 0) {
        s_say(why, "no %s in common", what);
        return 0.0;
    }
    if (s_explaining(why)) {
        s_say(why, "both %s ", verb);
        s_say_list(why, shown, shared < S_SHOWN_MAX ? shared : S_SHOWN_MAX, shared);
    }
    return (double)shared / (double)(a->size < b->size ? a->size : b->size);
}

static double s_stages(const match_entity_t *subject, const match_entity_t *candidate,
                       s_text_t *why)
{
    return s_overlap(subject, candidate, &subject->stages, &candidate->stages, "stage", "work in",
                     why);
}

static double s_themes(const match_entity_t *subject, const match_entity_t *candidate,
                       s_text_t *why)
{
    return s_overlap(subject, candidate, &subject->themes, &candidate->themes, "theme", "pursue",
                     why);
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
            s_put(why, "; ");
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
    if (subject->materials_mask & candidate->materials_mask)
        for (size_t i = 0; i < na; i++) {
            const match_material_t *a = &subject->materials[i]; /* in code order */
            if (!match_materials_has(candidate, a->id))
                continue;
            wshared += s_material_weight(a);
            shared++;
            if (s_listed(a) && n_listed < S_SHOWN_MAX)
                listed[n_listed++] = a;
            else if (!s_listed(a) && n_other < S_SHOWN_MAX)
                other[n_other++] = a;
        }
    if (shared == 0) {
        s_put(why, "no material in common");
        return 0.0;
    }
    if (!why || !why->text)
        return wshared / (wa < wb ? wa : wb);
    const match_material_t *shown[S_SHOWN_MAX];
    const char *labels[S_SHOWN_MAX];
    size_t count = 0;
    for (size_t i = 0; i < n_listed && count < S_SHOWN_MAX; i++)
        shown[count++] = listed[i];
    for (size_t i = 0; i < n_other && count < S_SHOWN_MAX; i++)
        shown[count++] = other[i];
    for (size_t i = 0; i < count; i++)
        labels[i] = shown[i]->label;
    s_put(why, "both work with ");
    s_say_list(why, labels, count, shared);
    s_say_status(why, shown, count, shared, subject->materials_version);
    return wshared / (wa < wb ? wa : wb);
}

/* The weight of tag i of a capability set: its rarity from the IDF snapshot. */
static double s_rarity(const match_terms_t *terms, size_t i)
{
    return terms->weights ? terms->weights[i] : 1.0;
}

/* Share of the opportunity's wanted capabilities the SME has, each tag weighted by its
 * rarity (a rare skill says more than a common one) and a required tag counting
 * twice: sum over wanted tags the SME has / sum over wanted tags. Summed in sorted
 * order, required tags first. */
static double s_capabilities(const match_entity_t *subject, const match_entity_t *candidate,
                             s_text_t *why)
{
    const match_entity_t *sme = s_side(subject, candidate, S_SME);
    const match_entity_t *opportunity = s_side(subject, candidate, S_OPPORTUNITY);
    const match_terms_t *required = &opportunity->required_capabilities;
    const match_terms_t *nice = &opportunity->capabilities;
    const match_terms_t *offered = &sme->capabilities;
    if (required->size + nice->size == 0 || offered->size == 0)
        return s_missing(why, subject, candidate,
                         (subject == sme ? offered->size : required->size + nice->size) > 0,
                         (candidate == sme ? offered->size : required->size + nice->size) > 0,
                         "capability");
    double total = 0.0, held = 0.0;
    const char *have[S_SHOWN_MAX], *lack[S_SHOWN_MAX];
    size_t n_req = 0, n_have = 0, n_lack = 0;
    for (size_t i = 0; i < required->size; i++) {
        double weight = S_REQUIRED_WEIGHT * s_rarity(required, i);
        total += weight;
        if (match_terms_has(offered, required->ids[i])) {
            held += weight;
            n_req++;
        }
    }
    for (size_t i = 0; i < nice->size; i++) {
        if (match_terms_has(required, nice->ids[i]))
            continue;
        double weight = s_rarity(nice, i);
        total += weight;
        if (match_terms_has(offered, nice->ids[i])) {
            held += weight;
            if (n_have < S_SHOWN_MAX)
                have[n_have] = nice->items[i];
            n_have++;
        } else {
            if (n_lack < S_SHOWN_MAX)
                lack[n_lack] = nice->items[i];
            n_lack++;
        }
    }
    double similarity = total > 0.0 ? held / total : 0.0;
    if (!s_explaining(why))
        return similarity;
    if (required->size == 1)
        s_say(why, "the SME has the required capability %s", required->items[0]);
    else if (required->size > 1)
        s_say(why, "the SME has %s the %zu required capabilities",
              n_req == required->size ? "all" : "some of", required->size);
    if (n_have > 0) {
        s_put(why, required->size ? "; it also offers " : "the SME offers ");
        s_say_list(why, have, n_have < S_SHOWN_MAX ? n_have : S_SHOWN_MAX, n_have);
        s_put(why, " of those nice to have");
    }
    if (n_lack > 0) {
        s_put(why, required->size || n_have ? "; it lacks " : "the SME lacks ");
        s_say_list(why, lack, n_lack < S_SHOWN_MAX ? n_lack : S_SHOWN_MAX, n_lack);
    }
    if (!(held > 0.0) && why->len == 0)
        s_put(why, "no capability in common");
    return similarity;
}

static double s_nace(const match_entity_t *subject, const match_entity_t *candidate, s_text_t *why)
{
    if (subject->nace.size == 0 || candidate->nace.size == 0)
        return s_missing(why, subject, candidate, subject->nace.size > 0, candidate->nace.size > 0,
                         "NACE activity");
    static const char *const names[4] = {"class", "group", "division", "section"};
    const match_terms_t *a[4] = {&subject->nace_class, &subject->nace_group,
                                 &subject->nace_division, &subject->nace_section};
    const match_terms_t *b[4] = {&candidate->nace_class, &candidate->nace_group,
                                 &candidate->nace_division, &candidate->nace_section};
    for (size_t level = 0; level < 4; level++) {
        if (!(a[level]->mask & b[level]->mask))
            continue; /* nothing in common at this level */
        for (size_t i = 0; i < a[level]->size; i++)
            if (match_terms_has(b[level], a[level]->ids[i])) {
                s_say(why, "%s NACE %s %s", level == 0 ? "same" : "activities in the same",
                      names[level], a[level]->items[i]);
                return s_nace_tiers[level];
            }
    }
    s_put(why, "no NACE section in common");
    return 0.0;
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
    const match_entity_t *investor = s_side(subject, candidate, S_INVESTOR);
    if (investor && investor->target_regions.size > 0) {
        const match_entity_t *other = s_other(subject, candidate, investor);
        if (match_terms_has(&investor->target_regions, other->region_id)) {
            s_say(why, "the investor targets %s", other->region_name);
            return S_REGION_SAME;
        }
    }
    const char *a = subject->region_name, *b = candidate->region_name;
    if (!subject->region_id || !candidate->region_id) /* "" has no number */
        return s_missing(why, subject, candidate, *subject->region != 0, *candidate->region != 0,
                         "region");
    if (subject->region_id == candidate->region_id) {
        s_say(why, "both in %s", a);
        return S_REGION_SAME;
    }
    if (subject->country_id && subject->country_id == candidate->country_id) {
        if (s_explaining(why))
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

/* The TRL one side has and the bounds the other asks for (0 = not stated). */
typedef struct {
    unsigned level, min, max;
    const match_entity_t *holder, *asker;
} s_trl_t;

static s_trl_t s_trl_of(const match_entity_t *a, const match_entity_t *b)
{
    const match_entity_t *investor = s_side(a, b, S_INVESTOR);
    if (investor) {
        const match_entity_t *other = s_other(a, b, investor);
        unsigned level = other->kind == S_SME ? other->trl : other->trl_min;
        return (s_trl_t){level, investor->trl_min, investor->trl_max, other, investor};
    }
    const match_entity_t *sme = s_side(a, b, S_SME);
    const match_entity_t *opportunity = s_other(a, b, sme);
    return (s_trl_t){sme->trl, opportunity->trl_min, 0, sme, opportunity};
}

static double s_trl(const match_entity_t *subject, const match_entity_t *candidate, s_text_t *why)
{
    s_trl_t t = s_trl_of(subject, candidate);
    if (t.min == 0 && t.max == 0) {
        s_say(why, "%s sets no TRL range", s_role(t.asker));
        return t.level ? 1.0 : S_UNKNOWN;
    }
    if (t.level == 0) {
        s_say(why, "%s states no TRL", s_role(t.holder));
        return S_UNKNOWN;
    }
    bool fits = t.level >= t.min && (t.max == 0 || t.level <= t.max);
    if (t.max)
        s_say(why, "TRL %u %s %s's range %u-%u", t.level, fits ? "is within" : "is outside",
              s_role(t.asker), t.min, t.max);
    else
        s_say(why, "TRL %u %s %s's minimum of %u", t.level, fits ? "meets" : "is below",
              s_role(t.asker), t.min);
    return fits ? 1.0 : 0.0;
}

/* The upper end of a range: max 0 means no upper bound. */
static double s_upper(const match_money_t *money)
{
    return money->max_eur ? (double)money->max_eur : INFINITY;
}

static bool s_overlap_money(const match_money_t *sought, const match_money_t *ticket)
{
    double lo = fmax((double)sought->min_eur, (double)ticket->min_eur);
    return lo <= fmin(s_upper(sought), s_upper(ticket));
}

/* Share of the sought range [a, b] (log scale) inside the ticket [c, d]; 1 for a
 * single amount or an open-ended wish that the ticket meets. */
static double s_range_fit(const match_money_t *sought, const match_money_t *ticket)
{
    if (!s_overlap_money(sought, ticket))
        return 0.0;
    if (sought->max_eur == 0 || sought->max_eur <= sought->min_eur)
        return 1.0;
    double a = fmax((double)sought->min_eur, 1.0), b = (double)sought->max_eur;
    double lo = fmax(a, (double)ticket->min_eur), hi = fmin(b, s_upper(ticket));
    return fmin(1.0, fmax(0.0, (log(hi) - log(lo)) / (log(b) - log(a))));
}

static size_t s_bits(unsigned bits)
{
    size_t count = 0;
    for (; bits; bits &= bits - 1)
        count++;
    return count;
}

static double s_funding(const match_entity_t *subject, const match_entity_t *candidate,
                        s_text_t *why)
{
    const match_entity_t *investor = s_side(subject, candidate, S_INVESTOR);
    const match_entity_t *seeker = s_other(subject, candidate, investor);
    if (!seeker->money.stated || !investor->money.stated) {
        s_say(why, "%s states no %s", s_role(seeker->money.stated ? investor : seeker),
              seeker->money.stated ? "ticket" : "amount");
        return S_UNKNOWN;
    }
    double fit = s_range_fit(&seeker->money, &investor->money);
    if (s_explaining(why)) {
        s_put(why, "ticket ");
        s_say_range(why, &investor->money);
        s_say(why, " %s the ", fit >= 1.0 ? "covers" : "partly covers");
        s_say_range(why, &seeker->money);
        s_put(why, " sought");
    }
    if (!investor->instruments || !seeker->instruments)
        return fit;
    unsigned shared = investor->instruments & seeker->instruments;
    double instruments = (double)s_bits(shared) / (double)s_bits(seeker->instruments);
    double similarity = S_RANGE_SHARE * fit + (1.0 - S_RANGE_SHARE) * instruments;
    if (!s_explaining(why))
        return similarity;
    s_put(why, "; offers ");
    s_say_instruments(why, shared, " and ");
    if (shared != seeker->instruments) {
        s_put(why, " but not ");
        s_say_instruments(why, seeker->instruments & ~shared, " or ");
    }
    return similarity;
}

static const struct {
    const char *name;
    const char *env;      /* LODESTONE_WEIGHT_<this> */
    size_t weight_offset; /* into match_weights_t */
    s_facet_fn *similarity;
    bool supply;  /* applies to SME <-> opportunity */
    bool funding; /* applies to the pairs with an investor */
} s_facets[] = {
    {"stages", "STAGES", offsetof(match_weights_t, stages), s_stages, true, true},
    {"materials", "MATERIALS", offsetof(match_weights_t, materials), s_materials, true, true},
    {"capabilities", "CAPABILITIES", offsetof(match_weights_t, capabilities), s_capabilities, true,
     false},
    {"nace", "NACE", offsetof(match_weights_t, nace), s_nace, true, false},
    {"themes", "THEMES", offsetof(match_weights_t, themes), s_themes, true, true},
    {"region", "REGION", offsetof(match_weights_t, region), s_region, true, true},
    {"trl", "TRL", offsetof(match_weights_t, trl), s_trl, true, true},
    {"funding", "FUNDING", offsetof(match_weights_t, funding), s_funding, false, true},
};
#define S_FACETS (sizeof s_facets / sizeof s_facets[0])

static double *s_weight(match_weights_t *weights, size_t facet)
{
    return (double *)((char *)weights + s_facets[facet].weight_offset);
}

/* ---------------------------------------------------------------------------
 * Configuration */

match_config_t match_config_default(void)
{
    match_config_t config = {{0.15, 0.25, 0.25, 0.10, 0.05, 0.10, 0.05, 0.20}, 0.3, 10};
    return config;
}

int match_config_from_env(match_config_t *config, char *err, size_t len)
{
    assert(config);
    match_weights_t weights = config->weights;
    double sum = 0.0;
    for (size_t f = 0; f < S_FACETS; f++) {
        char name[64];
        snprintf(name, sizeof name, "LODESTONE_WEIGHT_%s", s_facets[f].env);
        const char *text = getenv(name);
        if (text && *text) {
            char *end = NULL;
            errno = 0;
            double value = strtod(text, &end);
            while (end && isspace((unsigned char)*end))
                end++;
            if (errno || end == text || *end || !isfinite(value) || value < 0.0 ||
                value > S_WEIGHT_MAX) {
                if (err && len)
                    snprintf(err, len, "%s: '%s' is not a number from 0 to %g", name, text,
                             S_WEIGHT_MAX);
                return -1;
            }
            *s_weight(&weights, f) = value;
        }
        sum += *s_weight(&weights, f);
    }
    if (!(sum > 0.0)) {
        if (err && len)
            snprintf(err, len, "LODESTONE_WEIGHT_*: every facet weight is 0; nothing to score");
        return -1;
    }
    config->weights = weights;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Hard filters */

static bool s_reject(s_text_t *why, const char *format, ...) __attribute__((format(printf, 2, 3)));

static bool s_reject(s_text_t *why, const char *format, ...)
{
    if (why && why->text && why->size) {
        va_list args;
        va_start(args, format);
        vsnprintf(why->text + why->len, why->size - why->len, format, args);
        va_end(args);
        why->len = strlen(why->text);
    }
    return true;
}

static bool s_inactive(s_text_t *why, const match_entity_t *entity)
{
    if (entity->state == LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_ERASED)
        return s_reject(why, "%s has been erased", s_role(entity));
    if (entity->state != LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_ACTIVE)
        return s_reject(why, "%s has been withdrawn", s_role(entity));
    if (!entity->consent)
        return s_reject(why, "%s has not consented to matching", s_role(entity));
    if (entity->closed)
        return s_reject(why, "%s is closed", s_role(entity));
    return false;
}

static bool s_filter_targets(s_text_t *why, const match_entity_t *investor,
                             const match_entity_t *other)
{
    if (investor->target_regions.size == 0 ||
        match_terms_has(&investor->target_regions, other->region_id))
        return false;
    if (!*other->region)
        return s_reject(why, "the investor targets %s, and %s states no region",
                        investor->target_regions_text, s_role(other));
    return s_reject(why, "the investor targets %s, not %s", investor->target_regions_text,
                    other->region_name);
}

static bool s_filter_required(s_text_t *why, const match_entity_t *sme,
                              const match_entity_t *opportunity)
{
    const match_terms_t *required = &opportunity->required_capabilities;
    for (size_t i = 0; i < required->size; i++)
        if (!match_terms_has(&sme->capabilities, required->ids[i]))
            return s_reject(why, "%s requires '%s', which the SME does not list",
                            s_role(opportunity), required->items[i]);
    return false;
}

static bool s_filter_trl(s_text_t *why, const match_entity_t *a, const match_entity_t *b)
{
    s_trl_t t = s_trl_of(a, b);
    if (t.level == 0)
        return false;
    const char *whose = t.holder->kind == S_OPPORTUNITY ? " of the investment case" : "";
    if (t.min && t.level < t.min && (t.max == 0 || t.asker->kind != S_INVESTOR))
        return s_reject(why, "TRL %u%s is below %s's minimum of %u", t.level, whose,
                        s_role(t.asker), t.min);
    if (t.asker->kind != S_INVESTOR)
        return false;
    if ((t.min && t.level < t.min) || (t.max && t.level > t.max)) {
        if (t.min && t.max)
            return s_reject(why, "TRL %u%s is outside the investor's range %u-%u", t.level, whose,
                            t.min, t.max);
        return s_reject(why, "TRL %u%s is above the investor's maximum of %u", t.level, whose,
                        t.max);
    }
    return false;
}

static bool s_filter_money(s_text_t *why, const match_entity_t *investor,
                           const match_entity_t *seeker)
{
    if (seeker->kind == S_SME && !seeker->money.stated)
        return s_reject(why, "the SME states no funding need");
    if (seeker->money.stated && investor->money.stated &&
        !s_overlap_money(&seeker->money, &investor->money)) {
        if (why && why->text) {
            s_put(why, "ticket ");
            s_say_range(why, &investor->money);
            s_put(why, " does not overlap the ");
            s_say_range(why, &seeker->money);
            s_put(why, " sought");
        }
        return true;
    }
    if (investor->instruments && seeker->instruments &&
        !(investor->instruments & seeker->instruments)) {
        if (why && why->text) {
            s_put(why, "the investor offers ");
            s_say_instruments(why, investor->instruments, " and ");
            s_say(why, ", but %s seeks ", s_role(seeker));
            s_say_instruments(why, seeker->instruments, " or ");
        }
        return true;
    }
    return false;
}

/* strcmp (opportunity->deadline, today) < 0, mostly without reading the deadline. */
static bool s_before(const match_entity_t *opportunity, const char *today)
{
    uint64_t today_key = match_text_key(today);
    if (opportunity->deadline_key != today_key)
        return opportunity->deadline_key < today_key;
    return strcmp(opportunity->deadline, today) < 0;
}

/* The filters after the first two (the same entity, kinds that do not pair), for a pair
 * of kind `pair`: what the ranking pass asks of candidates, which are never the
 * subject and always pair with it. */
static bool s_filters_paired(s_text_t *why, const match_entity_t *subject,
                             const match_entity_t *candidate, const char *today, s_pair_t pair)
{
    const match_entity_t *investor = s_side(subject, candidate, S_INVESTOR);
    const match_entity_t *opportunity = s_side(subject, candidate, S_OPPORTUNITY);
    if (investor && opportunity && opportunity->opportunity_kind != S_INVESTMENT_CASE)
        return s_reject(why, "investors are matched with investment cases only, and this "
                             "opportunity is not one");
    if (s_inactive(why, subject) || s_inactive(why, candidate))
        return true;
    if (subject->organisation_hash == candidate->organisation_hash && *subject->organisation_key &&
        strcmp(subject->organisation_key, candidate->organisation_key) == 0)
        return s_reject(why, "%s and %s belong to the same organisation, %s", s_role(subject),
                        s_role(candidate), subject->organisation);
    if (opportunity && today && *today && opportunity->deadline_key &&
        s_before(opportunity, today)) /* ISO dates order as strings */
        return s_reject(why, "%s's deadline %s has passed", s_role(opportunity),
                        opportunity->deadline);
    if (investor && s_filter_targets(why, investor, s_other(subject, candidate, investor)))
        return true;
    if (pair == S_PAIR_SUPPLY &&
        s_filter_required(why, s_side(subject, candidate, S_SME), opportunity))
        return true;
    if (s_filter_trl(why, subject, candidate))
        return true;
    if (investor && s_filter_money(why, investor, s_other(subject, candidate, investor)))
        return true;
    return false;
}

/* The filters in order; true when one rejects, with the sentence in why. */
static bool s_filters(s_text_t *why, const match_entity_t *subject, const match_entity_t *candidate,
                      const char *today)
{
    assert(subject->intern == candidate->intern); /* codes numbered by one index */
    if (subject == candidate ||
        (subject->id_hash == candidate->id_hash && strcmp(subject->id, candidate->id) == 0))
        return s_reject(why, "an entity is not matched with itself");
    s_pair_t pair = s_pair_of(subject->kind, candidate->kind);
    if (pair == S_PAIR_NONE)
        return s_reject(why, "%s are not matched with %s", s_plural(subject), s_plural(candidate));
    return s_filters_paired(why, subject, candidate, today, pair);
}

const char *match_rejection(const match_entity_t *subject, const match_entity_t *candidate,
                            const char *today, char *why, size_t len)
{
    assert(subject);
    assert(candidate);
    if (why && len) {
        why[0] = '\0';
        s_text_t text = {why, len, 0};
        return s_filters(&text, subject, candidate, today) ? why : NULL;
    }
    return s_filters(NULL, subject, candidate, today) ? "excluded by a hard filter" : NULL;
}

/* ---------------------------------------------------------------------------
 * Scoring */

typedef struct {
    const char *facet;
    double weight;
    double similarity;
    double contribution;
    char reason[S_REASON_MAX];
} s_facet_result_t;

/* The weighted facets that apply to one kind of pair, in facet order, with the sum of
 * their weights (match_top works them out once, not once per candidate). For its early
 * exits (s_plan_bounds), order lists them heaviest first and rest[k] is the most the
 * facets from order[k] on can still add to a score. */
typedef struct {
    size_t count;
    size_t facet[S_FACETS]; /* into s_facets */
    double weight[S_FACETS];
    double total_weight;
    size_t order[S_FACETS];    /* into facet[] and weight[] */
    double share[S_FACETS];    /* weight / total_weight, for the bounds */
    double rest[S_FACETS + 1]; /* rest[count] = 0 */
    double without_materials;  /* the most a pair sharing no material can score */
} s_plan_t;

/* A candidate is dropped early only when even perfect remaining facets leave it this
 * far below the cut-off: far more than the rounding of a few sums, so that no
 * candidate the exact score would keep is lost. */
#define S_PRUNE_MARGIN 1e-9

static void s_plan(const match_config_t *config, s_pair_t pair, s_plan_t *plan)
{
    plan->count = 0;
    plan->total_weight = 0.0;
    for (size_t f = 0; f < S_FACETS; f++) {
        double weight = *s_weight((match_weights_t *)&config->weights, f);
        bool applies = pair == S_PAIR_SUPPLY ? s_facets[f].supply : s_facets[f].funding;
        if (!(weight > 0.0) || !applies)
            continue;
        plan->facet[plan->count] = f;
        plan->weight[plan->count++] = weight;
        plan->total_weight += weight;
    }
}

/* The plan's bounds, for the ranking's early exits. */
static void s_plan_bounds(s_plan_t *plan)
{
    for (size_t i = 0; i < plan->count; i++) { /* insertion sort, heaviest first, stable */
        size_t at = i;
        while (at > 0 && plan->weight[plan->order[at - 1]] < plan->weight[i]) {
            plan->order[at] = plan->order[at - 1];
            at--;
        }
        plan->order[at] = i;
    }
    for (size_t i = 0; i < plan->count; i++)
        plan->share[i] = plan->weight[i] / plan->total_weight;
    plan->rest[plan->count] = 0.0;
    for (size_t k = plan->count; k-- > 0;)
        plan->rest[k] = plan->rest[k + 1] + plan->share[plan->order[k]];
    plan->without_materials = INFINITY; /* unless materials weigh in */
    for (size_t i = 0; i < plan->count; i++)
        if (s_facets[plan->facet[i]].similarity == s_materials)
            plan->without_materials = (plan->total_weight - plan->weight[i]) / plan->total_weight;
}

/* The score from the similarities: each contribution weight * similarity / total,
 * summed in facet order. Both paths below go through here, so they agree bit for bit. */
static double s_sum(const s_plan_t *plan, const double *similarity, double *contribution)
{
    double score = 0.0;
    for (size_t i = 0; i < plan->count; i++) {
        contribution[i] = plan->weight[i] * similarity[i] / plan->total_weight;
        score += contribution[i];
    }
    return fmin(score, 1.0);
}

/* The score alone, without sentences (match_score_value). */
static double s_score_fast(const s_plan_t *plan, const match_entity_t *subject,
                           const match_entity_t *candidate)
{
    double similarity[S_FACETS], contribution[S_FACETS];
    for (size_t i = 0; i < plan->count; i++)
        similarity[i] = s_facets[plan->facet[i]].similarity(subject, candidate, NULL);
    return s_sum(plan, similarity, contribution);
}

/* The score, or -1 as soon as the facets computed so far (heaviest first) show that it
 * stays below cutoff. A score it returns is s_score_fast's, bit for bit. */
static double s_score_above(const s_plan_t *plan, const match_entity_t *subject,
                            const match_entity_t *candidate, double cutoff)
{
    double similarity[S_FACETS], contribution[S_FACETS], reached = 0.0;
    for (size_t k = 0; k < plan->count; k++) {
        size_t i = plan->order[k];
        similarity[i] = s_facets[plan->facet[i]].similarity(subject, candidate, NULL);
        reached += plan->share[i] * similarity[i]; /* a bound: rounding differs from s_sum's */
        if (reached + plan->rest[k + 1] < cutoff - S_PRUNE_MARGIN)
            return -1.0;
    }
    return s_sum(plan, similarity, contribution);
}

/* Fills one result per weighted facet that applies to the pair, with its sentence,
 * and returns the score. */
static double s_evaluate(const match_config_t *config, const match_entity_t *subject,
                         const match_entity_t *candidate, s_facet_result_t results[S_FACETS],
                         size_t *count)
{
    s_plan_t plan;
    s_plan(config, s_pair_of(subject->kind, candidate->kind), &plan);
    double similarity[S_FACETS], contribution[S_FACETS];
    for (size_t i = 0; i < plan.count; i++) {
        s_facet_result_t *result = &results[i];
        s_text_t why = {result->reason, sizeof result->reason, 0};
        result->reason[0] = '\0';
        result->facet = s_facets[plan.facet[i]].name;
        result->weight = plan.weight[i];
        result->similarity = similarity[i] =
            s_facets[plan.facet[i]].similarity(subject, candidate, &why);
    }
    double score = s_sum(&plan, similarity, contribution);
    for (size_t i = 0; i < plan.count; i++)
        results[i].contribution = contribution[i];
    *count = plan.count;
    return score;
}

double match_score_value(const match_config_t *config, const match_entity_t *subject,
                         const match_entity_t *candidate, const char *today)
{
    if (s_filters(NULL, subject, candidate, today))
        return -1.0;
    s_plan_t plan;
    s_plan(config, s_pair_of(subject->kind, candidate->kind), &plan);
    return s_score_fast(&plan, subject, candidate);
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
    const char *second = top[1] ? top[1]->reason : "";
    size_t first_len = strlen(top[0]->reason), second_len = strlen(second);
    size_t len = first_len + (top[1] ? 2 : 0) + second_len + 1;
    char *summary = (char *)malloc(len + 1);
    assert(summary);
    memcpy(summary, top[0]->reason, first_len);
    char *at = summary + first_len;
    if (top[1]) {
        memcpy(at, "; ", 2);
        at += 2;
    }
    memcpy(at, second, second_len);
    at[second_len] = '.';
    at[second_len + 1] = '\0';
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
    if (match_rejection(subject, candidate, today, NULL, 0))
        return NULL;
    s_facet_result_t results[S_FACETS];
    size_t count;
    double score = s_evaluate(config, subject, candidate, results, &count);
    return s_match_build(subject, candidate, score, results, count);
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

typedef match_ranked_t s_ranked_t;

typedef struct {
    const match_config_t *config;
    const match_entity_t *subject;
    const char *today;
    s_plan_t plans[3]; /* by s_pair_t */
    s_ranked_t *items;
    size_t size;
    size_t capacity;
    /* Set once a candidate of the kind searched that shares no material cannot reach
     * the cut-off: the index then passes such candidates over unread. */
    bool gate;
    double gate_bound; /* the searched kind's plan's without_materials */
} s_ranking_t;

/* What a candidate must reach to be kept: the threshold and, once the list is full,
 * the last one kept. */
static double s_cutoff(const s_ranking_t *ranking)
{
    double cutoff = ranking->config->threshold;
    if (ranking->size == ranking->capacity && ranking->items[ranking->size - 1].score > cutoff)
        cutoff = ranking->items[ranking->size - 1].score;
    return cutoff;
}

static void s_gate(s_ranking_t *ranking)
{
    ranking->gate = ranking->gate_bound < s_cutoff(ranking) - S_PRUNE_MARGIN;
}

static int s_ranked_cmp(const s_ranked_t *x, const s_ranked_t *y)
{
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->candidate->id, y->candidate->id);
}

/* Scores without sentences, keeping the best top_k in order (insertion into a short
 * sorted array); only the kept matches are explained, afterwards. */
static void s_rank(const match_entity_t *candidate, void *arg)
{
    s_ranking_t *ranking = (s_ranking_t *)arg;
    s_pair_t pair = s_pair_of(ranking->subject->kind, candidate->kind);
    if (pair == S_PAIR_NONE ||
        s_filters_paired(NULL, ranking->subject, candidate, ranking->today, pair))
        return;
    double score =
        s_score_above(&ranking->plans[pair], ranking->subject, candidate, s_cutoff(ranking));
    if (score < ranking->config->threshold)
        return;
    s_ranked_t item = {candidate, score};
    size_t at = ranking->size;
    while (at > 0 && s_ranked_cmp(&item, &ranking->items[at - 1]) < 0)
        at--;
    if (at >= ranking->capacity)
        return; /* not among the best top_k */
    size_t last = ranking->size < ranking->capacity ? ranking->size : ranking->capacity - 1;
    memmove(&ranking->items[at + 1], &ranking->items[at], (last - at) * sizeof item);
    ranking->items[at] = item;
    if (ranking->size < ranking->capacity)
        ranking->size++;
    s_gate(ranking);
}

static void s_match_item_destroy(void **item_p)
{
    match_destroy((ls_match_pb **)item_p);
}

/* Ranks subject's candidates of every paired kind into ranking->items (capacity
 * set by the caller), searching in lane `lane`. */
static void s_rank_all(match_index_t *index, unsigned lane, s_ranking_t *ranking)
{
    for (s_pair_t pair = S_PAIR_SUPPLY; pair <= S_PAIR_FUNDING; pair++) {
        s_plan(ranking->config, pair, &ranking->plans[pair]);
        s_plan_bounds(&ranking->plans[pair]);
    }
    /* match_index_counterparts, one kind at a time, so that the gate fits the kind. */
    static const s_kind_t kinds[] = {S_SME, S_INVESTOR, S_OPPORTUNITY};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        s_pair_t pair = s_pair_of(ranking->subject->kind, kinds[k]);
        if (pair == S_PAIR_NONE)
            continue;
        ranking->gate_bound = ranking->plans[pair].without_materials;
        s_gate(ranking);
        match_index_candidates_in(index, lane, ranking->subject, kinds[k], s_rank, ranking,
                                  &ranking->gate);
    }
}

size_t match_rank(match_index_t *index, unsigned lane, const match_entity_t *subject,
                  const match_config_t *config, const char *today, size_t depth,
                  match_ranked_t *out, bool *complete)
{
    assert(index);
    assert(subject);
    assert(config);
    *complete = true;
    if (!subject->active || depth == 0)
        return 0;
    s_ranking_t ranking = {config, subject, today, {{0}}, (s_ranked_t *)out, 0, depth, false, 0.0};
    s_rank_all(index, lane, &ranking);
    /* Until the ranking fills, the cut-off is the threshold and nothing above it is
     * passed over; once full, a candidate outside it may score above the threshold. */
    *complete = ranking.size < depth;
    return ranking.size;
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
    s_ranking_t ranking = {config, subject, today, {{0}}, NULL, 0, config->top_k, false, 0.0};
    ranking.items = (s_ranked_t *)calloc(config->top_k, sizeof *ranking.items);
    assert(ranking.items);
    s_rank_all(index, 0, &ranking);
    for (size_t i = 0; i < ranking.size; i++) {
        ls_match_pb *match = match_score(config, subject, ranking.items[i].candidate, today);
        assert(match); /* it passed the filters a moment ago */
        zlistx_add_end(matches, match);
    }
    free(ranking.items);
    return matches;
}

/* ---------------------------------------------------------------------------
 * Explanation of one pair */

match_explain_t match_explain(const match_config_t *config, const match_entity_t *a,
                              const match_entity_t *b, const char *today, ls_match_pb **match_out,
                              char *why, size_t len)
{
    assert(config);
    assert(a);
    assert(b);
    assert(match_out);
    *match_out = NULL;
    char rejection[S_REASON_MAX];
    if (match_rejection(a, b, today, rejection, sizeof rejection)) {
        if (why && len)
            snprintf(why, len, "%s", rejection);
        return MATCH_EXPLAIN_REJECTED;
    }
    ls_match_pb *match = match_score(config, a, b, today);
    assert(match);
    *match_out = match;
    match_explain_t verdict = !match_index_is_candidate(a, b)    ? MATCH_EXPLAIN_NOT_CANDIDATE
                              : match->score < config->threshold ? MATCH_EXPLAIN_BELOW
                                                                 : MATCH_EXPLAIN_MATCH;
    if (!why || !len)
        return verdict;
    if (verdict == MATCH_EXPLAIN_NOT_CANDIDATE)
        snprintf(why, len, "scores %.2f but is never proposed: %s", match->score,
                 s_pair_of(a->kind, b->kind) == S_PAIR_SUPPLY
                     ? "they share no material, capability or NACE group"
                     : "the investor invests in no material (or, naming none, no stage) of the "
                       "other side");
    else if (verdict == MATCH_EXPLAIN_BELOW)
        snprintf(why, len, "scores %.2f, below the threshold of %.2f: %s", match->score,
                 config->threshold, match->summary);
    else
        snprintf(why, len, "scores %.2f (threshold %.2f): %s", match->score, config->threshold,
                 match->summary);
    return verdict;
}
