/* matching_fixture.h — the fixture the matching model's tests share: the reference
 * taxonomy and an empty index over it, made before each test and freed after. */
#ifndef MATCHING_FIXTURE_H
#define MATCHING_FIXTURE_H

#include "index.h"
#include "ls_proto.h"
#include "ls_taxonomy.h"

typedef struct {
    ls_taxonomy_t *taxonomy;
    match_index_t *index;
} fixture_t;

/* cmocka setup and teardown: *state is a fixture_t. */
int matching_fixture_setup(void **state);
int matching_fixture_teardown(void **state);

/* Messages for tests, everything malloc'd (free_unpacked(NULL) frees them): words is
 * "a b c"; an SME or investor consents to matching and has a name equal to its id. */
char **fixture_words(const char *text, size_t *count);
ls_entity_pb *fixture_sme(const char *id, const char *region, const char *stages,
                          const char *materials);
ls_entity_pb *fixture_opportunity(const char *id, const char *region, const char *stages,
                                  const char *materials);
ls_entity_pb *fixture_investor(const char *id, const char *region, const char *stages,
                               const char *materials);

#endif
