/* interest.h — the expression-of-interest state machine of one pair of entities
 * (EEN-style introductions), without I/O: from the stored state and an answer, a
 * timer or a change of the match, the next state and who must be told what.
 * eoi.c reads and stores the state (ls:eoi:<a>|<b>) and delivers.
 *
 *   NONE/EXPIRED --x interested--> REQUESTED (the other is told) --y interested--> MUTUAL
 *   (both get an introduction); anyone not interested --> DECLINED, final for the pair
 *   until the match changes materially (it then reopens as NONE). A REQUESTED pair
 *   not answered gets a reminder reminder_s before it expires after ttl_s (both are
 *   told when it expires). */
#ifndef NOTIFICATION_INTEREST_H
#define NOTIFICATION_INTEREST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ls_proto.h"

typedef struct {
    int64_t ttl_ms;        /* a request expires this long after it was made */
    int64_t reminder_ms;   /* the reminder goes this long before expiry */
    double material_delta; /* a score move larger than this reopens a declined pair */
} interest_config_t;

typedef enum {
    INTEREST_TELL_REQUEST,      /* `to`: the other side is interested */
    INTEREST_TELL_REMINDER,     /* `to`: a request to you expires soon */
    INTEREST_TELL_EXPIRED,      /* `to`: the request expired unanswered */
    INTEREST_TELL_INTRODUCTION, /* `to`: both are interested; meet `other` */
} interest_tell_t;

typedef struct {
    interest_tell_t what;
    const char *to; /* points to state->a or state->b */
    const char *other;
} interest_notice_t;

typedef enum {
    INTEREST_CHANGED,   /* store the new state, deliver the notices */
    INTEREST_UNCHANGED, /* nothing to store (a repeated answer, nothing due) */
    INTEREST_REFUSED,   /* the answer does not fit the state: *refusal says why */
} interest_result_t;

/* The pair's order: *a < *b by strcmp. */
void interest_order(const char *x, const char *y, const char **a, const char **b);

/* subject (a or b of state) answers. A fresh pair is state with a and b set and
 * everything else zero. score: the match's current score. */
interest_result_t interest_answer(ls_interest_pb *state, const char *subject, bool interested,
                                  double score, int64_t now, const interest_config_t *config,
                                  interest_notice_t notices[2], size_t *n, const char **refusal);

/* The timers at now: the reminder of a REQUESTED pair (once, to the side that has
 * not answered), then its expiry (both told). */
interest_result_t interest_on_timer(ls_interest_pb *state, int64_t now,
                                    const interest_config_t *config, interest_notice_t notices[2],
                                    size_t *n);

/* A match event of the pair: a DECLINED pair reopens (becomes NONE, answers
 * cleared) when the match came back (NEW) or its score moved by more than the
 * material delta since the decline. */
interest_result_t interest_on_match(ls_interest_pb *state, Lodestone__V1__MatchEvent__Kind kind,
                                    double score, const interest_config_t *config);

/* When the state's reminder and expiry are due, Unix ms; 0 when none. */
int64_t interest_remind_at(const ls_interest_pb *state, const interest_config_t *config);
int64_t interest_expire_at(const ls_interest_pb *state);

#endif
