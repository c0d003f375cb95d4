/* test_match_lists.c — the match lists table (open addressing on the id hash, with
 * backward-shift deletion) and its reverse index, against a plain model. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "lists.h"

#define S_SUBJECTS 5000 /* the table starts at 1,024 slots: it grows three times */

static void s_subject(char *buf, size_t size, int i)
{
    snprintf(buf, size, "sme-%05d", i);
}

/* Subject i's list: two entries that depend on i, so lists differ. */
static void s_entries(int i, int round, match_entry_t out[2], char names[2][32])
{
    snprintf(names[0], 32, "opp-%04d", (i + round) % 97);
    snprintf(names[1], 32, "opp-%04d", (i * 7 + round) % 97 + 100);
    out[0] = (match_entry_t){names[0], 0.9};
    out[1] = (match_entry_t){names[1], 0.5 + (double)(i % 10) / 100.0};
}

typedef struct {
    const char *subject;
    int found;
} s_visit_t;

static void s_count_holder(const char *subject, void *arg)
{
    s_visit_t *v = arg;
    if (strcmp(subject, v->subject) == 0)
        v->found++;
}

static void s_check(match_lists_t *lists, const int *present, int round)
{
    size_t expected = 0;
    for (int i = 0; i < S_SUBJECTS; i++) {
        char subject[32];
        s_subject(subject, sizeof subject, i);
        size_t n = 0;
        bool complete = false;
        const match_entry_t *got =
            match_lists_find(lists, subject, match_id_hash(subject), &n, &complete);
        if (!present[i]) {
            assert_null(got);
            assert_int_equal(n, 0);
            assert_true(complete);
            continue;
        }
        expected++;
        match_entry_t want[2];
        char names[2][32];
        s_entries(i, present[i] - 1, want, names);
        assert_non_null(got);
        assert_int_equal(n, 2);
        assert_false(complete);
        assert_string_equal(got[0].candidate, want[0].candidate);
        assert_string_equal(got[1].candidate, want[1].candidate);
        assert_true(match_lists_has(lists, subject, want[0].candidate));
        /* The reverse index names this subject under each of its candidates. */
        s_visit_t v = {subject, 0};
        match_lists_holders(lists, want[1].candidate, s_count_holder, &v);
        assert_int_equal(v.found, 1);
        /* admits: a better score enters, a worse one does not (the list is not
         * complete), a tie on the score goes by id. */
        uint64_t hash = match_id_hash(subject);
        assert_true(match_lists_admits(lists, subject, hash, 0.99, "x"));
        assert_false(match_lists_admits(lists, subject, hash, 0.01, "x"));
        assert_true(match_lists_admits(lists, subject, hash, want[1].score, "a"));
        assert_false(match_lists_admits(lists, subject, hash, want[1].score, "zzz"));
    }
    (void)round;
    assert_int_equal(match_lists_count(lists), expected);
    assert_int_equal(match_lists_entries(lists), 2 * expected);
}

static void test_insert_replace_remove(void **state)
{
    (void)state;
    match_lists_t *lists = match_lists_new(2);
    int *present = calloc(S_SUBJECTS, sizeof *present); /* 0, or 1 + the round of its list */
    for (int i = 0; i < S_SUBJECTS; i++) {
        char subject[32], names[2][32];
        match_entry_t entries[2];
        s_subject(subject, sizeof subject, i);
        s_entries(i, 0, entries, names);
        match_lists_set(lists, subject, entries, 2, false);
        present[i] = 1;
    }
    s_check(lists, present, 0);
    /* Remove every third, replace every fifth: removals shift later slots back; a
     * table that lost track of one fails the lookups in s_check. */
    for (int i = 0; i < S_SUBJECTS; i++) {
        char subject[32], names[2][32];
        match_entry_t entries[2];
        s_subject(subject, sizeof subject, i);
        if (i % 3 == 0) {
            match_lists_set(lists, subject, NULL, 0, true);
            present[i] = 0;
        } else if (i % 5 == 0) {
            s_entries(i, 1, entries, names);
            match_lists_set(lists, subject, entries, 2, false);
            present[i] = 2;
        }
    }
    s_check(lists, present, 1);
    /* A replaced list no longer counts as a holder of the candidates it dropped. */
    for (int i = 5; i < S_SUBJECTS; i += 5) {
        if (i % 3 == 0)
            continue;
        char subject[32], names[2][32], now[2][32];
        match_entry_t old[2], cur[2];
        s_subject(subject, sizeof subject, i);
        s_entries(i, 0, old, names);
        s_entries(i, 1, cur, now);
        if (strcmp(names[0], now[0]) == 0 || strcmp(names[0], now[1]) == 0)
            continue;
        s_visit_t v = {subject, 0};
        match_lists_holders(lists, names[0], s_count_holder, &v);
        assert_int_equal(v.found, 0);
    }
    /* Empty it all, then fill it again. */
    for (int i = 0; i < S_SUBJECTS; i++) {
        char subject[32];
        s_subject(subject, sizeof subject, i);
        match_lists_set(lists, subject, NULL, 0, true);
        present[i] = 0;
    }
    s_check(lists, present, 2);
    for (int i = 0; i < S_SUBJECTS; i += 2) {
        char subject[32], names[2][32];
        match_entry_t entries[2];
        s_subject(subject, sizeof subject, i);
        s_entries(i, 0, entries, names);
        match_lists_set(lists, subject, entries, 2, false);
        present[i] = 1;
    }
    s_check(lists, present, 3);
    /* The same candidates with new scores (a re-match): scores, completeness and the
     * last place move, the reverse index stays. */
    {
        char subject[32], names[2][32];
        match_entry_t entries[2];
        s_subject(subject, sizeof subject, 2);
        s_entries(2, 0, entries, names);
        entries[0].score = 0.8;
        entries[1].score = 0.2;
        match_lists_set(lists, subject, entries, 2, true);
        size_t n = 0;
        bool complete = false;
        const match_entry_t *got =
            match_lists_find(lists, subject, match_id_hash(subject), &n, &complete);
        assert_int_equal(n, 2);
        assert_true(complete);
        assert_true(got[0].score == 0.8 && got[1].score == 0.2);
        match_lists_set(lists, subject, entries, 2, false);
        assert_true(match_lists_admits(lists, subject, match_id_hash(subject), 0.3, "x"));
        assert_false(match_lists_admits(lists, subject, match_id_hash(subject), 0.1, "x"));
        s_visit_t v = {subject, 0};
        match_lists_holders(lists, names[1], s_count_holder, &v);
        assert_int_equal(v.found, 1);
    }
    free(present);
    match_lists_destroy(&lists);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_replace_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
