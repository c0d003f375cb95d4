/* lists.c — in-memory match lists and their reverse index. */
#include "lists.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    match_entry_t *items;
    size_t count;
    bool complete;
} s_list_t;

struct _match_lists_t {
    size_t top_k;
    zhashx_t *lists;   /* subject -> s_list_t */
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

static void s_list_destructor(void **item)
{
    s_list_free((s_list_t **)item);
}

static void s_set_destructor(void **item)
{
    zhashx_destroy((zhashx_t **)item);
}

match_lists_t *match_lists_new(size_t top_k)
{
    match_lists_t *self = calloc(1, sizeof *self);
    self->top_k = top_k;
    self->lists = zhashx_new();
    self->holders = zhashx_new();
    zhashx_set_destructor(self->lists, s_list_destructor);
    zhashx_set_destructor(self->holders, s_set_destructor);
    return self;
}

void match_lists_destroy(match_lists_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->lists);
    zhashx_destroy(&(*self_p)->holders);
    free(*self_p);
    *self_p = NULL;
}

const match_entry_t *match_lists_get(const match_lists_t *self, const char *subject, size_t *count)
{
    s_list_t *list = zhashx_lookup(self->lists, subject);
    *count = list ? list->count : 0;
    return list ? list->items : NULL;
}

const match_entry_t *match_lists_get_ex(const match_lists_t *self, const char *subject,
                                        size_t *count, bool *complete)
{
    s_list_t *list = zhashx_lookup(self->lists, subject);
    *count = list ? list->count : 0;
    *complete = !list || list->complete;
    return list ? list->items : NULL;
}

bool match_lists_complete(const match_lists_t *self, const char *subject)
{
    s_list_t *list = zhashx_lookup(self->lists, subject);
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

void match_lists_set(match_lists_t *self, const char *subject, const match_entry_t *entries,
                     size_t count, bool complete)
{
    s_list_t *old = zhashx_lookup(self->lists, subject);
    for (size_t i = 0; old && i < old->count; i++)
        s_unhold(self, old->items[i].candidate, subject);
    if (old)
        self->entries -= old->count;
    zhashx_delete(self->lists, subject);
    if (count == 0)
        return;
    s_list_t *list = calloc(1, sizeof *list);
    list->items = calloc(count, sizeof *list->items);
    list->count = count;
    list->complete = complete;
    for (size_t i = 0; i < count; i++) {
        list->items[i].candidate = strdup(entries[i].candidate);
        list->items[i].score = entries[i].score;
        s_hold(self, entries[i].candidate, subject);
    }
    self->entries += count;
    zhashx_insert(self->lists, subject, list);
}

bool match_lists_has(const match_lists_t *self, const char *subject, const char *candidate)
{
    s_list_t *list = zhashx_lookup(self->lists, subject);
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
    return zhashx_size(self->lists);
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
