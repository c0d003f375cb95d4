/* test_report.c — the capability map and the joint-demonstration suggestions on a
 * fixture whose counts, gaps, strengths and region sets are worked out by hand
 * below. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "matching_fixture.h"
#include "report.h"

#define TODAY "2026-11-29"

/* The fixture (region, stages, materials; all consent to matching):
 *   sme-1 FI1D7 Lapland     exploration extraction   cobalt     theme crm-production
 *   sme-2 FI1D7             extraction               cobalt
 *   sme-3 FI1D7             extraction               cobalt
 *   sme-4 SE331 Västerbotten beneficiation refining  cobalt
 *   sme-5 ES41 Castilla y L. recycling               cobalt     theme education
 *   sme-6 EL64 Sterea Ellada refining                nickel
 *   sme-7 EL64              extraction refining      nickel
 *   sme-8 ES12 Asturias     manufacturing            graphite
 *   sme-9 (outside the partnership, DE21)             cobalt manufacturing
 *   inv-1 FI1D7 investor: every chain stage, cobalt
 *   opp-1 FI1D3 SUPPLY_NEED cobalt beneficiation;  opp-2 SE331 TRAINING
 * By hand:
 *   SMEs by stage: FI1D7 exploration 1, extraction 3 (of 4: a strength, 3 >= 3 and
 *   3 x 7 >= 2 x 4); SE331 beneficiation 1, refining 1; ES41 recycling 1; EL64
 *   extraction 1, refining 2; ES12 manufacturing 1.
 *   SMEs by material: cobalt FI1D7 3 (strength: 21 >= 10), SE331 1, ES41 1; nickel
 *   EL64 2 (not: fewer than 3); graphite ES12 1. sme-9 is not counted anywhere.
 *   Gaps (chain: exploration .. recycling, not METS): cobalt manufacturing (sme-9 is
 *   outside); nickel exploration, beneficiation, manufacturing, recycling; graphite
 *   every stage but manufacturing: 1 + 4 + 5 = 10.
 *   Demos: cobalt's five covered stages need FI1D7 + SE331 + ES41 (no two regions
 *   cover them); nickel is covered by EL64 alone and graphite has one stage: one
 *   suggestion. */
static void s_load(match_index_t *index)
{
    struct {
        const char *id, *region, *stages, *materials;
    } smes[] = {
        {"sme-1", "FI1D7", "exploration extraction", "cobalt"},
        {"sme-2", "FI1D7", "extraction", "cobalt"},
        {"sme-3", "FI1D7", "extraction", "cobalt"},
        {"sme-4", "SE331", "beneficiation refining", "cobalt"},
        {"sme-5", "ES41", "recycling", "cobalt"},
        {"sme-6", "EL64", "refining", "nickel"},
        {"sme-7", "EL64", "extraction refining", "nickel"},
        {"sme-8", "ES12", "manufacturing", "graphite"},
        {"sme-9", "DE21", "manufacturing", "cobalt"},
    };
    for (size_t i = 0; i < sizeof smes / sizeof smes[0]; i++) {
        ls_entity_pb *e =
            fixture_sme(smes[i].id, smes[i].region, smes[i].stages, smes[i].materials);
        if (i == 0)
            e->sme->themes = fixture_words("crm-production", &e->sme->n_themes);
        if (i == 4)
            e->sme->themes = fixture_words("education", &e->sme->n_themes);
        assert_int_equal(match_index_upsert(index, e), 1);
        lodestone__v1__entity__free_unpacked(e, NULL);
    }
    ls_entity_pb *inv = fixture_investor(
        "inv-1", "FI1D7", "exploration extraction beneficiation refining recycling", "cobalt");
    assert_int_equal(match_index_upsert(index, inv), 1);
    lodestone__v1__entity__free_unpacked(inv, NULL);
    ls_entity_pb *opp = fixture_opportunity("opp-1", "FI1D3", "beneficiation", "cobalt");
    opp->opportunity->kind = LODESTONE__V1__OPPORTUNITY__KIND__SUPPLY_NEED;
    assert_int_equal(match_index_upsert(index, opp), 1);
    lodestone__v1__entity__free_unpacked(opp, NULL);
    opp = fixture_opportunity("opp-2", "SE331", "", "");
    opp->opportunity->kind = LODESTONE__V1__OPPORTUNITY__KIND__TRAINING;
    assert_int_equal(match_index_upsert(index, opp), 1);
    lodestone__v1__entity__free_unpacked(opp, NULL);
}

static const Lodestone__V1__MapTable *s_table(const Lodestone__V1__CapabilityMap *map,
                                              const char *facet)
{
    for (size_t i = 0; i < map->n_tables; i++)
        if (strcmp(map->tables[i]->facet, facet) == 0)
            return map->tables[i];
    fail_msg("no table %s", facet);
    return NULL;
}

/* The cells of a table as "REGION value count[*]" lines, in the table's order. */
static char *s_cells(const Lodestone__V1__MapTable *t)
{
    char *text = calloc(1, 4096);
    size_t len = 0;
    for (size_t i = 0; i < t->n_cells; i++)
        len += (size_t)snprintf(text + len, 4096 - len, "%s %s %u%s\n", t->cells[i]->region,
                                t->cells[i]->value, t->cells[i]->count,
                                t->cells[i]->strength ? "*" : "");
    return text;
}

static void s_expect_cells(const Lodestone__V1__CapabilityMap *map, const char *facet,
                           const char *want)
{
    char *got = s_cells(s_table(map, facet));
    assert_string_equal(got, want);
    free(got);
}

static void test_map_counts_gaps_and_strengths(void **state)
{
    fixture_t *f = *state;
    s_load(f->index);
    Lodestone__V1__CapabilityMap *map = report_map(f->index, f->taxonomy);
    assert_int_equal(map->n_regions, 7);
    assert_string_equal(map->regions[0]->code, "FI1D7");
    assert_string_equal(map->regions[0]->name, "Lapland");
    assert_int_equal(map->smes, 8); /* sme-9 is outside the partnership */
    assert_int_equal(map->investors, 1);
    assert_int_equal(map->opportunities, 2);
    /* Region-major in taxonomy order (FI1D7 FI1D3 FI1D8 SE331 ES41 ES12 EL64), values
     * in taxonomy order. */
    s_expect_cells(map, "sme_stage",
                   "FI1D7 exploration 1\nFI1D7 extraction 3*\nSE331 beneficiation 1\n"
                   "SE331 refining 1\nES41 recycling 1\nES12 manufacturing 1\n"
                   "EL64 extraction 1\nEL64 refining 2\n");
    const Lodestone__V1__MapTable *stage = s_table(map, "sme_stage");
    assert_int_equal(stage->n_values, 7); /* every stage, METS too */
    assert_string_equal(stage->values[1], "extraction");
    assert_int_equal(stage->totals[1], 4);
    s_expect_cells(map, "sme_material",
                   "FI1D7 cobalt 3*\nSE331 cobalt 1\nES41 cobalt 1\nES12 graphite 1\n"
                   "EL64 nickel 2\n");
    const Lodestone__V1__MapTable *material = s_table(map, "sme_material");
    assert_int_equal(material->n_values, 3); /* only materials with SMEs */
    s_expect_cells(map, "sme_theme", "FI1D7 crm-production 1\nES41 education 1\n");
    s_expect_cells(map, "investor_stage",
                   "FI1D7 exploration 1\nFI1D7 extraction 1\nFI1D7 beneficiation 1\n"
                   "FI1D7 refining 1\nFI1D7 recycling 1\n");
    s_expect_cells(map, "opportunity_kind", "FI1D3 SUPPLY_NEED 1\nSE331 TRAINING 1\n");
    /* The share of a cell: 3 of the 4 extraction SMEs. */
    for (size_t i = 0; i < stage->n_cells; i++)
        if (strcmp(stage->cells[i]->value, "extraction") == 0 &&
            strcmp(stage->cells[i]->region, "FI1D7") == 0)
            assert_true(stage->cells[i]->share > 0.749 && stage->cells[i]->share < 0.751);
    char gaps[1024] = "";
    size_t len = 0;
    for (size_t i = 0; i < map->n_gaps; i++)
        len += (size_t)snprintf(gaps + len, sizeof gaps - len, "%s/%s ", map->gaps[i]->material,
                                map->gaps[i]->stage);
    /* In taxonomy order of materials (cobalt, graphite, nickel as the CRMA list has
     * them) and stages. */
    assert_int_equal(map->n_gaps, 10);
    assert_non_null(strstr(gaps, "cobalt/manufacturing "));
    assert_non_null(strstr(gaps, "nickel/exploration nickel/beneficiation nickel/manufacturing "
                                 "nickel/recycling "));
    assert_non_null(strstr(gaps, "graphite/exploration graphite/extraction "
                                 "graphite/beneficiation graphite/refining graphite/recycling "));
    assert_null(strstr(gaps, "/mets"));
    assert_non_null(strstr(map->strength_rule, "twice"));
    lodestone__v1__capability_map__free_unpacked(map, NULL);
}

static void test_demos_smallest_region_sets(void **state)
{
    fixture_t *f = *state;
    s_load(f->index);
    match_config_t model = match_config_default();
    Lodestone__V1__DemoList *demos = report_demos(f->index, f->taxonomy, &model, "", 0, TODAY);
    assert_int_equal(demos->n_suggestions, 1);
    const Lodestone__V1__DemoSuggestion *d = demos->suggestions[0];
    assert_int_equal(d->rank, 1);
    assert_string_equal(d->material, "cobalt");
    assert_int_equal(d->n_regions, 3);
    assert_string_equal(d->regions[0], "FI1D7");
    assert_string_equal(d->regions[1], "SE331");
    assert_string_equal(d->regions[2], "ES41");
    assert_int_equal(d->n_stages, 5);
    assert_int_equal(d->n_missing, 1);
    assert_string_equal(d->missing[0], "manufacturing");
    /* The strongest SME per stage, from the set's regions. */
    const char *want[][3] = {{"exploration", "FI1D7", "sme-1"},
                             {"extraction", "FI1D7", NULL}, /* one of sme-1..3 */
                             {"beneficiation", "SE331", "sme-4"},
                             {"refining", "SE331", "sme-4"},
                             {"recycling", "ES41", "sme-5"}};
    assert_int_equal(d->n_strongest, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(d->strongest[i]->stage, want[i][0]);
        assert_string_equal(d->strongest[i]->region, want[i][1]);
        if (want[i][2])
            assert_string_equal(d->strongest[i]->sme_id, want[i][2]);
        assert_true(d->strongest[i]->score > 0 && d->strongest[i]->score <= 1);
    }
    assert_true(d->strength > 0);
    assert_non_null(strstr(d->why_new, "No single partnership region"));
    assert_non_null(strstr(d->why_new, "Lapland brings exploration, extraction"));
    assert_non_null(strstr(d->why_new, "Castilla y León brings recycling"));
    /* The investor that targets the whole chain fits. */
    assert_int_equal(d->n_investors, 1);
    assert_string_equal(d->investors[0]->id, "inv-1");
    assert_non_null(strstr(demos->cover_method, "exact"));
    lodestone__v1__demo_list__free_unpacked(demos, NULL);

    /* One material at a time; nickel needs no partner. */
    demos = report_demos(f->index, f->taxonomy, &model, "nickel", 0, TODAY);
    assert_int_equal(demos->n_suggestions, 0);
    lodestone__v1__demo_list__free_unpacked(demos, NULL);

    /* Between SMEs that score alike, the readier (higher TRL) is the strongest: two
     * more extraction SMEs in Lapland, only one mature. */
    ls_entity_pb *young = fixture_sme("sme-11", "FI1D7", "extraction", "cobalt");
    young->sme->trl = 3;
    ls_entity_pb *mature = fixture_sme("sme-12", "FI1D7", "extraction", "cobalt");
    mature->sme->trl = 8;
    assert_int_equal(match_index_upsert(f->index, young), 1);
    assert_int_equal(match_index_upsert(f->index, mature), 1);
    lodestone__v1__entity__free_unpacked(young, NULL);
    lodestone__v1__entity__free_unpacked(mature, NULL);
    demos = report_demos(f->index, f->taxonomy, &model, "cobalt", 0, TODAY);
    assert_int_equal(demos->n_suggestions, 1);
    assert_string_equal(demos->suggestions[0]->strongest[1]->stage, "extraction");
    assert_string_equal(demos->suggestions[0]->strongest[1]->sme_id, "sme-12");
    lodestone__v1__demo_list__free_unpacked(demos, NULL);

    /* A second way to cover cobalt appears (an ES12 SME at beneficiation, refining and
     * recycling): now FI1D7 + ES12 cover it in two, which ranks first. */
    ls_entity_pb *e = fixture_sme("sme-10", "ES12", "beneficiation refining recycling", "cobalt");
    assert_int_equal(match_index_upsert(f->index, e), 1);
    lodestone__v1__entity__free_unpacked(e, NULL);
    demos = report_demos(f->index, f->taxonomy, &model, "cobalt", 0, TODAY);
    assert_int_equal(demos->n_suggestions, 1); /* only the smallest sets */
    assert_int_equal(demos->suggestions[0]->n_regions, 2);
    assert_string_equal(demos->suggestions[0]->regions[0], "FI1D7");
    assert_string_equal(demos->suggestions[0]->regions[1], "ES12");
    lodestone__v1__demo_list__free_unpacked(demos, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_map_counts_gaps_and_strengths, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_demos_smallest_region_sets, matching_fixture_setup,
                                        matching_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
