/* matching_fixture.c — the matching tests' shared fixture. */
#include "matching_fixture.h"

#include "harness.h"

#include <stdlib.h>

int matching_fixture_setup(void **state)
{
    fixture_t *fixture = calloc(1, sizeof *fixture);
    fixture->taxonomy = ls_test_taxonomy();
    if (!fixture->taxonomy) {
        free(fixture);
        return -1;
    }
    fixture->index = match_index_new(fixture->taxonomy);
    *state = fixture;
    return 0;
}

int matching_fixture_teardown(void **state)
{
    fixture_t *fixture = *state;
    match_index_destroy(&fixture->index);
    assert_null(fixture->index);
    match_index_destroy(&fixture->index); /* safe twice */
    ls_taxonomy_destroy(&fixture->taxonomy);
    free(fixture);
    return 0;
}
