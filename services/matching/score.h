/* score.h — the matching model: scores a pair of entities and explains the score,
 * facet by facet, and picks an entity's best matches from the index's candidates.
 *
 * score = sum over facets of weight * similarity / sum of weights, in [0, 1], after
 * the hard filters (inactive, withdrawn, no consent, closed, deadline passed). Each
 * facet reports its weight, similarity, contribution and a sentence for a person.
 * Pairs scored now: SME <-> opportunity, either side as subject. Scoring a pair is
 * O(facet values of the two entities); no taxonomy or index is consulted, the
 * records carry what is needed. */
#ifndef MATCHING_SCORE_H
#define MATCHING_SCORE_H

#include <czmq.h>

#include "index.h"
#include "ls_proto.h"

/* Stored with every match, so that a score can be traced to the model that made it. */
#define MATCH_MODEL_VERSION "v1-skeleton"

/* Facet weights; a facet with weight 0 is left out of the score and the explanation. */
typedef struct {
    double stages;
    double materials;
    double region;
} match_weights_t;

typedef struct {
    match_weights_t weights;
    double threshold; /* matches scoring below this are not kept by match_top */
    size_t top_k;     /* at most this many matches per subject */
} match_config_t;

/* The defaults: stages 0.35, materials 0.40, region 0.25; threshold 0.3; top-K 10
 * (the same threshold and top-K as ls_config's defaults). */
match_config_t match_config_default(void);

/* Why the pair cannot match, or NULL when it may: the kinds do not pair, either side
 * is inactive (withdrawn, erased, no consent, closed), or the opportunity's deadline
 * is before today. today is "YYYY-MM-DD"; NULL or "" skips the deadline filter. The
 * string is static. */
const char *match_rejection(const match_entity_t *subject, const match_entity_t *candidate,
                            const char *today);

/* Scores candidate for subject. Returns a new Match (subject_id, candidate_id,
 * candidate_kind, candidate_name, score, model_version, one FacetScore per weighted
 * facet, summary; `at` is 0 for the caller to stamp), or NULL when match_rejection
 * rejects the pair. Every string and sub-message is heap-allocated with malloc: the
 * caller frees the Match with match_destroy (or lodestone__v1__match__free_unpacked
 * with a NULL allocator, which is the same). */
ls_match_pb *match_score(const match_config_t *config, const match_entity_t *subject,
                         const match_entity_t *candidate, const char *today);
/* Frees a Match from match_score or match_top; nulls *match_p. Safe on NULL. */
void match_destroy(ls_match_pb **match_p);

/* The best matches for subject among the index's candidates of every kind that pairs
 * with it: those scoring at least config->threshold, sorted by score descending then
 * candidate id ascending (deterministic), at most config->top_k. Returns a new list of
 * ls_match_pb *, possibly empty; the caller destroys it with zlistx_destroy, which
 * frees the matches (zlistx_detach_cur one to keep it, then match_destroy it). Costs one
 * candidates search per paired kind, O(facets) per candidate, and a sort. */
zlistx_t *match_top(match_index_t *index, const match_entity_t *subject,
                    const match_config_t *config, const char *today);

#endif
