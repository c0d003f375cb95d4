/* lists.c — in-memory match lists and their reverse index. */
#include "lists.h"
#include "index.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

/* The subject is held inline, so that checking a slot's key reads the list's
 * first cache line only (with count and complete next to it). */
typedef struct {
    match_entry_t *items;
    double last_score; /* items[count - 1].score */
    uint32_t count;
    bool complete;
    char subject[];
} s_list_t;

/* A slot of the lists table: open addressing with linear probing on the subject's
 * id hash (match_id_hash, which the index already holds for every entity), so a
 * lookup from an entity costs no string hashing; list NULL = empty. */
typedef struct {
    uint64_t hash;
    s_list_t *list;
} s_slot_t;

struct _match_lists_t {
    size_t top_k;
    s_slot_t *slots; /* capacity is a power of two */
    size_t capacity;
    size_t size;       /* lists held */
    zhashx_t *holders; /* candidate -> zhashx set of subjects */
    size_t entries;
};

static void s_list_free(s_list_t **list_p)
{
    if (!*list_p)
        return;
    for (size_t i = 0; i < (*list_p)->count; i++)
        free((*list_p)->items[i].candidate);
    free((*list_p)->items);
    free(*list_p);
    *list_p = NULL;
}

static void s_set_destructor(void **item)
{
    zhashx_destroy((zhashx_t **)item);
}

match_lists_t *match_lists_new(size_t top_k)
{
    match_lists_t *self = calloc(1, sizeof *self);
    self->top_k = top_k;
    self->capacity = 1024;
    self->slots = calloc(self->capacity, sizeof *self->slots);
    self->holders = zhashx_new();
    zhashx_set_destructor(self->holders, s_set_destructor);
    return self;
}

void match_lists_destroy(match_lists_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    match_lists_t *self = *self_p;
    for (size_t i = 0; i < self->capacity; i++)
        s_list_free(&self->slots[i].list);
    free(self->slots);
    zhashx_destroy(&self->holders);
    free(self);
    *self_p = NULL;
}

/* The slot of subject's list, or the empty slot where it would go. */
static size_t s_slot(const match_lists_t *self, const char *subject, uint64_t hash)
{
    size_t mask = self->capacity - 1;
    size_t i = (size_t)hash & mask;
    while (self->slots[i].list &&
           (self->slots[i].hash != hash || strcmp(self->slots[i].list->subject, subject) != 0))
        i = (i + 1) & mask;
    return i;
}

static s_list_t *s_find(const match_lists_t *self, const char *subject, uint64_t hash)
{
    return self->slots[s_slot(self, subject, hash)].list;
}

static void s_grow(match_lists_t *self)
{
    s_slot_t *old = self->slots;
    size_t old_capacity = self->capacity;
    self->capacity *= 2;
    self->slots = calloc(self->capacity, sizeof *self->slots);
    for (size_t i = 0; i < old_capacity; i++) {
        if (!old[i].list)
            continue;
        size_t at = (size_t)old[i].hash & (self->capacity - 1);
        while (self->slots[at].list)
            at = (at + 1) & (self->capacity - 1);
        self->slots[at] = old[i];
    }
    free(old);
}

/* Empties slot i, moving later entries of its probe run back so that every entry
 * stays reachable from its home slot (no tombstones). */
static void s_vacate(match_lists_t *self, size_t i)
{
    size_t mask = self->capacity - 1;
    self->slots[i].list = NULL;
    for (size_t j = (i + 1) & mask; self->slots[j].list; j = (j + 1) & mask) {
        size_t home = (size_t)self->slots[j].hash & mask;
        /* j may move to i when its home is not in the cyclic range (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        self->slots[i] = self->slots[j];
        self->slots[j].list = NULL;
        i = j;
    }
}

const match_entry_t *match_lists_find(const match_lists_t *self, const char *subject, uint64_t hash,
                                      size_t *count, bool *complete)
{
    s_list_t *list = s_find(self, subject, hash);
    *count = list ? list->count : 0;
    *complete = !list || list->complete;
    return list ? list->items : NULL;
}

bool match_lists_admits(const match_lists_t *self, const char *subject, uint64_t hash, double score,
                        const char *candidate)
{
    s_list_t *list = s_find(self, subject, hash);
    if (!list || list->complete)
        return true;
    if (score != list->last_score) /* the common case reads no entry */
        return score > list->last_score;
    return match_entry_before(score, candidate, list->last_score,
                              list->items[list->count - 1].candidate);
}

const match_entry_t *match_lists_get(const match_lists_t *self, const char *subject, size_t *count)
{
    bool complete;
    return match_lists_find(self, subject, match_id_hash(subject), count, &complete);
}

const match_entry_t *match_lists_get_ex(const match_lists_t *self, const char *subject,
                                        size_t *count, bool *complete)
{
    return match_lists_find(self, subject, match_id_hash(subject), count, complete);
}

bool match_lists_complete(const match_lists_t *self, const char *subject)
{
    s_list_t *list = s_find(self, subject, match_id_hash(subject));
    return !list || list->complete;
}

static void s_unhold(match_lists_t *self, const char *candidate, const char *subject)
{
    zhashx_t *set = zhashx_lookup(self->holders, candidate);
    if (!set)
        return;
    zhashx_delete(set, subject);
    if (zhashx_size(set) == 0)
        zhashx_delete(self->holders, candidate);
}

static void s_hold(match_lists_t *self, const char *candidate, const char *subject)
{
    zhashx_t *set = zhashx_lookup(self->holders, candidate);
    if (!set) {
        set = zhashx_new();
        zhashx_insert(self->holders, candidate, set);
    }
    zhashx_insert(set, subject, (void *)1);
}

static bool s_holds(const match_entry_t *entries, size_t count, const char *candidate)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(entries[i].candidate, candidate) == 0)
            return true;
    return false;
}

void match_lists_set(match_lists_t *self, const char *subject, const match_entry_t *entries,
                     size_t count, bool complete)
{
    uint64_t hash = match_id_hash(subject);
    size_t at = s_slot(self, subject, hash);
    s_list_t *old = self->slots[at].list;
    if (old && count == old->count) { /* the same candidates in the same order: the
                                         common case of a re-match; only scores move */
        size_t same = 0;
        while (same < count && strcmp(old->items[same].candidate, entries[same].candidate) == 0)
            same++;
        if (same == count) {
            for (size_t i = 0; i < count; i++)
                old->items[i].score = entries[i].score;
            old->complete = complete;
            old->last_score = entries[count - 1].score;
            return;
        }
    }
    /* The reverse index changes only for the candidates that come or go: a list
     * usually moves by an entry or two. */
    for (size_t i = 0; old && i < old->count; i++)
        if (!s_holds(entries, count, old->items[i].candidate))
            s_unhold(self, old->items[i].candidate, subject);
    for (size_t i = 0; i < count; i++)
        if (!old || !s_holds(old->items, old->count, entries[i].candidate))
            s_hold(self, entries[i].candidate, subject);
    if (old) {
        self->entries -= old->count;
        for (size_t i = 0; i < old->count; i++)
            free(old->items[i].candidate);
        free(old->items);
        old->items = NULL;
        old->count = 0;
    }
    if (count == 0) {
        if (old) {
            s_list_free(&self->slots[at].list);
            s_vacate(self, at);
            self->size--;
        }
        return;
    }
    s_list_t *list = old;
    if (!list) {
        size_t len = strlen(subject);
        list = calloc(1, sizeof *list + len + 1);
        memcpy(list->subject, subject, len + 1);
        self->slots[at] = (s_slot_t){hash, list};
        self->size++;
    }
    list->items = calloc(count, sizeof *list->items);
    list->count = (uint32_t)count;
    list->complete = complete;
    list->last_score = entries[count - 1].score;
    for (size_t i = 0; i < count; i++) {
        list->items[i].candidate = strdup(entries[i].candidate);
        list->items[i].score = entries[i].score;
    }
    self->entries += count;
    if (self->size * 10 > self->capacity * 7)
        s_grow(self);
}

bool match_lists_has(const match_lists_t *self, const char *subject, const char *candidate)
{
    s_list_t *list = s_find(self, subject, match_id_hash(subject));
    for (size_t i = 0; list && i < list->count && i < self->top_k; i++)
        if (strcmp(list->items[i].candidate, candidate) == 0)
            return true;
    return false;
}

void match_lists_holders(const match_lists_t *self, const char *candidate,
                         void (*visit)(const char *subject, void *arg), void *arg)
{
    zhashx_t *set = zhashx_lookup(self->holders, candidate);
    for (void *it = set ? zhashx_first(set) : NULL; it; it = zhashx_next(set))
        visit(zhashx_cursor(set), arg);
}

size_t match_lists_count(const match_lists_t *self)
{
    return self->size;
}

size_t match_lists_entries(const match_lists_t *self)
{
    return self->entries;
}

bool match_entry_before(double score_a, const char *id_a, double score_b, const char *id_b)
{
    if (score_a != score_b)
        return score_a > score_b;
    return strcmp(id_a, id_b) < 0;
}
