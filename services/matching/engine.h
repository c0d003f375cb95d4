/* engine.h — the matching engine of one instance: the index of every active entity,
 * the lists this instance owns, and how a change-journal entry becomes list edits,
 * match events and a checkpoint in one atomic step (engine.c says how). The service
 * (matching.c) owns an engine_t and reads its fields for queries and statistics. */
#ifndef MATCHING_ENGINE_H
#define MATCHING_ENGINE_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "index.h"
#include "lists.h"
#include "ls_config.h"
#include "ls_store.h"
#include "score.h"

#define ENGINE_LATENCY_WINDOW 1024 /* changes kept for the latency percentiles */

typedef struct {
    const ls_config_t *config;
    match_config_t model;
    ls_store_t *store;                        /* borrowed */
    zsock_t *push;                            /* borrowed: match events go live here */
    match_index_t *index;                     /* every active entity */
    match_lists_t *lists;                     /* the lists this instance owns */
    char checkpoint[64];                      /* its change-journal checkpoint key */
    const char *lease_key;                    /* borrowed: its partition's lease */
    const char *token;                        /* borrowed: what that lease must hold */
    bool fenced;                              /* a write was refused: the partition is lost */
    uint64_t events;                          /* match events emitted since start */
    uint64_t changes;                         /* entries applied since start */
    uint64_t scored;                          /* pairs scored, over all changes */
    uint64_t recomputed;                      /* counterparts' lists recomputed in full */
    double latency_us[ENGINE_LATENCY_WINDOW]; /* whole change, with the Redis write */
    double scoring_us[ENGINE_LATENCY_WINDOW]; /* index update, scoring and planning */
    size_t latency_next;
} engine_t;

/* Sets up an empty engine, not yet bound to a partition; the weights come from
 * LODESTONE_WEIGHT_<FACET>. Returns -1 with a message in err when they are bad. */
int engine_init(engine_t *self, const ls_config_t *config, ls_store_t *store,
                const ls_taxonomy_t *taxonomy, zsock_t *push, char *err, size_t errlen);
void engine_destroy(engine_t *self);

/* Binds the engine to partition config->matching_partition (its checkpoint key
 * follows), held under lease_key with token: every script that writes the
 * partition's state (lists, match journal, checkpoint, model) refuses unless the
 * lease still holds the token, and the engine is then `fenced`. Both strings are
 * borrowed and must outlive the engine. Call once, before engine_start. */
void engine_bind(engine_t *self, const char *lease_key, const char *token);

/* Reads the stored entities into the index and the owned lists into memory, loads
 * (or takes) the IDF snapshot, and asks for a re-match when the model changed.
 * Returns -1 on a store failure (call again) or a refusal (fenced: do not). */
int engine_start(engine_t *self);

/* Applies change-journal entry seq (for the follower's apply function): the list
 * edits, match events and the checkpoint in one fenced step. Returns -1 on a
 * failure (retry) or a refusal (fenced is set; do not retry). */
int engine_apply(engine_t *self, uint64_t seq, const uint8_t *payload, size_t len);

/* Appends a REMATCH entry to the change journal; *seq is its number. Any instance
 * may, a standby too (it needs no partition, nor a bound engine). */
int engine_request_rematch(engine_t *self, bool refresh, uint64_t *seq);

/* True when this instance owns id's list. */
bool engine_owns(const engine_t *self, const char *id);

#endif
