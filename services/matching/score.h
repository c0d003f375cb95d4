/* score.h — the matching model v1: hard filters that exclude a pair (each with a
 * sentence), facet similarities with explanations, the weighted score, an entity's
 * top-K and the full explanation of one pair.
 *
 * Pairs: SME <-> opportunity, SME <-> investor, investor <-> opportunity of kind
 * INVESTMENT_CASE; either side may be the subject.
 *
 * score = sum over the facets that apply to the pair of weight * similarity, divided
 * by the sum of those weights: in [0, 1]. Contributions are summed in the fixed facet
 * order below, and every set is walked in sorted order, so the same data gives the
 * same score bit for bit, with or without sentences. The score is symmetric:
 * score(a, b) == score(b, a). Both records of a pair must come from the same index
 * (index.h: codes are compared by their numbers in its intern table).
 *
 * Facets, their default weights, and the pairs they apply to
 * (S-O = SME <-> opportunity, S-I = SME <-> investor, I-O = investor <-> investment case):
 *   facet         weight  pairs        similarity
 *   stages         0.15   all          overlap |A∩B| / min(|A|,|B|)
 *   materials      0.25   all          weighted overlap after group expansion; a
 *                                      critical or strategic material weighs 1.5
 *   capabilities   0.25   S-O          rarity-weighted (IDF snapshot) share of the
 *                                      opportunity's wanted tags the SME has; a
 *                                      required tag counts twice
 *   nace           0.10   S-O          same class 1, group 0.75, division 0.5,
 *                                      section 0.25, else 0 (best pair of codes)
 *   themes         0.05   all          overlap coefficient
 *   region         0.10   all          same region 1, same country 0.7, another
 *                                      partnership region 0.5, elsewhere 0.1; an
 *                                      investor whose target regions name the other
 *                                      side's region 1
 *   trl            0.05   all          meets the minimum or the investor's range 1,
 *                                      unknown (a side states none) 0.5
 *   funding        0.20   S-I, I-O     share of the sought range (log scale) inside
 *                                      the ticket, 0.7 of it, plus 0.3 x the share of
 *                                      the sought instruments offered (when both list
 *                                      some); 0.5 when the investment case states no
 *                                      budget or the investor no ticket
 * So the weights in force sum to 0.95 for S-O and 0.80 for S-I and I-O.
 * A facet one side leaves empty (no stage, no material...) has similarity 0: no
 * evidence of a fit.
 *
 * Environment (match_config_from_env), each a number from 0 to 10:
 *   LODESTONE_WEIGHT_STAGES        0.15
 *   LODESTONE_WEIGHT_MATERIALS     0.25
 *   LODESTONE_WEIGHT_CAPABILITIES  0.25
 *   LODESTONE_WEIGHT_NACE          0.10
 *   LODESTONE_WEIGHT_THEMES        0.05
 *   LODESTONE_WEIGHT_REGION        0.10
 *   LODESTONE_WEIGHT_TRL           0.05
 *   LODESTONE_WEIGHT_FUNDING       0.20
 * Threshold (0.3) and top-K (10) are the service's (ls_config) and live in the struct.
 *
 * Hard filters, in the order match_rejection checks them: the same entity; kinds that
 * do not pair (an investor and an opportunity that is not an investment case);
 * withdrawn, erased, no consent to matching, closed; the same organisation (names,
 * trimmed and case-insensitive: SME name, investor name, opportunity organisation);
 * the opportunity's deadline before today; the investor's target regions (when it
 * names some) not holding the other side's region; a required capability the SME does
 * not list; TRL: the SME's below the opportunity's minimum, or the SME's or the
 * investment case's (its trl_min) outside the investor's range (each bound when
 * stated; nothing when the TRL is not stated); money, for S-I and I-O: an SME that
 * states no funding need is not paired with investors; the ranges (when both stated)
 * must overlap; the instruments must intersect when both list some.
 *
 * Candidates (index.h): a pair that shares no selective facet is never proposed. Under
 * the default weights such a pair scores at most: S-O 0.42 (everything but materials,
 * capabilities and NACE group-level perfect, NACE same division), S-I 0.69 (no shared
 * material: stages, themes, region, TRL and funding perfect). The S-I bound is high,
 * but the rule only drops investors that name materials and share none with the SME:
 * the investor has said what it invests in. */
#ifndef MATCHING_SCORE_H
#define MATCHING_SCORE_H

#include <czmq.h>

#include "index.h"
#include "ls_proto.h"

/* Stored with every match, so that a score can be traced to the model that made it.
 * The service stores the IDF snapshot (match_index_idf_fingerprint) next to it. */
#define MATCH_MODEL_VERSION "v1"

/* Facet weights; a facet with weight 0 is left out of the score and the explanation,
 * and so is a facet that does not apply to the pair's kinds. */
typedef struct {
    double stages;
    double materials;
    double capabilities;
    double nace;
    double themes;
    double region;
    double trl;
    double funding;
} match_weights_t;

typedef struct {
    match_weights_t weights;
    double threshold; /* matches scoring below this are not kept by match_top */
    size_t top_k;     /* at most this many matches per subject */
} match_config_t;

/* The defaults above; threshold 0.3 and top-K 10 (the same as ls_config's defaults). */
match_config_t match_config_default(void);

/* Reads LODESTONE_WEIGHT_<FACET> for each facet into config->weights, leaving a
 * weight whose variable is unset or empty as it is. Returns 0, or -1 with a message
 * naming the variable in err (config unchanged) when a value is not a number from 0
 * to 10, or when every weight would be 0. */
int match_config_from_env(match_config_t *config, char *err, size_t len);

/* Why the pair cannot match, or NULL when it may: the first hard filter (above) that
 * excludes it, as a sentence such as "the opportunity requires 'flotation', which the
 * SME does not list". The sentence is written into why (len bytes, truncated) and why
 * is returned; with why NULL or len 0 a static short name of the filter is returned
 * instead. today is "YYYY-MM-DD"; NULL or "" skips the deadline filter. */
const char *match_rejection(const match_entity_t *subject, const match_entity_t *candidate,
                            const char *today, char *why, size_t len);

/* Scores candidate for subject. Returns a new Match (subject_id, candidate_id,
 * candidate_kind, candidate_name, score, model_version, one FacetScore per weighted
 * facet that applies to the pair, summary; `at` is 0 for the caller to stamp), or NULL
 * when match_rejection rejects the pair. The threshold is not applied. Every string
 * and sub-message is heap-allocated with malloc: the caller frees the Match with
 * match_destroy (or lodestone__v1__match__free_unpacked with a NULL allocator). */
ls_match_pb *match_score(const match_config_t *config, const match_entity_t *subject,
                         const match_entity_t *candidate, const char *today);
/* The score match_score would give, bit for bit, without building the Match or its
 * sentences (the fast path for re-scoring many pairs: about 200 ns a pair on the
 * synthetic set of index.h, most of it reading the candidate's record); -1 when a hard
 * filter rejects the pair. */
double match_score_value(const match_config_t *config, const match_entity_t *subject,
                         const match_entity_t *candidate, const char *today);
/* Frees a Match from match_score, match_top or match_explain; nulls *match_p. Safe on
 * NULL. */
void match_destroy(ls_match_pb **match_p);

/* The best matches for subject among the index's candidates of every kind that pairs
 * with it: those scoring at least config->threshold, sorted by score descending then
 * candidate id ascending (deterministic), at most config->top_k. Returns a new list of
 * ls_match_pb *, possibly empty; the caller destroys it with zlistx_destroy, which
 * frees the matches (zlistx_detach_cur one to keep it, then match_destroy it). Costs one
 * candidates search per paired kind and at most O(facets) per candidate: facets are
 * scored heaviest first and a candidate is dropped as soon as it cannot reach the
 * threshold or, once top_k are held, the last of them (by a margin far above
 * rounding, so the list is exactly the one scoring every candidate would give); once
 * a pair sharing no material cannot reach it, the index skips such candidates
 * unread. Only the kept matches are explained. Timings: index.h. */
zlistx_t *match_top(match_index_t *index, const match_entity_t *subject,
                    const match_config_t *config, const char *today);

/* One ranked candidate (match_rank). */
typedef struct {
    const match_entity_t *candidate;
    double score;
} match_ranked_t;

/* The ranking match_top makes, without explanations and to any depth: the best
 * `depth` candidates of subject scoring at least config->threshold, in match_top's
 * order, into out (room for depth items); returns how many. Scores are those
 * match_score_value gives. *complete is true when no candidate scoring at least the
 * threshold was left out (fewer than depth were found). The search runs in lane
 * `lane` (index.h), so threads with lanes of their own may rank at once while the
 * index does not change. */
size_t match_rank(match_index_t *index, unsigned lane, const match_entity_t *subject,
                  const match_config_t *config, const char *today, size_t depth,
                  match_ranked_t *out, bool *complete);

/* What match_explain found. */
typedef enum {
    MATCH_EXPLAIN_MATCH = 0,         /* a candidate scoring at least the threshold */
    MATCH_EXPLAIN_BELOW = 1,         /* a candidate scoring below the threshold */
    MATCH_EXPLAIN_NOT_CANDIDATE = 2, /* passes the filters but shares no selective facet */
    MATCH_EXPLAIN_REJECTED = 3,      /* a hard filter excludes it */
} match_explain_t;

/* Explains the pair (a as subject) for `explain A B`: the rejection sentence, or the
 * Match with every facet (*match_out, the caller destroys it with match_destroy; NULL
 * when rejected) and in why one sentence: "scores 0.62 (threshold 0.30): <summary>",
 * "scores 0.21, below the threshold of 0.30: <summary>", or, for a pair the index never
 * proposes, "scores 0.25 but is never proposed: they share no material, capability or
 * NACE group" (for investors: no material, or stage, in a target region). Whether a
 * pair with top-K competition is listed depends on the other candidates: this does not
 * say. */
match_explain_t match_explain(const match_config_t *config, const match_entity_t *a,
                              const match_entity_t *b, const char *today, ls_match_pb **match_out,
                              char *why, size_t len);

#endif
