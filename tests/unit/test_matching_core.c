/* test_matching_core.c — unit tests of the matching service's core: the inverted index
 * (services/matching/index.c) and the scorer with its explanations (score.c), on the
 * real reference data in LS_TEST_DATA_DIR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "ls_proto.h"
#include "ls_taxonomy.h"
#include "score.h"

#define TODAY "2025-06-01"
#define EPSILON 1e-9

typedef struct {
    ls_taxonomy_t *taxonomy;
    match_index_t *index;
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *fixture = calloc(1, sizeof *fixture);
    char err[256] = "";
    fixture->taxonomy = ls_taxonomy_load(LS_TEST_DATA_DIR, err, sizeof err);
    if (!fixture->taxonomy) {
        print_error("taxonomy: %s\n", err);
        free(fixture);
        return -1;
    }
    fixture->index = match_index_new(fixture->taxonomy);
    *state = fixture;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fixture = *state;
    match_index_destroy(&fixture->index);
    assert_null(fixture->index);
    match_index_destroy(&fixture->index); /* safe twice */
    ls_taxonomy_destroy(&fixture->taxonomy);
    free(fixture);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Building messages: everything is malloc'd, so free_unpacked(NULL) frees it. */

/* "a b c" -> a new array of new strings. */
static char **s_words(const char *text, size_t *count)
{
    *count = 0;
    char **words = calloc(16, sizeof *words);
    char *copy = strdup(text ? text : "");
    char *saved = NULL;
    for (char *word = strtok_r(copy, " ", &saved); word; word = strtok_r(NULL, " ", &saved)) {
        assert_true(*count < 16);
        words[(*count)++] = strdup(word);
    }
    free(copy);
    return words;
}

static ls_entity_pb *s_sme_new(const char *id, const char *region, const char *stages,
                               const char *materials)
{
    ls_sme_pb *sme = malloc(sizeof *sme);
    lodestone__v1__sme__init(sme);
    sme->id = strdup(id);
    sme->name = strdup(id);
    sme->region = strdup(region);
    sme->stages = s_words(stages, &sme->n_stages);
    sme->materials = s_words(materials, &sme->n_materials);
    sme->consent_match = true;
    ls_entity_pb *entity = malloc(sizeof *entity);
    lodestone__v1__entity__init(entity);
    entity->body_case = LODESTONE__V1__ENTITY__BODY_SME;
    entity->sme = sme;
    return entity;
}

static ls_entity_pb *s_opportunity_new(const char *id, const char *region, const char *stages,
                                       const char *materials)
{
    ls_opportunity_pb *opportunity = malloc(sizeof *opportunity);
    lodestone__v1__opportunity__init(opportunity);
    opportunity->id = strdup(id);
    opportunity->title = strdup(id);
    opportunity->region = strdup(region);
    opportunity->stages = s_words(stages, &opportunity->n_stages);
    opportunity->materials = s_words(materials, &opportunity->n_materials);
    ls_entity_pb *entity = malloc(sizeof *entity);
    lodestone__v1__entity__init(entity);
    entity->body_case = LODESTONE__V1__ENTITY__BODY_OPPORTUNITY;
    entity->opportunity = opportunity;
    return entity;
}

static ls_entity_pb *s_investor_new(const char *id, const char *region, const char *stages,
                                    const char *materials)
{
    ls_investor_pb *investor = malloc(sizeof *investor);
    lodestone__v1__investor__init(investor);
    investor->id = strdup(id);
    investor->name = strdup(id);
    investor->region = strdup(region);
    investor->stages = s_words(stages, &investor->n_stages);
    investor->materials = s_words(materials, &investor->n_materials);
    investor->consent_match = true;
    ls_entity_pb *entity = malloc(sizeof *entity);
    lodestone__v1__entity__init(entity);
    entity->body_case = LODESTONE__V1__ENTITY__BODY_INVESTOR;
    entity->investor = investor;
    return entity;
}

static void s_set_string(char **field, const char *value)
{
    *field = strdup(value); /* fields start as the shared empty string: nothing to free */
}

/* Indexes the message and frees it, so every later read proves the copy is private. */
static int s_upsert(match_index_t *index, ls_entity_pb *entity)
{
    int rc = match_index_upsert(index, entity);
    lodestone__v1__entity__free_unpacked(entity, NULL);
    return rc;
}

/* Builds a record without indexing it, freeing the message. */
static match_entity_t *s_record(const match_index_t *index, ls_entity_pb *entity)
{
    match_entity_t *record = match_entity_new(index, entity);
    lodestone__v1__entity__free_unpacked(entity, NULL);
    assert_non_null(record);
    return record;
}

/* Candidate ids, sorted and joined by spaces, for one exact comparison. */
typedef struct {
    char *ids[64];
    size_t count;
} s_found_t;

static void s_collect(const match_entity_t *candidate, void *arg)
{
    s_found_t *found = arg;
    assert_true(found->count < 64);
    found->ids[found->count++] = strdup(candidate->id);
}

static int s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void s_candidates(match_index_t *index, const char *subject_id,
                         Lodestone__V1__EntityKind wanted, char *out, size_t size)
{
    const match_entity_t *subject = match_index_lookup(index, subject_id);
    assert_non_null(subject);
    s_found_t found = {{0}, 0};
    size_t visited = match_index_candidates(index, subject, wanted, s_collect, &found);
    assert_int_equal(visited, found.count);
    qsort(found.ids, found.count, sizeof found.ids[0], s_cmp);
    out[0] = '\0';
    for (size_t i = 0; i < found.count; i++) {
        if (i > 0)
            strncat(out, " ", size - strlen(out) - 1);
        strncat(out, found.ids[i], size - strlen(out) - 1);
        free(found.ids[i]);
    }
}

static const ls_facet_score_pb *s_facet(const ls_match_pb *match, const char *name)
{
    for (size_t i = 0; i < match->n_facets; i++)
        if (strcmp(match->facets[i]->facet, name) == 0)
            return match->facets[i];
    fail_msg("no facet %s", name);
    return NULL;
}

/* Scores two records built outside the index with the default configuration. */
static ls_match_pb *s_score_pair(const match_index_t *index, ls_entity_pb *subject,
                                 ls_entity_pb *candidate)
{
    match_entity_t *a = s_record(index, subject);
    match_entity_t *b = s_record(index, candidate);
    match_config_t config = match_config_default();
    ls_match_pb *match = match_score(&config, a, b, TODAY);
    match_entity_destroy(&a);
    match_entity_destroy(&b);
    assert_non_null(match);
    return match;
}

static double s_similarity(const match_index_t *index, const char *facet, ls_entity_pb *subject,
                           ls_entity_pb *candidate, char *reason, size_t size)
{
    ls_match_pb *match = s_score_pair(index, subject, candidate);
    const ls_facet_score_pb *score = s_facet(match, facet);
    double similarity = score->similarity;
    if (reason)
        snprintf(reason, size, "%s", score->reason);
    match_destroy(&match);
    return similarity;
}

#define SME LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME
#define OPPORTUNITY LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY

/* ---------------------------------------------------------------------------
 * Index */

static void test_upsert_replaces_postings(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    char found[512];
    assert_int_equal(s_upsert(index, s_sme_new("sme-1", "FI1D7", "exploration", "gold")), 1);
    assert_int_equal(s_upsert(index, s_opportunity_new("opp-lapland", "FI1D7", "refining", "")), 1);
    assert_int_equal(s_upsert(index, s_opportunity_new("opp-asturias", "ES12", "refining", "")), 1);
    s_candidates(index, "opp-lapland", SME, found, sizeof found);
    assert_string_equal(found, "sme-1");
    s_candidates(index, "opp-asturias", SME, found, sizeof found);
    assert_string_equal(found, "");

    /* The SME moves to Asturias: the Lapland postings must forget it. */
    assert_int_equal(s_upsert(index, s_sme_new("sme-1", "ES12", "exploration", "gold")), 1);
    assert_int_equal(match_index_size(index), 3);
    s_candidates(index, "opp-lapland", SME, found, sizeof found);
    assert_string_equal(found, "");
    s_candidates(index, "opp-asturias", SME, found, sizeof found);
    assert_string_equal(found, "sme-1");

    const match_entity_t *sme = match_index_lookup(index, "sme-1");
    assert_non_null(sme);
    assert_string_equal(sme->region, "ES12");
    assert_string_equal(sme->region_name, "Principado de Asturias");
    assert_string_equal(sme->country, "ES");
    assert_true(sme->partnership);
    assert_int_equal(sme->stages.size, 1);
    assert_string_equal(sme->stages.items[0], "exploration");

    assert_int_equal(match_index_remove(index, "sme-1"), 0);
    assert_int_equal(match_index_remove(index, "sme-1"), -1);
    assert_null(match_index_lookup(index, "sme-1"));
    s_candidates(index, "opp-asturias", SME, found, sizeof found);
    assert_string_equal(found, "");
    assert_int_equal(match_index_size(index), 2);
}

static void test_inactive_not_indexed(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    char found[512];

    ls_entity_pb *entity = s_sme_new("no-consent", "FI1D7", "extraction", "cobalt");
    entity->sme->consent_match = false;
    assert_int_equal(s_upsert(index, entity), 0);
    entity = s_sme_new("withdrawn", "FI1D7", "extraction", "cobalt");
    entity->sme->state = LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_WITHDRAWN;
    assert_int_equal(s_upsert(index, entity), 0);
    entity = s_opportunity_new("closed", "FI1D7", "extraction", "cobalt");
    entity->opportunity->status = LODESTONE__V1__OPPORTUNITY__STATUS__CLOSED;
    assert_int_equal(s_upsert(index, entity), 0);
    assert_int_equal(match_index_size(index), 0);
    assert_null(match_index_lookup(index, "no-consent"));

    /* Active first, then erased: the later version takes it out of the index. */
    assert_int_equal(s_upsert(index, s_sme_new("sme-2", "FI1D7", "extraction", "cobalt")), 1);
    assert_int_equal(s_upsert(index, s_opportunity_new("opp", "FI1D7", "extraction", "")), 1);
    s_candidates(index, "opp", SME, found, sizeof found);
    assert_string_equal(found, "sme-2");
    entity = s_sme_new("sme-2", "FI1D7", "extraction", "cobalt");
    entity->sme->state = LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_ERASED;
    assert_int_equal(s_upsert(index, entity), 0);
    assert_null(match_index_lookup(index, "sme-2"));
    s_candidates(index, "opp", SME, found, sizeof found);
    assert_string_equal(found, "");
    assert_int_equal(match_index_size(index), 1);

    /* No body, no id: refused. */
    ls_entity_pb empty = LODESTONE__V1__ENTITY__INIT;
    assert_int_equal(match_index_upsert(index, &empty), -1);
    assert_int_equal(s_upsert(index, s_sme_new("", "FI1D7", "", "")), -1);
    assert_null(match_entity_new(index, &empty));
}

static void test_candidates_wanted_kind_sharing_a_facet(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    char found[512];
    s_upsert(index, s_opportunity_new("opp-1", "FI1D7", "beneficiation", "cobalt"));
    s_upsert(index, s_sme_new("a-stage", "ES12", "beneficiation", "gold"));
    s_upsert(index, s_sme_new("b-material", "SE331", "exploration", "cobalt"));
    s_upsert(index, s_sme_new("c-region", "FI1D7", "recycling", "zinc"));
    s_upsert(index, s_sme_new("d-all", "FI1D7", "beneficiation", "cobalt nickel"));
    s_upsert(index, s_sme_new("e-nothing", "EL64", "exploration", "gold"));
    s_upsert(index, s_opportunity_new("opp-2", "FI1D7", "beneficiation", "cobalt"));
    s_upsert(index, s_investor_new("inv-1", "FI1D7", "beneficiation", "cobalt"));
    assert_int_equal(match_index_size(index), 8);

    /* d-all shares three values and is visited once; e, opp-2, inv-1 never. */
    s_candidates(index, "opp-1", SME, found, sizeof found);
    assert_string_equal(found, "a-stage b-material c-region d-all");
    /* The subject is not its own candidate. */
    s_candidates(index, "opp-1", OPPORTUNITY, found, sizeof found);
    assert_string_equal(found, "opp-2");
    s_candidates(index, "opp-1", LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_INVESTOR, found,
                 sizeof found);
    assert_string_equal(found, "inv-1");
    s_candidates(index, "e-nothing", OPPORTUNITY, found, sizeof found);
    assert_string_equal(found, "");
}

static void test_group_material_matches_member(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    char found[512];
    /* Nothing in common but the material: only the group expansion links them. */
    s_upsert(index, s_opportunity_new("opp-hree", "FI1D7", "refining", "hree"));
    s_upsert(index, s_sme_new("sme-dy", "EL64", "exploration", "dysprosium"));
    s_upsert(index, s_sme_new("sme-nd", "EL64", "exploration", "neodymium")); /* light REE */
    s_candidates(index, "opp-hree", SME, found, sizeof found);
    assert_string_equal(found, "sme-dy");
    s_candidates(index, "sme-dy", OPPORTUNITY, found, sizeof found);
    assert_string_equal(found, "opp-hree");

    const match_entity_t *opportunity = match_index_lookup(index, "opp-hree");
    assert_int_equal(opportunity->material_count, 10); /* Dy Er Eu Gd Ho Lu Tb Tm Yb Y */
    match_config_t config = match_config_default();
    ls_match_pb *match =
        match_score(&config, opportunity, match_index_lookup(index, "sme-dy"), TODAY);
    assert_non_null(match);
    const ls_facet_score_pb *materials = s_facet(match, "materials");
    assert_float_equal(materials->similarity, 1.0, EPSILON);
    assert_non_null(strstr(materials->reason, "dysprosium"));
    assert_non_null(strstr(materials->reason, "critical raw material"));
    match_destroy(&match);
    assert_null(match);
    match_destroy(&match); /* safe on NULL */
}

/* ---------------------------------------------------------------------------
 * Scores */

static void test_identical_facets_score_one(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_match_pb *match =
        s_score_pair(index, s_sme_new("sme", "FI1D7", "recycling beneficiation", "cobalt zinc"),
                     s_opportunity_new("opp", "FI1D7", "beneficiation recycling", "zinc cobalt"));
    assert_string_equal(match->subject_id, "sme");
    assert_string_equal(match->candidate_id, "opp");
    assert_string_equal(match->candidate_name, "opp");
    assert_int_equal(match->candidate_kind, OPPORTUNITY);
    assert_string_equal(match->model_version, MATCH_MODEL_VERSION);
    assert_float_equal(match->score, 1.0, EPSILON);
    assert_int_equal(match->n_facets, 3);
    for (size_t i = 0; i < match->n_facets; i++)
        assert_float_equal(match->facets[i]->similarity, 1.0, EPSILON);
    assert_string_equal(s_facet(match, "stages")->reason,
                        "both work in beneficiation and recycling");
    assert_string_equal(s_facet(match, "region")->reason, "both in Lapland");
    assert_string_equal(s_facet(match, "materials")->reason,
                        "both work with cobalt and zinc; cobalt is a strategic and critical raw "
                        "material (Critical Raw Materials Act list crma-2024)");
    /* The summary leads with the largest contribution, materials (0.40). */
    assert_true(strncmp(match->summary, "Both work with cobalt", 21) == 0);
    assert_non_null(strstr(match->summary, "; both work in beneficiation and recycling."));
    match_destroy(&match);
}

static void test_region_tiers(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    char reason[512];
    assert_float_equal(s_similarity(index, "region", s_sme_new("s", "FI1D7", "", ""),
                                    s_opportunity_new("o", "FI1D7", "", ""), reason, sizeof reason),
                       1.0, EPSILON);
    assert_string_equal(reason, "both in Lapland");

    assert_float_equal(s_similarity(index, "region", s_sme_new("s", "FI1D7", "", ""),
                                    s_opportunity_new("o", "FI1D8", "", ""), reason, sizeof reason),
                       0.7, EPSILON);
    assert_string_equal(reason, "both in Finland (Lapland and Kainuu)");

    assert_float_equal(s_similarity(index, "region", s_opportunity_new("o", "ES12", "", ""),
                                    s_sme_new("s", "FI1D7", "", ""), reason, sizeof reason),
                       0.5, EPSILON);
    assert_string_equal(reason,
                        "interregional link within the partnership: Principado de Asturias and "
                        "Lapland");

    /* Outside the partnership, but in the same country as a partner region. */
    ls_entity_pb *helsinki = s_sme_new("s", "FI1B1", "", "");
    s_set_string(&helsinki->sme->country, "FI");
    assert_float_equal(s_similarity(index, "region", helsinki,
                                    s_opportunity_new("o", "FI1D3", "", ""), reason, sizeof reason),
                       0.7, EPSILON);
    assert_string_equal(reason, "both in Finland (FI1B1 and North Karelia)");

    assert_float_equal(s_similarity(index, "region", s_sme_new("s", "DE212", "", ""),
                                    s_opportunity_new("o", "FI1D7", "", ""), reason, sizeof reason),
                       0.1, EPSILON);
    assert_float_equal(s_similarity(index, "region", s_sme_new("s", "", "", ""),
                                    s_opportunity_new("o", "FI1D7", "", ""), reason, sizeof reason),
                       0.0, EPSILON);
    assert_string_equal(reason, "the SME names no region");
}

static void test_stage_and_material_overlap(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    char reason[512];
    /* Overlap coefficient: a specialist inside a broader partner's stages is a full fit. */
    assert_float_equal(
        s_similarity(index, "stages", s_sme_new("s", "", "exploration", ""),
                     s_opportunity_new("o", "", "exploration extraction refining", ""), reason,
                     sizeof reason),
        1.0, EPSILON);
    assert_float_equal(s_similarity(index, "stages",
                                    s_sme_new("s", "", "exploration extraction", ""),
                                    s_opportunity_new("o", "", "extraction recycling refining", ""),
                                    reason, sizeof reason),
                       0.5, EPSILON);
    assert_string_equal(reason, "both work in extraction");
    assert_float_equal(s_similarity(index, "stages", s_sme_new("s", "", "exploration", ""),
                                    s_opportunity_new("o", "", "", ""), reason, sizeof reason),
                       0.0, EPSILON);
    assert_string_equal(reason, "the opportunity names no stage");
    s_similarity(index, "stages", s_sme_new("s", "", "", ""), s_opportunity_new("o", "", "", ""),
                 reason, sizeof reason);
    assert_string_equal(reason, "neither names a stage");

    /* A shared critical material weighs 1.5, another 1: sharing cobalt out of {cobalt, gold}
     * and {cobalt, zinc} gives 1.5 / 2.5, sharing gold out of {gold, cobalt} and
     * {gold, antimony} only 1 / 2.5. */
    assert_float_equal(s_similarity(index, "materials", s_sme_new("s", "", "", "cobalt gold"),
                                    s_opportunity_new("o", "", "", "cobalt zinc"), reason,
                                    sizeof reason),
                       0.6, EPSILON);
    assert_string_equal(reason, "both work with cobalt, a strategic and critical raw material "
                                "(Critical Raw Materials Act list crma-2024)");
    assert_float_equal(s_similarity(index, "materials", s_sme_new("s", "", "", "cobalt gold"),
                                    s_opportunity_new("o", "", "", "gold antimony"), reason,
                                    sizeof reason),
                       0.4, EPSILON);
    assert_string_equal(reason, "both work with gold");
    assert_float_equal(s_similarity(index, "materials", s_sme_new("s", "", "", "antimony"),
                                    s_opportunity_new("o", "", "", "antimony"), reason,
                                    sizeof reason),
                       1.0, EPSILON);
    assert_non_null(strstr(reason, "antimony, a critical raw material"));
    assert_float_equal(s_similarity(index, "materials", s_sme_new("s", "", "", "gold"),
                                    s_opportunity_new("o", "", "", "zinc"), reason, sizeof reason),
                       0.0, EPSILON);
    assert_string_equal(reason, "no material in common");
}

static void test_contributions_sum_to_score(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_match_pb *match =
        s_score_pair(index, s_sme_new("sme", "FI1D7", "exploration extraction", "cobalt gold"),
                     s_opportunity_new("opp", "ES12", "extraction recycling", "cobalt zinc"));
    /* stages 0.5, materials 0.6, region 0.5 */
    double expected = 0.35 * 0.5 + 0.40 * 0.6 + 0.25 * 0.5;
    assert_float_equal(match->score, expected, EPSILON);
    double sum = 0.0, weights = 0.0;
    for (size_t i = 0; i < match->n_facets; i++)
        weights += match->facets[i]->weight;
    for (size_t i = 0; i < match->n_facets; i++) {
        const ls_facet_score_pb *facet = match->facets[i];
        assert_float_equal(facet->contribution, facet->weight * facet->similarity / weights,
                           EPSILON);
        sum += facet->contribution;
    }
    assert_float_equal(sum, match->score, EPSILON);
    assert_float_equal(s_facet(match, "stages")->weight, 0.35, EPSILON);
    assert_float_equal(s_facet(match, "materials")->weight, 0.40, EPSILON);
    assert_float_equal(s_facet(match, "region")->weight, 0.25, EPSILON);
    match_destroy(&match);

    /* A zero weight leaves the facet out of the score and the explanation. */
    match_entity_t *a = s_record(index, s_sme_new("sme", "FI1D7", "extraction", "gold"));
    match_entity_t *b = s_record(index, s_opportunity_new("opp", "EL64", "extraction", "zinc"));
    match_config_t config = match_config_default();
    config.weights.region = 0.0;
    match = match_score(&config, a, b, TODAY);
    assert_int_equal(match->n_facets, 2);
    assert_float_equal(match->score, 0.35 / 0.75, EPSILON);
    assert_string_equal(match->summary, "Both work in extraction.");
    match_destroy(&match);
    match_entity_destroy(&a);
    match_entity_destroy(&b);
    assert_null(a);
}

static void test_hard_filters(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    match_config_t config = match_config_default();
    match_entity_t *sme = s_record(index, s_sme_new("sme", "FI1D7", "extraction", "cobalt"));

    ls_entity_pb *entity = s_opportunity_new("opp", "FI1D7", "extraction", "cobalt");
    s_set_string(&entity->opportunity->deadline, "2025-05-31");
    match_entity_t *expired = s_record(index, entity);
    assert_null(match_score(&config, sme, expired, TODAY));
    assert_null(match_score(&config, expired, sme, TODAY));
    assert_non_null(strstr(match_rejection(sme, expired, TODAY), "deadline"));
    ls_match_pb *match = match_score(&config, sme, expired, NULL); /* no date: no filter */
    assert_non_null(match);
    match_destroy(&match);

    entity = s_opportunity_new("opp", "FI1D7", "extraction", "cobalt");
    s_set_string(&entity->opportunity->deadline, TODAY);
    match_entity_t *due_today = s_record(index, entity);
    assert_null(match_rejection(sme, due_today, TODAY));

    entity = s_opportunity_new("closed", "FI1D7", "extraction", "cobalt");
    entity->opportunity->status = LODESTONE__V1__OPPORTUNITY__STATUS__CLOSED;
    match_entity_t *closed = s_record(index, entity);
    assert_null(match_score(&config, sme, closed, TODAY));

    entity = s_sme_new("shy", "FI1D7", "extraction", "cobalt");
    entity->sme->consent_match = false;
    match_entity_t *shy = s_record(index, entity);
    assert_null(match_score(&config, due_today, shy, TODAY));
    assert_null(match_score(&config, shy, due_today, TODAY));

    /* SME <-> SME is not a pair the model scores (yet). */
    match_entity_t *other = s_record(index, s_sme_new("other", "FI1D7", "extraction", "cobalt"));
    assert_null(match_score(&config, sme, other, TODAY));

    match_entity_t *records[] = {sme, expired, due_today, closed, shy, other};
    for (size_t i = 0; i < sizeof records / sizeof records[0]; i++)
        match_entity_destroy(&records[i]);
}

/* ---------------------------------------------------------------------------
 * Top-K */

static void s_expect_ids(zlistx_t *matches, const char *const *ids, size_t count)
{
    assert_int_equal(zlistx_size(matches), count);
    size_t i = 0;
    double previous = 2.0;
    for (ls_match_pb *match = zlistx_first(matches); match; match = zlistx_next(matches), i++) {
        assert_string_equal(match->candidate_id, ids[i]);
        assert_true(match->score <= previous);
        previous = match->score;
    }
}

static void s_fill_for_top(match_index_t *index, bool reversed)
{
    /* Scores against opp (FI1D7, beneficiation, cobalt): best 1.0; tie-a, tie-b, tie-c
     * 0.35 + 0.40 + 0.25 * 0.5 = 0.875 (partner regions abroad); low 0.35 + 0.25 * 0.1 =
     * 0.375 (stage only, outside the partnership); faint 0.25 (region only), a candidate
     * below the default threshold 0.3. */
    ls_entity_pb *entities[] = {
        s_sme_new("tie-c", "ES12", "beneficiation", "cobalt"),
        s_sme_new("best", "FI1D7", "beneficiation", "cobalt"),
        s_sme_new("tie-a", "SE331", "beneficiation", "cobalt"),
        s_sme_new("low", "DE212", "beneficiation", "gold"),
        s_sme_new("faint", "FI1D7", "exploration", "gold"),
        s_sme_new("tie-b", "EL64", "beneficiation", "cobalt"),
        s_opportunity_new("opp", "FI1D7", "beneficiation", "cobalt"),
    };
    size_t count = sizeof entities / sizeof entities[0];
    for (size_t i = 0; i < count; i++)
        assert_int_equal(s_upsert(index, entities[reversed ? count - 1 - i : i]), 1);
}

static void test_top_k_threshold_and_ties(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    s_fill_for_top(index, false);
    const match_entity_t *opportunity = match_index_lookup(index, "opp");
    char found[512];
    s_candidates(index, "opp", SME, found, sizeof found);
    assert_string_equal(found, "best faint low tie-a tie-b tie-c");

    match_config_t config = match_config_default();
    zlistx_t *matches = match_top(index, opportunity, &config, TODAY);
    const char *const above_default[] = {"best", "tie-a", "tie-b", "tie-c", "low"};
    s_expect_ids(matches, above_default, 5);
    ls_match_pb *match = zlistx_first(matches);
    assert_float_equal(match->score, 1.0, EPSILON);
    match = zlistx_next(matches);
    assert_float_equal(match->score, 0.875, EPSILON);
    match = zlistx_last(matches);
    assert_float_equal(match->score, 0.375, EPSILON);
    zlistx_destroy(&matches);

    config.threshold = 0.4;
    matches = match_top(index, opportunity, &config, TODAY);
    const char *const above_04[] = {"best", "tie-a", "tie-b", "tie-c"};
    s_expect_ids(matches, above_04, 4);
    zlistx_destroy(&matches);

    config.threshold = 0.0;
    matches = match_top(index, opportunity, &config, TODAY);
    const char *const every[] = {"best", "tie-a", "tie-b", "tie-c", "low", "faint"};
    s_expect_ids(matches, every, 6);
    zlistx_destroy(&matches);

    config.top_k = 2;
    matches = match_top(index, opportunity, &config, TODAY);
    const char *const two[] = {"best", "tie-a"};
    s_expect_ids(matches, two, 2);
    zlistx_destroy(&matches);

    config.top_k = 0;
    matches = match_top(index, opportunity, &config, TODAY);
    assert_int_equal(zlistx_size(matches), 0);
    zlistx_destroy(&matches);

    /* The other direction: an SME's list holds opportunities, and not a past one. */
    ls_entity_pb *entity = s_opportunity_new("opp-expired", "FI1D7", "beneficiation", "cobalt");
    s_set_string(&entity->opportunity->deadline, "2024-12-31");
    s_upsert(index, entity);
    config = match_config_default();
    matches = match_top(index, match_index_lookup(index, "best"), &config, TODAY);
    const char *const for_sme[] = {"opp"};
    s_expect_ids(matches, for_sme, 1);
    match = zlistx_first(matches);
    assert_string_equal(match->subject_id, "best");
    assert_int_equal(match->candidate_kind, OPPORTUNITY);
    zlistx_destroy(&matches);
    matches = match_top(index, match_index_lookup(index, "best"), &config, "2024-06-01");
    const char *const before[] = {"opp", "opp-expired"};
    s_expect_ids(matches, before, 2);
    zlistx_destroy(&matches);
}

static void test_top_k_deterministic(void **state)
{
    fixture_t *fixture = *state;
    /* The same entities inserted in the opposite order give the same list. */
    match_index_t *other = match_index_new(fixture->taxonomy);
    s_fill_for_top(fixture->index, false);
    s_fill_for_top(other, true);
    match_config_t config = match_config_default();
    zlistx_t *one =
        match_top(fixture->index, match_index_lookup(fixture->index, "opp"), &config, TODAY);
    zlistx_t *two = match_top(other, match_index_lookup(other, "opp"), &config, TODAY);
    const char *const expected[] = {"best", "tie-a", "tie-b", "tie-c", "low"};
    s_expect_ids(one, expected, 5);
    s_expect_ids(two, expected, 5);
    ls_match_pb *a = zlistx_first(one), *b = zlistx_first(two);
    for (; a && b; a = zlistx_next(one), b = zlistx_next(two)) {
        assert_true(a->score == b->score);
        assert_string_equal(a->summary, b->summary);
    }
    /* A match detached from the list is the caller's. */
    zlistx_first(one);
    ls_match_pb *kept = zlistx_detach_cur(one);
    zlistx_destroy(&one);
    zlistx_destroy(&two);
    assert_string_equal(kept->candidate_id, "best");
    match_destroy(&kept);
    match_index_destroy(&other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_upsert_replaces_postings, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_inactive_not_indexed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_candidates_wanted_kind_sharing_a_facet, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_group_material_matches_member, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_identical_facets_score_one, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_region_tiers, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_stage_and_material_overlap, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_contributions_sum_to_score, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hard_filters, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_top_k_threshold_and_ties, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_top_k_deterministic, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
