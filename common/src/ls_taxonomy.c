/* ls_taxonomy.c — loads the reference vocabularies from the CSV files in
 * <dir>/reference into hash-indexed tables and answers lookups against them. It carries
 * its own small RFC 4180 reader, so quoted names with commas and "" escapes load the
 * same way in every service, and a broken file is reported as file:line: reason. */
#include "ls_taxonomy.h"

#include <czmq.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The CRMA list in force. The materials version is derived from this name, so moving
 * to a new list is this line plus the new file. */
static const char s_crma_file[] = "crm_act_2024.csv";

/* Reference files are small; a limit keeps a wrong path (a device, a dump) from being
 * read into memory whole. */
#define S_MAX_FILE_SIZE (16u * 1024u * 1024u)

#define S_TRL_MAX 9

/* A growable array of pointers, in insertion order. */
typedef struct {
    void **items;
    size_t size;
    size_t capacity;
} s_vec_t;

struct _ls_taxonomy_t {
    s_vec_t owned;     /* every record, string and member array; freed in destroy */
    s_vec_t regions;   /* ls_region_t *, file order, for _at() */
    s_vec_t materials; /* ls_material_t *, CRMA + other + elements, for _at() */
    s_vec_t stages;    /* ls_term_t *, file order */
    s_vec_t themes;    /* ls_term_t *, file order */
    s_vec_t nace;      /* ls_nace_t *, file order */
    zhashx_t *region_index;
    zhashx_t *material_index;
    zhashx_t *stage_index;
    zhashx_t *theme_index;
    zhashx_t *nace_index;
    bool trl[S_TRL_MAX + 1];
    const char *trl_text[S_TRL_MAX + 1];
    const char *materials_version;
};

/* --------------------------------------------------------------------------
 * Memory: out of memory is fatal, as in czmq, so loaders only handle bad input. */

static void *s_checked(void *mem)
{
    if (!mem) {
        fprintf(stderr, "ls_taxonomy: out of memory\n");
        abort();
    }
    return mem;
}

static void s_vec_push(s_vec_t *vec, void *item)
{
    if (vec->size == vec->capacity) {
        size_t capacity = vec->capacity ? vec->capacity * 2 : 16;
        vec->items = s_checked(realloc(vec->items, capacity * sizeof *vec->items));
        vec->capacity = capacity;
    }
    vec->items[vec->size++] = item;
}

static void s_vec_clear(s_vec_t *vec)
{
    free(vec->items);
    *vec = (s_vec_t){0};
}

/* Zeroed memory that lives as long as the taxonomy. */
static void *s_keep_alloc(ls_taxonomy_t *self, size_t size)
{
    void *mem = s_checked(calloc(1, size));
    s_vec_push(&self->owned, mem);
    return mem;
}

static const char *s_keep_string(ls_taxonomy_t *self, const char *text)
{
    char *copy = s_checked(strdup(text));
    s_vec_push(&self->owned, copy);
    return copy;
}

/* --------------------------------------------------------------------------
 * Errors */

static void s_set_error(char *err, size_t errlen, const char *fmt, ...) CHECK_PRINTF(3);

static void s_set_error(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}

/* --------------------------------------------------------------------------
 * CSV reader (RFC 4180). The file is read whole and each record is unescaped in place,
 * so fields are pointers into one buffer and a record costs no allocation. */

typedef struct {
    char *path;
    char *text; /* NUL-terminated; fields of earlier records stay valid */
    size_t size;
    size_t pos;
    size_t line;        /* physical line at pos, from 1 */
    size_t record_line; /* line where the current record starts */
    s_vec_t header;     /* const char *, column names */
    s_vec_t fields;     /* const char *, the current record */
    char *err;
    size_t errlen;
} s_csv_t;

static int s_csv_fail(s_csv_t *csv, size_t line, const char *fmt, ...) CHECK_PRINTF(3);

/* Writes "path:line: reason" into err; returns -1 so callers can return it. */
static int s_csv_fail(s_csv_t *csv, size_t line, const char *fmt, ...)
{
    char reason[256];
    va_list args;
    va_start(args, fmt);
    vsnprintf(reason, sizeof reason, fmt, args);
    va_end(args);
    s_set_error(csv->err, csv->errlen, "%s:%zu: %s", csv->path, line, reason);
    return -1;
}

static void s_csv_destroy(s_csv_t **self_p)
{
    if (self_p && *self_p) {
        s_csv_t *self = *self_p;
        free(self->path);
        free(self->text);
        s_vec_clear(&self->header);
        s_vec_clear(&self->fields);
        free(self);
        *self_p = NULL;
    }
}

/* Reads the whole file into csv->text. Returns 0 or -1 with err set. */
static int s_csv_read_file(s_csv_t *csv)
{
    FILE *file = fopen(csv->path, "rb");
    if (!file) {
        s_set_error(csv->err, csv->errlen, "%s: cannot open: %s", csv->path, strerror(errno));
        return -1;
    }
    size_t capacity = 4096;
    csv->text = s_checked(malloc(capacity));
    size_t got;
    while ((got = fread(csv->text + csv->size, 1, capacity - csv->size - 1, file)) > 0) {
        csv->size += got;
        if (csv->size > S_MAX_FILE_SIZE)
            break;
        if (csv->size + 1 == capacity) {
            capacity *= 2;
            csv->text = s_checked(realloc(csv->text, capacity));
        }
    }
    int failed = ferror(file);
    fclose(file);
    csv->text[csv->size] = '\0';
    if (failed) {
        s_set_error(csv->err, csv->errlen, "%s: read error", csv->path);
        return -1;
    }
    if (csv->size > S_MAX_FILE_SIZE) {
        s_set_error(csv->err, csv->errlen, "%s: larger than %u bytes", csv->path, S_MAX_FILE_SIZE);
        return -1;
    }
    /* A NUL would silently cut a field short. */
    const char *nul = memchr(csv->text, '\0', csv->size);
    if (nul) {
        size_t line = 1;
        for (const char *p = csv->text; p < nul; p++)
            line += *p == '\n';
        return s_csv_fail(csv, line, "NUL byte in file");
    }
    return 0;
}

/* Reads one field starting at pos, unescaping it in place, and consumes the delimiter
 * after it. Returns ',' when another field follows, '\n' at the end of the record
 * (also at end of file), or -1 for a malformed field. */
static int s_csv_field(s_csv_t *csv)
{
    char *text = csv->text;
    size_t out = csv->pos;
    char *field = text + out;

    if (csv->pos < csv->size && text[csv->pos] == '"') {
        size_t open_line = csv->line;
        csv->pos++;
        while (true) {
            if (csv->pos == csv->size)
                return s_csv_fail(csv, open_line, "unterminated quoted field");
            char c = text[csv->pos++];
            if (c == '"') {
                if (text[csv->pos] != '"')
                    break;
                csv->pos++; /* "" is one quote */
            } else if (c == '\n')
                csv->line++;
            text[out++] = c;
        }
    } else {
        while (csv->pos < csv->size && !strchr(",\r\n", text[csv->pos])) {
            if (text[csv->pos] == '"')
                return s_csv_fail(csv, csv->line, "quote inside an unquoted field");
            text[out++] = text[csv->pos++];
        }
    }

    int delimiter;
    if (csv->pos == csv->size)
        delimiter = '\n';
    else if (text[csv->pos] == ',') {
        csv->pos++;
        delimiter = ',';
    } else if (text[csv->pos] == '\n') {
        csv->pos++;
        csv->line++;
        delimiter = '\n';
    } else if (text[csv->pos] == '\r' && text[csv->pos + 1] == '\n') {
        csv->pos += 2;
        csv->line++;
        delimiter = '\n';
    } else if (text[csv->pos] == '\r')
        return s_csv_fail(csv, csv->line, "carriage return without line feed");
    else
        return s_csv_fail(csv, csv->line, "text after a closing quote");

    /* out never passes the delimiter just consumed, so this overwrites nothing unread. */
    text[out] = '\0';
    s_vec_push(&csv->fields, field);
    return delimiter;
}

/* Reads the next record into csv->fields, skipping blank lines. Returns 1 for a record,
 * 0 at end of file, -1 for a malformed record. */
static int s_csv_next(s_csv_t *csv)
{
    csv->fields.size = 0;
    while (csv->pos < csv->size) {
        if (csv->text[csv->pos] == '\n')
            csv->pos++;
        else if (csv->text[csv->pos] == '\r' && csv->text[csv->pos + 1] == '\n')
            csv->pos += 2;
        else
            break;
        csv->line++;
    }
    if (csv->pos == csv->size)
        return 0;
    csv->record_line = csv->line;
    int delimiter;
    do {
        delimiter = s_csv_field(csv);
        if (delimiter < 0)
            return -1;
    } while (delimiter == ',');

    if (csv->header.size > 0 && csv->fields.size != csv->header.size)
        return s_csv_fail(csv, csv->record_line, "expected %zu fields, found %zu", csv->header.size,
                          csv->fields.size);
    return 1;
}

static const char *s_csv_get(const s_csv_t *csv, size_t column)
{
    assert(column < csv->fields.size);
    return csv->fields.items[column];
}

/* Reads the header row. */
static int s_csv_read_header(s_csv_t *csv)
{
    /* Spreadsheets save UTF-8 with a byte order mark; it is not part of the first name. */
    if (csv->size >= 3 && memcmp(csv->text, "\xEF\xBB\xBF", 3) == 0)
        csv->pos = 3;
    int rc = s_csv_next(csv);
    if (rc == 0)
        return s_csv_fail(csv, 1, "empty file, a header row is required");
    if (rc < 0)
        return -1;
    for (size_t index = 0; index < csv->fields.size; index++) {
        const char *name = csv->fields.items[index];
        if (*name == '\0')
            return s_csv_fail(csv, csv->record_line, "empty column name in header");
        for (size_t other = 0; other < index; other++)
            if (streq(name, csv->fields.items[other]))
                return s_csv_fail(csv, csv->record_line, "duplicate column '%s'", name);
        s_vec_push(&csv->header, (void *)name);
    }
    return 0;
}

/* Finds each named column in the header, so a reordered file still loads. */
static int s_csv_find_columns(s_csv_t *csv, const char *const *names, size_t *columns, size_t count)
{
    for (size_t name = 0; name < count; name++) {
        size_t index = 0;
        while (index < csv->header.size && !streq(csv->header.items[index], names[name]))
            index++;
        if (index == csv->header.size)
            return s_csv_fail(csv, csv->record_line, "missing column '%s'", names[name]);
        columns[name] = index;
    }
    return 0;
}

/* Opens <dir>/reference/<file>, reads its header and finds the named columns. Returns
 * NULL with err set when the file is missing, unreadable or lacks a column. */
static s_csv_t *s_csv_open(const char *dir, const char *file, const char *const *names,
                           size_t *columns, size_t count, char *err, size_t errlen)
{
    s_csv_t *csv = s_checked(calloc(1, sizeof *csv));
    csv->err = err;
    csv->errlen = errlen;
    csv->line = 1;
    csv->record_line = 1;
    size_t length = strlen(dir) + strlen("/reference/") + strlen(file) + 1;
    csv->path = s_checked(malloc(length));
    snprintf(csv->path, length, "%s/reference/%s", dir, file);

    if (s_csv_read_file(csv) || s_csv_read_header(csv) ||
        s_csv_find_columns(csv, names, columns, count))
        s_csv_destroy(&csv);
    return csv;
}

/* --------------------------------------------------------------------------
 * Field checks: the reference files are input like any other. */

/* A code is a non-empty token without spaces or control characters. */
static bool s_is_token(const char *text)
{
    if (*text == '\0')
        return false;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

/* Checks a key column: what names it in the message, e.g. "material code". */
static int s_check_code(s_csv_t *csv, zhashx_t *index, const char *what, const char *code)
{
    if (*code == '\0')
        return s_csv_fail(csv, csv->record_line, "empty %s", what);
    if (!s_is_token(code))
        return s_csv_fail(csv, csv->record_line, "%s '%s' has blanks or control characters", what,
                          code);
    if (zhashx_lookup(index, code))
        return s_csv_fail(csv, csv->record_line, "duplicate %s '%s'", what, code);
    return 0;
}

static int s_check_text(s_csv_t *csv, const char *column, const char *value)
{
    if (*value == '\0')
        return s_csv_fail(csv, csv->record_line, "empty %s", column);
    return 0;
}

static int s_parse_yes_no(s_csv_t *csv, const char *column, const char *value, bool *out)
{
    if (streq(value, "yes"))
        *out = true;
    else if (streq(value, "no"))
        *out = false;
    else
        return s_csv_fail(csv, csv->record_line, "%s must be yes or no, not '%s'", column, value);
    return 0;
}

static int s_parse_level(s_csv_t *csv, const char *column, const char *value, unsigned min,
                         unsigned max, unsigned *out)
{
    unsigned level = 0;
    const char *p = value;
    /* Digits only, and at most three of them, so the value cannot overflow. */
    while (*p >= '0' && *p <= '9' && p - value < 3)
        level = level * 10 + (unsigned)(*p++ - '0');
    if (p == value || *p != '\0' || level < min || level > max)
        return s_csv_fail(csv, csv->record_line, "%s must be %u..%u, not '%s'", column, min, max,
                          value);
    *out = level;
    return 0;
}

/* --------------------------------------------------------------------------
 * Loaders: one per file. Each returns 0, or -1 with err set. */

static int s_load_regions(ls_taxonomy_t *self, const char *dir, char *err, size_t errlen)
{
    enum { CODE, LEVEL, PARENT, COUNTRY, NAME, ROLE, COLUMNS };
    static const char *const names[COLUMNS] = {"code",    "nuts_level", "parent",
                                               "country", "name",       "partnership_role"};
    size_t column[COLUMNS];
    s_csv_t *csv = s_csv_open(dir, "regions.csv", names, column, COLUMNS, err, errlen);
    if (!csv)
        return -1;
    int rc;
    while ((rc = s_csv_next(csv)) == 1) {
        const char *code = s_csv_get(csv, column[CODE]);
        const char *country = s_csv_get(csv, column[COUNTRY]);
        unsigned level;
        rc = s_check_code(csv, self->region_index, "region code", code);
        if (!rc)
            rc = s_parse_level(csv, "nuts_level", s_csv_get(csv, column[LEVEL]), 0, 3, &level);
        if (!rc && !(strlen(country) == 2 && country[0] >= 'A' && country[0] <= 'Z' &&
                     country[1] >= 'A' && country[1] <= 'Z'))
            rc = s_csv_fail(csv, csv->record_line, "country must be two capital letters, not '%s'",
                            country);
        if (!rc)
            rc = s_check_text(csv, "name", s_csv_get(csv, column[NAME]));
        if (rc)
            break;
        ls_region_t *region = s_keep_alloc(self, sizeof *region);
        region->code = s_keep_string(self, code);
        region->name = s_keep_string(self, s_csv_get(csv, column[NAME]));
        region->country = s_keep_string(self, country);
        region->parent = s_keep_string(self, s_csv_get(csv, column[PARENT]));
        region->nuts_level = (int)level;
        region->lead = streq(s_csv_get(csv, column[ROLE]), "lead");
        zhashx_insert(self->region_index, region->code, region);
        s_vec_push(&self->regions, region);
    }
    s_csv_destroy(&csv);
    return rc;
}

/* elements.csv: one material per element, indexed now so that a later file reusing the
 * code fails at its own line, but listed after the CRMA and other materials. */
static int s_load_elements(ls_taxonomy_t *self, const char *dir, zhashx_t *by_symbol,
                           s_vec_t *elements, char *err, size_t errlen)
{
    enum { SYMBOL, CODE, NAME, COLUMNS };
    static const char *const names[COLUMNS] = {"symbol", "code", "name"};
    size_t column[COLUMNS];
    s_csv_t *csv = s_csv_open(dir, "elements.csv", names, column, COLUMNS, err, errlen);
    if (!csv)
        return -1;
    int rc;
    while ((rc = s_csv_next(csv)) == 1) {
        const char *symbol = s_csv_get(csv, column[SYMBOL]);
        const char *code = s_csv_get(csv, column[CODE]);
        rc = s_check_code(csv, by_symbol, "element symbol", symbol);
        if (!rc)
            rc = s_check_code(csv, self->material_index, "material code", code);
        if (!rc)
            rc = s_check_text(csv, "name", s_csv_get(csv, column[NAME]));
        if (rc)
            break;
        ls_material_t *material = s_keep_alloc(self, sizeof *material);
        material->code = s_keep_string(self, code);
        material->name = s_keep_string(self, s_csv_get(csv, column[NAME]));
        zhashx_insert(self->material_index, material->code, material);
        zhashx_insert(by_symbol, symbol, material);
        s_vec_push(elements, material);
    }
    s_csv_destroy(&csv);
    return rc;
}

/* Expands a group's space-separated element symbols into member codes, and passes the
 * group's status on to each element: an element is critical or strategic when any group
 * holding it is. */
static int s_expand_group(ls_taxonomy_t *self, s_csv_t *csv, zhashx_t *by_symbol,
                          ls_material_t *group, const char *symbols)
{
    size_t count = 0;
    for (const char *p = symbols; *p; p++)
        count += *p != ' ' && (p == symbols || p[-1] == ' ');
    if (count == 0)
        return 0;
    const char **members = s_keep_alloc(self, count * sizeof *members);
    char *list = s_checked(strdup(symbols));
    int rc = 0;
    char *saved = NULL;
    for (char *symbol = strtok_r(list, " ", &saved); symbol; symbol = strtok_r(NULL, " ", &saved)) {
        ls_material_t *element = zhashx_lookup(by_symbol, symbol);
        if (!element) {
            rc = s_csv_fail(csv, csv->record_line, "group member '%s' is not in elements.csv",
                            symbol);
            break;
        }
        for (size_t other = 0; other < group->n_members && !rc; other++)
            if (members[other] == element->code)
                rc = s_csv_fail(csv, csv->record_line, "group member '%s' listed twice", symbol);
        if (rc)
            break;
        element->strategic |= group->strategic;
        element->critical |= group->critical;
        members[group->n_members++] = element->code;
    }
    free(list);
    group->members = members;
    return rc;
}

static int s_load_crma(ls_taxonomy_t *self, const char *dir, zhashx_t *by_symbol, char *err,
                       size_t errlen)
{
    enum { CODE, NAME, STRATEGIC, CRITICAL, MEMBERS, COLUMNS };
    static const char *const names[COLUMNS] = {"code", "name", "strategic", "critical",
                                               "group_members"};
    size_t column[COLUMNS];
    s_csv_t *csv = s_csv_open(dir, s_crma_file, names, column, COLUMNS, err, errlen);
    if (!csv)
        return -1;
    int rc;
    while ((rc = s_csv_next(csv)) == 1) {
        const char *code = s_csv_get(csv, column[CODE]);
        bool strategic = false, critical = false;
        rc = s_check_code(csv, self->material_index, "material code", code);
        if (!rc)
            rc = s_check_text(csv, "name", s_csv_get(csv, column[NAME]));
        if (!rc)
            rc = s_parse_yes_no(csv, "strategic", s_csv_get(csv, column[STRATEGIC]), &strategic);
        if (!rc)
            rc = s_parse_yes_no(csv, "critical", s_csv_get(csv, column[CRITICAL]), &critical);
        if (rc)
            break;
        ls_material_t *material = s_keep_alloc(self, sizeof *material);
        material->code = s_keep_string(self, code);
        material->name = s_keep_string(self, s_csv_get(csv, column[NAME]));
        material->strategic = strategic;
        material->critical = critical;
        zhashx_insert(self->material_index, material->code, material);
        s_vec_push(&self->materials, material);
        rc = s_expand_group(self, csv, by_symbol, material, s_csv_get(csv, column[MEMBERS]));
        if (rc)
            break;
    }
    s_csv_destroy(&csv);
    return rc;
}

static int s_load_other_materials(ls_taxonomy_t *self, const char *dir, char *err, size_t errlen)
{
    enum { CODE, NAME, COLUMNS };
    static const char *const names[COLUMNS] = {"code", "name"};
    size_t column[COLUMNS];
    s_csv_t *csv = s_csv_open(dir, "other_materials.csv", names, column, COLUMNS, err, errlen);
    if (!csv)
        return -1;
    int rc;
    while ((rc = s_csv_next(csv)) == 1) {
        const char *code = s_csv_get(csv, column[CODE]);
        rc = s_check_code(csv, self->material_index, "material code", code);
        if (!rc)
            rc = s_check_text(csv, "name", s_csv_get(csv, column[NAME]));
        if (rc)
            break;
        ls_material_t *material = s_keep_alloc(self, sizeof *material);
        material->code = s_keep_string(self, code);
        material->name = s_keep_string(self, s_csv_get(csv, column[NAME]));
        zhashx_insert(self->material_index, material->code, material);
        s_vec_push(&self->materials, material);
    }
    s_csv_destroy(&csv);
    return rc;
}

/* "crm_act_2024.csv" -> "crma-2024". */
static const char *s_materials_version(ls_taxonomy_t *self)
{
    static const char prefix[] = "crm_act_";
    static const char suffix[] = ".csv";
    size_t length = strlen(s_crma_file);
    assert(strncmp(s_crma_file, prefix, strlen(prefix)) == 0);
    assert(length > strlen(prefix) + strlen(suffix));
    assert(streq(s_crma_file + length - strlen(suffix), suffix));
    char version[64];
    snprintf(version, sizeof version, "crma-%.*s", (int)(length - strlen(prefix) - strlen(suffix)),
             s_crma_file + strlen(prefix));
    return s_keep_string(self, version);
}

static int s_load_materials(ls_taxonomy_t *self, const char *dir, char *err, size_t errlen)
{
    zhashx_t *by_symbol = zhashx_new();
    s_vec_t elements = {0};
    int rc = s_load_elements(self, dir, by_symbol, &elements, err, errlen);
    if (!rc)
        rc = s_load_crma(self, dir, by_symbol, err, errlen);
    if (!rc)
        rc = s_load_other_materials(self, dir, err, errlen);
    for (size_t index = 0; index < elements.size && !rc; index++)
        s_vec_push(&self->materials, elements.items[index]);
    s_vec_clear(&elements);
    zhashx_destroy(&by_symbol);
    return rc;
}

/* stages.csv and themes.csv share a shape: code and name. */
static int s_load_terms(ls_taxonomy_t *self, const char *dir, const char *file, zhashx_t *index,
                        s_vec_t *order, char *err, size_t errlen)
{
    enum { CODE, NAME, COLUMNS };
    static const char *const names[COLUMNS] = {"code", "name"};
    size_t column[COLUMNS];
    s_csv_t *csv = s_csv_open(dir, file, names, column, COLUMNS, err, errlen);
    if (!csv)
        return -1;
    int rc;
    while ((rc = s_csv_next(csv)) == 1) {
        const char *code = s_csv_get(csv, column[CODE]);
        rc = s_check_code(csv, index, "code", code);
        if (!rc)
            rc = s_check_text(csv, "name", s_csv_get(csv, column[NAME]));
        if (rc)
            break;
        ls_term_t *term = s_keep_alloc(self, sizeof *term);
        term->code = s_keep_string(self, code);
        term->name = s_keep_string(self, s_csv_get(csv, column[NAME]));
        zhashx_insert(index, term->code, term);
        s_vec_push(order, term);
    }
    s_csv_destroy(&csv);
    return rc;
}

/* Depth of a NACE level, or -1 for an unknown one. */
static int s_nace_depth(const char *level)
{
    static const char *const levels[] = {"section", "division", "group", "class"};
    for (int depth = 0; depth < 4; depth++)
        if (streq(level, levels[depth]))
            return depth;
    return -1;
}

/* A parent must be defined above its child and sit one level up, as in Eurostat's file;
 * this also rules out cycles. */
static int s_check_nace_parent(ls_taxonomy_t *self, s_csv_t *csv, int depth, const char *parent)
{
    if (depth == 0)
        return *parent ? s_csv_fail(csv, csv->record_line, "a section has no parent") : 0;
    const ls_nace_t *above = zhashx_lookup(self->nace_index, parent);
    if (!above)
        return s_csv_fail(csv, csv->record_line, "parent '%s' is not defined above this line",
                          parent);
    if (s_nace_depth(above->level) != depth - 1)
        return s_csv_fail(csv, csv->record_line, "parent '%s' is a %s, one level up expected",
                          parent, above->level);
    return 0;
}

static int s_load_nace(ls_taxonomy_t *self, const char *dir, char *err, size_t errlen)
{
    enum { CODE, LEVEL, PARENT, TITLE, COLUMNS };
    static const char *const names[COLUMNS] = {"code", "level", "parent", "title"};
    size_t column[COLUMNS];
    s_csv_t *csv = s_csv_open(dir, "nace_rev2.csv", names, column, COLUMNS, err, errlen);
    if (!csv)
        return -1;
    int rc;
    while ((rc = s_csv_next(csv)) == 1) {
        const char *code = s_csv_get(csv, column[CODE]);
        const char *level = s_csv_get(csv, column[LEVEL]);
        const char *parent = s_csv_get(csv, column[PARENT]);
        int depth = s_nace_depth(level);
        rc = s_check_code(csv, self->nace_index, "NACE code", code);
        if (!rc && depth < 0)
            rc = s_csv_fail(csv, csv->record_line, "unknown NACE level '%s'", level);
        if (!rc)
            rc = s_check_nace_parent(self, csv, depth, parent);
        if (!rc)
            rc = s_check_text(csv, "title", s_csv_get(csv, column[TITLE]));
        if (rc)
            break;
        ls_nace_t *nace = s_keep_alloc(self, sizeof *nace);
        nace->code = s_keep_string(self, code);
        nace->level = s_keep_string(self, level);
        nace->parent = s_keep_string(self, parent);
        nace->title = s_keep_string(self, s_csv_get(csv, column[TITLE]));
        zhashx_insert(self->nace_index, nace->code, nace);
        s_vec_push(&self->nace, nace);
    }
    s_csv_destroy(&csv);
    return rc;
}

static int s_load_trl(ls_taxonomy_t *self, const char *dir, char *err, size_t errlen)
{
    enum { LEVEL, DESCRIPTION, COLUMNS };
    static const char *const names[COLUMNS] = {"level", "description"};
    size_t column[COLUMNS];
    s_csv_t *csv = s_csv_open(dir, "trl.csv", names, column, COLUMNS, err, errlen);
    if (!csv)
        return -1;
    int rc;
    while ((rc = s_csv_next(csv)) == 1) {
        unsigned level;
        rc = s_parse_level(csv, "level", s_csv_get(csv, column[LEVEL]), 1, S_TRL_MAX, &level);
        if (!rc && self->trl[level])
            rc = s_csv_fail(csv, csv->record_line, "duplicate level %u", level);
        if (rc)
            break;
        self->trl[level] = true;
        self->trl_text[level] = s_keep_string(self, s_csv_get(csv, column[DESCRIPTION]));
    }
    s_csv_destroy(&csv);
    return rc;
}

/* --------------------------------------------------------------------------
 * Public API */

ls_taxonomy_t *ls_taxonomy_load(const char *dir, char *err, size_t errlen)
{
    assert(dir);
    ls_taxonomy_t *self = s_checked(calloc(1, sizeof *self));
    self->region_index = zhashx_new();
    self->material_index = zhashx_new();
    self->stage_index = zhashx_new();
    self->theme_index = zhashx_new();
    self->nace_index = zhashx_new();
    self->materials_version = s_materials_version(self);
    if (err && errlen)
        err[0] = '\0';

    if (s_load_regions(self, dir, err, errlen) || s_load_materials(self, dir, err, errlen) ||
        s_load_terms(self, dir, "stages.csv", self->stage_index, &self->stages, err, errlen) ||
        s_load_terms(self, dir, "themes.csv", self->theme_index, &self->themes, err, errlen) ||
        s_load_nace(self, dir, err, errlen) || s_load_trl(self, dir, err, errlen))
        ls_taxonomy_destroy(&self);
    return self;
}

void ls_taxonomy_destroy(ls_taxonomy_t **self_p)
{
    if (self_p && *self_p) {
        ls_taxonomy_t *self = *self_p;
        zhashx_destroy(&self->region_index);
        zhashx_destroy(&self->material_index);
        zhashx_destroy(&self->stage_index);
        zhashx_destroy(&self->theme_index);
        zhashx_destroy(&self->nace_index);
        for (size_t index = 0; index < self->owned.size; index++)
            free(self->owned.items[index]);
        s_vec_clear(&self->owned);
        s_vec_clear(&self->regions);
        s_vec_clear(&self->materials);
        s_vec_clear(&self->stages);
        s_vec_clear(&self->themes);
        s_vec_clear(&self->nace);
        free(self);
        *self_p = NULL;
    }
}

/* A NULL code is treated as unknown: lookups are often made straight from a request. */
const ls_region_t *ls_taxonomy_region(const ls_taxonomy_t *self, const char *code)
{
    assert(self);
    return code ? zhashx_lookup(self->region_index, code) : NULL;
}

const ls_material_t *ls_taxonomy_material(const ls_taxonomy_t *self, const char *code)
{
    assert(self);
    return code ? zhashx_lookup(self->material_index, code) : NULL;
}

const ls_term_t *ls_taxonomy_stage(const ls_taxonomy_t *self, const char *code)
{
    assert(self);
    return code ? zhashx_lookup(self->stage_index, code) : NULL;
}

const ls_term_t *ls_taxonomy_theme(const ls_taxonomy_t *self, const char *code)
{
    assert(self);
    return code ? zhashx_lookup(self->theme_index, code) : NULL;
}

const ls_nace_t *ls_taxonomy_nace(const ls_taxonomy_t *self, const char *code)
{
    assert(self);
    return code ? zhashx_lookup(self->nace_index, code) : NULL;
}

bool ls_taxonomy_trl_valid(const ls_taxonomy_t *self, unsigned level)
{
    assert(self);
    return level <= S_TRL_MAX && self->trl[level];
}

const char *ls_taxonomy_materials_version(const ls_taxonomy_t *self)
{
    assert(self);
    return self->materials_version;
}

size_t ls_taxonomy_stage_count(const ls_taxonomy_t *self)
{
    return self->stages.size;
}

const ls_term_t *ls_taxonomy_stage_at(const ls_taxonomy_t *self, size_t index)
{
    return index < self->stages.size ? self->stages.items[index] : NULL;
}

size_t ls_taxonomy_theme_count(const ls_taxonomy_t *self)
{
    return self->themes.size;
}

const ls_term_t *ls_taxonomy_theme_at(const ls_taxonomy_t *self, size_t index)
{
    return index < self->themes.size ? self->themes.items[index] : NULL;
}

size_t ls_taxonomy_nace_count(const ls_taxonomy_t *self)
{
    return self->nace.size;
}

const ls_nace_t *ls_taxonomy_nace_at(const ls_taxonomy_t *self, size_t index)
{
    return index < self->nace.size ? self->nace.items[index] : NULL;
}

const char *ls_taxonomy_trl_description(const ls_taxonomy_t *self, unsigned level)
{
    return level <= S_TRL_MAX && self->trl[level] ? self->trl_text[level] : NULL;
}

size_t ls_taxonomy_region_count(const ls_taxonomy_t *self)
{
    assert(self);
    return self->regions.size;
}

const ls_region_t *ls_taxonomy_region_at(const ls_taxonomy_t *self, size_t index)
{
    assert(self);
    return index < self->regions.size ? self->regions.items[index] : NULL;
}

size_t ls_taxonomy_material_count(const ls_taxonomy_t *self)
{
    assert(self);
    return self->materials.size;
}

const ls_material_t *ls_taxonomy_material_at(const ls_taxonomy_t *self, size_t index)
{
    assert(self);
    return index < self->materials.size ? self->materials.items[index] : NULL;
}
