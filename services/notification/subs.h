/* subs.h — the subscriptions notification serves, held in memory (rebuilt from
 * Redis at start, changed only through notification's own requests), with the
 * indexes that find the subscriptions an event reaches without looking at the
 * others:
 *   - entity subscriptions by entity id: one lookup per event;
 *   - filter subscriptions in one bucket each, by their most selective facet
 *     (a region, else a material, a stage, a theme; else the "any" bucket). An
 *     event looks up the buckets of its own values (each region with the regions
 *     above it, its materials, stages and themes) and evaluates the filters found
 *     there; a facet no filter is bucketed by is not looked up at all.
 * Not thread-safe. */
#ifndef NOTIFICATION_SUBS_H
#define NOTIFICATION_SUBS_H

#include <stdbool.h>
#include <stddef.h>

#include "ls_proto.h"
#include "ls_rpc.h"
#include "ls_taxonomy.h"

#define SUBS_RECIPIENT_MAX 128 /* characters of a recipient name */
#define SUBS_PER_OWNER_MAX 1000
#define SUBS_FILTER_VALUES_MAX 64 /* values in one facet of a filter */

typedef struct _subs_t subs_t;

subs_t *subs_new(const ls_taxonomy_t *taxonomy); /* borrowed; expands material groups */
void subs_destroy(subs_t **self_p);

/* Takes sub (an unpacked message, freed with free_unpacked) and indexes it,
 * replacing one with the same id. */
void subs_put(subs_t *self, ls_subscription_pb *sub);
/* Removes and frees it; false when unknown. */
bool subs_remove(subs_t *self, const char *id);
const ls_subscription_pb *subs_get(const subs_t *self, const char *id);
size_t subs_count(const subs_t *self);
size_t subs_count_of_owner(const subs_t *self, const char *owner);
/* The owner of a subscription with this recipient, NULL when none has it. A
 * recipient name belongs to one publisher (requests.c enforces it). */
const char *subs_recipient_owner(const subs_t *self, const char *recipient);

typedef void(subs_visit_fn)(const ls_subscription_pb *sub, void *arg);

/* The subscriptions a match event reaches, each once: the subject's entity
 * subscriptions (every kind of event), and the filter subscriptions taking matches
 * that it passes (NEW and CHANGED events only). In id order. */
void subs_for_event(subs_t *self, const ls_match_event_pb *event, subs_visit_fn *visit, void *arg);
/* The filter subscriptions taking postings that a new opportunity passes. */
void subs_for_posting(subs_t *self, const ls_opportunity_pb *opportunity, subs_visit_fn *visit,
                      void *arg);
/* True when entity_id's own matches are governed by a subscription whose recipient
 * is the entity itself (it then replaces the default inbox-and-feed delivery). */
bool subs_replaces_default(const subs_t *self, const char *entity_id);
/* The entity subscriptions of entity_id, in id order. */
void subs_of_entity(const subs_t *self, const char *entity_id, subs_visit_fn *visit, void *arg);
/* The subscriptions owner owns (recipient "" = any), in id order. */
void subs_of_owner(const subs_t *self, const char *owner, const char *recipient,
                   subs_visit_fn *visit, void *arg);

/* True when subscription id's filter takes event (material groups expanded), by
 * evaluating it alone: what subs_for_event finds through the index (for tests). */
bool subs_passes_event(const subs_t *self, const char *id, const ls_match_event_pb *event);

/* Checks a subscription as a publisher sent it (id, owner, created_at are
 * assigned later and not looked at): every problem goes to errors with its field. */
void subs_validate(const ls_subscription_pb *sub, const ls_taxonomy_t *taxonomy,
                   ls_errors_t *errors);
/* True when name may be a recipient: 1..SUBS_RECIPIENT_MAX of [A-Za-z0-9._:@-]. */
bool subs_recipient_valid(const char *name);

#endif
