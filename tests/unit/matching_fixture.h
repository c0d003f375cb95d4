/* matching_fixture.h — the fixture the matching model's tests share: the reference
 * taxonomy and an empty index over it, made before each test and freed after. */
#ifndef MATCHING_FIXTURE_H
#define MATCHING_FIXTURE_H

#include "index.h"
#include "ls_taxonomy.h"

typedef struct {
    ls_taxonomy_t *taxonomy;
    match_index_t *index;
} fixture_t;

/* cmocka setup and teardown: *state is a fixture_t. */
int matching_fixture_setup(void **state);
int matching_fixture_teardown(void **state);

#endif
