/* ls_follower.h — the one journal follower (the Clone pattern). Subscribe first,
 * then start(): it reads the checkpoint and catches up from the stream; then feed
 * it each live message and heartbeat. It drops duplicates, fills gaps from the
 * stream and applies entries strictly in sequence order.
 *
 * The apply function must make its change and record the entry's sequence number
 * as the checkpoint in one atomic Redis step (a Lua script that SETs
 * ls_follower_checkpoint_key), or call ls_follower_commit when it has no state of
 * its own. Then a kill at any moment neither loses nor repeats an entry. */
#ifndef LS_FOLLOWER_H
#define LS_FOLLOWER_H

#include <czmq.h>
#include <stdint.h>

#include "ls_journal.h"
#include "ls_store.h"

typedef struct _ls_follower_t ls_follower_t;

/* Returns 0 when applied (and checkpointed), -1 on a transient failure: the entry
 * is retried on the next tick. */
typedef int(ls_follower_apply_fn)(ls_follower_t *follower, uint64_t seq, const uint8_t *payload,
                                  size_t len, void *arg);

/* One entry handed to a batch apply function; payload is valid during the call. */
typedef struct {
    uint64_t seq;
    const uint8_t *payload;
    size_t len;
} ls_follower_entry_t;

/* Applies entries[0..count), consecutive and in order, and records the last one's
 * number as the checkpoint, all in one atomic step (entries at or below the stored
 * checkpoint must be skipped by that step: a restart may hand them over again).
 * Returns 0, or -1 on a transient failure: the whole batch is retried. */
typedef int(ls_follower_apply_batch_fn)(ls_follower_t *follower, const ls_follower_entry_t *entries,
                                        size_t count, void *arg);

/* checkpoint_key is copied. The store is borrowed and must outlive the follower.
 * apply may be NULL for a follower put in batch mode before it starts. */
ls_follower_t *ls_follower_new(ls_store_t *store, const ls_journal_t *journal,
                               const char *checkpoint_key, ls_follower_apply_fn *apply, void *arg);
void ls_follower_destroy(ls_follower_t **self_p);

/* Batch mode: entries are applied through apply_batch, up to max at a time, instead
 * of one by one through the apply function. Live entries in sequence are held until
 * ls_follower_flush (or until max are held); the stream catch-up applies each read
 * as one batch. For consumers whose per-entry cost is the Redis round trip. */
void ls_follower_set_batch(ls_follower_t *self, ls_follower_apply_batch_fn *apply_batch,
                           size_t max);
/* Applies the live entries held in batch mode. Returns 0, or -1 when the apply
 * failed (they are held and retried on the next flush or tick). */
int ls_follower_flush(ls_follower_t *self);

/* Trimming: the follower registers its checkpoint key as a reader of the journal
 * (ls:journal-readers:<journal>) when it starts, and every 10 s of ticks removes
 * the entries more than keep_below below the slowest registered reader's
 * checkpoint — never an entry a reader has not processed (XADD MAXLEN would).
 * A reader retired for good must be removed from that set, or trimming stops at
 * its checkpoint (docs/notification.md). */
void ls_follower_set_trim(ls_follower_t *self, uint64_t keep_below);
/* Trims now; returns the entries removed, or -1 on a store failure. */
long ls_follower_trim(ls_follower_t *self);

/* Reads the checkpoint and starts catching up (ls_follower_tick goes on). */
int ls_follower_start(ls_follower_t *self);
/* Feeds one live message (as received from SUB or PULL); msg stays the caller's. */
int ls_follower_on_message(ls_follower_t *self, zmsg_t *msg);
/* Feeds a live entry or a heartbeat directly. */
int ls_follower_on_entry(ls_follower_t *self, uint64_t seq, const uint8_t *payload, size_t len);
int ls_follower_on_heartbeat(ls_follower_t *self, uint64_t latest);
/* Catches up with the latest number known, for at most 50 ms of work; call it
 * periodically (it retries failures and notices a lost last message even without a
 * heartbeat) and again at once while it returns 1 (still behind). Returns 0 when
 * caught up, -1 on a failure. */
int ls_follower_tick(ls_follower_t *self);

/* Sets the checkpoint to seq (for consumers with no state of their own). */
int ls_follower_commit(ls_follower_t *self, uint64_t seq);

const char *ls_follower_checkpoint_key(const ls_follower_t *self);
uint64_t ls_follower_position(const ls_follower_t *self);
uint64_t ls_follower_known_latest(const ls_follower_t *self);
uint64_t ls_follower_gaps_filled(const ls_follower_t *self);
uint64_t ls_follower_duplicates(const ls_follower_t *self);

#endif
