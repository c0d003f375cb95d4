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
 * Representation. Every code a record holds (stage, material, NACE code, capability
 * tag, theme, region, country) is interned: the index numbers it, so the candidate
 * rule and the scorer compare integers, and a 64-bit mask per set says at once when
 * two sets share nothing; the strings stay, sorted, for sentences and for summing in
 * a fixed order. A record and the arrays it points to are one allocation, and its hot
 * fields come first. A postings list is an array of records (removal swaps in the
 * last entry; each record knows its place in every list it is in), whose entries also
 * carry the masks the supply rule and a ranking test before reading a record.
 *
 * Cost, measured on tools/synth data (100,000 SMEs, 10,000 opportunities, 2,000
 * investors, seed 1, one core, RelWithDebInfo, CPU time): candidates per entity (all
 * paired kinds) SME 800, opportunity 6,400, investor 6,450, 152 million pairs in all.
 * Scoring every candidate of every entity with match_score_value (what a full
 * re-match does): 210 ns a pair, 32 s (strings and hash sets: 1,350 ns, 206 s).
 * match_top mean / p99: SME 0.11 / 0.23 ms, opportunity 0.49 / 3.8 ms, investor
 * 0.77 / 2.0 ms; 17 s for every entity (was 235 s): it stops scoring a candidate
 * that cannot reach its cut-off and skips, unread, those that share no material once
 * such a pair cannot reach it (match_index_candidates_gated). A pair is mostly
 * waiting for memory (records are read ahead, a few candidates in advance): the
 * issue's 100 ns a pair and 10 s full re-match are not reached yet. With F the facet
 * values of an entity and P the length of one postings list:
 *   upsert                O(F + targets x materials) hash operations
 *   remove                O(F): each list entry goes in O(1), no key is rebuilt
 *   lookup, size          O(1)
 *   candidates            O(sum of P over the lists looked up); each distinct
 *                         candidate visited once (a mark in the record, no set)
 *   refresh_idf           O(entities x capabilities)
 * Memory: match_index_memory estimates it: 2,056 B per entity on the synthetic set,
 * where malloc's own count (mallinfo2, before and after loading) says 2,001 B (was
 * 2,383 and 2,655 B with strings and hash sets).
 *
 * One thread owns an index and its records, and changes them: records (also those
 * from match_entity_new) count their holdings in the index's intern table. Searches
 * are not re-entrant (a search marks the records it visits). While the index does not
 * change, threads may search it at once, each in a search lane of its own
 * (match_index_candidates_in), and score what they find: a full re-match works that
 * way, the owning thread waiting for the workers. */
#ifndef MATCHING_INDEX_H
#define MATCHING_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ls_proto.h"
#include "ls_taxonomy.h"

typedef struct _match_index_t match_index_t;

/* Searches that may run at the same time on different threads, each in its own lane
 * (0 .. MATCH_SEARCH_LANES - 1). Lane 0 is the one match_index_candidates,
 * match_index_counterparts and match_top use. */
#define MATCH_SEARCH_LANES 8

/* A set of codes: sorted (strcmp), distinct, so that sentences name them and sums
 * walk them in one fixed order. The strings belong to the index's intern table, which
 * also numbers them: ids[i] is items[i]'s number (never 0), and mask has bit
 * (id & 63) of every id, so two sets with no common bit certainly share nothing.
 * weights, when not NULL, holds each item's rarity weight from the IDF snapshot
 * (capability sets only). */
typedef struct {
    const char **items;
    uint32_t *ids;
    size_t size;
    uint64_t mask;
    double *weights;
} match_terms_t;

/* The mask bit of an interned id. */
static inline uint64_t match_id_bit(uint32_t id)
{
    return 1ULL << (id & 63);
}

/* True when the set holds the code numbered id (0, "no code", is in no set). Sets are
 * short (under about 20 items): a guarded scan beats a search. */
static inline bool match_terms_has(const match_terms_t *terms, uint32_t id)
{
    if (id == 0 || !(terms->mask & match_id_bit(id)))
        return false;
    for (size_t i = 0; i < terms->size; i++)
        if (terms->ids[i] == id)
            return true;
    return false;
}

/* The first 8 bytes of text as a big-endian number, zero after its end: when two keys
 * differ they order as strcmp orders the texts (and only "" has key 0), so most
 * comparisons need not read the texts. */
static inline uint64_t match_text_key(const char *text)
{
    uint64_t key = 0;
    bool ended = false;
    for (size_t i = 0; i < 8; i++) {
        unsigned char c = ended ? 0 : (unsigned char)text[i]; /* not read past the end */
        ended = c == 0;
        key = key << 8 | c;
    }
    return key;
}

/* One material after group expansion: "hree" becomes dysprosium, erbium, ... */
typedef struct {
    uint32_t id;      /* code's number in the intern table */
    bool critical;    /* on the critical raw materials list, itself or through a group */
    bool strategic;   /* on the strategic raw materials list, itself or through a group */
    const char *code; /* the taxonomy code: "cobalt", "dysprosium" (a group is expanded);
                         interned, like a set's items */
    char *label;      /* for sentences: "cobalt", "coking coal" */
} match_material_t;

/* An amount range in euros; max 0 means no upper bound. stated is false when the
 * message left both ends 0. */
typedef struct {
    uint64_t min_eur;
    uint64_t max_eur;
    bool stated;
} match_money_t;

/* The facets of one entity as the index holds them: a private copy, holding no
 * pointer into the protobuf message or the taxonomy (codes point into the index's
 * intern table, which lives as long as any record does). Read-only for callers. Two
 * records may be compared (match_index_is_candidate, score.h) only when they come
 * from the same index: equal codes have equal numbers within one intern table. */
typedef struct {
    /* What every candidate pair reads comes first, together, to take few cache lines;
     * the arrays it points to follow the record in the same allocation. */
    uint32_t visit_mark[MATCH_SEARCH_LANES]; /* private to the index: per search lane, the
                                                last search that visited it */
    Lodestone__V1__EntityKind kind;
    Lodestone__V1__EntityState state;
    Lodestone__V1__Opportunity__Kind opportunity_kind; /* opportunity only */
    bool active;                 /* state ACTIVE, consent to matching (SME, investor), OPEN */
    bool consent;                /* SME, investor: consent_match; opportunity: true */
    bool closed;                 /* opportunity: status CLOSED */
    bool partnership;            /* region is one of the partnership's regions */
    uint32_t region_id;          /* region's number in the intern table; 0 when "" */
    uint32_t country_id;         /* country's number; 0 when "" */
    unsigned trl;                /* SME: 0 = not stated */
    unsigned trl_min;            /* opportunity, investor */
    unsigned trl_max;            /* investor */
    unsigned instruments;        /* bit (1 << Instrument) per instrument listed */
    uint64_t id_hash;            /* of id: unequal hashes, unequal ids */
    uint64_t organisation_hash;  /* of organisation_key: unequal hashes, unequal keys */
    uint64_t deadline_key;       /* match_text_key (deadline) */
    match_material_t *materials; /* sorted by code, distinct */
    size_t material_count;
    uint64_t materials_mask;    /* bit (id & 63) of every material, as in match_terms_t */
    match_money_t money;        /* SME: funding sought; investor: ticket; opportunity: budget */
    match_terms_t capabilities; /* SME: offered; opportunity: nice to have; weighted */
    match_terms_t required_capabilities; /* opportunity only; weighted */
    match_terms_t stages;
    match_terms_t nace; /* as given */
    /* NACE ancestors by level, each code counted at its own level and every level
     * above it (taxonomy parent links): "07.29" gives class 07.29, group 07.2,
     * division 07, section B. */
    match_terms_t nace_class, nace_group, nace_division, nace_section;
    match_terms_t themes;
    match_terms_t target_regions; /* investor: NUTS codes, empty = any */
    char *deadline;               /* opportunity: YYYY-MM-DD, "" = none */
    /* For sentences, lookups and bookkeeping. */
    char *id;
    uint64_t version;
    char *name;                /* SME or investor name; opportunity title (else organisation) */
    char *organisation;        /* SME, investor: the name; opportunity: its organisation */
    char *organisation_key;    /* organisation trimmed and lower-cased, for comparison */
    char *region;              /* NUTS code, "" when not stated */
    char *region_name;         /* the taxonomy's name, else the code */
    char *country;             /* ISO code as given, else the region's; "" when unknown */
    char *materials_version;   /* critical raw materials list the flags come from */
    char *target_regions_text; /* investor: "Lapland and Kainuu", for sentences */
    uint64_t idf_generation;   /* the IDF snapshot its capability weights come from */
    /* Private to the index. */
    struct _match_intern_t *intern;    /* the table its codes are interned in */
    struct _match_posting_t *postings; /* the lists it is posted in, with its place */
    size_t posting_count, posting_capacity;
    const char *req_key; /* opportunity: the required tag it is posted under */
    size_t bytes;        /* approximate heap bytes of this record, postings apart */
} match_entity_t;

/* True when the entity holds the material numbered id: as match_terms_has. */
static inline bool match_materials_has(const match_entity_t *entity, uint32_t id)
{
    if (id == 0 || !(entity->materials_mask & match_id_bit(id)))
        return false;
    for (size_t i = 0; i < entity->material_count; i++)
        if (entity->materials[i].id == id)
            return true;
    return false;
}

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
/* The 64-bit hash of an id that match_entity_t.id_hash holds: ls_hash64 (FNV-1a),
 * the hash ls_partition_of takes too, so id_hash % N is the id's partition. */
uint64_t match_id_hash(const char *id);
/* Number of entities held (all kinds). */
size_t match_index_size(const match_index_t *self);
/* Visits every entity held, in no particular order (reports: a pass over the
 * index, never over Redis). */
void match_index_each(const match_index_t *self, match_index_visit_fn *visit, void *arg);

/* Visits each distinct entity of kind `wanted` that is a candidate for subject under
 * the rule above, except subject itself (same id), in no particular order. Nothing is
 * visited when the kinds do not pair. subject need not be in the index. Returns the
 * number of candidates visited. See the top for measured counts and times. */
size_t match_index_candidates(match_index_t *self, const match_entity_t *subject,
                              Lodestone__V1__EntityKind wanted, match_index_visit_fn *visit,
                              void *arg);
/* match_index_candidates for a ranking that keeps only the best: while *gate is true
 * (the visitor may set it during the search), a candidate whose materials share
 * nothing with subject's, so that its materials facet is 0, is passed over without
 * its record being read, and not counted. With gate NULL, the same as
 * match_index_candidates. */
size_t match_index_candidates_gated(match_index_t *self, const match_entity_t *subject,
                                    Lodestone__V1__EntityKind wanted, match_index_visit_fn *visit,
                                    void *arg, const bool *gate);
/* Visits the candidates of every kind that pairs with subject (SME: opportunities and
 * investors; investor: SMEs and opportunities; opportunity: SMEs and, for an
 * investment case, investors). The set a change to subject can affect. Returns the
 * number visited. */
size_t match_index_counterparts(match_index_t *self, const match_entity_t *subject,
                                match_index_visit_fn *visit, void *arg);
/* match_index_candidates_gated in search lane `lane` (< MATCH_SEARCH_LANES). Several
 * threads may search one index at once, each in a lane of its own, while nothing
 * changes the index (no upsert, remove or IDF refresh) and no other thread uses
 * that lane. */
size_t match_index_candidates_in(match_index_t *self, unsigned lane, const match_entity_t *subject,
                                 Lodestone__V1__EntityKind wanted, match_index_visit_fn *visit,
                                 void *arg, const bool *gate);
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

/* Approximate heap bytes the index holds: records, postings, the intern table, the
 * IDF snapshot. An emptied index comes back to its starting figure. */
size_t match_index_memory(const match_index_t *self);

/* Builds the record the index would hold for entity, without indexing it: for
 * scoring an entity the index does not hold (an inactive one, a what-if query).
 * Its capability weights come from the index's current IDF snapshot: build it again
 * after a refresh. Its codes are numbered in the index's intern table, which it holds
 * until destroyed (it may outlive the index): compare it only with records of the
 * same index, and destroy it in the thread that owns the index. Returns NULL when the
 * message has no body or no id. The caller destroys it with match_entity_destroy. */
match_entity_t *match_entity_new(const match_index_t *index, const ls_entity_pb *entity);
/* Frees a record from match_entity_new; nulls *self_p. Safe on NULL. */
void match_entity_destroy(match_entity_t **self_p);

#endif
