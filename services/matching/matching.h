/* matching.h — the matching service: follows the change journal into an in-memory
 * index, keeps the top matches of the entities in its partition in Redis, appends
 * match events to the match journal and pushes them to notification, and answers
 * match queries with explanations. It claims its partition with a lease in Redis
 * (lease.h) and, while every partition is held, waits as a standby. */
#ifndef MATCHING_H
#define MATCHING_H

#include "ls_config.h"

typedef struct _matching_t matching_t;

matching_t *matching_new(const ls_config_t *config);
void matching_destroy(matching_t **self_p);
int matching_run(matching_t *self);

#endif
