/* test_interest.c — the expression-of-interest state machine: every transition,
 * who is told what, refusals, reminders and expiry, and reopening on a material
 * change of the match. */
#include "harness.h"

#include <string.h>

#include "interest.h"

static const interest_config_t s_config = {
    .ttl_ms = 14000, .reminder_ms = 3000, .material_delta = 0.1};

static ls_interest_pb s_fresh(void)
{
    ls_interest_pb state = LODESTONE__V1__INTEREST__INIT;
    interest_order("sme-2", "opp-1", (const char **)&state.a, (const char **)&state.b);
    return state;
}

static interest_result_t s_answer(ls_interest_pb *state, const char *who, bool interested,
                                  double score, int64_t now, interest_notice_t notices[2],
                                  size_t *n)
{
    const char *refusal = NULL;
    interest_result_t result =
        interest_answer(state, who, interested, score, now, &s_config, notices, n, &refusal);
    assert_true((result == INTEREST_REFUSED) == (refusal != NULL));
    return result;
}

static void test_order(void **state)
{
    (void)state;
    ls_interest_pb s = s_fresh();
    assert_string_equal(s.a, "opp-1");
    assert_string_equal(s.b, "sme-2");
}

static void test_request_then_mutual_introduces_both(void **state)
{
    (void)state;
    ls_interest_pb s = s_fresh();
    interest_notice_t notices[2];
    size_t n = 0;
    assert_int_equal(s_answer(&s, "sme-2", true, 0.7, 1000, notices, &n), INTEREST_CHANGED);
    assert_int_equal(s.state, LODESTONE__V1__INTEREST__STATE__REQUESTED);
    assert_int_equal(s.b_answer, LODESTONE__V1__INTEREST__ANSWER__INTERESTED);
    assert_int_equal(s.expires_at, 15000);
    assert_int_equal(interest_remind_at(&s, &s_config), 12000);
    assert_int_equal(n, 1);
    assert_int_equal(notices[0].what, INTEREST_TELL_REQUEST);
    assert_string_equal(notices[0].to, "opp-1");
    assert_string_equal(notices[0].other, "sme-2");
    /* Saying it again changes nothing and tells no one. */
    assert_int_equal(s_answer(&s, "sme-2", true, 0.7, 2000, notices, &n), INTEREST_UNCHANGED);
    assert_int_equal(n, 0);
    /* The other side: mutual, both introduced, no timers left. */
    assert_int_equal(s_answer(&s, "opp-1", true, 0.72, 3000, notices, &n), INTEREST_CHANGED);
    assert_int_equal(s.state, LODESTONE__V1__INTEREST__STATE__MUTUAL);
    assert_int_equal(n, 2);
    assert_int_equal(notices[0].what, INTEREST_TELL_INTRODUCTION);
    assert_int_equal(notices[1].what, INTEREST_TELL_INTRODUCTION);
    assert_string_equal(notices[0].to, "opp-1");
    assert_string_equal(notices[0].other, "sme-2");
    assert_string_equal(notices[1].to, "sme-2");
    assert_string_equal(notices[1].other, "opp-1");
    assert_int_equal(interest_remind_at(&s, &s_config), 0);
    assert_int_equal(interest_expire_at(&s), 0);
    /* After the introduction: interested again is a no-op, not interested refused. */
    assert_int_equal(s_answer(&s, "opp-1", true, 0.72, 4000, notices, &n), INTEREST_UNCHANGED);
    assert_int_equal(s_answer(&s, "opp-1", false, 0.72, 4000, notices, &n), INTEREST_REFUSED);
}

static void test_decline_is_final_until_material_change(void **state)
{
    (void)state;
    ls_interest_pb s = s_fresh();
    interest_notice_t notices[2];
    size_t n = 0;
    assert_int_equal(s_answer(&s, "sme-2", true, 0.5, 1000, notices, &n), INTEREST_CHANGED);
    assert_int_equal(s_answer(&s, "opp-1", false, 0.5, 2000, notices, &n), INTEREST_CHANGED);
    assert_int_equal(s.state, LODESTONE__V1__INTEREST__STATE__DECLINED);
    assert_int_equal(n, 0); /* declining is told to no one */
    assert_int_equal(interest_expire_at(&s), 0);
    assert_int_equal(s_answer(&s, "sme-2", true, 0.5, 3000, notices, &n), INTEREST_REFUSED);
    assert_int_equal(s_answer(&s, "opp-1", true, 0.5, 3000, notices, &n), INTEREST_REFUSED);
    assert_int_equal(s_answer(&s, "opp-1", false, 0.5, 3000, notices, &n), INTEREST_UNCHANGED);
    /* A small move, or the match going away, changes nothing; a move beyond the
     * delta reopens; so does the match coming back. */
    assert_int_equal(
        interest_on_match(&s, LODESTONE__V1__MATCH_EVENT__KIND__CHANGED, 0.58, &s_config),
        INTEREST_UNCHANGED);
    assert_int_equal(interest_on_match(&s, LODESTONE__V1__MATCH_EVENT__KIND__GONE, 0.9, &s_config),
                     INTEREST_UNCHANGED);
    ls_interest_pb copy = s;
    assert_int_equal(
        interest_on_match(&copy, LODESTONE__V1__MATCH_EVENT__KIND__NEW, 0.5, &s_config),
        INTEREST_CHANGED);
    assert_int_equal(
        interest_on_match(&s, LODESTONE__V1__MATCH_EVENT__KIND__CHANGED, 0.65, &s_config),
        INTEREST_CHANGED);
    assert_int_equal(s.state, LODESTONE__V1__INTEREST__STATE__STATE_NONE);
    assert_int_equal(s.a_answer, LODESTONE__V1__INTEREST__ANSWER__ANSWER_NONE);
    assert_int_equal(s.b_answer, LODESTONE__V1__INTEREST__ANSWER__ANSWER_NONE);
    /* Open again. */
    assert_int_equal(s_answer(&s, "opp-1", true, 0.65, 5000, notices, &n), INTEREST_CHANGED);
    assert_int_equal(s.state, LODESTONE__V1__INTEREST__STATE__REQUESTED);
    assert_string_equal(notices[0].to, "sme-2");
    /* A withdrawn request (the asker says no) is a decline too. */
    assert_int_equal(s_answer(&s, "opp-1", false, 0.65, 6000, notices, &n), INTEREST_CHANGED);
    assert_int_equal(s.state, LODESTONE__V1__INTEREST__STATE__DECLINED);
    /* Only a declined pair reopens. */
    ls_interest_pb fresh = s_fresh();
    assert_int_equal(
        interest_on_match(&fresh, LODESTONE__V1__MATCH_EVENT__KIND__NEW, 0.9, &s_config),
        INTEREST_UNCHANGED);
}

static void test_reminder_then_expiry(void **state)
{
    (void)state;
    ls_interest_pb s = s_fresh();
    interest_notice_t notices[2];
    size_t n = 0;
    assert_int_equal(s_answer(&s, "opp-1", true, 0.6, 1000, notices, &n), INTEREST_CHANGED);
    /* Nothing before the reminder time. */
    assert_int_equal(interest_on_timer(&s, 11999, &s_config, notices, &n), INTEREST_UNCHANGED);
    assert_int_equal(n, 0);
    /* The reminder, once, to the side that has not answered. */
    assert_int_equal(interest_on_timer(&s, 12000, &s_config, notices, &n), INTEREST_CHANGED);
    assert_int_equal(n, 1);
    assert_int_equal(notices[0].what, INTEREST_TELL_REMINDER);
    assert_string_equal(notices[0].to, "sme-2");
    assert_true(s.reminded);
    assert_int_equal(interest_remind_at(&s, &s_config), 0);
    assert_int_equal(interest_on_timer(&s, 13000, &s_config, notices, &n), INTEREST_UNCHANGED);
    /* Expiry: both told; a new request may follow. */
    assert_int_equal(interest_on_timer(&s, 15000, &s_config, notices, &n), INTEREST_CHANGED);
    assert_int_equal(s.state, LODESTONE__V1__INTEREST__STATE__EXPIRED);
    assert_int_equal(n, 2);
    assert_int_equal(notices[0].what, INTEREST_TELL_EXPIRED);
    assert_string_equal(notices[0].to, "opp-1");
    assert_string_equal(notices[1].to, "sme-2");
    assert_int_equal(interest_expire_at(&s), 0);
    assert_int_equal(s_answer(&s, "sme-2", true, 0.6, 16000, notices, &n), INTEREST_CHANGED);
    assert_int_equal(s.state, LODESTONE__V1__INTEREST__STATE__REQUESTED);
    assert_int_equal(s.a_answer, LODESTONE__V1__INTEREST__ANSWER__ANSWER_NONE); /* cleared */
    assert_false(s.reminded);
    assert_int_equal(s.expires_at, 30000);
    /* Past expiry without a reminder (a long stop): expiry wins, no reminder. */
    assert_int_equal(interest_on_timer(&s, 40000, &s_config, notices, &n), INTEREST_CHANGED);
    assert_int_equal(s.state, LODESTONE__V1__INTEREST__STATE__EXPIRED);
    assert_int_equal(n, 2);
    assert_int_equal(notices[0].what, INTEREST_TELL_EXPIRED);
    assert_int_equal(notices[1].what, INTEREST_TELL_EXPIRED);
    /* A reminder as long as the time to live is no reminder. */
    interest_config_t none = s_config;
    none.reminder_ms = 14000;
    ls_interest_pb t = s_fresh();
    s_answer(&t, "opp-1", true, 0.6, 1000, notices, &n);
    assert_int_equal(interest_remind_at(&t, &none), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_request_then_mutual_introduces_both),
        cmocka_unit_test(test_decline_is_final_until_material_change),
        cmocka_unit_test(test_reminder_then_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
