/* report.h — the partnership's regional capability map and its joint-demonstration
 * suggestions, computed from the matching index (active entities only) without
 * reading Redis. docs/report.md says what each figure means and the rules.
 *
 * The map counts, per partnership region, active SMEs by value-chain stage, by
 * material (a material group counts for each of its members) and by theme, investors
 * by target stage and open opportunities by kind; it marks strengths (a region with
 * at least REPORT_STRENGTH_MIN entities in a cell and at least twice an even share
 * of the partnership's) and gaps (a stage of an active material's chain with no SME
 * in any partnership region).
 *
 * A suggestion, for a material whose chain no single region covers, is a smallest
 * set of regions whose SMEs together cover the chain's stages that partnership SMEs
 * cover at all: every smallest set (all subsets tried) when there are at most
 * REPORT_EXACT_REGIONS regions, else the greedy set cover. For each stage it names
 * the strongest SME of the set's regions — the one that scores best, with the
 * matching model, against a joint demonstration of that material at that stage —
 * and the investors that score best against an investment case of the chain. */
#ifndef MATCHING_REPORT_H
#define MATCHING_REPORT_H

#include "index.h"
#include "ls_proto.h"
#include "ls_taxonomy.h"
#include "score.h"

#define REPORT_STRENGTH_MIN 3   /* entities in a cell before it can be a strength */
#define REPORT_EXACT_REGIONS 16 /* up to this many regions, covers are exact */
#define REPORT_COVERS_PER_MATERIAL 3
#define REPORT_INVESTORS 3

/* The map, heap-allocated; free with lodestone__v1__capability_map__free_unpacked. */
Lodestone__V1__CapabilityMap *report_map(match_index_t *index, const ls_taxonomy_t *taxonomy);

/* The suggestions, ranked, at most limit (0: 50), for one material ("" or NULL: every
 * one); free with lodestone__v1__demo_list__free_unpacked. today: "YYYY-MM-DD". */
Lodestone__V1__DemoList *report_demos(match_index_t *index, const ls_taxonomy_t *taxonomy,
                                      const match_config_t *model, const char *material,
                                      size_t limit, const char *today);

#endif
