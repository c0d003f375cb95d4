/* test_validate.c — unit test of the registry's border check (validate.c): what it
 * normalises (tags, certifications, languages, country, size band), dates and
 * deadlines, unknown enum numbers, reasons that stay valid UTF-8, the shipped demo
 * data passing, and a table of entities with one problem each, checked for the exact
 * field path and a part of the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ls_json.h"
#include "ls_rpc.h"
#include "ls_taxonomy.h"
#include "ls_util.h"
#include "validate.h"

#ifndef LS_TEST_DATA_DIR
#error "LS_TEST_DATA_DIR must name the data directory"
#endif

#define S_TODAY "2026-06-01"

/* Valid entities of each kind; a row appends fields, and a repeated key replaces the
 * base's value (jansson keeps the last). */
#define SME(more)                                                                                  \
    "{\"sme\": {\"ref\": \"r-sme\", \"name\": \"Kemi Flotation Oy\", \"region\": \"FI1D7\", "      \
    "\"stages\": [\"beneficiation\"], \"materials\": [\"cobalt\"]" more "}}"
#define INV(more)                                                                                  \
    "{\"investor\": {\"ref\": \"r-inv\", \"name\": \"Arctic Growth Fund\", "                       \
    "\"type\": \"VENTURE_CAPITAL\", \"region\": \"FI1D7\"" more "}}"
#define OPP(more)                                                                                  \
    "{\"opportunity\": {\"ref\": \"r-opp\", \"kind\": \"SUPPLY_NEED\", "                           \
    "\"title\": \"Cobalt flotation pilot\", \"region\": \"FI1D7\", "                               \
    "\"stages\": [\"beneficiation\"]" more "}}"

static ls_taxonomy_t *s_taxonomy;

static int s_setup(void **state)
{
    (void)state;
    s_taxonomy = ls_test_taxonomy();
    return s_taxonomy ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    ls_taxonomy_destroy(&s_taxonomy);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Helpers */

static ls_entity_pb *s_entity(const char *text)
{
    return ls_test_entity(text, NULL, 0);
}

static void s_free(ls_entity_pb *entity)
{
    lodestone__v1__entity__free_unpacked(entity, NULL);
}

/* Validates entity against S_TODAY, or today when given; status points into the
 * returned errors, which the caller destroys. */
static ls_errors_t *s_check_on(ls_entity_pb *entity, const char *today, ls_status_pb *status)
{
    ls_errors_t *errors = ls_errors_new();
    assert_non_null(errors);
    validate_entity(entity, s_taxonomy, today, errors);
    lodestone__v1__status__init(status);
    ls_errors_fill(errors, status);
    return errors;
}

static ls_errors_t *s_check(ls_entity_pb *entity, ls_status_pb *status)
{
    return s_check_on(entity, S_TODAY, status);
}

static void s_print_errors(const ls_status_pb *status)
{
    for (size_t i = 0; i < status->n_errors; i++)
        fprintf(stderr, "    %s: %s\n", status->errors[i]->field, status->errors[i]->reason);
}

/* Number of errors on text validated against today, printed when print. */
static size_t s_error_count_on(const char *text, const char *today, bool print)
{
    ls_entity_pb *entity = s_entity(text);
    ls_status_pb status;
    ls_errors_t *errors = s_check_on(entity, today, &status);
    size_t count = status.n_errors;
    if (count && print)
        s_print_errors(&status);
    ls_errors_destroy(&errors);
    s_free(entity);
    return count;
}

static void s_assert_valid(const char *text)
{
    assert_int_equal(s_error_count_on(text, S_TODAY, true), 0);
}

static void s_assert_list(char **items, size_t n, const char *const *expected, size_t count)
{
    assert_int_equal(n, count);
    for (size_t i = 0; i < count; i++)
        assert_string_equal(items[i], expected[i]);
}

/* ---------------------------------------------------------------------------
 * Normalisation */

static void test_tags_are_normalised(void **state)
{
    (void)state;
    ls_entity_pb *e = s_entity(SME(", \"capabilities\": [\"  Froth   FLOTATION \", \"\", "
                                   "\"froth flotation\", \"Leaching\", \"   \", \"leaching\"]"));
    ls_status_pb status;
    ls_errors_t *errors = s_check(e, &status);
    assert_int_equal(status.n_errors, 0);
    const char *const expected[] = {"froth flotation", "leaching"};
    s_assert_list(e->sme->capabilities, e->sme->n_capabilities, expected, 2);
    ls_errors_destroy(&errors);
    s_free(e);

    e = s_entity(OPP(", \"requiredCapabilities\": [\"XRF \", \"xrf\"], "
                     "\"niceCapabilities\": [\"\\tLIMS\\n\"]"));
    errors = s_check(e, &status);
    assert_int_equal(status.n_errors, 0);
    const char *const required[] = {"xrf"};
    const char *const nice[] = {"lims"};
    s_assert_list(e->opportunity->required_capabilities, e->opportunity->n_required_capabilities,
                  required, 1);
    s_assert_list(e->opportunity->nice_capabilities, e->opportunity->n_nice_capabilities, nice, 1);
    ls_errors_destroy(&errors);
    s_free(e);
}

static void test_certifications_are_normalised(void **state)
{
    (void)state;
    ls_entity_pb *e =
        s_entity(SME(", \"certifications\": [\" ISO  14001\", \"iso 14001\", \"ISO 9001\", \"\"]"));
    ls_status_pb status;
    ls_errors_t *errors = s_check(e, &status);
    assert_int_equal(status.n_errors, 0);
    const char *const expected[] = {"iso 14001", "iso 9001"};
    s_assert_list(e->sme->certifications, e->sme->n_certifications, expected, 2);
    ls_errors_destroy(&errors);
    s_free(e);
}

static void test_languages_are_deduplicated(void **state)
{
    (void)state;
    ls_entity_pb *e = s_entity(SME(", \"languages\": [\"fi\", \"sv\", \"fi\", \"en\", \"sv\"]"));
    ls_status_pb status;
    ls_errors_t *errors = s_check(e, &status);
    assert_int_equal(status.n_errors, 0);
    const char *const expected[] = {"fi", "sv", "en"};
    s_assert_list(e->sme->languages, e->sme->n_languages, expected, 3);
    ls_errors_destroy(&errors);
    s_free(e);
}

static void test_country_is_derived_from_region(void **state)
{
    (void)state;
    const char *const cases[][2] = {
        {SME(", \"region\": \"EL64\""), "EL"},
        {SME(", \"region\": \"SE331\""), "SE"},
        {SME(", \"region\": \"ES12\", \"country\": \"ES\""), "ES"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ls_entity_pb *e = s_entity(cases[i][0]);
        ls_status_pb status;
        ls_errors_t *errors = s_check(e, &status);
        assert_int_equal(status.n_errors, 0);
        assert_string_equal(e->sme->country, cases[i][1]);
        ls_errors_destroy(&errors);
        s_free(e);
    }
}

static void test_size_band_is_derived_from_employees(void **state)
{
    (void)state;
    const struct {
        const char *more;
        Lodestone__V1__SizeBand band;
    } cases[] = {
        {"", LODESTONE__V1__SIZE_BAND__SIZE_BAND_UNSPECIFIED},
        {", \"employees\": 1", LODESTONE__V1__SIZE_BAND__SIZE_BAND_MICRO},
        {", \"employees\": 9", LODESTONE__V1__SIZE_BAND__SIZE_BAND_MICRO},
        {", \"employees\": 10", LODESTONE__V1__SIZE_BAND__SIZE_BAND_SMALL},
        {", \"employees\": 49", LODESTONE__V1__SIZE_BAND__SIZE_BAND_SMALL},
        {", \"employees\": 50", LODESTONE__V1__SIZE_BAND__SIZE_BAND_MEDIUM},
        {", \"employees\": 249", LODESTONE__V1__SIZE_BAND__SIZE_BAND_MEDIUM},
        {", \"employees\": 12, \"sizeBand\": \"SIZE_BAND_SMALL\"",
         LODESTONE__V1__SIZE_BAND__SIZE_BAND_SMALL},
        {", \"sizeBand\": \"SIZE_BAND_MEDIUM\"", LODESTONE__V1__SIZE_BAND__SIZE_BAND_MEDIUM},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, SME("%s"), cases[i].more);
        ls_entity_pb *e = s_entity(text);
        ls_status_pb status;
        ls_errors_t *errors = s_check(e, &status);
        assert_int_equal(status.n_errors, 0);
        assert_int_equal(e->sme->size_band, cases[i].band);
        ls_errors_destroy(&errors);
        s_free(e);
    }
}

static void test_material_groups_are_kept_as_given(void **state)
{
    (void)state;
    ls_entity_pb *e = s_entity(SME(", \"materials\": [\"hree\", \"lree\", \"cobalt\"]"));
    ls_status_pb status;
    ls_errors_t *errors = s_check(e, &status);
    assert_int_equal(status.n_errors, 0);
    const char *const expected[] = {"hree", "lree", "cobalt"};
    s_assert_list(e->sme->materials, e->sme->n_materials, expected, 3);
    ls_errors_destroy(&errors);
    s_free(e);
}

/* ---------------------------------------------------------------------------
 * Dates */

static void test_deadlines(void **state)
{
    (void)state;
    s_assert_valid(OPP(", \"deadline\": \"2028-02-29\""));  /* a leap year */
    s_assert_valid(OPP(", \"deadline\": \"2400-02-29\""));  /* divisible by 400 */
    s_assert_valid(OPP(", \"deadline\": \"" S_TODAY "\"")); /* today is not past */
    s_assert_valid(OPP(", \"deadline\": \"2026-12-31\""));
    s_assert_valid(OPP(", \"deadline\": \"2020-01-01\", \"status\": \"CLOSED\""));
    assert_int_equal(s_error_count_on(OPP(", \"deadline\": \"2020-01-01\""), NULL, true), 0);
    assert_int_equal(s_error_count_on(OPP(", \"deadline\": \"2026-05-31\""), S_TODAY, false), 1);
}

/* ---------------------------------------------------------------------------
 * Problems */

typedef struct {
    const char *json;
    const char *grow; /* a body field made big (s_grow), or NULL */
    size_t size;
    const char *field;  /* the one error's path */
    const char *reason; /* a part of its reason */
} s_row_t;

static const s_row_t s_rows[] = {
    /* SME */
    {SME(", \"name\": \"\""), NULL, 0, "sme.name", "is required"},
    {SME(", \"name\": \"   \""), NULL, 0, "sme.name", "is required"},
    {SME(""), "name", 201, "sme.name", "201 bytes long; at most 200"},
    {SME(", \"name\": \"Kemi\\u0007Oy\""), NULL, 0, "sme.name", "control character"},
    {SME(", \"name\": \"Kemi\\nOy\""), NULL, 0, "sme.name", "control character"},
    {SME(", \"name\": \"Kemi\\u0085Oy\""), NULL, 0, "sme.name", "control character"},
    {SME(", \"region\": \"XX99\""), NULL, 0, "sme.region", "'XX99' is not a known region code"},
    {SME(", \"region\": \"\""), NULL, 0, "sme.region", "is required"},
    {SME(", \"country\": \"SE\""), NULL, 0, "sme.country", "does not agree with region FI1D7"},
    {SME(", \"stages\": [\"smelting\"]"), NULL, 0, "sme.stages[0]", "value-chain stage code"},
    {SME(", \"materials\": [\"cobalt\", \"unobtainium\"]"), NULL, 0, "sme.materials[1]",
     "'unobtainium' is not a known material code"},
    {SME(", \"materials\": [\"cobalt\", \"cobalt\"]"), NULL, 0, "sme.materials[1]", "listed twice"},
    {SME(", \"themes\": [\"space-mining\"]"), NULL, 0, "sme.themes[0]", "theme code"},
    {SME(", \"nace\": [\"99.99\"]"), NULL, 0, "sme.nace[0]", "NACE Rev. 2 code"},
    {SME(", \"nace\": [\"07.29\", \"07.29\"]"), NULL, 0, "sme.nace[1]", "listed twice"},
    {SME(""), "materials", 33, "sme.materials", "33 items; at most 32"},
    {SME(", \"trl\": 10"), NULL, 0, "sme.trl", "10 is not a TRL"},
    {SME(""), "capabilities[0]", 65, "sme.capabilities[0]", "65 bytes long; at most 64"},
    {SME(", \"capabilities\": []"), "capabilities", 33, "sme.capabilities", "at most 32"},
    {SME(", \"stages\": [], \"materials\": [], \"capabilities\": [\" \"]"), NULL, 0, "sme.stages",
     "at least one stage, material or capability"},
    {SME(", \"fundingSought\": {\"minEur\": \"500000\", \"maxEur\": \"100000\"}"), NULL, 0,
     "sme.fundingSought", "minEur 500000 is above maxEur 100000"},
    {SME(", \"fundingSought\": {\"maxEur\": \"1000000000001\"}"), NULL, 0,
     "sme.fundingSought.maxEur", "more than 10^12 EUR"},
    {SME(", \"employees\": 250"), NULL, 0, "sme.employees",
     "250 or more persons is not an SME (EU definition)"},
    {SME(", \"employees\": 2000000"), NULL, 0, "sme.employees", "more than 1000000"},
    {SME(", \"employees\": 5, \"sizeBand\": \"SIZE_BAND_MEDIUM\""), NULL, 0, "sme.sizeBand",
     "does not agree with 5 employees"},
    {SME(", \"sizeBand\": 7"), NULL, 0, "sme.sizeBand", "7 is not a known value"},
    {SME(", \"languages\": [\"English\"]"), NULL, 0, "sme.languages[0]",
     "'English' is not an ISO 639-1 code"},
    {SME(", \"languages\": [\"fi\", \"EN\"]"), NULL, 0, "sme.languages[1]", "ISO 639-1"},
    {SME(", \"languages\": [\"xx\"]"), NULL, 0, "sme.languages[0]", "ISO 639-1"},
    {SME(""), "certifications[0]", 65, "sme.certifications[0]", "at most 64"},
    {SME(", \"website\": \"www.kemi.example\""), NULL, 0, "sme.website", "http:// or https://"},
    {SME(", \"website\": \"https://\""), NULL, 0, "sme.website", "not a web address"},
    {SME(", \"contact\": {\"email\": \"kemi.example\"}"), NULL, 0, "sme.contact.email",
     "not an e-mail address"},
    {SME(", \"contact\": {\"email\": \"a@b@kemi.example\"}"), NULL, 0, "sme.contact.email",
     "not an e-mail address"},
    {SME(", \"contact\": {\"email\": \"@kemi.example\"}"), NULL, 0, "sme.contact.email",
     "not an e-mail address"},
    {SME(""), "description", 4001, "sme.description", "at most 4000"},
    {SME(", \"instruments\": [\"INSTRUMENT_LOAN\", 99]"), NULL, 0, "sme.instruments[1]",
     "99 is not a known value"},
    {SME(", \"instruments\": [\"INSTRUMENT_LOAN\", \"INSTRUMENT_LOAN\"]"), NULL, 0,
     "sme.instruments[1]", "INSTRUMENT_LOAN is listed twice"},
    {SME(", \"state\": 9"), NULL, 0, "sme.state", "9 is not a known value"},
    {SME(", \"ref\": \"kemi flotation\""), NULL, 0, "sme.ref", "may hold only"},
    {SME(", \"id\": \"sme-1/2\""), NULL, 0, "sme.id", "may hold only"},
    /* investor */
    {INV(", \"name\": \"\""), NULL, 0, "investor.name", "is required"},
    {INV(", \"type\": \"TYPE_UNSPECIFIED\""), NULL, 0, "investor.type", "is required"},
    {INV(", \"type\": 42"), NULL, 0, "investor.type", "42 is not a known value"},
    {INV(", \"trlMin\": 7, \"trlMax\": 3"), NULL, 0, "investor.trlMin", "7 is above trlMax 3"},
    {INV(", \"trlMax\": 10"), NULL, 0, "investor.trlMax", "10 is not a TRL"},
    {INV(", \"ticket\": {\"minEur\": \"2000000\", \"maxEur\": \"500000\"}"), NULL, 0,
     "investor.ticket", "is above maxEur"},
    {INV(", \"targetRegions\": [\"FI1D7\", \"ZZ9\"]"), NULL, 0, "investor.targetRegions[1]",
     "'ZZ9' is not a known region code"},
    {INV(", \"region\": \"XX1\""), NULL, 0, "investor.region", "not a known region code"},
    {INV(", \"website\": \"ftp://fund.example\""), NULL, 0, "investor.website",
     "http:// or https://"},
    /* opportunity */
    {OPP(", \"title\": \"\""), NULL, 0, "opportunity.title", "is required"},
    {OPP(", \"kind\": \"KIND_UNSPECIFIED\""), NULL, 0, "opportunity.kind", "is required"},
    {OPP(", \"deadline\": \"2020-01-01\""), NULL, 0, "opportunity.deadline",
     "2020-01-01 is in the past"},
    {OPP(", \"deadline\": \"next spring\""), NULL, 0, "opportunity.deadline",
     "not a date YYYY-MM-DD"},
    {OPP(", \"deadline\": \"2027-02-30\""), NULL, 0, "opportunity.deadline",
     "not a day of the calendar"},
    {OPP(", \"deadline\": \"2100-02-29\""), NULL, 0, "opportunity.deadline",
     "not a day of the calendar"},
    {OPP(", \"deadline\": \"2027-13-01\""), NULL, 0, "opportunity.deadline",
     "not a day of the calendar"},
    {OPP(", \"budget\": {\"minEur\": \"9\", \"maxEur\": \"1\"}"), NULL, 0, "opportunity.budget",
     "minEur 9 is above maxEur 1"},
    {OPP(", \"trlMin\": 10"), NULL, 0, "opportunity.trlMin", "10 is not a TRL"},
    {OPP(""), "requiredCapabilities[0]", 65, "opportunity.requiredCapabilities[0]", "at most 64"},
    {OPP(", \"materials\": [\"vibranium\"]"), NULL, 0, "opportunity.materials[0]", "material code"},
    {OPP(", \"region\": \"\""), NULL, 0, "opportunity.region", "is required"},
    {OPP(", \"step\": 9"), NULL, 0, "opportunity.step", "9 is not a known value"},
    {OPP(", \"status\": 5"), NULL, 0, "opportunity.status", "5 is not a known value"},
    {OPP(", \"organisation\": \"Oy\\u001bAb\""), NULL, 0, "opportunity.organisation",
     "control character"},
    /* no kind at all */
    {"{}", NULL, 0, "entity", "must hold one of sme, investor, opportunity"},
};

/* Each row gets exactly one error: on the named field, with the reason. */
static void test_each_problem_is_named(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof s_rows / sizeof s_rows[0]; i++) {
        const s_row_t *row = &s_rows[i];
        ls_entity_pb *e = ls_test_entity(row->json, row->grow, row->size);
        ls_status_pb status;
        ls_errors_t *errors = s_check(e, &status);
        bool ok = status.n_errors == 1 && strcmp(status.errors[0]->field, row->field) == 0 &&
                  strstr(status.errors[0]->reason, row->reason);
        if (!ok) {
            fprintf(stderr, "row %zu: expected one error %s: ...%s...; got %zu:\n", i, row->field,
                    row->reason, status.n_errors);
            s_print_errors(&status);
            failed++;
        }
        ls_errors_destroy(&errors);
        s_free(e);
    }
    assert_int_equal(failed, 0);
}

static void test_every_problem_is_reported(void **state)
{
    (void)state;
    ls_entity_pb *e = s_entity(SME(", \"name\": \"\", \"region\": \"XX99\", \"trl\": 12, "
                                   "\"languages\": [\"English\"]"));
    ls_status_pb status;
    ls_errors_t *errors = s_check(e, &status);
    assert_int_equal(status.n_errors, 4);
    assert_string_equal(status.errors[0]->field, "sme.name");
    assert_string_equal(status.message, "4 fields are invalid");
    ls_errors_destroy(&errors);
    s_free(e);
}

/* Strings that did not come through the codec (which refuses them) are still
 * checked: the registry's core may be called by other code. */
static void test_invalid_utf8_is_named(void **state)
{
    (void)state;
    ls_entity_pb *e = s_entity(SME(", \"capabilities\": [\"flotation\"]"));
    free(e->sme->name);
    e->sme->name = strdup("Kemi \xff Oy");
    free(e->sme->capabilities[0]);
    e->sme->capabilities[0] = strdup("flot\xc3");
    ls_status_pb status;
    ls_errors_t *errors = s_check(e, &status);
    assert_int_equal(status.n_errors, 2);
    assert_string_equal(status.errors[0]->field, "sme.name");
    assert_string_equal(status.errors[0]->reason, "is not valid UTF-8");
    assert_string_equal(status.errors[1]->field, "sme.capabilities[0]");
    assert_string_equal(status.errors[1]->reason, "is not valid UTF-8");
    ls_errors_destroy(&errors);
    s_free(e);
}

/* A value echoed in a reason is cut at a character boundary and cleaned, so that
 * the reply still packs as valid UTF-8. */
static void test_reasons_stay_valid_utf8(void **state)
{
    (void)state;
    ls_entity_pb *e = s_entity(
        SME(", \"region\": \"\\u00c4\\u00c4\\u00c4\\u00c4\\u00c4\\u00c4\\u00c4\\u00c4\\u00c4"
            "\\u00c4\\u00c4\\u00c4\\u00c4\\u00c4\\u00c4\\u00c4\\u00c4\\u00c4\\u00c4\\u00c4"
            "\\u00c4\\u00c4\\u00c4\\u00c4\\u00c4X\", \"stages\": [\"a\\u0001b\"]"));
    ls_status_pb status;
    ls_errors_t *errors = s_check(e, &status);
    assert_int_equal(status.n_errors, 2);
    for (size_t i = 0; i < status.n_errors; i++) {
        const char *reason = status.errors[i]->reason;
        assert_true(ls_text_valid(reason, strlen(reason)));
    }
    assert_non_null(strstr(status.errors[0]->reason, "...' is not a known region code"));
    assert_string_equal(status.errors[1]->reason, "'a?b' is not a known value-chain stage code");
    ls_errors_destroy(&errors);
    s_free(e);
}

/* The demo data that ./lodestone up loads must pass. */
static void test_demo_data_is_valid(void **state)
{
    (void)state;
    const char *const files[] = {"smes.json", "investors.json", "opportunities.json"};
    for (size_t f = 0; f < 3; f++) {
        char path[512];
        snprintf(path, sizeof path, "%s/demo/%s", LS_TEST_DATA_DIR, files[f]);
        json_error_t jerr;
        json_t *list = json_load_file(path, 0, &jerr);
        assert_non_null(list);
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item)
        {
            char err[256];
            ls_entity_pb *e = (ls_entity_pb *)ls_json_to_message(&lodestone__v1__entity__descriptor,
                                                                 item, err, sizeof err);
            assert_non_null(e);
            ls_status_pb status;
            ls_errors_t *errors = s_check(e, &status);
            if (status.n_errors) {
                fprintf(stderr, "%s[%zu]:\n", files[f], i);
                s_print_errors(&status);
            }
            assert_int_equal(status.n_errors, 0);
            ls_errors_destroy(&errors);
            s_free(e);
        }
        json_decref(list);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags_are_normalised),
        cmocka_unit_test(test_certifications_are_normalised),
        cmocka_unit_test(test_languages_are_deduplicated),
        cmocka_unit_test(test_country_is_derived_from_region),
        cmocka_unit_test(test_size_band_is_derived_from_employees),
        cmocka_unit_test(test_material_groups_are_kept_as_given),
        cmocka_unit_test(test_deadlines),
        cmocka_unit_test(test_each_problem_is_named),
        cmocka_unit_test(test_every_problem_is_reported),
        cmocka_unit_test(test_invalid_utf8_is_named),
        cmocka_unit_test(test_reasons_stay_valid_utf8),
        cmocka_unit_test(test_demo_data_is_valid),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
