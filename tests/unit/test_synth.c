/* test_synth.c — unit test for the synthetic data generator (tools/synth.c): the same
 * seed and index give the same bytes whatever was generated before, other seeds give
 * other data, names are unique, a sample of every kind passes the registry's
 * validation unchanged, and the distributions have the intended shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ls_codec.h"
#include "ls_rpc.h"
#include "ls_taxonomy.h"
#include "synth.h"
#include "validate.h"

#ifndef LS_TEST_DATA_DIR
#error "LS_TEST_DATA_DIR must name the data directory"
#endif

#define S_SAMPLE 500
/* The deadline check needs a date: a fixed one before 2031, where the generated
 * deadlines start, so that the test does not depend on the day it runs. */
#define S_TODAY "2026-12-01"

typedef ls_entity_pb *(*s_make_fn)(synth_t *synth, uint64_t index);

static const s_make_fn s_kinds[] = {synth_sme, synth_investor, synth_opportunity};
static const char *const s_kind_names[] = {"sme", "investor", "opportunity"};

static ls_taxonomy_t *s_taxonomy;

static int s_setup(void **state)
{
    (void)state;
    s_taxonomy = ls_test_taxonomy();
    return s_taxonomy ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    ls_taxonomy_destroy(&s_taxonomy);
    return 0;
}

/* Packs a fresh entity and frees it; the caller frees the bytes. */
static uint8_t *s_packed(s_make_fn make, synth_t *synth, uint64_t index, size_t *len)
{
    ls_entity_pb *entity = make(synth, index);
    assert_non_null(entity);
    uint8_t *bytes = ls_codec_pack_buffer(&entity->base, len);
    assert_non_null(bytes);
    lodestone__v1__entity__free_unpacked(entity, NULL);
    return bytes;
}

static void test_same_seed_and_index_give_same_bytes(void **state)
{
    (void)state;
    static const uint64_t indexes[] = {0, 1, 77, 13823, 13824, 99999, 12345678};
    synth_t *a = synth_new(42, s_taxonomy);
    synth_t *b = synth_new(42, s_taxonomy);
    assert_non_null(a);
    assert_non_null(b);
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < sizeof indexes / sizeof indexes[0]; i++) {
            /* b generates in another order, with other entities in between. */
            size_t other_len;
            free(s_packed(s_kinds[(k + 1) % 3], b, indexes[i] + 5, &other_len));
            size_t len_a, len_b;
            uint8_t *bytes_a = s_packed(s_kinds[k], a, indexes[i], &len_a);
            uint8_t *bytes_b = s_packed(s_kinds[k], b, indexes[i], &len_b);
            assert_int_equal(len_a, len_b);
            assert_memory_equal(bytes_a, bytes_b, len_a);
            free(bytes_a);
            free(bytes_b);
        }
    }
    synth_destroy(&a);
    synth_destroy(&b);
    synth_destroy(&b); /* safe twice */
}

static void test_other_seeds_give_other_data(void **state)
{
    (void)state;
    synth_t *a = synth_new(1, s_taxonomy);
    synth_t *b = synth_new(2, s_taxonomy);
    for (size_t k = 0; k < 3; k++)
        for (uint64_t i = 0; i < 20; i++) {
            size_t len_a, len_b;
            uint8_t *bytes_a = s_packed(s_kinds[k], a, i, &len_a);
            uint8_t *bytes_b = s_packed(s_kinds[k], b, i, &len_b);
            assert_true(len_a != len_b || memcmp(bytes_a, bytes_b, len_a) != 0);
            free(bytes_a);
            free(bytes_b);
        }
    /* Different indexes differ too. */
    size_t len_0, len_1;
    uint8_t *bytes_0 = s_packed(synth_sme, a, 0, &len_0);
    uint8_t *bytes_1 = s_packed(synth_sme, a, 1, &len_1);
    assert_true(len_0 != len_1 || memcmp(bytes_0, bytes_1, len_0) != 0);
    free(bytes_0);
    free(bytes_1);
    synth_destroy(&a);
    synth_destroy(&b);
}

/* Prints the validation errors of one entity, for a failing assertion. */
static void s_dump_errors(const char *kind, uint64_t index, ls_errors_t *errors)
{
    ls_status_pb status = LODESTONE__V1__STATUS__INIT;
    ls_errors_fill(errors, &status);
    fprintf(stderr, "%s %llu: %s\n", kind, (unsigned long long)index, status.message);
    for (size_t i = 0; i < status.n_errors; i++)
        fprintf(stderr, "  %s: %s\n", status.errors[i]->field, status.errors[i]->reason);
}

static void test_sample_passes_validation_unchanged(void **state)
{
    (void)state;
    synth_t *synth = synth_new(7, s_taxonomy);
    assert_non_null(synth);
    for (size_t k = 0; k < 3; k++)
        for (uint64_t i = 0; i < S_SAMPLE; i++) {
            ls_entity_pb *entity = s_kinds[k](synth, i * 7919);
            size_t before_len, after_len;
            uint8_t *before = ls_codec_pack_buffer(&entity->base, &before_len);
            ls_errors_t *errors = ls_errors_new();
            validate_entity(entity, s_taxonomy, S_TODAY, errors);
            if (ls_errors_count(errors))
                s_dump_errors(s_kind_names[k], i * 7919, errors);
            assert_int_equal(ls_errors_count(errors), 0);
            /* Already canonical: validation's normalisation changes nothing. */
            uint8_t *after = ls_codec_pack_buffer(&entity->base, &after_len);
            assert_int_equal(before_len, after_len);
            assert_memory_equal(before, after, before_len);
            free(before);
            free(after);
            ls_errors_destroy(&errors);
            lodestone__v1__entity__free_unpacked(entity, NULL);
        }
    synth_destroy(&synth);
}

static void test_names_and_refs_are_unique(void **state)
{
    (void)state;
    synth_t *synth = synth_new(3, s_taxonomy);
    zhashx_t *names = zhashx_new();
    char ref[64];
    /* Past 24^3 = 13824, where brand words grow a syllable. */
    for (uint64_t i = 0; i < 16000; i++) {
        ls_entity_pb *entity = synth_sme(synth, i);
        snprintf(ref, sizeof ref, "synth-sme-%llu", (unsigned long long)i);
        assert_string_equal(entity->sme->ref, ref);
        if (zhashx_insert(names, entity->sme->name, (void *)1) != 0)
            fail_msg("name '%s' of SME %llu is not unique", entity->sme->name,
                     (unsigned long long)i);
        lodestone__v1__entity__free_unpacked(entity, NULL);
    }
    zhashx_destroy(&names);
    synth_destroy(&synth);
}

/* Counts over a sample of SMEs, for the distribution checks. */
typedef struct {
    size_t lapland, kainuu, mets, exploration, micro, medium, funding, consent;
    size_t tag_counts[200];
} s_sme_stats_t;

static void s_count_sme(const ls_sme_pb *sme, s_sme_stats_t *st)
{
    st->lapland += strcmp(sme->region, "FI1D7") == 0;
    st->kainuu += strcmp(sme->region, "FI1D8") == 0;
    for (size_t i = 0; i < sme->n_stages; i++) {
        st->mets += strcmp(sme->stages[i], "mets") == 0;
        st->exploration += strcmp(sme->stages[i], "exploration") == 0;
    }
    assert_true(sme->n_stages >= 1 && sme->n_stages <= 3);
    assert_true(sme->trl >= 3 && sme->trl <= 9);
    assert_true(sme->employees >= 1 && sme->employees <= 249);
    Lodestone__V1__SizeBand band = sme->employees < 10 ? LODESTONE__V1__SIZE_BAND__SIZE_BAND_MICRO
                                   : sme->employees < 50
                                       ? LODESTONE__V1__SIZE_BAND__SIZE_BAND_SMALL
                                       : LODESTONE__V1__SIZE_BAND__SIZE_BAND_MEDIUM;
    assert_int_equal(sme->size_band, band);
    st->micro += band == LODESTONE__V1__SIZE_BAND__SIZE_BAND_MICRO;
    st->medium += band == LODESTONE__V1__SIZE_BAND__SIZE_BAND_MEDIUM;
    st->funding += sme->funding_sought != NULL;
    st->consent += sme->consent_match;
}

static void test_sme_distributions(void **state)
{
    (void)state;
    synth_t *synth = synth_new(11, s_taxonomy);
    s_sme_stats_t *st = calloc(1, sizeof *st);
    zhashx_t *tags = zhashx_new();
    const size_t n = 5000;
    for (uint64_t i = 0; i < n; i++) {
        ls_entity_pb *entity = synth_sme(synth, i);
        s_count_sme(entity->sme, st);
        for (size_t t = 0; t < entity->sme->n_capabilities; t++) {
            size_t count = (size_t)zhashx_lookup(tags, entity->sme->capabilities[t]);
            zhashx_update(tags, entity->sme->capabilities[t], (void *)(count + 1));
        }
        lodestone__v1__entity__free_unpacked(entity, NULL);
    }
    assert_true(st->lapland > 2 * st->kainuu);        /* weighted regions */
    assert_true(st->mets > st->exploration);          /* METS most common */
    assert_true(st->micro > n / 2 && st->medium > 0); /* skewed to micro */
    assert_true(st->funding > n * 30 / 100 && st->funding < n * 50 / 100);
    assert_true(st->consent > n * 90 / 100);
    /* Zipf-like tags: the commonest far more frequent than the fiftieth, and the
     * vocabulary well used. */
    size_t first = (size_t)zhashx_lookup(tags, "environmental monitoring");
    size_t fiftieth = (size_t)zhashx_lookup(tags, "cold-climate engineering");
    assert_true(first > 10 * fiftieth && fiftieth > 0);
    assert_true(zhashx_size(tags) > synth_tag_count() * 9 / 10);
    zhashx_destroy(&tags);
    free(st);
    synth_destroy(&synth);
}

static void test_every_kind_and_type_and_valid_deadlines(void **state)
{
    (void)state;
    synth_t *synth = synth_new(5, s_taxonomy);
    bool kinds[6] = {false}, types[7] = {false};
    for (uint64_t i = 0; i < 400; i++) {
        ls_entity_pb *opp = synth_opportunity(synth, i);
        kinds[opp->opportunity->kind] = true;
        assert_true(strncmp(opp->opportunity->deadline, "2031-", 5) == 0 ||
                    strncmp(opp->opportunity->deadline, "2032-", 5) == 0);
        assert_true(opp->opportunity->n_required_capabilities >= 1 &&
                    opp->opportunity->n_required_capabilities <= 3);
        lodestone__v1__entity__free_unpacked(opp, NULL);
        ls_entity_pb *inv = synth_investor(synth, i);
        types[inv->investor->type] = true;
        assert_non_null(inv->investor->ticket);
        assert_true(inv->investor->ticket->min_eur < inv->investor->ticket->max_eur);
        lodestone__v1__entity__free_unpacked(inv, NULL);
    }
    for (int k = 1; k <= 5; k++)
        assert_true(kinds[k]);
    for (int t = 1; t <= 6; t++)
        assert_true(types[t]);
    synth_destroy(&synth);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_and_index_give_same_bytes),
        cmocka_unit_test(test_other_seeds_give_other_data),
        cmocka_unit_test(test_sample_passes_validation_unchanged),
        cmocka_unit_test(test_names_and_refs_are_unique),
        cmocka_unit_test(test_sme_distributions),
        cmocka_unit_test(test_every_kind_and_type_and_valid_deadlines),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
