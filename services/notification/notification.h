/* notification.h — follows the match and change journals and turns match events
 * and new postings into notifications for entities and subscriptions: inbox
 * entries and webhook deliveries written exactly once together with the
 * follower's checkpoint, the live PUB feed after that, digests, the requests
 * that manage subscriptions, inboxes and dead letters, and the expression-of-
 * interest workflow (notification_impl.h says which file holds what). */
#ifndef NOTIFICATION_H
#define NOTIFICATION_H

#include "ls_config.h"

typedef struct _notification_t notification_t;

notification_t *notification_new(const ls_config_t *config);
void notification_destroy(notification_t **self_p);
int notification_run(notification_t *self);

#endif
