/* engine.c — the matching engine: turns each change-journal entry into edits of the
 * match lists this instance owns, match events and a checkpoint, written in one
 * atomic step; and the full re-match, the IDF snapshot kept in Redis, and the
 * start-up that reads the index and the lists back.
 *
 * Instance i of N owns the match lists of the entities whose id hashes to i, and
 * keeps them in memory (lists.h) as well as in Redis. Every instance indexes every
 * change (candidates can be anyone). For a change to entity X an instance updates
 * the lists it owns that X can touch: X's own is recomputed from the index; for each
 * other one (X's candidates, and the lists that hold X) X's one score (symmetric)
 * decides whether it enters, moves in or leaves the list. Lists in memory keep a
 * reserve below the shown top-K (lists.h), so a list is recomputed only when fewer
 * than K of its best are known. All list edits, the match-journal entries and the
 * checkpoint are written by one Lua script, and memory follows only once Redis has
 * them, so a kill at any moment neither loses nor repeats a match event. A full
 * re-match ranks its batches on several threads; a start far behind the journal
 * re-matches instead of replaying (docs/design-notes.md). Every script that writes
 * the partition's state first checks that the partition's lease still holds this
 * process' token (the fence, engine_bind), so a process that lost its partition
 * writes nothing. */
#include "engine.h"

#include <math.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "ls_codec.h"
#include "ls_entity.h"
#include "ls_journal.h"
#include "ls_keys.h"
#include "ls_log.h"
#include "ls_util.h"

/* The fence that every script writing this partition's state (lists, match
 * journal, checkpoint, model) begins with: KEYS[1] is the partition's lease and
 * ARGV[1] this process' token. A process that stalled past its lease, which another
 * instance then took, writes nothing: the check and the writes are one atomic step
 * (docs/design-notes.md, "Matching replicas claim partitions"). */
#define S_FENCED "FENCED" /* how a refusal's error begins */
#define S_FENCE_LUA                                                                                \
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then\n"                                              \
    "  return redis.error_reply('" S_FENCED " lease ' .. KEYS[1] .. ' is not held by ' .. "        \
    "ARGV[1])\n"                                                                                   \
    "end\n"

/* KEYS: lease, checkpoint, match stream, match counter. ARGV[1]: the token (the
 * fence); ARGV[2]: the change seq; ARGV[3]: "1" to record it as done (a re-match
 * writes batches, the last one records it); ARGV[4]: the number of events; then
 * operations: "S" subject candidate match | "D" subject candidate | "E" event. The
 * events' sequence numbers are taken with one INCRBY (the journal stays contiguous:
 * the script is atomic). Returns the first event's sequence number (0 when there is
 * none), or -1 when this change was applied before. */
static ls_script_t s_apply_script =
    LS_SCRIPT(LS_JOURNAL_LUA S_FENCE_LUA
              "local done = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
              "if done >= tonumber(ARGV[2]) then return -1 end\n"
              "local events = tonumber(ARGV[4])\n"
              "local seq = 0\n"
              "if events > 0 then seq = journal_reserve(KEYS[4], events) end\n"
              "local first = seq + 1\n"
              "local i = 5\n"
              "while i <= #ARGV do\n"
              "  local op = ARGV[i]\n"
              "  if op == 'S' then\n"
              "    redis.call('HSET', 'ls:matches:' .. ARGV[i+1], ARGV[i+2], ARGV[i+3])\n"
              "    i = i + 4\n"
              "  elseif op == 'D' then\n"
              "    redis.call('HDEL', 'ls:matches:' .. ARGV[i+1], ARGV[i+2])\n"
              "    i = i + 3\n"
              "  else\n"
              "    seq = seq + 1\n"
              "    journal_append_at(KEYS[3], seq, ARGV[i+1])\n"
              "    i = i + 2\n"
              "  end\n"
              "end\n"
              "if ARGV[3] == '1' then redis.call('SET', KEYS[2], ARGV[2]) end\n"
              "if events == 0 then return 0 end\n"
              "return first\n");

/* KEYS: change stream, change counter. ARGV: the packed REMATCH event. */
static ls_script_t s_request_script =
    LS_SCRIPT(LS_JOURNAL_LUA "return journal_append(KEYS[1], KEYS[2], ARGV[1])\n");

/* ---------------------------------------------------------------------------
 * The write plan for one change: arguments for the script, all owned here. */

typedef struct {
    zlistx_t *args;   /* zchunk_t * in order, owned */
    zlistx_t *events; /* the packed MatchEvents among args, in append order (not owned) */
} s_plan_t;

static void s_chunk_destroy(void **item)
{
    zchunk_destroy((zchunk_t **)item);
}

static void s_plan_init(s_plan_t *plan)
{
    plan->args = zlistx_new();
    plan->events = zlistx_new();
    zlistx_set_destructor(plan->args, s_chunk_destroy);
}

static void s_plan_free(s_plan_t *plan)
{
    zlistx_destroy(&plan->args);
    zlistx_destroy(&plan->events);
}

static void s_plan_str(s_plan_t *plan, const char *text)
{
    zlistx_add_end(plan->args, zchunk_new(text, strlen(text)));
}

static void s_plan_msg(s_plan_t *plan, const ProtobufCMessage *msg, bool event)
{
    size_t len = 0;
    uint8_t *data = ls_codec_pack_buffer(msg, &len);
    zchunk_t *chunk = zchunk_new(data, len);
    zlistx_add_end(plan->args, chunk);
    if (event) /* the same bytes go live once the step has run */
        zlistx_add_end(plan->events, chunk);
    free(data);
}

/* The facets of one side that notification's subscription filters read, pointing
 * into the record (valid while the record is); the arrays are the caller's. */
typedef struct {
    Lodestone__V1__MatchParty party;
    char *materials[64];
} s_party_t;

static void s_party(const match_entity_t *record, Lodestone__V1__EntityKind kind, s_party_t *out)
{
    lodestone__v1__match_party__init(&out->party);
    out->party.kind = kind;
    if (!record)
        return; /* gone from the index: the kind is all there is */
    out->party.region = record->region;
    out->party.stages = (char **)record->stages.items;
    out->party.n_stages = record->stages.size;
    out->party.themes = (char **)record->themes.items;
    out->party.n_themes = record->themes.size;
    size_t n = record->material_count < 64 ? record->material_count : 64;
    for (size_t i = 0; i < n; i++)
        out->materials[i] = (char *)record->materials[i].code;
    out->party.materials = out->materials;
    out->party.n_materials = n;
    out->party.opportunity_kind = record->opportunity_kind;
}

static void s_plan_event(engine_t *self, s_plan_t *plan, Lodestone__V1__MatchEvent__Kind kind,
                         ls_match_pb *match, uint64_t change_seq)
{
    ls_match_event_pb event = LODESTONE__V1__MATCH_EVENT__INIT;
    event.kind = kind;
    event.match = match;
    event.change_seq = change_seq;
    s_party_t subject, candidate;
    s_party(match_index_lookup(self->index, match->subject_id),
            ls_entity_kind_of_id(match->subject_id), &subject);
    s_party(match_index_lookup(self->index, match->candidate_id), match->candidate_kind,
            &candidate);
    event.subject = &subject.party;
    event.candidate = &candidate.party;
    s_plan_str(plan, "E");
    s_plan_msg(plan, &event.base, true);
}

/* ---------------------------------------------------------------------------
 * Working lists: one subject's list while a change is planned, as deep as the
 * lists in memory (top-K and the reserve, lists.h). An item carries its explained
 * Match once one was built (only shown entries that are written need one). */

typedef struct {
    char *candidate;
    double score;
    ls_match_pb *match;
} s_item_t;

typedef struct {
    s_item_t *items;
    size_t count, capacity;
    bool complete; /* holds every candidate scoring at least the threshold */
} s_work_t;

static void s_item_clear(s_item_t *item)
{
    free(item->candidate);
    match_destroy(&item->match);
}

static void s_work_free(s_work_t *w)
{
    for (size_t i = 0; i < w->count; i++)
        s_item_clear(&w->items[i]);
    free(w->items);
    memset(w, 0, sizeof *w);
}

static void s_work_push(s_work_t *w, const char *candidate, double score)
{
    if (w->count == w->capacity) {
        w->capacity = w->capacity ? w->capacity * 2 : 16;
        w->items = realloc(w->items, w->capacity * sizeof *w->items);
    }
    w->items[w->count++] = (s_item_t){strdup(candidate), score, NULL};
}

/* Inserts (candidate, score) in rank order, keeping at most depth items; an item
 * pushed out, or one not taken, makes the list incomplete. */
static void s_work_insert(s_work_t *w, size_t depth, const char *candidate, double score)
{
    size_t at = w->count;
    while (at > 0 &&
           match_entry_before(score, candidate, w->items[at - 1].score, w->items[at - 1].candidate))
        at--;
    if (at >= depth) {
        w->complete = false;
        return;
    }
    if (w->count == depth) {
        s_item_clear(&w->items[--w->count]);
        w->complete = false;
    }
    s_work_push(w, candidate, score); /* grows the array; moved into place below */
    s_item_t item = w->items[w->count - 1];
    memmove(&w->items[at + 1], &w->items[at], (w->count - 1 - at) * sizeof item);
    w->items[at] = item;
}

static ssize_t s_entries_find(const match_entry_t *entries, size_t n, const char *candidate)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(entries[i].candidate, candidate) == 0)
            return (ssize_t)i;
    return -1;
}

/* How deep the lists in memory are: top-K and as many in reserve. */
static size_t s_depth(const engine_t *self)
{
    return 2 * self->model.top_k;
}

/* The full list of subject from the index, ranked to the depth of the lists in
 * search lane `lane`, none explained yet; scratch has room for the depth. Safe on a
 * worker thread while the index does not change (index.h). */
static void s_work_ranked(engine_t *self, unsigned lane, const match_entity_t *subject,
                          const char *today, s_work_t *w, match_ranked_t *scratch)
{
    size_t n = match_rank(self->index, lane, subject, &self->model, today, s_depth(self), scratch,
                          &w->complete);
    for (size_t i = 0; i < n; i++)
        s_work_push(w, scratch[i].candidate->id, scratch[i].score);
}

/* The full list of subject, on the engine's own thread. */
static void s_work_full(engine_t *self, const match_entity_t *subject, const char *today,
                        s_work_t *w)
{
    match_ranked_t *scratch = calloc(s_depth(self) + 1, sizeof *scratch);
    s_work_ranked(self, 0, subject, today, w, scratch);
    free(scratch);
}

/* The list held for subject (an indexed record) as a working list. */
static void s_work_load(engine_t *self, const match_entity_t *subject, s_work_t *w)
{
    size_t n = 0;
    const match_entry_t *old =
        match_lists_find(self->lists, subject->id, subject->id_hash, &n, &w->complete);
    for (size_t i = 0; i < n; i++)
        s_work_push(w, old[i].candidate, old[i].score);
}

/* Applies x's new score (-1: not a candidate, or below the threshold) to w, which
 * stays the exact best w->count candidates. x enters when the list is complete or
 * x ranks before its last entry; otherwise it is only known not to belong there. */
static void s_work_update(engine_t *self, s_work_t *w, const char *x, double score)
{
    for (size_t i = 0; i < w->count; i++)
        if (strcmp(w->items[i].candidate, x) == 0) {
            s_item_clear(&w->items[i]);
            memmove(&w->items[i], &w->items[i + 1], (w->count - i - 1) * sizeof *w->items);
            w->count--;
            break;
        }
    if (score < self->model.threshold)
        return;
    if (w->complete || (w->count > 0 && match_entry_before(score, x, w->items[w->count - 1].score,
                                                           w->items[w->count - 1].candidate)))
        s_work_insert(w, s_depth(self), x, score);
}

/* ---------------------------------------------------------------------------
 * Planning one change: Redis operations, events, and the lists to commit after */

typedef struct {
    char *subject;
    s_work_t work;
} s_pending_t;

static void s_pending_destroy(void **item)
{
    s_pending_t *p = *item;
    if (p) {
        free(p->subject);
        s_work_free(&p->work);
        free(p);
    }
    *item = NULL;
}

static ls_match_pb *s_gone_match(engine_t *self, const char *subject, const match_entry_t *old)
{
    ls_match_pb *m = calloc(1, sizeof *m);
    lodestone__v1__match__init(m);
    m->subject_id = strdup(subject);
    m->candidate_id = strdup(old->candidate);
    m->candidate_kind = ls_entity_kind_of_id(old->candidate);
    const match_entity_t *record = match_index_lookup(self->index, old->candidate);
    m->candidate_name = strdup(record ? record->name : old->candidate);
    m->model_version = strdup(MATCH_MODEL_VERSION);
    m->score = old->score;
    return m;
}

/* The shown part of a list: its first top_k entries. */
static size_t s_shown(const engine_t *self, size_t count)
{
    return count < self->model.top_k ? count : self->model.top_k;
}

/* Plans the Redis writes and events that turn subject's stored list (the shown part
 * of the list in memory) into the shown part of w, explaining the entries written.
 * changed: the entity whose change this is; its entry is rewritten even when its
 * score stayed (its name or explanation may have changed). */
static void s_diff(engine_t *self, const char *subject, s_work_t *w, const char *changed,
                   uint64_t seq, const char *today, s_plan_t *plan)
{
    size_t n_old = 0;
    const match_entry_t *old = match_lists_get(self->lists, subject, &n_old);
    n_old = s_shown(self, n_old);
    size_t n_new = s_shown(self, w->count);
    const match_entity_t *record = match_index_lookup(self->index, subject);
    int64_t now = ls_now_ms();
    for (size_t i = 0; i < n_new; i++) {
        s_item_t *item = &w->items[i];
        ssize_t at = s_entries_find(old, n_old, item->candidate);
        bool moved = at < 0 || old[at].score != item->score;
        if (!moved && strcmp(item->candidate, changed) != 0)
            continue;
        if (!item->match)
            item->match = match_score(&self->model, record,
                                      match_index_lookup(self->index, item->candidate), today);
        item->match->at = now;
        s_plan_str(plan, "S");
        s_plan_str(plan, subject);
        s_plan_str(plan, item->candidate);
        s_plan_msg(plan, &item->match->base, false);
        if (at < 0)
            s_plan_event(self, plan, LODESTONE__V1__MATCH_EVENT__KIND__NEW, item->match, seq);
        else if (fabs(old[at].score - item->score) > self->config->match_delta)
            s_plan_event(self, plan, LODESTONE__V1__MATCH_EVENT__KIND__CHANGED, item->match, seq);
    }
    for (size_t i = 0; i < n_old; i++) {
        bool kept = false;
        for (size_t j = 0; j < n_new && !kept; j++)
            kept = strcmp(w->items[j].candidate, old[i].candidate) == 0;
        if (kept)
            continue;
        ls_match_pb *gone = s_gone_match(self, subject, &old[i]);
        gone->at = now;
        s_plan_str(plan, "D");
        s_plan_str(plan, subject);
        s_plan_str(plan, old[i].candidate);
        s_plan_event(self, plan, LODESTONE__V1__MATCH_EVENT__KIND__GONE, gone, seq);
        match_destroy(&gone);
    }
}

/* engine_owns for an id whose match_id_hash is known: that is the partition hash
 * (ls_hash64), so a counterpart of a change costs no string hashing here. */
static bool s_owns_hash(const engine_t *self, uint64_t id_hash)
{
    long n = self->config->matching_partitions;
    return n <= 1 || id_hash % (uint64_t)n == (uint64_t)self->config->matching_partition;
}

bool engine_owns(const engine_t *self, const char *id)
{
    return s_owns_hash(self, match_id_hash(id));
}

/* One list a change of x can touch, with x's score for it when known. */
typedef struct {
    char *subject;
    double score; /* score(x, subject) (symmetric), -1 when x is not its candidate */
} s_touch_t;

/* A subject whose list holds x, and whether it was met among x's candidates. */
typedef struct {
    uint64_t hash; /* match_id_hash(subject) */
    const char *subject;
    bool met;
} s_holder_t;

typedef struct {
    engine_t *engine;
    const match_entity_t *x;
    const char *today;
    s_holder_t *holders; /* the subjects whose lists hold x, sorted by hash */
    size_t holder_count, holder_capacity;
    s_touch_t *items;
    size_t count, capacity;
    s_work_t *own; /* x's own list, when this instance owns it */
} s_touched_t;

static void s_touch(s_touched_t *t, const char *subject, double score)
{
    if (t->count == t->capacity) {
        t->capacity = t->capacity ? t->capacity * 2 : 64;
        t->items = realloc(t->items, t->capacity * sizeof *t->items);
    }
    t->items[t->count++] = (s_touch_t){strdup(subject), score};
}

/* True when x, scoring `score` for y and not in y's list, enters it: a list is
 * always the exact best of its candidates, so x must beat the threshold and, unless
 * the list holds every candidate above it, the last entry. */
static bool s_enters(engine_t *self, const match_entity_t *y, const char *x, double score)
{
    if (score < self->model.threshold)
        return false;
    return match_lists_admits(self->lists, y->id, y->id_hash, score, x);
}

/* The holder that is candidate, by binary search on the id hash: a counterpart
 * costs no string hashing. */
static s_holder_t *s_holder_find(s_touched_t *t, const match_entity_t *candidate)
{
    size_t lo = 0, hi = t->holder_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->holders[mid].hash < candidate->id_hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < t->holder_count && t->holders[lo].hash == candidate->id_hash; lo++)
        if (strcmp(t->holders[lo].subject, candidate->id) == 0)
            return &t->holders[lo];
    return NULL;
}

/* Scores each counterpart of x once: the score serves x's own list and the
 * counterpart's (the score is symmetric, score.h). A counterpart whose list neither
 * holds x nor takes it in is left there: for most of them the change costs the
 * score and two hash lookups. */
static void s_score_counterpart(const match_entity_t *candidate, void *arg)
{
    s_touched_t *t = arg;
    engine_t *self = t->engine;
    bool owned = s_owns_hash(self, candidate->id_hash);
    if (!owned && !t->own)
        return; /* another instance's list, and x's own list is not this one's */
    double score = match_score_value(&self->model, t->x, candidate, t->today);
    self->scored++;
    if (t->own && score >= self->model.threshold)
        s_work_insert(t->own, s_depth(self), candidate->id, score);
    bool held = false;
    s_holder_t *holder = s_holder_find(t, candidate);
    if (holder) {
        holder->met = true;
        held = true;
    }
    if (owned && (held || s_enters(self, candidate, t->x->id, score)))
        s_touch(t, candidate->id, score);
}

static void s_collect_holder(const char *subject, void *arg)
{
    s_touched_t *t = arg;
    if (t->holder_count == t->holder_capacity) {
        t->holder_capacity = t->holder_capacity ? t->holder_capacity * 2 : 32;
        t->holders = realloc(t->holders, t->holder_capacity * sizeof *t->holders);
    }
    t->holders[t->holder_count++] = (s_holder_t){match_id_hash(subject), subject, false};
}

static int s_holder_order(const void *a, const void *b)
{
    const s_holder_t *x = a, *y = b;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* The owned lists a change of x can touch: its candidates' (scored), and those that
 * hold it now (x is no longer their candidate when not met among them). When x is
 * active and owned, own becomes its full list. */
static void s_touched(engine_t *self, const char *x, const char *today, s_touched_t *t,
                      s_work_t *own)
{
    memset(t, 0, sizeof *t);
    t->engine = self;
    t->today = today;
    t->x = match_index_lookup(self->index, x);
    t->own = t->x && s_owns_hash(self, t->x->id_hash) && self->model.top_k > 0 ? own : NULL;
    own->complete = true;
    match_lists_holders(self->lists, x, s_collect_holder, t);
    if (t->holder_count)
        qsort(t->holders, t->holder_count, sizeof *t->holders, s_holder_order);
    if (t->x)
        match_index_counterparts(self->index, t->x, s_score_counterpart, t);
    for (size_t i = 0; i < t->holder_count; i++)
        if (!t->holders[i].met && s_owns_hash(self, t->holders[i].hash))
            s_touch(t, t->holders[i].subject, -1.0);
    free(t->holders);
    t->holders = NULL;
    t->holder_count = t->holder_capacity = 0;
}

static void s_touched_free(s_touched_t *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->items[i].subject);
    free(t->items);
    memset(t, 0, sizeof *t);
}

/* The new list of subject y after x changed, into w; score is x's for y (-1 when x
 * is not y's candidate). y is one of the lists s_touched found: it holds x or takes
 * it in. Returns false when y has no list and is inactive (nothing to write). */
static bool s_plan_list(engine_t *self, const char *y, const char *x, double score,
                        const char *today, s_work_t *w)
{
    const match_entity_t *subject = match_index_lookup(self->index, y);
    if (!subject) { /* inactive or gone: its list empties */
        size_t n_old = 0;
        match_lists_get(self->lists, y, &n_old);
        return n_old > 0;
    }
    s_work_load(self, subject, w);
    s_work_update(self, w, x, score);
    /* Fewer than top-K known and more may exist: score every candidate again. */
    if (w->count < self->model.top_k && !w->complete) {
        s_work_free(w);
        s_work_full(self, subject, today, w);
        self->recomputed++;
    }
    return true;
}

static int s_pending_order(const void *a, const void *b)
{
    const s_pending_t *x = *(s_pending_t *const *)a, *y = *(s_pending_t *const *)b;
    return strcmp(x->subject, y->subject);
}

/* Updates the index with the change; an older version than the one held (replay
 * after a restart that rebuilt from newer state) leaves the index as it is. */
static void s_index_change(engine_t *self, ls_change_event_pb *change)
{
    const match_entity_t *held = match_index_lookup(self->index, change->entity_id);
    if (held && held->version > change->version)
        return;
    if (change->op == LODESTONE__V1__CHANGE_EVENT__OP__UPSERT && ls_change_event_meta(change) == 0)
        match_index_upsert(self->index, change->entity);
    else
        match_index_remove(self->index, change->entity_id);
}

/* True when reply is the fence's refusal; then the engine is fenced for good (the
 * service stops: another process holds the partition). */
static bool s_fenced(engine_t *self, const redisReply *reply)
{
    if (!reply || reply->type != REDIS_REPLY_ERROR ||
        strncmp(reply->str, S_FENCED " ", strlen(S_FENCED) + 1) != 0)
        return false;
    if (!self->fenced)
        LS_ERROR("a write was refused: %s", reply->str);
    self->fenced = true;
    return true;
}

static int s_execute(engine_t *self, uint64_t seq, bool final, s_plan_t *plan)
{
    char seq_text[24], events_text[24];
    snprintf(seq_text, sizeof seq_text, "%llu", (unsigned long long)seq);
    snprintf(events_text, sizeof events_text, "%zu", zlistx_size(plan->events));
    const char *fixed[] = {
        self->lease_key, self->checkpoint, LS_JOURNAL_MATCHES.stream, LS_JOURNAL_MATCHES.seq_key,
        self->token,     seq_text,         final ? "1" : "0",         events_text};
    redisReply *reply = ls_store_eval_chunks(self->store, &s_apply_script, 4, fixed, NULL,
                                             sizeof fixed / sizeof fixed[0], plan->args);
    int rc = -1;
    if (reply && reply->type == REDIS_REPLY_INTEGER) {
        rc = 0;
        uint64_t at = reply->integer > 0 ? (uint64_t)reply->integer : 0; /* -1: a replay */
        for (zchunk_t *event = zlistx_first(plan->events); at && event;
             event = zlistx_next(plan->events), at++) {
            ls_journal_send(self->push, &LS_JOURNAL_MATCHES, at, zchunk_data(event),
                            zchunk_size(event));
            self->events++;
        }
    } else if (!s_fenced(self, reply)) /* a refusal is logged once; the service stops */
        LS_WARN("applying change %llu failed: %s", (unsigned long long)seq,
                reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                          : ls_store_error(self->store));
    if (reply)
        freeReplyObject(reply);
    return rc;
}

/* True when w is the list held in memory for subject, entry for entry. */
static bool s_work_same(engine_t *self, const char *subject, const s_work_t *w)
{
    size_t n = 0;
    bool complete = true;
    const match_entry_t *held = match_lists_get_ex(self->lists, subject, &n, &complete);
    if (n != w->count || complete != w->complete)
        return false;
    for (size_t i = 0; i < n; i++)
        if (held[i].score != w->items[i].score || strcmp(held[i].candidate, w->items[i].candidate))
            return false;
    return true;
}

/* The lists in memory change only once Redis holds them: a failed write is retried
 * from the same state. */
static void s_commit(engine_t *self, zlistx_t *pending)
{
    for (s_pending_t *p = zlistx_first(pending); p; p = zlistx_next(pending)) {
        if (s_work_same(self, p->subject, &p->work))
            continue; /* a re-match that found the list as it was */
        match_entry_t *entries = calloc(p->work.count + 1, sizeof *entries);
        for (size_t i = 0; i < p->work.count; i++)
            entries[i] = (match_entry_t){p->work.items[i].candidate, p->work.items[i].score};
        match_lists_set(self->lists, p->subject, entries, p->work.count, p->work.complete);
        free(entries);
    }
}

static void s_record_latency(engine_t *self, int64_t started_us, int64_t planned_us)
{
    size_t at = self->latency_next++ % ENGINE_LATENCY_WINDOW;
    self->latency_us[at] = (double)(zclock_usecs() - started_us);
    self->scoring_us[at] = (double)(planned_us - started_us);
    self->changes++;
}

/* A fingerprint of the model in force: its version and every setting that changes a
 * score or a list. Stored after a re-match; a different one at start asks for one. */
static void s_fingerprint(engine_t *self, char *out, size_t len)
{
    uint64_t hash = ls_hash64(MATCH_MODEL_VERSION);
    const unsigned char *bytes = (const unsigned char *)&self->model.weights;
    for (size_t i = 0; i < sizeof self->model.weights; i++)
        hash = (hash ^ bytes[i]) * 0x100000001b3ULL;
    snprintf(out, len, "%s/%016llx/t=%.6f/k=%zu", MATCH_MODEL_VERSION, (unsigned long long)hash,
             self->model.threshold, (size_t)self->model.top_k);
}

#define S_REMATCH_BATCH 500 /* lists per atomic write during a re-match */

static const char *s_consumer(engine_t *self)
{
    return self->checkpoint + strlen(LS_KEY_CHECKPOINT);
}

/* KEYS: lease, key. ARGV: token, value. A SET behind the fence. */
static ls_script_t s_set_script =
    LS_SCRIPT(S_FENCE_LUA "return redis.call('SET', KEYS[2], ARGV[2])\n");

static void s_store_fingerprint(engine_t *self)
{
    char fingerprint[128], key[128];
    s_fingerprint(self, fingerprint, sizeof fingerprint);
    snprintf(key, sizeof key, LS_KEY_MODEL "%s", s_consumer(self));
    const char *argv[] = {self->lease_key, key, self->token, fingerprint};
    redisReply *r = ls_store_eval(self->store, &s_set_script, 2, 4, argv, NULL);
    s_fenced(self, r);
    if (r)
        freeReplyObject(r);
}

/* ---------------------------------------------------------------------------
 * The IDF snapshot lives in Redis, so that every instance, and every restart, scores
 * with the same one until a re-match asks for a new one. */

#define S_IDF_FINGERPRINT "\x01fingerprint"

/* KEYS: lease, the snapshot hash. ARGV: token, then tag, weight, tag, weight, ...
 * Replaces it whole. */
static ls_script_t s_idf_script = LS_SCRIPT(
    S_FENCE_LUA "redis.call('DEL', KEYS[2])\n"
                "for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end\n"
                "return 1\n");

static void s_idf_arg(const char *tag, double weight, void *arg)
{
    zlistx_t *args = arg;
    zlistx_add_end(args, strdup(tag));
    zlistx_add_end(args, zsys_sprintf("%.17g", weight));
}

static int s_idf_store(engine_t *self)
{
    zlistx_t *args = zlistx_new();
    zlistx_set_destructor(args, (zlistx_destructor_fn *)zstr_free);
    match_index_idf_each(self->index, s_idf_arg, args);
    zlistx_add_end(args, strdup(S_IDF_FINGERPRINT));
    zlistx_add_end(
        args, zsys_sprintf("%llu", (unsigned long long)match_index_idf_fingerprint(self->index)));
    size_t n = zlistx_size(args);
    const char **argv = calloc(n + 3, sizeof *argv);
    argv[0] = self->lease_key;
    argv[1] = LS_KEY_MODEL "idf";
    argv[2] = self->token;
    size_t i = 3;
    for (char *a = zlistx_first(args); a; a = zlistx_next(args))
        argv[i++] = a;
    redisReply *r = ls_store_eval(self->store, &s_idf_script, 2, (int)n + 3, argv, NULL);
    int rc = r && r->type == REDIS_REPLY_INTEGER ? 0 : -1;
    s_fenced(self, r);
    if (r)
        freeReplyObject(r);
    free(argv);
    zlistx_destroy(&args);
    return rc;
}

/* Loads the stored snapshot. 1 when there is none yet, -1 on a store failure. */
static int s_idf_load(engine_t *self)
{
    redisReply *r = ls_store_command(self->store, "HGETALL " LS_KEY_MODEL "idf");
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject(r);
        return -1;
    }
    size_t n = 0;
    const char **tags = calloc(r->elements / 2 + 1, sizeof *tags);
    double *weights = calloc(r->elements / 2 + 1, sizeof *weights);
    uint64_t fingerprint = 0;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *field = r->element[i]->str, *value = r->element[i + 1]->str;
        if (strcmp(field, S_IDF_FINGERPRINT) == 0)
            fingerprint = strtoull(value, NULL, 10);
        else {
            tags[n] = field;
            weights[n++] = strtod(value, NULL);
        }
    }
    int rc = fingerprint ? 0 : 1;
    if (rc == 0)
        match_index_load_idf(self->index, tags, weights, n, fingerprint);
    free(tags);
    free(weights);
    freeReplyObject(r);
    return rc;
}

/* The snapshot at start: the stored one, or a first one taken and stored. */
static int s_idf_start(engine_t *self)
{
    int rc = s_idf_load(self);
    if (rc == 1) {
        match_index_refresh_idf(self->index);
        rc = s_idf_store(self);
        LS_INFO("first IDF snapshot taken");
    }
    return rc;
}

/* One thread's share of a re-match batch: every `step`-th list from `first`. */
typedef struct {
    engine_t *engine;
    unsigned lane; /* its search lane, and its place among the shares */
    unsigned step;
    const char *today;
    s_pending_t **lists;
    const match_entity_t **records; /* looked up by the engine's thread: NULL = inactive */
    size_t count;
} s_share_t;

static void *s_share_run(void *arg)
{
    s_share_t *share = arg;
    engine_t *self = share->engine;
    match_ranked_t *scratch = calloc(s_depth(self) + 1, sizeof *scratch);
    for (size_t i = share->lane; i < share->count; i += share->step) {
        s_work_t *w = &share->lists[i]->work;
        w->complete = true;
        if (share->records[i])
            s_work_ranked(self, share->lane, share->records[i], share->today, w, scratch);
    }
    free(scratch);
    return NULL;
}

/* How many threads a re-match scores on: LODESTONE_MATCHING_THREADS, else one per
 * online CPU; at most one per search lane. */
static unsigned s_threads(const engine_t *self)
{
    long n = self->config->matching_threads;
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MATCH_SEARCH_LANES ? MATCH_SEARCH_LANES : (unsigned)n;
}

/* Ranks the lists of a batch on the re-match threads; the engine's thread takes a
 * share too and waits for the others (the index is only read meanwhile). */
static void s_rank_shared(engine_t *self, s_pending_t **lists, const match_entity_t **records,
                          size_t count, const char *today)
{
    unsigned threads = s_threads(self);
    if (threads > count)
        threads = count ? (unsigned)count : 1;
    s_share_t shares[MATCH_SEARCH_LANES];
    pthread_t workers[MATCH_SEARCH_LANES];
    bool started[MATCH_SEARCH_LANES] = {false};
    for (unsigned t = 0; t < threads; t++) {
        shares[t] = (s_share_t){self, t, threads, today, lists, records, count};
        if (t > 0)
            started[t] = pthread_create(&workers[t], NULL, s_share_run, &shares[t]) == 0;
    }
    s_share_run(&shares[0]);
    for (unsigned t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(workers[t], NULL);
        else
            s_share_run(&shares[t]); /* no thread to be had: its share here */
    }
}

/* Plans and writes one batch of lists, from ids[*next] on; advances *next. */
static int s_rematch_batch(engine_t *self, uint64_t seq, redisReply *ids, size_t *next,
                           const char *today, size_t *done)
{
    s_pending_t *lists[S_REMATCH_BATCH];
    const match_entity_t *records[S_REMATCH_BATCH];
    size_t count = 0;
    for (; *next < ids->elements && count < S_REMATCH_BATCH; (*next)++) {
        const char *id = ids->element[*next]->str;
        if (!engine_owns(self, id))
            continue;
        lists[count] = calloc(1, sizeof *lists[count]);
        lists[count]->subject = strdup(id);
        records[count] = match_index_lookup(self->index, id);
        count++;
    }
    s_rank_shared(self, lists, records, count, today);
    s_plan_t plan;
    s_plan_init(&plan);
    zlistx_t *pending = zlistx_new();
    zlistx_set_destructor(pending, s_pending_destroy);
    for (size_t i = 0; i < count; i++) {
        s_diff(self, lists[i]->subject, &lists[i]->work, "", seq, today, &plan);
        zlistx_add_end(pending, lists[i]);
    }
    int rc = s_execute(self, seq, *next >= ids->elements, &plan);
    if (rc == 0)
        s_commit(self, pending);
    *done += count;
    zlistx_destroy(&pending);
    s_plan_free(&plan);
    return rc;
}

/* Recomputes every list this instance owns, in batches: each batch's writes and
 * events are one atomic step, and the last one records the journal entry as done.
 * Events come from the difference with the stored lists, so a re-match that is
 * interrupted and run again neither repeats nor loses one. */
static int s_rematch(engine_t *self, uint64_t seq, bool refresh)
{
    int64_t started = ls_mono_ms();
    /* A new snapshot, taken by every instance at this same point of the journal. */
    if (refresh) {
        match_index_refresh_idf(self->index);
        if (s_idf_store(self))
            return -1;
        LS_INFO("re-match: new IDF snapshot %016llx",
                (unsigned long long)match_index_idf_fingerprint(self->index));
    }
    redisReply *ids = ls_store_command(self->store, "ZRANGE " LS_KEY_INDEX "all:entities 0 -1");
    if (!ids || ids->type != REDIS_REPLY_ARRAY) {
        if (ids)
            freeReplyObject(ids);
        return -1;
    }
    char today[16];
    ls_today(today, sizeof today);
    size_t owned = 0, done = 0, next = 0;
    uint64_t events_before = self->events;
    for (size_t i = 0; i < ids->elements; i++)
        owned += engine_owns(self, ids->element[i]->str);
    LS_INFO("re-match (journal entry %llu): %zu lists to recompute", (unsigned long long)seq,
            owned);
    int rc = 0;
    do {
        rc = s_rematch_batch(self, seq, ids, &next, today, &done);
        if (rc == 0 && (next >= ids->elements || done % (S_REMATCH_BATCH * 20) == 0))
            LS_INFO("re-match: %zu of %zu lists, %llu events", done, owned,
                    (unsigned long long)(self->events - events_before));
    } while (rc == 0 && next < ids->elements);
    freeReplyObject(ids);
    if (rc == 0) {
        s_store_fingerprint(self);
        LS_INFO("re-match done in %lld ms", (long long)(ls_mono_ms() - started));
    }
    return rc;
}

/* Appends a REMATCH entry to the change journal; every instance runs it there. */
int engine_request_rematch(engine_t *self, bool refresh, uint64_t *seq)
{
    ls_change_event_pb event = LODESTONE__V1__CHANGE_EVENT__INIT;
    event.op = LODESTONE__V1__CHANGE_EVENT__OP__REMATCH;
    event.refresh_model = refresh;
    event.at = ls_now_ms();
    size_t len = 0;
    uint8_t *packed = ls_codec_pack_buffer(&event.base, &len);
    const char *argv[] = {LS_JOURNAL_CHANGES.stream, LS_JOURNAL_CHANGES.seq_key,
                          (const char *)packed};
    size_t lens[] = {strlen(argv[0]), strlen(argv[1]), len};
    redisReply *r = ls_store_eval(self->store, &s_request_script, 2, 3, argv, lens);
    int rc = r && r->type == REDIS_REPLY_INTEGER ? 0 : -1;
    if (rc == 0)
        *seq = (uint64_t)r->integer;
    if (r)
        freeReplyObject(r);
    free(packed);
    return rc;
}

/* At start, instance 0 asks for a re-match when the model differs from the one the
 * stored lists were made with; with no lists yet it just records the model. */
static void s_check_model(engine_t *self)
{
    if (self->config->matching_partition != 0)
        return;
    char fingerprint[128];
    s_fingerprint(self, fingerprint, sizeof fingerprint);
    redisReply *r = ls_store_command(self->store, "GET " LS_KEY_MODEL "%s", s_consumer(self));
    bool same = r && r->type == REDIS_REPLY_STRING && strcmp(r->str, fingerprint) == 0;
    if (r)
        freeReplyObject(r);
    uint64_t seq = 0;
    if (same)
        return;
    if (match_lists_count(self->lists) == 0)
        s_store_fingerprint(self);
    else if (engine_request_rematch(self, false, &seq) == 0)
        LS_INFO("the model changed (%s): re-match requested as journal entry %llu", fingerprint,
                (unsigned long long)seq);
}

/* Records seq as applied with nothing to write: an empty plan, fenced like any. */
static int s_skip(engine_t *self, uint64_t seq)
{
    s_plan_t plan;
    s_plan_init(&plan);
    int rc = s_execute(self, seq, true, &plan);
    s_plan_free(&plan);
    return rc;
}

int engine_apply(engine_t *self, uint64_t seq, const uint8_t *payload, size_t len)
{
    int64_t started = zclock_usecs();
    const char *reason = NULL;
    ls_change_event_pb *change = (ls_change_event_pb *)ls_codec_unpack(
        &lodestone__v1__change_event__descriptor, payload, len,
        (size_t)self->config->max_message_bytes, &reason);
    if (change && change->op == LODESTONE__V1__CHANGE_EVENT__OP__REMATCH) {
        int rc = s_rematch(self, seq, change->refresh_model);
        lodestone__v1__change_event__free_unpacked(change, NULL);
        return rc;
    }
    if (!change || !*change->entity_id) {
        LS_ERROR("change journal entry %llu is unusable (%s); skipped", (unsigned long long)seq,
                 change ? "no entity id" : reason);
        if (change)
            lodestone__v1__change_event__free_unpacked(change, NULL);
        return s_skip(self, seq); /* the checkpoint, behind the fence */
    }
    s_index_change(self, change);
    char today[16];
    ls_today(today, sizeof today);
    size_t n = 0;
    const char *x = change->entity_id;
    s_touched_t touched;
    s_work_t own = {0};
    s_touched(self, x, today, &touched, &own);
    /* The lists that change, then sorted by subject so that events come in a fixed
     * order: x's own (recomputed), and the counterparts' that x enters or leaves. */
    s_pending_t **changed = calloc(touched.count + 1, sizeof *changed);
    if (engine_owns(self, x) && (touched.x || match_lists_get(self->lists, x, &n))) {
        s_pending_t *p = calloc(1, sizeof *p);
        p->subject = strdup(x);
        p->work = own;
        own = (s_work_t){0};
        changed[0] = p;
        n = 1;
    } else
        n = 0;
    for (size_t i = 0; i < touched.count; i++) {
        s_pending_t *p = calloc(1, sizeof *p);
        p->subject = touched.items[i].subject;
        touched.items[i].subject = NULL;
        if (strcmp(p->subject, x) != 0 &&
            s_plan_list(self, p->subject, x, touched.items[i].score, today, &p->work))
            changed[n++] = p;
        else
            s_pending_destroy((void **)&p);
    }
    qsort(changed, n, sizeof *changed, s_pending_order);
    s_plan_t plan;
    s_plan_init(&plan);
    zlistx_t *pending = zlistx_new();
    zlistx_set_destructor(pending, s_pending_destroy);
    for (size_t i = 0; i < n; i++) {
        s_diff(self, changed[i]->subject, &changed[i]->work, x, seq, today, &plan);
        zlistx_add_end(pending, changed[i]);
    }
    free(changed);
    s_work_free(&own);
    s_touched_free(&touched);
    int64_t planned = zclock_usecs();
    int rc = s_execute(self, seq, true, &plan);
    if (rc == 0)
        s_commit(self, pending);
    zlistx_destroy(&pending);
    s_plan_free(&plan);
    lodestone__v1__change_event__free_unpacked(change, NULL);
    s_record_latency(self, started, planned);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Start-up: the index is rebuilt from the stored entities, and the lists this
 * instance owns are read back into memory. */

/* Reads the stored lists of ids (pipelined) into memory. */
static int s_load_lists(engine_t *self, char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char key[128];
        snprintf(key, sizeof key, LS_KEY_MATCHES "%s", ids[i]);
        const char *argv[] = {"HGETALL", key};
        if (ls_store_append(self->store, 2, argv, NULL))
            return -1;
    }
    s_work_t w = {0};
    for (size_t i = 0; i < n; i++) {
        redisReply *reply = ls_store_reply(self->store);
        if (!reply)
            return -1;
        for (size_t k = 1; reply->type == REDIS_REPLY_ARRAY && k < reply->elements; k += 2) {
            ls_match_pb *m = lodestone__v1__match__unpack(NULL, reply->element[k]->len,
                                                          (const uint8_t *)reply->element[k]->str);
            if (!m)
                continue;
            s_work_insert(&w, SIZE_MAX, m->candidate_id, m->score);
            lodestone__v1__match__free_unpacked(m, NULL);
        }
        freeReplyObject(reply);
        match_entry_t entries[w.count + 1];
        for (size_t k = 0; k < w.count; k++)
            entries[k] = (match_entry_t){w.items[k].candidate, w.items[k].score};
        /* Redis holds the shown part: no reserve after a restart, and a list shorter
         * than top-K held every candidate. */
        match_lists_set(self->lists, ids[i], entries, w.count, w.count < self->model.top_k);
        s_work_free(&w);
    }
    return 0;
}

#define S_LOAD_BATCH 512 /* entities or lists read per pipelined round trip */

/* Reads the entities ids[0..n) with one pipelined round trip and indexes them.
 * Returns how many were read, or -1 on a store failure. */
static long s_index_batch(engine_t *self, redisReply **ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char key[160];
        snprintf(key, sizeof key, LS_KEY_ENTITY "%s", ids[i]->str);
        const char *argv[] = {"HMGET", key, LS_ENTITY_FIELDS};
        if (ls_store_append(self->store, 9, argv, NULL))
            return -1;
    }
    long loaded = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *reply = ls_store_reply(self->store);
        if (!reply)
            return -1;
        ls_entity_pb *entity = NULL;
        if (ls_entity_from_fields(ids[i]->str, reply, &entity) == 0) {
            match_index_upsert(self->index, entity);
            lodestone__v1__entity__free_unpacked(entity, NULL);
            loaded++;
        }
        freeReplyObject(reply);
    }
    return loaded;
}

/* Indexes every stored entity of one kind and reads back the lists this instance
 * owns, in pipelined batches. Returns the entities read, or -1. */
static long s_rebuild_kind(engine_t *self, const char *kind)
{
    redisReply *ids = ls_store_command(self->store, "ZRANGE " LS_KEY_INDEX "kind:%s 0 -1", kind);
    if (!ids || ids->type != REDIS_REPLY_ARRAY) {
        if (ids)
            freeReplyObject(ids);
        return -1;
    }
    long loaded = 0;
    char **owned = calloc(S_LOAD_BATCH, sizeof *owned);
    for (size_t at = 0; loaded >= 0 && at < ids->elements; at += S_LOAD_BATCH) {
        size_t n = ids->elements - at < S_LOAD_BATCH ? ids->elements - at : S_LOAD_BATCH;
        long read = s_index_batch(self, ids->element + at, n);
        size_t n_owned = 0;
        for (size_t i = 0; i < n; i++)
            if (engine_owns(self, ids->element[at + i]->str))
                owned[n_owned++] = ids->element[at + i]->str;
        loaded = read < 0 || s_load_lists(self, owned, n_owned) ? -1 : loaded + read;
        if (loaded > 0 && (at / S_LOAD_BATCH) % 20 == 19)
            LS_INFO("index rebuild: %ld %s entities read", loaded, kind);
    }
    free(owned);
    freeReplyObject(ids);
    return loaded;
}

static int s_rebuild(engine_t *self)
{
    const char *kinds[] = {"sme", "investor", "opportunity"};
    int64_t started = ls_mono_ms();
    long loaded = 0;
    for (int k = 0; k < 3; k++) {
        long read = s_rebuild_kind(self, kinds[k]);
        if (read < 0)
            return -1;
        loaded += read;
    }
    LS_INFO("index rebuilt: %ld entities read, %zu active, %zu lists owned (%zu matches), in "
            "%lld ms",
            loaded, match_index_size(self->index), match_lists_count(self->lists),
            match_lists_entries(self->lists), (long long)(ls_mono_ms() - started));
    return 0;
}

typedef struct {
    size_t max_bytes;
    uint64_t last; /* the last entry read */
    bool rematch;  /* a REMATCH entry lies in the range */
} s_scan_t;

static int s_scan_entry(uint64_t seq, const uint8_t *payload, size_t len, void *arg)
{
    s_scan_t *scan = arg;
    scan->last = seq;
    const char *reason = NULL; /* an unusable entry is skipped when applied, too */
    ls_change_event_pb *change = (ls_change_event_pb *)ls_codec_unpack(
        &lodestone__v1__change_event__descriptor, payload, len, scan->max_bytes, &reason);
    scan->rematch = change && change->op == LODESTONE__V1__CHANGE_EVENT__OP__REMATCH;
    if (change)
        lodestone__v1__change_event__free_unpacked(change, NULL);
    return scan->rematch ? 1 : 0;
}

/* True when the change journal holds a REMATCH entry in (from, to]: skipping it
 * would skip an IDF snapshot that the other instances take there. -1 on a failure. */
static int s_rematch_between(engine_t *self, uint64_t from, uint64_t to)
{
    s_scan_t scan = {(size_t)self->config->max_message_bytes, from, false};
    while (scan.last < to && !scan.rematch) {
        long read = ls_journal_read(self->store, &LS_JOURNAL_CHANGES, scan.last + 1, to, 1000,
                                    s_scan_entry, &scan);
        if (read < 0)
            return -1;
        if (read == 0)
            break;
    }
    return scan.rematch ? 1 : 0;
}

/* The first entry the change journal still holds (trimming removes the oldest);
 * 0 when it is empty. -1 on a failure. */
static int s_journal_first(engine_t *self, uint64_t *first)
{
    *first = 0;
    redisReply *r =
        ls_store_command(self->store, "XRANGE %s - + COUNT 1", LS_JOURNAL_CHANGES.stream);
    int rc = r && r->type == REDIS_REPLY_ARRAY ? 0 : -1;
    if (rc == 0 && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements >= 1)
        *first = strtoull(r->element[0]->element[0]->str, NULL, 10);
    if (r)
        freeReplyObject(r);
    return rc;
}

/* An instance more than LODESTONE_MATCHING_REPLAY_MAX entries behind (its first start
 * over data loaded while no matching ran, or a long stop) re-matches every list it
 * owns as of `latest`, the journal's end read before the index was rebuilt, instead
 * of replaying each change: the same lists, and the events are the net differences
 * with the stored lists. Entries after `latest` are then applied as usual (an entity
 * the rebuild already read at a newer version is not set back). Not across a REMATCH
 * entry, which the other instances apply where it stands. */
static int s_fast_forward(engine_t *self, uint64_t latest)
{
    uint64_t checkpoint = 0, first = 0;
    if (ls_store_get_u64(self->store, self->checkpoint, &checkpoint) ||
        s_journal_first(self, &first))
        return -1;
    if (latest > checkpoint && (first == 0 || first > checkpoint + 1)) {
        /* The entries after this instance's checkpoint were trimmed (a new instance
         * over a journal trimmed while it did not exist): replaying is impossible. */
        LS_INFO("the change journal begins at entry %llu, after this instance's checkpoint "
                "%llu: re-matching every list as of entry %llu",
                (unsigned long long)first, (unsigned long long)checkpoint,
                (unsigned long long)latest);
        return s_rematch(self, latest, false);
    }
    if (latest <= checkpoint || latest - checkpoint <= (uint64_t)self->config->matching_replay_max)
        return 0;
    int between = s_rematch_between(self, checkpoint, latest);
    if (between != 0)
        return between < 0 ? -1 : 0;
    LS_INFO("%llu change-journal entries behind (more than LODESTONE_MATCHING_REPLAY_MAX, "
            "%ld): re-matching every list as of entry %llu instead of replaying them",
            (unsigned long long)(latest - checkpoint), self->config->matching_replay_max,
            (unsigned long long)latest);
    return s_rematch(self, latest, false);
}

int engine_start(engine_t *self)
{
    uint64_t latest = 0;
    if (ls_journal_latest(self->store, &LS_JOURNAL_CHANGES, &latest) || s_rebuild(self) ||
        s_idf_start(self) || s_fast_forward(self, latest))
        return -1;
    s_check_model(self);
    return 0;
}

int engine_init(engine_t *self, const ls_config_t *config, ls_store_t *store,
                const ls_taxonomy_t *taxonomy, zsock_t *push, char *err, size_t errlen)
{
    memset(self, 0, sizeof *self);
    self->config = config;
    self->store = store;
    self->push = push;
    self->model = match_config_default();
    if (match_config_from_env(&self->model, err, errlen))
        return -1;
    self->model.threshold = config->threshold;
    self->model.top_k = (size_t)config->top_k;
    self->index = match_index_new(taxonomy);
    self->lists = match_lists_new(self->model.top_k);
    return 0;
}

void engine_bind(engine_t *self, const char *lease_key, const char *token)
{
    snprintf(self->checkpoint, sizeof self->checkpoint, LS_KEY_CHECKPOINT "matching:%ld-of-%ld",
             self->config->matching_partition, self->config->matching_partitions);
    self->lease_key = lease_key;
    self->token = token;
}

void engine_destroy(engine_t *self)
{
    match_index_destroy(&self->index);
    match_lists_destroy(&self->lists);
}
