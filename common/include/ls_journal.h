/* ls_journal.h — the journals: Redis streams with contiguous sequence numbers.
 *
 * A producer appends in the same Lua step as its state change (its script
 * starts with LS_JOURNAL_LUA and calls journal_append), so an entry exists if and
 * only if the change does. Entry n has stream id "n-0" and one field "d" with the
 * payload. Live copies travel over ZeroMQ as [journal][seq: 8 bytes big-endian]
 * [payload]; a heartbeat is [journal][latest seq] with no payload frame. */
#ifndef LS_JOURNAL_H
#define LS_JOURNAL_H

#include <czmq.h>
#include <stdint.h>

#include "ls_store.h"

typedef struct {
    const char *name;    /* "changes", "matches": also the wire topic */
    const char *stream;  /* Redis stream key */
    const char *seq_key; /* Redis counter key */
    const char *readers; /* Redis set of its readers' checkpoint keys (trimming) */
} ls_journal_t;

extern const ls_journal_t LS_JOURNAL_CHANGES;
extern const ls_journal_t LS_JOURNAL_MATCHES;
extern const ls_journal_t LS_JOURNAL_INTEREST; /* expression-of-interest changes: an audit
                                                  trail with no follower yet */

/* Lua source defining
 *   local function journal_append (stream_key, seq_key, payload) -> seq
 * A string literal: write LS_SCRIPT (LS_JOURNAL_LUA "...body...").
 * INCR and XADD in the caller's script: the sequence is contiguous because a
 * script runs atomically, and entry n is stored under the stream id "n-0".
 * journal_append(stream, counter, payload) appends one entry and returns its
 * number; a script appending many takes their numbers at once with
 * journal_reserve(counter, n) (returns the number before the first) and writes
 * each with journal_append_at(stream, seq, payload). */
#define LS_JOURNAL_LUA                                                                             \
    "local function journal_append_at(stream_key, seq, payload)\n"                                 \
    "  redis.call('XADD', stream_key, string.format('%d-0', seq), 'd', payload)\n"                 \
    "end\n"                                                                                        \
    "local function journal_reserve(seq_key, n)\n"                                                 \
    "  return redis.call('INCRBY', seq_key, n) - n\n"                                              \
    "end\n"                                                                                        \
    "local function journal_append(stream_key, seq_key, payload)\n"                                \
    "  local seq = journal_reserve(seq_key, 1) + 1\n"                                              \
    "  journal_append_at(stream_key, seq, payload)\n"                                              \
    "  return seq\n"                                                                               \
    "end\n"

/* Called for each entry read; return 0 to go on, 1 to stop after this entry, -1 to
 * stop with a failure. */
typedef int(ls_journal_entry_fn)(uint64_t seq, const uint8_t *payload, size_t len, void *arg);

/* Reads up to count entries with from <= seq <= to (to = 0: no upper bound) in
 * order and calls fn for each. Returns the number read (fn's early stop included),
 * or -1 on a store failure or when fn failed. */
long ls_journal_read(ls_store_t *store, const ls_journal_t *journal, uint64_t from, uint64_t to,
                     size_t count, ls_journal_entry_fn *fn, void *arg);

/* The latest sequence number assigned (0 when none). Returns -1 on failure. */
int ls_journal_latest(ls_store_t *store, const ls_journal_t *journal, uint64_t *latest);

/* Removes the entries at or below (the slowest reader's checkpoint - keep_below),
 * the readers being the checkpoint keys in ls:journal-readers:<name> (a reader
 * without a checkpoint yet counts as 0: nothing goes). A journal with no readers
 * keeps its last keep_below entries. Never removes an entry a registered reader
 * has not processed. Returns how many went, or -1 on a failure (logged). */
long ls_journal_trim(ls_store_t *store, const ls_journal_t *journal, uint64_t keep_below);

/* Live publishing on a PUB or PUSH socket. */
int ls_journal_send(zsock_t *sock, const ls_journal_t *journal, uint64_t seq, const void *payload,
                    size_t len);
int ls_journal_send_heartbeat(zsock_t *sock, const ls_journal_t *journal, uint64_t latest);

/* Parses a live message. Returns 0 for an entry (*payload points into msg, *len
 * set), 1 for a heartbeat (*seq = latest), -1 when malformed or of another journal. */
int ls_journal_parse(zmsg_t *msg, const ls_journal_t *journal, uint64_t *seq,
                     const uint8_t **payload, size_t *len);

#endif
