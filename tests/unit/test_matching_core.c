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
#include "ls_util.h"
#include "matching_fixture.h"
#include "score.h"

#define TODAY "2025-06-01"
#define EPSILON 1e-9

/* ---------------------------------------------------------------------------
 * Building messages: everything is malloc'd, so free_unpacked(NULL) frees it. */

static void s_set_string(char **field, const char *value)
{
    if (*field != protobuf_c_empty_string) /* a fixture's own copy */
        free(*field);
    *field = strdup(value);
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
    char *ids[512];
    size_t count;
} s_found_t;

static void s_collect(const match_entity_t *candidate, void *arg)
{
    s_found_t *found = arg;
    assert_true(found->count < 512);
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

#define INVESTOR LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_INVESTOR

/* ---------------------------------------------------------------------------
 * Index */

static void test_upsert_replaces_postings(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    char found[512];
    ls_entity_pb *opp = fixture_opportunity("opp-flotation", "FI1D7", "beneficiation", "");
    opp->opportunity->required_capabilities =
        fixture_words("flotation", &opp->opportunity->n_required_capabilities);
    assert_int_equal(s_upsert(index, opp), 1);
    assert_int_equal(s_upsert(index, fixture_sme("sme-1", "FI1D7", "exploration", "gold")), 1);
    s_candidates(index, "opp-flotation", SME, found, sizeof found);
    assert_string_equal(found, "sme-1");
    s_candidates(index, "sme-1", OPPORTUNITY, found, sizeof found);
    assert_string_equal(found, "opp-flotation");

    /* The SME drops flotation: the postings must forget it. */
    ls_entity_pb *sme = fixture_sme("sme-1", "ES12", "exploration", "gold");
    s_set_string(&sme->sme->capabilities[0], "leaching");
    assert_int_equal(s_upsert(index, sme), 1);
    assert_int_equal(match_index_size(index), 2);
    s_candidates(index, "opp-flotation", SME, found, sizeof found);
    assert_string_equal(found, "");
    s_candidates(index, "sme-1", OPPORTUNITY, found, sizeof found);
    assert_string_equal(found, "");

    const match_entity_t *record = match_index_lookup(index, "sme-1");
    assert_non_null(record);
    assert_string_equal(record->region_name, "Principado de Asturias");
    assert_string_equal(record->country, "ES");
    assert_string_equal(record->capabilities.items[0], "leaching");
    /* The record's id hash is the partition hash: the engine decides ownership by it. */
    assert_true(record->id_hash == ls_hash64("sme-1"));
    for (unsigned n = 1; n <= 7; n++)
        assert_int_equal(record->id_hash % n, ls_partition_of("sme-1", n));

    assert_int_equal(match_index_remove(index, "sme-1"), 0);
    assert_int_equal(match_index_remove(index, "sme-1"), -1);
    assert_null(match_index_lookup(index, "sme-1"));
    assert_int_equal(match_index_size(index), 1);
}

static void test_inactive_not_indexed(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_entity_pb *entity = fixture_sme("no-consent", "FI1D7", "extraction", "cobalt");
    entity->sme->consent_match = false;
    assert_int_equal(s_upsert(index, entity), 0);
    entity = fixture_sme("withdrawn", "FI1D7", "extraction", "cobalt");
    entity->sme->state = LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_WITHDRAWN;
    assert_int_equal(s_upsert(index, entity), 0);
    entity = fixture_opportunity("closed", "FI1D7", "extraction", "cobalt");
    entity->opportunity->status = LODESTONE__V1__OPPORTUNITY__STATUS__CLOSED;
    assert_int_equal(s_upsert(index, entity), 0);
    assert_int_equal(match_index_size(index), 0);
    assert_int_equal(s_upsert(index, fixture_sme("sme-2", "FI1D7", "extraction", "cobalt")), 1);
    entity = fixture_sme("sme-2", "FI1D7", "extraction", "cobalt");
    entity->sme->state = LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_ERASED;
    assert_int_equal(s_upsert(index, entity), 0);
    assert_null(match_index_lookup(index, "sme-2"));
    ls_entity_pb empty = LODESTONE__V1__ENTITY__INIT;
    assert_int_equal(match_index_upsert(index, &empty), -1);
    assert_int_equal(s_upsert(index, fixture_sme("", "FI1D7", "", "")), -1);
    assert_null(match_entity_new(index, &empty));
}

/* An opportunity without required capabilities: SMEs sharing a material (after group
 * expansion), a capability or a NACE group; region and stage alone do not count. */
static void test_candidates_free_opportunity(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    char found[512];
    ls_entity_pb *opp = fixture_opportunity("opp", "FI1D7", "beneficiation", "hree");
    opp->opportunity->nice_capabilities =
        fixture_words("geophysics", &opp->opportunity->n_nice_capabilities);
    opp->opportunity->nace = fixture_words("07.29", &opp->opportunity->n_nace);
    s_upsert(index, opp);
    s_upsert(index, fixture_sme("a-dysprosium", "EL64", "exploration", "dysprosium"));
    ls_entity_pb *sme = fixture_sme("b-geophysics", "EL64", "exploration", "gold");
    s_set_string(&sme->sme->capabilities[0], "geophysics");
    s_upsert(index, sme);
    sme = fixture_sme("c-group", "EL64", "exploration", "gold");
    sme->sme->nace = fixture_words("07.21", &sme->sme->n_nace);
    s_upsert(index, sme);
    sme = fixture_sme("d-division-only", "EL64", "exploration", "gold");
    sme->sme->nace = fixture_words("07.10", &sme->sme->n_nace);
    s_upsert(index, sme);
    s_upsert(index, fixture_sme("e-region-stage", "FI1D7", "beneficiation", "gold"));
    s_upsert(index, fixture_investor("inv", "FI1D7", "beneficiation", "dysprosium"));
    s_candidates(index, "opp", SME, found, sizeof found);
    assert_string_equal(found, "a-dysprosium b-geophysics c-group");
    s_candidates(index, "a-dysprosium", OPPORTUNITY, found, sizeof found);
    assert_string_equal(found, "opp");
    s_candidates(index, "e-region-stage", OPPORTUNITY, found, sizeof found);
    assert_string_equal(found, "");
    /* A supply need and an investor never pair. */
    s_candidates(index, "opp", INVESTOR, found, sizeof found);
    assert_string_equal(found, "");
    s_candidates(index, "inv", OPPORTUNITY, found, sizeof found);
    assert_string_equal(found, "");
}

static void s_funding(ls_entity_pb *sme)
{
    sme->sme->funding_sought = malloc(sizeof *sme->sme->funding_sought);
    lodestone__v1__money_range__init(sme->sme->funding_sought);
    sme->sme->funding_sought->min_eur = 100000;
    sme->sme->funding_sought->max_eur = 300000;
}

/* Investors: a seeker in a target region (or any when none) sharing a material; an
 * investor with no material pairs by stage. */
static void test_candidates_investors(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    char found[512];
    ls_entity_pb *inv = fixture_investor("inv-targets", "SE331", "extraction", "cobalt");
    inv->investor->target_regions = fixture_words("FI1D7", &inv->investor->n_target_regions);
    s_upsert(index, inv);
    s_upsert(index, fixture_investor("inv-stages", "SE331", "recycling", ""));
    ls_entity_pb *sme = fixture_sme("a-lapland", "FI1D7", "exploration", "cobalt");
    s_funding(sme);
    s_upsert(index, sme);
    sme = fixture_sme("b-asturias", "ES12", "recycling", "cobalt");
    s_funding(sme);
    s_upsert(index, sme);
    s_upsert(index, fixture_sme("c-no-funding", "FI1D7", "recycling", "cobalt"));
    ls_entity_pb *opp = fixture_opportunity("d-case", "FI1D7", "extraction", "cobalt");
    opp->opportunity->kind = LODESTONE__V1__OPPORTUNITY__KIND__INVESTMENT_CASE;
    s_upsert(index, opp);
    s_upsert(index, fixture_opportunity("e-supply", "FI1D7", "recycling", "cobalt"));
    s_candidates(index, "inv-targets", SME, found, sizeof found);
    assert_string_equal(found, "a-lapland");
    s_candidates(index, "inv-targets", OPPORTUNITY, found, sizeof found);
    assert_string_equal(found, "d-case");
    s_candidates(index, "inv-stages", SME, found, sizeof found);
    assert_string_equal(found, "b-asturias");
    s_candidates(index, "a-lapland", INVESTOR, found, sizeof found);
    assert_string_equal(found, "inv-targets");
    s_candidates(index, "b-asturias", INVESTOR, found, sizeof found);
    assert_string_equal(found, "inv-stages");
    s_candidates(index, "c-no-funding", INVESTOR, found, sizeof found);
    assert_string_equal(found, "");
}

/* A small random corpus: candidates(a) == {b : is_candidate(a, b)} from every side,
 * the predicate is symmetric, and it stays so through replacements and removals. */
static uint32_t s_rand(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 16) & 0x7fff;
}

static const char *s_pick(uint32_t *seed, const char *const *list, size_t count)
{
    return list[s_rand(seed) % count];
}

static ls_entity_pb *s_random_entity(uint32_t *seed, size_t i)
{
    static const char *const regions[] = {"FI1D7", "FI1D3", "ES12", "SE331", "EL64"};
    static const char *const stages[] = {"exploration", "extraction", "beneficiation", "recycling"};
    static const char *const materials[] = {"cobalt",     "nickel", "gold",   "hree",
                                            "dysprosium", "zinc",   "copper", "talc"};
    static const char *const tags[] = {"flotation", "leaching", "geophysics",
                                       "welding",   "drilling", "assaying"};
    static const char *const nace[] = {"07.29", "07.21", "07.10", "08.11", "71.12", "07"};
    char id[32], words[128];
    unsigned kind = s_rand(seed) % 10;
    snprintf(id, sizeof id, "e-%03zu", i);
    ls_entity_pb *entity;
    if (kind < 6) {
        entity = fixture_sme(id, s_pick(seed, regions, 5), s_pick(seed, stages, 4),
                             s_pick(seed, materials, 8));
        snprintf(words, sizeof words, "%s %s", s_pick(seed, tags, 6), s_pick(seed, tags, 6));
        ls_sme_pb *sme = entity->sme;
        for (size_t w = 0; w < sme->n_capabilities; w++)
            free(sme->capabilities[w]);
        free(sme->capabilities);
        sme->capabilities = fixture_words(words, &sme->n_capabilities);
        sme->nace = fixture_words(s_pick(seed, nace, 6), &sme->n_nace);
        if (s_rand(seed) % 2)
            s_funding(entity);
    } else if (kind < 9) {
        entity = fixture_opportunity(id, s_pick(seed, regions, 5), s_pick(seed, stages, 4),
                                     s_pick(seed, materials, 8));
        ls_opportunity_pb *opp = entity->opportunity;
        if (s_rand(seed) % 2) {
            snprintf(words, sizeof words, "%s %s", s_pick(seed, tags, 6), s_pick(seed, tags, 6));
            opp->required_capabilities = fixture_words(words, &opp->n_required_capabilities);
        } else
            opp->nice_capabilities =
                fixture_words(s_pick(seed, tags, 6), &opp->n_nice_capabilities);
        opp->nace = fixture_words(s_pick(seed, nace, 6), &opp->n_nace);
        if (s_rand(seed) % 3 == 0)
            opp->kind = LODESTONE__V1__OPPORTUNITY__KIND__INVESTMENT_CASE;
    } else {
        entity = fixture_investor(id, s_pick(seed, regions, 5), s_pick(seed, stages, 4),
                                  s_rand(seed) % 4 ? s_pick(seed, materials, 8) : "");
        if (s_rand(seed) % 2) {
            snprintf(words, sizeof words, "%s %s", s_pick(seed, regions, 5),
                     s_pick(seed, regions, 5));
            entity->investor->target_regions =
                fixture_words(words, &entity->investor->n_target_regions);
        }
    }
    return entity;
}

typedef struct {
    const match_entity_t *subject;
    size_t count;
} s_check_t;

static void s_check_visit(const match_entity_t *candidate, void *arg)
{
    s_check_t *check = arg;
    assert_true(match_index_is_candidate(check->subject, candidate));
    assert_true(match_index_is_candidate(candidate, check->subject));
    check->count++;
}

static void s_check_exact(match_index_t *index, char ids[][32], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const match_entity_t *a = match_index_lookup(index, ids[i]);
        if (!a)
            continue;
        size_t expected = 0;
        for (size_t j = 0; j < n; j++) {
            const match_entity_t *b = match_index_lookup(index, ids[j]);
            if (b && match_index_is_candidate(a, b))
                expected++;
        }
        s_check_t check = {a, 0};
        assert_int_equal(match_index_counterparts(index, a, s_check_visit, &check), expected);
        assert_int_equal(check.count, expected);
    }
}

static void test_candidates_exact_and_symmetric(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    enum { N = 160 };
    char ids[N][32];
    uint32_t seed = 7;
    for (size_t i = 0; i < N; i++) {
        ls_entity_pb *entity = s_random_entity(&seed, i);
        snprintf(ids[i], sizeof ids[i], "e-%03zu", i);
        s_upsert(index, entity);
    }
    s_check_exact(index, ids, N);
    /* Replace a third with new random facets, remove a tenth. */
    for (size_t i = 0; i < N; i += 3)
        s_upsert(index, s_random_entity(&seed, i));
    for (size_t i = 0; i < N; i += 10)
        match_index_remove(index, ids[i]);
    s_check_exact(index, ids, N);
}

/* The service keeps lists incrementally: after a change to X it recomputes X's list,
 * those of X's counterparts after the change, and those that listed X before. That
 * must equal recomputing every list. */
static char *s_list_text(match_index_t *index, const char *id, const match_config_t *config)
{
    const match_entity_t *subject = match_index_lookup(index, id);
    if (!subject)
        return strdup("");
    zlistx_t *top = match_top(index, subject, config, TODAY);
    size_t size = 1 + 64 * zlistx_size(top);
    char *text = calloc(size, 1);
    for (ls_match_pb *m = zlistx_first(top); m; m = zlistx_next(top)) {
        char item[64];
        snprintf(item, sizeof item, "%s:%a ", m->candidate_id, m->score);
        strncat(text, item, size - strlen(text) - 1);
    }
    zlistx_destroy(&top);
    return text;
}

static void s_mark(const match_entity_t *candidate, void *arg)
{
    zhashx_insert((zhashx_t *)arg, candidate->id, (void *)1);
}

static void test_incremental_equals_full(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    enum { N = 120 };
    char ids[N][32];
    char *lists[N];
    uint32_t seed = 11;
    match_config_t config = match_config_default();
    config.threshold = 0.2;
    config.top_k = 5;
    for (size_t i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "e-%03zu", i);
        s_upsert(index, s_random_entity(&seed, i));
    }
    for (size_t i = 0; i < N; i++)
        lists[i] = s_list_text(index, ids[i], &config);
    for (size_t change = 0; change < 40; change++) {
        size_t x = s_rand(&seed) % N;
        zhashx_t *affected = zhashx_new();
        zhashx_insert(affected, ids[x], (void *)1);
        for (size_t i = 0; i < N; i++) /* "listed X before" */
            if (strstr(lists[i], ids[x]))
                zhashx_insert(affected, ids[i], (void *)1);
        if (change % 4 == 3)
            match_index_remove(index, ids[x]);
        else
            s_upsert(index, s_random_entity(&seed, x));
        const match_entity_t *record = match_index_lookup(index, ids[x]);
        if (record)
            match_index_counterparts(index, record, s_mark, affected);
        for (size_t i = 0; i < N; i++)
            if (zhashx_lookup(affected, ids[i])) {
                free(lists[i]);
                lists[i] = s_list_text(index, ids[i], &config);
            }
        zhashx_destroy(&affected);
        for (size_t i = 0; i < N; i++) {
            char *full = s_list_text(index, ids[i], &config);
            assert_string_equal(lists[i], full);
            free(full);
        }
    }
    for (size_t i = 0; i < N; i++)
        free(lists[i]);
}

static void test_memory_estimate(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    size_t empty = match_index_memory(index);
    uint32_t seed = 3;
    for (size_t i = 0; i < 50; i++)
        s_upsert(index, s_random_entity(&seed, i));
    size_t full = match_index_memory(index);
    assert_true(full > empty + 50 * 300);
    assert_true(full < empty + 50 * 20000);
    for (size_t i = 0; i < 50; i++) {
        char id[32];
        snprintf(id, sizeof id, "e-%03zu", i);
        match_index_remove(index, id);
    }
    assert_int_equal(match_index_memory(index), empty);
}

/* ---------------------------------------------------------------------------
 * IDF snapshot */

static ls_entity_pb *s_tagged(const char *id, const char *tags)
{
    ls_entity_pb *sme = fixture_sme(id, "FI1D7", "extraction", "gold");
    for (size_t i = 0; i < sme->sme->n_capabilities; i++)
        free(sme->sme->capabilities[i]);
    free(sme->sme->capabilities);
    sme->sme->capabilities = fixture_words(tags, &sme->sme->n_capabilities);
    return sme;
}

static void test_idf_snapshot(void **state)
{
    fixture_t *fixture = *state;
    match_index_t *index = fixture->index;
    assert_int_equal(match_index_idf_generation(index), 0);
    assert_int_equal(match_index_idf_fingerprint(index), 0);
    assert_true(match_index_idf(index, "anything") == 1.0);
    s_upsert(index, s_tagged("s1", "common rare"));
    s_upsert(index, s_tagged("s2", "common"));
    s_upsert(index, s_tagged("s3", "common"));
    s_upsert(index, s_tagged("s4", "common mid"));
    s_upsert(index, s_tagged("s5", "mid"));
    s_upsert(index, fixture_investor("inv", "FI1D7", "extraction", "gold")); /* not counted */
    assert_int_equal(match_index_refresh_idf(index), 1);
    double n = 5.0;
    assert_true(fabs(match_index_idf(index, "rare") - 1.0) < EPSILON);
    assert_true(fabs(match_index_idf(index, "common") - log(1 + n / 4) / log(1 + n / 1)) < EPSILON);
    assert_true(fabs(match_index_idf(index, "mid") - log(1 + n / 2) / log(1 + n / 1)) < EPSILON);
    assert_true(match_index_idf(index, "unseen") == 1.0);
    const match_entity_t *s1 = match_index_lookup(index, "s1");
    assert_int_equal(s1->idf_generation, 1);
    assert_true(s1->capabilities.weights[0] == match_index_idf(index, "common"));
    uint64_t fingerprint = match_index_idf_fingerprint(index);
    assert_true(fingerprint != 0);

    /* New entities do not move the snapshot until the next refresh. */
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        s_upsert(index, s_tagged(id, "rare"));
    }
    assert_true(fabs(match_index_idf(index, "rare") - 1.0) < EPSILON);
    assert_true(match_index_lookup(index, "r0")->capabilities.weights[0] == 1.0);
    assert_int_equal(match_index_idf_generation(index), 1);
    assert_int_equal(match_index_refresh_idf(index), 2);
    assert_true(match_index_idf(index, "rare") < 1.0);
    assert_true(match_index_idf_fingerprint(index) != fingerprint);

    /* The same data in another index, inserted in another order: same fingerprint. */
    match_index_t *other = match_index_new(fixture->taxonomy);
    for (int i = 4; i >= 0; i--) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        s_upsert(other, s_tagged(id, "rare"));
    }
    s_upsert(other, s_tagged("s5", "mid"));
    s_upsert(other, s_tagged("s4", "common mid"));
    s_upsert(other, s_tagged("s3", "common"));
    s_upsert(other, s_tagged("s2", "common"));
    s_upsert(other, s_tagged("s1", "common rare"));
    match_index_refresh_idf(other);
    assert_true(match_index_idf_fingerprint(other) == match_index_idf_fingerprint(index));
    assert_true(match_index_idf(other, "mid") == match_index_idf(index, "mid"));
    match_index_destroy(&other);
}

/* ---------------------------------------------------------------------------
 * Configuration */

static void test_config_from_env(void **state)
{
    (void)state;
    match_config_t config = match_config_default();
    assert_true(config.weights.capabilities == 0.25 && config.weights.funding == 0.20);
    assert_true(config.threshold == 0.3 && config.top_k == 10);
    char err[256] = "";
    unsetenv("LODESTONE_WEIGHT_CAPABILITIES");
    assert_int_equal(match_config_from_env(&config, err, sizeof err), 0);
    setenv("LODESTONE_WEIGHT_CAPABILITIES", "0.5", 1);
    setenv("LODESTONE_WEIGHT_NACE", "", 1);
    assert_int_equal(match_config_from_env(&config, err, sizeof err), 0);
    assert_true(config.weights.capabilities == 0.5);
    assert_true(config.weights.nace == 0.10);
    static const char *const bad[] = {"abc", "-1", "10.5", "nan", "1x", "inf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("LODESTONE_WEIGHT_REGION", bad[i], 1);
        assert_int_equal(match_config_from_env(&config, err, sizeof err), -1);
        assert_non_null(strstr(err, "LODESTONE_WEIGHT_REGION"));
        assert_true(config.weights.region == 0.10); /* unchanged */
    }
    unsetenv("LODESTONE_WEIGHT_REGION");
    static const char *const facets[] = {"STAGES", "MATERIALS", "CAPABILITIES", "NACE",
                                         "THEMES", "REGION",    "TRL",          "FUNDING"};
    for (size_t i = 0; i < 8; i++) {
        char name[64];
        snprintf(name, sizeof name, "LODESTONE_WEIGHT_%s", facets[i]);
        setenv(name, "0", 1);
    }
    assert_int_equal(match_config_from_env(&config, err, sizeof err), -1);
    for (size_t i = 0; i < 8; i++) {
        char name[64];
        snprintf(name, sizeof name, "LODESTONE_WEIGHT_%s", facets[i]);
        unsetenv(name);
    }
}

/* ---------------------------------------------------------------------------
 * Scoring */

static void test_identical_facets_score_one(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_entity_pb *sme = fixture_sme("sme", "FI1D7", "extraction refining", "cobalt");
    sme->sme->nace = fixture_words("07.29", &sme->sme->n_nace);
    sme->sme->themes = fixture_words("crm-production", &sme->sme->n_themes);
    sme->sme->trl = 6;
    ls_entity_pb *opp = fixture_opportunity("opp", "FI1D7", "extraction refining", "cobalt");
    opp->opportunity->required_capabilities =
        fixture_words("flotation", &opp->opportunity->n_required_capabilities);
    opp->opportunity->nace = fixture_words("07.29", &opp->opportunity->n_nace);
    opp->opportunity->themes = fixture_words("crm-production", &opp->opportunity->n_themes);
    opp->opportunity->trl_min = 5;
    ls_match_pb *match = s_score_pair(index, sme, opp);
    assert_true(fabs(match->score - 1.0) < EPSILON);
    assert_string_equal(match->model_version, "v1");
    assert_int_equal(match->n_facets, 7); /* no funding facet for a supply pair */
    for (size_t i = 0; i < match->n_facets; i++)
        assert_string_not_equal(match->facets[i]->facet, "funding");
    match_destroy(&match);
    assert_null(match);
    match_destroy(&match); /* safe twice */
}

static void test_facet_similarities(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    char reason[512];
    /* Materials: a group expands to its members; critical weighs 1.5. */
    double similarity =
        s_similarity(index, "materials", fixture_sme("s", "FI1D7", "", "dysprosium gold"),
                     fixture_opportunity("o", "FI1D7", "", "hree"), reason, sizeof reason);
    assert_true(similarity > 0.0 && similarity <= 1.0);
    assert_non_null(strstr(reason, "dysprosium"));
    /* Stages: overlap coefficient. */
    similarity = s_similarity(index, "stages", fixture_sme("s", "FI1D7", "extraction", ""),
                              fixture_opportunity("o", "FI1D7", "extraction recycling", ""), reason,
                              sizeof reason);
    assert_true(fabs(similarity - 1.0) < EPSILON);
    assert_string_equal(reason, "both work in extraction");
    /* NACE tiers. */
    static const struct {
        const char *a, *b;
        double expected;
    } nace[] = {{"07.29", "07.29", 1.0},  {"07.29", "07.21", 0.75}, {"07.29", "07.10", 0.5},
                {"07.29", "08.11", 0.25}, {"07.29", "71.12", 0.0},  {"07.2", "07.29", 0.75}};
    for (size_t i = 0; i < sizeof nace / sizeof nace[0]; i++) {
        ls_entity_pb *sme = fixture_sme("s", "FI1D7", "", "");
        sme->sme->nace = fixture_words(nace[i].a, &sme->sme->n_nace);
        ls_entity_pb *opp = fixture_opportunity("o", "FI1D7", "", "");
        opp->opportunity->nace = fixture_words(nace[i].b, &opp->opportunity->n_nace);
        similarity = s_similarity(index, "nace", sme, opp, reason, sizeof reason);
        assert_true(fabs(similarity - nace[i].expected) < EPSILON);
    }
    /* Region tiers. */
    static const struct {
        const char *a, *b;
        double expected;
    } regions[] = {{"FI1D7", "FI1D7", 1.0},
                   {"FI1D7", "FI1D3", 0.7},
                   {"FI1D7", "ES12", 0.5},
                   {"FI1D7", "DE11", 0.1}};
    for (size_t i = 0; i < 4; i++) {
        similarity =
            s_similarity(index, "region", fixture_sme("s", regions[i].a, "", ""),
                         fixture_opportunity("o", regions[i].b, "", ""), reason, sizeof reason);
        assert_true(fabs(similarity - regions[i].expected) < EPSILON);
    }
    /* Capabilities: a required tag counts twice; with no snapshot every tag weighs 1. */
    ls_entity_pb *opp = fixture_opportunity("o", "FI1D7", "", "");
    opp->opportunity->required_capabilities =
        fixture_words("flotation", &opp->opportunity->n_required_capabilities);
    opp->opportunity->nice_capabilities =
        fixture_words("leaching geophysics", &opp->opportunity->n_nice_capabilities);
    ls_entity_pb *sme = fixture_sme("s", "FI1D7", "", "");
    similarity = s_similarity(index, "capabilities", sme, opp, reason, sizeof reason);
    assert_true(fabs(similarity - 2.0 / 4.0) < EPSILON);
    assert_non_null(strstr(reason, "lacks geophysics and leaching"));
    /* TRL: unknown is 0.5. */
    opp = fixture_opportunity("o", "FI1D7", "", "");
    opp->opportunity->trl_min = 5;
    similarity =
        s_similarity(index, "trl", fixture_sme("s", "FI1D7", "", ""), opp, reason, sizeof reason);
    assert_true(fabs(similarity - 0.5) < EPSILON);
}

static void test_funding_similarity(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    char reason[512];
    ls_entity_pb *inv = fixture_investor("i", "FI1D7", "", "cobalt");
    inv->investor->ticket = malloc(sizeof *inv->investor->ticket);
    lodestone__v1__money_range__init(inv->investor->ticket);
    inv->investor->ticket->min_eur = 200000;
    inv->investor->ticket->max_eur = 2000000;
    ls_entity_pb *sme = fixture_sme("s", "FI1D7", "", "cobalt");
    s_funding(sme); /* 100k-300k: log-share inside [200k, 2m] */
    double similarity = s_similarity(index, "funding", inv, sme, reason, sizeof reason);
    assert_true(fabs(similarity - (log(300000) - log(200000)) / (log(300000) - log(100000))) <
                EPSILON);
    assert_string_equal(reason, "ticket EUR 200k-2m partly covers the EUR 100k-300k sought");
}

static void test_contributions_sum_and_symmetry(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    uint32_t seed = 5;
    match_config_t config = match_config_default();
    for (size_t i = 0; i < 60; i++)
        s_upsert(index, s_random_entity(&seed, i));
    match_index_refresh_idf(index);
    size_t scored = 0;
    for (size_t i = 0; i < 60; i++)
        for (size_t j = 0; j < 60; j++) {
            char a_id[16], b_id[16];
            snprintf(a_id, sizeof a_id, "e-%03zu", i);
            snprintf(b_id, sizeof b_id, "e-%03zu", j);
            const match_entity_t *a = match_index_lookup(index, a_id);
            const match_entity_t *b = match_index_lookup(index, b_id);
            ls_match_pb *ab = match_score(&config, a, b, TODAY);
            ls_match_pb *ba = match_score(&config, b, a, TODAY);
            assert_true((ab == NULL) == (ba == NULL));
            if (!ab)
                continue;
            scored++;
            assert_true(ab->score == ba->score); /* bit for bit */
            assert_true(ab->score >= 0.0 && ab->score <= 1.0);
            double sum = 0.0;
            for (size_t f = 0; f < ab->n_facets; f++) {
                assert_true(ab->facets[f]->similarity >= 0.0 && ab->facets[f]->similarity <= 1.0);
                assert_true(*ab->facets[f]->reason);
                sum += ab->facets[f]->contribution;
            }
            assert_true(fabs(sum - ab->score) < EPSILON);
            match_destroy(&ab);
            match_destroy(&ba);
        }
    assert_true(scored > 100);
}

static void test_top_k_threshold_and_ties(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_entity_pb *opp = fixture_opportunity("opp", "FI1D7", "extraction", "cobalt");
    opp->opportunity->required_capabilities =
        fixture_words("flotation", &opp->opportunity->n_required_capabilities);
    s_upsert(index, opp);
    /* Three identical SMEs tie: ids ascending. A weaker one comes last. */
    s_upsert(index, fixture_sme("sme-c", "FI1D7", "extraction", "cobalt"));
    s_upsert(index, fixture_sme("sme-a", "FI1D7", "extraction", "cobalt"));
    s_upsert(index, fixture_sme("sme-b", "FI1D7", "extraction", "cobalt"));
    s_upsert(index, fixture_sme("sme-weak", "EL64", "recycling", "gold"));
    match_config_t config = match_config_default();
    config.threshold = 0.5;
    const match_entity_t *subject = match_index_lookup(index, "opp");
    zlistx_t *top = match_top(index, subject, &config, TODAY);
    const char *expected[] = {"sme-a", "sme-b", "sme-c"};
    assert_int_equal(zlistx_size(top), 3); /* sme-weak is below the threshold */
    size_t i = 0;
    for (ls_match_pb *m = zlistx_first(top); m; m = zlistx_next(top))
        assert_string_equal(m->candidate_id, expected[i++]);
    zlistx_destroy(&top);
    config.top_k = 2;
    config.threshold = 0.0;
    top = match_top(index, subject, &config, TODAY);
    assert_int_equal(zlistx_size(top), 2);
    assert_string_equal(((ls_match_pb *)zlistx_first(top))->candidate_id, "sme-a");
    zlistx_destroy(&top);
    config.top_k = 0;
    top = match_top(index, subject, &config, TODAY);
    assert_int_equal(zlistx_size(top), 0);
    zlistx_destroy(&top);
}

static void test_explain(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    ls_entity_pb *opp = fixture_opportunity("opp", "FI1D7", "extraction", "cobalt");
    opp->opportunity->nice_capabilities =
        fixture_words("flotation", &opp->opportunity->n_nice_capabilities);
    s_upsert(index, opp);
    s_upsert(index, fixture_sme("good", "FI1D7", "extraction", "cobalt"));
    ls_entity_pb *weak = fixture_sme("weak", "EL64", "recycling", "cobalt");
    s_set_string(&weak->sme->capabilities[0], "welding");
    s_upsert(index, weak);
    ls_entity_pb *unrelated = fixture_sme("unrelated", "FI1D7", "extraction", "gold");
    s_set_string(&unrelated->sme->capabilities[0], "welding");
    s_upsert(index, unrelated);
    match_config_t config = match_config_default();
    config.threshold = 0.5;
    const match_entity_t *o = match_index_lookup(index, "opp");
    ls_match_pb *match = NULL;
    char why[512];
    assert_int_equal(match_explain(&config, o, match_index_lookup(index, "good"), TODAY, &match,
                                   why, sizeof why),
                     MATCH_EXPLAIN_MATCH);
    assert_non_null(match);
    assert_non_null(strstr(why, "(threshold 0.50)"));
    match_destroy(&match);
    assert_int_equal(match_explain(&config, o, match_index_lookup(index, "weak"), TODAY, &match,
                                   why, sizeof why),
                     MATCH_EXPLAIN_BELOW);
    assert_non_null(strstr(why, "below the threshold of 0.50"));
    match_destroy(&match);
    assert_int_equal(match_explain(&config, o, match_index_lookup(index, "unrelated"), TODAY,
                                   &match, why, sizeof why),
                     MATCH_EXPLAIN_NOT_CANDIDATE);
    assert_non_null(strstr(why, "never proposed"));
    assert_true(match->score < 0.43);
    match_destroy(&match);
}

/* ---------------------------------------------------------------------------
 * Identity of the fast paths: the ranking drops candidates early (bounds, the
 * materials gate) and scores without sentences; none of it may change a result. */

typedef struct {
    const match_entity_t *subject;
    const match_config_t *config;
    const match_entity_t *items[512];
    double scores[512];
    size_t count;
} s_brute_t;

static void s_brute_visit(const match_entity_t *candidate, void *arg)
{
    s_brute_t *brute = arg;
    double score = match_score_value(brute->config, brute->subject, candidate, TODAY);
    if (score < 0.0 || score < brute->config->threshold)
        return;
    assert_true(brute->count < 512);
    brute->items[brute->count] = candidate;
    brute->scores[brute->count++] = score;
}

/* match_top's list, worked out the slow way: every candidate scored, sorted by score
 * descending then id ascending, the first top_k kept. */
static void s_brute_top(match_index_t *index, const match_entity_t *subject,
                        const match_config_t *config, char *out, size_t size)
{
    s_brute_t brute = {subject, config, {NULL}, {0}, 0};
    match_index_counterparts(index, subject, s_brute_visit, &brute);
    for (size_t i = 1; i < brute.count; i++) /* insertion sort */
        for (size_t j = i; j > 0; j--) {
            bool before = brute.scores[j] > brute.scores[j - 1] ||
                          (brute.scores[j] == brute.scores[j - 1] &&
                           strcmp(brute.items[j]->id, brute.items[j - 1]->id) < 0);
            if (!before)
                break;
            const match_entity_t *item = brute.items[j];
            double score = brute.scores[j];
            brute.items[j] = brute.items[j - 1];
            brute.scores[j] = brute.scores[j - 1];
            brute.items[j - 1] = item;
            brute.scores[j - 1] = score;
        }
    out[0] = '\0';
    for (size_t i = 0; i < brute.count && i < config->top_k; i++) {
        char item[64];
        snprintf(item, sizeof item, "%s:%a ", brute.items[i]->id, brute.scores[i]);
        strncat(out, item, size - strlen(out) - 1);
    }
}

/* Indexes n random entities "e-000".. from seed and takes an IDF snapshot. */
static void s_random_corpus(match_index_t *index, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        s_upsert(index, s_random_entity(&seed, i));
    match_index_refresh_idf(index);
}

static void test_top_equals_brute_force(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    enum { N = 200 };
    s_random_corpus(index, N, 17);
    match_config_t configs[5];
    for (size_t c = 0; c < 5; c++)
        configs[c] = match_config_default();
    configs[1].threshold = 0.0;
    configs[1].top_k = 3;
    configs[2].threshold = 0.5;
    configs[2].top_k = 1;
    configs[3].weights.materials = 0.0; /* no materials facet: no gate */
    configs[3].top_k = 4;
    configs[4].weights.materials = 5.0; /* the gate shuts early */
    configs[4].threshold = 0.1;
    configs[4].top_k = 2;
    size_t listed = 0;
    for (size_t c = 0; c < 5; c++)
        for (size_t i = 0; i < N; i++) {
            char id[16];
            snprintf(id, sizeof id, "e-%03zu", i);
            const match_entity_t *subject = match_index_lookup(index, id);
            if (!subject)
                continue;
            char *fast = s_list_text(index, id, &configs[c]);
            char slow[2048];
            s_brute_top(index, subject, &configs[c], slow, sizeof slow);
            assert_string_equal(fast, slow);
            listed += *fast != '\0';
            free(fast);
        }
    assert_true(listed > N);
}

/* match_score_value is match_score's score, bit for bit, for every pair of a corpus
 * (rejected ones included), both ways round. */
static void test_score_value_equals_score(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    enum { N = 120 };
    s_random_corpus(index, N, 23);
    match_config_t config = match_config_default();
    size_t scored = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            char a_id[16], b_id[16];
            snprintf(a_id, sizeof a_id, "e-%03zu", i);
            snprintf(b_id, sizeof b_id, "e-%03zu", j);
            const match_entity_t *a = match_index_lookup(index, a_id);
            const match_entity_t *b = match_index_lookup(index, b_id);
            double value = match_score_value(&config, a, b, TODAY);
            ls_match_pb *match = match_score(&config, a, b, TODAY);
            assert_true((match == NULL) == (value == -1.0));
            assert_true((match == NULL) == (match_rejection(a, b, TODAY, NULL, 0) != NULL));
            if (!match)
                continue;
            assert_true(match->score == value);
            scored++;
            match_destroy(&match);
        }
    assert_true(scored > 1000);
}

/* With the gate shut, a search yields exactly the candidates that share a material. */
typedef struct {
    const match_entity_t *subject;
    size_t count;
    size_t sharing;
} s_gate_check_t;

static void s_gate_visit(const match_entity_t *candidate, void *arg)
{
    s_gate_check_t *check = arg;
    check->count++;
    for (size_t i = 0; i < check->subject->material_count; i++)
        for (size_t j = 0; j < candidate->material_count; j++)
            if (strcmp(check->subject->materials[i].code, candidate->materials[j].code) == 0) {
                check->sharing++;
                return;
            }
}

static void test_candidates_gated(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    enum { N = 160 };
    uint32_t seed = 29;
    for (size_t i = 0; i < N; i++)
        s_upsert(index, s_random_entity(&seed, i));
    static const Lodestone__V1__EntityKind kinds[] = {SME, INVESTOR, OPPORTUNITY};
    size_t gated_out = 0;
    for (size_t i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "e-%03zu", i);
        const match_entity_t *subject = match_index_lookup(index, id);
        if (!subject)
            continue;
        for (size_t k = 0; k < 3; k++) {
            bool open = false, shut = true;
            s_gate_check_t all = {subject, 0, 0}, some = {subject, 0, 0};
            size_t n_all =
                match_index_candidates_gated(index, subject, kinds[k], s_gate_visit, &all, &open);
            assert_int_equal(n_all, match_index_candidates(index, subject, kinds[k], s_gate_visit,
                                                           &(s_gate_check_t){subject, 0, 0}));
            size_t n_some =
                match_index_candidates_gated(index, subject, kinds[k], s_gate_visit, &some, &shut);
            assert_int_equal(n_some, some.count);
            assert_int_equal(some.count, some.sharing);
            assert_int_equal(some.count, all.sharing);
            gated_out += all.count - some.count;
        }
    }
    assert_true(gated_out > 0);
}

/* A record built outside the index shares its intern table, and may outlive it. */
static void test_record_outlives_index(void **state)
{
    fixture_t *fixture = *state;
    match_index_t *index = match_index_new(fixture->taxonomy);
    s_upsert(index, fixture_sme("sme-1", "FI1D7", "extraction", "cobalt"));
    match_entity_t *sme = s_record(index, fixture_sme("sme-2", "FI1D7", "extraction", "cobalt"));
    ls_entity_pb *opp = fixture_opportunity("opp", "FI1D7", "extraction", "cobalt nickel");
    opp->opportunity->nice_capabilities =
        fixture_words("flotation", &opp->opportunity->n_nice_capabilities);
    match_entity_t *record = s_record(index, opp);
    size_t memory = match_index_memory(index);
    match_index_destroy(&index);
    match_config_t config = match_config_default();
    assert_true(match_index_is_candidate(sme, record));
    double value = match_score_value(&config, sme, record, TODAY);
    ls_match_pb *match = match_score(&config, sme, record, TODAY);
    assert_non_null(match);
    assert_true(match->score == value);
    assert_string_equal(s_facet(match, "materials")->reason,
                        "both work with cobalt, a strategic and critical raw material (Critical "
                        "Raw Materials Act list crma-2024)");
    match_destroy(&match);
    match_entity_destroy(&sme);
    match_entity_destroy(&record);
    assert_true(memory > 0);
}

/* A deadline compares as a string with today, also within the same month (where the
 * quick comparison of the first 8 bytes cannot decide). */
static void test_deadline_same_month(void **state)
{
    match_index_t *index = ((fixture_t *)*state)->index;
    static const struct {
        const char *deadline;
        bool passed;
    } cases[] = {{"2025-06-01", false}, {"2025-05-31", true},   {"2025-06-02", false},
                 {"2025-06-0", true},   {"2025-06-011", false}, {"2024", true},
                 {"2025-06-01T", false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ls_entity_pb *opp = fixture_opportunity("opp", "FI1D7", "extraction", "cobalt");
        s_set_string(&opp->opportunity->deadline, cases[i].deadline);
        match_entity_t *o = s_record(index, opp);
        match_entity_t *sme = s_record(index, fixture_sme("sme", "FI1D7", "extraction", "cobalt"));
        const char *why = match_rejection(o, sme, TODAY, NULL, 0);
        assert_true((why != NULL) == cases[i].passed);
        match_entity_destroy(&o);
        match_entity_destroy(&sme);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_upsert_replaces_postings, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_inactive_not_indexed, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_candidates_free_opportunity, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_candidates_investors, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_candidates_exact_and_symmetric, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_incremental_equals_full, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_memory_estimate, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_idf_snapshot, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test(test_config_from_env),
        cmocka_unit_test_setup_teardown(test_identical_facets_score_one, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_facet_similarities, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_funding_similarity, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_contributions_sum_and_symmetry, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_top_k_threshold_and_ties, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_explain, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_top_equals_brute_force, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_score_value_equals_score, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_candidates_gated, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_record_outlives_index, matching_fixture_setup,
                                        matching_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_deadline_same_month, matching_fixture_setup,
                                        matching_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
