/* index.h — the matching service's in-memory inverted index of active entities.
 *
 * The index keeps its own copy of each active entity's facets (a match_entity_t,
 * built from the protobuf message and the taxonomy) and postings lists keyed by
 * kind and "facet:value" ("sme|material:cobalt", "opportunity|region:FI1D7").
 * Candidates for an entity are the entities of a wanted kind found in the postings
 * of the entity's own facet values: never a scan of every entity.
 *
 * Complexity, with F the number of facet values of an entity (stages + materials
 * after group expansion + 1 region) and P the length of one postings list:
 *   upsert, remove        O(F) hash operations (plus building the record)
 *   lookup, size          O(1)
 *   candidates            O(sum of P over the F postings lists of the wanted kind),
 *                         each distinct candidate visited once
 * Memory is one record per active entity and one postings entry per facet value.
 *
 * Not thread-safe: candidates iterates the index's own hash tables. One thread owns
 * an index (threads share no state in Lodestone). */
#ifndef MATCHING_INDEX_H
#define MATCHING_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ls_proto.h"
#include "ls_taxonomy.h"

typedef struct _match_index_t match_index_t;

/* A set of codes: sorted (strcmp), distinct, so two sets intersect in one merge. */
typedef struct {
    char **items;
    size_t size;
} match_terms_t;

/* One material after group expansion: "hree" becomes dysprosium, erbium, ... */
typedef struct {
    char *code;     /* the taxonomy code: "cobalt", "dysprosium" (a group is expanded) */
    char *label;    /* for sentences: "cobalt", "coking coal" */
    bool critical;  /* on the critical raw materials list, itself or through a group */
    bool strategic; /* on the strategic raw materials list, itself or through a group */
} match_material_t;

/* The facets of one entity as the index holds them: a private copy, holding no
 * pointer into the protobuf message or the taxonomy. Read-only for callers.
 * Facets that later versions score (NACE, capabilities, themes, TRL, money) are
 * copied already so that scoring them needs no change here. */
typedef struct {
    char *id;
    Lodestone__V1__EntityKind kind;
    uint64_t version;
    bool active;       /* state ACTIVE, consent to matching (SME, investor), OPEN */
    char *name;        /* SME or investor name; opportunity title (else organisation) */
    char *region;      /* NUTS code, "" when not stated */
    char *region_name; /* the taxonomy's name, else the code */
    char *country;     /* ISO code as given, else the region's; "" when unknown */
    bool partnership;  /* region is one of the partnership's regions */
    match_terms_t stages;
    match_material_t *materials; /* sorted by code, distinct */
    size_t material_count;
    char *materials_version; /* critical raw materials list the flags come from */
    match_terms_t nace;
    match_terms_t capabilities;          /* SME: offered; opportunity: nice to have */
    match_terms_t required_capabilities; /* opportunity only */
    match_terms_t themes;
    unsigned trl;     /* SME: 0 = not stated */
    unsigned trl_min; /* opportunity, investor */
    unsigned trl_max; /* investor */
    char *deadline;   /* opportunity: YYYY-MM-DD, "" = none */
} match_entity_t;

/* Called once per distinct candidate. candidate belongs to the index: valid until the
 * next upsert or remove. The callback must not change the index. */
typedef void(match_index_visit_fn)(const match_entity_t *candidate, void *arg);

/* Creates an empty index. taxonomy expands material groups and names regions; it
 * must outlive the index. */
match_index_t *match_index_new(const ls_taxonomy_t *taxonomy);
/* Destroys the index and every record in it; nulls *self_p. Safe on NULL. */
void match_index_destroy(match_index_t **self_p);

/* Indexes entity (copied; the caller keeps ownership of the message), replacing an
 * earlier version with the same id and its postings. An inactive entity (withdrawn,
 * erased, SME or investor without consent to matching, closed opportunity) is not
 * indexed: an earlier version is removed. Returns 1 when the entity is now indexed,
 * 0 when it is not, -1 when the message has no body or no id. */
int match_index_upsert(match_index_t *self, const ls_entity_pb *entity);
/* Removes the entity with this id and its postings. Returns 0, or -1 when the index
 * does not hold it. */
int match_index_remove(match_index_t *self, const char *id);
/* The record for id, or NULL. Owned by the index: valid until the next upsert or
 * remove of that id, or the index's destruction. */
const match_entity_t *match_index_lookup(const match_index_t *self, const char *id);
/* Number of entities held (all kinds). */
size_t match_index_size(const match_index_t *self);

/* Visits each distinct entity of kind `wanted` that shares at least one stage,
 * material (after group expansion) or region with subject, except subject itself
 * (same id), in no particular order. subject need not be in the index. Returns the
 * number of candidates visited. */
size_t match_index_candidates(match_index_t *self, const match_entity_t *subject,
                              Lodestone__V1__EntityKind wanted, match_index_visit_fn *visit,
                              void *arg);

/* Builds the record the index would hold for entity, without indexing it: for
 * scoring an entity the index does not hold (an inactive one, a what-if query).
 * Returns NULL when the message has no body or no id. The caller destroys it with
 * match_entity_destroy. */
match_entity_t *match_entity_new(const match_index_t *index, const ls_entity_pb *entity);
/* Frees a record from match_entity_new; nulls *self_p. Safe on NULL. */
void match_entity_destroy(match_entity_t **self_p);

#endif
