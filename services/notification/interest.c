/* interest.c — the expression-of-interest state machine (interest.h). */
#include "interest.h"

#include <math.h>
#include <string.h>

void interest_order(const char *x, const char *y, const char **a, const char **b)
{
    bool swap = strcmp(x, y) > 0;
    *a = swap ? y : x;
    *b = swap ? x : y;
}

static Lodestone__V1__Interest__Answer *s_answer_of(ls_interest_pb *state, const char *who)
{
    return strcmp(who, state->a) == 0 ? &state->a_answer : &state->b_answer;
}

static const char *s_other(const ls_interest_pb *state, const char *who)
{
    return strcmp(who, state->a) == 0 ? state->b : state->a;
}

static void s_tell(interest_notice_t *notices, size_t *n, interest_tell_t what, const char *to,
                   const char *other)
{
    notices[(*n)++] = (interest_notice_t){what, to, other};
}

interest_result_t interest_answer(ls_interest_pb *state, const char *subject, bool interested,
                                  double score, int64_t now, const interest_config_t *config,
                                  interest_notice_t notices[2], size_t *n, const char **refusal)
{
    *n = 0;
    *refusal = NULL;
    const char *me = strcmp(subject, state->a) == 0 ? state->a : state->b;
    const char *other = s_other(state, me);
    Lodestone__V1__Interest__Answer *mine = s_answer_of(state, me);
    Lodestone__V1__Interest__Answer *theirs = s_answer_of(state, other);
    Lodestone__V1__Interest__Answer answer = interested
                                                 ? LODESTONE__V1__INTEREST__ANSWER__INTERESTED
                                                 : LODESTONE__V1__INTEREST__ANSWER__NOT_INTERESTED;
    switch (state->state) {
    case LODESTONE__V1__INTEREST__STATE__MUTUAL:
        if (interested)
            return INTEREST_UNCHANGED;
        *refusal = "both sides were interested and have been introduced";
        return INTEREST_REFUSED;
    case LODESTONE__V1__INTEREST__STATE__DECLINED:
        if (!interested && *mine == answer)
            return INTEREST_UNCHANGED;
        *refusal = "the pair was declined; that is final unless the match changes materially";
        return INTEREST_REFUSED;
    case LODESTONE__V1__INTEREST__STATE__REQUESTED:
        if (*mine == answer)
            return INTEREST_UNCHANGED; /* a repeated answer */
        break;
    default: /* NONE or EXPIRED: a new request */
        *mine = *theirs = LODESTONE__V1__INTEREST__ANSWER__ANSWER_NONE;
        state->reminded = 0;
        break;
    }
    *mine = answer;
    state->score = score;
    state->updated_at = now;
    if (!interested) {
        state->state = LODESTONE__V1__INTEREST__STATE__DECLINED;
        return INTEREST_CHANGED; /* declining is told to no one */
    }
    if (*theirs == LODESTONE__V1__INTEREST__ANSWER__INTERESTED) {
        state->state = LODESTONE__V1__INTEREST__STATE__MUTUAL;
        s_tell(notices, n, INTEREST_TELL_INTRODUCTION, state->a, state->b);
        s_tell(notices, n, INTEREST_TELL_INTRODUCTION, state->b, state->a);
        return INTEREST_CHANGED;
    }
    state->state = LODESTONE__V1__INTEREST__STATE__REQUESTED;
    state->requested_at = now;
    state->expires_at = now + config->ttl_ms;
    state->reminded = 0;
    s_tell(notices, n, INTEREST_TELL_REQUEST, other, me);
    return INTEREST_CHANGED;
}

/* The side that has not answered a REQUESTED pair. */
static const char *s_waiting(const ls_interest_pb *state)
{
    return state->a_answer == LODESTONE__V1__INTEREST__ANSWER__ANSWER_NONE ? state->a : state->b;
}

interest_result_t interest_on_timer(ls_interest_pb *state, int64_t now,
                                    const interest_config_t *config, interest_notice_t notices[2],
                                    size_t *n)
{
    *n = 0;
    if (state->state != LODESTONE__V1__INTEREST__STATE__REQUESTED)
        return INTEREST_UNCHANGED;
    const char *waiting = s_waiting(state);
    const char *asking = s_other(state, waiting);
    if (now >= state->expires_at) {
        state->state = LODESTONE__V1__INTEREST__STATE__EXPIRED;
        state->updated_at = now;
        s_tell(notices, n, INTEREST_TELL_EXPIRED, asking, waiting);
        s_tell(notices, n, INTEREST_TELL_EXPIRED, waiting, asking);
        return INTEREST_CHANGED;
    }
    int64_t remind = interest_remind_at(state, config);
    if (remind && now >= remind) {
        state->reminded = 1;
        state->updated_at = now;
        s_tell(notices, n, INTEREST_TELL_REMINDER, waiting, asking);
        return INTEREST_CHANGED;
    }
    return INTEREST_UNCHANGED;
}

interest_result_t interest_on_match(ls_interest_pb *state, Lodestone__V1__MatchEvent__Kind kind,
                                    double score, const interest_config_t *config)
{
    if (state->state != LODESTONE__V1__INTEREST__STATE__DECLINED ||
        kind == LODESTONE__V1__MATCH_EVENT__KIND__GONE)
        return INTEREST_UNCHANGED;
    if (kind != LODESTONE__V1__MATCH_EVENT__KIND__NEW &&
        !(fabs(score - state->score) > config->material_delta))
        return INTEREST_UNCHANGED;
    state->state = LODESTONE__V1__INTEREST__STATE__STATE_NONE;
    state->a_answer = state->b_answer = LODESTONE__V1__INTEREST__ANSWER__ANSWER_NONE;
    state->score = score;
    state->reminded = 0;
    return INTEREST_CHANGED;
}

int64_t interest_remind_at(const ls_interest_pb *state, const interest_config_t *config)
{
    if (state->state != LODESTONE__V1__INTEREST__STATE__REQUESTED || state->reminded ||
        config->reminder_ms <= 0)
        return 0;
    int64_t at = state->expires_at - config->reminder_ms;
    return at > state->requested_at ? at : 0; /* a reminder at the request itself is no use */
}

int64_t interest_expire_at(const ls_interest_pb *state)
{
    return state->state == LODESTONE__V1__INTEREST__STATE__REQUESTED ? state->expires_at : 0;
}
