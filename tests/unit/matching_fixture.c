/* matching_fixture.c — the matching tests' shared fixture. */
#include "matching_fixture.h"

#include "harness.h"

#include <stdlib.h>
#include <string.h>

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

/* Building messages: everything is malloc'd, so free_unpacked(NULL) frees it. */

/* "a b c" -> a new array of new strings. */
char **fixture_words(const char *text, size_t *count)
{
    *count = 0;
    char **words = calloc(16, sizeof *words);
    char *copy = strdup(text ? text : "");
    char *saved = NULL;
    for (char *word = strtok_r(copy, " ", &saved); word; word = strtok_r(NULL, " ", &saved)) {
        assert_true(*count < 16);
        words[(*count)++] = strdup(word);
    }
    free(copy);
    return words;
}

ls_entity_pb *fixture_sme(const char *id, const char *region, const char *stages,
                          const char *materials)
{
    ls_sme_pb *sme = malloc(sizeof *sme);
    lodestone__v1__sme__init(sme);
    sme->id = strdup(id);
    sme->name = strdup(id);
    sme->region = strdup(region);
    sme->stages = fixture_words(stages, &sme->n_stages);
    sme->materials = fixture_words(materials, &sme->n_materials);
    sme->consent_match = true;
    sme->capabilities = fixture_words("flotation", &sme->n_capabilities);
    ls_entity_pb *entity = malloc(sizeof *entity);
    lodestone__v1__entity__init(entity);
    entity->body_case = LODESTONE__V1__ENTITY__BODY_SME;
    entity->sme = sme;
    return entity;
}

ls_entity_pb *fixture_opportunity(const char *id, const char *region, const char *stages,
                                  const char *materials)
{
    ls_opportunity_pb *opportunity = malloc(sizeof *opportunity);
    lodestone__v1__opportunity__init(opportunity);
    opportunity->id = strdup(id);
    opportunity->title = strdup(id);
    opportunity->region = strdup(region);
    opportunity->stages = fixture_words(stages, &opportunity->n_stages);
    opportunity->materials = fixture_words(materials, &opportunity->n_materials);
    ls_entity_pb *entity = malloc(sizeof *entity);
    lodestone__v1__entity__init(entity);
    entity->body_case = LODESTONE__V1__ENTITY__BODY_OPPORTUNITY;
    entity->opportunity = opportunity;
    return entity;
}

ls_entity_pb *fixture_investor(const char *id, const char *region, const char *stages,
                               const char *materials)
{
    ls_investor_pb *investor = malloc(sizeof *investor);
    lodestone__v1__investor__init(investor);
    investor->id = strdup(id);
    investor->name = strdup(id);
    investor->region = strdup(region);
    investor->stages = fixture_words(stages, &investor->n_stages);
    investor->materials = fixture_words(materials, &investor->n_materials);
    investor->consent_match = true;
    ls_entity_pb *entity = malloc(sizeof *entity);
    lodestone__v1__entity__init(entity);
    entity->body_case = LODESTONE__V1__ENTITY__BODY_INVESTOR;
    entity->investor = investor;
    return entity;
}
