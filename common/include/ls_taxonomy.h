/* ls_taxonomy.h — the reference vocabularies: partnership regions (NUTS), raw
 * materials with their critical/strategic status from a versioned list and group
 * expansion, value-chain stages, NACE Rev. 2, S3 themes and TRL. Loaded once from
 * the CSV files in <data dir>/reference; lookups are hash-table O(1). */
#ifndef LS_TAXONOMY_H
#define LS_TAXONOMY_H

#include <stdbool.h>
#include <stddef.h>

typedef struct _ls_taxonomy_t ls_taxonomy_t;

typedef struct {
    const char *code; /* NUTS code, e.g. "FI1D7" */
    const char *name;
    const char *country; /* two letters as the EU writes them (Greece: EL) */
    const char *parent;  /* NUTS parent code, may be "" */
    int nuts_level;
    bool lead; /* a lead region of the partnership */
} ls_region_t;

typedef struct {
    const char *code; /* e.g. "cobalt", "hree" */
    const char *name;
    bool strategic;   /* CRMA Annex I */
    bool critical;    /* CRMA Annex II */
    size_t n_members; /* > 0 for a group such as the heavy rare earths */
    const char *const *members;
} ls_material_t;

typedef struct {
    const char *code;
    const char *name;
} ls_term_t; /* a stage or a theme */

typedef struct {
    const char *code;   /* "B", "07", "07.2", "07.29" */
    const char *level;  /* "section", "division", "group", "class" */
    const char *parent; /* "" for a section */
    const char *title;
} ls_nace_t;

/* Loads the CSV files in <dir>/reference. Returns NULL with a message naming the file and
 * line in err when a file is missing or malformed. */
ls_taxonomy_t *ls_taxonomy_load(const char *dir, char *err, size_t errlen);
void ls_taxonomy_destroy(ls_taxonomy_t **self_p);

/* Lookups return NULL for an unknown code. Pointers live as long as the taxonomy. */
const ls_region_t *ls_taxonomy_region(const ls_taxonomy_t *self, const char *code);
const ls_material_t *ls_taxonomy_material(const ls_taxonomy_t *self, const char *code);
const ls_term_t *ls_taxonomy_stage(const ls_taxonomy_t *self, const char *code);
const ls_term_t *ls_taxonomy_theme(const ls_taxonomy_t *self, const char *code);
const ls_nace_t *ls_taxonomy_nace(const ls_taxonomy_t *self, const char *code);
bool ls_taxonomy_trl_valid(const ls_taxonomy_t *self, unsigned level);

/* The version of the critical raw materials list, e.g. "crma-2024". */
const char *ls_taxonomy_materials_version(const ls_taxonomy_t *self);

/* Counts, and iteration by index in file order (for reports and the CLI). */
size_t ls_taxonomy_region_count(const ls_taxonomy_t *self);
const ls_region_t *ls_taxonomy_region_at(const ls_taxonomy_t *self, size_t index);
size_t ls_taxonomy_material_count(const ls_taxonomy_t *self);
const ls_material_t *ls_taxonomy_material_at(const ls_taxonomy_t *self, size_t index);
size_t ls_taxonomy_stage_count(const ls_taxonomy_t *self);
const ls_term_t *ls_taxonomy_stage_at(const ls_taxonomy_t *self, size_t index);
size_t ls_taxonomy_theme_count(const ls_taxonomy_t *self);
const ls_term_t *ls_taxonomy_theme_at(const ls_taxonomy_t *self, size_t index);
size_t ls_taxonomy_nace_count(const ls_taxonomy_t *self);
const ls_nace_t *ls_taxonomy_nace_at(const ls_taxonomy_t *self, size_t index);
/* The Horizon 2020 description of a TRL, or NULL for an unknown level. */
const char *ls_taxonomy_trl_description(const ls_taxonomy_t *self, unsigned level);

#endif
