/* synth.h — a seeded generator of synthetic SMEs, investors and opportunities for
 * the benchmark and tests. Each entity is a pure function of (seed, kind, index):
 * the same pair always gives the same bytes, in any order and on any machine.
 * The distributions follow the partnership's profile: regions of different sizes,
 * each with its typical materials, METS the most common stage, capability tags
 * drawn from a vocabulary of about 150 with a Zipf-like skew, firms skewed to micro.
 * Every entity passes the registry's validation. */
#ifndef SYNTH_H
#define SYNTH_H

#include <stdint.h>

#include "ls_proto.h"
#include "ls_taxonomy.h"

typedef struct _synth_t synth_t;

/* Returns NULL, naming the code on stderr, when a code the generator uses is not in
 * taxonomy (the reference data changed), or when out of memory. The taxonomy must
 * outlive the generator. */
synth_t *synth_new(uint64_t seed, const ls_taxonomy_t *taxonomy);
void synth_destroy(synth_t **self_p);

/* A freshly built entity; the caller frees it with
 * lodestone__v1__entity__free_unpacked (entity, NULL). NULL when out of memory.
 * Refs are "synth-sme-<index>", "synth-inv-<index>", "synth-opp-<index>"; names
 * are unique by index. */
ls_entity_pb *synth_sme(synth_t *self, uint64_t index);
ls_entity_pb *synth_investor(synth_t *self, uint64_t index);
ls_entity_pb *synth_opportunity(synth_t *self, uint64_t index);

/* The size of the capability tag vocabulary. */
size_t synth_tag_count(void);

#endif
