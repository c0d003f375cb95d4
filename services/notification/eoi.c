/* eoi.c — the expression-of-interest workflow: the requests that answer for a pair
 * (ExpressInterest, GetInterest), the reminders and expiries on the tick, and the
 * declined pairs kept in memory so that a match event can reopen one. The state
 * machine is interest.h's; this file reads the pair's state (ls:eoi:<a>|<b>),
 * stores the next one with its notices delivered in one step, and writes the
 * notices (with an introduction's contact only when it was consented to). */
#include <string.h>

#include "ls_codec.h"
#include "ls_entity.h"
#include "ls_keys.h"
#include "ls_log.h"
#include "ls_util.h"
#include "notification_impl.h"

#define S_PAIR_MAX 300 /* "a|b": two entity ids of at most 64 bytes, with room */
#define S_ID_MAX 64    /* bytes of an entity id in a request */

/* KEYS: none. ARGV: pair, expected version, version, packed state, reminder time,
 * expiry time ("0": none), declined ("1"/"0"), now, inbox bound, then one entry of
 * operations delivering the notices. Returns -1 when the state changed meanwhile. */
static ls_script_t s_interest_script = LS_SCRIPT(
    DELIVERY_OPS_LUA "if not interest_store(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5],\n"
                     "                      ARGV[6], ARGV[7]) then return -1 end\n"
                     "return run_ops(10, #ARGV, ARGV[8], tonumber(ARGV[9]), 0)\n");

/* The pair key "a|b" (a < b) of two entity ids, into key. */
static void s_pair_key(const char *x, const char *y, char *key, size_t len)
{
    const char *a, *b;
    interest_order(x, y, &a, &b);
    snprintf(key, len, "%s|%s", a, b);
}

/* ---------------------------------------------------------------------------
 * Notices */

/* The contact an introduction may carry: an SME's or investor's when it consented
 * to sharing it; an opportunity's always (it was published with the call). */
static ls_contact_pb *s_shared_contact(const ls_entity_pb *e)
{
    switch (e->body_case) {
    case LODESTONE__V1__ENTITY__BODY_SME:
        return e->sme->consent_share_contact ? e->sme->contact : NULL;
    case LODESTONE__V1__ENTITY__BODY_INVESTOR:
        return e->investor->consent_share_contact ? e->investor->contact : NULL;
    case LODESTONE__V1__ENTITY__BODY_OPPORTUNITY:
        return e->opportunity->contact;
    default:
        return NULL;
    }
}

/* The kind and text of a notice that is not an introduction; the caller frees the
 * text. */
static char *s_notice_text(const interest_notice_t *notice, const ls_interest_pb *state,
                           const char *name, ls_notification_pb *note)
{
    switch (notice->what) {
    case INTEREST_TELL_REQUEST:
        note->kind = LODESTONE__V1__NOTIFICATION__KIND__INTEREST;
        return zsys_sprintf("%s (%s) is interested in your match (score %.2f). Answer before "
                            "the request expires: interested or not interested.",
                            name, notice->other, state->score);
    case INTEREST_TELL_REMINDER:
        note->kind = LODESTONE__V1__NOTIFICATION__KIND__INTEREST_REMINDER;
        return zsys_sprintf("Reminder: %s (%s) is waiting for your answer; the request "
                            "expires soon.",
                            name, notice->other);
    default:
        note->kind = LODESTONE__V1__NOTIFICATION__KIND__INTEREST_EXPIRED;
        return zsys_sprintf("The interest between you and %s (%s) expired unanswered.", name,
                            notice->other);
    }
}

/* Fills intro and returns the introduction's text; the caller frees it. other: the
 * other side's entity (NULL when erased since), owner its publisher ("" when
 * unknown): without consent to share the contact, that regional system makes the
 * introduction. */
static char *s_introduction(const interest_notice_t *notice, const ls_interest_pb *state,
                            const ls_entity_pb *other, const char *name, const char *owner,
                            Lodestone__V1__Introduction *intro)
{
    ls_contact_pb *contact = other ? s_shared_contact(other) : NULL;
    intro->other_id = (char *)notice->other;
    intro->other_name = (char *)name;
    intro->other_kind = ls_entity_kind_of_id(notice->other);
    intro->score = state->score;
    intro->contact = contact;
    intro->contact_shared = contact != NULL;
    intro->via = contact ? "" : (char *)owner;
    if (contact)
        return zsys_sprintf("You and %s (%s) are both interested: meet them. Contact: %s %s %s.",
                            name, notice->other, contact->name, contact->email, contact->phone);
    return zsys_sprintf("You and %s (%s) are both interested. They have not consented to share "
                        "their contact: %s, their regional system, makes the introduction.",
                        name, notice->other, intro->via);
}

/* Plans one notice: its notification, with the other side's name and, for an
 * introduction, its contact when shared (else the regional system to ask). */
static void s_plan_notice(notification_t *self, delivery_plan_t *plan, ls_interest_pb *state,
                          const interest_notice_t *notice)
{
    ls_entity_pb *other = NULL;
    ls_entity_load(self->store, notice->other, true, &other); /* NULL: erased since */
    ls_entity_meta_t meta;
    bool known = other && ls_entity_meta(other, &meta) == 0;
    const char *name = known ? meta.name : notice->other;
    const char *owner = known ? *meta.owner : "";
    char id[S_PAIR_MAX];
    snprintf(id, sizeof id, "i-%s-%s-v%llu-%s", state->a, state->b,
             (unsigned long long)state->version, notice->to);
    ls_notification_pb note = LODESTONE__V1__NOTIFICATION__INIT;
    Lodestone__V1__Introduction intro = LODESTONE__V1__INTRODUCTION__INIT;
    note.id = id;
    note.at = ls_now_ms();
    note.interest = state;
    if (notice->what == INTEREST_TELL_INTRODUCTION) {
        note.kind = LODESTONE__V1__NOTIFICATION__KIND__INTRODUCTION;
        note.introduction = &intro;
        note.text = s_introduction(notice, state, other, name, owner, &intro);
    } else
        note.text = s_notice_text(notice, state, name, &note);
    delivery_to_entity(plan, self->subs, notice->to, &note);
    zstr_free(&note.text);
    if (other)
        lodestone__v1__entity__free_unpacked(other, NULL);
}

/* ---------------------------------------------------------------------------
 * Reading and storing a pair's state */

/* Stores state (it was at version `expected`) with its notices delivered, in one
 * step, and keeps the declined pairs in memory. Returns 1 when stored, 0 when the
 * state changed meanwhile, -1 on a store failure. */
static int s_commit(notification_t *self, ls_interest_pb *state, uint64_t expected,
                    const interest_notice_t *notices, size_t n)
{
    state->version = expected + 1;
    delivery_plan_t plan;
    delivery_plan_init(&plan);
    delivery_entry_begin(&plan, 1);
    for (size_t i = 0; i < n; i++)
        s_plan_notice(self, &plan, state, &notices[i]);
    delivery_entry_end(&plan);
    size_t len;
    uint8_t *packed = ls_codec_pack_buffer(&state->base, &len);
    char pair[S_PAIR_MAX], expected_text[24], version[24], remind[24], expire[24], now[24],
        bound[24];
    s_pair_key(state->a, state->b, pair, sizeof pair);
    snprintf(expected_text, sizeof expected_text, "%llu", (unsigned long long)expected);
    snprintf(version, sizeof version, "%llu", (unsigned long long)state->version);
    snprintf(remind, sizeof remind, "%lld", (long long)interest_remind_at(state, &self->interest));
    snprintf(expire, sizeof expire, "%lld", (long long)interest_expire_at(state));
    snprintf(now, sizeof now, "%lld", (long long)ls_now_ms());
    snprintf(bound, sizeof bound, "%ld", self->config->inbox_max);
    bool declined = state->state == LODESTONE__V1__INTEREST__STATE__DECLINED;
    const char *fixed[] = {
        pair, expected_text, version, (const char *)packed, remind, expire, declined ? "1" : "0",
        now,  bound};
    size_t lens[9];
    for (size_t i = 0; i < 9; i++)
        lens[i] = i == 3 ? len : strlen(fixed[i]);
    long long rc = delivery_execute(self->store, &s_interest_script, 0, fixed, lens, 9, &plan);
    if (rc >= 0) {
        notification_written(self, &plan, (uint64_t)rc);
        if (declined) {
            ls_interest_pb *copy = (ls_interest_pb *)ls_codec_unpack(
                &lodestone__v1__interest__descriptor, packed, len, SIZE_MAX, NULL);
            if (copy)
                zhashx_update(self->declined, pair, copy);
        } else
            zhashx_delete(self->declined, pair);
    }
    free(packed);
    delivery_plan_free(&plan);
    return rc >= 0 ? 1 : rc == DELIVERY_FAILED ? -1 : 0;
}

/* Reads the pair's state into *out (unpacked; the caller frees it) or NULL when it
 * has none. Returns 0, or -1 on a store failure or a corrupt record. */
static int s_load(notification_t *self, const char *pair, ls_interest_pb **out)
{
    *out = NULL;
    redisReply *r = ls_store_command(self->store, "HGET %s%s d", LS_KEY_EOI, pair);
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        if (r)
            freeReplyObject(r);
        return -1;
    }
    int rc = 0;
    if (r->type == REDIS_REPLY_STRING) {
        *out = (ls_interest_pb *)ls_codec_unpack(&lodestone__v1__interest__descriptor, r->str,
                                                 r->len, SIZE_MAX, NULL);
        rc = *out ? 0 : -1;
        if (rc)
            LS_ERROR("interest %s is corrupt", pair);
    }
    freeReplyObject(r);
    return rc;
}

/* The score of the current match of subject and candidate (either list), or -1
 * when they are not matched; -2 on a store failure. */
static double s_match_score(notification_t *self, const char *subject, const char *candidate)
{
    const char *pairs[2][2] = {{subject, candidate}, {candidate, subject}};
    for (int i = 0; i < 2; i++) {
        redisReply *r =
            ls_store_command(self->store, "HGET %s%s %s", LS_KEY_MATCHES, pairs[i][0], pairs[i][1]);
        if (!r)
            return -2;
        double score = -1;
        if (r->type == REDIS_REPLY_STRING) {
            ls_match_pb *m = (ls_match_pb *)ls_codec_unpack(&lodestone__v1__match__descriptor,
                                                            r->str, r->len, SIZE_MAX, NULL);
            if (m) {
                score = m->score;
                lodestone__v1__match__free_unpacked(m, NULL);
            }
        }
        freeReplyObject(r);
        if (score >= 0)
            return score;
    }
    return -1;
}

/* ---------------------------------------------------------------------------
 * Requests */

static void s_reply_interest(notification_t *self, ls_rpc_request_t *req, ls_interest_pb *state)
{
    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_INTEREST;
    reply.interest = state;
    ls_rpc_reply(self->router, req, &reply);
}

/* Checks the publisher may act for subject; answers and returns false otherwise. */
static bool s_acts_for(notification_t *self, ls_rpc_request_t *req, const char *publisher,
                       const char *subject, const char *candidate)
{
    if (!*subject || strlen(subject) > S_ID_MAX || !*candidate || strlen(candidate) > S_ID_MAX ||
        strcmp(subject, candidate) == 0) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__INVALID,
                            "subjectId, candidateId: two different entity ids are required");
        return false;
    }
    requests_access_t access = requests_entity_access(self, publisher, subject);
    if (access == REQUESTS_STORE_DOWN)
        requests_unavailable(self, req);
    else if (access == REQUESTS_NO_ENTITY)
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__NOT_FOUND,
                            "subjectId: no entity %.64s", subject);
    else if (access == REQUESTS_OTHERS)
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__FORBIDDEN,
                            "subjectId: %.64s belongs to another publisher", subject);
    else
        return true;
    return false;
}

/* One attempt at q's answer for the pair: 1 when answered, 0 when the pair changed
 * meanwhile (another instance wrote it: read it again). */
static int s_answer(notification_t *self, ls_rpc_request_t *req,
                    const Lodestone__V1__ExpressInterest *q, const char *pair, double score)
{
    ls_interest_pb *held = NULL;
    if (s_load(self, pair, &held)) {
        requests_unavailable(self, req);
        return 1;
    }
    ls_interest_pb state = LODESTONE__V1__INTEREST__INIT;
    if (held)
        state = *held;
    else
        interest_order(q->subject_id, q->candidate_id, (const char **)&state.a,
                       (const char **)&state.b);
    uint64_t expected = state.version;
    interest_notice_t notices[2];
    size_t n = 0;
    const char *refusal = NULL;
    interest_result_t result = interest_answer(&state, q->subject_id, q->interested, score,
                                               ls_now_ms(), &self->interest, notices, &n, &refusal);
    int rc = 1;
    if (result == INTEREST_REFUSED)
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__FAILED_PRECONDITION,
                            "%s", refusal);
    else if (result == INTEREST_UNCHANGED)
        s_reply_interest(self, req, &state);
    else if ((rc = s_commit(self, &state, expected, notices, n)) == 1) {
        LS_INFO("interest %s: %s says %s", pair, q->subject_id,
                q->interested ? "interested" : "not interested");
        s_reply_interest(self, req, &state);
    } else if (rc < 0)
        requests_unavailable(self, req);
    if (held)
        lodestone__v1__interest__free_unpacked(held, NULL);
    return rc != 0;
}

void eoi_handle_interest(notification_t *self, ls_rpc_request_t *req)
{
    const char *publisher = requests_publisher(self, req);
    Lodestone__V1__ExpressInterest *q = req->request->interest;
    if (!publisher || !s_acts_for(self, req, publisher, q->subject_id, q->candidate_id))
        return;
    double score = s_match_score(self, q->subject_id, q->candidate_id);
    if (score < -1.5) {
        requests_unavailable(self, req);
        return;
    }
    if (score < 0) {
        ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__FAILED_PRECONDITION,
                            "%.64s and %.64s are not matched: interest is expressed in a "
                            "current match",
                            q->subject_id, q->candidate_id);
        return;
    }
    char pair[S_PAIR_MAX];
    s_pair_key(q->subject_id, q->candidate_id, pair, sizeof pair);
    for (int attempt = 0; attempt < 3; attempt++)
        if (s_answer(self, req, q, pair, score))
            return;
    ls_rpc_reply_status(self->router, req, LODESTONE__V1__STATUS__CODE__CONFLICT,
                        "the pair kept changing; retry");
}

void eoi_handle_get(notification_t *self, ls_rpc_request_t *req)
{
    const char *publisher = requests_publisher(self, req);
    Lodestone__V1__GetInterest *q = req->request->get_interest;
    if (!publisher || !s_acts_for(self, req, publisher, q->subject_id, q->candidate_id))
        return;
    char pair[S_PAIR_MAX];
    s_pair_key(q->subject_id, q->candidate_id, pair, sizeof pair);
    ls_interest_pb *held = NULL;
    if (s_load(self, pair, &held)) {
        requests_unavailable(self, req);
        return;
    }
    ls_interest_pb fresh = LODESTONE__V1__INTEREST__INIT;
    interest_order(q->subject_id, q->candidate_id, (const char **)&fresh.a,
                   (const char **)&fresh.b);
    s_reply_interest(self, req, held ? held : &fresh);
    if (held)
        lodestone__v1__interest__free_unpacked(held, NULL);
}

/* ---------------------------------------------------------------------------
 * Timers */

/* Acts on pair, found due in the reminder (which 0) or expiry (1) set. */
static void s_on_due(notification_t *self, int which, const char *set, const char *pair)
{
    ls_interest_pb *held = NULL;
    if (s_load(self, pair, &held) || !held) {
        if (!held) { /* a stale entry (or a corrupt record): nothing to remind of */
            redisReply *r = ls_store_command(self->store, "ZREM %s %s", set, pair);
            if (r)
                freeReplyObject(r);
        }
        return;
    }
    ls_interest_pb state = *held;
    interest_notice_t notices[2];
    size_t n = 0;
    if (interest_on_timer(&state, ls_now_ms(), &self->interest, notices, &n) == INTEREST_CHANGED)
        s_commit(self, &state, held->version, notices, n);
    else { /* nothing due after all: put the pair where its state says */
        int64_t at =
            which == 0 ? interest_remind_at(held, &self->interest) : interest_expire_at(held);
        redisReply *r =
            at ? ls_store_command(self->store, "ZADD %s %lld %s", set, (long long)at, pair)
               : ls_store_command(self->store, "ZREM %s %s", set, pair);
        if (r)
            freeReplyObject(r);
    }
    lodestone__v1__interest__free_unpacked(held, NULL);
}

void eoi_timers(notification_t *self)
{
    const char *sets[] = {LS_KEY_EOI_REMIND, LS_KEY_EOI_EXPIRE};
    for (int s = 0; s < 2; s++) {
        /* At most 32 of each per tick. */
        redisReply *due = ls_store_command(self->store, "ZRANGEBYSCORE %s -inf %lld LIMIT 0 32",
                                           sets[s], (long long)ls_now_ms());
        for (size_t i = 0; due && due->type == REDIS_REPLY_ARRAY && i < due->elements; i++)
            s_on_due(self, s, sets[s], due->element[i]->str);
        if (due)
            freeReplyObject(due);
    }
}

/* ---------------------------------------------------------------------------
 * Declined pairs */

int eoi_load_declined(notification_t *self)
{
    redisReply *pairs = ls_store_command(self->store, "SMEMBERS %s", LS_KEY_EOI_DECLINED);
    if (!pairs || pairs->type != REDIS_REPLY_ARRAY) {
        if (pairs)
            freeReplyObject(pairs);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < pairs->elements && rc == 0; i++) {
        ls_interest_pb *held = NULL;
        rc = s_load(self, pairs->element[i]->str, &held);
        if (held)
            zhashx_update(self->declined, pairs->element[i]->str, held);
    }
    freeReplyObject(pairs);
    return rc;
}

void eoi_plan_reopen(notification_t *self, delivery_plan_t *plan, const ls_match_event_pb *event)
{
    if (zhashx_size(self->declined) == 0)
        return;
    char pair[S_PAIR_MAX];
    s_pair_key(event->match->subject_id, event->match->candidate_id, pair, sizeof pair);
    const ls_interest_pb *held = zhashx_lookup(self->declined, pair);
    if (!held)
        return;
    ls_interest_pb state = *held;
    if (interest_on_match(&state, event->kind, event->match->score, &self->interest) !=
        INTEREST_CHANGED)
        return;
    uint64_t expected = state.version;
    state.version++;
    state.updated_at = ls_now_ms();
    delivery_reopen(plan, pair, expected, &state); /* both lists' events of one change: once */
}

void eoi_reopened(notification_t *self, const delivery_plan_t *plan)
{
    for (const char *pair = zlistx_first(plan->reopened); pair; pair = zlistx_next(plan->reopened))
        zhashx_delete(self->declined, pair);
}
