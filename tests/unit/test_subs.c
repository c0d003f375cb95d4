/* test_subs.c — subscriptions: which ones an event reaches (by hand, and the index
 * against evaluating every filter), filters on each facet, and validation. */
#include "harness.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "ls_codec.h"
#include "ls_rpc.h"
#include "ls_taxonomy.h"
#include "subs.h"

static ls_taxonomy_t *s_taxonomy;

static int s_setup(void **state)
{
    (void)state;
    char err[256];
    s_taxonomy = ls_taxonomy_load(LS_TEST_DATA_DIR, err, sizeof err);
    return s_taxonomy ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    ls_taxonomy_destroy(&s_taxonomy);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Building subscriptions and events */

typedef struct {
    const char *regions[4];
    const char *materials[4];
    const char *stages[4];
    const char *themes[4];
    int kinds[3];
    int opportunity_kinds[3];
    double min_score;
    bool postings;
    bool no_matches;
} s_filter_spec_t;

static size_t s_count(const char *const *values, size_t max)
{
    size_t n = 0;
    while (n < max && values[n])
        n++;
    return n;
}

static size_t s_count_int(const int *values, size_t max)
{
    size_t n = 0;
    while (n < max && values[n])
        n++;
    return n;
}

/* A packed-and-unpacked subscription, as subs_put takes them. */
static ls_subscription_pb *s_sub(const char *id, const char *owner, const char *recipient,
                                 const char *entity, const s_filter_spec_t *spec)
{
    ls_subscription_pb sub = LODESTONE__V1__SUBSCRIPTION__INIT;
    ls_filter_pb filter = LODESTONE__V1__SUBSCRIPTION_FILTER__INIT;
    ls_channels_pb channels = LODESTONE__V1__CHANNELS__INIT;
    channels.inbox = 1;
    sub.id = (char *)id;
    sub.owner = (char *)owner;
    sub.recipient = (char *)recipient;
    sub.entity_id = (char *)(entity ? entity : "");
    sub.channels = &channels;
    Lodestone__V1__EntityKind kinds[3];
    Lodestone__V1__Opportunity__Kind okinds[3];
    if (spec) {
        filter.matches = !spec->no_matches;
        filter.postings = spec->postings;
        filter.regions = (char **)spec->regions;
        filter.n_regions = s_count(spec->regions, 4);
        filter.materials = (char **)spec->materials;
        filter.n_materials = s_count(spec->materials, 4);
        filter.stages = (char **)spec->stages;
        filter.n_stages = s_count(spec->stages, 4);
        filter.themes = (char **)spec->themes;
        filter.n_themes = s_count(spec->themes, 4);
        filter.n_kinds = s_count_int(spec->kinds, 3);
        for (size_t i = 0; i < filter.n_kinds; i++)
            kinds[i] = (Lodestone__V1__EntityKind)spec->kinds[i];
        filter.kinds = kinds;
        filter.n_opportunity_kinds = s_count_int(spec->opportunity_kinds, 3);
        for (size_t i = 0; i < filter.n_opportunity_kinds; i++)
            okinds[i] = (Lodestone__V1__Opportunity__Kind)spec->opportunity_kinds[i];
        filter.opportunity_kinds = okinds;
        filter.min_score = spec->min_score;
        sub.filter = &filter;
    }
    size_t len;
    uint8_t *packed = ls_codec_pack_buffer(&sub.base, &len);
    ls_subscription_pb *copy = (ls_subscription_pb *)ls_codec_unpack(
        &lodestone__v1__subscription__descriptor, packed, len, SIZE_MAX, NULL);
    free(packed);
    assert_non_null(copy);
    return copy;
}

typedef struct {
    const char *region;
    const char *materials[4];
    const char *stages[4];
    const char *themes[4];
    int kind;
    int opportunity_kind;
} s_party_spec_t;

typedef struct {
    ls_match_event_pb event;
    ls_match_pb match;
    ls_match_party_pb parties[2];
} s_event_t;

static void s_party(ls_match_party_pb *p, const s_party_spec_t *spec)
{
    lodestone__v1__match_party__init(p);
    p->kind = (Lodestone__V1__EntityKind)spec->kind;
    p->region = (char *)(spec->region ? spec->region : "");
    p->materials = (char **)spec->materials;
    p->n_materials = s_count(spec->materials, 4);
    p->stages = (char **)spec->stages;
    p->n_stages = s_count(spec->stages, 4);
    p->themes = (char **)spec->themes;
    p->n_themes = s_count(spec->themes, 4);
    p->opportunity_kind = (Lodestone__V1__Opportunity__Kind)spec->opportunity_kind;
}

static void s_event(s_event_t *e, const char *subject, double score, const s_party_spec_t *a,
                    const s_party_spec_t *b)
{
    lodestone__v1__match_event__init(&e->event);
    lodestone__v1__match__init(&e->match);
    e->match.subject_id = (char *)subject;
    e->match.candidate_id = "opp-1";
    e->match.score = score;
    s_party(&e->parties[0], a);
    s_party(&e->parties[1], b);
    e->event.kind = LODESTONE__V1__MATCH_EVENT__KIND__NEW;
    e->event.match = &e->match;
    e->event.subject = &e->parties[0];
    e->event.candidate = &e->parties[1];
}

/* The ids a visit saw, comma-separated. */
typedef struct {
    char text[8192];
} s_seen_t;

static void s_see(const ls_subscription_pb *sub, void *arg)
{
    s_seen_t *seen = arg;
    size_t len = strlen(seen->text);
    snprintf(seen->text + len, sizeof seen->text - len, "%s%s", len ? "," : "", sub->id);
}

static const char *s_reached(subs_t *subs, const ls_match_event_pb *event, s_seen_t *seen)
{
    seen->text[0] = '\0';
    subs_for_event(subs, event, s_see, seen);
    return seen->text;
}

enum {
    S_SME = LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME,
    S_INV = LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_INVESTOR,
    S_OPP = LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_OPPORTUNITY,
    S_TRAINING = LODESTONE__V1__OPPORTUNITY__KIND__TRAINING,
    S_SUPPLY = LODESTONE__V1__OPPORTUNITY__KIND__SUPPLY_NEED,
};

/* ---------------------------------------------------------------------------
 * Tests */

static void test_each_facet_selects(void **state)
{
    (void)state;
    subs_t *subs = subs_new(s_taxonomy);
    s_filter_spec_t finland = {.regions = {"FI1D"}};
    s_filter_spec_t sweden = {.regions = {"SE331"}};
    s_filter_spec_t rare = {.materials = {"hree"}}; /* a group: its members reach it */
    s_filter_spec_t refining = {.stages = {"refining"}, .min_score = 0.6};
    s_filter_spec_t training = {.opportunity_kinds = {S_TRAINING}};
    s_filter_spec_t investors = {.kinds = {S_INV}};
    s_filter_spec_t education = {.themes = {"education"}};
    s_filter_spec_t postings_only = {.postings = true, .no_matches = true};
    subs_put(subs, s_sub("sub-1", "fi", "agency-fi", NULL, &finland));
    subs_put(subs, s_sub("sub-2", "se", "agency-se", NULL, &sweden));
    subs_put(subs, s_sub("sub-3", "fi", "ree-watch", NULL, &rare));
    subs_put(subs, s_sub("sub-4", "fi", "refiners", NULL, &refining));
    subs_put(subs, s_sub("sub-10", "fi", "trainers", NULL, &training));
    subs_put(subs, s_sub("sub-11", "fi", "funds", NULL, &investors));
    subs_put(subs, s_sub("sub-12", "fi", "teachers", NULL, &education));
    subs_put(subs, s_sub("sub-13", "fi", "poster", NULL, &postings_only));
    subs_put(subs, s_sub("sub-5", "fi", "sme-1", "sme-1", NULL));
    assert_int_equal(subs_count(subs), 9);
    assert_int_equal(subs_count_of_owner(subs, "fi"), 8);

    s_seen_t seen;
    s_event_t e;
    s_party_spec_t sme = {.region = "FI1D7", .materials = {"dysprosium"}, .kind = S_SME};
    s_party_spec_t opp = {
        .region = "ES41", .stages = {"refining"}, .kind = S_OPP, .opportunity_kind = S_SUPPLY};
    s_event(&e, "sme-1", 0.5, &sme, &opp);
    /* sub-1 by region prefix, sub-3 by the group, sub-5 own; sub-4 below its score;
     * numeric id order. */
    assert_string_equal(s_reached(subs, &e.event, &seen), "sub-1,sub-3,sub-5");
    e.match.score = 0.7;
    assert_string_equal(s_reached(subs, &e.event, &seen), "sub-1,sub-3,sub-4,sub-5");
    /* GONE reaches only the entity's own subscription. */
    e.event.kind = LODESTONE__V1__MATCH_EVENT__KIND__GONE;
    assert_string_equal(s_reached(subs, &e.event, &seen), "sub-5");

    s_party_spec_t sme_se = {.region = "SE331", .themes = {"education"}, .kind = S_SME};
    s_party_spec_t course = {.region = "SE331", .kind = S_OPP, .opportunity_kind = S_TRAINING};
    s_event(&e, "sme-2", 0.4, &sme_se, &course);
    assert_string_equal(s_reached(subs, &e.event, &seen), "sub-2,sub-10,sub-12");
    s_party_spec_t fund = {.region = "ES12", .kind = S_INV};
    s_event(&e, "sme-2", 0.4, &sme_se, &fund);
    assert_string_equal(s_reached(subs, &e.event, &seen), "sub-2,sub-11,sub-12");

    /* Postings: only filters that take them. */
    ls_opportunity_pb posting = LODESTONE__V1__OPPORTUNITY__INIT;
    posting.region = "FI1D3";
    posting.kind = LODESTONE__V1__OPPORTUNITY__KIND__TRAINING;
    seen.text[0] = '\0';
    subs_for_posting(subs, &posting, s_see, &seen);
    assert_string_equal(seen.text, "sub-13");

    /* Removed: no longer reached. An entity subscription for itself replaces the
     * default delivery. */
    assert_true(subs_replaces_default(subs, "sme-1"));
    assert_false(subs_replaces_default(subs, "sme-2"));
    assert_true(subs_remove(subs, "sub-3"));
    assert_false(subs_remove(subs, "sub-3"));
    s_event(&e, "sme-1", 0.5, &sme, &opp);
    assert_string_equal(s_reached(subs, &e.event, &seen), "sub-1,sub-5");
    subs_destroy(&subs);
}

static void test_postings_filter_by_each_facet(void **state)
{
    (void)state;
    ls_opportunity_pb o = LODESTONE__V1__OPPORTUNITY__INIT;
    char *materials[] = {"lree"};
    char *stages[] = {"recycling"};
    o.region = "EL64";
    o.kind = LODESTONE__V1__OPPORTUNITY__KIND__JOINT_DEMONSTRATION;
    o.materials = materials;
    o.n_materials = 1;
    o.stages = stages;
    o.n_stages = 1;
    subs_t *subs = subs_new(s_taxonomy);
    s_filter_spec_t greece = {.regions = {"EL"}, .postings = true};
    s_filter_spec_t neodymium = {.materials = {"neodymium"}, .postings = true};
    s_filter_spec_t mining = {.stages = {"extraction"}, .postings = true};
    s_filter_spec_t demos = {.kinds = {S_OPP}, .opportunity_kinds = {3}, .postings = true};
    s_filter_spec_t smes = {.kinds = {S_SME}, .postings = true};
    subs_put(subs, s_sub("sub-1", "o", "r1", NULL, &greece));
    subs_put(subs, s_sub("sub-2", "o", "r2", NULL, &neodymium));
    subs_put(subs, s_sub("sub-3", "o", "r3", NULL, &mining));
    subs_put(subs, s_sub("sub-4", "o", "r4", NULL, &demos));
    subs_put(subs, s_sub("sub-5", "o", "r5", NULL, &smes));
    s_seen_t seen = {{0}};
    subs_for_posting(subs, &o, s_see, &seen);
    /* EL takes EL64; the posting's group lree holds neodymium; not extraction; a
     * joint demonstration; not an SME. */
    assert_string_equal(seen.text, "sub-1,sub-2,sub-4");
    subs_destroy(&subs);
}

/* The index finds exactly the subscriptions that evaluating every filter finds. */
static void test_index_equals_evaluating_every_filter(void **state)
{
    (void)state;
    static const char *regions[] = {"FI1D7", "FI1D3", "FI1D8", "SE331", "ES41", "ES12",
                                    "EL64",  "FI1D",  "FI",    "ES",    "SE33", "EL"};
    static const char *materials[] = {"cobalt", "nickel", "lithium", "graphite",
                                      "copper", "hree",   "lree",    "dysprosium"};
    static const char *stages[] = {"exploration", "extraction",    "beneficiation", "refining",
                                   "recycling",   "manufacturing", "mets"};
    static const char *themes[] = {"crm-production", "sme-gvc", "sustainable-mining",
                                   "social-acceptance", "education"};
    srand(7);
#define PICK(a) (a)[(size_t)rand() % (sizeof(a) / sizeof((a)[0]))]
    subs_t *subs = subs_new(s_taxonomy);
    enum { N_SUBS = 300, N_EVENTS = 600 };
    char ids[N_SUBS][16];
    for (int i = 0; i < N_SUBS; i++) {
        s_filter_spec_t f = {0};
        int facets = rand() % 4; /* 0: the "any" bucket */
        for (int k = 0; k < facets; k++) {
            switch (rand() % 6) {
            case 0:
                f.regions[s_count(f.regions, 3)] = PICK(regions);
                break;
            case 1:
                f.materials[s_count(f.materials, 3)] = PICK(materials);
                break;
            case 2:
                f.stages[s_count(f.stages, 3)] = PICK(stages);
                break;
            case 3:
                f.themes[s_count(f.themes, 3)] = PICK(themes);
                break;
            case 4:
                f.kinds[0] = 1 + rand() % 3;
                break;
            default:
                f.min_score = (rand() % 10) / 10.0;
            }
        }
        snprintf(ids[i], sizeof ids[i], "sub-%d", i + 1);
        subs_put(subs, s_sub(ids[i], "o", "r", i % 50 == 0 ? "sme-9" : NULL, i % 50 ? &f : NULL));
    }
    int reached_total = 0;
    for (int n = 0; n < N_EVENTS; n++) {
        s_party_spec_t a = {.region = PICK(regions), .kind = S_SME};
        s_party_spec_t b = {
            .region = PICK(regions), .kind = 2 + rand() % 2, .opportunity_kind = 1 + rand() % 5};
        a.materials[0] = PICK(materials);
        a.stages[0] = PICK(stages);
        b.materials[0] = PICK(materials);
        b.materials[1] = PICK(materials);
        b.stages[0] = PICK(stages);
        a.themes[0] = PICK(themes);
        if (strlen(a.region) < 4)
            a.region = "FI1D7"; /* parties carry real regions */
        if (strlen(b.region) < 4)
            b.region = "ES41";
        s_event_t e;
        s_event(&e, n % 3 ? "sme-1" : "sme-9", (rand() % 100) / 100.0, &a, &b);
        s_seen_t indexed;
        s_reached(subs, &e.event, &indexed);
        /* Every filter, evaluated, in id order. */
        char expected[sizeof indexed.text] = "";
        for (int i = 0; i < N_SUBS; i++) {
            const ls_subscription_pb *sub = subs_get(subs, ids[i]);
            bool reached = *sub->entity_id ? strcmp(sub->entity_id, e.match.subject_id) == 0
                                           : subs_passes_event(subs, ids[i], &e.event);
            if (reached) {
                size_t len = strlen(expected);
                snprintf(expected + len, sizeof expected - len, "%s%s", len ? "," : "", ids[i]);
                reached_total++;
            }
        }
        assert_string_equal(indexed.text, expected);
    }
    assert_true(reached_total > N_EVENTS); /* the comparison saw real work */
    subs_destroy(&subs);
}

static bool s_has_error(ls_errors_t *errors, const char *field)
{
    ls_status_pb status = LODESTONE__V1__STATUS__INIT;
    ls_errors_fill(errors, &status);
    for (size_t i = 0; i < status.n_errors; i++)
        if (strcmp(status.errors[i]->field, field) == 0)
            return true;
    return false;
}

static void s_expect_error(ls_subscription_pb *sub, const char *field)
{
    ls_errors_t *errors = ls_errors_new();
    subs_validate(sub, s_taxonomy, errors);
    if (!s_has_error(errors, field))
        fail_msg("expected an error on %s", field);
    ls_errors_destroy(&errors);
}

static void test_validation_names_the_field(void **state)
{
    (void)state;
    ls_filter_pb filter = LODESTONE__V1__SUBSCRIPTION_FILTER__INIT;
    ls_channels_pb channels = LODESTONE__V1__CHANNELS__INIT;
    ls_subscription_pb sub = LODESTONE__V1__SUBSCRIPTION__INIT;
    char *regions[] = {"FI1D", "XX99"};
    char *materials[] = {"cobalt"};
    filter.matches = 1;
    filter.materials = materials;
    filter.n_materials = 1;
    channels.inbox = 1;
    sub.recipient = "agency-fi1d";
    sub.filter = &filter;
    sub.channels = &channels;
    ls_errors_t *errors = ls_errors_new();
    subs_validate(&sub, s_taxonomy, errors);
    assert_int_equal(ls_errors_count(errors), 0); /* the valid one */
    ls_errors_destroy(&errors);

    sub.recipient = "has space";
    s_expect_error(&sub, "recipient");
    sub.recipient = "to/slash";
    s_expect_error(&sub, "recipient");
    sub.recipient = "ok";
    filter.regions = regions;
    filter.n_regions = 2;
    s_expect_error(&sub, "filter.regions"); /* XX99; FI1D alone is fine */
    filter.n_regions = 1;
    filter.min_score = 1.5;
    s_expect_error(&sub, "filter.minScore");
    filter.min_score = 0;
    filter.matches = 0;
    s_expect_error(&sub, "filter");
    filter.matches = 1;
    /* Every facet holds at most SUBS_FILTER_VALUES_MAX values, the kinds too: a
     * filter is evaluated for every event it is found for. */
    Lodestone__V1__EntityKind kinds[SUBS_FILTER_VALUES_MAX + 1];
    Lodestone__V1__Opportunity__Kind okinds[SUBS_FILTER_VALUES_MAX + 1];
    for (size_t i = 0; i <= SUBS_FILTER_VALUES_MAX; i++) {
        kinds[i] = LODESTONE__V1__ENTITY_KIND__ENTITY_KIND_SME;
        okinds[i] = LODESTONE__V1__OPPORTUNITY__KIND__SUPPLY_NEED;
    }
    filter.kinds = kinds;
    filter.n_kinds = SUBS_FILTER_VALUES_MAX + 1;
    s_expect_error(&sub, "filter.kinds");
    filter.n_kinds = 0;
    filter.opportunity_kinds = okinds;
    filter.n_opportunity_kinds = SUBS_FILTER_VALUES_MAX + 1;
    s_expect_error(&sub, "filter.opportunityKinds");
    filter.n_opportunity_kinds = SUBS_FILTER_VALUES_MAX;
    errors = ls_errors_new();
    subs_validate(&sub, s_taxonomy, errors);
    assert_int_equal(ls_errors_count(errors), 0); /* as many as allowed */
    ls_errors_destroy(&errors);
    filter.n_opportunity_kinds = 0;
    sub.entity_id = "sme-1";
    s_expect_error(&sub, "filter"); /* an entity subscription takes no filter */
    sub.entity_id = "";
    sub.filter = NULL;
    s_expect_error(&sub, "filter");
    sub.filter = &filter;
    channels.inbox = 0;
    s_expect_error(&sub, "channels");
    channels.webhook_url = "ftp://example.org/hook";
    channels.webhook_secret = "0123456789abcdef";
    s_expect_error(&sub, "channels.webhookUrl");
    channels.webhook_url = "https://example.org/hook";
    channels.webhook_secret = "short";
    s_expect_error(&sub, "channels.webhookSecret");
    channels.webhook_secret = "0123456789abcdef";
    errors = ls_errors_new();
    subs_validate(&sub, s_taxonomy, errors);
    assert_int_equal(ls_errors_count(errors), 0);
    ls_errors_destroy(&errors);
    sub.channels = NULL;
    s_expect_error(&sub, "channels");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_facet_selects),
        cmocka_unit_test(test_postings_filter_by_each_facet),
        cmocka_unit_test(test_index_equals_evaluating_every_filter),
        cmocka_unit_test(test_validation_names_the_field),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
