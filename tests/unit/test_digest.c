/* test_digest.c — digest periods: UTC days, ISO weeks from Monday, labels, and the
 * shortened days tests use. */
#include "harness.h"

#include <string.h>

#include "digest.h"

#define S_DAY 86400000LL

/* 2026-11-29 is a Sunday; 2026-11-23 00:00 UTC the Monday of ISO week 48. */
#define S_SUNDAY_NOON 1795953600000LL /* 2026-11-29 12:00:00 UTC */
#define S_MONDAY 1795392000000LL      /* 2026-11-23 00:00:00 UTC */

static void test_daily(void **state)
{
    (void)state;
    int64_t end = digest_period_end(S_DAY, false, S_SUNDAY_NOON);
    assert_int_equal(end, S_SUNDAY_NOON + S_DAY / 2); /* the next midnight */
    char label[32];
    digest_period_label(false, end - S_DAY, label, sizeof label);
    assert_string_equal(label, "2026-11-29");
    /* Midnight itself starts the next period. */
    assert_int_equal(digest_period_end(S_DAY, false, end), end + S_DAY);
    assert_int_equal(digest_period_end(S_DAY, false, end - 1), end);
}

static void test_weekly(void **state)
{
    (void)state;
    int64_t end = digest_period_end(S_DAY, true, S_SUNDAY_NOON);
    assert_int_equal(end, S_MONDAY + 7 * S_DAY); /* Monday 2026-11-30 00:00 */
    char label[32];
    digest_period_label(true, end - digest_period_ms(S_DAY, true), label, sizeof label);
    assert_string_equal(label, "2026-W48");
    assert_int_equal(digest_period_end(S_DAY, true, S_MONDAY), S_MONDAY + 7 * S_DAY);
    assert_int_equal(digest_period_end(S_DAY, true, S_MONDAY - 1), S_MONDAY);
    /* ISO week-numbering year: 2027-01-01 (a Friday) is in 2026-W53. */
    digest_period_label(true, 1798761600000LL, label, sizeof label);
    assert_string_equal(label, "2026-W53");
}

static void test_short_days(void **state)
{
    (void)state;
    /* A 2-second day: periods end on even seconds; a week is 14 s. */
    assert_int_equal(digest_period_end(2000, false, 1001), 2000);
    assert_int_equal(digest_period_end(2000, false, 2000), 4000);
    int64_t end = digest_period_end(2000, true, 100000);
    assert_int_equal((end - 8000) % 14000, 0);
    assert_true(end > 100000 && end <= 114000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daily),
        cmocka_unit_test(test_weekly),
        cmocka_unit_test(test_short_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
