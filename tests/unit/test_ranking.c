/* test_ranking.c — ranking tests of the matching model v1 on curated fixtures: for
 * each facet, an entity that clearly fits ranks above one that partly fits, all else
 * equal; for each hard filter, the pair is rejected with the right sentence. Runs on
 * the real reference data in LS_TEST_DATA_DIR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "ls_proto.h"
#include "ls_taxonomy.h"
#include "matching_fixture.h"
#include "score.h"

#define TODAY "2025-06-01"

/* ---------------------------------------------------------------------------
 * Fixtures: a baseline of each kind that pairs with the others, which a test
 * changes in one facet. Everything is malloc'd: free_unpacked(NULL) frees it. */

static char **s_words(const char *text, size_t *count)
{
    *count = 0;
    char **words = calloc(16, sizeof *words);
    char *copy = strdup(text ? text : "");
    char *saved = NULL;
    for (char *word = strtok_r(copy, " ", &saved); word; word = strtok_r(NULL, " ", &saved))
        words[(*count)++] = strdup(word);
    free(copy);
    return words;
}

/* Replaces a repeated string field. */
static void s_set_words(char ***field, size_t *count, const char *text)
{
    for (size_t i = 0; i < *count; i++)
        free((*field)[i]);
    free(*field);
    *field = s_words(text, count);
}

static void s_set(char **field, const char *value)
{
    if (*field != protobuf_c_empty_string) /* a fixture's own copy */
        free(*field);
    *field = strdup(value);
}

static ls_money_range_pb *s_money(uint64_t min_eur, uint64_t max_eur)
{
    ls_money_range_pb *money = malloc(sizeof *money);
    lodestone__v1__money_range__init(money);
    money->min_eur = min_eur;
    money->max_eur = max_eur;
    return money;
}

static Lodestone__V1__Instrument *s_instruments(size_t *count, int a, int b)
{
    Lodestone__V1__Instrument *list = calloc(2, sizeof *list);
    *count = 0;
    if (a)
        list[(*count)++] = (Lodestone__V1__Instrument)a;
    if (b)
        list[(*count)++] = (Lodestone__V1__Instrument)b;
    return list;
}

static ls_entity_pb *s_entity(void)
{
    ls_entity_pb *entity = malloc(sizeof *entity);
    lodestone__v1__entity__init(entity);
    return entity;
}

static ls_entity_pb *s_sme(const char *id)
{
    ls_sme_pb *sme = malloc(sizeof *sme);
    lodestone__v1__sme__init(sme);
    s_set(&sme->id, id);
    s_set(&sme->name, id);
    s_set(&sme->region, "FI1D7");
    sme->stages = s_words("extraction beneficiation", &sme->n_stages);
    sme->materials = s_words("cobalt nickel", &sme->n_materials);
    sme->capabilities = s_words("flotation ore-sorting", &sme->n_capabilities);
    sme->nace = s_words("07.29", &sme->n_nace);
    sme->themes = s_words("sustainable-mining crm-production", &sme->n_themes);
    sme->trl = 6;
    sme->consent_match = true;
    sme->funding_sought = s_money(200000, 500000);
    sme->instruments =
        s_instruments(&sme->n_instruments, LODESTONE__V1__INSTRUMENT__INSTRUMENT_EQUITY,
                      LODESTONE__V1__INSTRUMENT__INSTRUMENT_LOAN);
    ls_entity_pb *entity = s_entity();
    entity->body_case = LODESTONE__V1__ENTITY__BODY_SME;
    entity->sme = sme;
    return entity;
}

static ls_entity_pb *s_opportunity(const char *id)
{
    ls_opportunity_pb *opp = malloc(sizeof *opp);
    lodestone__v1__opportunity__init(opp);
    s_set(&opp->id, id);
    s_set(&opp->title, id);
    s_set(&opp->organisation, "Mine Owner Oy");
    opp->kind = LODESTONE__V1__OPPORTUNITY__KIND__SUPPLY_NEED;
    s_set(&opp->region, "FI1D7");
    opp->stages = s_words("extraction beneficiation", &opp->n_stages);
    opp->materials = s_words("cobalt nickel", &opp->n_materials);
    opp->required_capabilities = s_words("flotation", &opp->n_required_capabilities);
    opp->nice_capabilities = s_words("ore-sorting", &opp->n_nice_capabilities);
    opp->nace = s_words("07.29", &opp->n_nace);
    opp->themes = s_words("sustainable-mining crm-production", &opp->n_themes);
    opp->trl_min = 5;
    s_set(&opp->deadline, "2025-12-31");
    ls_entity_pb *entity = s_entity();
    entity->body_case = LODESTONE__V1__ENTITY__BODY_OPPORTUNITY;
    entity->opportunity = opp;
    return entity;
}

static ls_entity_pb *s_investor(const char *id)
{
    ls_investor_pb *inv = malloc(sizeof *inv);
    lodestone__v1__investor__init(inv);
    s_set(&inv->id, id);
    s_set(&inv->name, id);
    s_set(&inv->region, "FI1D7");
    inv->stages = s_words("extraction beneficiation", &inv->n_stages);
    inv->materials = s_words("cobalt nickel", &inv->n_materials);
    inv->themes = s_words("sustainable-mining crm-production", &inv->n_themes);
    inv->ticket = s_money(100000, 1000000);
    inv->instruments =
        s_instruments(&inv->n_instruments, LODESTONE__V1__INSTRUMENT__INSTRUMENT_EQUITY,
                      LODESTONE__V1__INSTRUMENT__INSTRUMENT_LOAN);
    inv->trl_min = 4;
    inv->trl_max = 8;
    inv->consent_match = true;
    ls_entity_pb *entity = s_entity();
    entity->body_case = LODESTONE__V1__ENTITY__BODY_INVESTOR;
    entity->investor = inv;
    return entity;
}

static void s_upsert(match_index_t *index, ls_entity_pb *entity)
{
    assert_int_equal(match_index_upsert(index, entity), 1);
    lodestone__v1__entity__free_unpacked(entity, NULL);
}

/* The ids in subject's top list, in order, joined by spaces. */
static void s_top(match_index_t *index, const char *subject_id, char *out, size_t size)
{
    const match_entity_t *subject = match_index_lookup(index, subject_id);
    assert_non_null(subject);
    match_config_t config = match_config_default();
    config.threshold = 0.0;
    zlistx_t *top = match_top(index, subject, &config, TODAY);
    out[0] = '\0';
    double last = 2.0;
    for (ls_match_pb *m = zlistx_first(top); m; m = zlistx_next(top)) {
        assert_true(m->score <= last);
        last = m->score;
        if (*out)
            strncat(out, " ", size - strlen(out) - 1);
        strncat(out, m->candidate_id, size - strlen(out) - 1);
    }
    zlistx_destroy(&top);
}

/* fits ranks strictly above partly in subject's list, and partly above fits in none
 * of the candidates' lists (the score is symmetric). */
static void s_assert_ranks(match_index_t *index, const char *subject, const char *expected)
{
    char found[256];
    s_top(index, subject, found, sizeof found);
    assert_string_equal(found, expected);
    const match_entity_t *a = match_index_lookup(index, subject);
    match_config_t config = match_config_default();
    char *copy = strdup(expected), *saved = NULL;
    double last = 2.0;
    for (char *id = strtok_r(copy, " ", &saved); id; id = strtok_r(NULL, " ", &saved)) {
        ls_match_pb *m = match_score(&config, a, match_index_lookup(index, id), TODAY);
        assert_non_null(m);
        assert_true(m->score < last); /* strictly: the facet made the difference */
        last = m->score;
        match_destroy(&m);
    }
    free(copy);
}

/* ---------------------------------------------------------------------------
 * Each facet: a clear fit ranks above a partial one, all else equal. */

static void test_rank_stages(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    s_upsert(index, s_opportunity("opp"));
    s_upsert(index, s_sme("a-fits"));
    ls_entity_pb *partly = s_sme("b-partly");
    s_set_words(&partly->sme->stages, &partly->sme->n_stages, "extraction recycling");
    s_upsert(index, partly);
    s_assert_ranks(index, "opp", "a-fits b-partly");
}

static void test_rank_materials(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    s_upsert(index, s_opportunity("opp"));
    s_upsert(index, s_sme("a-fits"));
    ls_entity_pb *partly = s_sme("b-partly");
    s_set_words(&partly->sme->materials, &partly->sme->n_materials, "cobalt gold");
    s_upsert(index, partly);
    s_assert_ranks(index, "opp", "a-fits b-partly");
}

/* Sharing a critical raw material counts for more than sharing gold. */
static void test_rank_critical_materials(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_entity_pb *opp = s_opportunity("opp");
    s_set_words(&opp->opportunity->materials, &opp->opportunity->n_materials, "cobalt gold");
    s_upsert(index, opp);
    ls_entity_pb *fits = s_sme("a-critical");
    s_set_words(&fits->sme->materials, &fits->sme->n_materials, "cobalt zinc");
    s_upsert(index, fits);
    ls_entity_pb *partly = s_sme("b-gold");
    s_set_words(&partly->sme->materials, &partly->sme->n_materials, "gold zinc");
    s_upsert(index, partly);
    s_assert_ranks(index, "opp", "a-critical b-gold");
}

static void test_rank_capabilities(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    s_upsert(index, s_opportunity("opp"));
    s_upsert(index, s_sme("a-fits"));
    ls_entity_pb *partly = s_sme("b-partly");
    s_set_words(&partly->sme->capabilities, &partly->sme->n_capabilities, "flotation leaching");
    s_upsert(index, partly);
    s_assert_ranks(index, "opp", "a-fits b-partly");
}

/* Holding a rare wanted tag beats holding a common one (IDF snapshot). */
static void test_rank_capability_rarity(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_entity_pb *opp = s_opportunity("opp");
    s_set_words(&opp->opportunity->nice_capabilities, &opp->opportunity->n_nice_capabilities,
                "geophysics welding");
    s_upsert(index, opp);
    ls_entity_pb *fits = s_sme("a-rare");
    s_set_words(&fits->sme->capabilities, &fits->sme->n_capabilities, "flotation geophysics");
    s_upsert(index, fits);
    ls_entity_pb *partly = s_sme("b-common");
    s_set_words(&partly->sme->capabilities, &partly->sme->n_capabilities, "flotation welding");
    s_upsert(index, partly);
    for (int i = 0; i < 6; i++) { /* welders elsewhere, matching nothing */
        char id[32];
        snprintf(id, sizeof id, "welder-%d", i);
        ls_entity_pb *welder = s_sme(id);
        s_set_words(&welder->sme->capabilities, &welder->sme->n_capabilities, "welding");
        s_upsert(index, welder);
    }
    /* Before the snapshot every tag weighs 1: a tie, broken by id. */
    const match_entity_t *a = match_index_lookup(index, "a-rare");
    const match_entity_t *b = match_index_lookup(index, "b-common");
    const match_entity_t *o = match_index_lookup(index, "opp");
    match_config_t config = match_config_default();
    ls_match_pb *ma = match_score(&config, o, a, TODAY), *mb = match_score(&config, o, b, TODAY);
    assert_true(ma->score == mb->score);
    match_destroy(&ma);
    match_destroy(&mb);
    assert_int_equal(match_index_refresh_idf(index), 1);
    s_assert_ranks(index, "opp", "a-rare b-common");
}

static void test_rank_nace(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    s_upsert(index, s_opportunity("opp"));
    s_upsert(index, s_sme("a-class"));
    ls_entity_pb *group = s_sme("b-group");
    s_set_words(&group->sme->nace, &group->sme->n_nace, "07.21");
    s_upsert(index, group);
    ls_entity_pb *division = s_sme("c-division");
    s_set_words(&division->sme->nace, &division->sme->n_nace, "07.10");
    s_upsert(index, division);
    ls_entity_pb *section = s_sme("d-section");
    s_set_words(&section->sme->nace, &section->sme->n_nace, "08.11");
    s_upsert(index, section);
    ls_entity_pb *none = s_sme("e-none");
    s_set_words(&none->sme->nace, &none->sme->n_nace, "71.12");
    s_upsert(index, none);
    s_assert_ranks(index, "opp", "a-class b-group c-division d-section e-none");
}

static void test_rank_themes(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    s_upsert(index, s_opportunity("opp"));
    s_upsert(index, s_sme("a-fits"));
    ls_entity_pb *partly = s_sme("b-partly");
    s_set_words(&partly->sme->themes, &partly->sme->n_themes, "sustainable-mining education");
    s_upsert(index, partly);
    s_assert_ranks(index, "opp", "a-fits b-partly");
}

/* Same region > same country > another partnership region > elsewhere. */
static void test_rank_region(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    s_upsert(index, s_opportunity("opp"));
    s_upsert(index, s_sme("a-lapland"));
    ls_entity_pb *country = s_sme("b-karelia");
    s_set(&country->sme->region, "FI1D3");
    s_upsert(index, country);
    ls_entity_pb *partner = s_sme("c-asturias");
    s_set(&partner->sme->region, "ES12");
    s_upsert(index, partner);
    ls_entity_pb *elsewhere = s_sme("d-elsewhere");
    s_set(&elsewhere->sme->region, "DE11");
    s_upsert(index, elsewhere);
    s_assert_ranks(index, "opp", "a-lapland b-karelia c-asturias d-elsewhere");
}

static void test_rank_trl(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    s_upsert(index, s_opportunity("opp"));
    s_upsert(index, s_sme("a-stated"));
    ls_entity_pb *unknown = s_sme("b-unknown");
    unknown->sme->trl = 0;
    s_upsert(index, unknown);
    s_assert_ranks(index, "opp", "a-stated b-unknown");
}

/* An investor ranks SMEs whose whole need its ticket covers above those it covers
 * in part, and those it offers every wanted instrument above the others. */
static void test_rank_funding(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    s_upsert(index, s_investor("inv"));
    s_upsert(index, s_sme("a-inside"));
    ls_entity_pb *partly = s_sme("b-partly");
    partly->sme->funding_sought->min_eur = 50000;
    partly->sme->funding_sought->max_eur = 200000;
    s_upsert(index, partly);
    ls_entity_pb *grant = s_sme("c-grant-too");
    grant->sme->funding_sought->min_eur = 50000;
    grant->sme->funding_sought->max_eur = 200000;
    grant->sme->instruments[1] = LODESTONE__V1__INSTRUMENT__INSTRUMENT_GRANT;
    s_upsert(index, grant);
    s_assert_ranks(index, "inv", "a-inside b-partly c-grant-too");
}

/* Investment cases for an investor: the region facet prefers its target regions. */
static void test_rank_investment_case_targets(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_entity_pb *inv = s_investor("inv");
    s_set_words(&inv->investor->target_regions, &inv->investor->n_target_regions, "ES12 FI1D7");
    s_set(&inv->investor->region, "SE331");
    s_upsert(index, inv);
    ls_entity_pb *fits = s_opportunity("case-a");
    fits->opportunity->kind = LODESTONE__V1__OPPORTUNITY__KIND__INVESTMENT_CASE;
    fits->opportunity->budget = s_money(300000, 600000);
    s_upsert(index, fits);
    ls_entity_pb *partly = s_opportunity("case-b");
    partly->opportunity->kind = LODESTONE__V1__OPPORTUNITY__KIND__INVESTMENT_CASE;
    s_upsert(index, partly); /* no budget: funding fit unknown */
    ls_entity_pb *supply = s_opportunity("supply-need");
    s_upsert(index, supply); /* not an investment case: never listed */
    s_assert_ranks(index, "inv", "case-a case-b");
}

/* ---------------------------------------------------------------------------
 * Each hard filter: rejected, with the right sentence, whichever side asks. */

static void s_assert_rejected(const match_index_t *index, ls_entity_pb *a, ls_entity_pb *b,
                              const char *sentence)
{
    match_entity_t *x = match_entity_new(index, a);
    match_entity_t *y = match_entity_new(index, b);
    lodestone__v1__entity__free_unpacked(a, NULL);
    lodestone__v1__entity__free_unpacked(b, NULL);
    char why[256];
    assert_ptr_equal(match_rejection(x, y, TODAY, why, sizeof why), why);
    assert_string_equal(why, sentence);
    assert_non_null(match_rejection(y, x, TODAY, NULL, 0));
    match_config_t config = match_config_default();
    assert_null(match_score(&config, x, y, TODAY));
    assert_null(match_score(&config, y, x, TODAY));
    ls_match_pb *match = (ls_match_pb *)1;
    assert_int_equal(match_explain(&config, x, y, TODAY, &match, why, sizeof why),
                     MATCH_EXPLAIN_REJECTED);
    assert_null(match);
    assert_string_equal(why, sentence);
    match_entity_destroy(&x);
    match_entity_destroy(&y);
}

static void test_baselines_pass(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_entity_pb *pairs[3][2] = {{s_sme("s"), s_opportunity("o")},
                                 {s_sme("s"), s_investor("i")},
                                 {s_investor("i"), s_opportunity("o")}};
    pairs[2][1]->opportunity->kind = LODESTONE__V1__OPPORTUNITY__KIND__INVESTMENT_CASE;
    for (size_t p = 0; p < 3; p++) {
        match_entity_t *a = match_entity_new(index, pairs[p][0]);
        match_entity_t *b = match_entity_new(index, pairs[p][1]);
        char why[256] = "";
        assert_null(match_rejection(a, b, TODAY, why, sizeof why));
        assert_null(match_rejection(b, a, TODAY, NULL, 0));
        assert_true(match_index_is_candidate(a, b));
        match_entity_destroy(&a);
        match_entity_destroy(&b);
        lodestone__v1__entity__free_unpacked(pairs[p][0], NULL);
        lodestone__v1__entity__free_unpacked(pairs[p][1], NULL);
    }
}

static void test_filter_kinds(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    s_assert_rejected(index, s_sme("s"), s_sme("s"), "an entity is not matched with itself");
    s_assert_rejected(index, s_sme("s1"), s_sme("s2"), "SMEs are not matched with SMEs");
    s_assert_rejected(index, s_investor("i"), s_opportunity("o"),
                      "investors are matched with investment cases only, and this opportunity "
                      "is not one");
}

static void test_filter_inactive(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_entity_pb *withdrawn = s_sme("s");
    withdrawn->sme->state = LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_WITHDRAWN;
    s_assert_rejected(index, withdrawn, s_opportunity("o"), "the SME has been withdrawn");
    ls_entity_pb *erased = s_opportunity("o");
    erased->opportunity->state = LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_ERASED;
    s_assert_rejected(index, s_sme("s"), erased, "the opportunity has been erased");
    ls_entity_pb *no_consent = s_investor("i");
    no_consent->investor->consent_match = false;
    s_assert_rejected(index, s_sme("s"), no_consent, "the investor has not consented to matching");
    ls_entity_pb *closed = s_opportunity("o");
    closed->opportunity->status = LODESTONE__V1__OPPORTUNITY__STATUS__CLOSED;
    s_assert_rejected(index, closed, s_sme("s"), "the opportunity is closed");
}

static void test_filter_same_organisation(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_entity_pb *sme = s_sme("s");
    s_set(&sme->sme->name, "Mine Owner Oy");
    ls_entity_pb *opp = s_opportunity("o");
    s_set(&opp->opportunity->organisation, "  mine OWNER oy ");
    s_assert_rejected(index, sme, opp,
                      "the SME and the opportunity belong to the same organisation, Mine Owner Oy");
}

static void test_filter_deadline(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_entity_pb *opp = s_opportunity("o");
    s_set(&opp->opportunity->deadline, "2025-05-31");
    s_assert_rejected(index, s_sme("s"), opp, "the opportunity's deadline 2025-05-31 has passed");
    /* Due today is still open. */
    opp = s_opportunity("o");
    s_set(&opp->opportunity->deadline, TODAY);
    match_entity_t *a = match_entity_new(index, opp);
    lodestone__v1__entity__free_unpacked(opp, NULL);
    ls_entity_pb *sme = s_sme("s");
    match_entity_t *b = match_entity_new(index, sme);
    lodestone__v1__entity__free_unpacked(sme, NULL);
    assert_null(match_rejection(a, b, TODAY, NULL, 0));
    match_entity_destroy(&a);
    match_entity_destroy(&b);
}

static void test_filter_required_capability(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_entity_pb *sme = s_sme("s");
    s_set_words(&sme->sme->capabilities, &sme->sme->n_capabilities, "ore-sorting");
    s_assert_rejected(index, sme, s_opportunity("o"),
                      "the opportunity requires 'flotation', which the SME does not list");
}

static void test_filter_trl(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_entity_pb *sme = s_sme("s");
    sme->sme->trl = 4;
    ls_entity_pb *opp = s_opportunity("o");
    opp->opportunity->trl_min = 6;
    s_assert_rejected(index, sme, opp, "TRL 4 is below the opportunity's minimum of 6");
    sme = s_sme("s");
    sme->sme->trl = 3;
    ls_entity_pb *inv = s_investor("i");
    inv->investor->trl_min = 5;
    s_assert_rejected(index, inv, sme, "TRL 3 is outside the investor's range 5-8");
    sme = s_sme("s");
    sme->sme->trl = 9;
    s_assert_rejected(index, sme, s_investor("i"), "TRL 9 is outside the investor's range 4-8");
    ls_entity_pb *case_ = s_opportunity("o");
    case_->opportunity->kind = LODESTONE__V1__OPPORTUNITY__KIND__INVESTMENT_CASE;
    case_->opportunity->trl_min = 2;
    s_assert_rejected(index, s_investor("i"), case_,
                      "TRL 2 of the investment case is outside the investor's range 4-8");
}

static void test_filter_ticket(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_entity_pb *inv = s_investor("i");
    inv->investor->ticket->min_eur = 2000000;
    inv->investor->ticket->max_eur = 10000000;
    ls_entity_pb *sme = s_sme("s");
    sme->sme->funding_sought->min_eur = 100000;
    sme->sme->funding_sought->max_eur = 500000;
    s_assert_rejected(index, inv, sme,
                      "ticket EUR 2m-10m does not overlap the EUR 100k-500k sought");
    sme = s_sme("s");
    sme->sme->funding_sought->min_eur = 0;
    sme->sme->funding_sought->max_eur = 0;
    s_assert_rejected(index, sme, s_investor("i"), "the SME states no funding need");
    /* An open-ended ticket reaches any amount above its minimum. */
    inv = s_investor("i");
    inv->investor->ticket->max_eur = 0;
    sme = s_sme("s");
    sme->sme->funding_sought->min_eur = 5000000;
    sme->sme->funding_sought->max_eur = 9000000;
    match_entity_t *a = match_entity_new(index, inv), *b = match_entity_new(index, sme);
    lodestone__v1__entity__free_unpacked(inv, NULL);
    lodestone__v1__entity__free_unpacked(sme, NULL);
    assert_null(match_rejection(a, b, TODAY, NULL, 0));
    match_entity_destroy(&a);
    match_entity_destroy(&b);
}

static void test_filter_instruments(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_entity_pb *inv = s_investor("i");
    inv->investor->n_instruments = 1; /* equity only */
    ls_entity_pb *sme = s_sme("s");
    sme->sme->instruments[0] = LODESTONE__V1__INSTRUMENT__INSTRUMENT_GRANT;
    s_assert_rejected(index, inv, sme,
                      "the investor offers equity, but the SME seeks loan or grant");
}

static void test_filter_target_regions(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_entity_pb *inv = s_investor("i");
    s_set_words(&inv->investor->target_regions, &inv->investor->n_target_regions, "FI1D8 FI1D7");
    ls_entity_pb *sme = s_sme("s");
    s_set(&sme->sme->region, "ES12");
    s_assert_rejected(index, sme, inv,
                      "the investor targets Lapland and Kainuu, not Principado de Asturias");
    inv = s_investor("i");
    s_set_words(&inv->investor->target_regions, &inv->investor->n_target_regions, "FI1D7");
    ls_entity_pb *case_ = s_opportunity("o");
    case_->opportunity->kind = LODESTONE__V1__OPPORTUNITY__KIND__INVESTMENT_CASE;
    s_set(&case_->opportunity->region, "SE331");
    s_assert_rejected(index, inv, case_, "the investor targets Lapland, not Västerbotten");
}

/* ---------------------------------------------------------------------------
 * Explanations, word for word: codes compare by number inside the scorer, and the
 * sentences must still name them as before, in the same order. */

/* "facet=similarity reason" per facet and the summary, one per line, for a scored
 * pair built outside the index. */
static void s_explained(match_index_t *index, ls_entity_pb *a_pb, ls_entity_pb *b_pb, char *out,
                        size_t size)
{
    match_entity_t *a = match_entity_new(index, a_pb);
    match_entity_t *b = match_entity_new(index, b_pb);
    lodestone__v1__entity__free_unpacked(a_pb, NULL);
    lodestone__v1__entity__free_unpacked(b_pb, NULL);
    match_config_t config = match_config_default();
    ls_match_pb *m = match_score(&config, a, b, TODAY);
    assert_non_null(m);
    assert_true(match_score_value(&config, a, b, TODAY) == m->score);
    int len = snprintf(out, size, "score=%.6f\n", m->score);
    for (size_t f = 0; f < m->n_facets; f++)
        len += snprintf(out + len, size - (size_t)len, "%s=%.4f %s\n", m->facets[f]->facet,
                        m->facets[f]->similarity, m->facets[f]->reason);
    snprintf(out + len, size - (size_t)len, "summary=%s", m->summary);
    match_destroy(&m);
    match_entity_destroy(&a);
    match_entity_destroy(&b);
}

static void test_explanations_exact(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    char found[4096];
    /* The baselines: everything fits. */
    s_explained(index, s_sme("s"), s_opportunity("o"), found, sizeof found);
    assert_string_equal(
        found,
        "score=1.000000\n"
        "stages=1.0000 both work in beneficiation and extraction\n"
        "materials=1.0000 both work with cobalt and nickel; cobalt and nickel are strategic and "
        "critical raw materials (Critical Raw Materials Act list crma-2024)\n"
        "capabilities=1.0000 the SME has the required capability flotation; it also offers "
        "ore-sorting of those nice to have\n"
        "nace=1.0000 same NACE class 07.29\n"
        "themes=1.0000 both pursue crm-production and sustainable-mining\n"
        "region=1.0000 both in Lapland\n"
        "trl=1.0000 TRL 6 meets the opportunity's minimum of 5\n"
        "summary=Both work with cobalt and nickel; cobalt and nickel are strategic and critical "
        "raw materials (Critical Raw Materials Act list crma-2024); the SME has the required "
        "capability flotation; it also offers ore-sorting of those nice to have.");
    s_explained(index, s_investor("i"), s_sme("s"), found, sizeof found);
    assert_string_equal(
        found, "score=1.000000\n"
               "stages=1.0000 both work in beneficiation and extraction\n"
               "materials=1.0000 both work with cobalt and nickel; cobalt and nickel are strategic "
               "and critical raw materials (Critical Raw Materials Act list crma-2024)\n"
               "themes=1.0000 both pursue crm-production and sustainable-mining\n"
               "region=1.0000 both in Lapland\n"
               "trl=1.0000 TRL 6 is within the investor's range 4-8\n"
               "funding=1.0000 ticket EUR 100k-1m covers the EUR 200k-500k sought; offers equity "
               "and loan\n"
               "summary=Both work with cobalt and nickel; cobalt and nickel are strategic and "
               "critical raw materials (Critical Raw Materials Act list crma-2024); ticket EUR "
               "100k-1m covers the EUR 200k-500k sought; offers equity and loan.");
    /* Partial fits: another country, a group expanded, NACE at group level. */
    ls_entity_pb *sme = s_sme("s");
    s_set(&sme->sme->region, "ES12");
    s_set_words(&sme->sme->stages, &sme->sme->n_stages, "exploration extraction recycling");
    s_set_words(&sme->sme->materials, &sme->sme->n_materials, "hree gold cobalt");
    s_set_words(&sme->sme->capabilities, &sme->sme->n_capabilities, "flotation geophysics");
    s_set_words(&sme->sme->nace, &sme->sme->n_nace, "07.21");
    s_set_words(&sme->sme->themes, &sme->sme->n_themes, "circular-economy");
    sme->sme->trl = 0;
    ls_entity_pb *opp = s_opportunity("o");
    s_set_words(&opp->opportunity->materials, &opp->opportunity->n_materials,
                "dysprosium terbium cobalt nickel graphite");
    s_set_words(&opp->opportunity->nice_capabilities, &opp->opportunity->n_nice_capabilities,
                "ore-sorting geophysics leaching assaying drilling welding");
    s_explained(index, opp, sme, found, sizeof found);
    assert_string_equal(
        found,
        "score=0.493421\n"
        "stages=0.5000 both work in extraction\n"
        "materials=0.6000 both work with cobalt, dysprosium and terbium; cobalt, dysprosium and "
        "terbium are strategic and critical raw materials (Critical Raw Materials Act list "
        "crma-2024)\n"
        "capabilities=0.3750 the SME has the required capability flotation; it also offers "
        "geophysics of those nice to have; it lacks assaying, drilling, leaching, ore-sorting and "
        "welding\n"
        "nace=0.7500 activities in the same NACE group 07.2\n"
        "themes=0.0000 no theme in common\n"
        "region=0.5000 interregional link within the partnership: Lapland and Principado de "
        "Asturias\n"
        "trl=0.5000 the SME states no TRL\n"
        "summary=Both work with cobalt, dysprosium and terbium; cobalt, dysprosium and terbium are "
        "strategic and critical raw materials (Critical Raw Materials Act list crma-2024); the SME "
        "has the required capability flotation; it also offers geophysics of those nice to have; "
        "it lacks assaying, drilling, leaching, ore-sorting and welding.");
    /* An investor that targets the investment case's region; a ticket that covers part. */
    ls_entity_pb *inv = s_investor("i");
    s_set_words(&inv->investor->target_regions, &inv->investor->n_target_regions, "FI1D8 FI1D3");
    s_set_words(&inv->investor->materials, &inv->investor->n_materials, "cobalt hree");
    inv->investor->ticket->min_eur = 250000;
    inv->investor->ticket->max_eur = 2500000;
    inv->investor->n_instruments = 1;
    ls_entity_pb *case_ = s_opportunity("o");
    case_->opportunity->kind = LODESTONE__V1__OPPORTUNITY__KIND__INVESTMENT_CASE;
    s_set(&case_->opportunity->region, "FI1D3");
    s_set_words(&case_->opportunity->stages, &case_->opportunity->n_stages, "refining");
    case_->opportunity->budget = s_money(100000, 1500000);
    s_explained(index, inv, case_, found, sizeof found);
    assert_string_equal(
        found, "score=0.571660\n"
               "stages=0.0000 no stage in common\n"
               "materials=0.5000 both work with cobalt, a strategic and critical raw material "
               "(Critical Raw Materials Act list crma-2024)\n"
               "themes=1.0000 both pursue crm-production and sustainable-mining\n"
               "region=1.0000 the investor targets North Karelia\n"
               "trl=1.0000 TRL 5 is within the investor's range 4-8\n"
               "funding=0.6616 ticket EUR 250k-2.5m partly covers the EUR 100k-1.5m sought\n"
               "summary=Ticket EUR 250k-2.5m partly covers the EUR 100k-1.5m sought; both work "
               "with cobalt, a strategic and critical raw material (Critical Raw Materials Act "
               "list crma-2024).");
    /* The same country; instruments offered in part. */
    sme = s_sme("s");
    s_set(&sme->sme->region, "FI1D3");
    inv = s_investor("i");
    inv->investor->n_instruments = 1;
    s_set(&inv->investor->region, "FI1D7");
    s_explained(index, sme, inv, found, sizeof found);
    assert_string_equal(
        found, "score=0.925000\n"
               "stages=1.0000 both work in beneficiation and extraction\n"
               "materials=1.0000 both work with cobalt and nickel; cobalt and nickel are strategic "
               "and critical raw materials (Critical Raw Materials Act list crma-2024)\n"
               "themes=1.0000 both pursue crm-production and sustainable-mining\n"
               "region=0.7000 both in Finland (North Karelia and Lapland)\n"
               "trl=1.0000 TRL 6 is within the investor's range 4-8\n"
               "funding=0.8500 ticket EUR 100k-1m covers the EUR 200k-500k sought; offers equity "
               "but not loan\n"
               "summary=Both work with cobalt and nickel; cobalt and nickel are strategic and "
               "critical raw materials (Critical Raw Materials Act list crma-2024); ticket EUR "
               "100k-1m covers the EUR 200k-500k sought; offers equity but not loan.");
    /* No shared facet at all: the summary says so. */
    sme = s_sme("s");
    s_set(&sme->sme->region, "DE11");
    s_set_words(&sme->sme->stages, &sme->sme->n_stages, "recycling");
    s_set_words(&sme->sme->materials, &sme->sme->n_materials, "gold");
    s_set_words(&sme->sme->nace, &sme->sme->n_nace, "71.12");
    s_set_words(&sme->sme->themes, &sme->sme->n_themes, "");
    sme->sme->trl = 2;
    opp = s_opportunity("o");
    s_set_words(&opp->opportunity->required_capabilities,
                &opp->opportunity->n_required_capabilities, "");
    s_set_words(&opp->opportunity->nice_capabilities, &opp->opportunity->n_nice_capabilities,
                "welding");
    opp->opportunity->trl_min = 0;
    s_explained(index, sme, opp, found, sizeof found);
    assert_string_equal(
        found, "score=0.063158\n"
               "stages=0.0000 no stage in common\n"
               "materials=0.0000 no material in common\n"
               "capabilities=0.0000 the SME lacks welding\n"
               "nace=0.0000 no NACE section in common\n"
               "themes=0.0000 the SME names no theme\n"
               "region=0.1000 different regions outside a partnership link: DE11 and Lapland\n"
               "trl=1.0000 the opportunity sets no TRL range\n"
               "summary=The opportunity sets no TRL range; different regions outside a partnership "
               "link: DE11 and Lapland.");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rank_stages, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_rank_materials, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_rank_critical_materials, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_rank_capabilities, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_rank_capability_rarity, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_rank_nace, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_rank_themes, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_rank_region, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_rank_trl, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_rank_funding, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_rank_investment_case_targets, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_baselines_pass, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_filter_kinds, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_filter_inactive, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_filter_same_organisation, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_filter_deadline, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_filter_required_capability, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_filter_trl, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_filter_ticket, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_filter_instruments, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_filter_target_regions, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_explanations_exact, matching_fixture_setup,
                                        matching_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
