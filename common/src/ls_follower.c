/* ls_follower.c — the one journal follower: applies entries strictly in order,
 * drops duplicates, fills gaps from the Redis stream, resumes from its checkpoint. */
#include "ls_follower.h"

#include <stdlib.h>
#include <string.h>

#include "ls_log.h"
#include "ls_util.h"

#define S_BATCH 256
#define S_BUDGET_MS 50         /* work per call, so that the service answers between batches */
#define S_TRIM_PERIOD_MS 10000 /* how often a trimming follower trims its journal */

struct _ls_follower_t {
    ls_store_t *store;
    const ls_journal_t *journal;
    char *checkpoint_key;
    ls_follower_apply_fn *apply;
    void *arg;
    uint64_t position;     /* last entry applied */
    uint64_t known_latest; /* highest sequence number heard of */
    uint64_t gaps_filled;
    uint64_t duplicates;
    bool started;
    bool filling;     /* inside a gap fill: entries applied count as filled */
    int64_t deadline; /* of the current catch-up call, monotonic ms */
    /* Batch mode: live or read entries held, in sequence after position. */
    ls_follower_apply_batch_fn *apply_batch;
    size_t batch_max;
    ls_follower_entry_t *held; /* payloads owned */
    size_t held_count;
    /* Trimming: entries below the slowest reader's checkpoint, keep_below of them
     * kept; the readers are the checkpoint keys in ls:journal-readers:<journal>. */
    bool trim;
    uint64_t keep_below;
    int64_t next_trim; /* monotonic ms */
};

ls_follower_t *ls_follower_new(ls_store_t *store, const ls_journal_t *journal,
                               const char *checkpoint_key, ls_follower_apply_fn *apply, void *arg)
{
    ls_follower_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->checkpoint_key = strdup(checkpoint_key);
    if (!self->checkpoint_key) {
        free(self);
        return NULL;
    }
    self->store = store;
    self->journal = journal;
    self->apply = apply;
    self->arg = arg;
    return self;
}

static void s_held_clear(ls_follower_t *self)
{
    for (size_t i = 0; i < self->held_count; i++)
        free((void *)self->held[i].payload);
    self->held_count = 0;
}

void ls_follower_destroy(ls_follower_t **self_p)
{
    if (self_p && *self_p) {
        s_held_clear(*self_p);
        free((*self_p)->held);
        free((*self_p)->checkpoint_key);
        free(*self_p);
        *self_p = NULL;
    }
}

static int s_apply(ls_follower_t *self, uint64_t seq, const uint8_t *payload, size_t len)
{
    if (self->apply(self, seq, payload, len, self->arg)) {
        LS_WARN("%s journal: applying entry %llu failed; will retry", self->journal->name,
                (unsigned long long)seq);
        return -1;
    }
    self->position = seq;
    if (seq > self->known_latest)
        self->known_latest = seq;
    if (self->filling)
        self->gaps_filled++;
    return 0;
}

void ls_follower_set_batch(ls_follower_t *self, ls_follower_apply_batch_fn *apply_batch, size_t max)
{
    self->apply_batch = apply_batch;
    self->batch_max = max ? max : 1;
    free(self->held);
    self->held = calloc(self->batch_max, sizeof *self->held);
    self->held_count = 0;
}

/* The last entry accepted: applied, or held for the next batch. */
static uint64_t s_accepted(const ls_follower_t *self)
{
    return self->position + self->held_count;
}

int ls_follower_flush(ls_follower_t *self)
{
    if (self->held_count == 0)
        return 0;
    uint64_t last = self->held[self->held_count - 1].seq;
    if (self->apply_batch(self, self->held, self->held_count, self->arg)) {
        LS_WARN("%s journal: applying entries %llu..%llu failed; will retry", self->journal->name,
                (unsigned long long)self->held[0].seq, (unsigned long long)last);
        return -1;
    }
    if (self->filling)
        self->gaps_filled += self->held_count;
    self->position = last;
    if (last > self->known_latest)
        self->known_latest = last;
    s_held_clear(self);
    return 0;
}

/* Batch mode: holds a copy of the entry, applying the batch once it is full. A full
 * batch whose apply failed is retried before anything more is held; while it fails
 * the entry is refused (read from the stream later). */
static int s_hold(ls_follower_t *self, uint64_t seq, const uint8_t *payload, size_t len)
{
    if (self->held_count == self->batch_max && ls_follower_flush(self))
        return -1;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return -1;
    if (len)
        memcpy(copy, payload, len);
    self->held[self->held_count++] = (ls_follower_entry_t){seq, copy, len};
    return self->held_count == self->batch_max ? ls_follower_flush(self) : 0;
}

/* Applies the next entry in sequence, or holds it in batch mode. */
static int s_accept(ls_follower_t *self, uint64_t seq, const uint8_t *payload, size_t len)
{
    return self->apply_batch ? s_hold(self, seq, payload, len) : s_apply(self, seq, payload, len);
}

static int s_on_stream_entry(uint64_t seq, const uint8_t *payload, size_t len, void *arg)
{
    ls_follower_t *self = arg;
    uint64_t accepted = s_accepted(self);
    if (seq <= accepted)
        return 0;
    if (seq != accepted + 1 && accepted == 0)
        /* A new reader: the journal was trimmed before it existed. It starts from the
         * state in Redis (the Clone pattern), so the older entries are not needed. */
        LS_INFO("%s journal: a new reader; the journal begins at entry %llu", self->journal->name,
                (unsigned long long)seq);
    else if (seq != accepted + 1)
        /* Only trimming past an unprocessed entry can cause this: say so loudly. */
        LS_ERROR("%s journal: entries %llu..%llu are gone from the stream; skipping them",
                 self->journal->name, (unsigned long long)accepted + 1,
                 (unsigned long long)seq - 1);
    if (s_accept(self, seq, payload, len))
        return -1;
    return ls_mono_ms() >= self->deadline ? 1 : 0;
}

/* Applies stream entries after position up to `to` (0: to the end), for at most
 * S_BUDGET_MS (and at least one entry): a long backlog is worked off over several
 * calls while the service goes on answering. */
static int s_catch_up(ls_follower_t *self, uint64_t to)
{
    if (ls_follower_flush(self))
        return -1;
    self->deadline = ls_mono_ms() + S_BUDGET_MS;
    while ((to == 0 || self->position < to) && ls_mono_ms() < self->deadline) {
        long read = ls_journal_read(self->store, self->journal, self->position + 1, to, S_BATCH,
                                    s_on_stream_entry, self);
        if (read < 0 || ls_follower_flush(self))
            return -1;
        if (read == 0)
            break;
    }
    return 0;
}

void ls_follower_set_trim(ls_follower_t *self, uint64_t keep_below)
{
    self->trim = true;
    self->keep_below = keep_below;
}

long ls_follower_trim(ls_follower_t *self)
{
    return ls_journal_trim(self->store, self->journal, self->keep_below);
}

int ls_follower_start(ls_follower_t *self)
{
    if (self->trim) { /* a reader the trimming waits for, from now on */
        const char *argv[] = {"SADD", self->journal->readers, self->checkpoint_key};
        redisReply *reply = ls_store_argv(self->store, 3, argv, NULL);
        bool ok = reply && reply->type == REDIS_REPLY_INTEGER;
        if (reply)
            freeReplyObject(reply);
        if (!ok) {
            LS_ERROR("%s journal: cannot register reader %s: %s", self->journal->name,
                     self->checkpoint_key, ls_store_error(self->store));
            return -1;
        }
    }
    uint64_t checkpoint = 0;
    if (ls_store_get_u64(self->store, self->checkpoint_key, &checkpoint)) {
        LS_ERROR("%s journal: cannot read checkpoint %s: %s", self->journal->name,
                 self->checkpoint_key, ls_store_error(self->store));
        return -1;
    }
    self->position = checkpoint;
    if (checkpoint > self->known_latest)
        self->known_latest = checkpoint;
    self->started = true;
    LS_INFO("%s journal: resuming after entry %llu", self->journal->name,
            (unsigned long long)checkpoint);
    return ls_follower_tick(self) < 0 ? -1 : 0;
}

int ls_follower_on_entry(ls_follower_t *self, uint64_t seq, const uint8_t *payload, size_t len)
{
    if (seq > self->known_latest)
        self->known_latest = seq;
    if (!self->started)
        return 0; /* start() reads it from the stream */
    if (seq <= s_accepted(self)) {
        self->duplicates++;
        return 0;
    }
    if (seq == s_accepted(self) + 1)
        return s_accept(self, seq, payload, len);
    LS_DEBUG("%s journal: gap %llu..%llu, filling from the stream", self->journal->name,
             (unsigned long long)self->position + 1, (unsigned long long)seq - 1);
    self->filling = true;
    int rc = s_catch_up(self, seq - 1);
    self->filling = false;
    if (rc)
        return -1;
    /* Out of budget before the gap closed: this entry is read from the stream later. */
    return self->position == seq - 1 ? s_accept(self, seq, payload, len) : 0;
}

int ls_follower_on_heartbeat(ls_follower_t *self, uint64_t latest)
{
    if (latest > self->known_latest)
        self->known_latest = latest;
    return ls_follower_tick(self) < 0 ? -1 : 0;
}

int ls_follower_on_message(ls_follower_t *self, zmsg_t *msg)
{
    uint64_t seq = 0;
    const uint8_t *payload = NULL;
    size_t len = 0;
    int kind = ls_journal_parse(msg, self->journal, &seq, &payload, &len);
    if (kind < 0) {
        LS_WARN("%s journal: ignored a malformed live message", self->journal->name);
        return 0;
    }
    return kind == 0 ? ls_follower_on_entry(self, seq, payload, len)
                     : ls_follower_on_heartbeat(self, seq);
}

int ls_follower_tick(ls_follower_t *self)
{
    if (!self->started)
        return ls_follower_start(self);
    if (self->trim && ls_mono_ms() >= self->next_trim) {
        self->next_trim = ls_mono_ms() + S_TRIM_PERIOD_MS;
        ls_follower_trim(self); /* a failure is logged and tried again later */
    }
    uint64_t latest = 0;
    if (ls_follower_flush(self))
        return -1;
    if (ls_journal_latest(self->store, self->journal, &latest) == 0 && latest > self->known_latest)
        self->known_latest = latest;
    if (self->known_latest <= self->position)
        return 0;
    self->filling = true;
    int rc = s_catch_up(self, self->known_latest);
    self->filling = false;
    if (rc)
        return -1;
    return self->position < self->known_latest ? 1 : 0;
}

int ls_follower_commit(ls_follower_t *self, uint64_t seq)
{
    char value[32];
    snprintf(value, sizeof value, "%llu", (unsigned long long)seq);
    const char *argv[] = {"SET", self->checkpoint_key, value};
    redisReply *reply = ls_store_argv(self->store, 3, argv, NULL);
    int rc = reply && reply->type == REDIS_REPLY_STATUS ? 0 : -1;
    if (reply)
        freeReplyObject(reply);
    return rc;
}

const char *ls_follower_checkpoint_key(const ls_follower_t *self)
{
    return self->checkpoint_key;
}

uint64_t ls_follower_position(const ls_follower_t *self)
{
    return self->position;
}

uint64_t ls_follower_known_latest(const ls_follower_t *self)
{
    return self->known_latest;
}

uint64_t ls_follower_gaps_filled(const ls_follower_t *self)
{
    return self->gaps_filled;
}

uint64_t ls_follower_duplicates(const ls_follower_t *self)
{
    return self->duplicates;
}
