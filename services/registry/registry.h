/* registry.h — the system of record: validates entity commands, writes each one
 * atomically with its change-journal entry, answers, then publishes the change. */
#ifndef REGISTRY_H
#define REGISTRY_H

#include "ls_config.h"

typedef struct _registry_t registry_t;

/* Connects to Redis, loads the taxonomies and binds the sockets. NULL on failure
 * (logged). */
registry_t *registry_new(const ls_config_t *config);
void registry_destroy(registry_t **self_p);

/* Serves until SIGINT/SIGTERM. Returns 0 on a clean stop. */
int registry_run(registry_t *self);

#endif
