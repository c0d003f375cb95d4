/* notification_impl.h — what the files of the notification service share: its
 * state, and what each part offers the others.
 *   notification.c  the life cycle, the two journals (match events, postings) turned
 *                   into delivery steps (delivery.h), digests, the tick;
 *   requests.c      who may act, the requests on subscriptions, inboxes and dead
 *                   letters, and the dispatch of every request;
 *   eoi.c           the expression-of-interest workflow around interest.h's state
 *                   machine: its requests, timers and declined pairs.
 * Only those files include it. */
#ifndef NOTIFICATION_IMPL_H
#define NOTIFICATION_IMPL_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "delivery.h"
#include "interest.h"
#include "ls_config.h"
#include "ls_follower.h"
#include "ls_metrics.h"
#include "ls_rpc.h"
#include "ls_security.h"
#include "ls_store.h"
#include "ls_taxonomy.h"
#include "notification.h"
#include "subs.h"
#include "webhook.h"

struct _notification_t {
    const ls_config_t *config;
    ls_taxonomy_t *taxonomy;
    ls_store_t *store;
    ls_guard_t *guard;
    ls_follower_t *follower; /* the match journal */
    ls_follower_t *postings; /* the change journal */
    subs_t *subs;
    webhook_t *webhook;
    zsock_t *router;
    zsock_t *pull;
    zsock_t *changes; /* SUB to the registry's change feed */
    zsock_t *pub;
    zhashx_t *declined; /* pair "a|b" -> ls_interest_pb: the DECLINED pairs, for reopening */
    interest_config_t interest;
    int64_t next_trim; /* of the interest journal, which no follower trims */
    uint64_t delivered;
    ls_metrics_t *metrics;
    ls_metric_t *notes; /* by channel and outcome (docs/metrics.md) */
    ls_metric_t *webhook_attempts_failed;
    ls_metric_t *webhook_retries;
    ls_metric_t *webhook_in_flight;
};

/* notification.c: counts what a plan wrote (a batch replayed after a restart
 * counts again) and sends its feed; call it once its step succeeded. */
void notification_written(notification_t *self, const delivery_plan_t *plan, uint64_t written);

/* requests.c */
void requests_handle(notification_t *self, ls_rpc_request_t *req);
/* The publisher of req, or NULL after answering FORBIDDEN. */
const char *requests_publisher(notification_t *self, ls_rpc_request_t *req);
/* Answers UNAVAILABLE (the store failed). */
void requests_unavailable(notification_t *self, ls_rpc_request_t *req);

/* What publisher may do with the entity of an id. An erased entity's tombstone
 * counts as no entity; the admin publisher owns every entity. */
typedef enum {
    REQUESTS_STORE_DOWN = -1,
    REQUESTS_NO_ENTITY = 0,
    REQUESTS_OWNED = 1,
    REQUESTS_OTHERS = 2,
} requests_access_t;

requests_access_t requests_entity_access(notification_t *self, const char *publisher,
                                         const char *id);

/* eoi.c */
void eoi_handle_interest(notification_t *self, ls_rpc_request_t *req);
void eoi_handle_get(notification_t *self, ls_rpc_request_t *req);
/* Reminders and expiries that are due (on the tick). */
void eoi_timers(notification_t *self);
/* Reads the declined pairs into self->declined (at start). Returns 0, or -1 on a
 * store failure. */
int eoi_load_declined(notification_t *self);
/* Adds to plan the reopening of the event's pair when it is declined and the event
 * reopens it (interest_on_match). */
void eoi_plan_reopen(notification_t *self, delivery_plan_t *plan, const ls_match_event_pb *event);
/* The pairs plan reopened were written: they are no longer declined. */
void eoi_reopened(notification_t *self, const delivery_plan_t *plan);

#endif
