/* notification.h — follows the match journal and turns each match event into a
 * notification: written to the recipient's inbox in Redis (exactly once, with the
 * checkpoint in the same step) and published on the PUB feed under the
 * recipient's id (at least once: subscribers de-duplicate by notification id). */
#ifndef NOTIFICATION_H
#define NOTIFICATION_H

#include "ls_config.h"

typedef struct _notification_t notification_t;

notification_t *notification_new(const ls_config_t *config);
void notification_destroy(notification_t **self_p);
int notification_run(notification_t *self);

#endif
