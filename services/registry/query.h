/* query.h — the registry's read side beyond get: filtered lists with an opaque
 * cursor, and the taxonomy lookups. */
#ifndef REGISTRY_QUERY_H
#define REGISTRY_QUERY_H

#include "ls_proto.h"
#include "ls_rpc.h"
#include "ls_store.h"
#include "ls_taxonomy.h"

#define QUERY_PAGE_DEFAULT 50
#define QUERY_PAGE_MAX 500

/* Fills list (the caller frees its entities and cursor with query_list_free) with
 * the next page of entities matching q, in creation order. Returns 0; or a status
 * code other than OK with a message in problem (bad filter, bad cursor, store down).
 * A page may be short, even empty, with a next cursor when the filters are narrow:
 * each call examines a bounded number of index entries. */
Lodestone__V1__Status__Code query_list(ls_store_t *store, const ls_taxonomy_t *taxonomy,
                                       const Lodestone__V1__ListEntities *q,
                                       Lodestone__V1__EntityList *list, char *problem,
                                       size_t problem_len);
void query_list_free(Lodestone__V1__EntityList *list);

/* Fills terms (free with query_terms_free) from the taxonomy. Returns OK, or INVALID
 * with a message in problem. */
Lodestone__V1__Status__Code query_taxonomy(const ls_taxonomy_t *taxonomy,
                                           const Lodestone__V1__GetTaxonomy *q,
                                           Lodestone__V1__TermList *terms, char *problem,
                                           size_t problem_len);
void query_terms_free(Lodestone__V1__TermList *terms);

#endif
