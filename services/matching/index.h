/* index.h — the matching service's in-memory inverted index of active entities.
 *
 * The index keeps its own copy of each active entity's facets (a match_entity_t,
 * built from the protobuf message and the taxonomy), postings lists keyed by kind and
 * facet value ("sme|cap:flotation"), and a snapshot of the capability tags' rarity
 * (inverse document frequency) that scoring uses until the next refresh.
 *
 * Candidate rule (model v1). Region and stage alone match almost everything, so
 * candidates come only from selective facets; (a, b) is a candidate pair when the
 * kinds pair and:
 *   SME <-> opportunity with required capabilities: the SME lists every required
 *     capability (this is also a hard filter, so no pair that passes the filters is
 *     lost). The opportunity is posted under one required tag, the one fewest SMEs
 *     held when it was indexed; an SME looks up each of its tags; an opportunity reads
 *     the shortest of its required tags' SME postings.
 *   SME <-> opportunity without required capabilities: they share a material (after
 *     group expansion), a capability (the SME's against the nice-to-have ones) or a
 *     NACE group (a class counts as its group; a code at division or section level
 *     alone is not selective and is not posted).
 *   investor <-> SME that states the funding it seeks, and investor <-> investment
 *     case: the seeker's region is one of the investor's target regions (or the
 *     investor targets none) and they share a material; an investor that names no
 *     material is paired by stage instead. Seekers are posted under
 *     "<region or *>|<material or stage>", investors under each target (or *) times
 *     each of their materials (or stages): a lookup is one key per target and value.
 * The relation is symmetric and exact: candidates(a) holds b if and only if
 * match_index_is_candidate(a, b), whichever side asks. A pair that shares no selective
 * facet is never proposed; score.h says how much such a pair could score at most.
 *
 * Cost, measured on tools/synth data (100,000 SMEs, 10,000 opportunities, 2,000
 * investors, seed 42, one core, RelWithDebInfo): candidates per entity (all paired
 * kinds) SME 820, opportunity 6,650, investor 6,520; match_top mean / p99: SME 1.1 /
 * 9.9 ms, opportunity 13 / 101 ms, investor 5.1 / 18 ms; a full re-match of every list
 * about 256 s on one core. The rule is exact but NOT yet selective enough for the
 * issue's targets: synthetic capability tags are Zipf-skewed and materials follow the
 * region, so a required common tag or a regional material admits thousands. Next
 * step: prune by an upper bound of the score (skip a postings list whose best possible
 * score cannot reach the current k-th), or intern codes to cut strcmp. With F the facet
 * values of an entity and P the length of one postings list:
 *   upsert, remove        O(F + targets x materials) hash operations
 *   lookup, size          O(1)
 *   candidates            O(sum of P over the lists looked up); each distinct
 *                         candidate visited once (a mark in the record, no set)
 *   refresh_idf           O(entities x capabilities)
 * Memory: match_index_memory estimates it: 2,384 B per entity on the synthetic set,
 * where malloc's own count (mallinfo2) says 2,624 B.
 *
 * Not thread-safe and not re-entrant: candidates marks records as it visits them. One
 * thread owns an index (threads share no state in Lodestone). */
#ifndef MATCHING_INDEX_H
#define MATCHING_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ls_proto.h"
#include "ls_taxonomy.h"

typedef struct _match_index_t match_index_t;

/* A set of codes: sorted (strcmp), distinct, so two sets intersect in one merge.
 * weights, when not NULL, holds each item's rarity weight from the IDF snapshot
 * (capability sets only). */
typedef struct {
    char **items;
    size_t size;
    double *weights;
} match_terms_t;

/* One material after group expansion: "hree" becomes dysprosium, erbium, ... */
typedef struct {
    char *code;     /* the taxonomy code: "cobalt", "dysprosium" (a group is expanded) */
    char *label;    /* for sentences: "cobalt", "coking coal" */
    bool critical;  /* on the critical raw materials list, itself or through a group */
    bool strategic; /* on the strategic raw materials list, itself or through a group */
} match_material_t;

/* An amount range in euros; max 0 means no upper bound. stated is false when the
 * message left both ends 0. */
typedef struct {
    uint64_t min_eur;
    uint64_t max_eur;
    bool stated;
} match_money_t;

/* The facets of one entity as the index holds them: a private copy, holding no
 * pointer into the protobuf message or the taxonomy. Read-only for callers. */
typedef struct {
    char *id;
    Lodestone__V1__EntityKind kind;
    uint64_t version;
    bool active; /* state ACTIVE, consent to matching (SME, investor), OPEN */
    Lodestone__V1__EntityState state;
    bool consent; /* SME, investor: consent_match; opportunity: true */
    bool closed;  /* opportunity: status CLOSED */
    Lodestone__V1__Opportunity__Kind opportunity_kind; /* opportunity only */
    char *name;             /* SME or investor name; opportunity title (else organisation) */
    char *organisation;     /* SME, investor: the name; opportunity: its organisation */
    char *organisation_key; /* organisation trimmed and lower-cased, for comparison */
    char *region;           /* NUTS code, "" when not stated */
    char *region_name;      /* the taxonomy's name, else the code */
    char *country;          /* ISO code as given, else the region's; "" when unknown */
    bool partnership;       /* region is one of the partnership's regions */
    match_terms_t stages;
    match_material_t *materials; /* sorted by code, distinct */
    size_t material_count;
    char *materials_version; /* critical raw materials list the flags come from */
    match_terms_t nace;      /* as given */
    /* NACE ancestors by level, each code counted at its own level and every level
     * above it (taxonomy parent links): "07.29" gives class 07.29, group 07.2,
     * division 07, section B. */
    match_terms_t nace_class, nace_group, nace_division, nace_section;
    match_terms_t capabilities;          /* SME: offered; opportunity: nice to have; weighted */
    match_terms_t required_capabilities; /* opportunity only; weighted */
    match_terms_t themes;
    match_terms_t target_regions; /* investor: NUTS codes, empty = any */
    char *target_regions_text;    /* investor: "Lapland and Kainuu", for sentences */
    unsigned trl;                 /* SME: 0 = not stated */
    unsigned trl_min;             /* opportunity, investor */
    unsigned trl_max;             /* investor */
    char *deadline;               /* opportunity: YYYY-MM-DD, "" = none */
    match_money_t money;          /* SME: funding sought; investor: ticket; opportunity: budget */
    unsigned instruments;         /* bit (1 << Instrument) per instrument listed */
    uint64_t idf_generation;      /* the IDF snapshot its capability weights come from */
    /* Private to the index. */
    char *req_key;       /* opportunity: the required tag it is posted under */
    uint64_t visit_mark; /* the last candidates search that visited it */
    size_t bytes;        /* approximate heap bytes of this record */
} match_entity_t;

/* Called once per distinct candidate. candidate belongs to the index: valid until the
 * next upsert or remove. The callback must not change the index or start another
 * candidates search. */
typedef void(match_index_visit_fn)(const match_entity_t *candidate, void *arg);

/* Creates an empty index with an empty IDF snapshot (every tag weighs 1, generation
 * 0). taxonomy expands material groups, names regions and links NACE codes to their
 * parents; it must outlive the index. */
match_index_t *match_index_new(const ls_taxonomy_t *taxonomy);
/* Destroys the index and every record in it; nulls *self_p. Safe on NULL. */
void match_index_destroy(match_index_t **self_p);

/* Indexes entity (copied; the caller keeps ownership of the message), replacing an
 * earlier version with the same id and its postings. An inactive entity (withdrawn,
 * erased, SME or investor without consent to matching, closed opportunity) is not
 * indexed: an earlier version is removed. Capability weights come from the current
 * IDF snapshot; the snapshot itself does not change. Returns 1 when the entity is now
 * indexed, 0 when it is not, -1 when the message has no body or no id. */
int match_index_upsert(match_index_t *self, const ls_entity_pb *entity);
/* Removes the entity with this id and its postings. Returns 0, or -1 when the index
 * does not hold it. */
int match_index_remove(match_index_t *self, const char *id);
/* The record for id, or NULL. Owned by the index: valid until the next upsert or
 * remove of that id, or the index's destruction. */
const match_entity_t *match_index_lookup(const match_index_t *self, const char *id);
/* Number of entities held (all kinds). */
size_t match_index_size(const match_index_t *self);

/* Visits each distinct entity of kind `wanted` that is a candidate for subject under
 * the rule above, except subject itself (same id), in no particular order. Nothing is
 * visited when the kinds do not pair. subject need not be in the index. Returns the
 * number of candidates visited. See the top for measured counts and times. */
size_t match_index_candidates(match_index_t *self, const match_entity_t *subject,
                              Lodestone__V1__EntityKind wanted, match_index_visit_fn *visit,
                              void *arg);
/* Visits the candidates of every kind that pairs with subject (SME: opportunities and
 * investors; investor: SMEs and opportunities; opportunity: SMEs and, for an
 * investment case, investors). The set a change to subject can affect. Returns the
 * number visited. */
size_t match_index_counterparts(match_index_t *self, const match_entity_t *subject,
                                match_index_visit_fn *visit, void *arg);
/* True when a and b form a candidate pair under the rule above (symmetric). Pure: no
 * index needed. */
bool match_index_is_candidate(const match_entity_t *a, const match_entity_t *b);

/* Takes a new IDF snapshot of the capability tags over the entities indexed now (SMEs
 * and opportunities; an opportunity counts its required and nice-to-have tags) and
 * re-weights every record: weight(tag) = log(1 + N / df) / log(1 + N / df_min), so the
 * rarest tag weighs 1; a tag unseen at the snapshot weighs 1 too. Scoring uses the
 * snapshot until the next refresh. Returns the new generation (1, 2, ...). */
uint64_t match_index_refresh_idf(match_index_t *self);
/* The snapshot's generation: 0 before the first refresh. Counts refreshes in this
 * process. */
uint64_t match_index_idf_generation(const match_index_t *self);
/* A fingerprint of the snapshot's content (FNV-1a over N and the sorted tags with
 * their document frequencies): equal for equal data, in any process. 0 before the
 * first refresh. */
uint64_t match_index_idf_fingerprint(const match_index_t *self);
/* Installs a snapshot taken earlier (as match_index_idf_each gave it, with its
 * fingerprint), so that a restarted process scores exactly as before. Returns the new
 * generation. */
uint64_t match_index_load_idf(match_index_t *self, const char *const *tags, const double *weights,
                              size_t count, uint64_t fingerprint);
/* Visits every tag of the snapshot with its weight, in no particular order. */
void match_index_idf_each(const match_index_t *self,
                          void (*visit)(const char *tag, double weight, void *arg), void *arg);
/* The snapshot's weight of a capability tag, in (0, 1]. */
double match_index_idf(const match_index_t *self, const char *tag);

/* Approximate heap bytes the index holds: records, postings, the IDF snapshot. */
size_t match_index_memory(const match_index_t *self);

/* Builds the record the index would hold for entity, without indexing it: for
 * scoring an entity the index does not hold (an inactive one, a what-if query).
 * Its capability weights come from the index's current IDF snapshot: build it again
 * after a refresh. Returns NULL when the message has no body or no id. The caller
 * destroys it with match_entity_destroy. */
match_entity_t *match_entity_new(const match_index_t *index, const ls_entity_pb *entity);
/* Frees a record from match_entity_new; nulls *self_p. Safe on NULL. */
void match_entity_destroy(match_entity_t **self_p);

#endif
