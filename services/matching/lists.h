/* lists.h — the match lists of the entities a matching instance owns, held in
 * memory (the top-K copy in Redis is what queries read and what a restart loads),
 * with the reverse index "which lists hold this candidate" that incremental updates
 * need. An entry is (candidate id, score); lists are sorted by score descending,
 * then candidate id ascending, so equal data gives equal lists.
 *
 * A list in memory may be deeper than top-K: the entries after the first top_k are
 * a reserve, the exact next best candidates, so that when a match leaves the top-K
 * the next one moves up without re-scoring every candidate. A list is always the
 * exact best `count` candidates scoring at least the threshold; it is `complete`
 * when it holds every such candidate. Not thread-safe. */
#ifndef MATCHING_LISTS_H
#define MATCHING_LISTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *candidate;
    double score;
} match_entry_t;

typedef struct _match_lists_t match_lists_t;

/* top_k: how many entries of a list are shown (stored in Redis, answered by
 * match_lists_has); the rest is reserve. */
match_lists_t *match_lists_new(size_t top_k);
void match_lists_destroy(match_lists_t **self_p);

/* subject's entries, sorted, reserve included, and their count; NULL (and 0) when it
 * has none. The pointer is valid until the next match_lists_set of that subject. */
const match_entry_t *match_lists_get(const match_lists_t *self, const char *subject, size_t *count);
/* match_lists_get_ex for a subject whose match_id_hash is known (an indexed
 * entity's id_hash): no string hashing. */
const match_entry_t *match_lists_find(const match_lists_t *self, const char *subject, uint64_t hash,
                                      size_t *count, bool *complete);
/* True when candidate, scoring `score` and not in subject's list (hash: the
 * subject's match_id_hash), would enter it: the list is complete (or absent) or the
 * candidate ranks before its last entry. The threshold is the caller's to check. */
bool match_lists_admits(const match_lists_t *self, const char *subject, uint64_t hash, double score,
                        const char *candidate);
/* match_lists_get that also says, in *complete, match_lists_complete: one lookup. */
const match_entry_t *match_lists_get_ex(const match_lists_t *self, const char *subject,
                                        size_t *count, bool *complete);
/* True when subject's list holds every candidate above the threshold (also when it
 * has no list). */
bool match_lists_complete(const match_lists_t *self, const char *subject);
/* Replaces subject's list with a copy of entries (which must be sorted); count 0
 * removes it (an empty list is complete). */
void match_lists_set(match_lists_t *self, const char *subject, const match_entry_t *entries,
                     size_t count, bool complete);
/* True when candidate is among the shown (first top_k) entries of subject's list. */
bool match_lists_has(const match_lists_t *self, const char *subject, const char *candidate);
/* Calls visit for each subject whose list holds candidate, in its reserve too. */
void match_lists_holders(const match_lists_t *self, const char *candidate,
                         void (*visit)(const char *subject, void *arg), void *arg);

/* Number of non-empty lists, and of entries in them (reserve included). */
size_t match_lists_count(const match_lists_t *self);
size_t match_lists_entries(const match_lists_t *self);

/* Ranking: true when (score a, id a) comes before (score b, id b). */
bool match_entry_before(double score_a, const char *id_a, double score_b, const char *id_b);

#endif
