/* report_render.c — the capability map and the demonstration suggestions as text
 * tables, CSV and an SVG heat map (report_render.h). Widths of text are counted in
 * code points, which is what a terminal shows for the partnership's Latin names. */
#include "report_render.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef Lodestone__V1__CapabilityMap map_pb;
typedef Lodestone__V1__MapTable table_pb;
typedef Lodestone__V1__DemoList demos_pb;
typedef Lodestone__V1__DemoSuggestion demo_pb;

/* ---------------------------------------------------------------------------
 * What every format shares: UTF-8 widths, and a table as a full grid. */

static bool s_continuation(char c)
{
    return ((unsigned char)c & 0xC0) == 0x80;
}

/* Code points in the first len bytes of s. */
static size_t s_width_n(const char *s, size_t len)
{
    size_t width = 0;
    for (size_t i = 0; i < len && s[i]; i++)
        width += !s_continuation(s[i]);
    return width;
}

static size_t s_width(const char *s)
{
    return s_width_n(s, strlen(s));
}

/* Bytes of the first n code points of s's first len bytes. */
static size_t s_prefix_n(const char *s, size_t len, size_t n)
{
    size_t i = 0;
    while (i < len && s[i] && n) {
        i++;
        while (i < len && s_continuation(s[i]))
            i++;
        n--;
    }
    return i;
}

static size_t s_prefix(const char *s, size_t n)
{
    return s_prefix_n(s, strlen(s), n);
}

/* Flushes out; 0 when everything written so far reached it. */
static int s_done(FILE *out, int rc)
{
    return fflush(out) == 0 && !ferror(out) && rc == 0 ? 0 : -1;
}

static const char *s_region_name(const map_pb *map, size_t i)
{
    return *map->regions[i]->name ? map->regions[i]->name : map->regions[i]->code;
}

static const table_pb *s_table(const map_pb *map, const char *facet)
{
    for (size_t i = 0; i < map->n_tables; i++)
        if (strcmp(map->tables[i]->facet, facet) == 0)
            return map->tables[i];
    return NULL;
}

/* A table's cells as a full regions x values grid, zeros included. */
typedef struct {
    size_t regions, values;
    uint32_t *count; /* region-major */
    double *share;
    bool *strength;
    uint32_t *total; /* per value */
} s_grid_t;

static void s_grid_destroy(s_grid_t **self_p)
{
    s_grid_t *self = *self_p;
    if (self) {
        free(self->count);
        free(self->share);
        free(self->strength);
        free(self->total);
        free(self);
        *self_p = NULL;
    }
}

static long s_find(char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return (long)i;
    return -1;
}

static long s_find_region(const map_pb *map, const char *code)
{
    for (size_t i = 0; i < map->n_regions; i++)
        if (strcmp(map->regions[i]->code, code) == 0)
            return (long)i;
    return -1;
}

/* Returns NULL when out of memory. Cells of regions or values the map does not
 * list are left out; totals are the table's, or the sums when it has none. */
static s_grid_t *s_grid_new(const map_pb *map, const table_pb *table)
{
    s_grid_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->regions = map->n_regions;
    self->values = table->n_values;
    size_t cells = self->regions * self->values + 1;
    self->count = calloc(cells, sizeof *self->count);
    self->share = calloc(cells, sizeof *self->share);
    self->strength = calloc(cells, sizeof *self->strength);
    self->total = calloc(self->values + 1, sizeof *self->total);
    if (!self->count || !self->share || !self->strength || !self->total) {
        s_grid_destroy(&self);
        return NULL;
    }
    for (size_t i = 0; i < table->n_cells; i++) {
        const Lodestone__V1__MapCell *cell = table->cells[i];
        long r = s_find_region(map, cell->region);
        long v = s_find(table->values, table->n_values, cell->value);
        if (r < 0 || v < 0)
            continue;
        size_t k = (size_t)r * self->values + (size_t)v;
        self->count[k] = cell->count;
        self->share[k] = cell->share;
        self->strength[k] = cell->strength;
    }
    for (size_t v = 0; v < self->values; v++) {
        if (table->n_totals == table->n_values)
            self->total[v] = table->totals[v];
        else
            for (size_t r = 0; r < self->regions; r++)
                self->total[v] += self->count[r * self->values + v];
    }
    return self;
}

/* ---------------------------------------------------------------------------
 * Text for people: lines built in a buffer (so trailing blanks can go), and
 * paragraphs wrapped at word boundaries. */

#define S_TERM_WIDTH 100
#define S_LABEL_MAX 24 /* a value's column */
#define S_COL_MIN 7    /* a region's column, with its two blanks */
#define S_COL_MAX 13
#define S_HEAD_LINES 3  /* lines for a region's name over its column */
#define S_HEAD_BYTES 64 /* S_COL_MAX code points of 4 bytes, and more */

typedef struct {
    char text[1024];
    size_t len;
} s_line_t;

__attribute__((format(printf, 2, 3))) static void s_line_printf(s_line_t *line, const char *fmt,
                                                                ...)
{
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(line->text + line->len, sizeof line->text - line->len, fmt, args);
    va_end(args);
    if (n > 0)
        line->len += (size_t)n < sizeof line->text - line->len ? (size_t)n
                                                               : sizeof line->text - line->len - 1;
}

/* Appends s in a field of w columns; a longer s is cut and ends in '.'. */
static void s_line_field(s_line_t *line, const char *s, size_t w, bool right)
{
    size_t width = s_width(s), bytes = strlen(s);
    const char *cut = "";
    if (width > w) {
        bytes = w ? s_prefix(s, w - 1) : 0;
        cut = w ? "." : "";
        width = w;
    }
    int pad = (int)(w - width);
    s_line_printf(line, "%*s%.*s%s%*s", right ? pad : 0, "", (int)bytes, s, cut, right ? 0 : pad,
                  "");
}

static void s_line_end(s_line_t *line, FILE *out)
{
    while (line->len && line->text[line->len - 1] == ' ')
        line->len--;
    fwrite(line->text, 1, line->len, out);
    fputc('\n', out);
    line->len = 0;
}

/* Words written one after another, a new line (indented) when the next would pass
 * the width; a word is never split. */
typedef struct {
    FILE *out;
    size_t col, indent, width;
    bool fresh; /* no word on this line yet */
} s_wrap_t;

static s_wrap_t s_wrap_start(FILE *out, size_t col, size_t indent)
{
    return (s_wrap_t){
        .out = out, .col = col, .indent = indent, .width = S_TERM_WIDTH, .fresh = true};
}

static void s_wrap_word(s_wrap_t *w, const char *word, size_t bytes)
{
    size_t width = s_width_n(word, bytes);
    if (!w->fresh && w->col + 1 + width > w->width) {
        fprintf(w->out, "\n%*s", (int)w->indent, "");
        w->col = w->indent;
        w->fresh = true;
    }
    if (!w->fresh) {
        fputc(' ', w->out);
        w->col++;
    }
    fwrite(word, 1, bytes, w->out);
    w->col += width;
    w->fresh = false;
}

static void s_wrap_text(s_wrap_t *w, const char *text)
{
    while (*text) {
        text += strspn(text, " \t\r\n");
        size_t bytes = strcspn(text, " \t\r\n");
        if (bytes)
            s_wrap_word(w, text, bytes);
        text += bytes;
    }
}

/* Items joined by sep (", ", "; "), the separator kept with its item. */
static void s_wrap_list(s_wrap_t *w, char **items, size_t n, const char *sep)
{
    for (size_t i = 0; i < n; i++) {
        char word[512];
        snprintf(word, sizeof word, "%s%s", items[i], i + 1 < n ? sep : "");
        s_wrap_text(w, word);
    }
}

static void s_wrap_end(s_wrap_t *w)
{
    fputc('\n', w->out);
}

/* Splits name at blanks into at most S_HEAD_LINES lines of at most w code points;
 * a word longer than w is cut and ends in '.'. Returns the number of lines. */
static size_t s_head_lines(const char *name, size_t w, char lines[S_HEAD_LINES][S_HEAD_BYTES])
{
    size_t n = 0, used = 0;
    memset(lines, 0, S_HEAD_LINES * S_HEAD_BYTES);
    while (*name && n < S_HEAD_LINES) {
        name += strspn(name, " ");
        size_t bytes = strcspn(name, " ");
        size_t width = s_width_n(name, bytes);
        if (!bytes)
            break;
        if (used && used + 1 + width > w) {
            n++;
            used = 0;
            if (n == S_HEAD_LINES)
                break;
        }
        char *line = lines[n];
        size_t len = strlen(line);
        if (used) {
            line[len++] = ' ';
            used++;
        }
        if (width > w) { /* only on an empty line */
            size_t keep = s_prefix_n(name, bytes, w - 1);
            memcpy(line + len, name, keep);
            line[len + keep] = '.';
            used = w;
        } else {
            memcpy(line + len, name, bytes);
            used += width;
        }
        name += bytes;
    }
    return n < S_HEAD_LINES && used ? n + 1 : n;
}

/* The column layout every block of the map shares. */
typedef struct {
    size_t label_w; /* the values' column */
    size_t col_w;   /* a region's column, two blanks included */
    size_t head_lines;
    char (*heads)[S_HEAD_LINES][S_HEAD_BYTES]; /* per region */
} s_layout_t;

static int s_layout_init(s_layout_t *self, const map_pb *map)
{
    self->label_w = strlen("value");
    for (size_t t = 0; t < map->n_tables; t++)
        for (size_t v = 0; v < map->tables[t]->n_values; v++) {
            size_t width = s_width(map->tables[t]->values[v]);
            self->label_w = width > self->label_w ? width : self->label_w;
        }
    self->label_w = self->label_w > S_LABEL_MAX ? S_LABEL_MAX : self->label_w;
    size_t room = S_TERM_WIDTH - self->label_w - 8; /* 8: the total's column */
    self->col_w = map->n_regions ? room / map->n_regions : S_COL_MAX;
    self->col_w = self->col_w < S_COL_MIN   ? S_COL_MIN
                  : self->col_w > S_COL_MAX ? S_COL_MAX
                                            : self->col_w;
    self->heads = calloc(map->n_regions + 1, sizeof *self->heads);
    if (!self->heads)
        return -1;
    self->head_lines = 0;
    for (size_t r = 0; r < map->n_regions; r++) {
        size_t n = s_head_lines(s_region_name(map, r), self->col_w - 2, self->heads[r]);
        self->head_lines = n > self->head_lines ? n : self->head_lines;
    }
    return 0;
}

static void s_map_block(FILE *out, const map_pb *map, const table_pb *table, const s_grid_t *grid,
                        const s_layout_t *layout)
{
    size_t content = layout->col_w - 2;
    fprintf(out, "%s  [%s]\n", *table->title ? table->title : table->facet, table->facet);
    s_line_t line = {.len = 0};
    for (size_t h = 0; h <= layout->head_lines; h++) { /* line 0: the codes */
        s_line_field(&line, "", layout->label_w, false);
        for (size_t r = 0; r < map->n_regions; r++) {
            s_line_printf(&line, "  ");
            s_line_field(&line, h ? layout->heads[r][h - 1] : map->regions[r]->code, content, true);
        }
        s_line_printf(&line, "%s", h ? "" : "   total");
        s_line_end(&line, out);
    }
    size_t rule = layout->label_w + map->n_regions * layout->col_w + 8;
    for (size_t i = 0; i < rule; i++)
        fputc('-', out);
    fputc('\n', out);
    for (size_t v = 0; v < grid->values; v++) {
        s_line_field(&line, table->values[v], layout->label_w, false);
        for (size_t r = 0; r < grid->regions; r++) {
            size_t k = r * grid->values + v;
            char cell[32];
            if (grid->count[k])
                snprintf(cell, sizeof cell, "%u%c", grid->count[k], grid->strength[k] ? '*' : ' ');
            else
                snprintf(cell, sizeof cell, "- ");
            s_line_printf(&line, "  ");
            s_line_field(&line, cell, content, true);
        }
        s_line_printf(&line, "  %6u", grid->total[v]);
        s_line_end(&line, out);
    }
}

static void s_map_gaps(FILE *out, const map_pb *map)
{
    if (!map->n_gaps) {
        fputs("Gaps: none; every stage of every active material's chain has an SME in the "
              "partnership.\n",
              out);
        return;
    }
    fprintf(out, "Gaps: %zu stage%s of materials' chains that no SME of the partnership covers\n",
            map->n_gaps, map->n_gaps == 1 ? "" : "s");
    size_t mat_w = 0;
    for (size_t i = 0; i < map->n_gaps; i++) {
        size_t width = s_width(map->gaps[i]->material);
        mat_w = width > mat_w ? width : mat_w;
    }
    mat_w = mat_w > S_LABEL_MAX ? S_LABEL_MAX : mat_w;
    for (size_t i = 0; i < map->n_gaps; i++) {
        const char *material = map->gaps[i]->material;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(map->gaps[j]->material, material) == 0;
        if (seen)
            continue;
        s_line_t line = {.len = 0};
        s_line_printf(&line, "  ");
        s_line_field(&line, material, mat_w, false);
        s_line_printf(&line, "  ");
        fwrite(line.text, 1, line.len, out);
        s_wrap_t w = s_wrap_start(out, 4 + mat_w, 4 + mat_w);
        size_t stages = 0, done = 0;
        for (size_t j = i; j < map->n_gaps; j++)
            stages += strcmp(map->gaps[j]->material, material) == 0;
        for (size_t j = i; j < map->n_gaps; j++)
            if (strcmp(map->gaps[j]->material, material) == 0) {
                char word[256];
                snprintf(word, sizeof word, "%s%s", map->gaps[j]->stage,
                         ++done < stages ? "," : "");
                s_wrap_text(&w, word);
            }
        s_wrap_end(&w);
    }
}

int report_map_table(const Lodestone__V1__CapabilityMap *map, FILE *out)
{
    s_layout_t layout;
    if (s_layout_init(&layout, map))
        return -1;
    int rc = 0;
    for (size_t t = 0; t < map->n_tables && rc == 0; t++) {
        s_grid_t *grid = s_grid_new(map, map->tables[t]);
        if (!grid) {
            rc = -1;
            break;
        }
        s_map_block(out, map, map->tables[t], grid, &layout);
        fputc('\n', out);
        s_grid_destroy(&grid);
    }
    free(layout.heads);
    s_map_gaps(out, map);
    fprintf(out,
            "\nTotals: %llu active SMEs, %llu investors and %llu open opportunities in the "
            "partnership's %zu regions.\n",
            (unsigned long long)map->smes, (unsigned long long)map->investors,
            (unsigned long long)map->opportunities, map->n_regions);
    if (*map->strength_rule) {
        fputs("* a strength: ", out);
        s_wrap_t w = s_wrap_start(out, 14, 2);
        s_wrap_text(&w, map->strength_rule);
        s_wrap_end(&w);
    }
    return s_done(out, rc);
}

/* ---------------------------------------------------------------------------
 * The demonstration suggestions for people. */

#define S_DEMO_INDENT 15 /* "    strongest  " */

static size_t s_max_width(size_t current, const char *s)
{
    size_t width = s_width(s);
    return width > current ? width : current;
}

static void s_demo_strongest(FILE *out, const demo_pb *demo)
{
    size_t stage_w = 0, name_w = 0, id_w = 0, region_w = 0;
    for (size_t i = 0; i < demo->n_strongest; i++) {
        stage_w = s_max_width(stage_w, demo->strongest[i]->stage);
        name_w = s_max_width(name_w, demo->strongest[i]->sme_name);
        id_w = s_max_width(id_w, demo->strongest[i]->sme_id);
        region_w = s_max_width(region_w, demo->strongest[i]->region);
    }
    stage_w = stage_w > 16 ? 16 : stage_w;
    id_w = id_w > 24 ? 24 : id_w;
    size_t fixed = S_DEMO_INDENT + stage_w + id_w + region_w + 5 + 8;
    size_t room = S_TERM_WIDTH > fixed + 12 ? S_TERM_WIDTH - fixed : 12;
    name_w = name_w > room ? room : name_w;
    for (size_t i = 0; i < demo->n_strongest; i++) {
        const Lodestone__V1__DemoStage *s = demo->strongest[i];
        s_line_t line = {.len = 0};
        s_line_printf(&line, "%-*s", S_DEMO_INDENT, i ? "" : "    strongest");
        s_line_field(&line, s->stage, stage_w, false);
        s_line_printf(&line, "  ");
        s_line_field(&line, s->sme_name, name_w, false);
        s_line_printf(&line, "  ");
        s_line_field(&line, s->sme_id, id_w, false);
        s_line_printf(&line, "  ");
        s_line_field(&line, s->region, region_w, false);
        s_line_printf(&line, "  %.3f", s->score);
        s_line_end(&line, out);
    }
}

/* "    label      " then the rest wrapped under it. */
static s_wrap_t s_demo_field(FILE *out, const char *label)
{
    fprintf(out, "    %-*s", S_DEMO_INDENT - 4, label);
    return s_wrap_start(out, S_DEMO_INDENT, S_DEMO_INDENT);
}

static void s_demo_text(FILE *out, const demo_pb *demo)
{
    fprintf(out, "#%u  %s  (strength %.3f)\n", demo->rank, demo->material, demo->strength);
    s_wrap_t w = s_demo_field(out, "regions");
    s_wrap_list(&w, demo->regions, demo->n_regions, " +");
    s_wrap_end(&w);
    w = s_demo_field(out, "covers");
    s_wrap_list(&w, demo->stages, demo->n_stages, ",");
    s_wrap_end(&w);
    if (demo->n_missing) {
        w = s_demo_field(out, "missing");
        s_wrap_list(&w, demo->missing, demo->n_missing, ",");
        s_wrap_end(&w);
    }
    s_demo_strongest(out, demo);
    if (demo->n_investors) {
        w = s_demo_field(out, "investors");
        for (size_t i = 0; i < demo->n_investors; i++) {
            const Lodestone__V1__DemoInvestor *inv = demo->investors[i];
            char item[512];
            snprintf(item, sizeof item, "%s (%s, %.3f)%s", inv->name, inv->id, inv->score,
                     i + 1 < demo->n_investors ? ";" : "");
            s_wrap_text(&w, item);
        }
        s_wrap_end(&w);
    }
    if (*demo->why_new) {
        w = s_demo_field(out, "why new");
        s_wrap_text(&w, demo->why_new);
        s_wrap_end(&w);
    }
}

int report_demos_table(const Lodestone__V1__DemoList *demos, FILE *out)
{
    if (demos->n_suggestions)
        fprintf(out, "Joint demonstrations: %zu suggestion%s, best first\n\n", demos->n_suggestions,
                demos->n_suggestions == 1 ? "" : "s");
    else
        fputs("Joint demonstrations: no suggestion\n\n", out);
    for (size_t i = 0; i < demos->n_suggestions; i++) {
        s_demo_text(out, demos->suggestions[i]);
        fputc('\n', out);
    }
    if (*demos->ranking_rule) {
        fputs("Ranking: ", out);
        s_wrap_t w = s_wrap_start(out, 9, 2);
        s_wrap_text(&w, demos->ranking_rule);
        s_wrap_end(&w);
    }
    if (*demos->cover_method) {
        fputs("Cover method: ", out);
        s_wrap_t w = s_wrap_start(out, 14, 2);
        s_wrap_text(&w, demos->cover_method);
        s_wrap_end(&w);
    }
    return s_done(out, 0);
}

/* ---------------------------------------------------------------------------
 * CSV (RFC 4180): a field is quoted when it holds a comma, a quote or a line
 * break, its quotes doubled; records end in CRLF. */

static void s_csv_field(FILE *out, const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', out);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', out);
            fputc(*s, out);
        }
        fputc('"', out);
    } else
        fputs(s, out);
    fputs(last ? "\r\n" : ",", out);
}

/* Items joined by sep into buf (cut at its size). */
static const char *s_join(char *buf, size_t size, char **items, size_t n, const char *sep)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < size; i++) {
        int w = snprintf(buf + len, size - len, "%s%s", i ? sep : "", items[i]);
        len += w > 0 ? (size_t)w : 0;
    }
    return buf;
}

int report_map_csv(const Lodestone__V1__CapabilityMap *map, FILE *out)
{
    fputs("facet,region,region_name,value,count,share,strength\r\n", out);
    int rc = 0;
    for (size_t t = 0; t < map->n_tables && rc == 0; t++) {
        const table_pb *table = map->tables[t];
        s_grid_t *grid = s_grid_new(map, table);
        if (!grid) {
            rc = -1;
            break;
        }
        for (size_t r = 0; r < grid->regions; r++)
            for (size_t v = 0; v < grid->values; v++) {
                size_t k = r * grid->values + v;
                char count[16], share[32];
                snprintf(count, sizeof count, "%u", grid->count[k]);
                snprintf(share, sizeof share, "%.4f", grid->share[k]);
                s_csv_field(out, table->facet, false);
                s_csv_field(out, map->regions[r]->code, false);
                s_csv_field(out, map->regions[r]->name, false);
                s_csv_field(out, table->values[v], false);
                s_csv_field(out, count, false);
                s_csv_field(out, share, false);
                s_csv_field(out, grid->strength[k] ? "true" : "false", true);
            }
        s_grid_destroy(&grid);
    }
    return s_done(out, rc);
}

/* One row; stage NULL for a missing stage (region, SME and score empty). */
static void s_demo_csv_row(FILE *out, const demo_pb *demo, const Lodestone__V1__DemoStage *stage,
                           const char *missing, const char *regions, const char *investors)
{
    char rank[16], score[32] = "";
    snprintf(rank, sizeof rank, "%u", demo->rank);
    if (stage)
        snprintf(score, sizeof score, "%.3f", stage->score);
    s_csv_field(out, rank, false);
    s_csv_field(out, demo->material, false);
    s_csv_field(out, regions, false);
    s_csv_field(out, stage ? stage->stage : missing, false);
    s_csv_field(out, stage ? stage->region : "", false);
    s_csv_field(out, stage ? stage->sme_id : "", false);
    s_csv_field(out, stage ? stage->sme_name : "", false);
    s_csv_field(out, score, false);
    s_csv_field(out, investors, false);
    s_csv_field(out, demo->why_new, true);
}

int report_demos_csv(const Lodestone__V1__DemoList *demos, FILE *out)
{
    fputs("rank,material,regions,stage,region,sme_id,sme_name,score,investors,why_new\r\n", out);
    for (size_t i = 0; i < demos->n_suggestions; i++) {
        const demo_pb *demo = demos->suggestions[i];
        char regions[1024], investors[4096];
        s_join(regions, sizeof regions, demo->regions, demo->n_regions, ";");
        size_t len = 0;
        investors[0] = '\0';
        for (size_t j = 0; j < demo->n_investors && len < sizeof investors; j++) {
            int w = snprintf(investors + len, sizeof investors - len, "%s%s", j ? ";" : "",
                             demo->investors[j]->name);
            len += w > 0 ? (size_t)w : 0;
        }
        for (size_t j = 0; j < demo->n_strongest; j++)
            s_demo_csv_row(out, demo, demo->strongest[j], NULL, regions, investors);
        for (size_t j = 0; j < demo->n_missing; j++)
            s_demo_csv_row(out, demo, NULL, demo->missing[j], regions, investors);
    }
    return s_done(out, 0);
}

/* ---------------------------------------------------------------------------
 * SVG: a heat map for a slide. Text widths are estimated (S_EM of the font size
 * per code point), generously, so labels do not collide in any sans-serif. */

#define S_FONT "Helvetica, Arial, sans-serif"
#define S_EM 0.58
#define S_MARGIN 40.0
#define S_ROW_H 34.0        /* a region's row */
#define S_MAT_W 44.0        /* a material's column */
#define S_STAGE_MIN_W 84.0  /* a stage's column, at least */
#define S_STAGE_MAX_W 170.0 /* when it widens to the material panel's width */
#define S_GAP_ROW_H 20.0
#define S_PANEL_GAP 34.0
#define S_MAT_LABEL_MAX 22 /* code points of a column label; longer ones end in "…" */
#define S_INK "#1f2937"
#define S_MUTED "#6b7280"
#define S_RULE "#d1d5db"
#define S_ZERO "#f1f3f6"
#define S_STRENGTH "#e66100" /* orange: apart from the blues for every colour vision */
#define S_HATCH "#4b5563"
#define S_COS45 0.7071

static double s_text_w(const char *s, double size)
{
    return (double)s_width(s) * size * S_EM;
}

/* Length of the UTF-8 sequence at p (at most left bytes) that XML 1.0 allows;
 * 0 when it is not one. */
static size_t s_utf8_len(const unsigned char *p, size_t left)
{
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t n;
    uint32_t cp;
    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xE0) == 0xC0)
        n = 2, cp = p[0] & 0x1Fu;
    else if ((p[0] & 0xF0) == 0xE0)
        n = 3, cp = p[0] & 0x0Fu;
    else if ((p[0] & 0xF8) == 0xF0)
        n = 4, cp = p[0] & 0x07u;
    else
        return 0;
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE ||
        cp == 0xFFFF)
        return 0;
    return n;
}

/* Writes len bytes of s as XML text or a quoted attribute's value: & < > " '
 * escaped, control characters XML forbids dropped, bytes that are not UTF-8
 * replaced by U+FFFD. */
static void s_xml_n(FILE *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end && *p) {
        size_t n = s_utf8_len(p, (size_t)(end - p));
        if (n == 0) {
            fputs("\xEF\xBF\xBD", out);
            p++;
            continue;
        }
        if (n > 1)
            fwrite(p, 1, n, out);
        else if (*p == '&')
            fputs("&amp;", out);
        else if (*p == '<')
            fputs("&lt;", out);
        else if (*p == '>')
            fputs("&gt;", out);
        else if (*p == '"')
            fputs("&quot;", out);
        else if (*p == '\'')
            fputs("&apos;", out);
        else if (*p >= 0x20 || *p == '\t' || *p == '\n' || *p == '\r')
            fputc(*p, out);
        p += n;
    }
}

static void s_xml(FILE *out, const char *s)
{
    s_xml_n(out, s, strlen(s));
}

/* s cut to max code points, ending in "…" when cut. */
static void s_xml_cut(FILE *out, const char *s, size_t max)
{
    if (s_width(s) <= max)
        s_xml(out, s);
    else {
        s_xml_n(out, s, s_prefix(s, max - 1));
        fputs("\xE2\x80\xA6", out);
    }
}

/* The sequential scale: ColorBrewer's Blues from light to dark. */
typedef struct {
    double r, g, b;
} s_rgb_t;

static const s_rgb_t s_blues[] = {{198, 219, 239}, {158, 202, 225}, {107, 174, 214}, {66, 146, 198},
                                  {33, 113, 181},  {8, 81, 156},    {8, 48, 107}};
#define S_BLUES (sizeof s_blues / sizeof *s_blues)

static s_rgb_t s_colour(double t)
{
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double x = t * (double)(S_BLUES - 1);
    size_t i = (size_t)x < S_BLUES - 1 ? (size_t)x : S_BLUES - 2;
    double f = x - (double)i;
    const s_rgb_t *a = &s_blues[i], *b = &s_blues[i + 1];
    return (s_rgb_t){a->r + (b->r - a->r) * f, a->g + (b->g - a->g) * f, a->b + (b->b - a->b) * f};
}

/* Where count sits on the scale of a panel whose largest count is max. */
static double s_scale_t(uint32_t count, uint32_t max)
{
    return max > 1 ? (double)(count - 1) / (double)(max - 1) : 1.0;
}

static void s_hex(char buf[8], s_rgb_t c)
{
    snprintf(buf, 8, "#%02x%02x%02x", (unsigned)lround(c.r) & 0xFF, (unsigned)lround(c.g) & 0xFF,
             (unsigned)lround(c.b) & 0xFF);
}

static double s_luminance(s_rgb_t c)
{
    double ch[3] = {c.r / 255, c.g / 255, c.b / 255};
    for (int i = 0; i < 3; i++)
        ch[i] = ch[i] <= 0.03928 ? ch[i] / 12.92 : pow((ch[i] + 0.055) / 1.055, 2.4);
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
}

/* White text on fills where it has more contrast than the dark ink (WCAG). */
static const char *s_text_on(s_rgb_t fill)
{
    double l = s_luminance(fill);
    double ink = 0.0137; /* S_INK's luminance */
    return 1.05 / (l + 0.05) > (l + 0.05) / (ink + 0.05) ? "#ffffff" : S_INK;
}

/* One panel: a table's grid, the values shown, and where it sits. */
typedef struct {
    const char *facet;
    const table_pb *table;
    s_grid_t *grid;
    size_t *cols; /* the value indexes shown, in order */
    size_t n_cols;
    size_t with_smes; /* values with at least one SME */
    uint32_t max;
    double cell_w;
    bool rotate;            /* column labels at 45 degrees */
    double head_h, label_h; /* the heading's band, the column labels' band */
    char note[160];         /* under the heading: what was left out */
    size_t *gap_stages;     /* the stage table's values with a gap among cols */
    size_t n_gap_stages;
    size_t gaps_shown, gaps_hidden;
} s_panel_t;

static void s_panel_free(s_panel_t *p)
{
    s_grid_destroy(&p->grid);
    free(p->cols);
    free(p->gap_stages);
}

typedef struct {
    size_t index;
    uint32_t total;
} s_rank_t;

static int s_rank_cmp(const void *a, const void *b)
{
    const s_rank_t *x = a, *y = b;
    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static bool s_is_gap(const map_pb *map, const char *material, const char *stage)
{
    for (size_t i = 0; i < map->n_gaps; i++)
        if (strcmp(map->gaps[i]->material, material) == 0 &&
            strcmp(map->gaps[i]->stage, stage) == 0)
            return true;
    return false;
}

/* The stages (rows of the gap strip) with a gap in a material shown. */
static int s_panel_gaps(s_panel_t *p, const map_pb *map, const table_pb *stages)
{
    size_t n_stages = stages ? stages->n_values : 0;
    p->gap_stages = calloc(n_stages + 1, sizeof *p->gap_stages);
    if (!p->gap_stages)
        return -1;
    for (size_t s = 0; s < n_stages; s++) {
        bool any = false;
        for (size_t c = 0; c < p->n_cols; c++)
            if (s_is_gap(map, p->table->values[p->cols[c]], stages->values[s])) {
                any = true;
                p->gaps_shown++;
            }
        if (any)
            p->gap_stages[p->n_gap_stages++] = s;
    }
    p->gaps_hidden = map->n_gaps - (p->gaps_shown < map->n_gaps ? p->gaps_shown : map->n_gaps);
    return 0;
}

/* Every value for stages; the materials with SMEs, most first, at most
 * REPORT_SVG_MAX_MATERIALS. */
static int s_panel_init(s_panel_t *p, const map_pb *map, const char *facet, bool by_total)
{
    memset(p, 0, sizeof *p);
    p->facet = facet;
    p->table = s_table(map, facet);
    if (!p->table)
        return 0;
    p->grid = s_grid_new(map, p->table);
    s_rank_t *rank = calloc(p->table->n_values + 1, sizeof *rank);
    p->cols = calloc(p->table->n_values + 1, sizeof *p->cols);
    if (!p->grid || !rank || !p->cols) {
        free(rank);
        return -1;
    }
    size_t n = 0;
    for (size_t v = 0; v < p->table->n_values; v++) {
        p->with_smes += p->grid->total[v] > 0;
        if (!by_total || p->grid->total[v] > 0)
            rank[n++] = (s_rank_t){v, p->grid->total[v]};
    }
    if (by_total)
        qsort(rank, n, sizeof *rank, s_rank_cmp);
    p->n_cols = by_total && n > REPORT_SVG_MAX_MATERIALS ? REPORT_SVG_MAX_MATERIALS : n;
    for (size_t c = 0; c < p->n_cols; c++)
        p->cols[c] = rank[c].index;
    free(rank);
    for (size_t c = 0; c < p->n_cols; c++)
        for (size_t r = 0; r < p->grid->regions; r++) {
            uint32_t count = p->grid->count[r * p->grid->values + p->cols[c]];
            p->max = count > p->max ? count : p->max;
        }
    if (by_total && p->with_smes > p->n_cols)
        snprintf(p->note, sizeof p->note,
                 "%zu of the %zu materials with SMEs, most SMEs first (%zu left out)", p->n_cols,
                 p->with_smes, p->with_smes - p->n_cols);
    else if (by_total)
        snprintf(p->note, sizeof p->note, "Every material with an SME (%zu), most SMEs first",
                 p->n_cols);
    return by_total ? s_panel_gaps(p, map, s_table(map, "sme_stage")) : 0;
}

/* Column widths and label bands. */
static void s_panel_measure(s_panel_t *p, bool wide_cells)
{
    double widest = 0;
    for (size_t c = 0; p->table && c < p->n_cols; c++) {
        double w = s_text_w(p->table->values[p->cols[c]], 13);
        widest = w > widest ? w : widest;
    }
    if (wide_cells) {
        p->cell_w = widest + 20 < S_STAGE_MIN_W ? S_STAGE_MIN_W : widest + 20;
        p->cell_w = p->cell_w > S_STAGE_MAX_W ? S_STAGE_MAX_W : p->cell_w;
    } else
        p->cell_w = S_MAT_W;
    p->rotate = widest > p->cell_w - 8;
    double cut = (double)S_MAT_LABEL_MAX * 13 * S_EM;
    widest = widest > cut ? cut : widest;
    p->head_h = *p->note ? 58 : 42;
    p->label_h = p->rotate ? widest * S_COS45 + 22 : 26;
}

#define S_LEGEND_W 300 /* the colour bar, its caption and some air */

/* The panel's right edge: its cells, the labels that lean out to the right, and
 * the heading and the note beside the colour bar. */
static double s_panel_right(const s_panel_t *p, double x0)
{
    double right = x0 + (double)p->n_cols * p->cell_w;
    for (size_t c = 0; p->rotate && c < p->n_cols; c++) {
        double w = s_text_w(p->table->values[p->cols[c]], 13);
        double cut = (double)S_MAT_LABEL_MAX * 13 * S_EM;
        double lean = x0 + ((double)c + 0.5) * p->cell_w + (w > cut ? cut : w) * S_COS45 + 12;
        right = lean > right ? lean : right;
    }
    const char *title = *p->table->title ? p->table->title : p->facet;
    double heading = S_MARGIN + s_text_w(title, 18) * 1.08 + S_LEGEND_W;
    double note = S_MARGIN + s_text_w(p->note, 13) + S_LEGEND_W;
    right = heading > right ? heading : right;
    return note > right ? note : right;
}

/* The colour bar ends where the panel's cells do, unless the heading needs the
 * room: then at the picture's right edge. */
static double s_legend_right(const s_panel_t *p, double x0, double right)
{
    double cells = x0 + (double)p->n_cols * p->cell_w;
    const char *title = *p->table->title ? p->table->title : p->facet;
    double heading = S_MARGIN + s_text_w(title, 18) * 1.08 + S_LEGEND_W;
    double note = S_MARGIN + s_text_w(p->note, 13) + S_LEGEND_W;
    return cells >= heading && cells >= note ? cells : right;
}

/* A tick every 1, 2 or 5 times a power of ten, at most five of them. */
static uint32_t s_tick_step(uint32_t max)
{
    static const uint32_t mult[] = {1, 2, 5};
    for (uint32_t step = 1;; step *= 10)
        for (int i = 0; i < 3; i++)
            if (max / (step * mult[i]) <= 4)
                return step * mult[i];
}

/* The width of a tick's label. */
static double s_tick_w(uint32_t value)
{
    char text[16];
    return (double)snprintf(text, sizeof text, "%u", value) * 11 * S_EM;
}

static void s_svg_tick(FILE *out, double x, double y, uint32_t value)
{
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"%s\" "
            "text-anchor=\"middle\">%u</text>\n",
            x, y + 11, x, y + 15, S_MUTED, x, y + 27, S_MUTED, value);
}

/* The colour bar of a panel, right-aligned at right, its top at y; ticks at 1,
 * the round numbers between, and the largest count. */
static void s_svg_scale_legend(FILE *out, const s_panel_t *p, double right, double y)
{
    double w = 170, x = right - w;
    fprintf(out,
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"%s\" "
            "text-anchor=\"end\">SMEs in the region</text>\n",
            x - 10, y + 10, S_MUTED);
    fprintf(out, "<defs><linearGradient id=\"scale-%s\">", p->facet);
    for (size_t i = 0; i < S_BLUES; i++) {
        char hex[8];
        s_hex(hex, s_blues[i]);
        fprintf(out, "<stop offset=\"%.4f\" stop-color=\"%s\"/>", (double)i / (S_BLUES - 1), hex);
    }
    fprintf(out, "</linearGradient></defs>\n");
    fprintf(out,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"11\" rx=\"2\" "
            "fill=\"url(#scale-%s)\"/>\n",
            x, y, w, p->facet);
    /* A tick only where its label keeps clear of its neighbours' (and the max's). */
    uint32_t step = s_tick_step(p->max);
    double last = -1e9, last_w = 0, max_w = s_tick_w(p->max);
    for (uint32_t v = 1; v < p->max; v = v == 1 && step > 1 ? step : v + step) {
        double tx = x + s_scale_t(v, p->max) * w, tw = s_tick_w(v);
        if (tx - last >= (last_w + tw) / 2 + 14 && x + w - tx >= (tw + max_w) / 2 + 14) {
            s_svg_tick(out, tx, y, v);
            last = tx;
            last_w = tw;
        }
    }
    s_svg_tick(out, x + w, y, p->max);
}

static void s_svg_column_labels(FILE *out, const s_panel_t *p, double x0, double bottom)
{
    for (size_t c = 0; c < p->n_cols; c++) {
        double cx = x0 + ((double)c + 0.5) * p->cell_w;
        if (p->rotate)
            fprintf(out,
                    "<text transform=\"translate(%.1f,%.1f) rotate(-45)\" font-size=\"13\" "
                    "fill=\"%s\">",
                    cx - 4, bottom - 8, S_INK);
        else
            fprintf(out,
                    "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" fill=\"%s\" "
                    "text-anchor=\"middle\">",
                    cx, bottom - 9, S_INK);
        s_xml_cut(out, p->table->values[p->cols[c]], S_MAT_LABEL_MAX);
        fputs("</text>\n", out);
    }
}

static void s_svg_cell(FILE *out, const map_pb *map, const s_panel_t *p, size_t r, size_t c,
                       double x, double y)
{
    size_t v = p->cols[c], k = r * p->grid->values + v;
    uint32_t count = p->grid->count[k];
    s_rgb_t fill = s_colour(s_scale_t(count, p->max));
    char hex[8] = S_ZERO;
    if (count)
        s_hex(hex, fill);
    fputs("<rect class=\"cell\" data-region=\"", out);
    s_xml(out, map->regions[r]->code);
    fputs("\" data-value=\"", out);
    s_xml(out, p->table->values[v]);
    fprintf(out,
            "\" data-count=\"%u\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "rx=\"3\" fill=\"%s\"/>\n",
            count, x + 1.5, y + 1.5, p->cell_w - 3, S_ROW_H - 3, hex);
    if (p->grid->strength[k])
        fprintf(out,
                "<rect class=\"strength\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "rx=\"2\" fill=\"none\" stroke=\"%s\" stroke-width=\"3\"/>\n",
                x + 3, y + 3, p->cell_w - 6, S_ROW_H - 6, S_STRENGTH);
    if (count)
        fprintf(out,
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" fill=\"%s\" "
                "text-anchor=\"middle\">%u</text>\n",
                x + p->cell_w / 2, y + S_ROW_H / 2 + 4.5, s_text_on(fill), count);
}

/* The materials' chain gaps under their columns: a row per stage with a gap. */
static double s_svg_gap_strip(FILE *out, const map_pb *map, const s_panel_t *p, double x0, double y)
{
    const table_pb *stages = s_table(map, "sme_stage");
    fprintf(out,
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" font-weight=\"bold\" "
            "fill=\"%s\">Chain gaps: stages no SME of the partnership covers",
            x0, y + 16, S_INK);
    if (p->gaps_hidden)
        fprintf(out, " (%zu more in materials not shown)", p->gaps_hidden);
    fputs("</text>\n", out);
    y += 26;
    for (size_t i = 0; i < p->n_gap_stages; i++) {
        const char *stage = stages->values[p->gap_stages[i]];
        double ry = y + (double)i * S_GAP_ROW_H;
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eceef1\"/>\n",
                x0, ry + S_GAP_ROW_H / 2, x0 + (double)p->n_cols * p->cell_w, ry + S_GAP_ROW_H / 2);
        fprintf(out,
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"%s\" "
                "text-anchor=\"end\">",
                x0 - 12, ry + 13, S_MUTED);
        s_xml(out, stage);
        fputs("</text>\n", out);
        for (size_t c = 0; c < p->n_cols; c++) {
            const char *material = p->table->values[p->cols[c]];
            if (!s_is_gap(map, material, stage))
                continue;
            fputs("<rect class=\"gap\" data-material=\"", out);
            s_xml(out, material);
            fputs("\" data-stage=\"", out);
            s_xml(out, stage);
            fprintf(out,
                    "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"2\" "
                    "fill=\"url(#hatch)\" stroke=\"%s\" stroke-width=\"0.8\"/>\n",
                    x0 + (double)c * p->cell_w + 1.5, ry + 2, p->cell_w - 3, S_GAP_ROW_H - 4,
                    S_HATCH);
        }
    }
    return y + (double)p->n_gap_stages * S_GAP_ROW_H;
}

/* Returns the y below the panel. */
static double s_svg_panel(FILE *out, const map_pb *map, const s_panel_t *p, double x0, double y,
                          double right)
{
    fputs("<g class=\"panel\" data-facet=\"", out);
    s_xml(out, p->facet);
    fputs("\">\n", out);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"18\" font-weight=\"bold\" fill=\"%s\">",
            S_MARGIN, y + 20, S_INK);
    s_xml(out, *p->table->title ? p->table->title : p->facet);
    fputs("</text>\n", out);
    if (*p->note)
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" fill=\"%s\">%s</text>\n",
                S_MARGIN, y + 42, S_MUTED, p->note);
    if (p->max)
        s_svg_scale_legend(out, p, s_legend_right(p, x0, right), y + 8);
    y += p->head_h;
    s_svg_column_labels(out, p, x0, y + p->label_h);
    y += p->label_h;
    for (size_t r = 0; r < map->n_regions; r++) {
        double ry = y + (double)r * S_ROW_H;
        fprintf(out,
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" fill=\"%s\" "
                "text-anchor=\"end\">",
                x0 - 12, ry + S_ROW_H / 2 + 5, S_INK);
        s_xml(out, s_region_name(map, r));
        fputs("</text>\n", out);
        for (size_t c = 0; c < p->n_cols; c++)
            s_svg_cell(out, map, p, r, c, x0 + (double)c * p->cell_w, ry);
    }
    y += (double)map->n_regions * S_ROW_H;
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" font-style=\"italic\" fill=\"%s\" "
            "text-anchor=\"end\">All regions</text>\n",
            x0, y + 3, x0 + (double)p->n_cols * p->cell_w, y + 3, S_RULE, x0 - 12, y + 20, S_MUTED);
    for (size_t c = 0; c < p->n_cols; c++)
        fprintf(out,
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" font-weight=\"bold\" fill=\"%s\" "
                "text-anchor=\"middle\">%u</text>\n",
                x0 + ((double)c + 0.5) * p->cell_w, y + 20, S_MUTED, p->grid->total[p->cols[c]]);
    y += 28;
    if (p->n_gap_stages)
        y = s_svg_gap_strip(out, map, p, x0, y + 12);
    fputs("</g>\n", out);
    return y + S_PANEL_GAP;
}

/* Writes text from (x, y) in lines no wider than width; returns the lines. */
static size_t s_svg_wrapped(FILE *out, double x, double y, const char *text, double width,
                            double size)
{
    size_t lines = 0, max = (size_t)(width / (size * S_EM));
    max = max < 20 ? 20 : max;
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.1f\" fill=\"%s\">", x, y, size, S_INK);
    while (*text) {
        text += strspn(text, " ");
        size_t line = 0, used = 0;
        while (text[line]) { /* whole words while they fit */
            size_t gap = strspn(text + line, " ");
            size_t word = strcspn(text + line + gap, " ");
            size_t w = s_width_n(text + line + gap, word);
            if (used && used + (gap ? 1 : 0) + w > max)
                break;
            used += (used ? 1 : 0) + w;
            line += gap + word;
        }
        if (!line)
            break;
        fprintf(out, "<tspan x=\"%.1f\" dy=\"%.1f\">", x, lines ? size * 1.4 : 0.0);
        s_xml_n(out, text, line);
        fputs("</tspan>", out);
        text += line;
        lines++;
    }
    fputs("</text>\n", out);
    return lines ? lines : 1;
}

/* The marks: no SME, a strength (and its rule), a chain gap. Returns the y below. */
static double s_svg_marks(FILE *out, const map_pb *map, bool gaps, double y, double width)
{
    double x = S_MARGIN, tx = x + 34;
    fprintf(out,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"24\" height=\"16\" rx=\"3\" fill=\"%s\" "
            "stroke=\"%s\" stroke-width=\"0.8\"/>\n"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" fill=\"%s\">No SME in the region"
            "</text>\n",
            x, y, S_ZERO, S_RULE, tx, y + 12.5, S_INK);
    y += 26;
    char hex[8];
    s_hex(hex, s_colour(0.35));
    fprintf(out,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"24\" height=\"16\" rx=\"3\" fill=\"%s\"/>"
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"21\" height=\"13\" rx=\"2\" fill=\"none\" "
            "stroke=\"%s\" stroke-width=\"3\"/>\n",
            x, y, hex, x + 1.5, y + 1.5, S_STRENGTH);
    char rule[1024];
    snprintf(rule, sizeof rule, "A regional strength%s%s", *map->strength_rule ? ": " : "",
             map->strength_rule);
    y += 18.2 * (double)s_svg_wrapped(out, tx, y + 12.5, rule, width - 34, 13) + 8;
    if (gaps) {
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"24\" height=\"16\" rx=\"2\" "
                "fill=\"url(#hatch)\" stroke=\"%s\" stroke-width=\"0.8\"/>\n",
                x, y, S_HATCH);
        y += 18.2 * (double)s_svg_wrapped(out, tx, y + 12.5,
                                          "A chain gap: a stage of the material's value chain "
                                          "that no SME of the partnership covers",
                                          width - 34, 13) +
             8;
    }
    return y;
}

/* The panels and the marks, from y; returns the y below them. */
static double s_svg_body(FILE *out, const map_pb *map, s_panel_t panels[2], double x0, double right,
                         double y)
{
    for (int i = 0; i < 2; i++)
        if (panels[i].table)
            y = s_svg_panel(out, map, &panels[i], x0, y, right);
    if (!panels[0].table && !panels[1].table) {
        fprintf(out,
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"15\" fill=\"%s\">The report holds "
                "no stage or material table.</text>\n",
                S_MARGIN, y + 20, S_MUTED);
        y += 40;
    }
    return s_svg_marks(out, map, panels[1].n_gap_stages > 0, y - 8, right - S_MARGIN);
}

static int s_svg_write(FILE *out, const map_pb *map, s_panel_t panels[2])
{
    double label_w = s_text_w("All regions", 13);
    for (size_t r = 0; r < map->n_regions; r++) {
        double w = s_text_w(s_region_name(map, r), 14);
        label_w = w > label_w ? w : label_w;
    }
    char subtitle[256];
    snprintf(subtitle, sizeof subtitle,
             "%llu active SMEs \xC2\xB7 %llu investors \xC2\xB7 %llu open opportunities \xC2\xB7 "
             "%zu partnership regions",
             (unsigned long long)map->smes, (unsigned long long)map->investors,
             (unsigned long long)map->opportunities, map->n_regions);
    double x0 = S_MARGIN + label_w + 16;
    double right = S_MARGIN + s_text_w(subtitle, 15);
    right = right < S_MARGIN + 640 ? S_MARGIN + 640 : right;
    for (int i = 0; i < 2; i++)
        if (panels[i].table)
            s_panel_measure(&panels[i], i == 0);
    if (panels[0].n_cols && panels[1].n_cols) { /* one grid width for both, when it can */
        double wide = (double)panels[1].n_cols * panels[1].cell_w / (double)panels[0].n_cols;
        wide = wide > S_STAGE_MAX_W ? S_STAGE_MAX_W : wide;
        panels[0].cell_w = wide > panels[0].cell_w ? wide : panels[0].cell_w;
    }
    for (int i = 0; i < 2; i++)
        if (panels[i].table) {
            double r = s_panel_right(&panels[i], x0);
            right = r > right ? r : right;
        }
    /* The body first, to know the height. */
    char *body = NULL;
    size_t body_len = 0;
    FILE *mem = open_memstream(&body, &body_len);
    if (!mem)
        return -1;
    double bottom = s_svg_body(mem, map, panels, x0, right, 112);
    int rc = fclose(mem) == 0 ? 0 : -1;
    double width = ceil(right + S_MARGIN), height = ceil(bottom + S_MARGIN - 10);
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"%s\">\n"
            "<title>Regional capability map</title>\n"
            "<defs><pattern id=\"hatch\" patternUnits=\"userSpaceOnUse\" width=\"6\" "
            "height=\"6\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" "
            "fill=\"#ffffff\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"%s\" "
            "stroke-width=\"2.2\"/></pattern></defs>\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"28\" font-weight=\"bold\" "
            "fill=\"%s\">Regional capability map</text>\n"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"15\" fill=\"%s\">%s</text>\n",
            width, height, width, height, S_FONT, S_HATCH, S_MARGIN, S_MARGIN + 26, S_INK, S_MARGIN,
            S_MARGIN + 54, S_MUTED, subtitle);
    if (body)
        fwrite(body, 1, body_len, out);
    fputs("</svg>\n", out);
    free(body);
    return rc;
}

int report_map_svg(const Lodestone__V1__CapabilityMap *map, FILE *out)
{
    s_panel_t panels[2];
    memset(panels, 0, sizeof panels);
    int rc = s_panel_init(&panels[0], map, "sme_stage", false);
    if (rc == 0)
        rc = s_panel_init(&panels[1], map, "sme_material", true);
    if (rc == 0)
        rc = s_svg_write(out, map, panels);
    s_panel_free(&panels[0]);
    s_panel_free(&panels[1]);
    return s_done(out, rc);
}
