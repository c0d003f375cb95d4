/* test_report_render.c — unit test of report_render: a capability map and a list of
 * demonstration suggestions built by hand (the partnership's seven regions, the six
 * chain stages and mets, 28 materials, strengths, gaps, names that need escaping)
 * rendered as SVG (parsed back with expat: well-formed, one cell per region and
 * value, the right counts), as CSV (read back with an RFC 4180 reader: the full
 * grid, the demonstration rows) and as text tables (what a person looks for); and
 * both messages through JSON and back. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <expat.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_json.h"
#include "ls_proto.h"
#include "report_render.h"

/* ---------------------------------------------------------------------------------------
 * The fixture: every allocation of a hand-built message goes into one arena. */

static void **s_arena;
static size_t s_arena_n;

static void *s_new(size_t size)
{
    void **grown = realloc(s_arena, (s_arena_n + 1) * sizeof *s_arena);
    assert_non_null(grown);
    s_arena = grown;
    s_arena[s_arena_n] = calloc(1, size);
    assert_non_null(s_arena[s_arena_n]);
    return s_arena[s_arena_n++];
}

static char *s_str(const char *s)
{
    char *copy = s_new(strlen(s) + 1);
    memcpy(copy, s, strlen(s) + 1);
    return copy;
}

static char **s_strs(const char *const *list, size_t n)
{
    char **out = s_new((n + 1) * sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = s_str(list[i]);
    return out;
}

static int s_arena_free(void **state)
{
    (void)state;
    for (size_t i = 0; i < s_arena_n; i++)
        free(s_arena[i]);
    free(s_arena);
    s_arena = NULL;
    s_arena_n = 0;
    return 0;
}

#define N_REGIONS 7
#define N_STAGES 7
#define N_MATERIALS 28
#define N_WITH_SMES 26 /* the last two materials have no SME */

static const char *const s_codes[N_REGIONS] = {"FI1D7", "FI1D3", "FI1D8", "SE331",
                                               "ES41",  "ES12",  "EL64"};
static const char *const s_names[N_REGIONS] = {
    "Lapland",         "North Karelia",          "Kainuu",       "Västerbotten",
    "Castilla y León", "Principado de Asturias", "Sterea Ellada"};
static const char *const s_stages[N_STAGES] = {
    "exploration", "extraction", "beneficiation", "refining", "manufacturing", "recycling", "mets"};
static const uint32_t s_stage_counts[N_REGIONS][N_STAGES] = {
    {14, 9, 6, 0, 2, 3, 11}, {5, 3, 4, 0, 6, 2, 4}, {3, 4, 5, 2, 1, 0, 3}, {12, 10, 7, 5, 3, 8, 9},
    {2, 1, 0, 0, 7, 4, 2},   {1, 2, 3, 9, 5, 6, 3}, {0, 1, 2, 6, 3, 1, 0}};
static const char *const s_materials[N_MATERIALS] = {
    "cobalt",         "nickel",    "copper",      "lithium",  "graphite",  "zinc",
    "gold",           "pgm",       "vanadium",    "titanium", "iron",      "chromium",
    "lree",           "hree",      "ree-magnets", "tungsten", "antimony",  "manganese",
    "phosphate-rock", "magnesium", "silicon",     "feldspar", "fluorspar", "baryte",
    "bismuth",        "germanium", "gallium",     "beryllium"};

static const char *const s_rule =
    "a region holds at least 30% of the partnership's SMEs for a value & 3 or more of them "
    "(fewer than 3, '<3', is never a strength)";

/* Some SMEs in most regions; more for the first materials; the last two none. Copper
 * and nickel tie, so the order among equals (the taxonomy's) shows. */
static uint32_t s_material_count(size_t m, size_t r)
{
    if (m >= N_WITH_SMES)
        return 0;
    if (m == 2) /* copper: nickel's counts */
        m = 1;
    uint32_t h = (uint32_t)((m * 31 + r * 17) % 11);
    uint32_t base = (uint32_t)(N_WITH_SMES - m) / 3 + 1;
    uint32_t count = h < 4 ? 0 : base * (h - 3) / 5;
    return count + (r == m % N_REGIONS);
}

static uint32_t s_material_total(size_t m)
{
    uint32_t total = 0;
    for (size_t r = 0; r < N_REGIONS; r++)
        total += s_material_count(m, r);
    return total;
}

static Lodestone__V1__MapTable *s_table(const char *facet, const char *title,
                                        const char *const *values, size_t n_values,
                                        uint32_t (*count)(size_t v, size_t r))
{
    Lodestone__V1__MapTable *t = s_new(sizeof *t);
    lodestone__v1__map_table__init(t);
    t->facet = s_str(facet);
    t->title = s_str(title);
    t->values = s_strs(values, n_values);
    t->n_values = n_values;
    t->totals = s_new((n_values + 1) * sizeof *t->totals);
    t->n_totals = n_values;
    for (size_t v = 0; v < n_values; v++)
        for (size_t r = 0; r < N_REGIONS; r++)
            t->totals[v] += count(v, r);
    t->cells = s_new((N_REGIONS * n_values + 1) * sizeof *t->cells);
    for (size_t r = 0; r < N_REGIONS; r++)
        for (size_t v = 0; v < n_values; v++) {
            uint32_t c = count(v, r);
            if (!c)
                continue;
            Lodestone__V1__MapCell *cell = s_new(sizeof *cell);
            lodestone__v1__map_cell__init(cell);
            cell->region = s_str(s_codes[r]);
            cell->value = s_str(values[v]);
            cell->count = c;
            cell->share = (double)c / t->totals[v];
            cell->strength = cell->share >= 0.3 && c >= 3;
            t->cells[t->n_cells++] = cell;
        }
    return t;
}

static uint32_t s_stage_count(size_t v, size_t r)
{
    return s_stage_counts[r][v];
}

static uint32_t s_material_cell(size_t v, size_t r)
{
    return s_material_count(v, r);
}

static uint32_t s_small_count(size_t v, size_t r)
{
    return (uint32_t)((v * 5 + r * 3) % 4);
}

static const char *const s_themes[] = {"crm-production", "sme-gvc", "sustainable-mining",
                                       "social-acceptance", "education"};
static const char *const s_kinds[] = {"supply_need", "investment_case", "joint_demonstration",
                                      "training", "consultation"};

static const char *const s_gaps[][2] = {{"lithium", "refining"},  {"lithium", "recycling"},
                                        {"graphite", "refining"}, {"pgm", "extraction"},
                                        {"pgm", "refining"},      {"gallium", "exploration"},
                                        {"beryllium", "refining"}};
#define N_GAPS (sizeof s_gaps / sizeof *s_gaps)

static Lodestone__V1__CapabilityMap *s_map(void)
{
    Lodestone__V1__CapabilityMap *map = s_new(sizeof *map);
    lodestone__v1__capability_map__init(map);
    map->regions = s_new(N_REGIONS * sizeof *map->regions);
    map->n_regions = N_REGIONS;
    for (size_t r = 0; r < N_REGIONS; r++) {
        map->regions[r] = s_new(sizeof *map->regions[r]);
        lodestone__v1__region_name__init(map->regions[r]);
        map->regions[r]->code = s_str(s_codes[r]);
        map->regions[r]->name = s_str(s_names[r]);
    }
    map->tables = s_new(5 * sizeof *map->tables);
    map->tables[map->n_tables++] =
        s_table("sme_stage", "Active SMEs by value-chain stage", s_stages, N_STAGES, s_stage_count);
    map->tables[map->n_tables++] = s_table("sme_material", "Active SMEs by material", s_materials,
                                           N_MATERIALS, s_material_cell);
    map->tables[map->n_tables++] =
        s_table("sme_theme", "Active SMEs by theme", s_themes, 5, s_small_count);
    map->tables[map->n_tables++] = s_table("investor_stage", "Investors by stage of interest",
                                           s_stages, N_STAGES, s_small_count);
    map->tables[map->n_tables++] =
        s_table("opportunity_kind", "Open opportunities by kind", s_kinds, 5, s_small_count);
    map->gaps = s_new(N_GAPS * sizeof *map->gaps);
    for (size_t g = 0; g < N_GAPS; g++) {
        Lodestone__V1__MapGap *gap = s_new(sizeof *gap);
        lodestone__v1__map_gap__init(gap);
        gap->material = s_str(s_gaps[g][0]);
        gap->stage = s_str(s_gaps[g][1]);
        map->gaps[map->n_gaps++] = gap;
    }
    map->smes = 318;
    map->investors = 41;
    map->opportunities = 27;
    map->strength_rule = s_str(s_rule);
    map->took_ms = 12.5;
    return map;
}

/* The strongest SME of each stage: stage, region, id, name, score. */
typedef struct {
    const char *stage, *region, *id, *name;
    double score;
} s_stage_row_t;

static const s_stage_row_t s_lithium[] = {
    {"exploration", "FI1D3", "sme-0042", "Smith & \"Sons\" <Oy>", 0.912},
    {"extraction", "FI1D3", "sme-0107", "Karelian Lithium, Oy", 0.874},
    {"beneficiation", "ES12", "sme-0311", "Minerales del Norte", 0.801},
    {"manufacturing", "ES12", "sme-0318", "Cátodos Asturianos", 0.766}};
static const s_stage_row_t s_cobalt[] = {
    {"exploration", "FI1D7", "sme-0003", "Lapland Geoscan", 0.931},
    {"extraction", "SE331", "sme-0210", "Skellefteå Mining Services", 0.850},
    {"refining", "EL64", "sme-0402", "Evia Hydromet", 0.707}};

static Lodestone__V1__DemoSuggestion *s_suggestion(uint32_t rank, const char *material,
                                                   const char *const *regions, size_t n_regions,
                                                   const s_stage_row_t *rows, size_t n_rows,
                                                   const char *const *missing, size_t n_missing,
                                                   const char *why, double strength)
{
    Lodestone__V1__DemoSuggestion *d = s_new(sizeof *d);
    lodestone__v1__demo_suggestion__init(d);
    d->rank = rank;
    d->material = s_str(material);
    d->regions = s_strs(regions, n_regions);
    d->n_regions = n_regions;
    d->stages = s_new((n_rows + 1) * sizeof *d->stages);
    d->strongest = s_new((n_rows + 1) * sizeof *d->strongest);
    for (size_t i = 0; i < n_rows; i++) {
        Lodestone__V1__DemoStage *s = s_new(sizeof *s);
        lodestone__v1__demo_stage__init(s);
        s->stage = s_str(rows[i].stage);
        s->region = s_str(rows[i].region);
        s->sme_id = s_str(rows[i].id);
        s->sme_name = s_str(rows[i].name);
        s->score = rows[i].score;
        d->strongest[d->n_strongest++] = s;
        d->stages[d->n_stages++] = s_str(rows[i].stage);
    }
    d->missing = s_strs(missing, n_missing);
    d->n_missing = n_missing;
    d->why_new = s_str(why);
    d->strength = strength;
    return d;
}

static const char *const s_why_lithium =
    "No single region has SMEs for both extraction and beneficiation of lithium; "
    "North Karelia brings the \"upstream\", Asturias the processing.";
static const char *const s_why_cobalt = "Lapland explores, Västerbotten mines,\nEvia refines.";

static Lodestone__V1__DemoList *s_demos(void)
{
    Lodestone__V1__DemoList *list = s_new(sizeof *list);
    lodestone__v1__demo_list__init(list);
    list->suggestions = s_new(2 * sizeof *list->suggestions);
    static const char *const lithium_regions[] = {"FI1D3", "ES12"};
    static const char *const lithium_missing[] = {"refining", "recycling"};
    Lodestone__V1__DemoSuggestion *d = s_suggestion(1, "lithium", lithium_regions, 2, s_lithium, 4,
                                                    lithium_missing, 2, s_why_lithium, 0.838);
    d->investors = s_new(2 * sizeof *d->investors);
    static const char *const investors[][2] = {{"inv-0007", "Nordic Battery Fund"},
                                               {"inv-0009", "Iberian Green Capital, S.L."}};
    for (size_t i = 0; i < 2; i++) {
        Lodestone__V1__DemoInvestor *inv = s_new(sizeof *inv);
        lodestone__v1__demo_investor__init(inv);
        inv->id = s_str(investors[i][0]);
        inv->name = s_str(investors[i][1]);
        inv->score = 0.81 - 0.15 * (double)i;
        d->investors[d->n_investors++] = inv;
    }
    list->suggestions[list->n_suggestions++] = d;
    static const char *const cobalt_regions[] = {"FI1D7", "SE331", "EL64"};
    list->suggestions[list->n_suggestions++] =
        s_suggestion(2, "cobalt", cobalt_regions, 3, s_cobalt, 3, NULL, 0, s_why_cobalt, 0.829);
    list->ranking_rule = s_str("the mean of the strongest SMEs' scores, best first; ties: fewer "
                               "regions first");
    list->cover_method = s_str("exact");
    list->took_ms = 3.25;
    return list;
}

/* ---------------------------------------------------------------------------------------
 * Helpers: render into a string; the materials the SVG should show. */

/* With LS_TEST_REPORT_DIR set, the renderings are also written there, for a person
 * to look at (rsvg-convert -o map.png report-map.svg). */
static void s_keep(const char *name, const char *text)
{
    const char *dir = getenv("LS_TEST_REPORT_DIR");
    if (!dir)
        return;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    assert_int_equal(fclose(file), 0);
}

#define RENDER(fn, msg, text_p)                                                                    \
    do {                                                                                           \
        size_t len_;                                                                               \
        FILE *f_ = open_memstream((text_p), &len_);                                                \
        assert_non_null(f_);                                                                       \
        assert_int_equal(fn((msg), f_), 0);                                                        \
        assert_int_equal(fclose(f_), 0);                                                           \
    } while (0)

/* The materials with SMEs, most first, ties in taxonomy order, at most 25. */
static size_t s_expected_materials(size_t order[N_MATERIALS])
{
    size_t n = 0;
    for (size_t m = 0; m < N_MATERIALS; m++)
        if (s_material_total(m) > 0)
            order[n++] = m;
    for (size_t i = 1; i < n; i++) /* insertion sort: stable */
        for (size_t j = i; j > 0 && s_material_total(order[j]) > s_material_total(order[j - 1]);
             j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    return n > REPORT_SVG_MAX_MATERIALS ? REPORT_SVG_MAX_MATERIALS : n;
}

/* ---------------------------------------------------------------------------------------
 * The SVG read back with expat. */

typedef struct {
    char *facet, *region, *value;
    long count;
} s_cell_t;

typedef struct {
    int depth, panel_depth;
    char *facet; /* of the panel being read */
    s_cell_t cells[1024];
    size_t n_cells, outside, strengths, gaps, texts;
    char text[65536]; /* every text element's content, one per line */
    size_t text_len;
    bool in_text;
} s_svg_t;

static const char *s_attr(const char **attrs, const char *name)
{
    for (size_t i = 0; attrs[i]; i += 2)
        if (strcmp(attrs[i], name) == 0)
            return attrs[i + 1];
    return NULL;
}

static char *s_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void XMLCALL s_svg_start(void *data, const XML_Char *name, const XML_Char **attrs)
{
    s_svg_t *svg = data;
    svg->depth++;
    const char *class = s_attr(attrs, "class");
    if (strcmp(name, "g") == 0 && class && strcmp(class, "panel") == 0) {
        free(svg->facet);
        svg->facet = s_dup(s_attr(attrs, "data-facet"));
        svg->panel_depth = svg->depth;
    } else if (strcmp(name, "rect") == 0 && class && strcmp(class, "cell") == 0) {
        if (!svg->facet || svg->n_cells == sizeof svg->cells / sizeof *svg->cells) {
            svg->outside++;
            return;
        }
        const char *count = s_attr(attrs, "data-count");
        s_cell_t *cell = &svg->cells[svg->n_cells++];
        cell->facet = s_dup(svg->facet);
        cell->region = s_dup(s_attr(attrs, "data-region"));
        cell->value = s_dup(s_attr(attrs, "data-value"));
        cell->count = count ? strtol(count, NULL, 10) : -1;
    } else if (strcmp(name, "rect") == 0 && class && strcmp(class, "strength") == 0)
        svg->strengths++;
    else if (strcmp(name, "rect") == 0 && class && strcmp(class, "gap") == 0)
        svg->gaps++;
    else if (strcmp(name, "text") == 0 || strcmp(name, "title") == 0)
        svg->in_text = true;
}

static void XMLCALL s_svg_end(void *data, const XML_Char *name)
{
    s_svg_t *svg = data;
    if (svg->depth == svg->panel_depth) {
        free(svg->facet);
        svg->facet = NULL;
        svg->panel_depth = 0;
    }
    if (strcmp(name, "text") == 0 || strcmp(name, "title") == 0) {
        svg->in_text = false;
        svg->texts++;
        if (svg->text_len + 1 < sizeof svg->text)
            svg->text[svg->text_len++] = '\n';
    }
    svg->depth--;
}

static void XMLCALL s_svg_chars(void *data, const XML_Char *s, int len)
{
    s_svg_t *svg = data;
    if (svg->in_text && svg->text_len + (size_t)len + 1 < sizeof svg->text) {
        memcpy(svg->text + svg->text_len, s, (size_t)len);
        svg->text_len += (size_t)len;
        svg->text[svg->text_len] = '\0';
    }
}

/* Parses text; fails the test when it is not well-formed XML. */
static s_svg_t *s_svg_parse(const char *text)
{
    s_svg_t *svg = calloc(1, sizeof *svg);
    assert_non_null(svg);
    XML_Parser parser = XML_ParserCreate("UTF-8");
    assert_non_null(parser);
    XML_SetUserData(parser, svg);
    XML_SetElementHandler(parser, s_svg_start, s_svg_end);
    XML_SetCharacterDataHandler(parser, s_svg_chars);
    enum XML_Status status = XML_Parse(parser, text, (int)strlen(text), 1);
    if (status != XML_STATUS_OK)
        fail_msg("the SVG is not well-formed: %s at line %lu",
                 XML_ErrorString(XML_GetErrorCode(parser)),
                 (unsigned long)XML_GetCurrentLineNumber(parser));
    XML_ParserFree(parser);
    return svg;
}

static void s_svg_free(s_svg_t *svg)
{
    for (size_t i = 0; i < svg->n_cells; i++) {
        free(svg->cells[i].facet);
        free(svg->cells[i].region);
        free(svg->cells[i].value);
    }
    free(svg->facet);
    free(svg);
}

/* The panel's cells of region r and value, which must be exactly one. */
static const s_cell_t *s_svg_cell(const s_svg_t *svg, const char *facet, const char *region,
                                  const char *value)
{
    const s_cell_t *found = NULL;
    for (size_t i = 0; i < svg->n_cells; i++) {
        const s_cell_t *c = &svg->cells[i];
        if (strcmp(c->facet, facet) == 0 && c->region && strcmp(c->region, region) == 0 &&
            c->value && strcmp(c->value, value) == 0) {
            if (found)
                fail_msg("two cells for %s %s in %s", region, value, facet);
            found = c;
        }
    }
    if (!found)
        fail_msg("no cell for %s %s in %s", region, value, facet);
    return found;
}

static size_t s_svg_panel_cells(const s_svg_t *svg, const char *facet)
{
    size_t n = 0;
    for (size_t i = 0; i < svg->n_cells; i++)
        n += strcmp(svg->cells[i].facet, facet) == 0;
    return n;
}

/* The SVG: well-formed, a cell per region and stage and per region and shown
 * material with its count, in the order of the most SMEs; the strengths and gaps
 * marked; title, region names and table titles in its text. */
static void test_svg_cells(void **state)
{
    (void)state;
    Lodestone__V1__CapabilityMap *map = s_map();
    char *text = NULL;
    RENDER(report_map_svg, map, &text);
    s_keep("report-map.svg", text);
    s_svg_t *svg = s_svg_parse(text);

    assert_int_equal(svg->outside, 0);
    assert_int_equal(s_svg_panel_cells(svg, "sme_stage"), N_REGIONS * N_STAGES);
    for (size_t r = 0; r < N_REGIONS; r++)
        for (size_t s = 0; s < N_STAGES; s++)
            assert_int_equal(s_svg_cell(svg, "sme_stage", s_codes[r], s_stages[s])->count,
                             s_stage_counts[r][s]);

    size_t order[N_MATERIALS];
    size_t shown = s_expected_materials(order);
    assert_int_equal(shown, REPORT_SVG_MAX_MATERIALS);
    assert_int_equal(s_svg_panel_cells(svg, "sme_material"), N_REGIONS * shown);
    for (size_t r = 0; r < N_REGIONS; r++)
        for (size_t i = 0; i < shown; i++)
            assert_int_equal(
                s_svg_cell(svg, "sme_material", s_codes[r], s_materials[order[i]])->count,
                s_material_count(order[i], r));
    /* The columns in order: the first region's row, left to right. */
    size_t column = 0;
    for (size_t i = 0; i < svg->n_cells; i++)
        if (strcmp(svg->cells[i].facet, "sme_material") == 0 &&
            strcmp(svg->cells[i].region, s_codes[0]) == 0)
            assert_string_equal(svg->cells[i].value, s_materials[order[column++]]);
    assert_int_equal(column, shown);
    assert_true(s_material_total(1) == s_material_total(2)); /* nickel before copper */

    size_t strengths = 0, gaps = 0;
    for (size_t i = 0; i < map->tables[0]->n_cells; i++)
        strengths += map->tables[0]->cells[i]->strength;
    for (size_t i = 0; i < map->tables[1]->n_cells; i++) {
        const Lodestone__V1__MapCell *cell = map->tables[1]->cells[i];
        for (size_t j = 0; j < shown; j++)
            strengths += cell->strength && strcmp(cell->value, s_materials[order[j]]) == 0;
    }
    for (size_t g = 0; g < N_GAPS; g++)
        for (size_t j = 0; j < shown; j++)
            gaps += strcmp(s_gaps[g][0], s_materials[order[j]]) == 0;
    assert_true(strengths > 0);
    assert_int_equal(svg->strengths, strengths);
    assert_int_equal(gaps, 5); /* gallium and beryllium have no SME: not shown */
    assert_int_equal(svg->gaps, gaps);

    assert_non_null(strstr(svg->text, "Regional capability map\n"));
    for (size_t r = 0; r < N_REGIONS; r++)
        assert_non_null(strstr(svg->text, s_names[r]));
    for (size_t t = 0; t < 2; t++)
        assert_non_null(strstr(svg->text, map->tables[t]->title));
    assert_non_null(strstr(svg->text, "318 active SMEs"));
    assert_non_null(strstr(svg->text, "1 left out"));
    assert_non_null(strstr(svg->text, "2 more in materials not shown"));
    /* The rule, wrapped across the tspans of one text: its words, escaped and back. */
    assert_non_null(strstr(svg->text, "partnership's SMEs"));
    assert_non_null(strstr(svg->text, "'<3'"));
    s_svg_free(svg);
    free(text);
}

/* Names that need escaping, a control character and a byte that is not UTF-8 still
 * give well-formed XML that reads back as the names. */
static void test_svg_escapes(void **state)
{
    (void)state;
    Lodestone__V1__CapabilityMap *map = s_map();
    map->regions[2]->name = s_str("Tom's <\"R&D\"> land\x01\xff");
    map->regions[2]->code = s_str("X&Y");
    map->tables[0]->title = s_str("SMEs by stage & <region>");
    for (size_t i = 0; i < map->tables[0]->n_cells; i++)
        if (strcmp(map->tables[0]->cells[i]->region, "FI1D8") == 0)
            map->tables[0]->cells[i]->region = map->regions[2]->code;
    char *text = NULL;
    RENDER(report_map_svg, map, &text);
    s_svg_t *svg = s_svg_parse(text);
    assert_non_null(strstr(svg->text, "Tom's <\"R&D\"> land\xEF\xBF\xBD\n"));
    assert_non_null(strstr(svg->text, "SMEs by stage & <region>\n"));
    assert_int_equal(s_svg_cell(svg, "sme_stage", "X&Y", "exploration")->count,
                     s_stage_counts[2][0]);
    assert_null(strstr(text, "\x01"));
    s_svg_free(svg);
    free(text);
}

/* With fewer materials than the panel holds, every material with an SME is shown
 * and none without. */
static void test_svg_few_materials(void **state)
{
    (void)state;
    Lodestone__V1__CapabilityMap *map = s_map();
    Lodestone__V1__MapTable *materials = map->tables[1];
    static const size_t kept[] = {0, 3, 5, 26, 7, 27}; /* gallium, beryllium: no SME */
    materials->n_values = materials->n_totals = 0;
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) {
        materials->values[materials->n_values++] = s_str(s_materials[kept[i]]);
        materials->totals[materials->n_totals++] = s_material_total(kept[i]);
    }
    char *text = NULL;
    RENDER(report_map_svg, map, &text);
    s_svg_t *svg = s_svg_parse(text);
    assert_int_equal(s_svg_panel_cells(svg, "sme_material"), N_REGIONS * 4);
    for (size_t i = 0; i < svg->n_cells; i++) {
        assert_string_not_equal(svg->cells[i].value, "gallium");
        assert_string_not_equal(svg->cells[i].value, "beryllium");
    }
    assert_int_equal(s_svg_cell(svg, "sme_material", "SE331", "zinc")->count,
                     s_material_count(5, 3));
    assert_non_null(strstr(svg->text, "Every material with an SME (4)"));
    assert_null(strstr(svg->text, "left out"));
    s_svg_free(svg);
    free(text);
}

/* The same map gives the same bytes; a map with nothing in it is still an SVG. */
static void test_svg_deterministic_and_empty(void **state)
{
    (void)state;
    Lodestone__V1__CapabilityMap *map = s_map();
    char *a = NULL, *b = NULL;
    RENDER(report_map_svg, map, &a);
    RENDER(report_map_svg, map, &b);
    assert_string_equal(a, b);
    free(a);
    free(b);

    Lodestone__V1__CapabilityMap empty = LODESTONE__V1__CAPABILITY_MAP__INIT;
    char *text = NULL;
    RENDER(report_map_svg, &empty, &text);
    s_svg_t *svg = s_svg_parse(text);
    assert_int_equal(svg->n_cells, 0);
    assert_non_null(strstr(svg->text, "no stage or material table"));
    s_svg_free(svg);
    free(text);
}

/* ---------------------------------------------------------------------------------------
 * CSV read back: RFC 4180, strictly (CRLF after every record, quotes only around a whole
 * field, doubled inside). */

typedef struct {
    char **fields;
    size_t n;
} s_row_t;

typedef struct {
    s_row_t rows[1024];
    size_t n;
} s_csv_t;

static void s_csv_push(s_row_t *row, const char *start, size_t len)
{
    char **grown = realloc(row->fields, (row->n + 1) * sizeof *grown);
    assert_non_null(grown);
    row->fields = grown;
    row->fields[row->n] = malloc(len + 1);
    assert_non_null(row->fields[row->n]);
    memcpy(row->fields[row->n], start, len);
    row->fields[row->n++][len] = '\0';
}

static s_csv_t *s_csv_parse(const char *p)
{
    s_csv_t *csv = calloc(1, sizeof *csv);
    assert_non_null(csv);
    char *field = malloc(strlen(p) + 1);
    assert_non_null(field);
    while (*p) {
        assert_true(csv->n < sizeof csv->rows / sizeof *csv->rows);
        s_row_t *row = &csv->rows[csv->n++];
        for (;;) {
            size_t len = 0;
            if (*p == '"') {
                for (p++;; p++) {
                    if (!*p)
                        fail_msg("a quoted field is not closed");
                    if (*p == '"' && p[1] == '"')
                        field[len++] = *p++;
                    else if (*p == '"')
                        break;
                    else
                        field[len++] = *p;
                }
                p++;
            } else
                while (*p && *p != ',' && *p != '\r' && *p != '\n') {
                    if (*p == '"')
                        fail_msg("a quote in an unquoted field");
                    field[len++] = *p++;
                }
            s_csv_push(row, field, len);
            if (*p == ',') {
                p++;
                continue;
            }
            if (p[0] != '\r' || p[1] != '\n')
                fail_msg("record %zu does not end in CRLF", csv->n);
            p += 2;
            break;
        }
    }
    free(field);
    return csv;
}

static void s_csv_free(s_csv_t *csv)
{
    for (size_t r = 0; r < csv->n; r++) {
        for (size_t f = 0; f < csv->rows[r].n; f++)
            free(csv->rows[r].fields[f]);
        free(csv->rows[r].fields);
    }
    free(csv);
}

static void s_assert_row(const s_row_t *row, const char *const *want, size_t n)
{
    assert_int_equal(row->n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(row->fields[i], want[i]);
}

/* The map's CSV: the header, then every region x value of every table, zeros
 * included, with its count, the region's name and the strength. */
static void test_map_csv(void **state)
{
    (void)state;
    Lodestone__V1__CapabilityMap *map = s_map();
    char *text = NULL;
    RENDER(report_map_csv, map, &text);
    s_keep("report-map.csv", text);
    s_csv_t *csv = s_csv_parse(text);
    static const char *const header[] = {"facet", "region", "region_name", "value",
                                         "count", "share",  "strength"};
    s_assert_row(&csv->rows[0], header, 7);
    size_t want = 0;
    for (size_t t = 0; t < map->n_tables; t++)
        want += N_REGIONS * map->tables[t]->n_values;
    assert_int_equal(csv->n, 1 + want);
    size_t row = 1;
    for (size_t t = 0; t < map->n_tables; t++) {
        const Lodestone__V1__MapTable *table = map->tables[t];
        for (size_t r = 0; r < N_REGIONS; r++)
            for (size_t v = 0; v < table->n_values; v++) {
                const s_row_t *got = &csv->rows[row++];
                assert_int_equal(got->n, 7);
                assert_string_equal(got->fields[0], table->facet);
                assert_string_equal(got->fields[1], s_codes[r]);
                assert_string_equal(got->fields[2], s_names[r]);
                assert_string_equal(got->fields[3], table->values[v]);
                const Lodestone__V1__MapCell *cell = NULL;
                for (size_t c = 0; c < table->n_cells && !cell; c++)
                    if (strcmp(table->cells[c]->region, s_codes[r]) == 0 &&
                        strcmp(table->cells[c]->value, table->values[v]) == 0)
                        cell = table->cells[c];
                assert_int_equal(strtol(got->fields[4], NULL, 10), cell ? cell->count : 0);
                double share = strtod(got->fields[5], NULL);
                assert_true(share > (cell ? cell->share : 0) - 0.0001 &&
                            share < (cell ? cell->share : 0) + 0.0001);
                assert_string_equal(got->fields[6], cell && cell->strength ? "true" : "false");
            }
    }
    s_csv_free(csv);
    free(text);
}

/* The demonstrations' CSV: a row per suggestion and stage with its strongest SME,
 * then one per missing stage; names with quotes and commas, a newline in why_new. */
static void test_demos_csv(void **state)
{
    (void)state;
    Lodestone__V1__DemoList *demos = s_demos();
    char *text = NULL;
    RENDER(report_demos_csv, demos, &text);
    s_keep("report-demos.csv", text);
    /* A quote is doubled inside a quoted field. */
    assert_non_null(strstr(text, ",\"Smith & \"\"Sons\"\" <Oy>\","));
    s_csv_t *csv = s_csv_parse(text);
    static const char *const header[] = {"rank",   "material", "regions", "stage",     "region",
                                         "sme_id", "sme_name", "score",   "investors", "why_new"};
    s_assert_row(&csv->rows[0], header, 10);
    assert_int_equal(csv->n, 1 + 4 + 2 + 3);
    const char *investors = "Nordic Battery Fund;Iberian Green Capital, S.L.";
    for (size_t i = 0; i < 4; i++) {
        char score[16];
        snprintf(score, sizeof score, "%.3f", s_lithium[i].score);
        const char *want[] = {"1",
                              "lithium",
                              "FI1D3;ES12",
                              s_lithium[i].stage,
                              s_lithium[i].region,
                              s_lithium[i].id,
                              s_lithium[i].name,
                              score,
                              investors,
                              s_why_lithium};
        s_assert_row(&csv->rows[1 + i], want, 10);
    }
    static const char *const missing[] = {"refining", "recycling"};
    for (size_t i = 0; i < 2; i++) {
        const char *want[] = {"1", "lithium", "FI1D3;ES12", missing[i], "",
                              "",  "",        "",           investors,  s_why_lithium};
        s_assert_row(&csv->rows[5 + i], want, 10);
    }
    for (size_t i = 0; i < 3; i++) {
        char score[16];
        snprintf(score, sizeof score, "%.3f", s_cobalt[i].score);
        const char *want[] = {"2",
                              "cobalt",
                              "FI1D7;SE331;EL64",
                              s_cobalt[i].stage,
                              s_cobalt[i].region,
                              s_cobalt[i].id,
                              s_cobalt[i].name,
                              score,
                              "",
                              s_why_cobalt};
        s_assert_row(&csv->rows[7 + i], want, 10);
    }
    s_csv_free(csv);
    free(text);
}

/* ---------------------------------------------------------------------------------------
 * JSON both ways: message -> JSON -> message -> JSON gives the same text, and the
 * message read back packs to the same bytes and has the same fields. */

static char *s_json_text(const ProtobufCMessage *msg)
{
    json_t *json = ls_json_from_message(msg);
    assert_non_null(json);
    char *text = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(text);
    json_decref(json);
    return text;
}

static ProtobufCMessage *s_json_back(const ProtobufCMessageDescriptor *desc, const char *text)
{
    json_error_t error;
    json_t *json = json_loads(text, 0, &error);
    assert_non_null(json);
    char err[256];
    ProtobufCMessage *msg = ls_json_to_message(desc, json, err, sizeof err);
    if (!msg)
        fail_msg("JSON back to %s: %s", desc->name, err);
    json_decref(json);
    return msg;
}

static void s_assert_same_bytes(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t na = protobuf_c_message_get_packed_size(a), nb = protobuf_c_message_get_packed_size(b);
    assert_int_equal(na, nb);
    uint8_t *pa = malloc(na + 1), *pb = malloc(nb + 1);
    assert_non_null(pa);
    assert_non_null(pb);
    protobuf_c_message_pack(a, pa);
    protobuf_c_message_pack(b, pb);
    assert_memory_equal(pa, pb, na);
    free(pa);
    free(pb);
}

static void test_map_json(void **state)
{
    (void)state;
    Lodestone__V1__CapabilityMap *map = s_map();
    char *first = s_json_text(&map->base);
    Lodestone__V1__CapabilityMap *back = (Lodestone__V1__CapabilityMap *)s_json_back(
        &lodestone__v1__capability_map__descriptor, first);
    char *second = s_json_text(&back->base);
    assert_string_equal(first, second);

    assert_int_equal(back->n_regions, N_REGIONS);
    for (size_t r = 0; r < N_REGIONS; r++) {
        assert_string_equal(back->regions[r]->code, s_codes[r]);
        assert_string_equal(back->regions[r]->name, s_names[r]);
    }
    assert_int_equal(back->n_tables, map->n_tables);
    for (size_t t = 0; t < map->n_tables; t++) {
        const Lodestone__V1__MapTable *a = map->tables[t], *b = back->tables[t];
        assert_string_equal(b->facet, a->facet);
        assert_string_equal(b->title, a->title);
        assert_int_equal(b->n_values, a->n_values);
        for (size_t v = 0; v < a->n_values; v++) {
            assert_string_equal(b->values[v], a->values[v]);
            assert_int_equal(b->totals[v], a->totals[v]);
        }
        assert_int_equal(b->n_cells, a->n_cells);
        for (size_t c = 0; c < a->n_cells; c++) {
            assert_string_equal(b->cells[c]->region, a->cells[c]->region);
            assert_string_equal(b->cells[c]->value, a->cells[c]->value);
            assert_int_equal(b->cells[c]->count, a->cells[c]->count);
            assert_true(b->cells[c]->share == a->cells[c]->share);
            assert_int_equal(b->cells[c]->strength, a->cells[c]->strength);
        }
    }
    assert_int_equal(back->n_gaps, N_GAPS);
    for (size_t g = 0; g < N_GAPS; g++) {
        assert_string_equal(back->gaps[g]->material, s_gaps[g][0]);
        assert_string_equal(back->gaps[g]->stage, s_gaps[g][1]);
    }
    assert_int_equal(back->smes, 318);
    assert_int_equal(back->investors, 41);
    assert_int_equal(back->opportunities, 27);
    assert_string_equal(back->strength_rule, s_rule);
    assert_true(back->took_ms == 12.5);
    s_assert_same_bytes(&map->base, &back->base);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    free(first);
    free(second);
}

static void test_demos_json(void **state)
{
    (void)state;
    Lodestone__V1__DemoList *demos = s_demos();
    char *first = s_json_text(&demos->base);
    Lodestone__V1__DemoList *back =
        (Lodestone__V1__DemoList *)s_json_back(&lodestone__v1__demo_list__descriptor, first);
    char *second = s_json_text(&back->base);
    assert_string_equal(first, second);
    assert_int_equal(back->n_suggestions, 2);
    for (size_t i = 0; i < 2; i++) {
        const Lodestone__V1__DemoSuggestion *a = demos->suggestions[i], *b = back->suggestions[i];
        assert_int_equal(b->rank, a->rank);
        assert_string_equal(b->material, a->material);
        assert_int_equal(b->n_regions, a->n_regions);
        for (size_t r = 0; r < a->n_regions; r++)
            assert_string_equal(b->regions[r], a->regions[r]);
        assert_int_equal(b->n_stages, a->n_stages);
        assert_int_equal(b->n_missing, a->n_missing);
        for (size_t m = 0; m < a->n_missing; m++)
            assert_string_equal(b->missing[m], a->missing[m]);
        assert_int_equal(b->n_strongest, a->n_strongest);
        for (size_t s = 0; s < a->n_strongest; s++) {
            assert_string_equal(b->strongest[s]->stage, a->strongest[s]->stage);
            assert_string_equal(b->strongest[s]->region, a->strongest[s]->region);
            assert_string_equal(b->strongest[s]->sme_id, a->strongest[s]->sme_id);
            assert_string_equal(b->strongest[s]->sme_name, a->strongest[s]->sme_name);
            assert_true(b->strongest[s]->score == a->strongest[s]->score);
        }
        assert_int_equal(b->n_investors, a->n_investors);
        for (size_t v = 0; v < a->n_investors; v++) {
            assert_string_equal(b->investors[v]->id, a->investors[v]->id);
            assert_string_equal(b->investors[v]->name, a->investors[v]->name);
            assert_true(b->investors[v]->score == a->investors[v]->score);
        }
        assert_string_equal(b->why_new, a->why_new);
        assert_true(b->strength == a->strength);
    }
    assert_string_equal(back->ranking_rule, demos->ranking_rule);
    assert_string_equal(back->cover_method, "exact");
    assert_true(back->took_ms == 3.25);
    s_assert_same_bytes(&demos->base, &back->base);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    free(first);
    free(second);
}

/* ---------------------------------------------------------------------------------------
 * Text tables for people. */

/* Every line at most 100 columns (code points). */
static void s_assert_narrow(const char *text)
{
    size_t width = 0, line = 1;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            width = 0;
            line++;
        } else if (((unsigned char)*p & 0xC0) != 0x80 && ++width > 100)
            fail_msg("line %zu is wider than 100 columns", line);
    }
}

/* The line after `after` that starts with prefix, split at blanks into words. */
static size_t s_row_words(const char *text, const char *after, const char *prefix,
                          char words[16][32])
{
    const char *p = strstr(text, after);
    assert_non_null(p);
    size_t plen = strlen(prefix);
    while ((p = strchr(p, '\n')) != NULL) {
        p++;
        if (strncmp(p, prefix, plen) == 0 && p[plen] == ' ')
            break;
    }
    assert_non_null(p);
    size_t n = 0, len = strcspn(p, "\n");
    for (size_t i = 0; i < len && n < 16;) {
        i += strspn(p + i, " ");
        size_t w = strcspn(p + i, " \n");
        if (!w)
            break;
        snprintf(words[n++], 32, "%.*s", (int)w, p + i);
        i += w;
    }
    return n;
}

static void test_map_table(void **state)
{
    (void)state;
    Lodestone__V1__CapabilityMap *map = s_map();
    char *text = NULL;
    RENDER(report_map_table, map, &text);
    s_keep("report-map.txt", text);
    s_assert_narrow(text);
    for (size_t t = 0; t < map->n_tables; t++)
        assert_non_null(strstr(text, map->tables[t]->title));
    for (size_t r = 0; r < N_REGIONS; r++)
        assert_non_null(strstr(text, s_codes[r]));
    assert_non_null(strstr(text, "Lapland"));
    assert_non_null(strstr(text, "Kainuu"));
    /* exploration: 14 of 37 and 12 of 37 are strengths, the rest not, a zero is '-'. */
    char words[16][32];
    size_t n = s_row_words(text, "Active SMEs by value-chain stage", "exploration", words);
    static const char *const want[] = {"exploration", "14*", "5", "3", "12*", "2", "1", "-", "37"};
    assert_int_equal(n, 9);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(words[i], want[i]);
    /* The same stages in the investors' block, a different count. */
    n = s_row_words(text, "Investors by stage of interest", "exploration", words);
    assert_int_equal(n, 9);
    assert_string_equal(words[8], "11");
    /* Gaps by material, the totals, the rule. */
    n = s_row_words(text, "Gaps:", "  lithium", words);
    assert_int_equal(n, 3);
    assert_string_equal(words[1], "refining,");
    assert_string_equal(words[2], "recycling");
    assert_non_null(strstr(text, "Gaps: 7 stages"));
    assert_non_null(strstr(text, "318 active SMEs, 41 investors and 27 open opportunities"));
    assert_non_null(strstr(text, "* a strength: a region holds at least 30%"));
    free(text);
}

static void test_demos_table(void **state)
{
    (void)state;
    Lodestone__V1__DemoList *demos = s_demos();
    char *text = NULL;
    RENDER(report_demos_table, demos, &text);
    s_keep("report-demos.txt", text);
    s_assert_narrow(text);
    assert_non_null(strstr(text, "#1  lithium"));
    assert_non_null(strstr(text, "#2  cobalt"));
    assert_true(strstr(text, "#1  lithium") < strstr(text, "#2  cobalt"));
    for (size_t i = 0; i < 4; i++) {
        assert_non_null(strstr(text, s_lithium[i].name));
        assert_non_null(strstr(text, s_lithium[i].id));
    }
    for (size_t i = 0; i < 3; i++)
        assert_non_null(strstr(text, s_cobalt[i].name));
    /* The strongest SME of exploration: its name, id, region and score on one line. */
    char words[16][32];
    size_t n = s_row_words(text, "#1  lithium", "    strongest", words);
    static const char *const want[] = {"strongest", "exploration", "Smith", "&",    "\"Sons\"",
                                       "<Oy>",      "sme-0042",    "FI1D3", "0.912"};
    assert_int_equal(n, 9);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(words[i], want[i]);
    assert_non_null(strstr(text, "Nordic Battery Fund (inv-0007, 0.810);"));
    assert_non_null(strstr(text, "missing    refining, recycling"));
    assert_non_null(strstr(text, "why new    No single region has SMEs"));
    assert_non_null(strstr(text, " the \"upstream\", Asturias"));
    assert_non_null(strstr(text, "Ranking: the mean of the strongest"));
    assert_non_null(strstr(text, "Cover method: exact"));
    free(text);
}

/* A full disk is an error, not silence. */
static void test_write_errors(void **state)
{
    (void)state;
    FILE *full = fopen("/dev/full", "w");
    if (!full)
        skip();
    Lodestone__V1__CapabilityMap *map = s_map();
    Lodestone__V1__DemoList *demos = s_demos();
    assert_int_equal(report_map_svg(map, full), -1);
    clearerr(full);
    assert_int_equal(report_map_csv(map, full), -1);
    clearerr(full);
    assert_int_equal(report_map_table(map, full), -1);
    clearerr(full);
    assert_int_equal(report_demos_csv(demos, full), -1);
    clearerr(full);
    assert_int_equal(report_demos_table(demos, full), -1);
    fclose(full);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_svg_cells, s_arena_free),
        cmocka_unit_test_teardown(test_svg_escapes, s_arena_free),
        cmocka_unit_test_teardown(test_svg_few_materials, s_arena_free),
        cmocka_unit_test_teardown(test_svg_deterministic_and_empty, s_arena_free),
        cmocka_unit_test_teardown(test_map_csv, s_arena_free),
        cmocka_unit_test_teardown(test_demos_csv, s_arena_free),
        cmocka_unit_test_teardown(test_map_json, s_arena_free),
        cmocka_unit_test_teardown(test_demos_json, s_arena_free),
        cmocka_unit_test_teardown(test_map_table, s_arena_free),
        cmocka_unit_test_teardown(test_demos_table, s_arena_free),
        cmocka_unit_test_teardown(test_write_errors, s_arena_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
