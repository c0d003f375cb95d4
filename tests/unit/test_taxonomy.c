/* test_taxonomy.c — unit test for ls_taxonomy: the shipped reference files load and
 * answer what the services rely on (regions, CRMA status with group expansion, NACE,
 * stages, themes, TRL), and broken files fail with an error naming file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ls_taxonomy.h"

#ifndef LS_TEST_DATA_DIR
#error "LS_TEST_DATA_DIR must name the data directory"
#endif

/* The files a taxonomy needs; fixtures copy all of them, then break one. */
static const char *const s_files[] = {"regions.csv",  "crm_act_2024.csv", "other_materials.csv",
                                      "elements.csv", "nace_rev2.csv",    "stages.csv",
                                      "themes.csv",   "trl.csv"};
#define S_FILE_COUNT (sizeof s_files / sizeof s_files[0])

/* --------------------------------------------------------------------------
 * Fixture: a private copy of data/reference under a mkdtemp directory. */

typedef struct {
    char root[256];
    char reference[300];
} s_fixture_t;

static void s_path(char *path, size_t size, const char *dir, const char *file)
{
    int length = snprintf(path, size, "%s/%s", dir, file);
    assert_true(length > 0 && (size_t)length < size);
}

static void s_copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    assert_non_null(in);
    FILE *out = fopen(to, "wb");
    assert_non_null(out);
    char buffer[4096];
    size_t got;
    while ((got = fread(buffer, 1, sizeof buffer, in)) > 0)
        assert_int_equal(fwrite(buffer, 1, got, out), got);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void s_fixture_init(s_fixture_t *fixture)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(fixture->root, sizeof fixture->root, "%s/ls_taxonomy_XXXXXX", tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(fixture->root));
    s_path(fixture->reference, sizeof fixture->reference, fixture->root, "reference");
    assert_int_equal(mkdir(fixture->reference, 0700), 0);
    for (size_t index = 0; index < S_FILE_COUNT; index++) {
        char from[512], to[512];
        s_path(from, sizeof from, LS_TEST_DATA_DIR "/reference", s_files[index]);
        s_path(to, sizeof to, fixture->reference, s_files[index]);
        s_copy_file(from, to);
    }
}

static void s_fixture_write(s_fixture_t *fixture, const char *file, const char *content)
{
    char path[512];
    s_path(path, sizeof path, fixture->reference, file);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    assert_int_equal(fputs(content, out) >= 0, 1);
    assert_int_equal(fclose(out), 0);
}

static void s_fixture_remove(s_fixture_t *fixture, const char *file)
{
    char path[512];
    s_path(path, sizeof path, fixture->reference, file);
    assert_int_equal(unlink(path), 0);
}

static void s_fixture_fini(s_fixture_t *fixture)
{
    for (size_t index = 0; index < S_FILE_COUNT; index++) {
        char path[512];
        s_path(path, sizeof path, fixture->reference, s_files[index]);
        unlink(path); /* some tests removed one on purpose */
    }
    assert_int_equal(rmdir(fixture->reference), 0);
    assert_int_equal(rmdir(fixture->root), 0);
}

/* Loads the fixture, expects failure, and checks the message contains expected. */
static void s_expect_failure(s_fixture_t *fixture, const char *expected)
{
    char err[512] = "";
    ls_taxonomy_t *taxonomy = ls_taxonomy_load(fixture->root, err, sizeof err);
    assert_null(taxonomy);
    if (!strstr(err, expected))
        fail_msg("error '%s' does not contain '%s'", err, expected);
}

/* --------------------------------------------------------------------------
 * Tests on the shipped data, loaded once for the group. */

static int s_setup(void **state)
{
    char err[512] = "";
    ls_taxonomy_t *taxonomy = ls_taxonomy_load(LS_TEST_DATA_DIR, err, sizeof err);
    if (!taxonomy) {
        fprintf(stderr, "load failed: %s\n", err);
        return -1;
    }
    *state = taxonomy;
    return 0;
}

static int s_teardown(void **state)
{
    ls_taxonomy_t *taxonomy = *state;
    ls_taxonomy_destroy(&taxonomy);
    return 0;
}

static void test_load_counts(void **state)
{
    const ls_taxonomy_t *taxonomy = *state;
    assert_int_equal(ls_taxonomy_region_count(taxonomy), 7);
    /* 35 CRMA entries + 18 other materials + 20 elements of the groups */
    assert_int_equal(ls_taxonomy_material_count(taxonomy), 73);
}

static void test_regions(void **state)
{
    const ls_taxonomy_t *taxonomy = *state;
    static const struct {
        const char *code, *name, *country, *parent;
        int nuts_level;
        bool lead;
    } expected[] = {
        {"FI1D7", "Lapland", "FI", "FI1D", 3, true},
        {"FI1D3", "North Karelia", "FI", "FI1D", 3, true},
        {"FI1D8", "Kainuu", "FI", "FI1D", 3, false},
        {"SE331", "V\xC3\xA4sterbotten", "SE", "SE33", 3, false},
        {"ES41", "Castilla y Le\xC3\xB3n", "ES", "ES4", 2, false},
        {"ES12", "Principado de Asturias", "ES", "ES1", 2, false},
        {"EL64", "Sterea Ellada", "EL", "EL6", 2, false},
    };
    for (size_t index = 0; index < sizeof expected / sizeof expected[0]; index++) {
        const ls_region_t *region = ls_taxonomy_region(taxonomy, expected[index].code);
        assert_non_null(region);
        assert_ptr_equal(ls_taxonomy_region_at(taxonomy, index), region);
        assert_string_equal(region->code, expected[index].code);
        assert_string_equal(region->name, expected[index].name);
        assert_string_equal(region->country, expected[index].country);
        assert_string_equal(region->parent, expected[index].parent);
        assert_int_equal(region->nuts_level, expected[index].nuts_level);
        assert_int_equal(region->lead, expected[index].lead);
    }
    assert_null(ls_taxonomy_region_at(taxonomy, 7));
}

static void s_assert_status(const ls_taxonomy_t *taxonomy, const char *code, bool critical,
                            bool strategic)
{
    const ls_material_t *material = ls_taxonomy_material(taxonomy, code);
    if (!material)
        fail_msg("material '%s' not found", code);
    if (material->critical != critical || material->strategic != strategic)
        fail_msg("%s: critical %d strategic %d, expected %d %d", code, material->critical,
                 material->strategic, critical, strategic);
}

static void test_material_status(void **state)
{
    const ls_taxonomy_t *taxonomy = *state;
    s_assert_status(taxonomy, "cobalt", true, true);
    s_assert_status(taxonomy, "antimony", true, false);
    s_assert_status(taxonomy, "gold", false, false);
    s_assert_status(taxonomy, "ree-magnets", false, true);
    assert_string_equal(ls_taxonomy_material(taxonomy, "cobalt")->name, "Cobalt");
    assert_string_equal(ls_taxonomy_material(taxonomy, "aluminium")->name,
                        "Bauxite / alumina / aluminium");
    assert_int_equal(ls_taxonomy_material(taxonomy, "cobalt")->n_members, 0);
    assert_int_equal(ls_taxonomy_material(taxonomy, "gold")->n_members, 0);
}

static void test_group_members(void **state)
{
    const ls_taxonomy_t *taxonomy = *state;
    static const char *const hree[] = {"dysprosium", "erbium",   "europium", "gadolinium",
                                       "holmium",    "lutetium", "terbium",  "thulium",
                                       "ytterbium",  "yttrium"};
    const ls_material_t *group = ls_taxonomy_material(taxonomy, "hree");
    assert_non_null(group);
    assert_int_equal(group->n_members, 10);
    for (size_t index = 0; index < 10; index++)
        assert_string_equal(group->members[index], hree[index]);

    group = ls_taxonomy_material(taxonomy, "ree-magnets");
    assert_int_equal(group->n_members, 7);
    assert_string_equal(group->members[0], "neodymium");
    assert_string_equal(group->members[6], "cerium");
    assert_int_equal(ls_taxonomy_material(taxonomy, "lree")->n_members, 5);
    assert_int_equal(ls_taxonomy_material(taxonomy, "pgm")->n_members, 5);
}

static void test_element_status(void **state)
{
    const ls_taxonomy_t *taxonomy = *state;
    s_assert_status(taxonomy, "neodymium", true, true); /* lree + ree-magnets */
    s_assert_status(taxonomy, "terbium", true, true);   /* hree + ree-magnets */
    s_assert_status(taxonomy, "lanthanum", true, false);
    s_assert_status(taxonomy, "yttrium", true, false);
    s_assert_status(taxonomy, "platinum", true, true);
    assert_string_equal(ls_taxonomy_material(taxonomy, "neodymium")->name, "Neodymium");
    assert_int_equal(ls_taxonomy_material(taxonomy, "neodymium")->n_members, 0);
}

static void test_material_order(void **state)
{
    const ls_taxonomy_t *taxonomy = *state;
    assert_string_equal(ls_taxonomy_material_at(taxonomy, 0)->code, "aluminium");
    assert_string_equal(ls_taxonomy_material_at(taxonomy, 34)->code, "vanadium");
    assert_string_equal(ls_taxonomy_material_at(taxonomy, 35)->code, "gold");
    assert_string_equal(ls_taxonomy_material_at(taxonomy, 53)->code, "dysprosium");
    assert_string_equal(ls_taxonomy_material_at(taxonomy, 72)->code, "ruthenium");
    assert_null(ls_taxonomy_material_at(taxonomy, 73));
    for (size_t index = 0; index < ls_taxonomy_material_count(taxonomy); index++) {
        const ls_material_t *material = ls_taxonomy_material_at(taxonomy, index);
        assert_ptr_equal(ls_taxonomy_material(taxonomy, material->code), material);
    }
}

static void test_unknown_codes(void **state)
{
    const ls_taxonomy_t *taxonomy = *state;
    assert_null(ls_taxonomy_region(taxonomy, "FI1D"));
    assert_null(ls_taxonomy_region(taxonomy, "fi1d7"));
    assert_null(ls_taxonomy_material(taxonomy, "unobtainium"));
    assert_null(ls_taxonomy_material(taxonomy, "Nd"));
    assert_null(ls_taxonomy_stage(taxonomy, "smelting"));
    assert_null(ls_taxonomy_theme(taxonomy, "tourism"));
    assert_null(ls_taxonomy_nace(taxonomy, "07.3"));
    assert_null(ls_taxonomy_nace(taxonomy, "0729"));
    assert_null(ls_taxonomy_region(taxonomy, ""));
    assert_null(ls_taxonomy_material(taxonomy, NULL));
}

static void test_nace(void **state)
{
    const ls_taxonomy_t *taxonomy = *state;
    const ls_nace_t *nace = ls_taxonomy_nace(taxonomy, "07.29");
    assert_non_null(nace);
    assert_string_equal(nace->level, "class");
    assert_string_equal(nace->parent, "07.2");
    assert_string_equal(nace->title, "Mining of other non-ferrous metal ores");

    nace = ls_taxonomy_nace(taxonomy, "B");
    assert_non_null(nace);
    assert_string_equal(nace->level, "section");
    assert_string_equal(nace->parent, "");
    assert_string_equal(nace->title, "MINING AND QUARRYING");

    assert_string_equal(ls_taxonomy_nace(taxonomy, "07")->level, "division");
    assert_string_equal(ls_taxonomy_nace(taxonomy, "07.2")->level, "group");
    /* a quoted title with a comma */
    assert_string_equal(ls_taxonomy_nace(taxonomy, "A")->title,
                        "AGRICULTURE, FORESTRY AND FISHING");
}

static void test_stages_and_themes(void **state)
{
    const ls_taxonomy_t *taxonomy = *state;
    const ls_term_t *stage = ls_taxonomy_stage(taxonomy, "mets");
    assert_non_null(stage);
    assert_string_equal(stage->name, "Mining equipment, technology and services");
    assert_string_equal(ls_taxonomy_stage(taxonomy, "exploration")->name,
                        "Exploration and resource assessment");
    const ls_term_t *theme = ls_taxonomy_theme(taxonomy, "sme-gvc");
    assert_non_null(theme);
    assert_string_equal(theme->name, "Empowerment of SMEs in global value chains");
}

static void test_materials_version(void **state)
{
    assert_string_equal(ls_taxonomy_materials_version(*state), "crma-2024");
}

static void test_trl(void **state)
{
    const ls_taxonomy_t *taxonomy = *state;
    for (unsigned level = 1; level <= 9; level++)
        assert_true(ls_taxonomy_trl_valid(taxonomy, level));
    assert_false(ls_taxonomy_trl_valid(taxonomy, 0));
    assert_false(ls_taxonomy_trl_valid(taxonomy, 10));
    assert_false(ls_taxonomy_trl_valid(taxonomy, (unsigned)-1));
}

/* --------------------------------------------------------------------------
 * Tests on private copies of the files, some of them broken. */

static void test_fixture_copy_loads(void **state)
{
    (void)state;
    s_fixture_t fixture;
    s_fixture_init(&fixture);
    char err[512] = "";
    ls_taxonomy_t *taxonomy = ls_taxonomy_load(fixture.root, err, sizeof err);
    assert_non_null(taxonomy);
    assert_string_equal(err, "");
    ls_taxonomy_destroy(&taxonomy);
    s_fixture_fini(&fixture);
}

static void test_unterminated_quote(void **state)
{
    (void)state;
    s_fixture_t fixture;
    s_fixture_init(&fixture);
    s_fixture_write(&fixture, "regions.csv",
                    "code,nuts_level,parent,country,name,name_local,partnership_role\n"
                    "FI1D7,3,FI1D,FI,Lapland,Lappi,lead\n"
                    "FI1D3,3,FI1D,FI,\"North Karelia,Pohjois-Karjala,lead\n"
                    "FI1D8,3,FI1D,FI,Kainuu,Kainuu,partner\n");
    s_expect_failure(&fixture, "/reference/regions.csv:3: unterminated quoted field");
    s_fixture_fini(&fixture);
}

static void test_missing_file(void **state)
{
    (void)state;
    s_fixture_t fixture;
    s_fixture_init(&fixture);
    s_fixture_remove(&fixture, "stages.csv");
    s_expect_failure(&fixture, "/reference/stages.csv: cannot open");
    s_fixture_fini(&fixture);
}

static void test_missing_dir(void **state)
{
    (void)state;
    char err[512] = "";
    assert_null(ls_taxonomy_load("/nonexistent/lodestone", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/lodestone/reference/regions.csv"));
    /* err is optional */
    assert_null(ls_taxonomy_load("/nonexistent/lodestone", NULL, 0));
}

static void test_missing_column(void **state)
{
    (void)state;
    s_fixture_t fixture;
    s_fixture_init(&fixture);
    s_fixture_write(&fixture, "regions.csv",
                    "code,nuts_level,parent,name,partnership_role\n"
                    "FI1D7,3,FI1D,Lapland,lead\n");
    s_expect_failure(&fixture, "regions.csv:1: missing column 'country'");
    s_fixture_fini(&fixture);
}

static void test_wrong_field_count(void **state)
{
    (void)state;
    s_fixture_t fixture;
    s_fixture_init(&fixture);
    s_fixture_write(&fixture, "themes.csv",
                    "code,name\n"
                    "crm-production,Critical raw material production\n"
                    "\n"
                    "sme-gvc,Empowerment of SMEs, in global value chains\n");
    s_expect_failure(&fixture, "themes.csv:4: expected 2 fields, found 3");
    s_fixture_fini(&fixture);
}

/* Columns are found by name, quotes escape quotes and newlines, CRLF is accepted. */
static void test_columns_reordered(void **state)
{
    (void)state;
    s_fixture_t fixture;
    s_fixture_init(&fixture);
    s_fixture_write(
        &fixture, "regions.csv",
        "\xEF\xBB\xBFpartnership_role,name,country,code,parent,nuts_level,name_local\r\n"
        "lead,\"Lapland \"\"Lappi\"\"\",FI,FI1D7,FI1D,3,Lappi\r\n"
        "partner,\"Sterea Ellada, Evia\",EL,EL64,EL6,2,\"\xCE\xA3\xCF\x84\xCE\xB5"
        "\xCF\x81\xCE\xB5\xCE\xAC\n\xCE\x95\xCE\xBB\xCE\xBB\xCE\xAC\xCE\xB4\xCE\xB1\"\r\n"
        "partner,Kainuu,FI,FI1D8,FI1D,3,\r\n");
    char err[512] = "";
    ls_taxonomy_t *taxonomy = ls_taxonomy_load(fixture.root, err, sizeof err);
    if (!taxonomy)
        fail_msg("load failed: %s", err);
    assert_int_equal(ls_taxonomy_region_count(taxonomy), 3);
    const ls_region_t *region = ls_taxonomy_region(taxonomy, "FI1D7");
    assert_non_null(region);
    assert_string_equal(region->name, "Lapland \"Lappi\"");
    assert_string_equal(region->country, "FI");
    assert_string_equal(region->parent, "FI1D");
    assert_int_equal(region->nuts_level, 3);
    assert_true(region->lead);
    region = ls_taxonomy_region(taxonomy, "EL64");
    assert_non_null(region);
    assert_string_equal(region->name, "Sterea Ellada, Evia");
    assert_false(region->lead);
    assert_string_equal(ls_taxonomy_region_at(taxonomy, 2)->code, "FI1D8");
    ls_taxonomy_destroy(&taxonomy);
    s_fixture_fini(&fixture);
}

static void test_duplicate_material(void **state)
{
    (void)state;
    s_fixture_t fixture;
    s_fixture_init(&fixture);
    s_fixture_write(&fixture, "other_materials.csv",
                    "code,name,note\n"
                    "gold,Gold,\n"
                    "cobalt,Cobalt,already in the CRMA list\n");
    s_expect_failure(&fixture, "other_materials.csv:3: duplicate material code 'cobalt'");
    s_fixture_fini(&fixture);
}

static void test_unknown_group_member(void **state)
{
    (void)state;
    s_fixture_t fixture;
    s_fixture_init(&fixture);
    s_fixture_write(&fixture, "elements.csv",
                    "symbol,code,name\n"
                    "Dy,dysprosium,Dysprosium\n");
    s_expect_failure(&fixture, "crm_act_2024.csv:18: group member 'Er' is not in elements.csv");
    s_fixture_fini(&fixture);
}

static void test_bad_values(void **state)
{
    (void)state;
    s_fixture_t fixture;
    s_fixture_init(&fixture);
    s_fixture_write(&fixture, "trl.csv", "level,description\n1,Basic\n10,Beyond\n");
    s_expect_failure(&fixture, "trl.csv:3: level must be 1..9, not '10'");
    s_fixture_write(&fixture, "trl.csv", "level,description\n1,Basic\n");
    s_fixture_write(&fixture, "nace_rev2.csv",
                    "code,level,parent,title\nB,section,,MINING\n07.29,class,07.2,Other\n");
    s_expect_failure(&fixture, "nace_rev2.csv:3: parent '07.2' is not defined above this line");
    s_fixture_write(&fixture, "other_materials.csv", "code,name,note\ngold,Gold,\"precious\"x\n");
    s_expect_failure(&fixture, "other_materials.csv:2: text after a closing quote");
    s_fixture_fini(&fixture);
}

static void test_destroy_twice(void **state)
{
    (void)state;
    ls_taxonomy_t *taxonomy = ls_taxonomy_load(LS_TEST_DATA_DIR, NULL, 0);
    assert_non_null(taxonomy);
    ls_taxonomy_destroy(&taxonomy);
    assert_null(taxonomy);
    ls_taxonomy_destroy(&taxonomy);
    ls_taxonomy_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest shipped[] = {
        cmocka_unit_test(test_load_counts),
        cmocka_unit_test(test_regions),
        cmocka_unit_test(test_material_status),
        cmocka_unit_test(test_group_members),
        cmocka_unit_test(test_element_status),
        cmocka_unit_test(test_material_order),
        cmocka_unit_test(test_unknown_codes),
        cmocka_unit_test(test_nace),
        cmocka_unit_test(test_stages_and_themes),
        cmocka_unit_test(test_materials_version),
        cmocka_unit_test(test_trl),
    };
    const struct CMUnitTest files[] = {
        cmocka_unit_test(test_fixture_copy_loads),   cmocka_unit_test(test_unterminated_quote),
        cmocka_unit_test(test_missing_file),         cmocka_unit_test(test_missing_dir),
        cmocka_unit_test(test_missing_column),       cmocka_unit_test(test_wrong_field_count),
        cmocka_unit_test(test_columns_reordered),    cmocka_unit_test(test_duplicate_material),
        cmocka_unit_test(test_unknown_group_member), cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_destroy_twice),
    };
    int failed =
        cmocka_run_group_tests_name("taxonomy on shipped data", shipped, s_setup, s_teardown);
    failed += cmocka_run_group_tests_name("taxonomy file errors", files, NULL, NULL);
    return failed ? 1 : 0;
}
